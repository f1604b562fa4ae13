"""Training a Classifier, steps 3 to 5 and "Training on GPU": train, evaluate, save, parallelize.

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
- ``data_parallel_step``: one DistributedDataParallel step over several processes (gloo on CPU,
  NCCL on GPUs), to compare with ``single_process_step`` over the whole batch.

Run the protocol from the command line (accuracy and time per seed)::

    python -m blitz.train --root DIR --seeds 42 43 44 45 46
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn
import torch.optim as optim
from torch.utils.data import DataLoader
from torch.torch_version import TorchVersion
from tqdm import tqdm

from blitz import compat, devices
from blitz.errors import EnvironmentProblem
from blitz.models import CIFAR10_CLASSES, Net
from blitz.tutorial import PROTOCOL, WIDTH, Protocol

# ==============================================================================================
# The protocol


# Protocol and PROTOCOL are defined torch-free in blitz.tutorial (the benchmark grid and the
# reports read them without torch) and are blitz.train's too.

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
    one thread per core, the threads mostly wait on each other, and when other processes share
    the cores a step can take 100 times longer (measured on 2 shared cores: 2.6 ms per step on
    one thread, 300 ms on two). Training on the CPU here runs on one thread.
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


# ==============================================================================================
# Data parallelism


def single_process_step(
    state: dict,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    *,
    protocol: Protocol = PROTOCOL,
    device: str | torch.device = "cpu",
) -> dict[str, torch.Tensor]:
    """One SGD step of ``Net`` loaded with ``state`` over the whole batch, on ``device``; the new
    state, on the CPU. To compare with ``data_parallel_step``, step on the ranks' kind of device
    (``cuda:0`` for NCCL): the same kernels, not the CPU's."""
    net = Net(state["conv1.weight"].shape[0])
    net.load_state_dict(state)
    net.to(device)
    optimizer = make_optimizer(net, protocol)
    train_step(net, optimizer, nn.CrossEntropyLoss(), inputs.to(device), labels.to(device))
    return {name: value.detach().cpu().clone() for name, value in net.state_dict().items()}


@dataclass(frozen=True)
class _DDPJob:
    """What every process of ``data_parallel_step`` gets (spawn pickles it for each)."""

    world_size: int
    backend: str  # gloo: CPU processes; nccl: one GPU per process
    init_method: str  # tcp://127.0.0.1:PORT, the rendezvous
    state: dict  # the Net's starting state_dict
    inputs: torch.Tensor  # the whole batch; rank r takes its r-th equal share
    labels: torch.Tensor
    protocol: Protocol
    timeout_s: float
    out: str  # the folder that receives rank{r}.pt
    # The caller's TF32 settings. A spawned process starts with torch's defaults (TF32
    # convolutions on CUDA), so without these its ranks would not compute as the caller does.
    tf32: devices.TF32


def data_parallel_step(
    state: dict,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    *,
    world_size: int = 2,
    backend: str = "gloo",
    protocol: Protocol = PROTOCOL,
    timeout_s: float = 120.0,
) -> list[dict[str, torch.Tensor]]:
    """One DistributedDataParallel step over ``world_size`` processes; each rank's new state.

    Each process loads ``state`` into a ``Net``, wraps it in DDP and steps on its equal share of
    the batch; DDP averages the gradients across processes, so each replica should end where one
    process stepping on the whole batch ends. ``gloo`` runs on CPU processes (rendezvous on a free
    loopback port), ``nccl`` on one GPU per process (rank r on ``cuda:r``). The processes
    compute with the caller's TF32 settings (``blitz.devices.tf32_settings``). A process that
    fails raises ``EnvironmentProblem`` here, with its last traceback line (``worker_failure``).
    """
    if len(inputs) % world_size:
        raise ValueError(f"a batch of {len(inputs)} does not split into {world_size} equal shares")
    with tempfile.TemporaryDirectory() as tmp:
        job = _DDPJob(
            world_size, backend, f"tcp://127.0.0.1:{free_port()}", state, inputs, labels,
            protocol, timeout_s, tmp, devices.tf32_settings(),
        )  # fmt: skip
        method = _start_method(backend)
        if method == "fork":
            # DDP imports torch._dynamo (seconds) during its first step: import it once here,
            # so that the forked processes inherit it instead of each importing it again. (Not
            # `import torch._dynamo`: that would make `torch` a local name of this function,
            # unbound on the spawn path. torch < 2.0 has no dynamo.)
            with contextlib.suppress(ImportError):
                importlib.import_module("torch._dynamo")
        try:
            mp.start_processes(_ddp_worker, args=(job,), nprocs=world_size, start_method=method)
        except _WORKER_FAILURES as exc:
            raise worker_failure(exc) from exc
        return [
            compat.load(Path(tmp) / f"rank{rank}.pt")
            for rank in range(world_size)
        ]


