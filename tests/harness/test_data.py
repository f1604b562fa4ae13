"""The CIFAR-10 data layer (``blitz.data``): lookup, offline copies, errors, the fast path.

These tests check the library, not torch: they write small or broken copies to ``tmp_path`` and
never touch the network (the download is replaced where a test needs one).
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import json
import socket
import tarfile
import threading
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from support import SMALL, write_copy, write_split
from torch.utils.data import DataLoader

from blitz import data, train

pytest_plugins = ["pytester"]


def corrupt_message(root, train_split=True, load_images=False) -> str:
    with pytest.raises(data.CIFAR10CorruptError) as info:
        dataset = data.OfflineCIFAR10(root, train=train_split)
        if load_images:
            assert dataset.data is None  # not reached: reading the images raises
    return str(info.value)


# ----------------------------------------------------------------------------------------------
# The offline copy behaves like torchvision's CIFAR10


def test_offline_copy_has_torchvisions_cifar10_interface(tmp_path, small_sizes):
    train_path, _ = write_copy(tmp_path)
    seen = []

    def transform(image):
        seen.append(image)
        return torchvision.transforms.functional.pil_to_tensor(image)

    dataset = data.OfflineCIFAR10(tmp_path, train=True, transform=transform)
    with np.load(train_path) as npz:
        images, labels = npz["data"], npz["labels"]
    assert len(dataset) == SMALL["train"]
    assert dataset.data.dtype == np.uint8 and np.array_equal(dataset.data, images)
    assert dataset.targets == labels.tolist() and all(type(t) is int for t in dataset.targets)
    assert dataset.classes == data.CLASSES and dataset.class_to_idx["truck"] == 9
    tensor, target = dataset[5]
    assert isinstance(seen[-1], Image.Image) and seen[-1].mode == "RGB"
    assert torch.equal(tensor, torch.from_numpy(images[5]).permute(2, 0, 1))
    assert target == labels[5]


def test_tutorials_transform_and_dataloader_run_on_the_offline_copy(tmp_path, small_sizes):
    write_copy(tmp_path)
    dataset = data.OfflineCIFAR10(tmp_path, train=False, transform=data.tutorial_transform())
    images, labels = next(iter(DataLoader(dataset, batch_size=4, shuffle=True, num_workers=0)))
    assert images.shape == (4, 3, 32, 32) and labels.shape == (4,)
    assert images.min() >= -1 and images.max() <= 1


def test_offline_images_are_decompressed_once_on_first_use(tmp_path, small_sizes, monkeypatch):
    write_copy(tmp_path)
    dataset = data.OfflineCIFAR10(tmp_path, train=True)
    calls = []
    real = data.read_offline_images
    monkeypatch.setattr(data.offline, "read_offline_images", lambda *a: calls.append(a) or real(*a))
    assert len(dataset) == SMALL["train"] and calls == []  # labels only, so far
    first = dataset.data
    assert dataset.data is first and len(calls) == 1


# ----------------------------------------------------------------------------------------------
# A corrupt or partial copy is an error naming the file


def test_truncated_file_is_an_error_naming_it(tmp_path, small_sizes):
    train_path, _ = write_copy(tmp_path)
    train_path.write_bytes(train_path.read_bytes()[: train_path.stat().st_size // 2])
    message = corrupt_message(tmp_path)
    assert str(train_path) in message and "truncated" in message


def test_corrupted_bytes_inside_are_an_error_naming_the_file(tmp_path, small_sizes):
    train_path, _ = write_copy(tmp_path)
    raw = bytearray(train_path.read_bytes())
    middle = len(raw) // 3  # inside the compressed images
    raw[middle : middle + 64] = bytes(64)
    train_path.write_bytes(bytes(raw))
    message = corrupt_message(tmp_path, load_images=True)
    assert str(train_path) in message and "'data'" in message


def test_missing_array_is_an_error_naming_file_and_array(tmp_path, small_sizes):
    write_split(tmp_path, "train", labels=None)
    path = tmp_path / "train.npz"
    np.savez_compressed(path, data=np.zeros((SMALL["train"], 32, 32, 3), np.uint8))
    message = corrupt_message(tmp_path)
    assert str(path) in message and "'labels' missing" in message


@pytest.mark.parametrize(
    "images, fault",
    [
        (np.zeros((24, 3, 32, 32), np.uint8), "shape (24, 3, 32, 32)"),
        (np.zeros((24, 32, 32, 3), np.float32), "dtype float32"),
        (np.zeros((23, 32, 32, 3), np.uint8), "23 images, expected 24"),
    ],
    ids=["chw-shape", "float-dtype", "partial-split"],
)
def test_wrong_images_are_an_error_naming_the_file(tmp_path, small_sizes, images, fault):
    path = write_split(tmp_path, "train", images=images, labels=np.zeros(len(images), np.int64))
    message = corrupt_message(tmp_path)
    assert str(path) in message and fault in message


@pytest.mark.parametrize(
    "labels, fault",
    [
        (np.full(24, 10, np.int64), "24 label(s) out of range 0..9 (first: labels[0] = 10)"),
        (np.full(24, -1, np.int64), "out of range 0..9"),
        (np.zeros(24, np.float64), "'labels' has dtype float64"),
        (np.zeros(12, np.int64), "'labels' has shape (12,)"),
    ],
    ids=["label-10", "label-negative", "float-labels", "too-few-labels"],
)
def test_wrong_labels_are_an_error_naming_the_file(tmp_path, small_sizes, labels, fault):
    path = write_split(tmp_path, "train", labels=labels)
    message = corrupt_message(tmp_path)
    assert str(path) in message and fault in message


def test_a_pickled_array_is_refused(tmp_path, small_sizes):
    labels = np.array([object()] * SMALL["train"], dtype=object)
    path = write_split(tmp_path, "train", labels=None)
    np.savez(path, data=np.zeros((SMALL["train"], 32, 32, 3), np.uint8), labels=labels)
    message = corrupt_message(tmp_path)
    assert str(path) in message and "allow_pickle=False" in message


def test_a_partial_copy_is_an_error_naming_the_missing_file(tmp_path, small_sizes):
    write_split(tmp_path, "train")
    source = data.find_cifar10(tmp_path, download=False)
    assert source.kind == data.OFFLINE
    source.dataset(train=True)
    with pytest.raises(
        data.CIFAR10CorruptError, match=r"test\.npz: missing \(partial offline copy"
    ):
        source.dataset(train=False)


def test_full_size_is_required_by_default(tmp_path):
    write_copy(tmp_path)  # 24 and 12 images, while the real splits have 50,000 and 10,000
    message = corrupt_message(tmp_path, train_split=False)
    assert str(tmp_path / "test.npz") in message and "12 images, expected 10000" in message


def test_official_files_failing_their_checksum_name_the_file(tmp_path):
    folder = tmp_path / data.OFFICIAL_FOLDER
    folder.mkdir()
    for name, _ in [
        *torchvision.datasets.CIFAR10.train_list,
        *torchvision.datasets.CIFAR10.test_list,
    ]:
        (folder / name).write_bytes(b"not CIFAR-10")
    source = data.find_cifar10(tmp_path, download=False)
    assert source.kind == data.OFFICIAL
    with pytest.raises(data.CIFAR10CorruptError, match="data_batch_1: torchvision's CIFAR-10 file"):
        source.dataset(train=False)


def _official_files():
    cls = torchvision.datasets.CIFAR10
    return [name for name, _ in [*cls.train_list, *cls.test_list, [cls.meta["filename"], None]]]


@pytest.fixture
def serve(monkeypatch, tmp_path):
    """Point torchvision's CIFAR-10 download at an HTTP server on the loopback interface.

    ``serve(tarball, md5=None)`` serves ``tarball`` as the CIFAR-10 archive; torchvision's own
    download then runs unchanged (reachability check, transfer, MD5 checks, extraction) without
    network. ``md5`` replaces the official archive's checksum.
    """
    folder = tmp_path / "server"
    folder.mkdir()
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def serve(tarball: bytes, md5: str | None = None) -> None:
        name = torchvision.datasets.CIFAR10.filename
        (folder / name).write_bytes(tarball)
        url = f"http://127.0.0.1:{server.server_address[1]}/{name}"
        monkeypatch.setattr(torchvision.datasets.CIFAR10, "url", url)
        if md5 is not None:
            monkeypatch.setattr(torchvision.datasets.CIFAR10, "tgz_md5", md5)

    yield serve
    server.shutdown()
    server.server_close()
    thread.join()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


def _tarball_of_bad_official_files() -> bytes:
    """A tar.gz of cifar-10-batches-py/ whose files have the right names, the wrong content."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name in _official_files():
            content = b"not CIFAR-10"
            info = tarfile.TarInfo(f"{data.OFFICIAL_FOLDER}/{name}")
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def test_a_download_failing_its_md5_is_an_error_naming_the_file(tmp_path, serve):
    root = tmp_path / "root"
    root.mkdir()
    serve(b"<html>a proxy's login page</html>")
    with pytest.raises(data.CIFAR10CorruptError) as info:
        data.find_cifar10(root, download=True)
    message = str(info.value)
    tarball = root / torchvision.datasets.CIFAR10.filename
    assert "\n" not in message
    assert message.startswith(f"{tarball}: ") and "MD5" in message


