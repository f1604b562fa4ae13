"""The claims of tensor_tutorial.py on tensors and NumPy (see ``probes.base``): T02
(``torch.from_numpy`` makes a tensor of an array, of the dtypes this torch takes), T15 (``n =
t.numpy()`` shares the tensor's memory: a change of one shows in the other), T16 (an in-place
change of an array given to ``torch.from_numpy`` shows in the tensor).
"""

from __future__ import annotations

import ast

from blitz.tutorial_source.probes import compare, printed_map, syntax
from blitz.tutorial_source.probes.base import Seen, dotted, probe

SCRIPT = "tensor"

# ----------------------------------------------------------------------------------------------
# T02: torch.from_numpy makes a tensor of a NumPy array

NUMPY_TO_TORCH = {
    "bool": "bool", "uint8": "uint8", "int8": "int8", "int16": "int16", "int32": "int32",
    "int64": "int64", "float16": "float16", "float32": "float32", "float64": "float64",
    "complex64": "complex64", "complex128": "complex128", "uint16": "uint16",
    "uint32": "uint32", "uint64": "uint64",
}  # fmt: skip


def from_numpy_dtypes() -> list[str]:
    """The NumPy dtypes this torch's ``from_numpy`` takes."""
    import numpy as np
    import torch

    ok = []
    for name in NUMPY_TO_TORCH:
        try:
            torch.from_numpy(np.zeros(1, dtype=name))
        except TypeError:
            continue
        ok.append(name)
    return ok


@probe("T02", SCRIPT, looks_for="a call of torch.from_numpy assigned to a name",
       find=syntax.calls_here("torch.from_numpy"))  # fmt: skip
def from_numpy_makes_a_tensor(seen: Seen, match: ast.Call) -> None:
    """``torch.from_numpy`` makes a tensor of the array: its values, shape and the matching
    dtype (the note lists the NumPy dtypes this torch takes)."""
    import numpy as np
    import torch

    name, made = syntax.bound_by(seen, match, "torch.from_numpy(...)")
    assert match.args, f"line {seen.line(match)}: torch.from_numpy without an array"
    array = syntax.evaluate(seen, match.args[0])
    assert isinstance(array, np.ndarray), f"torch.from_numpy was given a {type(array).__name__}"
    assert isinstance(made, torch.Tensor), f"{name} is a {type(made).__name__}, not a tensor"
    wanted = NUMPY_TO_TORCH.get(array.dtype.name)
    assert made.dtype == getattr(torch, wanted or "", None), (
        f"from_numpy of a NumPy {array.dtype} array gave dtype {made.dtype}"
    )
    assert tuple(made.shape) == array.shape, f"{name} has shape {tuple(made.shape)}"
    assert np.array_equal(compare.host(made), array), f"{name} holds {made.tolist()}, not the array"
    seen.note(
        f"NumPy {array.dtype} gives {made.dtype}; from_numpy takes "
        f"{', '.join(from_numpy_dtypes())} on this torch"
    )
    token = printed_map.printed_token(seen, printed_map.reads(name), name, after=match)
    if token is not None:
        compare.assert_printed(token, made, name)


# ----------------------------------------------------------------------------------------------
# T15, T16: a CPU tensor and its NumPy array share memory


def shares(tensor, array) -> bool:
    import numpy as np

    return np.shares_memory(tensor.detach().numpy(), array)


def find_to_numpy(seen: Seen) -> ast.AST | None:
    """``n = t.numpy()``; then, once blitz saw it, the cell that changes ``t`` in place."""
    if seen.memory.get("done"):
        return None
    pair = seen.memory.get("pair")
    if pair is not None:
        changed = [c for c in syntax.in_place_calls(seen) if c.func.value.id == pair[0]]
        changed += [
            a for a in syntax.here(seen, seen.nodes(ast.AugAssign))
            if isinstance(a.target, ast.Name) and a.target.id == pair[0]
        ]  # fmt: skip
        return min(changed, key=lambda n: n.lineno) if changed else None
    for call in syntax.here(seen, seen.nodes(ast.Call)):
        if isinstance(call.func, ast.Attribute) and call.func.attr == "numpy" and not call.args:
            if isinstance(call.func.value, ast.Name) and syntax.bound_name(seen, call):
                return call
    return None


@probe("T15", SCRIPT, looks_for="n = t.numpy() (then an in-place change of t)",
       find=find_to_numpy, once=False)  # fmt: skip
