"""Training a Classifier, "Train the network": images/s, literal DataLoader path vs fast path.

The literal path is the tutorial's: ``DataLoader(trainset, batch_size=4, shuffle=True,
num_workers=2)`` over PIL images and the ``ToTensor`` + ``Normalize`` transform, each batch moved to
the device. The fast path (``blitz.data.FastLoader``) holds the split normalized in one tensor on
the device and takes each batch by index, in the same order, with the same losses (claim C06's
equality test). Two parts are timed per path and device:

- ``data``: fetching the batches alone (on the device);
- ``train``: the tutorial's whole step, loader included (what an epoch costs); the fast path
  steps SGD with ``foreach=True`` as blitz's fast path does (same bits, see ``make_optimizer``).

A round is ``STEPS`` consecutive batches from one long-lived iterator (a new one when an epoch
ends), so that the timing is the steady state of an epoch, not the loader's start-up. The images
are CIFAR-10's 10,000 test images (found as ``blitz.data.find_cifar10`` finds them, without
download: set ``$BLITZ_DATA_ROOT``); the training split would only take longer to load.
"""

from __future__ import annotations

import functools
import itertools

import pytest
import torch
import torch.nn as nn

from blitz import data, devices, train
from blitz.models import Net
from blitz.tutorial import PROTOCOL, WIDTH

BATCH_SIZE = PROTOCOL.batch_size  # the tutorial's
STEPS = 250  # batches per timed round: 1,000 images
ROUNDS = 5


@functools.cache
def _test_split():
    try:
        source = data.find_cifar10(data.explicit_root(None), download=False)
    except data.CIFAR10NotFound as exc:
        return None, str(exc)
    return source, source.dataset(train=False, transform=data.tutorial_transform())


def _loader(path: str, device: str):
    source, dataset = _test_split()
    if source is None:
        pytest.skip(f"benchmarks never download: {dataset}")
    if path == "literal":
        return source, train.tutorial_loader(dataset)
    return source, data.FastLoader(*data.split_tensors(dataset, device), BATCH_SIZE, shuffle=True)


def _endless(loader):
    """Batches forever, a new iterator (a new epoch) each time one ends."""
    return itertools.chain.from_iterable(iter(loader) for _ in itertools.count())


@pytest.mark.parametrize("part", ["data", "train"])
@pytest.mark.parametrize("path", ["literal", "fast"])
def test_epoch_images_per_second(benchmark, device, path, part):
    benchmark.group = f"epoch {part}: b{BATCH_SIZE} w{WIDTH}"
    source, loader = _loader(path, device)
    torch.manual_seed(PROTOCOL.seed)
    batches = _endless(loader)
    net = Net().to(device)
    optimizer = train.make_optimizer(net, foreach=path == "fast")  # as blitz's fast path trains
    criterion = nn.CrossEntropyLoss()

    def fetch_round():
        for inputs, labels in itertools.islice(batches, STEPS):
            inputs, labels = inputs.to(device), labels.to(device)
        devices.synchronize(device)

    def train_round():
        for inputs, labels in itertools.islice(batches, STEPS):
            inputs, labels = inputs.to(device), labels.to(device)
            train.train_step(net, optimizer, criterion, inputs, labels)
        devices.synchronize(device)

    # Warm-up on: the first round starts the loader's workers and the first steps of a new
    # model are many times slower than the rest.
    with train.cpu_threads(1):  # as blitz trains batches of 4 on the CPU (see cpu_threads)
        benchmark.pedantic(
            fetch_round if part == "data" else train_round,
            rounds=ROUNDS, iterations=1, warmup_rounds=1,
        )  # fmt: skip
    stats = getattr(benchmark.stats, "stats", None)  # None with --benchmark-disable
    median = stats.median if stats else None
    benchmark.extra_info.update(
        {
            "claim": "C06",
            "path": path,
            "part": part,
            "device": device,
            "device_name": devices.device_name(device),
            "batch_size": BATCH_SIZE,
            "width": WIDTH,
            "steps_per_round": STEPS,
            "images_per_s": STEPS * BATCH_SIZE / median if median else None,
            "data": source.description,
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
        }
    )
