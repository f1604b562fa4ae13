"""The claims that cifar10_tutorial.py states, and their checks (see ``probes.base``).

The script trains on CIFAR-10 served by blitz's data layer (``blitz.tutorial_source.sandbox``),
all of it or, in a quick run, the first N images of each split (``seen.options``:
``cifar10_train_subset`` / ``cifar10_test_subset``). What a capped run cannot show reads as not
checked (the claim is partial), never as failing: the 50,000 / 10,000 counts (C01), the golden
first shuffled batch (C03), and the tutorial's protocol (two epochs over the 50,000 images: the
falling loss against what the tutorial printed (C06), the accuracy bands (C07, C08)). Those are
checked in a full run against the same tolerances as the catalogue's tests
(``blitz.tutorial``: ``TRAJECTORY_ATOL``, ``ACCURACY_BAND``, ``per_class_bands``).

Checks that recount (the test accuracy, per class) iterate the script's own loaders and net
without touching the script's random generators (``preserved_rng``: a DataLoader's iterator
draws a base seed even when it does not shuffle).

C10, C11 and C14 are about a GPU or a benchmark: no probe. C12 (DDP) is not stated by the
scripts; its finder (a ``DistributedDataParallel`` call) keeps it absent until one does.
"""

from __future__ import annotations

import ast
import math
import re
from typing import Any

from blitz import tutorial
from blitz.tutorial_source.probes.base import Seen, calls, dotted, name_matches, probe
from blitz.tutorial_source.probes.neural_networks import (
    bound_name,
    bound_names,
    calls_under,
    copy_with_grads,
    evaluate,
    keyword,
    method_calls,
    preserved_rng,
    pure,
    receiver,
    script_value,
)

SCRIPT = "cifar10"
FULL = {"train": 50_000, "test": 10_000}
FULL_PROTOCOL = "needs the full protocol (2 epochs over the 50,000 training images, --run-slow)"
FIRST_TRAIN_BATCH = ("frog", "plane", "deer", "car")  # seed 42, the whole training split
FIRST_TEST_BATCH = ("cat", "ship", "ship", "plane")  # the test split's first four: any seed
# What torchvision prints where its own class checks files already there.
TORCHVISION_MESSAGES = re.compile(r"^(Files already downloaded and verified|Using downloaded.*)$")
# The running loss the tutorial prints, in both of its formats ('[%d, %5d] loss: %.3f' and the
# f-string that followed).
CHECKPOINT = re.compile(r"\[\s*(\d+),\s*(\d+)\]\s*loss:\s*(-?\d+(?:\.\d+)?|nan|inf)")


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


def every_pixel_value():
    """A 16x16 RGB image holding each pixel value 0..255 once per channel (rolled per channel),
    as a PIL image, and its values as a (3, 16, 16) uint8 tensor."""
    import numpy as np
    import torch
    from PIL import Image

    values = np.arange(256, dtype=np.uint8).reshape(16, 16)
    image = np.stack([np.roll(values, 85 * c) for c in range(3)], axis=-1)
    return Image.fromarray(image), torch.from_numpy(image).permute(2, 0, 1)


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
    value = keyword(call, "train")
    if value is None and len(call.args) >= 2:
        value = call.args[1]
    if value is None:
        return True  # torchvision's default
    return value.value if isinstance(value, ast.Constant) else None


@probe("C01", SCRIPT, looks_for="a call of torchvision.datasets.CIFAR10", find=calls(".CIFAR10"))
def cifar10_loads(seen: Seen, match: ast.Call) -> None:
    torch = seen.torch
    splits = {}
    for call in seen.calls(".CIFAR10"):
        name, train = bound_name(seen, call), _train_flag(call)
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
# C02: 3x32x32 images; the transform maps them to [-1, 1]


