"""The offline copy: ``train.npz`` and ``test.npz``, read with the interface of
``torchvision.datasets.CIFAR10``, every array checked before use (a damaged file is a
``CIFAR10CorruptError`` naming it)."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torchvision
from PIL import Image

from blitz.data import common
from blitz.data.common import (
    CLASSES,
    IMAGE_SHAPE,
    OFFLINE_FILES,
    CIFAR10CorruptError,
    one_line,
)

# ----------------------------------------------------------------------------------------------
# The offline copy


class OfflineCIFAR10(torchvision.datasets.VisionDataset):
    """One split of the offline copy, with the interface of ``torchvision.datasets.CIFAR10``.

    ``targets`` (a list of ints) and the shape and dtype of the images are read and checked on
    construction; ``data`` (uint8, N x 32 x 32 x 3) is decompressed on first use and kept, since
    decompressing the training split takes seconds.
    """

    classes = CLASSES

    def __init__(
        self,
        root: str | os.PathLike,
        train: bool = True,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
    ) -> None:
        super().__init__(str(root), transform=transform, target_transform=target_transform)
        self.train = train
        self.split = "train" if train else "test"
        self.file = Path(root) / OFFLINE_FILES[self.split]
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}
        self.targets: list[int] = read_offline_labels(self.file, common.SPLIT_SIZES[self.split])
        self._data: np.ndarray | None = None

    @property
    def data(self) -> np.ndarray:
        if self._data is None:
            self._data = read_offline_images(self.file, len(self.targets))
        return self._data

    @data.setter
    def data(self, value: np.ndarray) -> None:
        self._data = value

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        img, target = Image.fromarray(self.data[index]), self.targets[index]
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self) -> int:
        return len(self.targets)

    def extra_repr(self) -> str:
        return f"Split: {self.split.capitalize()} (offline copy, {self.file.name})"


def read_offline_labels(path: Path, size: int) -> list[int]:
    """Check ``path`` (arrays, shapes, dtypes, label range) and return its labels.

    The images are checked by their header only (shape and dtype), without decompressing them.
    """
    if not path.is_file():
        other = (
            path.parent / OFFLINE_FILES["test" if path.name == OFFLINE_FILES["train"] else "train"]
        )
        raise CIFAR10CorruptError(
            f"{path}: missing (partial offline copy: {other.name} is there, {path.name} is not)"
        )
    shape, dtype = _npz_header(path, "data")
    if len(shape) != 4 or tuple(shape[1:]) != IMAGE_SHAPE:
        raise CIFAR10CorruptError(
            f"{path}: array 'data' has shape {shape}, expected (N, 32, 32, 3) uint8 HWC images"
        )
    if dtype != np.uint8:
        raise CIFAR10CorruptError(f"{path}: array 'data' has dtype {dtype}, expected uint8")
    if shape[0] != size:
        raise CIFAR10CorruptError(
            f"{path}: {shape[0]} images, expected {size} (partial or wrong split)"
        )
    labels = _npz_array(path, "labels")
    if labels.shape != (size,):
        raise CIFAR10CorruptError(
            f"{path}: array 'labels' has shape {labels.shape}, expected ({size},)"
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise CIFAR10CorruptError(
            f"{path}: array 'labels' has dtype {labels.dtype}, expected int64"
        )
    out_of_range = (labels < 0) | (labels >= len(CLASSES))
    if out_of_range.any():
        first = int(np.flatnonzero(out_of_range)[0])
        raise CIFAR10CorruptError(
            f"{path}: {int(out_of_range.sum())} label(s) out of range 0..9 "
            f"(first: labels[{first}] = {labels[first]})"
        )
    return labels.astype(np.int64).tolist()


def read_offline_images(path: Path, size: int) -> np.ndarray:
    """The images of ``path`` (decompressed), checked again against what the header said."""
    data = _npz_array(path, "data")
    if data.shape != (size, *IMAGE_SHAPE) or data.dtype != np.uint8:
        raise CIFAR10CorruptError(
            f"{path}: array 'data' is {data.dtype} {data.shape}, expected uint8 ({size}, 32, 32, 3)"
        )
    return data


def _open_npz(path: Path) -> zipfile.ZipFile:
    if not zipfile.is_zipfile(path):
        raise CIFAR10CorruptError(
            f"{path}: not a readable .npz (zip) file: truncated, or not written by numpy.savez"
        )
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise CIFAR10CorruptError(f"{path}: unreadable .npz file ({one_line(exc)})") from None


def _member(archive: zipfile.ZipFile, path: Path, name: str) -> str:
    member = f"{name}.npy"
    if member not in archive.namelist():
        arrays = ", ".join(n.removesuffix(".npy") for n in archive.namelist()) or "none"
        raise CIFAR10CorruptError(f"{path}: array {name!r} missing (arrays: {arrays})")
    return member


def _npz_header(path: Path, name: str) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype of array ``name`` of ``path``, from its .npy header alone."""
    with _open_npz(path) as archive:
        member = _member(archive, path, name)
        try:
            with archive.open(member) as stream:
                version = np.lib.format.read_magic(stream)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
                else:
                    shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            raise CIFAR10CorruptError(
                f"{path}: array {name!r} has an unreadable header ({one_line(exc)})"
            ) from None
    return shape, dtype


def _npz_array(path: Path, name: str) -> np.ndarray:
    """Array ``name`` of ``path``, loaded without pickle; any fault names the file."""
    with _open_npz(path) as archive:
        _member(archive, path, name)
    try:
        with np.load(path, allow_pickle=False) as npz:
            return npz[name]
    except ValueError as exc:  # e.g. an object array, refused without pickle
        raise CIFAR10CorruptError(f"{path}: array {name!r}: {one_line(exc)}") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:  # e.g. a CRC error inside
        raise CIFAR10CorruptError(
            f"{path}: array {name!r} is corrupt ({one_line(exc)}); copy the file again"
        ) from None
