"""The claims of cifar10_tutorial.py on its data (see ``probes.base``): C01 (torchvision loads
CIFAR-10), C03 and C04 (the first batches of the training and test loaders); and what the other
cifar10 probes share: the run's cap on the images served, the script's class names, its images.

The script trains on CIFAR-10 served by blitz's data layer (``blitz.tutorial_source.sandbox``),
all of it or, in a quick run, the first N images of each split (``seen.options``:
``cifar10_train_subset`` / ``cifar10_test_subset``). What a capped run cannot show reads as not
checked (the claim is partial), never as failing: the 50,000 / 10,000 counts (C01), the golden
first shuffled batch (C03), the tutorial's protocol (``probes.cifar10_training``).

C10, C11 and C14 are about a GPU or a benchmark: no probe.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from blitz import tutorial
from blitz.tutorial_source.probes import syntax
from blitz.tutorial_source.probes.base import Seen, calls, dotted, probe

SCRIPT = "cifar10"
FULL = {"train": 50_000, "test": 10_000}
FULL_PROTOCOL = "needs the full protocol (2 epochs over the 50,000 training images, --run-slow)"
FIRST_TRAIN_BATCH = ("frog", "plane", "deer", "car")  # seed 42, the whole training split
FIRST_TEST_BATCH = ("cat", "ship", "ship", "plane")  # the test split's first four: any seed
# What torchvision prints where its own class checks files already there.
TORCHVISION_MESSAGES = re.compile(r"^(Files already downloaded and verified|Using downloaded.*)$")


def cap(seen: Seen, split: str) -> int | None:
    """The run's cap on ``split`` ("train" or "test"), where it serves fewer than all images."""
    value = seen.options.get(f"cifar10_{split}_subset")
    return value if value is not None and value < FULL[split] else None


def capped_note(seen: Seen, splits: tuple[str, ...] = ("train", "test")) -> str:
    train = cap(seen, "train") if "train" in splits else None
    test = cap(seen, "test") if "test" in splits else None
    parts = [f"the first {n:,} {s} images" for s, n in (("training", train), ("test", test)) if n]
    return "this run serves " + " and ".join(parts) if parts else ""


def class_names(seen: Seen, node: ast.AST | None = None) -> tuple[str, ...]:
    """The script's class names: the sequence it indexes with a label (``classes[label]``) in
    ``node``, else its variable ``classes``."""
    names = []
    if node is not None:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Subscript) and isinstance(sub.value, ast.Name):
                value = (seen.namespace or {}).get(sub.value.id)
                if _class_names(value):
                    names.append(tuple(value))
    if names:
        return names[0]
    value = (seen.namespace or {}).get("classes")
    assert _class_names(value), "the script has no class names (classes)"
    return tuple(value)


def _class_names(value: Any) -> bool:
    return (
        isinstance(value, (tuple, list))
        and len(value) == 10
        and all(isinstance(v, str) for v in value)
    )


def words_of(text: str, classes: tuple[str, ...]) -> list[list[str]]:
    """Per line of ``text``, the class names it holds, in order."""
    return [
        [w for w in re.findall(r"[A-Za-z]+", line) if w in classes] for line in text.split("\n")
    ]


def image_batch(seen: Seen):
    """A batch of images of the namespace, (N, 3, 32, 32), preferring ``images``; or None."""
    torch = seen.torch
    namespace = seen.namespace or {}
    values = [namespace.get("images"), *namespace.values()]
    for value in values:
        if isinstance(value, torch.Tensor) and value.dim() == 4 and value.shape[1:] == (3, 32, 32):
            return value
    return None


def datasets_of(seen: Seen) -> dict[str, Any]:
    """The namespace's datasets (anything with ``data``, ``targets`` and ``classes``)."""
    return {
        name: v
        for name, v in (seen.namespace or {}).items()
        if all(hasattr(v, a) for a in ("data", "targets", "classes")) and hasattr(v, "__len__")
    }


# ----------------------------------------------------------------------------------------------
# C01: torchvision loads CIFAR-10


