"""The fast path: a whole split normalized once into one tensor on the device, and batches of it
in the order a ``DataLoader(shuffle=True)`` gives for the same RNG state."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from blitz.data.common import (
    MEAN,
    STD,
)

# ----------------------------------------------------------------------------------------------
# The fast path: a whole split as one normalized tensor on the device


def normalized_images(dataset: Any, mean=MEAN, std=STD) -> torch.Tensor:
    """Every image of ``dataset`` as the snapshot's transform gives it, in one CPU tensor.

    (N, 3, 32, 32) float32, equal bit for bit to ``Normalize(mean, std)(ToTensor()(image))``
    for each image — the snapshot's v1 transform (``tutorial_transform``): the same elementwise
    operations in the same order (``/ 255``, ``- mean``, ``/ std``), applied to the whole split
    at once. Not the 2026 revision's v2 transform (``tutorial_transform_v2``), whose
    ``ToDtype(scale=True)`` multiplies by 1/255 and lands up to 1.19e-7 away on 43% of the
    pixel values (claim C13). Computed on the CPU, where the transform runs; move the result to
    any device.
    """
    images = torch.from_numpy(np.ascontiguousarray(dataset.data))  # N, H, W, C uint8
    images = images.permute(0, 3, 1, 2).contiguous().to(torch.float32).div_(255)
    images.sub_(torch.as_tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
    images.div_(torch.as_tensor(std, dtype=torch.float32).view(1, -1, 1, 1))
    return images


def split_tensors(
    dataset: Any, device: str | torch.device = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(images, labels)`` of ``dataset`` on ``device``: normalized images and int64 labels."""
    labels = torch.as_tensor(dataset.targets, dtype=torch.int64)
    return normalized_images(dataset).to(device), labels.to(device)


class FastLoader:
    """Batches of a split held in two tensors on one device, in a DataLoader's order.

    ``FastLoader(images, labels, batch_size=4, shuffle=True)`` yields ``(inputs, labels)``
    batches equal to those of ``DataLoader(dataset, batch_size=4, shuffle=True)`` with the
    snapshot's v1 transform (images from ``normalized_images``), for the same RNG state, and
    leaves the RNG in the same state; with the 2026 revision's v2 transform the batches are
    within one float32 ulp of these, not equal (C13). The
    order comes from a DataLoader over the indices ``range(N)``: it draws from the global RNG (or
    ``generator``) exactly as the dataset's loader would — its base seed when the iterator is
    made, then its sampler's seed for the permutation — so the two cannot drift apart across
    torch versions. Batches are then taken by index from the tensors, with no per-image work.
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        batch_size: int = 1,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
    ) -> None:
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        self.images, self.labels = images, labels
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator

    def __len__(self) -> int:
        return math.ceil(len(self.labels) / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.labels)
        # One batch holding the whole order; iter() draws the base seed now, as a DataLoader
        # iterator does (shuffled or not), and a shuffling sampler draws its seed at next().
        orders = iter(
            torch.utils.data.DataLoader(
                range(n), batch_size=max(n, 1), shuffle=self.shuffle, generator=self.generator
            )
        )
        return self._batches(orders)

    def _batches(self, orders: Iterator) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order = next(orders, None)
        if order is None:
            return
        if not self.shuffle:
            for start in range(0, len(self.labels), self.batch_size):
                stop = start + self.batch_size
                yield self.images[start:stop], self.labels[start:stop]
            return
        for index in order.to(self.images.device).split(self.batch_size):
            yield self.images.index_select(0, index), self.labels.index_select(0, index)
