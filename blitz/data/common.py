"""What every part of blitz.data shares: the splits, the class names, the tutorial's transforms
(the snapshot's v1 and the May 2026 revision's v2), and the errors."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torchvision
import torchvision.transforms as transforms

from blitz.errors import EnvironmentProblem
from blitz.settings import DATA_ROOT_ENV

ROOT_ENV = DATA_ROOT_ENV  # blitz.settings: the explicit root

# The tutorial's transform: ToTensor maps [0, 255] to [0, 1], Normalize maps [0, 1] to [-1, 1].
MEAN = (0.5, 0.5, 0.5)
STD = (0.5, 0.5, 0.5)

# torchvision's class names (``CIFAR10.classes``), in label order; the tutorial's short names
# are ``blitz.models.CIFAR10_CLASSES``.
CLASSES = [
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
]  # fmt: skip
SPLIT_SIZES = {"train": 50_000, "test": 10_000}
IMAGE_SHAPE = (32, 32, 3)  # HWC, as torchvision's CIFAR10.data

OFFICIAL = "official"
OFFLINE = "offline"
OFFICIAL_FOLDER = torchvision.datasets.CIFAR10.base_folder  # "cifar-10-batches-py"
OFFLINE_FILES = {"train": "train.npz", "test": "test.npz"}


class CIFAR10NotFound(LookupError):
    """No copy of CIFAR-10 here, and none could be downloaded. The message is one line."""


class CIFAR10CorruptError(EnvironmentProblem, ValueError):
    """A copy of CIFAR-10 is there but unusable; the message names the file and the fault.

    An ``EnvironmentProblem``: a test that meets it is an *error* in the claims matrix."""


def tutorial_transform() -> transforms.Compose:
    """The snapshot's transform (torchvision's v1 transforms): PIL image -> float tensor in
    [-1, 1], shape (3, 32, 32). The one the suite's CIFAR-10 claims and the fast path use."""
    return transforms.Compose([transforms.ToTensor(), transforms.Normalize(MEAN, STD)])


def tutorial_transform_v2() -> Callable:
    """The May 2026 revision's transform, from ``torchvision.transforms.v2``: ``ToImage()``,
    ``ToDtype(torch.float32, scale=True)``, ``Normalize(MEAN, STD)``.

    It maps pixels to [-1, 1] as ``tutorial_transform`` does, within one float32 ulp of 1.0
    (1.19e-7) but not bit for bit: ``ToDtype`` multiplies by 1/255 where ``ToTensor`` divides by
    255 (claim C13). Imported here, not at the top: older torchvision has no
    ``transforms.v2`` (ImportError; before 0.15), or a beta one without ``ToImage``
    (AttributeError) or without ``ToDtype(scale=...)`` (TypeError).
    """
    from torchvision.transforms import v2

    return v2.Compose(
        [v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Normalize(MEAN, STD)]
    )


def one_line(exc: BaseException) -> str:
    """An exception as one line: its type and its message, white space folded."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"