def _train_flag(call: ast.Call) -> bool | None:
    value = syntax.keyword(call, "train")
    if value is None and len(call.args) >= 2:
        value = call.args[1]
    if value is None:
        return True  # torchvision's default
    return value.value if isinstance(value, ast.Constant) else None


@probe("C01", SCRIPT, looks_for="a call of torchvision.datasets.CIFAR10",
       find=calls(".CIFAR10"))  # fmt: skip
def cifar10_loads(seen: Seen, match: ast.Call) -> None:
    """Each CIFAR-10 split the cell loads has the tutorial's classes and size (a quick run's
    cap, else 50,000 / 10,000, a tenth a class), the script's class names are the tutorial's,
    and loading prints nothing else."""
    torch = seen.torch
    splits = {}
    for call in seen.calls(".CIFAR10"):
        name, train = syntax.bound_name(seen, call), _train_flag(call)
        if name and train is not None:
            splits["train" if train else "test"] = seen.value(name)
    assert splits, "the cell binds no CIFAR-10 split to a name"
    for split, dataset in splits.items():
        assert list(dataset.classes) == tutorial.TUTORIAL_CLASS_NAMES, (
            f"the {split} split's classes are {list(dataset.classes)}"
        )
        limit = cap(seen, split)
        if limit is not None:
            assert len(dataset) == limit, f"the {split} split serves {len(dataset)}, not {limit}"
            continue
        assert len(dataset) == FULL[split], f"{len(dataset):,} {split} images, not {FULL[split]:,}"
        counts = torch.bincount(torch.as_tensor(dataset.targets), minlength=10).tolist()
        assert counts == [FULL[split] // 10] * 10, f"{split} images per class: {counts}"
    if len(splits) < 2:
        seen.unchecked(f"the other split (the cell makes only the {next(iter(splits))} split)")
    if cap(seen, "train") or cap(seen, "test"):
        seen.unchecked(f"the 50,000 / 10,000 images: {capped_note(seen)} (a quick run's cap)")
    # The script's short names, in the dataset's order (plane for airplane, car for automobile).
    for node in seen.nodes(ast.Assign):
        value = node.value
        if isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == 10:
            if all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in value.elts):
                names = tuple(e.value for e in value.elts)
                assert names == tutorial.TUTORIAL_CLASSES, f"the script's classes are {names}"
    for line in seen.printed().splitlines():
        assert not line.strip() or TORCHVISION_MESSAGES.match(line.strip()), (
            f"loading CIFAR-10 printed {line!r}"
        )


# ----------------------------------------------------------------------------------------------
# C03, C04: the first batches


def shuffles(seen: Seen, loader: str) -> bool | None:
    """Whether the script's ``loader`` shuffles (its ``DataLoader(..., shuffle=...)``); by its
    name where the script's text is not known (the static look at a cell that did not run)."""
    made = syntax.script_value(seen, loader)
    if isinstance(made, ast.Call) and dotted(made.func).endswith("DataLoader"):
        value = syntax.keyword(made, "shuffle")
        if value is None:
            return False
        return bool(value.value) if isinstance(value, ast.Constant) else None
    lowered = loader.lower()
    return True if "train" in lowered else False if "test" in lowered else None


def first_draws(seen: Seen) -> list[tuple[str, ast.Call]]:
    """``it = iter(loader); x, y = next(it)`` (or ``it.next()``, or ``next(iter(loader))``) in
    the cell: (loader's name, the call that draws)."""
    out = []
    for it in seen.calls("iter"):
        if len(it.args) != 1 or not isinstance(it.args[0], ast.Name):
            continue
        name = syntax.bound_name(seen, it)
        draws = [
            c
            for c in seen.calls("next")
            if c.args and (c.args[0] is it or (name and dotted(c.args[0]) == name))
        ]
        draws += [
            c for c in syntax.method_calls(seen.tree, "next") if name and syntax.receiver(c) == name
        ]
        if draws:
            out.append((it.args[0].id, min(draws, key=lambda c: (c.lineno, c.col_offset))))
    return out


