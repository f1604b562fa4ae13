"""The claims of autograd_tutorial.py on ``backward`` given a gradient (see ``probes.base``):
A04 (a vector output needs one: without it ``backward`` raises, and ``.sum().backward()`` is
``gradient=ones``), A05 (it computes the vector-Jacobian product ``J^T v``); A06 and A07 are
stated in the text only.

Where a check needs the script's computation again (a fresh graph for ``Q.backward()`` without
a gradient, the Jacobian), it runs the script's own statements that made the tensor on fresh
copies of their leaves (``rebuild``), never the script's tensors: the script's ``.grad`` and
graph stay as they were.
"""

from __future__ import annotations

import ast
from typing import Any

from blitz.tutorial_source.probes import compare, printed_map, syntax
from blitz.tutorial_source.probes.autograd_graph import grad_leaf, leaves_of
from blitz.tutorial_source.probes.base import Seen, probe

SCRIPT = "autograd"

# ----------------------------------------------------------------------------------------------
# Running the script's statements again, on fresh leaves

REBUILD_NODES = (
    ast.Assign, ast.AugAssign, ast.While, ast.For, ast.If, ast.Break, ast.Continue, ast.Pass,
    ast.Name, ast.Load, ast.Store, ast.Attribute, ast.Constant, ast.BinOp, ast.UnaryOp,
    ast.Compare, ast.BoolOp, ast.Subscript, ast.Slice, ast.Tuple, ast.List, ast.keyword,
    ast.Call, ast.operator, ast.unaryop, ast.cmpop, ast.boolop,
)  # fmt: skip
REBUILD_CALLS = syntax.SAFE_CALLS | {"range", "len"}


class Rebuilt:
    """The statements of the script that made ``name`` (before a line), and a way to run them
    again on other values of the leaves they read."""

    def __init__(self, seen: Seen, name: str, statements: list[ast.stmt], leaves: list[str]):
        self.seen = seen
        self.name = name
        self.statements = statements
        self.leaves = leaves  # names of leaf tensors requiring grad that the statements read
        self.code = compile(ast.Module(body=statements, type_ignores=[]), "<rebuild>", "exec")

    def fresh(self) -> dict[str, Any]:
        """New leaves: copies of the script's, requiring grad, with no grad."""
        return {
            n: self.seen.namespace[n].detach().clone().requires_grad_(True) for n in self.leaves
        }

    def __call__(self, leaves: dict[str, Any]) -> Any:
        scope = dict(self.seen.namespace or {})
        scope.update(leaves)
        builtins = {"len": len, "range": range, "abs": abs, "min": min, "max": max}
        exec(self.code, {"__builtins__": builtins}, scope)
        return scope[self.name]


def _binds(stmt: ast.stmt, name: str) -> bool:
    for node in ast.walk(stmt):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.For)):
            targets = [node.target]
        if any(name in syntax.names_in(t) for t in targets):
            return True
    return False


def _fresh_binding(stmt: ast.stmt, name: str) -> bool:
    """``name = <expression not reading name>``."""
    return (
        isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
        and isinstance(stmt.targets[0], ast.Name) and stmt.targets[0].id == name
        and name not in syntax.names_in(stmt.value)
    )  # fmt: skip


def rebuild(seen: Seen, name: str, before: int) -> Rebuilt | None:
    """The script's statements that made ``name`` before file line ``before``: from its last
    fresh assignment to the last statement that binds it; None where they do anything but
    compute (a call blitz will not repeat: a draw from the generator, a print, I/O)."""
    tree = syntax.script_tree(seen)
    if tree is None or seen.namespace is None:
        return None
    body = [s for s in tree.body if s.end_lineno is not None and s.end_lineno < before]
    binding = [i for i, s in enumerate(body) if _binds(s, name)]
    fresh = [i for i in binding if _fresh_binding(body[i], name)]
    if not fresh:
        return None
    statements = [body[i] for i in binding if i >= fresh[-1]]
    for stmt in statements:
        for node in ast.walk(stmt):
            if not isinstance(node, REBUILD_NODES):
                return None
            if isinstance(node, ast.Call) and syntax.last_name(node.func) not in REBUILD_CALLS:
                return None
    read = [n for s in statements for n in syntax.names_in(s) if n != name]
    leaves = [n for n in dict.fromkeys(read) if grad_leaf(seen.namespace.get(n))]
    if not leaves:
        return None
    return Rebuilt(seen, name, statements, leaves)


# ----------------------------------------------------------------------------------------------
# A04, A05: backward of a vector needs a gradient; it computes J^T v


def backward_with_gradient(seen: Seen) -> ast.Call | None:
    for call in syntax.here(seen, seen.calls(".backward")):
        if not isinstance(call.func, ast.Attribute) or not isinstance(call.func.value, ast.Name):
            continue
        if call.args or any(k.arg in ("gradient", "grad_tensors") for k in call.keywords):
            return call
    return None


