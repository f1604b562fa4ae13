"""The claims of neural_networks_tutorial.py on updating the weights (see ``probes.base``):
N12 (SGD by hand, ``f.data.sub_(f.grad.data * lr)`` or ``f -= f.grad * lr`` under
``torch.no_grad()``, is ``optim.SGD``'s step), N13 (gradients accumulate unless
``optimizer.zero_grad()``), N14 (``net.zero_grad()`` and ``optimizer.zero_grad()`` clear the
same buffers).

Where the revision runs the update as code, its statement runs again on copies of the net
(``objects.scratch``). Where its text only shows the code (``.. code:: python``, a ``::``
paragraph: the build never runs it, learners copy it), the probe finds it by its code among the
blocks shown after a cell (``base.shown``) and runs it against copies of the script's objects
after that cell (the net with its ``.grad``, its input, target, criterion); the note says so.
Where the text states the claim in prose only, it reads skipped.
"""

from __future__ import annotations

import ast
import copy
import re

from blitz.tutorial_source.probes import compare, objects, syntax
from blitz.tutorial_source.probes.base import Seen, dotted, name_matches, probe, shown

SCRIPT = "neural_networks"
NO_OWNER = "the optimizer does not hold exactly a module's parameters"

# ----------------------------------------------------------------------------------------------
# Update the weights: N12, N13, N14


def _mentions_grad(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Attribute) and n.attr == "grad" for n in ast.walk(node))


def find_data_sub_update(seen: Seen):
    """``for f in <net>.parameters(): f.data.sub_(f.grad.data * lr)``."""
    for loop in seen.nodes(ast.For):
        if not (isinstance(loop.iter, ast.Call) and dotted(loop.iter.func).endswith(".parameters")):
            continue
        for call in syntax.method_calls(loop, "sub_"):
            target = call.func.value
            if isinstance(target, ast.Attribute) and target.attr == "data" and call.args:
                if _mentions_grad(call.args[0]):
                    return loop
    return None


def find_no_grad_update(seen: Seen):
    """``with torch.no_grad(): for f in <net>.parameters(): f -= f.grad * lr``."""
    for block in seen.nodes(ast.With):
        if not any(
            isinstance(item.context_expr, ast.Call)
            and name_matches(dotted(item.context_expr.func), ".no_grad")
            for item in block.items
        ):
            continue
        for loop in ast.walk(block):
            if not isinstance(loop, ast.For) or not isinstance(loop.iter, ast.Call):
                continue
            if not dotted(loop.iter.func).endswith(".parameters"):
                continue
            for node in ast.walk(loop):
                if (
                    isinstance(node, ast.AugAssign)
                    and isinstance(node.op, ast.Sub)
                    and _mentions_grad(node.value)
                ):
                    return block
    return None


def update_loop(statement: ast.AST) -> ast.For:
    """The loop over ``<net>.parameters()`` of an update (the statement, or in it)."""
    return next(
        n
        for n in ast.walk(statement)
        if isinstance(n, ast.For)
        and isinstance(n.iter, ast.Call)
        and dotted(n.iter.func).endswith(".parameters")
    )


