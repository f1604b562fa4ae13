"""Which devices exist here, why the others are missing, how to wait for them, and whether
float32 work on CUDA may run in TF32 (``tf32_settings``, ``tf32``, ``FULL_FLOAT32``).

``KNOWN_DEVICES`` are the device types every claim is parametrized over: ``cpu`` always, and
``cuda`` — shown as *skipped, with the reason* when no GPU is visible, never silently absent.
Other accelerators that ``torch.accelerator`` reports (mps, xpu, …) join the list only when one
is present on this machine.
"""

from __future__ import annotations

import contextlib
import os
import platform
from dataclasses import dataclass

import torch

from blitz.settings import DEVICES_ENV

KNOWN_DEVICES = ("cpu", "cuda")
ENV_VAR = DEVICES_ENV


def _current_accelerator() -> str | None:
    accelerator = getattr(torch, "accelerator", None)  # torch >= 2.6
    if accelerator is None or not accelerator.is_available():
        return None
    return accelerator.current_accelerator().type


def candidate_devices() -> list[str]:
    """Every device type a test is parametrized over on this machine, available or not."""
    devices = list(KNOWN_DEVICES)
    extra = _current_accelerator()
    if extra is not None and extra not in devices:
        devices.append(extra)
    return devices


def unavailable_reason(device: str) -> str | None:
    """None when ``device`` can run tests here, otherwise one line saying why not."""
    if device == "cpu":
        return None
    if device == "cuda":
        if torch.cuda.is_available():
            return None
        if torch.version.cuda is None:
            return (
                f"CUDA unavailable: torch {torch.__version__} is a CPU-only build; "
                "install a CUDA build of torch on a machine with an NVIDIA GPU"
            )
        return (
            f"CUDA unavailable: no GPU visible to torch {torch.__version__} "
            f"(built for CUDA {torch.version.cuda}); run on a machine with an NVIDIA GPU"
        )
    if _current_accelerator() == device:
        return None
    return f"{device} unavailable: torch.accelerator reports no {device} device"


def parse_selection(text: str | None) -> list[str] | None:
    """``"cpu,cuda"`` -> ``["cpu", "cuda"]``; None or empty means no narrowing."""
    if not text:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


def check(name: str) -> str:
    """A device the user named, checked: ``cpu``, ``cuda``, ``cuda:N`` or another accelerator
    present. Returns ``name``; a ValueError says in one line what is wrong: an unknown device,
    one that is not here (and why), or a GPU index beyond those present. Every caller that takes
    a device from a user (the pytest plugin's ``--device``, ``python -m blitz.train --device``,
    the benchmarks) checks it here."""
    known = candidate_devices()
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        device = None
    if device is None or device.type not in known:
        raise ValueError(f"unknown device {name!r} (choose from {', '.join(known)}, e.g. cuda:0)")
    reason = unavailable_reason(device.type)
    if reason is not None:
        raise ValueError(reason)
    if device.type == "cuda" and device.index is not None:
        count = torch.cuda.device_count()
        if device.index >= count:
            raise ValueError(
                f"{name} unavailable: torch sees {count} CUDA device(s)"
                + (f" (cuda:0 to cuda:{count - 1})" if count else "")
            )
    return name


def selected_devices(option: str | None = None) -> list[str]:
    """The devices of a run: those named by ``option`` (``--device``) or ``$BLITZ_DEVICES``, each
    checked (``check``: it must be here), else every candidate device, a missing one included
    (its tests show as skipped, with the reason). A ValueError names the source and the fault."""
    source, wanted = "--device", parse_selection(option)
    if wanted is None:
        source, wanted = f"${ENV_VAR}", parse_selection(os.environ.get(ENV_VAR))
    if wanted is None:
        return candidate_devices()
    for name in wanted:
        try:
            check(name)
            if ":" in name:  # a column per kind of device: the tests pick its device 0
                raise ValueError("a run's devices are types (cpu, cuda), without an index")
        except ValueError as exc:
            raise ValueError(f"{source}: {name}: {exc}") from None
    return wanted


def device_name(device: str) -> str:
    """A human name for the hardware behind ``device`` (the GPU's name, the CPU's model)."""
    if device == "cuda" and torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    if device == "cpu":
        return _cpu_model() or platform.processor() or platform.machine()
    return device


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def synchronize(device: str | torch.device) -> None:
    """Wait until all queued work on ``device`` is done (a no-op on the CPU)."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type != "cpu" and hasattr(torch, "accelerator"):
        torch.accelerator.synchronize()


# ----------------------------------------------------------------------------------------------
# float32 on CUDA: TF32 or full precision
#
# On CUDA, torch lets cuDNN compute float32 convolutions in TF32 by default (operands rounded to
# a 10-bit mantissa, products summed in float32): torch.backends.cudnn.allow_tf32 is True, while
# cuBLAS matmuls are not allowed to (torch.backends.cuda.matmul.allow_tf32 is False). The CPU
# always computes in full float32. Both flags exist in every torch blitz supports (torch >= 2.9
# maps them onto its ``fp32_precision`` settings), and they change nothing off CUDA.


@dataclass(frozen=True)
class TF32:
    """Whether cuDNN convolutions and cuBLAS matmuls may compute float32 in TF32."""

    conv: bool
    matmul: bool

    def describe(self) -> str:
        """One line: which float32 work runs in TF32 on CUDA."""
        if not (self.conv or self.matmul):
            return "full float32 (TF32 off)"
        parts = [name for name, on in (("convolutions", self.conv), ("matmuls", self.matmul)) if on]
        return f"TF32 {' and '.join(parts)}"


FULL_FLOAT32 = TF32(conv=False, matmul=False)


def tf32_settings() -> TF32:
    """The TF32 settings in force in this process now."""
    return TF32(torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)


def set_tf32(settings: TF32) -> None:
    """Apply ``settings`` to this process (each process has its own: pass them on to workers)."""
    torch.backends.cudnn.allow_tf32 = settings.conv
    torch.backends.cuda.matmul.allow_tf32 = settings.matmul


@contextlib.contextmanager
def tf32(settings: TF32):
    """Run the block with ``settings`` (``FULL_FLOAT32``: as the CPU computes), then restore."""
    previous = tf32_settings()
    set_tf32(settings)
    try:
        yield
    finally:
        set_tf32(previous)