# What torch.multiprocessing raises in the parent when a child process fails: the child raised
# (its traceback comes along) or it exited without a traceback (a signal, an exit code).
_WORKER_FAILURES = tuple(
    getattr(mp, name)
    for name in ("ProcessRaisedException", "ProcessExitedException")
    if hasattr(mp, name)
)


def worker_failure(exc: BaseException) -> EnvironmentProblem:
    """A failed process of ``data_parallel_step`` as the environment problem it is.

    The ranks run the same step that ``single_process_step`` runs in this process; a rank that
    crashes (spawn or import error, a port taken, the rendezvous timing out) says nothing about
    what the step computes, so it is an error of the run, not a finding about torch. The message
    keeps the child's last traceback line (``RuntimeError: ...``) or, without one, how it exited.
    """
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    last = lines[-1] if lines else type(exc).__name__
    return EnvironmentProblem(f"a data-parallel worker failed: {last}")


def _start_method(backend: str) -> str:
    """fork for CPU processes on Linux (no second import of torch: seconds saved per process,
    as DataLoader workers do); spawn elsewhere and for CUDA, which cannot be forked.

    Also spawn once this process has initialized CUDA (a run that tested cuda before cpu): a
    forked child inherits a CUDA context it cannot use, and any CUDA call there raises "Cannot
    re-initialize CUDA in forked subprocess".

    And spawn on torch before 1.13: there a child forked after the parent ran autograd (the
    suite's other tests did) refuses to run backward ("Unable to handle autograd's threading in
    combination with fork-based multiprocessing"; seen on 1.10.2 and 1.11.0, not on 1.13.1).
    """
    forkable = TorchVersion(torch.__version__) >= FORK_AFTER_AUTOGRAD_SINCE
    if (
        backend == "gloo" and sys.platform == "linux" and forkable
        and not torch.cuda.is_initialized()
    ):  # fmt: skip
        return "fork"
    return "spawn"


FORK_AFTER_AUTOGRAD_SINCE = "1.13"