def test_downloaded_files_failing_their_md5_are_an_error_naming_the_file(tmp_path, serve):
    root = tmp_path / "root"
    tarball = _tarball_of_bad_official_files()
    serve(tarball, md5=hashlib.md5(tarball).hexdigest())
    with pytest.raises(data.CIFAR10CorruptError) as info:
        data.find_cifar10(root, download=True)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{root / data.OFFICIAL_FOLDER / 'data_batch_1'}: ")
    assert "MD5" in message


@pytest.mark.parametrize("download", [False, True])
def test_a_damaged_official_folder_is_an_error_naming_the_file(tmp_path, monkeypatch, download):
    monkeypatch.setattr(data.locate, "download_official", _no_download)
    folder = tmp_path / data.OFFICIAL_FOLDER
    folder.mkdir()
    for name in _official_files():
        (folder / name).write_bytes(b"not CIFAR-10")  # altered
    (folder / "data_batch_1").write_bytes(b"")  # truncated; the first bad file is named
    source = data.find_cifar10(tmp_path, download=download)
    for train_split in (True, False):
        with pytest.raises(data.CIFAR10CorruptError) as info:
            source.dataset(train=train_split)
        assert str(info.value).startswith(f"{folder / 'data_batch_1'}: ")


def test_a_file_in_place_of_the_official_folder_is_an_error_naming_it(tmp_path, monkeypatch):
    monkeypatch.setattr(data.locate, "download_official", _no_download)
    (tmp_path / data.OFFICIAL_FOLDER).write_bytes(b"not a folder")
    for download in (False, True):
        with pytest.raises(data.CIFAR10CorruptError) as info:
            data.find_cifar10(tmp_path, download=download)
        assert str(info.value).startswith(f"{tmp_path / data.OFFICIAL_FOLDER}: not a folder")