def _learning_rate(namespace: dict, node: ast.AST, loop_var: str) -> float:
    """The number the update multiplies the gradient by: a literal, or a name bound to one."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.BinOp) and isinstance(sub.op, ast.Mult):
            for side in (sub.left, sub.right):
                if isinstance(side, ast.Constant) and isinstance(side.value, (int, float)):
                    return float(side.value)
                if isinstance(side, ast.Name) and side.id != loop_var:
                    value = namespace.get(side.id)
                    if isinstance(value, (int, float)):
                        return float(value)
    raise AssertionError("the update multiplies the gradient by no learning rate blitz can read")


def run_update(seen: Seen, code: ast.Module, loop: ast.For, where: str):
    """``code`` (the cell's update, or the code shown in the text that holds it) run against
    copies of the script's objects (``objects.scratch``): the net's copy before the update (its
    grads kept), the same copy updated, and the learning rate."""
    torch = seen.torch
    namespace = objects.scratch(seen.namespace, code)
    expr = loop.iter.func.value
    assert syntax.pure(expr), f"blitz cannot re-read {dotted(expr)}"
    net = syntax.evaluate(seen, expr, namespace)
    assert isinstance(net, torch.nn.Module), f"{dotted(expr)} is a {type(net).__name__}"
    assert all(p.grad is not None for p in net.parameters()), "a parameter has no gradient"
    before = objects.copy_with_grads(net)
    objects.run_code(code, namespace, where)
    return before, net, _learning_rate(namespace, loop, getattr(loop.target, "id", ""))


def assert_sgd_step(seen: Seen, before, updated, lr: float) -> None:
    """``updated`` is ``before`` moved by ``-lr * grad``, and by ``optim.SGD(lr)``'s step."""
    torch = seen.torch
    with_optim = objects.copy_with_grads(before)
    torch.optim.SGD(with_optim.parameters(), lr=lr).step()
    named = zip(updated.named_parameters(), before.parameters(), with_optim.parameters())
    for (name, hand), was, optimized in named:
        assert not torch.equal(hand.detach(), was.detach()), f"{name}: unchanged by the update"
        expected = was.detach() - lr * hand.grad
        # weight = weight - learning_rate * gradient, and optim.SGD: up to float32 rounding
        # (assert_close's defaults; not bitwise: SGD's fused add rounds differently)
        compare.assert_close(hand.detach(), expected, msg=lambda m, n=name: f"{n}: {m}")
        compare.assert_close(
            optimized.detach(), hand.detach(), msg=lambda m, n=name: f"{n} (optim.SGD): {m}"
        )


def assert_no_grad_form(seen: Seen, before, updated, lr: float) -> None:
    """The ``-=`` form under ``torch.no_grad()`` updates the net's leaves in place, to the same
    bits as the ``.data.sub_`` form (the same in-place subtraction of the same product)."""
    torch = seen.torch
    by_data = objects.copy_with_grads(before)
    for f in by_data.parameters():
        f.data.sub_(f.grad.data * lr)
    for (name, f), data_form in zip(updated.named_parameters(), by_data.parameters()):
        assert isinstance(f, torch.nn.Parameter) and f.requires_grad and f.grad_fn is None, (
            f"{name} is no longer a leaf parameter after the update"
        )
        compare.assert_close(
            f.detach(), data_form.detach(), rtol=0, atol=0,
            msg=lambda m, n=name: f"{n} (.data form): {m}",
        )  # fmt: skip


@probe("N12", SCRIPT, looks_for="for f in net.parameters(): f.data.sub_(f.grad.data * lr)",
       find=find_data_sub_update)  # fmt: skip
def sgd_by_hand_data_form(seen: Seen, match: ast.For) -> None:
    """The update by hand (``f.data.sub_(f.grad.data * lr)``), run again on copies: ``-lr *
    grad`` on every parameter, what ``optim.SGD(lr)``'s step gives."""
    # The script's update has run on its net; the same statement again, on copies, against
    # optim.SGD's step from the same parameters and gradients.
    code = ast.Module(body=[match], type_ignores=[])
    assert_sgd_step(seen, *run_update(seen, code, match, f"line {seen.line(match)}"))


@probe("N12", SCRIPT, looks_for="with torch.no_grad(): for f in net.parameters(): f -= f.grad * lr",
       find=find_no_grad_update)  # fmt: skip
def sgd_by_hand_no_grad_form(seen: Seen, match: ast.With) -> None:
    """The update under ``torch.no_grad()`` (``f -= f.grad * lr``), run again on copies: the
    ``.data`` form's bits, leaves left leaves, ``optim.SGD(lr)``'s step."""
    code = ast.Module(body=[match], type_ignores=[])
    step = run_update(seen, code, update_loop(match), f"line {seen.line(match)}")
    assert_no_grad_form(seen, *step)
    assert_sgd_step(seen, *step)


def find_update(seen: Seen):
    """Either form of the update by hand."""
    return find_data_sub_update(seen) or find_no_grad_update(seen)


@probe("N12", SCRIPT, looks_for="either update by hand in code the text shows (.. code::)",
       find=shown(find_update))  # fmt: skip
def sgd_by_hand_shown(seen: Seen, snippet: Seen) -> None:
    """The update by hand that the text shows, run against copies of the script's objects after
    the cell: what ``optim.SGD(lr)``'s step gives."""
    where = objects.shown_where(seen, snippet)
    form = find_update(snippet)
    step = run_update(seen, snippet.tree, update_loop(form), where)
    if isinstance(form, ast.With):
        assert_no_grad_form(seen, *step)
    assert_sgd_step(seen, *step)
    seen.note(f"{where}: equals optim.SGD(lr={step[2]:g})'s step up to float32 rounding")


def optimizer_names(seen: Seen) -> set[str]:
    """Names the cell or the script binds to ``optim.<X>(...)`` / ``torch.optim.<X>(...)``."""
    names = set()
    for tree in (seen.tree, syntax.script_tree(seen)):
        if tree is None:
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Call)
                and re.match(r"^(torch\.)?optim\.\w+$", dotted(node.value.func))
                and syntax.single_target(node)
            ):
                names.add(syntax.single_target(node))
    return names


