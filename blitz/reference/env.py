"""The env step: what runs here, whether the run's device is present, and where CIFAR-10 is.

``python -m blitz.reference.env ENV_JSON DEVICE`` prints, for ``env.txt``: Python, torch and
torchvision, where blitz is imported from, the CPU, the GPU (or why there is none), torch's
default TF32 settings on CUDA, the data, and ``nvidia-smi``'s view of the GPU where it is
installed. It writes the same facts as JSON to ENV_JSON for the run to read, and exits 1 when
DEVICE is cuda and torch has no GPU: the GPU reference needs one.

The data is looked for through ``blitz.data`` (``explicit_root``: ``$BLITZ_DATA_ROOT`` only;
``find_cifar10`` without a download) and classed as ``whole`` (both splits: torchvision's
folder, or the offline ``train.npz`` + ``test.npz``), ``test`` (the offline ``test.npz`` alone,
where the 143 MB training split cannot travel to the GPU machine) or ``none``.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

WHOLE, TEST_ONLY, NONE = "whole", "test", "none"
NVIDIA_SMI_TIMEOUT_S = 20


@dataclass(frozen=True)
class DataCheck:
    """What the run's data root holds: ``kind`` (whole, test or none), the root, in words."""

    kind: str
    root: str | None
    note: str


def check_data(root: Path | None) -> DataCheck:
    """Class the CIFAR-10 copy at ``root`` (None: no root given) by the splits it holds."""
    from blitz import data

    if root is None:
        return DataCheck(NONE, None, f"no CIFAR-10: ${data.ROOT_ENV} is not set")
    try:
        source = data.find_cifar10(root, download=False)
    except data.CIFAR10NotFound:
        return DataCheck(
            NONE,
            str(root),
            f"no CIFAR-10 in {data.ROOT_ENV}={root} (no {data.OFFICIAL_FOLDER}/, no "
            f"{data.OFFLINE_FILES['test']})",
        )
    except data.CIFAR10CorruptError as exc:
        return DataCheck(NONE, str(root), f"no usable CIFAR-10 in {data.ROOT_ENV}={root}: {exc}")
    where = f"CIFAR-10 at {root}"
    if source.kind == data.OFFICIAL:
        return DataCheck(WHOLE, str(root), f"{where}: both splits, {source.description}")
    present = {split for split, name in data.OFFLINE_FILES.items() if (root / name).is_file()}
    if present == {"train", "test"}:
        return DataCheck(WHOLE, str(root), f"{where}: both splits, {source.description}")
    train, test = data.OFFLINE_FILES["train"], data.OFFLINE_FILES["test"]
    if present == {"test"}:
        return DataCheck(TEST_ONLY, str(root), f"{where}: the test split alone (no {train})")
    return DataCheck(
        NONE, str(root), f"no CIFAR-10 test split in {data.ROOT_ENV}={root} (no {test})"
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python -m blitz.reference.env ENV_JSON DEVICE", file=sys.stderr)
        return 2
    json_path, device = Path(argv[0]), argv[1]

    import torch

    import blitz
    from blitz import devices

    print(f"python {platform.python_version()} ({sys.executable})")
    try:  # its version without importing it (seconds)
        torchvision = metadata.version("torchvision")
    except metadata.PackageNotFoundError:
        torchvision = "not installed"
    print(f"torch {torch.__version__} (CUDA {torch.version.cuda}), torchvision {torchvision}")
    blitz_dir = os.path.dirname(blitz.__file__)
    print(f"blitz from {blitz_dir}")
    print(f"cpu: {devices.device_name('cpu')}, {os.cpu_count()} cores")
    cuda_reason = devices.unavailable_reason("cuda")
    if cuda_reason is None:
        cuda = (
            f"cuda: {torch.cuda.device_count()} x {devices.device_name('cuda')}, "
            f"cuDNN {torch.backends.cudnn.version()}"
        )
    else:
        cuda = f"cuda: {cuda_reason}"
    print(cuda)
    print(f"float32 on cuda by torch's default: {devices.tf32_settings().describe()}")
    from blitz import data  # torchvision: seconds more, after the facts above are printed

    found = check_data(data.explicit_root())
    print(found.note, flush=True)
    nvidia_smi()
    facts = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "torchvision": torchvision,
        "blitz": blitz_dir,
        "cuda": cuda,
        "cuda_available": cuda_reason is None,
        "data": asdict(found),
    }
    json_path.write_text(json.dumps(facts, indent=2) + "\n", encoding="utf-8")
    if device == "cuda" and cuda_reason is not None:
        print(f"the GPU reference needs a GPU: {cuda_reason} (--rehearse: on the cpu)", flush=True)
        return 1
    return 0


def nvidia_smi() -> None:
    """The GPU as the driver sees it, where nvidia-smi is installed (into this step's log)."""
    command = shutil.which("nvidia-smi")
    if command is None:
        return
    query = [command, "--query-gpu=name,driver_version,memory.total", "--format=csv"]
    try:
        subprocess.run(query, stderr=subprocess.STDOUT, timeout=NVIDIA_SMI_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        print(f"nvidia-smi: {type(exc).__name__}: {exc}")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