def numpy_shares_memory(seen: Seen, match: ast.Call) -> None:
    """``n = t.numpy()`` shares ``t``'s memory; once blitz saw it, an in-place change of ``t``
    in a later cell shows in ``n``, and the output shows both."""
    import torch

    if isinstance(match, ast.Call) and match.func.attr == "numpy":
        tensor_name, array_name = match.func.value.id, syntax.bound_name(seen, match)
        tensor, array = seen.value(tensor_name), seen.value(array_name)
        assert tensor.device.type == "cpu", f"{tensor_name} is on {tensor.device}"
        assert shares(tensor, array), f"{array_name} does not share {tensor_name}'s memory"
        assert tensor.tolist() == array.tolist(), f"{array_name} differs from {tensor_name}"
        for name, value in ((tensor_name, tensor), (array_name, array)):
            token = printed_map.printed_token(seen, printed_map.reads(name), name)
            if token is not None:
                compare.assert_printed(token, value, name)
        seen.memory["pair"] = (tensor_name, array_name, tensor.detach().clone())
        seen.note(f"{array_name} = {tensor_name}.numpy() shares its memory")
        return
    tensor_name, array_name, was = seen.memory["pair"]
    seen.memory["done"] = True
    tensor, array = seen.value(tensor_name), seen.value(array_name)
    assert shares(tensor, array), f"{array_name} no longer shares {tensor_name}'s memory"
    assert not torch.equal(tensor, was), f"{ast.unparse(match)} did not change {tensor_name}"
    assert tensor.tolist() == array.tolist(), (
        f"{ast.unparse(match)} changed {tensor_name} to {tensor.tolist()}, but {array_name} "
        f"holds {array.tolist()}"
    )
    shown = {}
    for name, value in ((tensor_name, tensor), (array_name, array)):
        token = printed_map.printed_token(seen, printed_map.reads(name), name, after=match)
        if token is not None:
            compare.assert_printed(token, value, name)
            shown[name] = token
    if array_name in shown:
        # The golden: the change shows in the array ([2. 2. 2. 2. 2.] after ones(5).add_(1)).
        assert compare.printed_tensor(shown[array_name]).tolist() == tensor.double().tolist(), (
            f"the output shows {array_name} as {shown[array_name].text}, not {tensor.tolist()}"
        )
    seen.note(f"{ast.unparse(match)} shows in {array_name}: {array.tolist()}")


NUMPY_IN_PLACE_OPS = ("add", "subtract", "multiply", "divide", "copyto", "negative", "square")


def numpy_changes(seen: Seen) -> list[tuple[ast.AST, str]]:
    """In-place changes of a NumPy array: ``np.add(n, 1, out=n)``, ``np.copyto(n, ...)``,
    ``n += 1``."""
    found = []
    for call in seen.nodes(ast.Call):
        head, _, op = dotted(call.func).rpartition(".")
        if head in ("np", "numpy") and op in NUMPY_IN_PLACE_OPS:
            out = syntax.keyword(call, "out")
            if isinstance(out, ast.Name):
                found.append((call, out.id))
            elif op == "copyto" and call.args and isinstance(call.args[0], ast.Name):
                found.append((call, call.args[0].id))
    for node in seen.nodes(ast.AugAssign):
        if isinstance(node.target, ast.Name):
            found.append((node, node.target.id))
    return found


def find_numpy_change(seen: Seen) -> ast.AST | None:
    """A change of an array that ``torch.from_numpy`` was given (in this cell or before)."""
    shared = {
        c.args[0].id
        for c in syntax.script_nodes(seen, ast.Call, seen.lineno) + seen.nodes(ast.Call)
        if dotted(c.func) == "torch.from_numpy" and c.args and isinstance(c.args[0], ast.Name)
    }
    for node, name in numpy_changes(seen):
        if name in shared and syntax.here(seen, [node]):
            return node
    return None


@probe("T16", SCRIPT, looks_for="an in-place change (np.add(n, 1, out=n)) of an array given to "
       "torch.from_numpy", find=find_numpy_change)  # fmt: skip
def from_numpy_shares_memory(seen: Seen, match: ast.AST) -> None:
    """An in-place change of an array given to ``torch.from_numpy`` shows in the tensor, which
    still shares its memory, with the matching dtype."""
    import torch

    array_name = dict((id(n), name) for n, name in numpy_changes(seen))[id(match)]
    array = seen.value(array_name)
    # the tensors torch.from_numpy made of it (in this cell or before), as they are now
    made_by = [
        c for c in syntax.script_nodes(seen, ast.Call, seen.lineno) + seen.nodes(ast.Call)
        if dotted(c.func) == "torch.from_numpy" and c.args
        and isinstance(c.args[0], ast.Name) and c.args[0].id == array_name
    ]  # fmt: skip
    assigns = syntax.script_nodes(seen, ast.Assign, seen.lineno) + seen.nodes(ast.Assign)
    names = [
        a.targets[0].id for a in assigns
        if isinstance(a.targets[0], ast.Name) and any(a.value is c for c in made_by)
    ]  # fmt: skip
    tensors = [
        n for n in dict.fromkeys(reversed(names))
        if isinstance((seen.namespace or {}).get(n), torch.Tensor)
        and seen.namespace[n].device.type == "cpu" and shares(seen.namespace[n], array)
    ]  # fmt: skip
    assert tensors, f"no tensor from torch.from_numpy({array_name}) shares its memory now"
    tensor_name = tensors[0]
    tensor = seen.value(tensor_name)
    assert tensor.tolist() == array.tolist(), (
        f"{ast.unparse(match)} changed {array_name} to {array.tolist()}, but {tensor_name} "
        f"holds {tensor.tolist()}"
    )
    wanted = getattr(torch, NUMPY_TO_TORCH.get(array.dtype.name, ""), None)
    assert tensor.dtype == wanted, (
        f"{tensor_name} has dtype {tensor.dtype}, {array_name} {array.dtype}"
    )
    for name, value in ((tensor_name, tensor), (array_name, array)):
        token = printed_map.printed_token(seen, printed_map.reads(name), name, after=match)
        if token is not None:
            compare.assert_printed(token, value, name)
    seen.note(f"{ast.unparse(match)} shows in {tensor_name}: {tensor}")
