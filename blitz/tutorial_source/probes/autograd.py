"""The claims that autograd_tutorial.py states, and their checks (see ``probes.base``).

The probes find each statement by its code: ``resnet18(...)`` and the training step after it
(A01), an operation on a leaf made with ``requires_grad=True`` (A02), a comparison with a
``.grad`` (A03), ``backward`` given a gradient (A04, A05), the ``requires_grad`` of an
operation's result (A08), frozen parameters (A09), ``with torch.no_grad()`` (A10). Where a check
needs the script's computation again (a fresh graph for ``Q.backward()`` without a gradient, the
Jacobian), it runs the script's own statements that made the tensor, on fresh copies of their
leaves (``rebuild``), never the script's tensors: the script's ``.grad`` and graph stay as they
were. Claims stated in prose only read skipped where the text states them.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Iterator
from typing import Any

from blitz.tutorial_source.probes.base import Seen, dotted, prose
from blitz.tutorial_source.probes.tensor import (
    SAFE_CALLS,
    Unchecked,
    assert_close,
    assert_printed,
    claim,
    evaluate,
    here,
    last_name,
    names_in,
    parse_script,
    printed,
    printed_token,
    target_of,
)

# ----------------------------------------------------------------------------------------------
# Graphs and leaves


def graph(tensor, stop: Any = ()) -> list[Any]:
    """The backward nodes reachable from ``tensor.grad_fn`` (not past the nodes in ``stop``)."""
    seen, order, todo = set(), [], [tensor.grad_fn]
    stop_ids = {id(node) for node in stop}
    while todo:
        node = todo.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        order.append(node)
        if id(node) in stop_ids:
            continue
        todo.extend(next_node for next_node, _ in node.next_functions)
    return order


def leaves_of(tensor) -> list[Any]:
    """The leaf tensors that ``tensor``'s graph accumulates gradients into."""
    return [n.variable for n in graph(tensor) if type(n).__name__ == "AccumulateGrad"]


def grad_leaf(value: Any) -> bool:
    import torch

    return isinstance(value, torch.Tensor) and value.requires_grad and value.is_leaf


# ----------------------------------------------------------------------------------------------
# Running the script's statements again, on fresh leaves

REBUILD_NODES = (
    ast.Assign, ast.AugAssign, ast.While, ast.For, ast.If, ast.Break, ast.Continue, ast.Pass,
    ast.Name, ast.Load, ast.Store, ast.Attribute, ast.Constant, ast.BinOp, ast.UnaryOp,
    ast.Compare, ast.BoolOp, ast.Subscript, ast.Slice, ast.Tuple, ast.List, ast.keyword,
    ast.Call, ast.operator, ast.unaryop, ast.cmpop, ast.boolop,
)  # fmt: skip
REBUILD_CALLS = SAFE_CALLS | {"range", "len"}


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
        if any(name in names_in(t) for t in targets):
            return True
    return False


def _fresh_binding(stmt: ast.stmt, name: str) -> bool:
    """``name = <expression not reading name>``."""
    return (
        isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
        and isinstance(stmt.targets[0], ast.Name) and stmt.targets[0].id == name
        and name not in names_in(stmt.value)
    )  # fmt: skip


def rebuild(seen: Seen, name: str, before: int) -> Rebuilt | None:
    """The script's statements that made ``name`` before file line ``before``: from its last
    fresh assignment to the last statement that binds it; None where they do anything but
    compute (a call blitz will not repeat: a draw from the generator, a print, I/O)."""
    tree = parse_script(seen.script_text) if seen.script_text else None
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
            if isinstance(node, ast.Call) and last_name(node.func) not in REBUILD_CALLS:
                return None
    read = [n for s in statements for n in names_in(s) if n != name]
    leaves = [n for n in dict.fromkeys(read) if grad_leaf(seen.namespace.get(n))]
    if not leaves:
        return None
    return Rebuilt(seen, name, statements, leaves)


# ----------------------------------------------------------------------------------------------
# A01: a training step of resnet18


def is_resnet18(call: ast.AST) -> bool:
    return isinstance(call, ast.Call) and last_name(call.func) == "resnet18"


def freezes(seen: Seen) -> bool:
    """The cell freezes parameters: ``p.requires_grad = False`` or ``requires_grad_(False)``."""
    for node in seen.nodes(ast.Assign):
        for target in node.targets:
            if isinstance(target, ast.Attribute) and target.attr == "requires_grad":
                if isinstance(node.value, ast.Constant) and node.value.value is False:
                    return True
    return any(
        c.args and isinstance(c.args[0], ast.Constant) and c.args[0].value is False
        for c in seen.calls(".requires_grad_")
    )


