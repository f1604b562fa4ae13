"""The tutorial's two networks, written as the tutorial writes them.

- ``LeNet``: the "Neural Networks" section's net for 1x32x32 inputs (``print(net)`` golden).
- ``Net``: the "Training a Classifier" section's 3-channel net. ``width`` is the number of
  channels out of the first convolution and into the second — the tutorial's exercise ("try
  increasing the width of your network: argument 2 of the first ``nn.Conv2d``, and argument 1
  of the second ``nn.Conv2d`` — they need to be the same number"). ``Net()`` is the tutorial's.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from blitz.tutorial import WIDTH

CIFAR10_CLASSES = (
    "plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip


class LeNet(nn.Module):
    """The tutorial's LeNet: 1 input channel, 32x32 images, 10 outputs."""

    def __init__(self) -> None:
        super().__init__()
        # 1 input image channel, 6 output channels, 5x5 square convolution kernel
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        # an affine operation: y = Wx + b; 5*5 from the image dimension
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Max pooling over a (2, 2) window; a square window can be given as one number
        x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)  # flatten all dimensions except the batch dimension
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x


class Net(nn.Module):
    """The tutorial's CIFAR-10 classifier; ``width`` channels between the two convolutions."""

    def __init__(self, width: int = WIDTH) -> None:
        super().__init__()
        self.width = width
        self.conv1 = nn.Conv2d(3, width, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(width, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)  # flatten all dimensions except batch
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x