# ----------------------------------------------------------------------------------------------
# Where the data is looked for


def test_explicit_root_comes_from_the_option_then_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(data.ROOT_ENV, str(tmp_path / "env"))
    assert data.explicit_root(str(tmp_path / "option")) == tmp_path / "option"
    assert data.explicit_root(None) == tmp_path / "env"
    monkeypatch.delenv(data.ROOT_ENV)
    assert data.explicit_root(None) is None


def test_default_root_is_in_the_user_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert data.default_root() == tmp_path / "blitz" / "data"


def test_an_explicit_root_with_the_offline_copy_is_used_without_download(tmp_path, monkeypatch):
    write_copy(tmp_path)
    monkeypatch.setattr(data.locate, "download_official", _no_download)
    source = data.find_cifar10(tmp_path, download=True)
    assert (source.kind, source.root, source.downloaded) == (data.OFFLINE, tmp_path, False)
    assert "offline copy" in source.note and "JPEG" in source.note


def test_official_files_win_over_the_offline_copy(tmp_path):
    write_copy(tmp_path)
    (tmp_path / data.OFFICIAL_FOLDER).mkdir()
    assert data.find_cifar10(tmp_path, download=False).kind == data.OFFICIAL


def test_default_root_prefers_a_download_to_an_offline_copy(tmp_path, monkeypatch):
    write_copy(tmp_path)
    downloads = []
    monkeypatch.setattr(data.locate, "download_official", lambda root: downloads.append(root))
    source = data.find_cifar10(None, default=tmp_path)
    assert (source.kind, source.downloaded, downloads) == (data.OFFICIAL, True, [tmp_path])
    assert data.find_cifar10(None, default=tmp_path, download=False).kind == data.OFFLINE


def _no_download(root):
    raise AssertionError("no download expected")


# ----------------------------------------------------------------------------------------------
# Nothing found, no network: one line, fast


def test_nothing_found_is_one_line_saying_where_and_how(tmp_path):
    with pytest.raises(data.CIFAR10NotFound) as info:
        data.find_cifar10(tmp_path, download=False)
    message = str(info.value)
    assert "\n" not in message
    assert str(tmp_path) in message and "download disabled (--no-download)" in message
    for how in ("--cifar10-root", "BLITZ_DATA_ROOT", "train.npz", "cifar-10-batches-py"):
        assert how in message