def find_v1_transform(seen: Seen):
    """``transforms.Compose([transforms.ToTensor(), transforms.Normalize(...)])`` (v1)."""
    to_tensor = [c for c in seen.calls(".ToTensor") if "v2" not in dotted(c.func).split(".")]
    normalize = [c for c in seen.calls(".Normalize") if "v2" not in dotted(c.func).split(".")]
    if not (to_tensor and normalize):
        return None
    composed = [c for c in seen.calls(".Compose") if calls_under(c, ".Normalize")]
    return composed[0] if composed else normalize[0]


def transform_of(seen: Seen, match: ast.Call):
    name = bound_name(seen, match)
    assert name, "the cell binds its transform to no name"
    return seen.value(name)


@probe("C02", SCRIPT, looks_for="transforms.ToTensor() with transforms.Normalize(...)",
       find=find_v1_transform)  # fmt: skip
def transform_maps_to_minus_1_1(seen: Seen, match: ast.Call) -> None:
    torch = seen.torch
    from torchvision import transforms

    transform = transform_of(seen, match)
    steps = list(getattr(transform, "transforms", [transform]))
    to_tensor = [t for t in steps if isinstance(t, transforms.ToTensor)]
    normalize = [t for t in steps if isinstance(t, transforms.Normalize)]
    assert to_tensor and normalize, f"the transform is {transform}"
    assert tuple(normalize[0].mean) == (0.5,) * 3 and tuple(normalize[0].std) == (0.5,) * 3, (
        f"Normalize({normalize[0].mean}, {normalize[0].std}), not ((0.5,)*3, (0.5,)*3)"
    )
    image, raw = every_pixel_value()
    scaled = to_tensor[0](image)
    # ToTensor: pixel value v becomes v / 255, in [0, 1], channels first: exactly
    torch.testing.assert_close(scaled, raw.float() / 255, rtol=0, atol=0)
    out = transform(image)
    assert out.dtype == torch.float32 and tuple(out.shape) == (3, 16, 16), (out.dtype, out.shape)
    assert out.min() == -1 and out.max() == 1, f"the range is [{out.min()}, {out.max()}]"
    # (v / 255 - 0.5) / 0.5 = 2 v / 255 - 1, up to float32 rounding of the two ways (defaults)
    torch.testing.assert_close(out, 2 * raw.float() / 255 - 1)
    served = [d for d in datasets_of(seen).values() if getattr(d, "transform", None) is transform]
    if not served:
        seen.unchecked("the 3x32x32 images (no dataset with this transform in this cell)")
        return
    from PIL import Image

    pil = Image.fromarray(served[0].data[0])
    assert (pil.mode, pil.size) == ("RGB", (32, 32)), (pil.mode, pil.size)
    first = served[0][0][0]
    assert tuple(first.shape) == (3, 32, 32), f"an image is {tuple(first.shape)}, not (3, 32, 32)"


# ----------------------------------------------------------------------------------------------
# C03, C04: the first batches


def shuffles(seen: Seen, loader: str) -> bool | None:
    """Whether the script's ``loader`` shuffles (its ``DataLoader(..., shuffle=...)``); by its
    name where the script's text is not known (the static look at a cell that did not run)."""
    made = script_value(seen, loader)
    if isinstance(made, ast.Call) and dotted(made.func).endswith("DataLoader"):
        value = keyword(made, "shuffle")
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
        name = bound_name(seen, it)
        draws = [
            c
            for c in seen.calls("next")
            if c.args and (c.args[0] is it or (name and dotted(c.args[0]) == name))
        ]
        draws += [c for c in method_calls(seen.tree, "next") if name and receiver(c) == name]
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
    names = bound_names(seen, draw)
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


def _printed_labels(seen: Seen, labels, what: str) -> list[str]:
    classes = class_names(seen, seen.tree)
    expected = [classes[int(label)] for label in labels]
    lines = [w for w in words_of(seen.printed(), classes) if w]
    assert expected in lines, f"the cell printed {lines or 'no labels'}, not {what} {expected}"
    return expected


