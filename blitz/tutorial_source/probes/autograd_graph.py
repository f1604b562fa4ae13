"""The claims of autograd_tutorial.py on the graph autograd builds (see ``probes.base``): A02
(``requires_grad=True`` makes autograd track every operation), A03 (the gradients are the
formula's: ``9*a**2 == a.grad``), A08 (an operation's output requires grad if any input does),
A10 (``torch.no_grad()`` keeps computations out of the graph).

Each probe finds the statement by its code and checks it against the script's tensors and their
``grad_fn`` graph (``graph``, ``leaves_of``), never changing them.
"""

from __future__ import annotations

import ast
from typing import Any

from blitz.tutorial_source.probes import compare, objects, printed_map, syntax
from blitz.tutorial_source.probes.base import Seen, dotted, probe

SCRIPT = "autograd"

# ----------------------------------------------------------------------------------------------
# Graphs and leaves


def graph(tensor, stop: Any = ()) -> list[Any]:
    """The backward nodes reachable from ``tensor.grad_fn`` (not past the nodes in ``stop``)."""
    return [node for node, _ in objects.backward_nodes(tensor.grad_fn, stop)]


def leaves_of(tensor) -> list[Any]:
    """The leaf tensors that ``tensor``'s graph accumulates gradients into."""
    return objects.leaves(tensor.grad_fn)


def grad_leaf(value: Any) -> bool:
    import torch

    return isinstance(value, torch.Tensor) and value.requires_grad and value.is_leaf


# ----------------------------------------------------------------------------------------------
# A02: requires_grad=True makes autograd track every operation

OP_NODES = {
    ast.Add: "AddBackward", ast.Sub: "SubBackward", ast.Mult: "MulBackward",
    ast.Div: "DivBackward", ast.Pow: "PowBackward", ast.USub: "NegBackward",
}  # fmt: skip


def grad_made(seen: Seen) -> set[str]:
    """The names the script binds to a tensor made with ``requires_grad=True`` (this cell and
    before), or marks so with ``requires_grad_()``."""
    calls = [c for c in seen.nodes(ast.Call)]
    tree = syntax.script_tree(seen)
    if tree is not None:
        calls += [
            c for c in ast.walk(tree) if isinstance(c, ast.Call) and c.lineno < seen.lineno
        ]  # fmt: skip
    names = set()
    assigns = list(seen.nodes(ast.Assign))
    if tree is not None:
        assigns += [a for a in ast.walk(tree) if isinstance(a, ast.Assign)]
    for call in calls:
        flag = next((k.value for k in call.keywords if k.arg == "requires_grad"), None)
        if isinstance(flag, ast.Constant) and flag.value is True:
            for assign in assigns:
                if assign.value is call and isinstance(assign.targets[0], ast.Name):
                    names.add(assign.targets[0].id)
        if syntax.last_name(call.func) == "requires_grad_" and isinstance(call.func, ast.Attribute):
            names.update(syntax.names_in(call.func.value))
    return names


def tracked_op(seen: Seen) -> ast.Assign | None:
    """``Q = <an operation on a tensor made with requires_grad=True>``."""
    made = grad_made(seen)
    if not made:
        return None
    for node in syntax.here(seen, seen.nodes(ast.Assign)):
        value = node.value
        if not isinstance(value, (ast.BinOp, ast.UnaryOp)):
            continue
        if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            operands = syntax.names_in(value)
            if set(operands) & made and node.targets[0].id not in operands:
                return node
    return None


def find_tracked(seen: Seen) -> Any:
    """The operation; then, once blitz saw it, a cell that prints its result's ``grad_fn``
    (or ``creator``, as the 2017 revision called it)."""
    result = seen.memory.get("result")
    if result is None:
        return tracked_op(seen)
    if seen.memory.get("done"):
        return None
    for node in seen.nodes(ast.Attribute):
        if node.attr in ("grad_fn", "creator") and syntax.names_in(node.value) == [result]:
            return node
    return None


def operations(node: ast.AST, tracked: set[str]) -> tuple[int, bool]:
    """How many operators of the expression involve a tracked tensor, and whether it calls
    anything (a call may add no node, ``.float()`` of a float, or several)."""
    count = 0
    for part in ast.walk(node):
        if isinstance(part, (ast.BinOp, ast.UnaryOp)) and set(syntax.names_in(part)) & tracked:
            count += 1
    return count, any(isinstance(part, ast.Call) for part in ast.walk(node))


@probe("A02", SCRIPT, looks_for="an operation on a tensor made with requires_grad=True, assigned "
       "to a name", find=find_tracked, once=False)  # fmt: skip