def model_made(seen: Seen) -> ast.Call | None:
    """``model = resnet18(...)`` (any spelling), in a cell that does not freeze it (A09's)."""
    for call in here(seen, seen.nodes(ast.Call)):
        if is_resnet18(call) and target_of(seen, call) and not freezes(seen):
            return call
    return None


OPTIMIZERS = frozenset(
    "SGD Adam AdamW Adagrad Adadelta Adamax NAdam RAdam RMSprop Rprop ASGD LBFGS SparseAdam".split()
)


def optimizer_calls(seen: Seen) -> list[ast.Call]:
    """The optimizers the cell makes: ``torch.optim.SGD(...)``, ``optim.SGD(...)``, ``SGD(...)``."""
    return [c for c in here(seen, seen.nodes(ast.Call)) if last_name(c.func) in OPTIMIZERS]


def find_training_step(seen: Seen) -> Any:
    """The cell that makes the model; then, once blitz saw it, the cells of its step: the
    forward pass (a call of the model), ``backward``, the optimizer, ``step``."""
    memory = seen.memory
    if memory.get("done"):
        return None
    model = memory.get("model")
    if model is None:
        return model_made(seen)
    for call in here(seen, seen.nodes(ast.Call)):
        callee = dotted(call.func)
        if callee == model or last_name(call.func) in ("backward", "step"):
            return call
    calls = optimizer_calls(seen)
    return calls[0] if calls else None


def step_parts(seen: Seen) -> Iterator[tuple[str, ast.Call]]:
    """The parts of the step in this cell, in order."""
    model = seen.memory.get("model")
    optimizers = {id(c) for c in optimizer_calls(seen)}
    for call in here(seen, seen.nodes(ast.Call)):
        if is_resnet18(call) and target_of(seen, call) and not freezes(seen) and model is None:
            model = target_of(seen, call)
            yield "model", call
        elif model is not None and dotted(call.func) == model:
            yield "forward", call
        elif last_name(call.func) == "backward" and model is not None:
            yield "backward", call
        elif id(call) in optimizers and model is not None:
            yield "optimizer", call
        elif last_name(call.func) == "step" and isinstance(call.func, ast.Attribute):
            optimizer = seen.memory.get("optimizer")  # bound by the time this part is reached
            if optimizer is None or dotted(call.func.value) == optimizer:
                yield "step", call


@claim(
    "A01", "autograd", looks_for="model = resnet18(...), then its forward, backward and step",
    find=find_training_step, once=False,
)  # fmt: skip
def training_step(seen: Seen, match: Any) -> None:
    import torch

    memory = seen.memory
    for part, call in step_parts(seen):
        if part == "model":
            name = target_of(seen, call)
            model = seen.value(name)
            import torchvision

            assert isinstance(model, torchvision.models.ResNet), (
                f"{name} = {ast.unparse(call)} is a {type(model).__name__}, not a ResNet"
            )
            count = sum(p.numel() for p in model.parameters())
            assert count == 11_689_512, f"{name} has {count:,} parameters, not resnet18's"
            memory["model"] = name
            memory["before"] = [p.detach().clone() for p in model.parameters()]
            seen.note(f"{name} = {ast.unparse(call)}: resnet18")
        elif part == "forward":
            name = target_of(seen, call)
            if name is None:
                seen.unchecked(f"the forward pass at line {seen.line(call)}: not bound to a name")
                continue
            prediction = seen.value(name)
            shape = tuple(prediction.shape)
            data = [seen.value(n) for n in names_in(call) if n != memory["model"]]
            assert shape == (1, 1000), f"{name} has shape {shape}, not (1, 1000)"
            assert prediction.grad_fn is not None, f"{name} has no grad_fn: autograd did not track"
            seen.note(
                f"{name} = {ast.unparse(call)}: {shape} from "
                f"{[tuple(d.shape) for d in data if isinstance(d, torch.Tensor)]}"
            )
        elif part == "backward":
            model = seen.value(memory["model"])
            missing = [n for n, p in model.named_parameters() if p.grad is None]
            assert not missing, (
                f"{ast.unparse(call)} left {len(missing)} parameters without a .grad: {missing[:3]}"
            )
            bad = [n for n, p in model.named_parameters() if p.grad.shape != p.shape]
            assert not bad, f"the grads of {bad[:3]} do not have their parameters' shapes"
            seen.note(f"{ast.unparse(call)} fills .grad of every parameter")
        elif part == "optimizer":
            name = target_of(seen, call)
            optimizer = seen.value(name) if name else None
            if optimizer is not None:
                model = seen.value(memory["model"])
                held = {id(p) for g in optimizer.param_groups for p in g["params"]}
                missing = [n for n, p in model.named_parameters() if id(p) not in held]
                assert not missing, f"{name} does not hold {len(missing)} parameters of the model"
                memory["optimizer"] = name
        elif part == "step":
            receiver = dotted(call.func.value)
            optimizer = seen.value(receiver)
            assert isinstance(optimizer, torch.optim.SGD), (
                f"{receiver} is a {type(optimizer).__name__}, not SGD"
            )
            memory["done"] = True
            check_sgd_step(seen, optimizer, seen.value(memory["model"]), memory.get("before"))