@probe("C03", SCRIPT, looks_for="next(iter(<the shuffling training loader>))",
       find=find_first_train_batch)  # fmt: skip
def first_shuffled_batch(seen: Seen, draw: ast.Call) -> None:
    torch = seen.torch
    loader_name = next(loader for loader, d in first_draws(seen) if d is draw)
    loader = seen.value(loader_name)
    assert loader.batch_size == 4, f"batch_size={loader.batch_size}, not 4"
    assert isinstance(loader.sampler, torch.utils.data.RandomSampler), "the loader does not shuffle"
    _, labels = _batch(seen, draw)
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
    torch = seen.torch
    loader_name = next(loader for loader, d in first_draws(seen) if d is draw)
    loader = seen.value(loader_name)
    assert isinstance(loader.sampler, torch.utils.data.SequentialSampler), "the loader shuffles"
    images, labels = _batch(seen, draw)
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


# ----------------------------------------------------------------------------------------------
# C05: the 3-channel Net


def find_three_channel_net(seen: Seen):
    for cls in seen.nodes(ast.ClassDef):
        convs = calls_under(cls, ".Conv2d")
        first = convs[0] if convs else None
        if first is None or not first.args or not isinstance(first.args[0], ast.Constant):
            continue
        if first.args[0].value != 3:
            continue
        for call in seen.calls(cls.name):
            if bound_name(seen, call):
                return call
    return None


@probe("C05", SCRIPT, looks_for="a class whose first nn.Conv2d takes 3 channels, instantiated",
       find=find_three_channel_net)  # fmt: skip
def three_channel_net(seen: Seen, match: ast.Call) -> None:
    torch = seen.torch
    net = seen.value(bound_name(seen, match))
    count = sum(p.numel() for p in net.parameters())
    assert count == 62_006, f"{count:,} parameters, not 62,006"
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and convs[0].in_channels == 3, "the first convolution does not take 3 channels"
    with torch.no_grad():
        for n in (1, 4, 7):
            out = net(torch.zeros(n, 3, 32, 32))
            assert tuple(out.shape) == (n, 10), f"{n} images give {tuple(out.shape)}"
        images = image_batch(seen)
        if images is not None:
            out = net(images)
            assert tuple(out.shape) == (len(images), 10), f"the batch gives {tuple(out.shape)}"


# ----------------------------------------------------------------------------------------------
# C06: the training loop


def find_training_loop(seen: Seen):
    """The outermost loop of the cell that calls ``.backward()`` and ``.step()``."""
    loops = [
        loop
        for loop in seen.nodes(ast.For)
        if method_calls(loop, "backward") and method_calls(loop, "step")
    ]
    return loops[0] if loops else None


def _loop_parts(seen: Seen, outer: ast.For) -> dict[str, Any]:
    """The names of the tutorial's loop: ``for epoch in range(E): for i, data in
    enumerate(loader, 0): ... loss = criterion(outputs, labels) ... optimizer.step() ...
    if i % K == K - 1: print(...)``; whatever is not there is left out."""
    parts: dict[str, Any] = {}
    if isinstance(outer.iter, ast.Call) and dotted(outer.iter.func) == "range":
        if len(outer.iter.args) == 1 and isinstance(outer.iter.args[0], ast.Constant):
            parts["epochs"] = outer.iter.args[0].value
            parts["epoch"] = getattr(outer.target, "id", None)
    inner = next(
        (n for n in ast.walk(outer) if isinstance(n, ast.For) and n is not outer),
        None,
    )
    if inner is not None and isinstance(inner.iter, ast.Call):
        if dotted(inner.iter.func) == "enumerate" and isinstance(inner.iter.args[0], ast.Name):
            parts["loader"] = inner.iter.args[0].id
            if isinstance(inner.target, ast.Tuple) and isinstance(inner.target.elts[0], ast.Name):
                parts["index"] = inner.target.elts[0].id
    for test in (n.test for n in ast.walk(outer) if isinstance(n, ast.If)):
        for node in ast.walk(test):
            if (
                isinstance(node, ast.BinOp)
                and isinstance(node.op, ast.Mod)
                and isinstance(node.right, ast.Constant)
            ):
                parts["every"] = node.right.value
    steps = method_calls(outer, "step")
    parts["optimizer"] = receiver(steps[0]) if steps else None
    backward = method_calls(outer, "backward")
    loss = receiver(backward[0]) if backward else None
    for node in ast.walk(outer):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
            if loss in targets and isinstance(node.value.func, ast.Name):
                parts["criterion"] = node.value.func.id
    return parts