def requires_grad_tracks(seen: Seen, match: Any) -> None:
    """An operation on a leaf made with ``requires_grad=True``: its result has a ``grad_fn``,
    one node per operation, down to every leaf; a later cell's printed ``grad_fn`` is that
    node."""
    import torch

    if isinstance(match, ast.Attribute):  # the printed grad_fn of the result
        seen.memory["done"] = True
        result = seen.value(seen.memory["result"])
        token = printed_map.printed_token(seen, lambda node: node is match, ast.unparse(match))
        if token is None:
            return
        assert token.values == type(result.grad_fn).__name__, (
            f"the output shows {token.text}, the grad_fn is {type(result.grad_fn).__name__}"
        )
        seen.note(f"prints {token.values}")
        return
    name = match.targets[0].id
    seen.memory["result"] = name  # the statement is found: later cells may print its grad_fn
    result = seen.value(name)
    assert isinstance(result, torch.Tensor), f"{name} is a {type(result).__name__}"
    operands = [
        n for n in syntax.names_in(match.value) if isinstance(seen.namespace.get(n), torch.Tensor)
    ]
    leaves = [n for n in operands if grad_leaf(seen.namespace[n])]
    assert leaves, f"no operand of {ast.unparse(match.value)} is a leaf that requires grad"
    for leaf in leaves:
        assert seen.namespace[leaf].grad_fn is None, f"the leaf {leaf} has a grad_fn"
    assert result.requires_grad, f"{name} does not require grad"
    assert result.grad_fn is not None, f"{name} = {ast.unparse(match.value)} has no grad_fn"
    top = type(match.value.op)
    node_name = type(result.grad_fn).__name__
    if top in OP_NODES:
        assert node_name.startswith(OP_NODES[top]), (
            f"{name}'s grad_fn is {node_name}, not the {OP_NODES[top]} of its last operation"
        )
    # every operation is in the graph: one node per operation on a tracked tensor (down to the
    # leaves' AccumulateGrad, or to the grad_fn of a tracked operand that is not a leaf)
    stops = [
        seen.namespace[n].grad_fn for n in operands if seen.namespace[n].grad_fn is not None
    ]  # fmt: skip
    nodes = [
        n for n in graph(result, stops)
        if type(n).__name__ != "AccumulateGrad" and n not in stops
    ]  # fmt: skip
    tracked = {n for n in operands if seen.namespace[n].requires_grad}
    expected, calls = operations(match.value, tracked)
    assert len(nodes) == expected or (calls and len(nodes) > expected), (
        f"{ast.unparse(match.value)} has {expected} operations on tracked tensors, its graph "
        f"{len(nodes)} nodes: {[type(n).__name__ for n in nodes]}"
    )
    reached = {id(v) for v in leaves_of(result)}
    assert all(id(seen.namespace[leaf]) in reached for leaf in leaves), (
        f"{name}'s graph does not reach every leaf of {leaves}"
    )
    seen.note(
        f"{name}.grad_fn is {node_name}; {len(nodes)} operations tracked; leaves "
        f"{', '.join(leaves)} have none"
    )


# ----------------------------------------------------------------------------------------------
# A03: the gradients are 9a² and -2b


def grad_comparisons(seen: Seen) -> list[ast.Compare]:
    """``<formula> == x.grad`` (either side)."""
    found = []
    for node in seen.nodes(ast.Compare):
        if len(node.ops) == 1 and isinstance(node.ops[0], ast.Eq):
            sides = [node.left, node.comparators[0]]
            if any(isinstance(s, ast.Attribute) and s.attr == "grad" for s in sides):
                found.append(node)
    return found


@probe("A03", SCRIPT, looks_for="a formula compared with a .grad (9*a**2 == a.grad)",
       find=lambda seen: (grad_comparisons(seen) or [None])[0])  # fmt: skip
def gradients_are_the_formula(seen: Seen, match: ast.Compare) -> None:
    """Each ``formula == x.grad`` of the cell holds exactly (the analytic gradient is the one
    autograd computed), and the output shows it true."""
    import torch

    # what the cell printed is this check's to read, even where it fails early
    printed_map.printed(seen)
    checked = []
    for comparison in grad_comparisons(seen):
        left, right = comparison.left, comparison.comparators[0]
        grad_side, formula = (right, left) if isinstance(right, ast.Attribute) else (left, right)
        with torch.no_grad():
            grad = syntax.evaluate(seen, grad_side)
            value = syntax.evaluate(seen, formula)
        text = f"{ast.unparse(formula)} == {ast.unparse(grad_side)}"
        assert grad is not None, f"{ast.unparse(grad_side)} is None: backward did not reach it"
        assert torch.equal(torch.as_tensor(value, dtype=grad.dtype).expand_as(grad), grad), (
            f"{ast.unparse(grad_side)} is {grad.tolist()}, {ast.unparse(formula)} is "
            f"{torch.as_tensor(value).tolist()}: not equal exactly"
        )
        token = printed_map.printed_token(seen, lambda node, c=comparison: node is c, text)
        if token is not None:
            # the golden: tensor([True, True])
            compare.assert_printed(token, torch.ones_like(grad, dtype=torch.bool), text)
        checked.append(f"{text} ({grad.tolist()})")
    seen.note("; ".join(checked))


