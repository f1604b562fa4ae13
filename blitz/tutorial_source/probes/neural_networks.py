"""The claims that neural_networks_tutorial.py states, and their checks (see ``probes.base``).

Each finder recognises the claim's code by what it does (a class that builds ``nn.Conv2d`` and
``nn.Linear`` layers and is printed, ``list(X.parameters())``, ``nn.MSELoss``, a walk along
``.grad_fn.next_functions``, ...) and reads the names the script binds from the cell's syntax
tree, so that a revision that moves a cell or renames ``net`` / ``input`` / ``loss`` is still
read. The checks run on the script's own objects; where they need to compute something (a
recount, an optimizer step), they do it on copies, and without drawing from the script's random
generators (``preserved_rng``), so the script's later cells see what they would have seen.

The goldens are what the tutorial printed under its build's seed (``probes.base.GOLDEN_SEED``):
compared at the printed precision (4 decimals: a printed v stands for v +- 5e-5), only where
``seen.golden()``. Outputs that do not depend on the seed (the printed module tree, the
grad_fn chain) are compared whatever the seed.

Helpers here that ``probes.cifar10`` shares (the API in ``probes.base`` has no equivalent):
``script_tree`` / ``script_value`` (a name's binding elsewhere in the script, read from the whole
file: a cell often uses what an earlier cell bound), ``bound_name``, ``receiver``, ``pure``
(an expression that can be evaluated again without side effects), ``reprinted`` (what the
cell's simple ``print`` calls print now), ``preserved_rng`` and ``copy_with_grads``.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import re
from collections.abc import Iterator
from typing import Any

from blitz.tutorial_source.probes.base import Seen, calls, dotted, name_matches, probe, prose

SCRIPT = "neural_networks"

# ----------------------------------------------------------------------------------------------
# The tutorial's printed outputs (the snapshot's build, seed 42; tests/test_nn.py holds the same)

# print(net), after its first line (the class's name: "Net(").
PRINTED_NET_BODY = (
    "  (conv1): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))",
    "  (conv2): Conv2d(6, 16, kernel_size=(5, 5), stride=(1, 1))",
    "  (fc1): Linear(in_features=400, out_features=120, bias=True)",
    "  (fc2): Linear(in_features=120, out_features=84, bias=True)",
    "  (fc3): Linear(in_features=84, out_features=10, bias=True)",
    ")",
)
PARAMETER_COUNT = 61_706
FIRST_PARAMETER_SHAPE = (6, 1, 5, 5)  # conv1's weight
PRINTED_OUT = (
    0.1453, -0.0590, -0.0065, 0.0905, 0.0146, -0.0805, -0.1211, -0.0394, -0.0181, -0.0136,
)  # fmt: skip
PRINTED_LOSS = 1.3619
PRINTED_CONV1_BIAS_GRAD = (0.0081, -0.0080, -0.0039, 0.0150, 0.0003, -0.0105)
PRINTED_GRAD_FN_CHAIN = ("MseLossBackward0", "AddmmBackward0", "AccumulateGrad")
# The graph the tutorial draws, input first (the snapshot says flatten; older revisions view).
DOCUMENTED_GRAPH = (
    "conv2d", "relu", "maxpool2d", "conv2d", "relu", "maxpool2d",
    "flatten", "linear", "relu", "linear", "relu", "linear", "MSELoss",
)  # fmt: skip
# A printed value with 4 decimals stands for the interval v +- 5e-5.
PRINTED_PRECISION = {"rtol": 0.0, "atol": 5e-5}

# Torch versions where the statements change: nn.Conv2d takes an unbatched (C, H, W) input since
# 1.11; zero_grad(set_to_none=True) is the default since 2.0.
UNBATCHED_CONV_SINCE = "1.11"
SET_TO_NONE_DEFAULT_SINCE = "2.0"


# ----------------------------------------------------------------------------------------------
# Reading the script's code (shared with probes.cifar10)


@functools.lru_cache(maxsize=8)
def _parse(text: str) -> ast.Module | None:
    try:
        return ast.parse(text)
    except SyntaxError:
        return None


def script_tree(seen: Seen) -> ast.Module | None:
    """The whole script's syntax tree (None where it does not parse or is not known: the
    static look at a cell that never ran has no script text)."""
    return _parse(seen.script_text) if seen.script_text else None


def script_value(seen: Seen, name: str) -> ast.expr | None:
    """The expression the script last binds to ``name`` (``name = <expr>``), in the cell or
    before it: the cell's own binding first, else the script's last one above the cell."""
    own = [n for n in seen.nodes(ast.Assign) if _single_target(n) == name]
    if own:
        return own[-1].value
    tree = script_tree(seen)
    if tree is None:
        return None
    found = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Assign) and _single_target(n) == name and n.lineno < seen.lineno
    ]
    return max(found, key=lambda n: n.lineno).value if found else None


def _single_target(node: ast.Assign) -> str | None:
    if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
        return node.targets[0].id
    return None


def bound_name(seen: Seen, value: ast.AST) -> str | None:
    """The name the cell binds ``value`` (a node of its tree) to: ``name = value``."""
    for node in seen.nodes(ast.Assign):
        if node.value is value:
            return _single_target(node)
    return None


def bound_names(seen: Seen, value: ast.AST) -> list[str]:
    """The names of ``a, b = value``, in order (one name for ``a = value``)."""
    for node in seen.nodes(ast.Assign):
        if node.value is value and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                return [target.id]
            if isinstance(target, (ast.Tuple, ast.List)):
                return [e.id if isinstance(e, ast.Name) else "" for e in target.elts]
    return []


def _bound_around(seen: Seen, inner: ast.AST) -> str | None:
    """The name the cell binds an expression holding ``inner`` to (``x = Variable(inner)``)."""
    for node in seen.nodes(ast.Assign):
        if any(n is inner for n in ast.walk(node.value)):
            return _single_target(node)
    return None


def receiver(call: ast.Call) -> str | None:
    """``a.b`` of the call ``a.b.method(...)``; None for a plain function call."""
    if isinstance(call.func, ast.Attribute):
        return dotted(call.func.value)
    return None


def method_calls(node: ast.AST, method: str) -> list[ast.Call]:
    """The calls ``<anything>.method(...)`` under ``node``, in the file's order."""
    found = [
        n
        for n in ast.walk(node)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == method
    ]
    return sorted(found, key=lambda n: (n.lineno, n.col_offset))


