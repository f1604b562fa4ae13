"""The tutorial's numbers, torch-free: its training protocol, its network's width, and what its
training printed.

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

# What the tutorial printed: the running loss (epoch, i, loss), the accuracy line (an integer
# percentage, ``100 * correct // total``) and the per-class accuracies in percent.
TUTORIAL_LOSSES = (
    (1, 2000, 2.144), (1, 4000, 1.835), (1, 6000, 1.677),
    (1, 8000, 1.573), (1, 10000, 1.526), (1, 12000, 1.447),
    (2, 2000, 1.405), (2, 4000, 1.363), (2, 6000, 1.341),
    (2, 8000, 1.340), (2, 10000, 1.315), (2, 12000, 1.281),
)  # fmt: skip
TUTORIAL_ACCURACY = 54
TUTORIAL_PER_CLASS = {
    "plane": 37.9, "car": 62.2, "bird": 45.6, "cat": 29.2, "deer": 50.3,
    "dog": 45.9, "frog": 60.1, "horse": 70.3, "ship": 82.9, "truck": 63.1,
}  # fmt: skip