def check_sgd_step(seen: Seen, optimizer, model, before: list | None) -> None:
    """The first SGD step moved every parameter by ``-lr * grad`` (momentum's buffer starts
    as the gradient itself, so the first step is plain gradient descent)."""
    import torch

    settings = {}
    for group in optimizer.param_groups:
        assert not group.get("weight_decay") and not group.get("nesterov"), (
            f"the optimizer has weight_decay={group.get('weight_decay')}, "
            f"nesterov={group.get('nesterov')}: not the -lr * grad step"
        )
        settings.update({id(p): group for p in group["params"]})
    if before is None:
        seen.unchecked("the step's update: the parameters before it were not seen")
        return
    parameters = list(model.parameters())
    assert all(p.grad is not None for p in parameters), "a parameter has no grad at the step"
    for (name, p), was in zip(model.named_parameters(), before):
        assert id(p) in settings, f"the optimizer does not hold {name}"
        lr = settings[id(p)]["lr"]
        # assert_close's defaults: SGD's fused add rounds differently from was - lr * grad
        # (CLAIMS.md: 7e-9 measured on torch 2.14), so not bit for bit.
        assert_close(
            p.detach(), was - lr * p.grad, what=f"the step moved {name} other than by -lr * grad"
        )
    group = optimizer.param_groups[0]
    lr, momentum = group["lr"], group.get("momentum", 0)
    moved = sum(not torch.equal(p.detach(), was) for p, was in zip(parameters, before))
    seen.note(
        f"SGD(lr={lr:g}, momentum={momentum:g}).step() moved {moved}/{len(parameters)} "
        "parameters by -lr * grad"
    )


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
    tree = parse_script(seen.script_text) if seen.script_text else None
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
        if last_name(call.func) == "requires_grad_" and isinstance(call.func, ast.Attribute):
            names.update(names_in(call.func.value))
    return names


def tracked_op(seen: Seen) -> ast.Assign | None:
    """``Q = <an operation on a tensor made with requires_grad=True>``."""
    made = grad_made(seen)
    if not made:
        return None
    for node in here(seen, seen.nodes(ast.Assign)):
        value = node.value
        if not isinstance(value, (ast.BinOp, ast.UnaryOp)):
            continue
        if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if set(names_in(value)) & made and node.targets[0].id not in names_in(value):
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
        if node.attr in ("grad_fn", "creator") and names_in(node.value) == [result]:
            return node
    return None


def operations(node: ast.AST, tracked: set[str]) -> tuple[int, bool]:
    """How many operators of the expression involve a tracked tensor, and whether it calls
    anything (a call may add no node, ``.float()`` of a float, or several)."""
    count = 0
    for part in ast.walk(node):
        if isinstance(part, (ast.BinOp, ast.UnaryOp)) and set(names_in(part)) & tracked:
            count += 1
    return count, any(isinstance(part, ast.Call) for part in ast.walk(node))


@claim(
    "A02", "autograd",
    looks_for="an operation on a tensor made with requires_grad=True, assigned to a name",
    find=find_tracked, once=False,
)  # fmt: skip
def requires_grad_tracks(seen: Seen, match: Any) -> None:
    import torch

    if isinstance(match, ast.Attribute):  # the printed grad_fn of the result
        seen.memory["done"] = True
        result = seen.value(seen.memory["result"])
        token = printed_token(seen, lambda node: node is match, ast.unparse(match))
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
    operands = [n for n in names_in(match.value) if isinstance(seen.namespace.get(n), torch.Tensor)]
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