def backward_of(seen: Seen, call: ast.Call):
    """The parts of ``y.backward(v)``: the name ``y``, its tensor, the gradient's code ``v``
    and its value."""
    node = call.args[0] if call.args else next(
        k.value for k in call.keywords if k.arg in ("gradient", "grad_tensors")
    )  # fmt: skip
    name = call.func.value.id
    return name, seen.value(name), node, syntax.evaluate(seen, node)


@probe("A04", SCRIPT, looks_for="y.backward(gradient) of a tensor, given its gradient",
       find=backward_with_gradient)  # fmt: skip
def vector_needs_gradient(seen: Seen, match: ast.Call) -> None:
    """A vector's ``backward`` needs a gradient: without one it raises (on a rebuilt graph,
    never the script's), and ``.sum().backward()`` gives what ``gradient=ones`` gives."""
    import torch

    name, output, node, gradient = backward_of(seen, match)
    assert output.numel() > 1, f"{name} has {output.numel()} element: not a vector output"
    assert tuple(gradient.shape) == tuple(output.shape), (
        f"the gradient {ast.unparse(node)} has shape {tuple(gradient.shape)}, {name} "
        f"{tuple(output.shape)}"
    )
    rebuilt = rebuild(seen, name, seen.line(match))
    if rebuilt is None:
        # the script's graph: autograd.grad without a gradient refuses before it runs the graph
        # (and, unlike backward, never accumulates into .grad)
        try:
            torch.autograd.grad(output, leaves_of(output), retain_graph=True)
        except RuntimeError as exc:
            assert "scalar" in str(exc), f"without a gradient: {exc}"
        else:
            raise AssertionError(f"{name} without a gradient: autograd did not refuse")
        seen.unchecked(f"{name}.sum().backward() against gradient=ones: {name} cannot be rebuilt")
        return
    fresh = rebuilt.fresh()
    again = rebuilt(fresh)
    try:
        again.backward()
    except RuntimeError as exc:
        message = str(exc).splitlines()[0]
    else:
        raise AssertionError(f"{name}.backward() without a gradient did not raise")
    summed, ones = rebuilt.fresh(), rebuilt.fresh()
    rebuilt(summed).sum().backward()
    out = rebuilt(ones)
    out.backward(gradient=torch.ones_like(out))
    for leaf in rebuilt.leaves:
        assert torch.equal(summed[leaf].grad, ones[leaf].grad), (
            f"{name}.sum().backward() gives {leaf}.grad {summed[leaf].grad.tolist()}, "
            f"gradient=ones {ones[leaf].grad.tolist()}"
        )
    seen.note(
        f"{name}.backward() raises RuntimeError ({message}); {name}.sum().backward() "
        "equals gradient=ones"
    )


@probe("A05", SCRIPT, looks_for="y.backward(v): the vector-Jacobian product",
       find=backward_with_gradient)  # fmt: skip
def vector_jacobian_product(seen: Seen, match: ast.Call) -> None:
    """``y.backward(v)`` leaves ``J^T v`` in each leaf's ``.grad``, the Jacobian taken of the
    script's statements run again on fresh leaves; the printed grads are those."""
    import torch

    name, output, node, v = backward_of(seen, match)
    rebuilt = rebuild(seen, name, seen.line(match))
    if rebuilt is None:
        seen.unchecked(f"J^T v: {name} cannot be rebuilt to take its Jacobian")
        return
    fresh = rebuilt.fresh()
    order = list(fresh)
    jacobians = torch.autograd.functional.jacobian(
        lambda *xs: rebuilt(dict(zip(order, xs))), tuple(fresh[n] for n in order)
    )
    for leaf, jacobian in zip(order, jacobians):
        grad = seen.namespace[leaf].grad
        assert grad is not None, f"{ast.unparse(match)} left {leaf}.grad None"
        matrix = jacobian.reshape(output.numel(), -1)
        expected = (v.reshape(1, -1).to(matrix.dtype) @ matrix).reshape(grad.shape)
        # J^T v as a matrix product rounds differently from autograd's own vector-Jacobian
        # product: assert_close's defaults, not bit for bit.
        compare.assert_close(grad, expected, what=f"{leaf}.grad is not J^T v")
        token = printed_map.printed_token(
            seen, lambda n, leaf=leaf: isinstance(n, ast.Attribute) and n.attr == "grad"
            and syntax.names_in(n.value) == [leaf], f"{leaf}.grad",
        )  # fmt: skip
        if token is not None:
            compare.assert_printed(token, grad, f"{leaf}.grad")
    seen.note(f"{', '.join(f'{n}.grad' for n in order)} = J^T v for v = {ast.unparse(node)}")