def calls_under(node: ast.AST, name: str) -> list[ast.Call]:
    found = [
        n for n in ast.walk(node) if isinstance(n, ast.Call) and name_matches(dotted(n.func), name)
    ]
    return sorted(found, key=lambda n: (n.lineno, n.col_offset))


def constant_ints(call: ast.Call) -> list[int] | None:
    """The positional arguments of ``call`` when all are integer literals."""
    values = []
    for arg in call.args:
        if not (isinstance(arg, ast.Constant) and type(arg.value) is int):
            return None
        values.append(arg.value)
    return values


def keyword(call: ast.Call, name: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    return None


# Expressions that evaluating again changes nothing: names, attributes, indexing by literals,
# and a few calls that only read (len, .size(), .item(), .dim()).
_PURE_NODES = (
    ast.Expression, ast.Name, ast.Load, ast.Attribute, ast.Subscript, ast.Constant, ast.Tuple,
    ast.Slice, ast.UnaryOp, ast.USub,
)  # fmt: skip
_PURE_CALLS = ("len", ".size", ".item", ".dim", "type", "str")


def pure(expr: ast.AST) -> bool:
    for node in ast.walk(expr):
        if isinstance(node, ast.Call):
            if not any(name_matches(dotted(node.func), n) for n in _PURE_CALLS) or node.keywords:
                return False
        elif isinstance(node, ast.expr_context) or type(node).__name__ == "Index":
            continue
        elif not isinstance(node, _PURE_NODES) and not isinstance(node, ast.Call):
            return False
    return True


def evaluate(seen: Seen, expr: ast.expr) -> Any:
    """The value of ``expr`` (a ``pure`` one) in the cell's namespace now."""
    code = compile(ast.Expression(body=expr), f"<{seen.script} line {seen.line(expr)}>", "eval")
    return eval(code, {}, dict(seen.namespace or {}))  # noqa: S307 - the script's own expression


def print_calls(seen: Seen) -> list[ast.Call]:
    """The cell's top-level ``print(...)`` statements, in order."""
    tree = seen.tree
    if tree is None:
        return []
    out = []
    for stmt in tree.body:
        if (
            isinstance(stmt, ast.Expr)
            and isinstance(stmt.value, ast.Call)
            and dotted(stmt.value.func) == "print"
        ):
            out.append(stmt.value)
    return out


def reprinted(seen: Seen) -> str | None:
    """What the cell's output would be if its top-level statements were only its ``print``
    calls of ``pure`` arguments, evaluated now; None where the cell does anything else that
    prints (another statement printing, an impure argument, ``sep``/``end``/``file``)."""
    tree = seen.tree
    if tree is None:
        return None
    text = []
    for stmt in tree.body:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            call = stmt.value
            if dotted(call.func) != "print":
                return None
            if call.keywords or not all(pure(a) for a in call.args):
                return None
            text.append(" ".join(str(evaluate(seen, a)) for a in call.args) + "\n")
        elif isinstance(stmt, ast.Expr):
            return None  # a bare expression: shown by sphinx-gallery
    return "".join(text)


def assert_printed_as_now(seen: Seen, what: str) -> None:
    """The cell printed what its print calls give for the namespace's values now; where blitz
    cannot re-read its prints (another statement prints, an argument with side effects), that
    part is not checked (the claim reads partial) and the output stays unread."""
    expected = reprinted(seen)
    if expected is None:
        seen.unchecked(f"the output of the cell that {what} (blitz cannot re-read its prints)")
        return
    printed = seen.printed()
    assert printed == expected, (
        f"the cell that {what} printed {printed!r}, but its print calls give {expected!r}"
    )


def assert_golden(actual, golden, what: str) -> None:
    """``actual`` is the tutorial's printed ``golden`` at the printed precision (4 decimals)."""
    import torch

    def shown(t) -> str:
        values = t.detach().flatten().tolist()
        return ", ".join(f"{v:.4f}" for v in values)

    torch.testing.assert_close(
        actual, golden, **PRINTED_PRECISION,
        msg=lambda _: f"{what} is [{shown(actual)}]; the tutorial printed [{shown(golden)}] "
        "(seed 42, 4 decimals)",
    )  # fmt: skip


@contextlib.contextmanager
def preserved_rng() -> Iterator[None]:
    """The script's random generators (torch, random, numpy) as they were, after a check that
    draws from them (a DataLoader's iterator draws its base seed even without shuffling)."""
    import random

    import torch

    state = torch.get_rng_state()
    python = random.getstate()
    try:
        import numpy

        numpy_state = numpy.random.get_state()
    except ImportError:  # pragma: no cover - numpy comes with torchvision
        numpy, numpy_state = None, None
    try:
        yield
    finally:
        torch.set_rng_state(state)
        random.setstate(python)
        if numpy is not None:
            numpy.random.set_state(numpy_state)


def copy_with_grads(module):
    """A deep copy of ``module`` whose parameters carry copies of its ``.grad`` too
    (``copy.deepcopy`` leaves them out)."""
    import copy

    twin = copy.deepcopy(module)
    for p, q in zip(module.parameters(), twin.parameters()):
        q.grad = None if p.grad is None else p.grad.detach().clone()
    return twin


def version_at_least(version: str) -> bool:
    import torch
    from torch.torch_version import TorchVersion

    return TorchVersion(torch.__version__) >= version


def modules_of(seen: Seen):
    """The nn.Module instances of the namespace, by name."""
    torch = seen.torch
    return {name: v for name, v in (seen.namespace or {}).items() if isinstance(v, torch.nn.Module)}


def owner_of(seen: Seen, parameters) -> tuple[str, Any] | None:
    """The namespace's module whose parameters are exactly ``parameters`` (the same objects)."""
    wanted = [id(p) for p in parameters]
    for name, module in modules_of(seen).items():
        if [id(p) for p in module.parameters()] == wanted:
            return name, module
    return None


# ----------------------------------------------------------------------------------------------
# Define the network: N01, N02, N03, N05


def net_classes(seen: Seen) -> list[ast.ClassDef]:
    """Classes of the cell whose methods build both ``Conv2d`` and ``Linear`` layers."""
    found = []
    for cls in seen.nodes(ast.ClassDef):
        if calls_under(cls, ".Conv2d") and calls_under(cls, ".Linear"):
            found.append(cls)
    return found


def instantiation(seen: Seen, cls: ast.ClassDef) -> tuple[str, ast.Call] | None:
    """``name = Cls(...)`` in the cell: (name, the call)."""
    for call in seen.calls(cls.name):
        name = bound_name(seen, call)
        if name:
            return name, call
    return None


def find_printed_net(seen: Seen):
    """A class built of Conv2d and Linear layers, instantiated and printed in the same cell."""
    for cls in net_classes(seen):
        made = instantiation(seen, cls)
        if made is None:
            continue
        for call in seen.calls("print"):
            if len(call.args) == 1 and dotted(call.args[0]) == made[0]:
                return call
    return None


@probe("N01", SCRIPT, looks_for="a class of Conv2d and Linear layers, instantiated and printed",
       find=find_printed_net)  # fmt: skip
def lenet_prints_as_shown(seen: Seen, match: ast.Call) -> None:
    net = seen.value(dotted(match.args[0]))
    text = str(net)
    printed = seen.printed()
    assert printed.strip() == text, f"the cell printed {printed!r}, not the net ({text!r})"
    # The module tree is the golden whatever the seed: the layers, their sizes and order.
    lines = text.splitlines()
    body = tuple(lines[1:])
    if body != PRINTED_NET_BODY:
        diff = [
            f"{got!r} instead of {want!r}"
            for got, want in zip(body + ("",) * 6, PRINTED_NET_BODY)
            if got != want
        ]
        raise AssertionError(f"print(net) is not the tutorial's: {'; '.join(diff)}")
    if lines[0] != "Net(":
        seen.note(f"the class is called {type(net).__name__} (the tutorial printed Net(...))")


def find_parameter_list(seen: Seen):
    """``params = list(<net>.parameters())``."""
    for call in seen.calls("list"):
        if (
            len(call.args) == 1
            and isinstance(call.args[0], ast.Call)
            and isinstance(call.args[0].func, ast.Attribute)
            and call.args[0].func.attr == "parameters"
            and bound_name(seen, call)
        ):
            return call
    return None


@probe("N02", SCRIPT, looks_for="params = list(<net>.parameters())", find=find_parameter_list)
def parameters_are_the_learnable_tensors(seen: Seen, match: ast.Call) -> None:
    torch = seen.torch
    params = seen.value(bound_name(seen, match))
    net_expr = match.args[0].func.value
    net = evaluate(seen, net_expr) if pure(net_expr) else None
    assert isinstance(net, torch.nn.Module), f"{dotted(net_expr)} is not a module: {type(net)}"
    assert [id(p) for p in params] == [id(p) for p in net.parameters()], (
        "the list is not the net's parameters"
    )
    assert len(params) == 10, f"{len(params)} learnable tensors, not 10"
    assert tuple(params[0].size()) == FIRST_PARAMETER_SHAPE, (
        f"params[0].size() is {tuple(params[0].size())}, not {FIRST_PARAMETER_SHAPE}"
    )
    assert all(p.requires_grad for p in params), "a parameter does not require grad"
    total = sum(p.numel() for p in params)
    assert total == PARAMETER_COUNT, f"{total:,} parameters, not {PARAMETER_COUNT:,}"
    assert_printed_as_now(seen, "lists the parameters")


def find_net_on_random_batch(seen: Seen):
    """``out = <net>(input)`` with ``input = torch.randn(1, C, 32, 32)`` in the same cell: the
    net applied to a random 32x32 input, a batch of one."""
    for randn in seen.calls("torch.randn"):
        dims = constant_ints(randn)
        if not dims or len(dims) != 4 or dims[0] != 1 or dims[2:] != [32, 32]:
            continue
        name = bound_name(seen, randn) or _bound_around(seen, randn)
        if not name:
            continue
        for node in seen.nodes(ast.Call):
            if (
                isinstance(node.func, ast.Name)
                and len(node.args) == 1
                and dotted(node.args[0]) == name
                and bound_name(seen, node)
            ):
                return node
    return None


@probe("N03", SCRIPT, looks_for="out = <net>(torch.randn(1, 1, 32, 32))",
       find=find_net_on_random_batch)  # fmt: skip
def random_input_gives_ten_outputs(seen: Seen, match: ast.Call) -> None:
    torch = seen.torch
    net = seen.value(match.func.id)
    input = seen.value(match.args[0].id)
    out = seen.value(bound_name(seen, match))
    assert tuple(out.shape) == (1, 10), f"the output has shape {tuple(out.shape)}, not (1, 10)"
    assert type(out.grad_fn).__name__ == "AddmmBackward0", (
        f"the output's grad_fn is {type(out.grad_fn).__name__}, not AddmmBackward0"
    )
    with torch.no_grad():
        again = net(input)
    # The same net, input and kernels: the same bits.
    torch.testing.assert_close(again, out.detach(), rtol=0, atol=0)
    assert_printed_as_now(seen, "runs the net")
    if seen.golden():
        assert_golden(out.detach(), torch.tensor([PRINTED_OUT]), "the output")


MINI_BATCH_NOTE = r"only\s+supports\s+mini-?batches"


def states_mini_batches_only(seen: Seen):
    """The script's text says ``torch.nn`` only supports mini-batches (the note)."""
    return re.search(MINI_BATCH_NOTE, " ".join(seen.script_text.split()), re.I)


def find_mini_batch_demo(seen: Seen):
    match = find_net_on_random_batch(seen)
    return match if match is not None and states_mini_batches_only(seen) else None


prose("N05", SCRIPT, MINI_BATCH_NOTE, looks_for="the note 'torch.nn only supports mini-batches'")
prose(
    "N06", SCRIPT, r"nn\.Parameter.{0,120}?automatically\s+registered",
    looks_for="'nn.Parameter ... automatically registered as a parameter' in the text",
)  # fmt: skip
prose(
    "N07", SCRIPT, r"helpers\s+for\s+moving\s+them\s+to\s+(the\s+)?GPU",
    looks_for="'nn.Module ... helpers for moving them to GPU, exporting, loading' in the text",
)  # fmt: skip


@probe("N05", SCRIPT,
       looks_for="the note 'torch.nn only supports mini-batches' beside the net's batch of one",
       find=find_mini_batch_demo)  # fmt: skip
def nn_takes_mini_batches(seen: Seen, match: ast.Call) -> None:
    torch = seen.torch
    net = seen.value(match.func.id)
    input = seen.value(match.args[0].id)
    sample = input[0]  # one (C, H, W) sample, no batch dimension
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs, "the net has no nn.Conv2d"
    with torch.no_grad():
        batched_out = net(input)
        out = net(sample.unsqueeze(0))  # the note's advice
        assert tuple(out.shape) == (1, 10), f"net(x.unsqueeze(0)) has shape {tuple(out.shape)}"
        torch.testing.assert_close(out, batched_out, rtol=0, atol=0)  # the same input
        try:
            unbatched = convs[0](sample)
        except RuntimeError as exc:
            # What the note says: nn.Conv2d refuses a single sample (torch < 1.11).
            assert not version_at_least(UNBATCHED_CONV_SINCE), f"nn.Conv2d refused: {exc}"
            return
        # The same kernel on the input with a batch of one added: exact.
        torch.testing.assert_close(unbatched, convs[0](input)[0], rtol=0, atol=0)
        try:
            whole = net(sample)
        except RuntimeError as exc:
            seen.drift(
                "the note says all of torch.nn takes mini-batches only; torch "
                f"{torch.__version__}: nn.Conv2d takes an unbatched (C, H, W) input "
                f"(shape {tuple(unbatched.shape)}), but the script's net refuses one "
                f"({str(exc).splitlines()[0]}): its flatten keeps dim 0 as the batch, so "
                "unsqueeze(0) is still needed"
            )
        else:
            seen.drift(
                "the note says all of torch.nn takes mini-batches only; torch "
                f"{torch.__version__}: nn.Conv2d takes an unbatched (C, H, W) input, and so "
                f"does the script's net (output shape {tuple(whole.shape)})"
            )


# ----------------------------------------------------------------------------------------------
# Backward with random gradients: N04


def zero_grad_receivers(node: ast.AST) -> list[str]:
    return [receiver(c) or "" for c in method_calls(node, "zero_grad")]


def find_random_backward(seen: Seen):
    """``<net>.zero_grad()`` then ``<out>.backward(torch.randn(...))`` in one cell."""
    if seen.tree is None or not zero_grad_receivers(seen.tree):
        return None
    for call in method_calls(seen.tree, "backward"):
        if call.args and calls_under(call.args[0], "torch.randn"):
            return call
    return None


@probe("N04", SCRIPT, looks_for="<net>.zero_grad(); <out>.backward(torch.randn(1, 10))",
       find=find_random_backward)  # fmt: skip
def backward_with_random_gradients(seen: Seen, match: ast.Call) -> None:
    torch = seen.torch
    net = evaluate(seen, ast.parse(zero_grad_receivers(seen.tree)[0], mode="eval").body)
    assert isinstance(net, torch.nn.Module), f"zero_grad was called on a {type(net).__name__}"
    params = dict(net.named_parameters())
    for name, p in params.items():
        assert p.grad is not None, f"{name}.grad is None after backward"
        assert p.grad.shape == p.shape, f"{name}.grad has shape {tuple(p.grad.shape)}"
        assert p.grad.abs().sum() > 0, f"{name}.grad is all zeros"
    # The random gradient is not kept; the last Linear's bias receives it whole (a batch of one).
    out_name = receiver(match)
    out = seen.value(out_name)
    linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    gradient = linears[-1].bias.grad.reshape(out.shape)
    # Every grad is the gradient of this one backward (nothing left over from before): the same
    # as autograd.grad of the net's output with that gradient. out's graph was freed by the
    # backward: the output again, from the input the script gave the net.
    made = script_value(seen, out_name)
    if not (
        isinstance(made, ast.Call) and len(made.args) == 1 and isinstance(made.args[0], ast.Name)
    ):
        seen.unchecked(f"the grads against autograd (blitz did not find how {out_name} was made)")
        return
    input = seen.value(made.args[0].id)
    again = net(input)
    expected = torch.autograd.grad(again, list(params.values()), gradient)
    for (name, p), grad in zip(params.items(), expected):
        # the same graph and kernels: equal up to float32 rounding (assert_close's defaults)
        torch.testing.assert_close(p.grad, grad, msg=lambda m, n=name: f"{n}.grad: {m}")


# ----------------------------------------------------------------------------------------------
# Loss function: N08, N09


def loss_call(seen: Seen, criterion: str) -> ast.Call | None:
    """``loss = criterion(output, target)`` in the cell."""
    for call in seen.calls(criterion):
        if len(call.args) == 2 and bound_name(seen, call):
            return call
    return None


@probe("N08", SCRIPT, looks_for="a call of nn.MSELoss",
       find=calls("nn.MSELoss", "torch.nn.MSELoss", "MSELoss"))  # fmt: skip
def mse_loss_is_the_mean_squared_error(seen: Seen, match: ast.Call) -> None:
    torch = seen.torch
    criterion_name = bound_name(seen, match)
    criterion = seen.value(criterion_name)
    assert isinstance(criterion, torch.nn.MSELoss), f"{criterion_name} is a {type(criterion)}"
    call = loss_call(seen, criterion_name)
    assert call is not None, f"the cell does not compute loss = {criterion_name}(output, target)"
    loss = seen.value(bound_name(seen, call))
    output, target = (evaluate(seen, a) for a in call.args)
    # (a target of another shape broadcasts against the output, as MSELoss does)
    mean_squared = ((output.detach() - target) ** 2).mean()
    # the loss and the formula sum in other orders: float32 defaults of assert_close
    torch.testing.assert_close(
        loss.detach(), mean_squared,
        msg=f"the loss {loss.item():.4f} is not the mean squared error {mean_squared.item():.4f}",
    )  # fmt: skip
    assert type(loss.grad_fn).__name__ == "MseLossBackward0", type(loss.grad_fn).__name__
    assert_printed_as_now(seen, "computes the loss")
    if seen.golden():
        assert_golden(loss.detach(), torch.tensor(PRINTED_LOSS), "the loss")


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


def path_to(root, leaf) -> list | None:
    """The nodes from ``root`` down to the AccumulateGrad of ``leaf``."""
    if getattr(root, "variable", None) is leaf:
        return [root]
    for next_node, _ in root.next_functions:
        if next_node is not None and (path := path_to(next_node, leaf)) is not None:
            return [root, *path]
    return None


def graph_leaves(root) -> list:
    seen, stack, leaves = set(), [root], []
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        if hasattr(node, "variable"):
            leaves.append(node.variable)
        stack.extend(n for n, _ in node.next_functions)
    return leaves


@probe("N09", SCRIPT, looks_for="a walk along loss.grad_fn.next_functions",
       find=find_grad_fn_walk)  # fmt: skip
def grad_fn_walks_the_graph(seen: Seen, match: ast.Attribute) -> None:
    torch = seen.torch
    assert_printed_as_now(seen, "follows grad_fn")
    printed = [
        evaluate(seen, call.args[0])
        for call in print_calls(seen)
        if len(call.args) == 1 and pure(call.args[0])
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
    leaves = graph_leaves(loss)
    owner = next(
        (m for m in modules_of(seen).values()
         if any(p is leaf for p in m.parameters() for leaf in leaves)),
        None,
    )  # fmt: skip
    assert owner is not None, "no module of the script owns the graph's parameters"
    convs = [m for m in owner.modules() if isinstance(m, torch.nn.Conv2d)]
    path = path_to(loss, convs[0].weight) if convs else None
    assert path is not None, "the first conv's weight is not reachable from the loss"
    layers = tuple(layer for node in reversed(path) if (layer := layer_of(node)) is not None)
    documented = documented_graph(seen)
    assert layers == documented, (
        f"the graph runs {' -> '.join(layers)}; the text draws {' -> '.join(documented)}"
    )


# ----------------------------------------------------------------------------------------------
# Backprop: N10, N11


def _statement_calls(stmt: ast.stmt, method: str) -> bool:
    return bool(method_calls(stmt, method))


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
            return method_calls(zeroed, "zero_grad")[0]
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
    torch = seen.torch
    net = evaluate(seen, match.func.value)
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
    twin = copy_with_grads(net)
    assert any(p.grad is not None for p in twin.parameters()), "no gradient to clear"
    twin.zero_grad()
    cleared = [p.grad for p in twin.parameters()]
    if version_at_least(SET_TO_NONE_DEFAULT_SINCE):
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
            found = [c for c in method_calls(stmt, "backward") if not c.args]
            backward = found[0] if found else None
        else:
            attr = _prints_grad(stmt)
            if attr is not None and dotted(attr.value).endswith(".bias"):
                return backward
    return None


@probe("N11", SCRIPT, looks_for="<loss>.backward() then print(<net>.conv1.bias.grad)",
       find=find_bias_grad_after_backward)  # fmt: skip
def conv1_bias_has_a_gradient(seen: Seen, match: ast.Call) -> None:
    torch = seen.torch
    last = [s for s in seen.tree.body if _prints_grad(s) is not None][-1]
    attr = _prints_grad(last)
    bias = evaluate(seen, attr.value)
    grad = bias.grad
    assert grad is not None, f"{dotted(attr.value)}.grad is None after backward"
    assert grad.shape == bias.shape and grad.abs().sum() > 0, f"{dotted(attr)}: {grad}"
    printed = seen.printed()
    assert printed.rstrip("\n").endswith(str(grad)), (
        f"the cell's last print is not {dotted(attr)} ({str(grad)!r}): {printed!r}"
    )
    # The gradient is the loss's: the loss again from its output and target, differentiated.
    loss_name = receiver(match)
    made = script_value(seen, loss_name) if loss_name else None
    if isinstance(made, ast.Call) and len(made.args) == 2 and all(map(pure, made.args)):
        criterion = seen.value(dotted(made.func))
        target = evaluate(seen, made.args[1])
        output = script_value(seen, dotted(made.args[0]))
        if isinstance(output, ast.Call) and len(output.args) == 1 and pure(output.args[0]):
            net = seen.value(dotted(output.func))
            again = criterion(net(evaluate(seen, output.args[0])), target)
            (expected,) = torch.autograd.grad(again, [bias])
            torch.testing.assert_close(grad, expected)  # same graph: float32 defaults
    if seen.golden():
        assert_golden(grad, torch.tensor(PRINTED_CONV1_BIAS_GRAD), f"{dotted(attr)}")


# ----------------------------------------------------------------------------------------------
# Update the weights: N12, N13, N14


def _mentions_grad(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Attribute) and n.attr == "grad" for n in ast.walk(node))


def find_data_sub_update(seen: Seen):
    """``for f in <net>.parameters(): f.data.sub_(f.grad.data * lr)``."""
    for loop in seen.nodes(ast.For):
        if not (isinstance(loop.iter, ast.Call) and dotted(loop.iter.func).endswith(".parameters")):
            continue
        for call in method_calls(loop, "sub_"):
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


prose(
    "N12", SCRIPT,
    r"\.data\.sub_\(\s*\w+\.grad(\.data)?\s*\*\s*\w+\s*\)|\w+\s*-=\s*\w+\.grad\s*\*\s*\w+",
    looks_for="the update by hand (f.data.sub_(f.grad.data * lr) or f -= f.grad * lr) in text",
)  # fmt: skip
prose(
    "N13", SCRIPT, r"optimizer\.zero_grad\(\).{0,400}?(accumulated|zero)",
    looks_for="optimizer.zero_grad() and gradient accumulation in the text",
)  # fmt: skip


def _loop_net(seen: Seen, loop: ast.For):
    """The module whose ``.parameters()`` the loop walks, and its name."""
    torch = seen.torch
    expr = loop.iter.func.value
    assert pure(expr), f"blitz cannot re-read {dotted(expr)}"
    net = evaluate(seen, expr)
    assert isinstance(net, torch.nn.Module), f"{dotted(expr)} is a {type(net).__name__}"
    return dotted(expr), net


def _learning_rate(seen: Seen, node: ast.AST, loop_var: str) -> float:
    """The number the update multiplies the gradient by: a literal, or a name of the script."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.BinOp) and isinstance(sub.op, ast.Mult):
            for side in (sub.left, sub.right):
                if isinstance(side, ast.Constant) and isinstance(side.value, (int, float)):
                    return float(side.value)
                if isinstance(side, ast.Name) and side.id != loop_var:
                    value = (seen.namespace or {}).get(side.id)
                    if isinstance(value, (int, float)):
                        return float(value)
    raise AssertionError("the update multiplies the gradient by no learning rate blitz can read")


def _run_on_copy(seen: Seen, stmt: ast.stmt, root: str, twin) -> None:
    """Run the cell's statement ``stmt`` again with ``root`` (the net's name) bound to ``twin``."""
    namespace = dict(seen.namespace or {})
    namespace[root] = twin
    code = compile(ast.Module(body=[stmt], type_ignores=[]), f"<{seen.script}>", "exec")
    exec(code, namespace)  # noqa: S102 - the script's own statement, on a copy of its net


def _snapshot(net) -> dict:
    return {name: p.detach().clone() for name, p in net.named_parameters()}


@probe("N12", SCRIPT, looks_for="for f in net.parameters(): f.data.sub_(f.grad.data * lr)",
       find=find_data_sub_update)  # fmt: skip
def sgd_by_hand_data_form(seen: Seen, match: ast.For) -> None:
    torch = seen.torch
    root, net = _loop_net(seen, match)
    lr = _learning_rate(seen, match, getattr(match.target, "id", ""))
    assert all(p.grad is not None for p in net.parameters()), "a parameter has no gradient"
    # The script's update has run on its net; the same statement again, on a copy, against
    # optim.SGD's step from the same parameters and gradients.
    before = _snapshot(net)
    by_hand, with_optim = copy_with_grads(net), copy_with_grads(net)
    _run_on_copy(seen, match, root.split(".")[0], by_hand)
    torch.optim.SGD(with_optim.parameters(), lr=lr).step()
    for (name, hand), optimized in zip(by_hand.named_parameters(), with_optim.parameters()):
        assert not torch.equal(hand.detach(), before[name]), f"{name}: unchanged by the update"
        expected = before[name] - lr * hand.grad
        # weight = weight - learning_rate * gradient, and optim.SGD: up to float32 rounding
        # (assert_close's defaults; not bitwise: SGD's fused add rounds differently)
        torch.testing.assert_close(hand.detach(), expected, msg=lambda m, n=name: f"{n}: {m}")
        torch.testing.assert_close(optimized.detach(), hand.detach(),
                                   msg=lambda m, n=name: f"{n} (optim.SGD): {m}")  # fmt: skip


@probe("N12", SCRIPT,
       looks_for="with torch.no_grad(): for f in net.parameters(): f -= f.grad * lr",
       find=find_no_grad_update)  # fmt: skip
def sgd_by_hand_no_grad_form(seen: Seen, match: ast.With) -> None:
    torch = seen.torch
    loop = next(n for n in ast.walk(match) if isinstance(n, ast.For))
    root, net = _loop_net(seen, loop)
    lr = _learning_rate(seen, loop, getattr(loop.target, "id", ""))
    parameters = list(net.parameters())
    for f in parameters:  # still the net's leaves, updated in place
        assert isinstance(f, torch.nn.Parameter) and f.requires_grad and f.grad_fn is None
    before = _snapshot(net)
    under_no_grad, by_data, with_optim = (copy_with_grads(net) for _ in range(3))
    _run_on_copy(seen, match, root.split(".")[0], under_no_grad)
    for f in by_data.parameters():
        f.data.sub_(f.grad.data * lr)
    torch.optim.SGD(with_optim.parameters(), lr=lr).step()
    named = zip(under_no_grad.named_parameters(), by_data.parameters(), with_optim.parameters())
    for (name, f), data_form, optimized in named:
        assert not torch.equal(f.detach(), before[name]), f"{name}: unchanged by the update"
        # The same in-place subtraction of the same product as the .data form: the same bits.
        torch.testing.assert_close(f.detach(), data_form.detach(), rtol=0, atol=0,
                                   msg=lambda m, n=name: f"{n} (.data form): {m}")  # fmt: skip
        # optim.SGD: up to float32 rounding (assert_close's defaults), as for the .data form.
        torch.testing.assert_close(optimized.detach(), f.detach(),
                                   msg=lambda m, n=name: f"{n} (optim.SGD): {m}")  # fmt: skip


def optimizer_names(seen: Seen) -> set[str]:
    """Names the cell or the script binds to ``optim.<X>(...)`` / ``torch.optim.<X>(...)``."""
    names = set()
    trees = [seen.tree] + ([script_tree(seen)] if script_tree(seen) is not None else [])
    for tree in trees:
        if tree is None:
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Call)
                and re.match(r"^(torch\.)?optim\.\w+$", dotted(node.value.func))
                and _single_target(node)
            ):
                names.add(_single_target(node))
    return names


def find_training_step(seen: Seen):
    """``<optimizer>.zero_grad()``, ``<loss>.backward()``, ``<optimizer>.step()`` in one cell,
    the optimizer made by ``optim.<X>(...)``."""
    if seen.tree is None:
        return None
    optimizers = optimizer_names(seen)
    stepped = {receiver(c) for c in method_calls(seen.tree, "step")} & optimizers
    for call in method_calls(seen.tree, "zero_grad"):
        if receiver(call) in stepped and method_calls(seen.tree, "backward"):
            return call
    return None


def _forward_and_loss(seen: Seen, net_name: str):
    """From the cell (else the script): the net's input, the criterion and the target of
    ``output = net(input); loss = criterion(output, target)``."""
    forward = None
    for node in seen.nodes(ast.Call):
        if dotted(node.func) == net_name and len(node.args) == 1 and bound_name(seen, node):
            forward = node
    if forward is None:
        return None
    output = bound_name(seen, forward)
    for node in seen.nodes(ast.Call):
        if (
            len(node.args) == 2
            and dotted(node.args[0]) == output
            and isinstance(node.func, ast.Name)
        ):
            if all(map(pure, (forward.args[0], node.args[1]))):
                return (evaluate(seen, forward.args[0]), seen.value(node.func.id),
                        evaluate(seen, node.args[1]))  # fmt: skip
    return None


@probe("N13", SCRIPT,
       looks_for="optimizer.zero_grad(), loss.backward(), optimizer.step() run as code",
       find=find_training_step)  # fmt: skip
def gradients_accumulate_without_zero_grad(seen: Seen, match: ast.Call) -> None:
    torch = seen.torch
    optimizer = seen.value(receiver(match))
    assert isinstance(optimizer, torch.optim.Optimizer), f"{receiver(match)} is no optimizer"
    parameters = [p for group in optimizer.param_groups for p in group["params"]]
    owner = owner_of(seen, parameters)
    assert owner is not None, "the optimizer does not hold exactly a module's parameters"
    net_name, net = owner
    found = _forward_and_loss(seen, net_name)
    assert found is not None, f"the cell does not compute loss = criterion({net_name}(x), y)"
    input, criterion, target = found

    def two_steps(zero_grad: bool):
        twin = copy_with_grads(net)
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

    first, own, left = two_steps(zero_grad=False)
    assert first, "the loss reaches none of the net's parameters"
    for grad, a, b in zip(left, first, own):
        assert a.abs().sum() > 0, "the first step left a zero gradient"
        # sums of float32 gradients: assert_close's defaults
        torch.testing.assert_close(grad, a + b, msg=lambda m: f"without zero_grad: {m}")
    first, own, left = two_steps(zero_grad=True)
    for grad, b in zip(left, own):
        torch.testing.assert_close(grad, b, msg=lambda m: f"after optimizer.zero_grad(): {m}")


def find_both_zero_grads(seen: Seen):
    """``<net>.zero_grad()`` and ``<optimizer>.zero_grad()`` in one cell (as code, or the net's
    named in the cell's comments beside the optimizer's call): the 2026 revision's pair."""
    if seen.tree is None:
        return None
    optimizers = optimizer_names(seen)
    calls_ = method_calls(seen.tree, "zero_grad")
    on_optimizer = [c for c in calls_ if receiver(c) in optimizers]
    on_other = [c for c in calls_ if receiver(c) and receiver(c) not in optimizers]
    if not on_optimizer:
        return None
    if on_other:
        return on_optimizer[0]
    made = [
        n.value for n in seen.nodes(ast.Assign)
        if _single_target(n) == receiver(on_optimizer[0]) and isinstance(n.value, ast.Call)
    ]  # fmt: skip
    nets = {receiver(a) for m in made for a in m.args if isinstance(a, ast.Call)}
    comments = seen.comments()
    if any(n and re.search(re.escape(n) + r"\.zero_grad\(\)", comments) for n in nets):
        return on_optimizer[0]
    return None