def test_the_hint_names_the_callers_own_option(tmp_path):
    with pytest.raises(data.CIFAR10NotFound) as info:
        data.find_cifar10(tmp_path, download=False, root_option="--root DIR")
    message = str(info.value)
    assert "get it with --root DIR or $BLITZ_DATA_ROOT=DIR" in message
    assert "--cifar10-root" not in message


def test_unreachable_network_gives_up_before_downloading(tmp_path, monkeypatch):
    timeouts = []

    def offline(request, timeout=None):
        timeouts.append(timeout)
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    monkeypatch.setattr(torchvision.datasets.CIFAR10, "download", _no_download)
    with pytest.raises(data.CIFAR10NotFound) as info:
        data.find_cifar10(tmp_path, download=True)
    message = str(info.value)
    assert "\n" not in message and "unreachable within 5 s" in message
    assert "Temporary failure in name resolution" in message
    assert timeouts == [data.REACHABILITY_TIMEOUT_S]


def test_a_failed_download_is_one_line_and_restores_the_socket_timeout(tmp_path, monkeypatch):
    during = []

    def fails(self):
        during.append(socket.getdefaulttimeout())
        raise urllib.error.URLError("Connection reset by peer")

    monkeypatch.setattr(data.locate, "check_reachable", lambda url: None)
    monkeypatch.setattr(torchvision.datasets.CIFAR10, "download", fails)
    before = socket.getdefaulttimeout()
    with pytest.raises(data.CIFAR10NotFound, match="download from .* failed: URLError") as info:
        data.find_cifar10(tmp_path, download=True)
    assert "\n" not in str(info.value)
    assert during == [data.DOWNLOAD_STALL_TIMEOUT_S]  # a stalled transfer times out
    assert socket.getdefaulttimeout() == before


CIFAR_TEST = """
import pytest

@pytest.mark.claim("C04")
def test_needs_data(cifar10_test):
    assert len(cifar10_test) == 12
"""


@pytest.fixture
def claims_pytester(pytester):
    """A pytester project with the blitz plugin and the project's fixtures."""
    fixtures = (Path(__file__).parents[1] / "conftest.py").read_text(encoding="utf-8")
    pytester.makeconftest("pytest_plugins = ['blitz.plugin']\n" + fixtures)
    pytester.makepyfile(test_cifar=CIFAR_TEST)
    return pytester


def test_without_data_and_network_cifar_tests_skip_with_one_line(claims_pytester, tmp_path):
    (tmp_path / "empty").mkdir()
    result = claims_pytester.runpytest_inprocess(
        "-rs", "--no-download", f"--cifar10-root={tmp_path / 'empty'}", "--no-claims-matrix"
    )
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        ["SKIPPED [[]1[]] *CIFAR-10 not found: looked in *empty (explicit root)*--cifar10-root*"]
    )


def test_with_a_corrupt_copy_cifar_tests_fail_naming_the_file(claims_pytester, tmp_path):
    root = tmp_path / "copy"
    _, test_path = write_copy(root)
    test_path.write_bytes(test_path.read_bytes()[:100])
    result = claims_pytester.runpytest_inprocess(f"--cifar10-root={root}", "--no-claims-matrix")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*CIFAR10CorruptError: {test_path}: not a readable .npz*"])


def test_a_truncated_copy_gives_error_cells_never_fails(claims_pytester, tmp_path):
    root = tmp_path / "copy"
    _, test_path = write_copy(root)
    test_path.write_bytes(test_path.read_bytes()[:100])
    result = claims_pytester.runpytest_inprocess(f"--cifar10-root={root}", "--claims-json=c.json")
    assert result.ret != 0
    result.stdout.fnmatch_lines(
        ["C04  * error: *", f"[[]1[]] error: {test_path}: not a readable .npz*", "*1 error*"]
    )
    result.stdout.no_fnmatch_line("*FAILS*")
    cell = json.loads((claims_pytester.path / "c.json").read_text())["claims"]["C04"]["results"]
    assert cell["cpu"]["status"] == "error"
    assert cell["cpu"]["note"].startswith(f"{test_path}: not a readable .npz")


