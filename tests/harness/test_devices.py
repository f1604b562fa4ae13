"""Device selection: which devices a run covers, and the reason a missing one gives; the TF32
settings and the suite's policy (full float32 unless a test is marked ``tf32_default``)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from torch.torch_version import TorchVersion

from blitz import devices


def test_cpu_is_always_available():
    assert devices.unavailable_reason("cpu") is None


def test_cuda_is_always_a_candidate():
    assert devices.candidate_devices()[:2] == ["cpu", "cuda"]


def test_missing_gpu_reason_names_the_build(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.version, "cuda", "13.0")
    reason = devices.unavailable_reason("cuda")
    assert reason.startswith("CUDA unavailable: no GPU visible to torch")
    assert "built for CUDA 13.0" in reason


def test_cpu_only_build_reason(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.version, "cuda", None)
    assert "is a CPU-only build" in devices.unavailable_reason("cuda")


def test_available_gpu_has_no_reason(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert devices.unavailable_reason("cuda") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [(None, None), ("", None), ("cpu", ["cpu"]), (" cpu , cuda ", ["cpu", "cuda"])],
)
def test_parse_selection(text, expected):
    assert devices.parse_selection(text) == expected


def test_option_narrows_before_environment(monkeypatch):
    monkeypatch.setenv(devices.ENV_VAR, "quantum")  # not read: the option wins
    assert devices.selected_devices("cpu") == ["cpu"]
    monkeypatch.setenv(devices.ENV_VAR, "cpu")
    assert devices.selected_devices(None) == ["cpu"]


def test_no_selection_means_every_candidate(monkeypatch):
    monkeypatch.delenv(devices.ENV_VAR, raising=False)
    assert devices.selected_devices(None) == devices.candidate_devices()


def test_unknown_device_is_refused():
    with pytest.raises(ValueError, match=r"^--device: quantum: unknown device 'quantum' \(choose"):
        devices.selected_devices("cpu,quantum")


def test_a_named_device_that_is_not_here_is_refused_with_the_reason(monkeypatch):
    monkeypatch.setattr(devices, "unavailable_reason", lambda d: None if d == "cpu" else "gone")
    monkeypatch.setenv(devices.ENV_VAR, "cpu,cuda")
    with pytest.raises(ValueError, match=r"^\$BLITZ_DEVICES: cuda: gone$"):
        devices.selected_devices(None)
    with pytest.raises(ValueError, match=r"^--device: cuda:0: gone$"):
        devices.selected_devices("cuda:0")
    monkeypatch.setattr(devices, "unavailable_reason", lambda d: None)
    monkeypatch.setattr(devices.torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ValueError, match=r"^--device: cuda:0: a run's devices are types"):
        devices.selected_devices("cuda:0")


def test_a_gpu_index_beyond_those_present_is_refused(monkeypatch):
    monkeypatch.setattr(devices, "unavailable_reason", lambda d: None)
    monkeypatch.setattr(devices.torch.cuda, "device_count", lambda: 1)
    assert devices.check("cuda:0") == "cuda:0"
    with pytest.raises(ValueError, match=r"^cuda:1 unavailable: torch sees 1 CUDA device\(s\)"):
        devices.check("cuda:1")


# ----------------------------------------------------------------------------------------------
# TF32 (the flags are process settings: they read and write without a GPU)


def test_torch_lets_cudnn_convolutions_use_tf32_by_default(_full_float32_session):
    # The premise of the suite's policy: torch's settings as the session found them. Before
    # torch 1.12 cuBLAS matmuls were allowed TF32 by default too (1.12 turned that off).
    if TorchVersion(torch.__version__) < "1.12":
        assert _full_float32_session == devices.TF32(conv=True, matmul=True)
        return
    assert _full_float32_session == devices.TF32(conv=True, matmul=False)
    assert _full_float32_session.describe() == "TF32 convolutions"


def test_the_suite_runs_in_full_float32(float32_policy):
    assert float32_policy == devices.tf32_settings() == devices.FULL_FLOAT32
    assert devices.FULL_FLOAT32.describe() == "full float32 (TF32 off)"


@pytest.mark.tf32_default("checks that the marker gives a test torch's own settings")
def test_a_test_marked_tf32_default_runs_with_torchs_settings(
    float32_policy, _full_float32_session
):
    assert float32_policy == devices.tf32_settings() == _full_float32_session


def test_tf32_applies_settings_for_the_block_then_restores():
    before = devices.tf32_settings()
    with devices.tf32(devices.TF32(conv=True, matmul=True)):
        assert torch.backends.cudnn.allow_tf32 and torch.backends.cuda.matmul.allow_tf32
        assert devices.tf32_settings().describe() == "TF32 convolutions and matmuls"
    assert devices.tf32_settings() == before


@pytest.mark.slow  # a fresh interpreter importing torch and torchvision: seconds
def test_the_library_loads_no_pytest():
    # python -m blitz.train and every data-parallel worker import these: pytest is the plugin's.
    modules = "blitz.devices, blitz.train, blitz.ddp, blitz.data, blitz.train_cli"
    code = f"import sys, {modules}; print([m for m in ('pytest', '_pytest') if m in sys.modules])"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    assert result.stdout == "[]\n"
