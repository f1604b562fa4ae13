"""The claims of cifar10_tutorial.py on saving the net (see ``probes.base``): C09 (``torch.save``
of its ``state_dict`` and ``load_state_dict`` give back the same net and predictions), and C12
(data parallelism over processes, ``DistributedDataParallel``): not stated by the scripts, its
finder keeps it absent until one does.
"""

from __future__ import annotations

import ast

from blitz.tutorial_source.probes import objects, syntax
from blitz.tutorial_source.probes.base import Seen, calls, dotted, name_matches, probe
from blitz.tutorial_source.probes.cifar10_data import class_names, image_batch, words_of

SCRIPT = "cifar10"

# ----------------------------------------------------------------------------------------------
# C09: save and reload


def _saves(seen: Seen) -> ast.Call | None:
    for call in seen.calls("torch.save"):
        if call.args and isinstance(call.args[0], ast.Call):
            if name_matches(dotted(call.args[0].func), ".state_dict") and len(call.args) > 1:
                return call
    return None


def _loads(seen: Seen) -> ast.Call | None:
    for call in syntax.method_calls(seen.tree, "load_state_dict") if seen.tree else ():
        if call.args and syntax.calls_under(call.args[0], "torch.load"):
            return call
    return None


def _predicts(seen: Seen) -> ast.Call | None:
    """``torch.max(outputs, 1)`` outside a loop, with a print of ``classes[predicted[j]]``."""
    loops = seen.nodes(ast.For)
    maxes = [
        c
        for c in seen.calls("torch.max")
        if not any(c in ast.walk(loop) for loop in loops) and syntax.bound_names(seen, c)
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
    """``torch.save`` writes the net's ``state_dict`` (tensors only); ``load_state_dict`` gives
    back the same weights, and the reloaded net predicts what the saved one did."""
    torch = seen.torch
    memory = seen.memory
    if not memory.get("saved"):
        net = seen.value(syntax.receiver(match.args[0]))
        assert syntax.pure(match.args[1]), f"blitz cannot re-read the path {dotted(match.args[1])}"
        path = syntax.evaluate(seen, match.args[1])
        memory.update(saved=objects.copy_with_grads(net), path=str(path))
        state = torch.load(path, weights_only=True)
        assert list(state) == list(net.state_dict()), "the file holds other keys"
        for key, tensor in net.state_dict().items():
            assert torch.equal(state[key], tensor), f"the file's {key} differs from the net's"
        return
    saved = memory["saved"]
    if not memory.get("loaded"):
        name = syntax.receiver(match)
        net = seen.value(name)
        memory["loaded"] = name
        load = syntax.calls_under(match.args[0], "torch.load")[0]
        weights_only = syntax.keyword(load, "weights_only")
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
    names = syntax.bound_names(seen, match)
    predicted = seen.value(names[-1])
    outputs = seen.value(dotted(match.args[0]))
    made = syntax.script_value(seen, dotted(match.args[0]))  # outputs = net(images)
    assert isinstance(made, ast.Call) and len(made.args) == 1 and syntax.pure(made.args[0]), (
        f"blitz cannot tell which images gave {dotted(match.args[0])}"
    )
    images = syntax.evaluate(seen, made.args[0])
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
    """A ``DistributedDataParallel`` wraps the model: the wrapper's parameters are the model's
    own (no revision states it yet)."""
    torch = seen.torch
    name = syntax.bound_name(seen, match)
    assert name, "the cell binds its DistributedDataParallel to no name"
    model = seen.value(name)
    assert isinstance(model, torch.nn.parallel.DistributedDataParallel), type(model).__name__
    wrapped = [id(p) for p in model.module.parameters()]
    assert [id(p) for p in model.parameters()] == wrapped, "the wrapper's parameters differ"
