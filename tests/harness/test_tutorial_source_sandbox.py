"""The sandbox's stand-ins, run in this process (``blitz.tutorial_source.sandbox``).

Each stand-in is put on a module object of the test's own (a namespace standing in for
``torchvision.datasets``, ``torch.hub``, ``torch.nn.modules.module``), so nothing of this
process's torch, torchvision or network changes. The child puts them on the real modules as
they are imported: test_tutorial_source_run.py checks that end to end.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from support import SMALL, write_copy

from blitz import data
from blitz.tutorial_source import sandbox as sandbox_module
from blitz.tutorial_source.sandbox import RandomInit, Sandbox, is_loopback


@pytest.fixture
def small_copy(tmp_path, small_sizes) -> Path:
    """A tiny offline copy of CIFAR-10 (24 + 12 images) that blitz.data accepts."""
    root = tmp_path / "cifar10"
    write_copy(root)
    return root


def datasets_module() -> types.SimpleNamespace:
    """A stand-in for the module torchvision.datasets, holding torchvision's real CIFAR10."""
    return types.SimpleNamespace(CIFAR10=torchvision.datasets.CIFAR10)


# ----------------------------------------------------------------------------------------------
# CIFAR-10


def test_the_tutorials_cifar10_call_gets_blitzs_copy(small_copy):
    sandbox = Sandbox(cifar10_root=str(small_copy))
    datasets = datasets_module()
    sandbox._patch_datasets(datasets)
    stand_in = datasets.CIFAR10
    sandbox.cell = 4
    transform = data.tutorial_transform()
    trainset = datasets.CIFAR10(root="./data", train=True, download=True, transform=transform)
    assert isinstance(trainset, data.OfflineCIFAR10) and len(trainset) == SMALL["train"]
    assert trainset.transform is transform and trainset[0][0].shape == (3, 32, 32)
    assert datasets.CIFAR10 is stand_in  # back in place after serving
    assert issubclass(stand_in, torchvision.datasets.CIFAR10)
    assert sandbox.facts()["cifar10"] == {
        "calls": [{"cell": 4, "train": True, "root": "./data", "download": True, "size": 24}],
        "copy": "offline", "root": str(small_copy),
        "description": "the offline copy (JPEG-compressed pixels)", "downloaded": False,
    }  # fmt: skip


def test_caps_serve_the_first_images_of_each_split(small_copy):
    sandbox = Sandbox(cifar10_root=str(small_copy), cifar10_train_subset=8, cifar10_test_subset=5)
    datasets = datasets_module()
    sandbox._patch_datasets(datasets)
    full = data.OfflineCIFAR10(small_copy, train=True)
    trainset = datasets.CIFAR10("./data", train=True, target_transform=lambda t: t + 100)
    testset = datasets.CIFAR10("./data", train=False)
    assert (len(trainset), len(testset)) == (8, 5)
    assert np.array_equal(trainset.data, full.data[:8]) and trainset.targets == full.targets[:8]
    assert trainset[3][1] == full.targets[3] + 100
    facts = sandbox.facts()
    assert (facts["cifar10_train_subset"], facts["cifar10_test_subset"]) == (8, 5)
    assert [call["size"] for call in facts["cifar10"]["calls"]] == [8, 5]


def test_no_copy_of_cifar10_is_an_error_of_the_cell_saying_where_it_looked(tmp_path):
    sandbox = Sandbox(cifar10_root=str(tmp_path))  # downloads off: nothing is fetched
    datasets = datasets_module()
    sandbox._patch_datasets(datasets)
    with pytest.raises(data.CIFAR10NotFound, match="download disabled") as info:
        datasets.CIFAR10(root="./data", train=True, download=True)
    assert str(tmp_path) in str(info.value)
    assert sandbox.facts()["cifar10"]["error"] == str(info.value)


# ----------------------------------------------------------------------------------------------
# Pretrained weights


def hub_module(cache: Path, calls: list) -> types.SimpleNamespace:
    """A stand-in for torch.hub whose download records its calls instead of downloading."""

    def load_state_dict_from_url(url, model_dir=None, map_location=None, progress=True,
                                 check_hash=False, file_name=None):  # fmt: skip
        calls.append(url)
        return {"loaded": url}

    return types.SimpleNamespace(
        load_state_dict_from_url=load_state_dict_from_url, get_dir=lambda: str(cache)
    )