def test_with_damaged_official_files_cifar_tests_fail_naming_the_file(claims_pytester, tmp_path):
    folder = tmp_path / "copy" / data.OFFICIAL_FOLDER
    folder.mkdir(parents=True)
    for name in _official_files():
        (folder / name).write_bytes(b"not CIFAR-10")
    result = claims_pytester.runpytest_inprocess(
        f"--cifar10-root={folder.parent}", "--no-claims-matrix"
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*CIFAR10CorruptError: {folder / 'data_batch_1'}: *MD5*"])


def test_with_a_download_failing_its_md5_cifar_tests_fail_naming_the_file(
    claims_pytester, tmp_path, serve
):
    root = tmp_path / "root"
    root.mkdir()
    serve(b"<html>a proxy's login page</html>")
    result = claims_pytester.runpytest_inprocess(f"--cifar10-root={root}", "--no-claims-matrix")
    result.assert_outcomes(errors=1)
    tarball = root / torchvision.datasets.CIFAR10.filename
    result.stdout.fnmatch_lines([f"*CIFAR10CorruptError: {tarball}: *MD5*"])


# ----------------------------------------------------------------------------------------------
# The fast path


def _small_dataset(tmp_path):
    write_copy(tmp_path)
    return data.OfflineCIFAR10(tmp_path, train=True, transform=data.tutorial_transform())


def test_normalized_images_equal_the_transform_bit_for_bit(tmp_path, small_sizes):
    dataset = _small_dataset(tmp_path)
    expected = torch.stack([dataset[i][0] for i in range(len(dataset))])
    assert torch.equal(data.normalized_images(dataset), expected)


@pytest.mark.parametrize("num_workers", [0, 2])
@pytest.mark.parametrize("batch_size", [4, 5])
def test_fast_loader_gives_the_dataloaders_batches_epoch_after_epoch(
    tmp_path, small_sizes, batch_size, num_workers
):
    dataset = _small_dataset(tmp_path)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=num_workers)
    fast = data.FastLoader(*data.split_tensors(dataset), batch_size=batch_size, shuffle=True)
    assert len(fast) == len(loader)

    def epochs(batches):
        torch.manual_seed(42)
        out = [list(batches) for _ in range(3)]  # a new iterator per epoch, as the tutorial
        return out, torch.rand(1)  # ... and the RNG state after them

    (expected, expected_next), (got, got_next) = epochs(loader), epochs(fast)
    assert torch.equal(expected_next, got_next)
    assert len(expected) == len(got)
    for epoch, fast_epoch in zip(expected, got):
        assert len(epoch) == len(fast_epoch)
        for (x, y), (fx, fy) in zip(epoch, fast_epoch):
            assert torch.equal(x, fx) and torch.equal(y, fy)


def test_fast_loader_without_shuffle_keeps_the_order_and_the_rng_in_step(tmp_path, small_sizes):
    dataset = _small_dataset(tmp_path)
    images, labels = data.split_tensors(dataset)
    torch.manual_seed(0)
    batches = list(data.FastLoader(images, labels, batch_size=5))
    after_fast = torch.rand(1)
    torch.manual_seed(0)
    list(DataLoader(dataset, batch_size=5))
    assert torch.equal(torch.rand(1), after_fast)
    assert torch.equal(torch.cat([x for x, _ in batches]), images)
    assert torch.equal(torch.cat([y for _, y in batches]), labels)


# ----------------------------------------------------------------------------------------------
# The training loop's output


def test_training_prints_the_tutorials_loss_lines(tmp_path, small_sizes):
    dataset = _small_dataset(tmp_path)
    loader = data.FastLoader(*data.split_tensors(dataset), batch_size=4, shuffle=True)
    out = io.StringIO()
    protocol = train.Protocol(print_every=2)
    with train.cpu_threads(1):
        net, log = train.run_tutorial(loader, protocol=protocol, progress=True, file=out)
    lines = out.getvalue().splitlines()
    assert len(log.losses) == 2 * 6 and len(log.checkpoints) == 2 * 3
    assert lines[0] == f"[1,     2] loss: {(log.losses[0] + log.losses[1]) / 2:.3f}"
    assert lines[3].startswith("[2,     2] loss: ") and lines[-1] == "Finished Training"


def test_evaluation_counts_per_class(tmp_path, small_sizes):
    class Constant(torch.nn.Module):
        def forward(self, x):  # always predicts class 3
            return torch.nn.functional.one_hot(torch.full((len(x),), 3), 10).float()

    labels = torch.tensor([3, 3, 1, 0, 3, 9])
    loader = data.FastLoader(torch.zeros(6, 3, 32, 32), labels, batch_size=4)
    evaluation = train.evaluate(Constant(), loader)
    assert evaluation.total == [1, 1, 0, 3, 0, 0, 0, 0, 0, 1]
    assert evaluation.correct == [0, 0, 0, 3, 0, 0, 0, 0, 0, 0]
    assert evaluation.accuracy == 50.0
    assert evaluation.lines()[0] == "Accuracy of the network on the 6 test images: 50 %"
