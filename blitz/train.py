"""Training a Classifier, steps 3 to 5 and "Training on GPU": train, evaluate, save.

- ``PROTOCOL``: the tutorial's hyperparameters in one place (seed 42, batch 4, SGD lr 0.001 with
  momentum 0.9, 2 epochs, CrossEntropyLoss, a running loss printed every 2,000 mini-batches);
  defined torch-free in ``blitz.tutorial``.
- ``train``: the tutorial's loop over any loader of ``(inputs, labels)`` on any device: prints
  its ``[epoch, i] loss: ...`` lines and shows a tqdm progress bar.
- ``run_tutorial``: the tutorial's script from ``torch.manual_seed`` on, with its draws from the
  RNG in its order: the preview batch ``next(iter(trainloader))``, then ``Net()``, then a new
  loader iterator per epoch. Given the literal DataLoader (``tutorial_loader``) or the fast path
  (``blitz.data.FastLoader``), it gives the same batches and so the same losses.
  (This module does not import torchvision, so that the processes of a data-parallel step
  start quickly.)
- ``evaluate``: overall and per-class accuracy, as the tutorial's two test loops compute them.
- ``save_state`` / ``load_state``: ``torch.save(net.state_dict())`` and its reload with
  ``torch.load(weights_only=True)``, which refuses arbitrary pickled objects.

The data-parallel step is ``blitz.ddp``'s. Run the protocol from the command line (accuracy and
time per seed; ``blitz.train_cli``)::

    python -m blitz.train --root DIR --seeds 42 43 44 45 46
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import dataclass, field
from typing import IO, Any

import torch
import torch.nn as nn
import torch.optim as optim
from torch.utils.data import DataLoader
from tqdm import tqdm

from blitz import compat
from blitz.models import CIFAR10_CLASSES, Net
from blitz.tutorial import PROTOCOL, WIDTH, Protocol

# ==============================================================================================
# The protocol


# Protocol and PROTOCOL, and what the tutorial printed (TUTORIAL_LOSSES, ...), are defined
# torch-free in blitz.tutorial (the benchmark grid and the reports read them without torch).


def tutorial_loader(
    dataset: Any, protocol: Protocol = PROTOCOL, shuffle: bool = True
) -> DataLoader:
    """The tutorial's ``DataLoader(dataset, batch_size=4, shuffle=..., num_workers=2)``."""
    return DataLoader(
        dataset, batch_size=protocol.batch_size, shuffle=shuffle, num_workers=protocol.num_workers
    )


@contextlib.contextmanager
def cpu_threads(threads: int | None = 1):
    """Run the block with torch on ``threads`` CPU threads (None: as it is), then restore.

    The tutorial's batches of 4 are too small to split across threads: with torch's default of
    one thread per core the threads mostly wait on each other, far slower where other processes
    share the cores (docs/data.md has the measurement). Training on the CPU here runs on one
    thread.
    """
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def make_optimizer(
    net: nn.Module, protocol: Protocol = PROTOCOL, *, foreach: bool | None = None
) -> optim.SGD:
    """``optim.SGD(net.parameters(), lr=0.001, momentum=0.9)``.

    ``foreach=True`` updates all parameters with one ``torch._foreach_*`` call per operation
    instead of a Python loop over them (on the CPU the default is the loop). The arithmetic is
    the same, element for element, so the parameters come out bit for bit the same (the C06
    equality test compares the two); it saves about a tenth of a step of batch 4 on the CPU.
    The fast path uses it. torch < 1.12 has no ``foreach`` parameter: there it is the loop.
    """
    options = {"foreach": foreach} if compat.has_foreach_sgd() else {}
    return optim.SGD(net.parameters(), lr=protocol.lr, momentum=protocol.momentum, **options)


# ==============================================================================================
# Training


def train_step(
    net: nn.Module, optimizer: optim.Optimizer, criterion: nn.Module, inputs, labels
) -> torch.Tensor:
    """One step of the tutorial's loop; returns the loss (a tensor on the net's device)."""
    optimizer.zero_grad()  # zero the parameter gradients
    outputs = net(inputs)  # forward + backward + optimize
    loss = criterion(outputs, labels)
    loss.backward()
    optimizer.step()
    return loss


@dataclass
class TrainLog:
    """What a training run printed and measured."""

    losses: list[float] = field(default_factory=list)  # every mini-batch's loss, in order
    checkpoints: list[tuple[int, int, float]] = field(default_factory=list)  # (epoch, i, loss)
    seconds: float = 0.0  # wall time of the loop, data loading included

    @property
    def trajectory(self) -> list[float]:
        """The printed running losses, in order."""
        return [loss for _, _, loss in self.checkpoints]


def checkpoint_line(epoch: int, i: int, loss: float) -> str:
    """The tutorial's line: ``[1,  2000] loss: 2.144``."""
    return f"[{epoch}, {i:5d}] loss: {loss:.3f}"


