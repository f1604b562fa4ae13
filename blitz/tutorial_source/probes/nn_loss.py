"""The claims of neural_networks_tutorial.py on the loss and backprop (see ``probes.base``):
N08 (``nn.MSELoss`` is the mean squared error), N09 (a walk along ``grad_fn`` follows the
graph the text draws), N10 (``zero_grad()`` clears the gradient buffers: None since torch 2.0,
drift), N11 (after ``backward``, conv1's bias has the loss's gradient).

The checks run on the script's own objects; what they compute again (the loss's gradient, a
``zero_grad`` of the buffers) they compute on copies (``objects.copy_with_grads``). Goldens are
compared at the printed precision only where ``seen.golden()``; the grad_fn chain whatever the
seed.
"""

from __future__ import annotations

import ast
import re

from blitz.tutorial_source.probes import compare, objects, printed_map, syntax
from blitz.tutorial_source.probes.base import Seen, calls, dotted, probe

SCRIPT = "neural_networks"

# The tutorial's printed outputs (the snapshot's build, seed 42; tests/test_nn.py holds the same)
PRINTED_LOSS = 1.3619
PRINTED_CONV1_BIAS_GRAD = (0.0081, -0.0080, -0.0039, 0.0150, 0.0003, -0.0105)
PRINTED_GRAD_FN_CHAIN = ("MseLossBackward0", "AddmmBackward0", "AccumulateGrad")
# The graph the tutorial draws, input first (the snapshot says flatten; older revisions view).
DOCUMENTED_GRAPH = (
    "conv2d", "relu", "maxpool2d", "conv2d", "relu", "maxpool2d",
    "flatten", "linear", "relu", "linear", "relu", "linear", "MSELoss",
)  # fmt: skip


# ----------------------------------------------------------------------------------------------
# Loss function: N08, N09


def loss_call(seen: Seen, criterion: str) -> ast.Call | None:
    """``loss = criterion(output, target)`` in the cell."""
    for call in seen.calls(criterion):
        if len(call.args) == 2 and syntax.bound_name(seen, call):
            return call
    return None


@probe("N08", SCRIPT, looks_for="a call of nn.MSELoss",
       find=calls("nn.MSELoss", "torch.nn.MSELoss", "MSELoss"))  # fmt: skip
def mse_loss_is_the_mean_squared_error(seen: Seen, match: ast.Call) -> None:
    """``nn.MSELoss`` gives the mean of the squared errors, with an ``MseLossBackward0``; the
    golden loss under the build's seed."""
    torch = seen.torch
    criterion_name = syntax.bound_name(seen, match)
    criterion = seen.value(criterion_name)
    assert isinstance(criterion, torch.nn.MSELoss), f"{criterion_name} is a {type(criterion)}"
    call = loss_call(seen, criterion_name)
    assert call is not None, f"the cell does not compute loss = {criterion_name}(output, target)"
    loss = seen.value(syntax.bound_name(seen, call))
    output, target = (syntax.evaluate(seen, a) for a in call.args)
    # (a target of another shape broadcasts against the output, as MSELoss does)
    mean_squared = ((output.detach() - target) ** 2).mean()
    # the loss and the formula sum in other orders: float32 defaults of assert_close
    compare.assert_close(
        loss.detach(), mean_squared,
        msg=f"the loss {loss.item():.4f} is not the mean squared error {mean_squared.item():.4f}",
    )  # fmt: skip
    assert type(loss.grad_fn).__name__ == "MseLossBackward0", type(loss.grad_fn).__name__
    printed_map.assert_printed_as_now(seen, "computes the loss")
    if seen.golden():
        compare.assert_golden(loss.detach(), torch.tensor(PRINTED_LOSS), "the loss")


def find_grad_fn_walk(seen: Seen):
    """``loss.grad_fn.next_functions[0][0]``: following grad_fn backwards."""
    for node in seen.nodes(ast.Attribute):
        chain = "." + dotted(node.value)
        if node.attr in ("next_functions", "previous_functions") and (
            ".grad_fn" in chain or ".creator" in chain  # creator: before torch 0.2
        ):
            return node
    return None


NODE_FAMILIES = {
    "Conv": "conv2d", "Relu": "relu", "Threshold": "relu", "MaxPool": "maxpool2d",
    "View": "flatten", "Reshape": "flatten", "Flatten": "flatten", "Addmm": "linear",
    "Linear": "linear", "MseLoss": "MSELoss",
}  # fmt: skip
TEXT_LAYERS = {"view": "flatten", "flatten": "flatten", "mseloss": "MSELoss"}


def layer_of(node) -> str | None:
    name = type(node).__name__
    return next((layer for family, layer in NODE_FAMILIES.items() if family in name), None)


