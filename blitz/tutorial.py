"""The tutorial's numbers, torch-free: its training protocol and its network's width.

Defined here once and imported on both sides: by the code that trains and measures with torch
(``blitz.models``, ``blitz.train``, ``blitz.bench``) and by the torch-free readers of saved runs
(``blitz.bench.grid``, ``python -m blitz.report``).
"""

from __future__ import annotations

from dataclasses import dataclass

# Channels out of the first convolution and into the second: nn.Conv2d(3, 6, 5) and
# nn.Conv2d(6, 16, 5). The tutorial's exercise widens it.
WIDTH = 6


@dataclass(frozen=True)
class Protocol:
    """The tutorial's training settings."""

    seed: int = 42  # the tutorial's build reset torch.manual_seed(42) before each script
    batch_size: int = 4  # images per mini-batch
    lr: float = 0.001  # SGD learning rate, per step
    momentum: float = 0.9  # SGD momentum
    epochs: int = 2  # passes over the 50,000 training images: 2 x 12,500 steps
    print_every: int = 2000  # mini-batches between printed running losses
    num_workers: int = 2  # DataLoader worker processes (the literal path)


PROTOCOL = Protocol()
