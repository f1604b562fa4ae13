"""The claims of cifar10_tutorial.py on training and testing (see ``probes.base``): C05 (the
3-channel Net), C06 (the training loop: the loss falls), C07 and C08 (the test accuracy, overall
and per class, far above chance).

The tutorial's protocol is two epochs over the 50,000 training images: a quick run (a capped
copy, ``probes.cifar10_data.cap``) checks the loop and the counts, and leaves the loss against
the tutorial's printed trajectory and the accuracy bands not checked (partial). A full run
checks them against the same tolerances as the catalogue's tests (``blitz.tutorial``:
``TRAJECTORY_ATOL``, ``ACCURACY_BAND``, ``per_class_bands``). The accuracy is recounted with the
script's own loaders and net (``recount``).
"""

from __future__ import annotations

import ast
import math
import re
from typing import Any

from blitz import tutorial
from blitz.tutorial_source.probes import compare, syntax
from blitz.tutorial_source.probes.base import Seen, dotted, probe
from blitz.tutorial_source.probes.cifar10_data import (
    FULL,
    FULL_PROTOCOL,
    cap,
    capped_note,
    class_names,
    image_batch,
)

SCRIPT = "cifar10"
# The running loss the tutorial prints, in both of its formats ('[%d, %5d] loss: %.3f' and the
# f-string that followed).
CHECKPOINT = re.compile(r"\[\s*(\d+),\s*(\d+)\]\s*loss:\s*(-?\d+(?:\.\d+)?|nan|inf)")


# ----------------------------------------------------------------------------------------------
# C05: the 3-channel Net


def find_three_channel_net(seen: Seen):
    for cls in seen.nodes(ast.ClassDef):
        convs = syntax.calls_under(cls, ".Conv2d")
        first = convs[0] if convs else None
        if first is None or not first.args or not isinstance(first.args[0], ast.Constant):
            continue
        if first.args[0].value != 3:
            continue
        for call in seen.calls(cls.name):
            if syntax.bound_name(seen, call):
                return call
    return None


@probe("C05", SCRIPT, looks_for="a class whose first nn.Conv2d takes 3 channels, instantiated",
       find=find_three_channel_net)  # fmt: skip
def three_channel_net(seen: Seen, match: ast.Call) -> None:
    """The 3-channel Net has the tutorial's 62,006 parameters, takes three channels, and gives
    ten scores an image for a batch of any size."""
    torch = seen.torch
    net = seen.value(syntax.bound_name(seen, match))
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
        if syntax.method_calls(loop, "backward") and syntax.method_calls(loop, "step")
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
    steps = syntax.method_calls(outer, "step")
    parts["optimizer"] = syntax.receiver(steps[0]) if steps else None
    backward = syntax.method_calls(outer, "backward")
    loss = syntax.receiver(backward[0]) if backward else None
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
    """The training loop (SGD, lr 0.001, momentum 0.9, cross entropy) runs over every batch and
    prints the running loss where the tutorial does; on the full protocol it falls, near the
    tutorial's."""
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
        compare.assert_close(
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
        if not syntax.calls_under(loop, "torch.max") or syntax.method_calls(loop, "backward"):
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
    with torch.no_grad():
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
    """The printed test accuracy is the count recounted with the script's own loader and net; on
    the full protocol it lies in the tutorial's band, far above chance."""
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
    """The printed accuracy of each class is the count recounted with the script's own loader
    and net; on the full protocol each lies in its band."""
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