def test_weights_in_the_hub_cache_are_loaded_from_it(tmp_path):
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "resnet18-f37072fd.pth").write_bytes(b"weights")
    calls: list = []
    hub = hub_module(tmp_path, calls)
    sandbox = Sandbox()
    sandbox._patch_hub(hub)
    url = "https://download.pytorch.org/models/resnet18-f37072fd.pth"
    assert hub.load_state_dict_from_url(url, progress=True, check_hash=True) == {"loaded": url}
    assert calls == [url]
    assert sandbox.facts()["pretrained"] == [{
        "cell": None, "url": url, "file": str(tmp_path / "checkpoints" / "resnet18-f37072fd.pth"),
        "source": "hub-cache",
    }]  # fmt: skip


def test_weights_not_in_the_cache_leave_the_model_randomly_initialised(tmp_path):
    calls: list = []
    hub = hub_module(tmp_path, calls)
    sandbox = Sandbox()
    sandbox._patch_hub(hub)
    url = "https://download.pytorch.org/models/resnet18-f37072fd.pth"
    state = hub.load_state_dict_from_url(url)
    assert isinstance(state, RandomInit) and state == {} and calls == []  # nothing downloaded
    assert sandbox.facts()["pretrained"][0]["source"] == "random-init"

    class Net(torch.nn.Linear):
        pass

    sandbox._patch_module(types.SimpleNamespace(
        Module=Net, _IncompatibleKeys=torch.nn.modules.module._IncompatibleKeys
    ))  # fmt: skip
    net = Net(2, 1)
    before = net.weight.detach().clone()
    keys = net.load_state_dict(state)
    assert (keys.missing_keys, keys.unexpected_keys) == ([], [])
    assert torch.equal(net.weight, before)
    net.load_state_dict({"weight": torch.ones(1, 2), "bias": torch.zeros(1)})  # still loads
    assert torch.equal(net.weight, torch.ones(1, 2))


def test_weights_download_only_where_downloads_are_allowed(tmp_path):
    calls: list = []
    hub = hub_module(tmp_path, calls)
    sandbox = Sandbox(allow_download=True)
    sandbox._patch_hub(hub)
    url = "https://download.pytorch.org/models/vgg16-397923af.pth"
    assert hub.load_state_dict_from_url(url, file_name="vgg.pth") == {"loaded": url}
    entry = sandbox.facts()["pretrained"][0]
    assert (entry["source"], Path(entry["file"]).name) == ("download", "vgg.pth")


# ----------------------------------------------------------------------------------------------
# Figures, the network, the import hooks


def test_plt_show_is_counted():
    shown = []
    pyplot = types.SimpleNamespace(show=lambda *args, **kwargs: shown.append(args))
    sandbox = Sandbox()
    sandbox._patch_pyplot(pyplot)
    pyplot.show()
    pyplot.show(block=False)
    assert sandbox.shows == 2 and len(shown) == 2


@pytest.mark.parametrize(
    "host, loopback",
    [
        ("localhost", True), ("127.0.0.1", True), ("127.0.1.1", True), ("::1", True),
        ("[::1]", True), ("0.0.0.0", True), (None, True), (b"localhost", True),
        ("example.com", False), ("8.8.8.8", False), ("2001:db8::1", False),
        ("download.pytorch.org", False),
    ],
)  # fmt: skip
def test_only_this_machine_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_a_hook_runs_when_its_module_is_imported(tmp_path, monkeypatch):
    (tmp_path / "blitz_hooked_module.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    seen = []

    def hook(module):
        seen.append(module.VALUE)
        module.VALUE = 2

    finder = sandbox_module._PostImportHooks({"blitz_hooked_module": hook})
    monkeypatch.setattr(sys, "meta_path", [finder, *sys.meta_path])
    monkeypatch.delitem(sys.modules, "blitz_hooked_module", raising=False)
    import blitz_hooked_module

    assert seen == [1] and blitz_hooked_module.VALUE == 2  # patched before the import returned
    monkeypatch.delitem(sys.modules, "blitz_hooked_module")


def test_official_files_serve_a_download_call_through_torchvisions_own_class(tmp_path, monkeypatch):
    """What torchvision prints for files already there is the tutorial's output too."""
    calls = []

    class Torchvisions(torchvision.datasets.CIFAR10):
        def __init__(self, root, train=True, transform=None, download=False):
            calls.append((root, train, download))
            self.data, self.targets = np.zeros((10, 32, 32, 3), np.uint8), list(range(10))

    monkeypatch.setattr(data, "official_faults", lambda root: [])
    sandbox = Sandbox()
    sandbox._cifar10_source = data.Cifar10Source(data.OFFICIAL, tmp_path)
    sandbox.cifar10 = {"calls": [], "copy": data.OFFICIAL}
    datasets = types.SimpleNamespace(CIFAR10=Torchvisions)
    sandbox._patch_datasets(datasets)
    datasets.CIFAR10(root="./data", train=False, download=True)
    assert calls == [(str(tmp_path), False, True)]  # blitz's root, the tutorial's download