def documented_graph(seen: Seen) -> tuple[str, ...]:
    """The layers of the text's ``input -> conv2d -> relu -> ...`` drawing, input first."""
    text = " ".join(seen.script_text.replace("#", " ").split())
    found = re.search(r"input\s*->\s*((?:[\w.]+\s*->\s*)+[\w.]+)", text)
    if not found:
        return DOCUMENTED_GRAPH
    layers = [w.strip() for w in found.group(1).split("->")]
    layers = [TEXT_LAYERS.get(w.lower(), w.lower()) for w in layers if w.lower() != "loss"]
    return tuple(layers)


@probe("N09", SCRIPT, looks_for="a walk along loss.grad_fn.next_functions",
       find=find_grad_fn_walk)  # fmt: skip
def grad_fn_walks_the_graph(seen: Seen, match: ast.Attribute) -> None:
    """Following ``grad_fn.next_functions`` prints the tutorial's chain, and the whole graph
    from the loss down to conv1's weight runs through the layers the text draws."""
    torch = seen.torch
    printed_map.assert_printed_as_now(seen, "follows grad_fn")
    printed = [
        syntax.evaluate(seen, call.args[0])
        for call in printed_map.print_calls(seen)
        if len(call.args) == 1 and syntax.pure(call.args[0])
    ]
    names = tuple(type(n).__name__ for n in printed)
    assert names == PRINTED_GRAD_FN_CHAIN[: len(names)] and names, (
        f"the walk printed {' -> '.join(names)}, not {' -> '.join(PRINTED_GRAD_FN_CHAIN)}"
    )
    # The nodes printed are a chain: each the first input of the one before.
    for before, after in zip(printed, printed[1:]):
        assert before.next_functions[0][0] is after, f"{type(after).__name__} does not follow"
    if len(names) == 3:
        third = [line for line in seen.source.splitlines() if "next_functions" in line]
        comment = third[-1].split("#", 1)[1].strip() if third and "#" in third[-1] else ""
        if comment and comment.lower() not in names[2].lower():
            seen.note(
                f"the code's comment calls the third node {comment!r}; it prints {names[2]} "
                "(the leaf of fc3's bias, AddmmBackward0's first input)"
            )
    # The whole graph: from the loss down to the first conv's weight, the documented layers.
    loss = printed[0]
    found = objects.leaves(loss)
    owner = next(
        (m for m in objects.modules_of(seen.namespace).values()
         if any(p is leaf for p in m.parameters() for leaf in found)),
        None,
    )  # fmt: skip
    assert owner is not None, "no module of the script owns the graph's parameters"
    convs = [m for m in owner.modules() if isinstance(m, torch.nn.Conv2d)]
    path = objects.path_to(loss, convs[0].weight) if convs else None
    assert path is not None, "the first conv's weight is not reachable from the loss"
    layers = tuple(layer for node in reversed(path) if (layer := layer_of(node)) is not None)
    documented = documented_graph(seen)
    assert layers == documented, (
        f"the graph runs {' -> '.join(layers)}; the text draws {' -> '.join(documented)}"
    )


# ----------------------------------------------------------------------------------------------
# Backprop: N10, N11


def _statement_calls(stmt: ast.stmt, method: str) -> bool:
    return bool(syntax.method_calls(stmt, method))


def find_zero_grad_print(seen: Seen):
    """``<net>.zero_grad()``, then a print of a ``.grad``, then ``.backward()``, in one cell."""
    tree = seen.tree
    if tree is None:
        return None
    zeroed = printed = None
    for stmt in tree.body:
        if zeroed is None and _statement_calls(stmt, "zero_grad"):
            zeroed = stmt
        elif zeroed is not None and printed is None and _prints_grad(stmt):
            printed = stmt
        elif printed is not None and _statement_calls(stmt, "backward"):
            return syntax.method_calls(zeroed, "zero_grad")[0]
    return None


def _prints_grad(stmt: ast.stmt) -> ast.Attribute | None:
    if (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Call)
        and dotted(stmt.value.func) == "print"
        and len(stmt.value.args) == 1
        and isinstance(stmt.value.args[0], ast.Attribute)
        and stmt.value.args[0].attr == "grad"
    ):
        return stmt.value.args[0]
    return None


@probe("N10", SCRIPT, looks_for="<net>.zero_grad(), a print of a .grad, then .backward()",
       find=find_zero_grad_print)  # fmt: skip