@probe("N14", SCRIPT, looks_for="net.zero_grad() and optimizer.zero_grad() in one cell",
       find=find_both_zero_grads)  # fmt: skip
def net_and_optimizer_zero_grad_clear_the_same_buffers(seen: Seen, match: ast.Call) -> None:
    torch = seen.torch
    optimizer = seen.value(receiver(match))
    assert isinstance(optimizer, torch.optim.Optimizer), f"{receiver(match)} is no optimizer"
    parameters = [p for group in optimizer.param_groups for p in group["params"]]
    owner = owner_of(seen, parameters)
    assert owner is not None, (
        "the optimizer does not hold exactly the net's parameters: its zero_grad() clears "
        "other buffers than the net's"
    )
    _, net = owner
    # Both calls on copies whose buffers hold a gradient: the same parameters cleared alike.
    twins = [copy_with_grads(net), copy_with_grads(net)]
    for twin in twins:
        for p in twin.parameters():
            p.grad = torch.ones_like(p) if p.grad is None else p.grad
    twins[0].zero_grad()
    type(optimizer)(twins[1].parameters(), **optimizer.defaults).zero_grad()
    after = [[p.grad for p in twin.parameters()] for twin in twins]
    if version_at_least(SET_TO_NONE_DEFAULT_SINCE):
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
