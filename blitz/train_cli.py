"""``python -m blitz.train``: the tutorial's protocol from the command line, seed after seed, with
the accuracy and the time of each. Every argument is checked before anything loads: a bad one is
one line on stderr and exit status 2."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import torch

from blitz import devices
from blitz.train import evaluate, run_tutorial, tutorial_loader
from blitz.tutorial import PROTOCOL, WIDTH, Protocol

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
    """A device that is here (``blitz.devices.check``: its type known and available, its index
    present)."""
    try:
        return devices.check(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


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
        "--json", type=Path, default=None, metavar="PATH",
        help=(
            "also write each seed's result to PATH as JSON (seed, steps, seconds, ms per step, "
            "accuracy, images), rewritten after every seed (default: not written)"
        ),
    )  # fmt: skip
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
    results, runs = [], []
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
        runs.append({
            "seed": seed, "steps": len(log.losses), "seconds": log.seconds,
            "ms_per_step": 1000 * log.seconds / len(log.losses), "accuracy": evaluation.accuracy,
            "per_class": evaluation.per_class, "images": sum(evaluation.total),
        })  # fmt: skip
        if args.json is not None:
            write_json(args.json, argv, args, runs)
    print("seed  accuracy  training s")
    for seed, accuracy, seconds in results:
        print(f"{seed:4d}  {accuracy:7.2f}%  {seconds:10.1f}")
    return 0


def write_json(path: Path, argv: list[str] | None, args: argparse.Namespace, runs: list) -> None:
    """The results so far as JSON (``--json``): a run stopped after some seeds keeps theirs."""
    document = {
        "argv": list(sys.argv[1:] if argv is None else argv),
        "device": args.device,
        "train_split": args.train_split,
        "path": "literal" if args.literal else "fast",
        "runs": runs,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