def optimized_net(namespace: dict | None, name: str, otherwise: str = NO_OWNER):
    """The optimizer ``name`` of ``namespace``, and the module whose parameters it holds (its
    name, the module); ``otherwise`` says why where none does."""
    import torch

    optimizer = (namespace or {}).get(name)
    assert isinstance(optimizer, torch.optim.Optimizer), f"{name} is no optimizer"
    owner = objects.owner_of(namespace, objects.optimizer_params(optimizer))
    assert owner is not None, otherwise
    return (optimizer, *owner)


def find_training_step(seen: Seen):
    """``<optimizer>.zero_grad()``, ``<loss>.backward()``, ``<optimizer>.step()`` in one cell,
    the optimizer made by ``optim.<X>(...)``."""
    if seen.tree is None:
        return None
    optimizers = optimizer_names(seen)
    stepped = {syntax.receiver(c) for c in syntax.method_calls(seen.tree, "step")} & optimizers
    for call in syntax.method_calls(seen.tree, "zero_grad"):
        if syntax.receiver(call) in stepped and syntax.method_calls(seen.tree, "backward"):
            return call
    return None


def _forward_and_loss(seen: Seen, net_name: str):
    """From the cell (else the script): the net's input, the criterion and the target of
    ``output = net(input); loss = criterion(output, target)``."""
    forward = None
    for node in seen.nodes(ast.Call):
        if dotted(node.func) == net_name and len(node.args) == 1 and syntax.bound_name(seen, node):
            forward = node
    if forward is None:
        return None
    output = syntax.bound_name(seen, forward)
    for node in seen.nodes(ast.Call):
        if (
            len(node.args) == 2
            and dotted(node.args[0]) == output
            and isinstance(node.func, ast.Name)
        ):
            if all(map(syntax.pure, (forward.args[0], node.args[1]))):
                criterion = seen.value(node.func.id)
                input, target = (syntax.evaluate(seen, a) for a in (forward.args[0], node.args[1]))
                return input, criterion, target
    return None


@probe("N13", SCRIPT, looks_for="optimizer.zero_grad(), loss.backward(), optimizer.step() run as "
       "code", find=find_training_step)  # fmt: skip
def gradients_accumulate_without_zero_grad(seen: Seen, match: ast.Call) -> None:
    """Two steps on copies of the net with the cell's optimizer, input and criterion: without
    ``zero_grad()`` the second backward's grads add up; with it, its own."""
    torch = seen.torch
    optimizer, net_name, net = optimized_net(seen.namespace, syntax.receiver(match))
    found = _forward_and_loss(seen, net_name)
    assert found is not None, f"the cell does not compute loss = criterion({net_name}(x), y)"
    input, criterion, target = found

    def two_steps(zero_grad: bool):
        twin = objects.copy_with_grads(net)
        opt = type(optimizer)(twin.parameters(), **optimizer.defaults)
        opt.zero_grad()
        criterion(twin(input), target).backward()
        used = [p for p in twin.parameters() if p.grad is not None]  # the loss's parameters
        first = [p.grad.clone() for p in used]
        opt.step()
        if zero_grad:
            opt.zero_grad()
        loss = criterion(twin(input), target)
        own = torch.autograd.grad(loss, used, retain_graph=True)
        loss.backward()
        return first, own, [p.grad for p in used]

    first, own, summed = two_steps(zero_grad=False)
    assert_accumulates(first, own, summed, two_steps(zero_grad=True)[2])


def assert_accumulates(first: list, own: list, summed: list, new: list) -> None:
    """After a first step's gradients ``first``: without ``zero_grad`` the second backward
    leaves their sum with its own gradients ``own`` (``summed``); with it, its own (``new``)."""
    assert first, "the loss reaches none of the net's parameters"
    for a, b, without, cleared in zip(first, own, summed, new):
        assert a.abs().sum() > 0, "the first step left a zero gradient"
        # sums of float32 gradients: assert_close's defaults
        compare.assert_close(without, a + b, msg=lambda m: f"without zero_grad: {m}")
        compare.assert_close(cleared, b, msg=lambda m: f"after optimizer.zero_grad(): {m}")


def without_calls(code: ast.Module, calls: list[ast.Call]) -> ast.Module:
    """A copy of ``code`` whose statements that are one of ``calls`` are left out."""
    where = {(c.lineno, c.col_offset) for c in calls}

    class LeaveOut(ast.NodeTransformer):
        def visit_Expr(self, node: ast.Expr) -> ast.stmt:
            value = node.value
            if isinstance(value, ast.Call) and (value.lineno, value.col_offset) in where:
                return ast.copy_location(ast.Pass(), node)
            return node

    return ast.fix_missing_locations(LeaveOut().visit(copy.deepcopy(code)))