def zero_grad_clears_the_buffers(seen: Seen, match: ast.Call) -> None:
    """``zero_grad()`` clears every gradient buffer (on a copy): to None since torch 2.0, to
    zeros before, as the printed grad shows; the code's words or the tutorial's print drift."""
    torch = seen.torch
    net = syntax.evaluate(seen, match.func.value)
    assert isinstance(net, torch.nn.Module), f"zero_grad was called on a {type(net).__name__}"
    # What the cell printed before its backward: its print statements, read off its output.
    lines = seen.printed().splitlines()
    grad_printed = None
    for stmt in seen.tree.body:
        if _statement_calls(stmt, "backward"):
            break
        if not isinstance(stmt, ast.Expr) or dotted(getattr(stmt.value, "func", None)) != "print":
            continue
        assert lines, "the cell printed less than its print calls before backward"
        line = lines.pop(0)
        arg = stmt.value.args[0] if stmt.value.args else None
        if isinstance(arg, ast.Constant):
            assert line == str(arg.value), f"printed {line!r}, not {arg.value!r}"
        elif _prints_grad(stmt) is not None:
            grad_printed = (dotted(arg.value), line)
    assert grad_printed is not None, "nothing printed a .grad before backward"
    what, line = grad_printed
    # On a copy: every parameter's buffer after zero_grad, not only the one printed.
    twin = objects.copy_with_grads(net)
    assert any(p.grad is not None for p in twin.parameters()), "no gradient to clear"
    twin.zero_grad()
    cleared = [p.grad for p in twin.parameters()]
    if objects.version_at_least(objects.SET_TO_NONE_DEFAULT_SINCE):
        assert line == "None", f"{what}.grad printed {line!r} after zero_grad(), not None"
        assert all(g is None for g in cleared), "zero_grad() left a gradient"
        seen.drift(
            f"the code says zero_grad() zeroes the gradient buffers; torch {torch.__version__} "
            "sets every .grad to None (set_to_none=True, the default since 2.0): the script "
            f"prints None for {what}.grad, as the tutorial did"
        )
    else:
        assert all(g is not None and not g.any() for g in cleared), "zero_grad() left a value"
        assert "None" not in line, f"{what}.grad printed {line!r}: the buffer, zeroed, expected"
        seen.drift(
            f"the tutorial printed None after zero_grad(); torch {torch.__version__} fills the "
            "buffers with zeros (set_to_none=True became the default in 2.0)"
        )


def find_bias_grad_after_backward(seen: Seen):
    """``<loss>.backward()`` then a print of ``<...>.bias.grad``, in one cell."""
    tree = seen.tree
    if tree is None:
        return None
    backward = None
    for stmt in tree.body:
        if backward is None:
            found = [c for c in syntax.method_calls(stmt, "backward") if not c.args]
            backward = found[0] if found else None
        else:
            attr = _prints_grad(stmt)
            if attr is not None and dotted(attr.value).endswith(".bias"):
                return backward
    return None


@probe("N11", SCRIPT, looks_for="<loss>.backward() then print(<net>.conv1.bias.grad)",
       find=find_bias_grad_after_backward)  # fmt: skip
def conv1_bias_has_a_gradient(seen: Seen, match: ast.Call) -> None:
    """After backward, conv1's bias has a gradient, printed: the loss's, taken again from its
    output and target; the golden under the build's seed."""
    torch = seen.torch
    last = [s for s in seen.tree.body if _prints_grad(s) is not None][-1]
    attr = _prints_grad(last)
    bias = syntax.evaluate(seen, attr.value)
    grad = bias.grad
    assert grad is not None, f"{dotted(attr.value)}.grad is None after backward"
    assert grad.shape == bias.shape and grad.abs().sum() > 0, f"{dotted(attr)}: {grad}"
    printed = seen.printed()
    assert printed.rstrip("\n").endswith(str(grad)), (
        f"the cell's last print is not {dotted(attr)} ({str(grad)!r}): {printed!r}"
    )
    # The gradient is the loss's: the loss again from its output and target, differentiated.
    loss_name = syntax.receiver(match)
    made = syntax.script_value(seen, loss_name) if loss_name else None
    if isinstance(made, ast.Call) and len(made.args) == 2 and all(map(syntax.pure, made.args)):
        criterion = seen.value(dotted(made.func))
        target = syntax.evaluate(seen, made.args[1])
        output = syntax.script_value(seen, dotted(made.args[0]))
        if isinstance(output, ast.Call) and len(output.args) == 1 and syntax.pure(output.args[0]):
            net = seen.value(dotted(output.func))
            again = criterion(net(syntax.evaluate(seen, output.args[0])), target)
            (expected,) = torch.autograd.grad(again, [bias])
            compare.assert_close(grad, expected)  # same graph: float32 defaults
    if seen.golden():
        compare.assert_golden(grad, torch.tensor(PRINTED_CONV1_BIAS_GRAD), f"{dotted(attr)}")