def find_first_train_batch(seen: Seen):
    return next((draw for loader, draw in first_draws(seen) if shuffles(seen, loader)), None)


def find_first_test_batch(seen: Seen):
    return next(
        (draw for loader, draw in first_draws(seen) if shuffles(seen, loader) is False), None
    )


def _batch(seen: Seen, draw: ast.Call):
    torch = seen.torch
    names = syntax.bound_names(seen, draw)
    assert len(names) == 2 and all(names), "the cell does not unpack the batch as images, labels"
    images, labels = (seen.value(n) for n in names)
    assert tuple(images.shape) == (4, 3, 32, 32) and images.dtype == torch.float32, (
        f"images {tuple(images.shape)} {images.dtype}, not (4, 3, 32, 32) float32"
    )
    assert tuple(labels.shape) == (4,) and labels.dtype == torch.int64, (
        f"labels {tuple(labels.shape)} {labels.dtype}, not (4,) int64"
    )
    assert images.min() >= -1 and images.max() <= 1, "images outside [-1, 1]"
    return images, labels


def _first_batch(seen: Seen, draw: ast.Call, sampler: str, otherwise: str):
    """The loader the cell draws its first batch from at ``draw`` (whose sampler must be
    ``torch.utils.data.<sampler>``: ``otherwise`` says why not), and the batch's images and
    labels."""
    loader = seen.value(next(loader for loader, d in first_draws(seen) if d is draw))
    assert isinstance(loader.sampler, getattr(seen.torch.utils.data, sampler)), otherwise
    return (loader, *_batch(seen, draw))


def _printed_labels(seen: Seen, labels, what: str) -> list[str]:
    classes = class_names(seen, seen.tree)
    expected = [classes[int(label)] for label in labels]
    lines = [w for w in words_of(seen.printed(), classes) if w]
    assert expected in lines, f"the cell printed {lines or 'no labels'}, not {what} {expected}"
    return expected


@probe("C03", SCRIPT, looks_for="next(iter(<the shuffling training loader>))",
       find=find_first_train_batch)  # fmt: skip
def first_shuffled_batch(seen: Seen, draw: ast.Call) -> None:
    """The first batch of the shuffling training loader: four 3x32x32 images in [-1, 1] and
    their labels, printed; the golden (frog plane deer car) on the whole split."""
    loader, _, labels = _first_batch(seen, draw, "RandomSampler", "the loader does not shuffle")
    assert loader.batch_size == 4, f"batch_size={loader.batch_size}, not 4"
    printed = _printed_labels(seen, labels, "the batch's labels")
    if cap(seen, "train"):
        seen.unchecked(
            "the golden first batch (frog plane deer car: a shuffle of the whole training split): "
            + capped_note(seen, ("train",))
        )
    elif seen.golden():
        assert tuple(printed) == FIRST_TRAIN_BATCH, (
            f"the first shuffled batch is {' '.join(printed)}; the tutorial printed "
            f"{' '.join(FIRST_TRAIN_BATCH)} (seed 42)"
        )


@probe("C04", SCRIPT, looks_for="next(iter(<the test loader, not shuffled>))",
       find=find_first_test_batch)  # fmt: skip
def first_test_batch(seen: Seen, draw: ast.Call) -> None:
    """The first batch of the test loader, which does not shuffle: the split's first four images
    and labels, printed as the tutorial's ground truth (cat ship ship plane)."""
    torch = seen.torch
    loader, images, labels = _first_batch(seen, draw, "SequentialSampler", "the loader shuffles")
    dataset = loader.dataset
    assert torch.equal(images, torch.stack([dataset[i][0] for i in range(4)])), (
        "the batch is not the test split's first four images"
    )
    assert labels.tolist() == list(dataset.targets[:4]), "the labels are not the first four"
    printed = _printed_labels(seen, labels, "the ground truth")
    # The test split's first four images, in order: the golden whatever the seed or the cap.
    assert tuple(printed) == FIRST_TEST_BATCH, (
        f"GroundTruth: {' '.join(printed)}; the tutorial printed {' '.join(FIRST_TEST_BATCH)}"
    )