# ----------------------------------------------------------------------------------------------
# A08: an operation's output requires grad if any input does


def operation_flags(seen: Seen) -> list[tuple[ast.Attribute, str, ast.BinOp]]:
    """``r.requires_grad`` read of a name the cell binds to an operation of names."""
    made = {
        a.targets[0].id: a.value for a in seen.nodes(ast.Assign)
        if len(a.targets) == 1 and isinstance(a.targets[0], ast.Name)
        and isinstance(a.value, ast.BinOp) and len(syntax.names_in(a.value)) >= 2
    }  # fmt: skip
    found = []
    for node in seen.nodes(ast.Attribute):
        if node.attr == "requires_grad" and isinstance(node.value, ast.Name):
            if node.value.id in made:
                found.append((node, node.value.id, made[node.value.id]))
    return found


def find_flags(seen: Seen) -> ast.Attribute | None:
    made = grad_made(seen)
    for node, _, operation in operation_flags(seen):
        operands = set(syntax.names_in(operation))
        if operands & made:
            return node
    return None


@probe("A08", SCRIPT, looks_for="the requires_grad of an operation of a tensor that requires grad "
       "and one that does not", find=find_flags)  # fmt: skip
def any_input_requires_grad(seen: Seen, match: ast.Attribute) -> None:
    """Each operation's ``requires_grad`` read in the cell is True exactly where one of its
    tensor inputs requires grad, as the output shows it."""
    import torch

    shown = []
    for node, name, operation in operation_flags(seen):
        operands = [seen.value(n) for n in syntax.names_in(operation)]
        tensors = [o for o in operands if isinstance(o, torch.Tensor)]
        expected = any(t.requires_grad for t in tensors)
        actual = seen.value(name).requires_grad
        assert actual == expected, (
            f"{name} = {ast.unparse(operation)} has requires_grad={actual}; its inputs "
            f"{[t.requires_grad for t in tensors]}"
        )
        token = printed_map.printed_token(
            seen, lambda n, node=node: n is node, f"{name}.requires_grad"
        )
        if token is not None:
            assert token.values == actual, (
                f"the output shows {name}.requires_grad as {token.text}, it is {actual}"
            )
        shown.append(f"{ast.unparse(operation)}: {actual}")
    seen.note("; ".join(shown))


# ----------------------------------------------------------------------------------------------
# A10: torch.no_grad() excludes computations from the DAG


def no_grad_blocks(seen: Seen) -> list[ast.With]:
    return [
        w for w in seen.nodes(ast.With)
        if any(isinstance(i.context_expr, ast.Call)
               and dotted(i.context_expr.func) in ("torch.no_grad", "no_grad")
               for i in w.items)
    ]  # fmt: skip


@probe("A10", SCRIPT, looks_for="a with torch.no_grad(): block",
       find=lambda seen: (no_grad_blocks(seen) or [None])[0])  # fmt: skip
def no_grad_excludes(seen: Seen, match: ast.With) -> None:
    """Under ``torch.no_grad()`` a computation requires no grad and has no ``grad_fn`` (the same
    outside the block does), and what the block binds is out of the graph."""
    import torch

    inside = {id(n) for w in no_grad_blocks(seen) for n in ast.walk(w)}
    checked = []
    for item in printed_map.printed(seen).items:
        node = item.node
        if not (isinstance(node, ast.Attribute) and node.attr == "requires_grad"):
            continue
        within = id(node) in inside
        with torch.set_grad_enabled(not within):
            value = syntax.evaluate(seen, node.value)
        if within:
            assert not value.requires_grad and value.grad_fn is None, (
                f"{ast.unparse(node.value)} inside no_grad requires grad"
            )
            if not isinstance(node.value, ast.Name):  # the same computation outside the block
                with torch.enable_grad():
                    outside = syntax.evaluate(seen, node.value).requires_grad
                checked.append(f"{ast.unparse(node.value)}: {outside} outside, False inside")
        if item.token is not None:
            assert item.token.values == value.requires_grad, (
                f"the output shows {ast.unparse(node)} as {item.token.text}, it is "
                f"{value.requires_grad}"
            )
        elif item.kind == "bool":
            seen.unchecked(f"the printed {ast.unparse(node)}: not told apart in the output")
    for block in no_grad_blocks(seen):  # what the block binds is out of the graph
        for assign in (a for a in ast.walk(block) if isinstance(a, ast.Assign)):
            for target in assign.targets:
                if isinstance(target, ast.Name):
                    value = seen.value(target.id)
                    if isinstance(value, torch.Tensor):
                        assert not value.requires_grad and value.grad_fn is None, (
                            f"{target.id}, made inside no_grad, requires grad"
                        )
                        checked.append(f"{target.id} made inside: no grad_fn")
    assert checked, "the no_grad block computes nothing blitz could check"
    seen.note("; ".join(checked))