@claim(
    "A03", "autograd", looks_for="a formula compared with a .grad (9*a**2 == a.grad)",
    find=lambda seen: (grad_comparisons(seen) or [None])[0],
)  # fmt: skip
def gradients_are_the_formula(seen: Seen, match: ast.Compare) -> None:
    import torch

    printed(seen)  # what the cell printed is this check's to read, even where it fails early
    checked = []
    for compare in grad_comparisons(seen):
        left, right = compare.left, compare.comparators[0]
        grad_side, formula = (right, left) if isinstance(right, ast.Attribute) else (left, right)
        with torch.no_grad():
            grad = evaluate(seen, grad_side)
            value = evaluate(seen, formula)
        text = f"{ast.unparse(formula)} == {ast.unparse(grad_side)}"
        assert grad is not None, f"{ast.unparse(grad_side)} is None: backward did not reach it"
        assert torch.equal(torch.as_tensor(value, dtype=grad.dtype).expand_as(grad), grad), (
            f"{ast.unparse(grad_side)} is {grad.tolist()}, {ast.unparse(formula)} is "
            f"{torch.as_tensor(value).tolist()}: not equal exactly"
        )
        token = printed_token(seen, lambda node, compare=compare: node is compare, text)
        if token is not None:
            # the golden: tensor([True, True])
            assert_printed(token, torch.ones_like(grad, dtype=torch.bool), text)
        checked.append(f"{text} ({grad.tolist()})")
    seen.note("; ".join(checked))


# ----------------------------------------------------------------------------------------------
# A04, A05: backward of a vector needs a gradient; it computes J^T v


def backward_with_gradient(seen: Seen) -> ast.Call | None:
    for call in here(seen, seen.calls(".backward")):
        if not isinstance(call.func, ast.Attribute) or not isinstance(call.func.value, ast.Name):
            continue
        if call.args or any(k.arg in ("gradient", "grad_tensors") for k in call.keywords):
            return call
    return None


def gradient_of(seen: Seen, call: ast.Call):
    node = call.args[0] if call.args else next(
        k.value for k in call.keywords if k.arg in ("gradient", "grad_tensors")
    )  # fmt: skip
    return node, evaluate(seen, node)


@claim(
    "A04", "autograd", looks_for="y.backward(gradient) of a tensor, given its gradient",
    find=backward_with_gradient,
)  # fmt: skip
def vector_needs_gradient(seen: Seen, match: ast.Call) -> None:
    import torch

    name = match.func.value.id
    output = seen.value(name)
    node, gradient = gradient_of(seen, match)
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


@claim(
    "A05", "autograd", looks_for="y.backward(v): the vector-Jacobian product",
    find=backward_with_gradient,
)  # fmt: skip
def vector_jacobian_product(seen: Seen, match: ast.Call) -> None:
    import torch

    name = match.func.value.id
    output = seen.value(name)
    node, v = gradient_of(seen, match)
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
        assert_close(grad, expected, what=f"{leaf}.grad is not J^T v")
        token = printed_token(
            seen, lambda n, leaf=leaf: isinstance(n, ast.Attribute) and n.attr == "grad"
            and names_in(n.value) == [leaf], f"{leaf}.grad",
        )  # fmt: skip
        if token is not None:
            assert_printed(token, grad, f"{leaf}.grad")
    seen.note(f"{', '.join(f'{n}.grad' for n in order)} = J^T v for v = {ast.unparse(node)}")


prose(
    "A05", "autograd", r"(vector-Jacobian|Jacobian-vector) product",
    looks_for="the text on vector-Jacobian products",
)  # fmt: skip
prose(
    "A06", "autograd", r"accumulat\w*[^.]{0,80}\.grad",
    looks_for="the text that gradients accumulate in .grad",
)  # fmt: skip
prose(
    "A07", "autograd",
    r"\b(DAG|graph)s? (is|are) (dynamic|recreated|rebuilt|built anew)|define-by-run",
    looks_for="the text on dynamic graphs (define-by-run)",
)  # fmt: skip


# ----------------------------------------------------------------------------------------------
# A08: an operation's output requires grad if any input does


