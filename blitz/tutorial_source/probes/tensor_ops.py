"""The claims of tensor_tutorial.py on operations (see ``probes.base``): T09 (indexing and
slicing as in NumPy), T10 (``torch.cat`` joins along a dimension, ``torch.stack`` adds one),
T11 and T12 (``mul`` and ``*``, ``matmul`` and ``@``), T13 (a ``_`` suffix is in place), T14
(in-place operations lose history: the text only).

The operations are computed again, on copies, against NumPy's: the cell's own expressions
(``syntax.evaluate``, which only computes), never the script's tensors changed.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

from blitz.tutorial_source.probes import compare, printed_map, syntax
from blitz.tutorial_source.probes.base import Seen, dotted, probe

SCRIPT = "tensor"

# ----------------------------------------------------------------------------------------------
# T09: NumPy-like indexing and slicing


def _sliced(node: ast.AST) -> bool:
    return isinstance(node, ast.Subscript) and any(
        isinstance(part, ast.Slice) for part in ast.walk(node.slice)
    )


def sliced(seen: Seen, index: ast.expr, array: Any, value: Any = None) -> Any:
    """``array[index]`` (the cell's index, its names read from the namespace), or, given a
    value, the array after ``array[index] = value``."""
    scope = dict(seen.namespace or {})
    scope.update({"__array__": array, "__value__": value})
    subscript = ast.Subscript(ast.Name("__array__", ast.Load()), index, ast.Load())
    if value is None:
        return eval(compile(ast.unparse(subscript), "<probe>", "eval"), {}, scope)
    exec(compile(f"{ast.unparse(subscript)} = __value__", "<probe>", "exec"), {}, scope)
    return array


def find_slicing(seen: Seen) -> ast.AST | None:
    """An assignment to a slice (``t[:, 1] = 0``), or a printed slice (``print(x[:, 1])``)."""
    for node in syntax.here(seen, seen.nodes(ast.Assign)):
        if len(node.targets) == 1 and _sliced(node.targets[0]):
            if isinstance(node.targets[0].value, ast.Name):
                return node
    for call in syntax.here(seen, seen.calls("print")):
        for arg in printed_map.print_args(call):
            if _sliced(arg) and isinstance(arg.value, ast.Name):
                return arg
    return None


DETERMINISTIC = ("torch.ones", "torch.zeros", "torch.full", "torch.eye", "torch.arange",
                 "torch.tensor")  # fmt: skip


@probe("T09", SCRIPT, looks_for="an assignment to a slice of a tensor (t[:, 1] = 0), or a printed "
       "slice", find=find_slicing)  # fmt: skip
def numpy_like_slicing(seen: Seen, match: ast.AST) -> None:
    """Indexing and slicing as in NumPy: the same assignment to a slice on the same start gives
    NumPy's numbers; a printed slice is NumPy's slice of the array."""
    import numpy as np
    import torch

    if isinstance(match, ast.Assign):
        target = match.targets[0]
        name = target.value.id
        made = seen.value(name)
        assert isinstance(made, torch.Tensor), f"{name} is a {type(made).__name__}"
        index = ast.unparse(target.slice).removeprefix("(").removesuffix(")")
        value = syntax.evaluate(seen, match.value)
        # NumPy, given the same start and the same assignment, must hold the same numbers.
        start = [
            a for a in seen.assigned(name)
            if isinstance(a, ast.Assign) and a.lineno < match.lineno
            and isinstance(a.value, ast.Call) and dotted(a.value.func) in DETERMINISTIC
        ]  # fmt: skip
        if start:
            array = compare.host(syntax.evaluate(seen, start[-1].value)).copy()
            sliced(seen, target.slice, array, np.asarray(value))
            assert np.array_equal(compare.host(made), array), (
                f"{name}[{index}] = {ast.unparse(match.value)} after "
                f"{ast.unparse(start[-1].value)} gives {made.tolist()}; NumPy gives "
                f"{array.tolist()}"
            )
            seen.note(f"{ast.unparse(start[-1].value)}; {name}[{index}] = "
                      f"{ast.unparse(match.value)} as in NumPy")  # fmt: skip
        else:
            region = sliced(seen, target.slice, compare.host(made))
            assert np.array_equal(region, np.broadcast_to(value, region.shape)), (
                f"{name}[{index}] holds {region.tolist()} after it was set to {value}"
            )
            seen.unchecked(f"the rest of {name}: it was not made in the cell from known values")
        token = printed_map.printed_token(seen, printed_map.reads(name), name)
        if token is not None:
            compare.assert_printed(token, made, name)
        return
    # the printed slice of a tensor: the same numbers as NumPy's slice of its array
    name = match.value.id
    made = seen.value(name)
    index = ast.unparse(match.slice).removeprefix("(").removesuffix(")")
    region = sliced(seen, match.slice, compare.host(made))
    token = printed_map.printed_token(seen, lambda node: node is match, ast.unparse(match))
    if token is None:
        seen.unchecked(f"the printed {ast.unparse(match)}")
        return
    compare.assert_printed(token, torch.from_numpy(np.array(region)), ast.unparse(match))
    seen.note(f"{name}[{index}] as in NumPy")


# ----------------------------------------------------------------------------------------------
# T10: torch.cat joins along a given dimension; torch.stack adds one


@probe("T10", SCRIPT, looks_for="a call of torch.cat",
       find=syntax.calls_here("torch.cat", "torch.concat"))  # fmt: skip
def cat_joins(seen: Seen, match: ast.Call) -> None:
    """``torch.cat`` joins along the given dimension as NumPy's ``concatenate`` does;
    ``torch.stack`` of the same parts adds a dimension instead."""
    import numpy as np
    import torch

    name, made = syntax.bound_by(seen, match, "torch.cat(...)")
    parts = syntax.evaluate(seen, match.args[0])
    dim_node = syntax.argument(match, 1, "dim")
    dim = syntax.evaluate(seen, dim_node) if dim_node is not None else 0
    expected = np.concatenate([compare.host(p) for p in parts], axis=dim)
    assert tuple(made.shape) == expected.shape, (
        f"cat of {[tuple(p.shape) for p in parts]} on dim={dim} has shape "
        f"{tuple(made.shape)}, not {expected.shape}"
    )
    assert np.array_equal(compare.host(made), expected), f"{name} differs from NumPy's concatenate"
    token = printed_map.printed_token(seen, printed_map.reads(name), name, after=match)
    if token is not None:
        compare.assert_printed(token, made, name)
    # "torch.stack ... is subtly different": it adds a dimension where cat joins along one.
    if all(p.shape == parts[0].shape for p in parts):
        stacked = torch.stack(list(parts), dim=dim)
        wanted = list(parts[0].shape)
        wanted.insert(dim if dim >= 0 else len(wanted) + 1 + dim, len(parts))
        assert list(stacked.shape) == wanted, f"stack gives {tuple(stacked.shape)}, not {wanted}"
        seen.note(f"cat on dim={dim}: {tuple(made.shape)}; stack: {tuple(stacked.shape)}")


# ----------------------------------------------------------------------------------------------
# T11, T12: mul and * are the elementwise product; matmul and @ the matrix product


def _binop(op: type) -> Callable[[ast.AST], bool]:
    def test(node: ast.AST) -> bool:
        return (
            isinstance(node, ast.BinOp) and isinstance(node.op, op)
            and not isinstance(node.left, ast.Constant) and not isinstance(node.right, ast.Constant)
        )  # fmt: skip

    return test


def _method(name: str) -> Callable[[ast.AST], bool]:
    """``t.name(...)`` or ``torch.name(...)``."""

    def test(node: ast.AST) -> bool:
        if not isinstance(node, ast.Call):
            return False
        callee = dotted(node.func)
        if callee == f"torch.{name}":
            return True
        return (
            isinstance(node.func, ast.Attribute)
            and node.func.attr == name
            and (callee.split(".", 1)[0] not in ("np", "numpy", "torch"))
        )

    return test


def find_both(method: str, op: type) -> Callable[[Seen], ast.AST | None]:
    """A cell that computes a product both as ``.method(...)`` and with the operator."""

    def find(seen: Seen) -> ast.AST | None:
        called = [n for n in syntax.here(seen, seen.nodes(ast.Call)) if _method(method)(n)]
        operated = [n for n in syntax.here(seen, seen.nodes(ast.BinOp)) if _binop(op)(n)]
        return called[0] if called and operated else None

    return find


def check_product(seen: Seen, method: str, op: type, numpy_op: Callable, what: str) -> None:
    import numpy as np
    import torch

    found = [
        n for n in syntax.here(seen, seen.nodes((ast.Call, ast.BinOp)))
        if _method(method)(n) or _binop(op)(n)
    ]  # fmt: skip
    results = []
    for node in found:
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and dotted(node.func) != f"torch.{method}":
                operands = [node.func.value, node.args[0]]
            else:
                operands = node.args[:2]
        else:
            operands = [node.left, node.right]
        left, right = (syntax.evaluate(seen, o) for o in operands)
        value = syntax.evaluate(seen, node)
        expected = numpy_op(compare.host(left), compare.host(right))
        text = ast.unparse(node)
        assert isinstance(value, torch.Tensor), f"{text} is a {type(value).__name__}"
        # NumPy's float32 kernels may sum in another order: the defaults, not bit for bit
        compare.assert_close(
            value.detach().cpu(), torch.from_numpy(np.asarray(expected)).to(value.dtype),
            what=f"{text} is not {what} (NumPy's)",
        )  # fmt: skip
        token = printed_map.printed_token(seen, lambda n, node=node: n is node, text)
        if token is not None:
            compare.assert_printed(token, value, text)
        results.append((text, value))
    first_text, first = results[0]
    for text, value in results[1:]:
        assert torch.equal(value, first), f"{text} differs from {first_text}"
    seen.note(" == ".join(text for text, _ in results))


@probe("T11", SCRIPT, looks_for="a product both as .mul(...) and with *",
       find=find_both("mul", ast.Mult))  # fmt: skip
def mul_is_elementwise(seen: Seen, match: ast.AST) -> None:
    """``a.mul(b)`` and ``a * b`` are the elementwise product, NumPy's, equal to each other, as
    the output shows them."""
    import numpy as np

    check_product(seen, "mul", ast.Mult, np.multiply, "the elementwise product")


@probe("T12", SCRIPT, looks_for="a product both as .matmul(...) and with @",
       find=find_both("matmul", ast.MatMult))  # fmt: skip
def matmul_is_matrix_product(seen: Seen, match: ast.AST) -> None:
    """``a.matmul(b)`` and ``a @ b`` are the matrix product, NumPy's, equal to each other, as
    the output shows them."""
    import numpy as np

    check_product(seen, "matmul", ast.MatMult, np.matmul, "the matrix product")


# ----------------------------------------------------------------------------------------------
# T13: ops with a _ suffix are in-place


@probe("T13", SCRIPT, looks_for="a tensor method with a _ suffix (t.add_(5))",
       find=lambda seen: (syntax.in_place_calls(seen) or [None])[0])  # fmt: skip
def underscore_is_in_place(seen: Seen, match: ast.Call) -> None:
    """A method with a ``_`` suffix changes its tensor in place, to what the method without it
    gives (run again on a copy); the output shows the change."""
    import torch

    name = match.func.value.id
    method = match.func.attr
    made = seen.value(name)
    assert isinstance(made, torch.Tensor), f"{name} is a {type(made).__name__}"
    args = [syntax.evaluate(seen, a) for a in match.args]
    # The tutorial's own op, again, on a copy: it returns the tensor itself, in its storage,
    # holding what the out-of-place op gives.
    copy = made.detach().clone()
    out_of_place = getattr(copy, method[:-1])(*args) if hasattr(copy, method[:-1]) else None
    pointer = copy.data_ptr()
    returned = getattr(copy, method)(*args)
    assert returned is copy, f"{name}.{method}(...) returns a new tensor, not {name} itself"
    assert copy.data_ptr() == pointer, f"{name}.{method}(...) moved {name} to new storage"
    if out_of_place is not None:
        assert torch.equal(copy, out_of_place), (
            f"{name}.{method}(...) leaves {copy.tolist()}, {method[:-1]} gives "
            f"{out_of_place.tolist()}"
        )
    # copy_ and t_, which the text names, change their tensor too.
    x, y = torch.zeros(2, 2), torch.arange(4.0).reshape(2, 2)
    assert x.copy_(y) is x and torch.equal(x, y), "x.copy_(y) did not change x"
    assert x.t_() is x and torch.equal(x, y.t()), "x.t_() did not transpose x"
    # What the cell printed: before and after, the change of the tensor itself.
    shown = [
        i for i in printed_map.printed(seen).printing(printed_map.reads(name)) if i.kind == "tensor"
    ]
    before = [i for i in shown if i.node.lineno < match.lineno]
    after = [i for i in shown if i.node.lineno > match.lineno]
    if after and after[-1].token is not None:
        compare.assert_printed(after[-1].token, made, f"{name} after {method}")
    if before and after and before[-1].token is not None and after[-1].token is not None:
        was, now = compare.printed_tensor(before[-1].token), compare.printed_tensor(after[-1].token)
        assert not torch.equal(was, now), f"the output shows {name} unchanged by {method}"
        if was.dtype != torch.bool and bool((was == was.round()).all()):
            # whole numbers print exactly: the op on what was printed gives what is printed
            expected = getattr(was.to(made.dtype), method)(*args)
            compare.assert_printed(after[-1].token, expected, f"{name} after {name}.{method}(...)")
    elif shown and all(i.token is None for i in shown):
        seen.unchecked(f"the printed {name}: not told apart in the output")
    seen.note(f"{name}.{method}({', '.join(ast.unparse(a) for a in match.args)}) in place")