def train(
    net: nn.Module,
    loader,
    optimizer: optim.Optimizer,
    criterion: nn.Module | None = None,
    *,
    epochs: int = PROTOCOL.epochs,
    device: str | torch.device = "cpu",
    print_every: int = PROTOCOL.print_every,
    max_steps: int | None = None,
    progress: bool = True,
    file: IO[str] | None = None,
) -> TrainLog:
    """The tutorial's training loop: ``epochs`` passes over ``loader``, a new iterator each.

    Prints ``[epoch, i] loss`` every ``print_every`` mini-batches (the mean of their losses) to
    ``file`` (stdout by default) and shows a progress bar unless ``progress`` is False. Inputs
    and labels are moved to ``device`` at every step, as the tutorial's "Training on GPU" says.
    ``max_steps`` stops early (for tests).
    """
    criterion = criterion if criterion is not None else nn.CrossEntropyLoss()
    out = file if file is not None else sys.stdout
    log = TrainLog()
    total = epochs * len(loader) if max_steps is None else min(max_steps, epochs * len(loader))
    start = time.perf_counter()
    with tqdm(total=total, unit="step", desc="train", disable=not progress, leave=False) as bar:
        for epoch in range(epochs):  # loop over the dataset multiple times
            if len(log.losses) == total:
                break
            running_loss = 0.0
            for i, (inputs, labels) in enumerate(loader, 0):
                if len(log.losses) == total:
                    break
                inputs, labels = inputs.to(device), labels.to(device)
                loss = train_step(net, optimizer, criterion, inputs, labels).item()
                log.losses.append(loss)
                bar.update()
                running_loss += loss
                if i % print_every == print_every - 1:  # every print_every mini-batches
                    log.checkpoints.append((epoch + 1, i + 1, running_loss / print_every))
                    tqdm.write(checkpoint_line(*log.checkpoints[-1]), file=out)
                    running_loss = 0.0
    log.seconds = time.perf_counter() - start
    if len(log.losses) == epochs * len(loader):
        print("Finished Training", file=out)
    return log


def run_tutorial(
    train_loader,
    *,
    protocol: Protocol = PROTOCOL,
    device: str | torch.device = "cpu",
    width: int = WIDTH,
    max_steps: int | None = None,
    progress: bool = True,
    file: IO[str] | None = None,
    foreach: bool | None = None,
) -> tuple[Net, TrainLog]:
    """The tutorial's script, seed to trained net, on ``train_loader`` (literal or fast).

    Draws from the RNG in the script's order: ``torch.manual_seed(seed)``; the preview batch
    ("get some random training images"); ``Net()``'s initialization; one loader iterator per
    epoch. ``device`` is where the net trains ("Training on GPU"). ``foreach`` is passed to
    ``make_optimizer`` (same parameters, bit for bit; the fast path sets it).
    """
    torch.manual_seed(protocol.seed)
    next(iter(train_loader))  # the preview: dataiter = iter(trainloader); next(dataiter)
    net = Net(width).to(device)
    optimizer = make_optimizer(net, protocol, foreach=foreach)
    log = train(
        net, train_loader, optimizer, nn.CrossEntropyLoss(),
        epochs=protocol.epochs, device=device, print_every=protocol.print_every,
        max_steps=max_steps, progress=progress, file=file,
    )  # fmt: skip
    return net, log


# ==============================================================================================
# Evaluation


@dataclass
class Evaluation:
    """Correct predictions and images per class (in label order)."""

    correct: list[int]
    total: list[int]
    classes: tuple[str, ...] = CIFAR10_CLASSES

    @property
    def accuracy(self) -> float:
        """Overall accuracy in percent."""
        return 100 * sum(self.correct) / sum(self.total)

    @property
    def per_class(self) -> dict[str, float]:
        """Accuracy per class in percent, by the tutorial's class names."""
        return {
            name: 100 * float(c) / t if t else float("nan")
            for name, c, t in zip(self.classes, self.correct, self.total)
        }

    def lines(self) -> list[str]:
        """What the tutorial prints for these results."""
        total = sum(self.total)
        percent = 100 * sum(self.correct) // total  # the tutorial's integer percentage
        head = f"Accuracy of the network on the {total} test images: {percent} %"
        return [head] + [
            f"Accuracy for class: {name:5s} is {accuracy:.1f} %"
            for name, accuracy in self.per_class.items()
        ]


@torch.no_grad()  # we are not training, so no gradients are needed
def evaluate(net: nn.Module, loader, device: str | torch.device = "cpu") -> Evaluation:
    """Overall and per-class accuracy of ``net`` on ``loader``: the class with the highest
    energy is the prediction, as in the tutorial's test loops."""
    num_classes = len(CIFAR10_CLASSES)
    correct = torch.zeros(num_classes, dtype=torch.int64, device=device)
    total = torch.zeros(num_classes, dtype=torch.int64, device=device)
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        _, predicted = torch.max(net(images), 1)
        total += torch.bincount(labels, minlength=num_classes)
        correct += torch.bincount(labels[predicted == labels], minlength=num_classes)
    return Evaluation(correct.tolist(), total.tolist())


# ==============================================================================================
# Save and load


def save_state(net: nn.Module, path: str | os.PathLike) -> None:
    """``torch.save(net.state_dict(), PATH)``."""
    torch.save(net.state_dict(), path)


def load_state(net: nn.Module, path: str | os.PathLike, map_location=None):
    """``net.load_state_dict(torch.load(PATH, weights_only=True))``; returns what it reports.

    ``weights_only=True`` unpickles tensors and plain containers only: a checkpoint holding any
    other object raises ``pickle.UnpicklingError`` instead of running its code.
    """
    state = compat.load(path, map_location=map_location)  # weights_only=True, on every torch
    return net.load_state_dict(state)


if __name__ == "__main__":  # python -m blitz.train: the command line is blitz.train_cli's
    from blitz.train_cli import main

    sys.exit(main())