def printed_checkpoints(text: str) -> list[tuple[int, int, float]]:
    return [(int(e), int(i), float(v)) for e, i, v in CHECKPOINT.findall(text)]


@probe("C06", SCRIPT, looks_for="a training loop: loss.backward() and optimizer.step() in a for",
       find=find_training_loop)  # fmt: skip
def loss_falls(seen: Seen, match: ast.For) -> None:
    torch = seen.torch
    parts = _loop_parts(seen, match)
    criterion = seen.value(parts.get("criterion") or "criterion")
    assert isinstance(criterion, torch.nn.CrossEntropyLoss), f"the criterion is {criterion}"
    optimizer = seen.value(parts.get("optimizer") or "optimizer")
    assert isinstance(optimizer, torch.optim.SGD), f"the optimizer is {type(optimizer).__name__}"
    group = optimizer.param_groups[0]
    assert (group["lr"], group["momentum"]) == (0.001, 0.9), (
        f"SGD(lr={group['lr']}, momentum={group['momentum']}), not SGD(lr=0.001, momentum=0.9)"
    )
    missing = [k for k in ("epochs", "epoch", "loader", "index", "every") if k not in parts]
    assert not missing, f"blitz cannot read the loop's {', '.join(missing)}"
    loader = seen.value(parts["loader"])
    epochs, every, batches = parts["epochs"], parts["every"], len(loader)
    # The loop ran to its end: over every batch of every epoch.
    assert seen.value(parts["epoch"]) == epochs - 1, f"the loop stopped in epoch {parts['epoch']}"
    assert seen.value(parts["index"]) == batches - 1, (
        f"the last epoch stopped at batch {seen.value(parts['index']) + 1} of {batches}"
    )
    checkpoints = printed_checkpoints(seen.printed())
    expected = [
        (e, k * every) for e in range(1, epochs + 1) for k in range(1, batches // every + 1)
    ]
    assert [(e, i) for e, i, _ in checkpoints] == expected, (
        f"printed the running loss at {[(e, i) for e, i, _ in checkpoints]}, not {expected}"
    )
    assert all(math.isfinite(v) and v > 0 for _, _, v in checkpoints), checkpoints
    if cap(seen, "train"):
        seen.unchecked(
            f"the falling loss, against the tutorial's printed trajectory: {FULL_PROTOCOL}; "
            + capped_note(seen, ("train",))
        )
        return
    printed = [v for _, _, v in checkpoints]
    assert [(e, i) for e, i, _ in checkpoints] == [(e, i) for e, i, _ in tutorial.TUTORIAL_LOSSES]
    half = len(printed) // 2
    first_epoch, second_epoch = printed[:half], printed[half:]
    assert printed[-1] < printed[0] - 0.5, f"the loss went from {printed[0]} to {printed[-1]}"
    assert first_epoch[-1] < first_epoch[0], f"the first epoch's loss rose: {first_epoch}"
    assert sum(second_epoch) / half < sum(first_epoch) / half, "the second epoch is no lower"
    seen.note("loss " + " ".join(f"{v:.3f}" for v in printed))
    if seen.golden():
        golden = torch.tensor([v for _, _, v in tutorial.TUTORIAL_LOSSES])
        # within TRAJECTORY_ATOL of what the tutorial printed (3 decimals: + 5e-4), as the
        # catalogue's test (tests/test_cifar10.py) holds blitz's own run of the protocol
        torch.testing.assert_close(
            torch.tensor(printed), golden, rtol=0, atol=tutorial.TRAJECTORY_ATOL + 5e-4,
            msg=lambda m: f"the printed loss {printed} strays from the tutorial's {m}",
        )  # fmt: skip


# ----------------------------------------------------------------------------------------------
# C07, C08: the test accuracy


def _evaluation_loops(seen: Seen) -> list[tuple[ast.For, bool]]:
    """``for data in loader: ... torch.max(outputs, 1) ... correct += ...`` loops (under
    ``torch.no_grad()`` since 2018), not training (no ``.backward()``): (the loop, whether it
    counts per class: an ``x[...] += ...``)."""
    out = []
    inner = {id(n) for loop in seen.nodes(ast.For) for n in ast.walk(loop) if n is not loop}
    for loop in seen.nodes(ast.For):
        if id(loop) in inner or not isinstance(loop.iter, ast.Name):
            continue
        if not calls_under(loop, "torch.max") or method_calls(loop, "backward"):
            continue
        augmented = [n for n in ast.walk(loop) if isinstance(n, ast.AugAssign)]
        if augmented:
            per_class = any(isinstance(n.target, ast.Subscript) for n in augmented)
            out.append((loop, per_class))
    return out


def find_accuracy(seen: Seen):
    return next((loop for loop, per_class in _evaluation_loops(seen) if not per_class), None)


def find_per_class_accuracy(seen: Seen):
    return next((loop for loop, per_class in _evaluation_loops(seen) if per_class), None)


def _loop_net(seen: Seen, loop: ast.For):
    torch = seen.torch
    for node in ast.walk(loop):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and len(node.args) == 1:
            value = (seen.namespace or {}).get(node.func.id)
            if isinstance(value, torch.nn.Module):
                return value
    raise AssertionError("the loop calls no net of the script")


def recount(seen: Seen, loop: ast.For):
    """The labels and the net's predictions over the loop's loader, recounted here: what the
    tutorial's ``_, predicted = torch.max(net(images), 1)`` gives, batch by batch."""
    torch = seen.torch
    loader = seen.value(loop.iter.id)
    net = _loop_net(seen, loop)
    labels, predicted = [], []
    with preserved_rng(), torch.no_grad():
        for images, targets in loader:
            labels.append(targets)
            predicted.append(torch.max(net(images), 1)[1])
    return torch.cat(labels), torch.cat(predicted), len(loader.dataset)


def _printed_percent(line: str) -> tuple[float, int]:
    """The percentage on ``line`` and its number of decimals."""
    found = re.findall(r"(-?\d+(?:\.(\d+))?)\s*%", line)
    assert found, f"no percentage in {line!r}"
    number, decimals = found[-1]
    return float(number), len(decimals)


def agrees(printed: float, decimals: int, exact: float) -> bool:
    """``printed`` is ``exact`` as the tutorial formats it: rounded to ``decimals`` (``:.1f``),
    or, printed as an integer, truncated (``//`` and ``%d``) or rounded."""
    if decimals:
        return abs(printed - exact) <= 0.5 * 10**-decimals + 1e-9
    return printed in (math.floor(exact), round(exact))


@probe("C07", SCRIPT, looks_for="an accuracy count over the test loader under torch.no_grad()",
       find=find_accuracy)  # fmt: skip
def accuracy_far_above_chance(seen: Seen, match: ast.For) -> None:
    labels, predicted, size = recount(seen, match)
    correct, total = int((predicted == labels).sum()), len(labels)
    assert total == size, f"the loop saw {total} of the loader's {size} images"
    counters = {
        n.target.id: int(seen.value(n.target.id))
        for n in ast.walk(match)
        if isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name)
    }
    assert sorted(counters.values()) == sorted([correct, total]), (
        f"the script counted {counters}; recounted: {correct} correct of {total}"
    )
    accuracy = 100 * correct / total
    lines = [line for line in seen.printed().splitlines() if "%" in line]
    assert lines, "the cell printed no accuracy"
    printed, decimals = _printed_percent(lines[-1])
    assert agrees(printed, decimals, accuracy), (
        f"printed {printed:g} %; recounted {correct} of {total}: {accuracy:.2f} %"
    )
    if cap(seen, "train") or cap(seen, "test"):
        seen.unchecked(
            f"the accuracy band {tutorial.ACCURACY_BAND} % on the 10,000 test images: "
            f"{FULL_PROTOCOL}; {capped_note(seen)} (here {accuracy:.2f} %)"
        )
        return
    assert total == FULL["test"], f"{total} test images, not 10,000"
    low, high = tutorial.ACCURACY_BAND
    assert low <= accuracy <= high, f"accuracy {accuracy:.2f} % not in {tutorial.ACCURACY_BAND}"
    assert accuracy > 4 * tutorial.CHANCE, f"accuracy {accuracy:.2f} % near chance"
    seen.note(f"accuracy {accuracy:.2f} % (the tutorial printed {tutorial.TUTORIAL_ACCURACY} %)")