@probe("N13", SCRIPT, looks_for="optimizer.zero_grad(), loss.backward(), optimizer.step() in code "
       "the text shows", find=shown(find_training_step))  # fmt: skip
def gradients_accumulate_shown(seen: Seen, snippet: Seen) -> None:
    """The optimizer's step that the text shows, run against copies of the script's objects: run
    again without its ``zero_grad()``, the grads add up; with it, its own."""
    where = objects.shown_where(seen, snippet)
    name = syntax.receiver(find_training_step(snippet))
    first = objects.scratch(seen.namespace, snippet.tree)
    objects.run_code(snippet.tree, first, where)  # a step, as the text shows it
    _, net_name, net = optimized_net(first, name)
    used = [n for n, p in net.named_parameters() if p.grad is not None]
    cleared = without_calls(
        snippet.tree,
        [c for c in syntax.method_calls(snippet.tree, "zero_grad") if syntax.receiver(c) == name],
    )

    def second(code: ast.Module, buffers: bool) -> list:
        """The grads after ``code`` runs again, on copies of the first step's objects (their
        gradient buffers emptied where not ``buffers``)."""
        namespace = objects.scratch(first, snippet.tree)
        if not buffers:
            namespace[net_name].zero_grad(set_to_none=True)
        objects.run_code(code, namespace, where)
        grads = dict(namespace[net_name].named_parameters())
        return [grads[n].grad for n in used]

    own = second(cleared, buffers=False)
    assert_accumulates(
        [p.grad for n, p in net.named_parameters() if n in used], own,
        second(cleared, buffers=True), second(snippet.tree, buffers=True),
    )  # fmt: skip
    seen.note(
        f"{where}: without {name}.zero_grad() the second backward's grads are the sum of both "
        "steps'; with it, its own"
    )


def find_both_zero_grads(seen: Seen):
    """``<net>.zero_grad()`` and ``<optimizer>.zero_grad()`` in one cell (as code, or the net's
    named in the cell's comments beside the optimizer's call): the 2026 revision's pair."""
    if seen.tree is None:
        return None
    optimizers = optimizer_names(seen)
    calls_ = syntax.method_calls(seen.tree, "zero_grad")
    on_optimizer = [c for c in calls_ if syntax.receiver(c) in optimizers]
    on_other = [c for c in calls_ if syntax.receiver(c) and syntax.receiver(c) not in optimizers]
    if not on_optimizer:
        return None
    if on_other:
        return on_optimizer[0]
    optimizer = syntax.receiver(on_optimizer[0])
    made = [
        n.value for n in seen.nodes(ast.Assign)
        if syntax.single_target(n) == optimizer and isinstance(n.value, ast.Call)
    ]  # fmt: skip
    nets = {syntax.receiver(a) for m in made for a in m.args if isinstance(a, ast.Call)}
    comments = seen.comments()
    if any(n and re.search(re.escape(n) + r"\.zero_grad\(\)", comments) for n in nets):
        return on_optimizer[0]
    return None


@probe("N14", SCRIPT, looks_for="net.zero_grad() and optimizer.zero_grad() in one cell",
       find=find_both_zero_grads)  # fmt: skip
def net_and_optimizer_zero_grad_clear_the_same_buffers(seen: Seen, match: ast.Call) -> None:
    """``net.zero_grad()`` and ``optimizer.zero_grad()`` clear the same buffers, on copies: to
    None since torch 2.0 (the 2026 revision's words), to zeros before (drift)."""
    torch = seen.torch
    optimizer, _, net = optimized_net(
        seen.namespace, syntax.receiver(match),
        "the optimizer does not hold exactly the net's parameters: its zero_grad() clears "
        "other buffers than the net's",
    )  # fmt: skip
    # Both calls on copies whose buffers hold a gradient: the same parameters cleared alike.
    twins = [objects.copy_with_grads(net), objects.copy_with_grads(net)]
    for twin in twins:
        for p in twin.parameters():
            p.grad = torch.ones_like(p) if p.grad is None else p.grad
    twins[0].zero_grad()
    type(optimizer)(twins[1].parameters(), **optimizer.defaults).zero_grad()
    after = [[p.grad for p in twin.parameters()] for twin in twins]
    if objects.version_at_least(objects.SET_TO_NONE_DEFAULT_SINCE):
        for which, grads in zip(("net.zero_grad()", "optimizer.zero_grad()"), after):
            assert all(g is None for g in grads), f"{which} left a gradient that is not None"
    else:
        for grads in after:
            assert all(g is not None and not g.any() for g in grads), "a buffer is not zeroed"
        seen.drift(
            "the 2026 revision says both calls leave every grad None; torch "
            f"{torch.__version__}: both fill the buffers with zeros (set_to_none=True became "
            "the default in 2.0)"
        )
