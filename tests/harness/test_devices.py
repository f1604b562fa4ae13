"""Device selection: which devices a run covers, and the reason a missing one gives."""

from __future__ import annotations

import pytest
import torch

from blitz import devices


def test_cpu_is_always_available():
    assert devices.unavailable_reason("cpu") is None
    assert devices.available_devices()[0] == "cpu"


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
    monkeypatch.setenv(devices.ENV_VAR, "cuda")
    assert devices.selected_devices("cpu") == ["cpu"]
    assert devices.selected_devices(None) == ["cuda"]


def test_no_selection_means_every_candidate(monkeypatch):
    monkeypatch.delenv(devices.ENV_VAR, raising=False)
    assert devices.selected_devices(None) == devices.candidate_devices()


def test_unknown_device_is_refused():
    with pytest.raises(ValueError, match="unknown device"):
        devices.selected_devices("cpu,quantum")