@probe("C08", SCRIPT, looks_for="a per-class accuracy count over the test loader",
       find=find_per_class_accuracy)  # fmt: skip
def per_class_accuracy(seen: Seen, match: ast.For) -> None:
    torch = seen.torch
    classes = class_names(seen, match)
    assert len(classes) == 10, f"{len(classes)} classes"
    labels, predicted, size = recount(seen, match)
    assert len(labels) == size, f"the loop saw {len(labels)} of the loader's {size} images"
    totals = torch.bincount(labels, minlength=10)
    hits = torch.bincount(labels[predicted == labels], minlength=10)
    exact = {
        name: 100 * float(hits[k]) / float(totals[k]) if totals[k] else math.nan
        for k, name in enumerate(classes)
    }
    printed = {}
    for line in seen.printed().splitlines():
        named = [w for w in re.findall(r"[A-Za-z]+", line) if w in classes]
        if named and "%" in line:
            printed[named[0]] = _printed_percent(line)
    assert list(printed) == list(classes), (
        f"the cell printed accuracies for {list(printed)}, not for {list(classes)}"
    )
    wrong = [
        f"{name} printed {value:g} %, recounted {exact[name]:.2f} %"
        for name, (value, decimals) in printed.items()
        if not agrees(value, decimals, exact[name])
    ]
    assert not wrong, "; ".join(wrong)
    if cap(seen, "train") or cap(seen, "test"):
        seen.unchecked(f"the per-class bands: {FULL_PROTOCOL}; {capped_note(seen)}")
        return
    assert totals.tolist() == [FULL["test"] // 10] * 10, f"test images per class: {totals}"
    per_class = dict(zip(tutorial.TUTORIAL_CLASSES, exact.values()))
    overall = 100 * float(hits.sum()) / float(totals.sum())
    outside = tutorial.accuracies_outside_bands(overall, per_class)
    assert not outside, f"accuracy (%) outside its band: {'; '.join(outside)}"
    seen.note("per class (%): " + " ".join(f"{n} {v:.1f}" for n, v in exact.items()))


# ----------------------------------------------------------------------------------------------
# C09: save and reload


def _saves(seen: Seen) -> ast.Call | None:
    for call in seen.calls("torch.save"):
        if call.args and isinstance(call.args[0], ast.Call):
            if name_matches(dotted(call.args[0].func), ".state_dict") and len(call.args) > 1:
                return call
    return None


def _loads(seen: Seen) -> ast.Call | None:
    for call in method_calls(seen.tree, "load_state_dict") if seen.tree else ():
        if call.args and calls_under(call.args[0], "torch.load"):
            return call
    return None


def _predicts(seen: Seen) -> ast.Call | None:
    """``torch.max(outputs, 1)`` outside a loop, with a print of ``classes[predicted[j]]``."""
    loops = seen.nodes(ast.For)
    maxes = [
        c
        for c in seen.calls("torch.max")
        if not any(c in ast.walk(loop) for loop in loops) and bound_names(seen, c)
    ]
    return maxes[0] if maxes and seen.calls("print") else None


def find_save_and_reload(seen: Seen):
    """``torch.save(net.state_dict(), PATH)``; then ``net.load_state_dict(torch.load(PATH))``;
    then, once reloaded, the cell that prints the reloaded net's predictions."""
    if not seen.memory.get("saved"):
        return _saves(seen)
    if not seen.memory.get("loaded"):
        return _loads(seen)
    if not seen.memory.get("predicted"):
        return _predicts(seen)
    return None


@probe("C09", SCRIPT, looks_for="torch.save(net.state_dict(), PATH), then load_state_dict",
       find=find_save_and_reload, once=False)  # fmt: skip
def save_and_reload(seen: Seen, match: ast.Call) -> None:
    torch = seen.torch
    memory = seen.memory
    if not memory.get("saved"):
        net = seen.value(receiver(match.args[0]))
        assert pure(match.args[1]), f"blitz cannot re-read the path {dotted(match.args[1])}"
        path = evaluate(seen, match.args[1])
        memory.update(saved=copy_with_grads(net), path=str(path))
        state = torch.load(path, weights_only=True)
        assert list(state) == list(net.state_dict()), "the file holds other keys"
        for key, tensor in net.state_dict().items():
            assert torch.equal(state[key], tensor), f"the file's {key} differs from the net's"
        return
    saved = memory["saved"]
    if not memory.get("loaded"):
        name = receiver(match)
        net = seen.value(name)
        memory["loaded"] = name
        load = calls_under(match.args[0], "torch.load")[0]
        weights_only = keyword(load, "weights_only")
        if not (isinstance(weights_only, ast.Constant) and weights_only.value is True):
            seen.note(
                f"torch.load without weights_only=True: torch {torch.__version__} loads with "
                f"weights_only={'True' if _weights_only_default(torch) else 'False'} by default"
            )
        # The file loads with weights_only=True: tensors only, nothing unpickled.
        torch.load(memory["path"], weights_only=True)
        printed = seen.printed()
        assert "<All keys matched successfully>" in printed, (
            f"load_state_dict reported {printed.strip()!r}, not <All keys matched successfully>"
        )
        for (key, tensor), (_, expected) in zip(
            net.state_dict().items(), saved.state_dict().items()
        ):
            assert torch.equal(tensor, expected), f"the reloaded {key} differs from the saved one"
        images = image_batch(seen)
        if images is not None:
            with torch.no_grad():
                assert torch.equal(net(images), saved(images)), "other predictions after reload"
        return
    # The reloaded net's predictions, printed: the same as the saved net's.
    memory["predicted"] = True
    names = bound_names(seen, match)
    predicted = seen.value(names[-1])
    outputs = seen.value(dotted(match.args[0]))
    made = script_value(seen, dotted(match.args[0]))  # outputs = net(images)
    assert isinstance(made, ast.Call) and len(made.args) == 1 and pure(made.args[0]), (
        f"blitz cannot tell which images gave {dotted(match.args[0])}"
    )
    images = evaluate(seen, made.args[0])
    with torch.no_grad():
        reloaded, trained = seen.value(memory["loaded"])(images), saved(images)
    assert torch.equal(reloaded, trained), "the reloaded net predicts otherwise than the saved"
    assert torch.equal(outputs.detach(), reloaded), f"{dotted(match.args[0])} is not net(images)"
    assert torch.equal(predicted, torch.max(trained, 1)[1]), "other predicted classes"
    classes = class_names(seen, seen.tree)
    expected = [classes[int(k)] for k in predicted]
    lines = [w for w in words_of(seen.printed(), classes) if w]
    assert expected in lines, f"printed {lines}, not the predictions {expected}"


def _weights_only_default(torch) -> bool:
    from torch.torch_version import TorchVersion

    return TorchVersion(torch.__version__) >= "2.6"


# ----------------------------------------------------------------------------------------------
# C12: data parallelism over processes (DDP): not stated by the scripts


@probe("C12", SCRIPT, looks_for="a call of DistributedDataParallel",
       find=calls(".DistributedDataParallel", "DistributedDataParallel"))  # fmt: skip
def distributed_data_parallel(seen: Seen, match: ast.Call) -> None:
    torch = seen.torch
    name = bound_name(seen, match)
    assert name, "the cell binds its DistributedDataParallel to no name"
    model = seen.value(name)
    assert isinstance(model, torch.nn.parallel.DistributedDataParallel), type(model).__name__
    wrapped = [id(p) for p in model.module.parameters()]
    assert [id(p) for p in model.parameters()] == wrapped, "the wrapper's parameters differ"


# ----------------------------------------------------------------------------------------------
# C13 (2026 revision): the v2 transform


def find_v2_transform(seen: Seen):
    found = seen.calls(".ToImage")
    if not found:
        return None
    composed = [c for c in seen.calls(".Compose") if calls_under(c, ".ToImage")]
    return composed[0] if composed else found[0]


# One float32 ulp of 1.0: ToTensor divides by 255 where ToDtype(scale=True) multiplies by 1/255,
# so a value in [0, 1] may land on the neighbouring float32; Normalize's exact (x - 0.5) / 0.5
# doubles that distance, which stays within one ulp of 1.0.
ONE_ULP_OF_ONE = 2.0**-23


@probe("C13", SCRIPT, looks_for="a v2 transform (v2.ToImage, torchvision.transforms.v2)",
       find=find_v2_transform)  # fmt: skip
def v2_transform_maps_like_v1(seen: Seen, match: ast.Call) -> None:
    torch = seen.torch
    from torchvision import transforms

    name = bound_name(seen, match)
    assert name, "the cell binds its v2 transform to no name"
    transform = seen.value(name)
    steps = list(getattr(transform, "transforms", [transform]))
    normalize = [t for t in steps if type(t).__name__ == "Normalize"]
    assert normalize, f"the v2 transform has no Normalize: {transform}"
    mean, std = tuple(normalize[0].mean), tuple(normalize[0].std)
    assert mean == (0.5,) * 3 and std == (0.5,) * 3, f"Normalize({mean}, {std})"
    image, raw = every_pixel_value()
    v1 = transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean, std)])(image)
    v2 = transform(image).as_subclass(torch.Tensor)
    assert v2.dtype == torch.float32 and v2.shape == v1.shape, (v2.dtype, tuple(v2.shape))
    assert v2.min() == -1 and v2.max() == 1, f"the range is [{v2.min()}, {v2.max()}]"
    # within one float32 ulp of 1.0 of v1's (see ONE_ULP_OF_ONE), not necessarily bit for bit
    torch.testing.assert_close(v2, v1, rtol=0, atol=ONE_ULP_OF_ONE)
    table = {}
    for value, a, b in zip(raw.flatten().tolist(), v1.flatten(), v2.flatten()):
        table[value] = bool(a != b)
    differ = sum(table.values())
    if differ:
        seen.note(
            f"v2 equals v1 within one float32 ulp of 1.0, not bit for bit: {differ} of the 256 "
            f"pixel values ({differ / 256:.0%}) map to a neighbouring float32"
        )
    else:
        seen.note("v2 equals v1 bit for bit on all 256 pixel values")