def free_port() -> int:
    """A TCP port free on the loopback interface now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _loopback_interface() -> str | None:
    names = [name for _, name in socket.if_nameindex()] if hasattr(socket, "if_nameindex") else []
    return next((name for name in names if name.startswith("lo")), None)


def _ddp_worker(rank: int, job: _DDPJob) -> None:
    torch.set_num_threads(1)  # the processes share the machine's cores
    devices.set_tf32(job.tf32)  # compute as the caller does (see _DDPJob.tf32)
    if job.backend == "nccl":
        # One GPU per rank. NCCL sets up its communicator on the current device, which is cuda:0
        # in every process until set_device: the ranks would share one GPU (or hang) on 2+ GPUs.
        torch.cuda.set_device(rank)
        device = torch.device("cuda", rank)
    else:
        device = torch.device("cpu")
    loopback = _loopback_interface()
    if job.backend == "gloo" and loopback:
        os.environ["GLOO_SOCKET_IFNAME"] = loopback  # keep the traffic on this machine
    dist.init_process_group(
        job.backend, init_method=job.init_method, rank=rank, world_size=job.world_size,
        timeout=timedelta(seconds=job.timeout_s),
    )  # fmt: skip
    try:
        net = Net(job.state["conv1.weight"].shape[0])
        net.load_state_dict(job.state)
        net.to(device)
        model = nn.parallel.DistributedDataParallel(
            net, device_ids=[rank] if device.type == "cuda" else None
        )
        share_inputs = job.inputs.chunk(job.world_size)[rank].to(device)
        share_labels = job.labels.chunk(job.world_size)[rank].to(device)
        optimizer = make_optimizer(model, job.protocol)
        train_step(model, optimizer, nn.CrossEntropyLoss(), share_inputs, share_labels)
        new_state = {name: value.detach().cpu() for name, value in net.state_dict().items()}
        torch.save(new_state, Path(job.out) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


# ==============================================================================================
# Command line: the protocol, seed after seed

PROG = "python -m blitz.train"
MAX_SEED = 2**64 - 1  # torch.manual_seed takes seeds up to this


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (and status 2), without the usage."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"a seed is an integer from 0 to 2**64 - 1, got {text}")
    return value


def _device(text: str) -> str:
    """A device that is here: its type known and available, its index (cuda) present."""
    from blitz import devices

    known = devices.candidate_devices()
    try:
        device = torch.device(text)
    except (RuntimeError, ValueError):
        device = None
    if device is None or device.type not in known:
        raise argparse.ArgumentTypeError(
            f"unknown device {text!r} (choose from {', '.join(known)}, e.g. cuda:0)"
        )
    reason = devices.unavailable_reason(device.type)
    if reason is not None:
        raise argparse.ArgumentTypeError(reason)
    if device.type == "cuda" and device.index is not None:
        count = torch.cuda.device_count()
        if device.index >= count:
            raise argparse.ArgumentTypeError(
                f"{text} unavailable: torch sees {count} CUDA device(s)"
                + (f" (cuda:0 to cuda:{count - 1})" if count else "")
            )
    return text


def _directory(text: str) -> Path:
    path = Path(text).expanduser()
    if not path.is_dir():
        raise argparse.ArgumentTypeError(
            f"not a directory: {text}" if path.exists() else f"no such directory: {text}"
        )
    return path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, every argument checked: a bad one exits with one line and status 2."""
    parser = _Parser(
        prog=PROG,
        description="Train the tutorial's Net on CIFAR-10 by its protocol; print accuracy, time.",
    )
    parser.add_argument(
        "--root",
        type=_directory,
        default=None,
        metavar="DIR",
        help="an existing CIFAR-10 root (default: $BLITZ_DATA_ROOT or the default root)",
    )
    parser.add_argument("--no-download", action="store_true", help="never download CIFAR-10")
    parser.add_argument(
        "--seeds", type=_seed, nargs="+", default=[PROTOCOL.seed], metavar="SEED",
        help="one run per seed, 0 to 2**64 - 1 (default: 42)",
    )  # fmt: skip
    parser.add_argument(
        "--literal",
        action="store_true",
        help="the tutorial's DataLoader path (default: the fast path)",
    )
    parser.add_argument(
        "--device", type=_device, default="cpu",
        help="cpu, cuda, cuda:N or another accelerator present (default: cpu)",
    )  # fmt: skip
    parser.add_argument(
        "--width", type=_positive_int, default=WIDTH,
        help=f"channels between the convolutions (default: {WIDTH})",
    )  # fmt: skip
    parser.add_argument(
        "--epochs", type=_positive_int, default=PROTOCOL.epochs,
        help="passes over the training images (default: 2)",
    )  # fmt: skip
    parser.add_argument(
        "--max-steps", type=_positive_int, default=None, metavar="N",
        help="stop each seed's training after N steps (a rehearsal; default: the whole protocol)",
    )  # fmt: skip
    parser.add_argument(
        "--train-split",
        choices=("train", "test"),
        default="train",
        help=(
            "the split to train on: 'test' only where the training split is not at hand (a "
            "machine that gets the test split alone); the accuracy is then on the images it "
            "trained on (default: train)"
        ),
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--threads", type=_positive_int, default=1,
        help="torch CPU threads (default: 1, see cpu_threads)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.root is None:
        from blitz.data import ROOT_ENV

        from_env = os.environ.get(ROOT_ENV)
        if from_env:
            try:
                args.root = _directory(from_env)
            except argparse.ArgumentTypeError as exc:
                parser.error(f"${ROOT_ENV}: {exc}")
    return args


def _fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from blitz import data  # torchvision: imported only where the data is needed

    torch.set_num_threads(args.threads)

    try:
        source = data.find_cifar10(
            args.root, download=not args.no_download, root_option="--root DIR"
        )
        transform = data.tutorial_transform()
        testset = source.dataset(train=False, transform=transform)
        trainset = testset
        if args.train_split == "train":
            trainset = source.dataset(train=True, transform=transform)
        for dataset in (trainset, testset):
            # Read the images now (the offline copy reads them on first use), so that a damaged
            # file is found here, before training, on either path.
            dataset.data  # noqa: B018
    except (data.CIFAR10NotFound, data.CIFAR10CorruptError) as exc:
        return _fail(str(exc))
    except (OSError, RuntimeError) as exc:  # e.g. a disk error (the message names the file)
        return _fail(f"reading CIFAR-10 failed: {type(exc).__name__}: {' '.join(str(exc).split())}")
    print(source.note)
    if args.train_split == "test":
        print(
            "training on the test split (10,000 images), as asked: not the tutorial's protocol; "
            "the accuracy below is on the images it trained on"
        )
    device = torch.device(args.device)
    if device.type == "cuda":
        print(f"float32 on cuda: {devices.tf32_settings().describe()} (torch's settings, as given)")
    if args.literal:
        train_loader = tutorial_loader(trainset)
        test_loader = tutorial_loader(testset, shuffle=False)
    else:
        train_loader = data.FastLoader(
            *data.split_tensors(trainset, device), PROTOCOL.batch_size, shuffle=True
        )
        test_loader = data.FastLoader(*data.split_tensors(testset, device), batch_size=1000)
    results = []
    for seed in args.seeds:
        protocol = Protocol(seed=seed, epochs=args.epochs)
        print(f"seed {seed}:")
        net, log = run_tutorial(
            train_loader, protocol=protocol, device=device, width=args.width,
            max_steps=args.max_steps, progress=not args.no_progress,
            foreach=None if args.literal else True,
        )  # fmt: skip
        evaluation = evaluate(net, test_loader, device)
        print("\n".join(evaluation.lines()))
        print(
            f"training time: {log.seconds:.1f} s "
            f"({1000 * log.seconds / len(log.losses):.2f} ms/step)"
        )
        results.append((seed, evaluation.accuracy, log.seconds))
    print("seed  accuracy  training s")
    for seed, accuracy, seconds in results:
        print(f"{seed:4d}  {accuracy:7.2f}%  {seconds:10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
