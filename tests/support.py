"""Helpers that several test modules share (importable: ``tests/`` is on the path for its tests).

- ``grads`` and ``graph_nodes``: a module's gradients, and the backward graph (autograd, nn);
- ``SMALL``, ``write_split`` and ``write_copy``: small offline CIFAR-10 copies in the offline
  format of ``blitz.data`` (the harness tests of the data layer and of ``python -m blitz.train``);
  the ``small_sizes`` fixture that makes blitz expect them is in ``tests/harness/conftest.py``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from blitz import data

# ----------------------------------------------------------------------------------------------
# Gradients and the backward graph


def grads(module: nn.Module) -> dict[str, torch.Tensor | None]:
    """Each parameter's gradient, cloned (None where it has none)."""
    return {
        name: None if p.grad is None else p.grad.detach().clone()
        for name, p in module.named_parameters()
    }


def graph_nodes(root) -> list:
    """Every node of the backward graph reachable from ``root`` (a grad_fn) through
    ``next_functions``, root first."""
    seen, stack, nodes = set(), [root], []
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        nodes.append(node)
        stack.extend(next_node for next_node, _ in node.next_functions)
    return nodes


# ----------------------------------------------------------------------------------------------
# Small offline CIFAR-10 copies

SMALL = {"train": 24, "test": 12}  # images per split (the real copy has 50,000 and 10,000)


def write_split(root, split, n=None, *, images=None, labels=None, **arrays):
    """Write ``root/<split>.npz`` as the offline copy's format (or as ``arrays`` say)."""
    n = SMALL[split] if n is None else n
    rng = np.random.default_rng(0 if split == "train" else 1)
    if images is None:
        images = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    if labels is None:
        labels = np.arange(n, dtype=np.int64) % 10
    content = {"data": images, "labels": labels, **arrays}
    path = root / data.OFFLINE_FILES[split]
    np.savez_compressed(path, **{k: v for k, v in content.items() if v is not None})
    return path


def write_copy(root):
    """A small offline copy (both splits) in ``root``: (train path, test path)."""
    root.mkdir(parents=True, exist_ok=True)
    return write_split(root, "train"), write_split(root, "test")