def operation_flags(seen: Seen) -> list[tuple[ast.Attribute, str, ast.BinOp]]:
    """``r.requires_grad`` read of a name the cell binds to an operation of names."""
    made = {
        a.targets[0].id: a.value for a in seen.nodes(ast.Assign)
        if len(a.targets) == 1 and isinstance(a.targets[0], ast.Name)
        and isinstance(a.value, ast.BinOp) and len(names_in(a.value)) >= 2
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
        operands = set(names_in(operation))
        if operands & made:
            return node
    return None


@claim(
    "A08", "autograd",
    looks_for="the requires_grad of an operation of a tensor that requires grad and one that "
    "does not", find=find_flags,
)  # fmt: skip
def any_input_requires_grad(seen: Seen, match: ast.Attribute) -> None:
    import torch

    shown = []
    for node, name, operation in operation_flags(seen):
        operands = [seen.value(n) for n in names_in(operation)]
        tensors = [o for o in operands if isinstance(o, torch.Tensor)]
        expected = any(t.requires_grad for t in tensors)
        actual = seen.value(name).requires_grad
        assert actual == expected, (
            f"{name} = {ast.unparse(operation)} has requires_grad={actual}; its inputs "
            f"{[t.requires_grad for t in tensors]}"
        )
        token = printed_token(seen, lambda n, node=node: n is node, f"{name}.requires_grad")
        if token is not None:
            assert token.values == actual, (
                f"the output shows {name}.requires_grad as {token.text}, it is {actual}"
            )
        shown.append(f"{ast.unparse(operation)}: {actual}")
    seen.note("; ".join(shown))


# ----------------------------------------------------------------------------------------------
# A09: frozen parameters; only the new classifier is trained


def frozen_loop(seen: Seen) -> tuple[str, ast.AST] | None:
    """The model whose parameters the cell freezes (``for p in model.parameters(): p.requires_grad
    = False``, or ``model.requires_grad_(False)``), and the statement that does."""
    for loop in seen.nodes(ast.For):
        iterated = loop.iter.func if isinstance(loop.iter, ast.Call) else None
        if isinstance(iterated, ast.Attribute) and iterated.attr == "parameters":
            body = ast.Module(body=loop.body, type_ignores=[])
            for node in ast.walk(body):
                if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                    if node.value.value is False and any(
                        isinstance(t, ast.Attribute) and t.attr == "requires_grad"
                        for t in node.targets
                    ):
                        return dotted(loop.iter.func.value), loop
    for call in seen.calls(".requires_grad_"):
        if not isinstance(call.func, ast.Attribute):
            continue
        if call.args and isinstance(call.args[0], ast.Constant) and call.args[0].value is False:
            return dotted(call.func.value), call
    return None


def find_frozen(seen: Seen) -> Any:
    """The freezing; then, once blitz saw it, the new ``fc``, then the optimizer."""
    memory = seen.memory
    if memory.get("done"):
        return None
    model = memory.get("model")
    if model is None:
        frozen = frozen_loop(seen)
        return frozen[1] if frozen else None
    for node in seen.nodes(ast.Assign):
        if any(dotted(t) == f"{model}.fc" for t in node.targets):
            return node
    if memory.get("fc"):
        calls = optimizer_calls(seen)
        return calls[0] if calls else None
    return None


RESNET18_FEATURES = 512


@claim(
    "A09", "autograd",
    looks_for="the parameters of a model frozen (requires_grad = False), then a new model.fc",
    find=find_frozen, once=False,
)  # fmt: skip
def frozen_parameters(seen: Seen, match: Any) -> None:
    import torch

    memory = seen.memory
    if memory.get("model") is None:
        name = frozen_loop(seen)[0]
        memory["model"] = name
        model = seen.value(name.split(".")[0])
        for part in name.split(".")[1:]:
            model = getattr(model, part)
        import torchvision

        assert isinstance(model, torchvision.models.ResNet), (
            f"{name} is a {type(model).__name__}, not a ResNet"
        )
        unfrozen = [n for n, p in model.named_parameters() if p.requires_grad]
        assert not unfrozen, f"{len(unfrozen)} parameters still require grad: {unfrozen[:3]}"
        memory["model"] = name
        seen.note(f"{name}: every parameter frozen")
    if isinstance(match, ast.Assign) or any(
        isinstance(a, ast.Assign) and any(dotted(t) == f"{memory['model']}.fc" for t in a.targets)
        for a in seen.nodes(ast.Assign)
    ):
        model = seen.value(memory["model"])
        fc = model.fc
        assert isinstance(fc, torch.nn.Linear), f"{memory['model']}.fc is a {type(fc).__name__}"
        assert fc.in_features == RESNET18_FEATURES, (
            f"the new fc takes {fc.in_features} features, resnet18 gives {RESNET18_FEATURES}"
        )
        trained = [n for n, p in model.named_parameters() if p.requires_grad]
        assert trained == ["fc.weight", "fc.bias"], (
            f"the parameters that require grad are {trained}, not fc.weight and fc.bias"
        )
        memory["fc"] = True
        seen.note(f"only fc.weight, fc.bias require grad (Linear({fc.in_features}, "
                  f"{fc.out_features}))")  # fmt: skip
    calls = optimizer_calls(seen)
    if memory.get("fc") and calls:
        name = target_of(seen, calls[0])
        memory["done"] = True
        if name is None:
            raise Unchecked(f"the optimizer at line {seen.line(calls[0])}: not bound to a name")
        check_frozen_step(seen, seen.value(memory["model"]), seen.value(name), name)


def check_frozen_step(seen: Seen, model, optimizer, name: str) -> None:
    """On a copy of the model, with the script's optimizer's settings: a forward and backward
    pass fills only fc's grads, and a step changes only fc's parameters."""
    import torch

    names = {id(p): n for n, p in model.named_parameters()}
    held = [names.get(id(p)) for g in optimizer.param_groups for p in g["params"]]
    assert None not in held, f"{name} holds tensors that are not the model's parameters"
    assert {"fc.weight", "fc.bias"} <= set(held), f"{name} does not hold fc's parameters"
    twin = copy.deepcopy(model)
    twins = dict(twin.named_parameters())
    groups = [
        {**{k: v for k, v in g.items() if k != "params"},
         "params": [twins[names[id(p)]] for p in g["params"]]}
        for g in optimizer.param_groups
    ]  # fmt: skip
    twin_optimizer = type(optimizer)(groups)
    twin.zero_grad(set_to_none=True)
    twin.eval()  # batch norm on its running statistics: which parameters train is the same
    generator = torch.Generator().manual_seed(0)  # never the script's generator
    data = torch.rand((1, 3, 32, 32), generator=generator)
    loss = twin(data).sum()
    loss.backward()
    with_grad = [n for n, p in twin.named_parameters() if p.grad is not None]
    assert with_grad == ["fc.weight", "fc.bias"], f"after backward, {with_grad} have a .grad"
    twin_optimizer.step()
    originals = dict(model.named_parameters())  # the script's model: what the twin was
    changed = [
        n for n, p in twin.named_parameters() if not torch.equal(p.detach(), originals[n].detach())
    ]
    assert changed == ["fc.weight", "fc.bias"], f"a step of {name} changed {changed}"
    seen.note(f"{name} holds {len(held)} parameters; a step changes only {', '.join(changed)}")


# ----------------------------------------------------------------------------------------------
# A10: torch.no_grad() excludes computations from the DAG


def no_grad_blocks(seen: Seen) -> list[ast.With]:
    return [
        w for w in seen.nodes(ast.With)
        if any(isinstance(i.context_expr, ast.Call)
               and dotted(i.context_expr.func) in ("torch.no_grad", "no_grad")
               for i in w.items)
    ]  # fmt: skip


@claim(
    "A10", "autograd", looks_for="a with torch.no_grad(): block",
    find=lambda seen: (no_grad_blocks(seen) or [None])[0],
)  # fmt: skip
def no_grad_excludes(seen: Seen, match: ast.With) -> None:
    import torch

    inside = {id(n) for w in no_grad_blocks(seen) for n in ast.walk(w)}
    checked = []
    for item in printed(seen).items:
        node = item.node
        if not (isinstance(node, ast.Attribute) and node.attr == "requires_grad"):
            continue
        within = id(node) in inside
        with torch.set_grad_enabled(not within):
            value = evaluate(seen, node.value)
        if within:
            assert not value.requires_grad and value.grad_fn is None, (
                f"{ast.unparse(node.value)} inside no_grad requires grad"
            )
            if not isinstance(node.value, ast.Name):  # the same computation outside the block
                with torch.enable_grad():
                    outside = evaluate(seen, node.value).requires_grad
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


prose(
    "A10", "autograd", r"torch\.no_grad",
    looks_for="the text on torch.no_grad()",
)  # fmt: skip
