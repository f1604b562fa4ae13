"""The claims of neural_networks_tutorial.py on defining the network (see ``probes.base``):
N01 (the LeNet-like class prints as the tutorial's), N02 (its learnable parameters), N03 (a
random 32x32 input gives 10 outputs), N04 (backward with random gradients), N05 (the note that
``torch.nn`` takes mini-batches only; N06, N07 are stated in the text only).

Each finder recognises the claim's code by what it does (a class that builds ``nn.Conv2d`` and
``nn.Linear`` layers and is printed, ``list(X.parameters())``, ...) and reads the names the
script binds from the cell's syntax tree, so that a revision that moves a cell or renames
``net`` / ``input`` is still read. The checks run on the script's own objects, computing on
copies where they need to. Goldens (the tutorial's prints under its build's seed,
``probes.base.GOLDEN_SEED``) are compared at the printed precision only where ``seen.golden()``;
outputs that do not depend on the seed (the printed module tree) whatever the seed.
"""

from __future__ import annotations

import ast
import re

from blitz.tutorial_source.probes import compare, objects, printed_map, syntax
from blitz.tutorial_source.probes.base import Seen, dotted, probe
from blitz.tutorial_source.probes.in_text import PATTERNS

SCRIPT = "neural_networks"

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
# nn.Conv2d takes an unbatched (C, H, W) input since torch 1.11.
UNBATCHED_CONV_SINCE = "1.11"


# ----------------------------------------------------------------------------------------------
# Define the network: N01, N02, N03, N05


def net_classes(seen: Seen) -> list[ast.ClassDef]:
    """Classes of the cell whose methods build both ``Conv2d`` and ``Linear`` layers."""
    found = []
    for cls in seen.nodes(ast.ClassDef):
        if syntax.calls_under(cls, ".Conv2d") and syntax.calls_under(cls, ".Linear"):
            found.append(cls)
    return found


def instantiation(seen: Seen, cls: ast.ClassDef) -> tuple[str, ast.Call] | None:
    """``name = Cls(...)`` in the cell: (name, the call)."""
    for call in seen.calls(cls.name):
        name = syntax.bound_name(seen, call)
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
    """``print(net)`` shows the module tree the tutorial printed: its layers, their sizes and
    order (whatever the seed)."""
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
    listed = [c for c in seen.calls("list") if len(c.args) == 1 and syntax.bound_name(seen, c)]
    return next(
        (c for c in listed if syntax.method_calls(c.args[0], "parameters") == [c.args[0]]), None
    )


@probe("N02", SCRIPT, looks_for="params = list(<net>.parameters())",
       find=find_parameter_list)  # fmt: skip
def parameters_are_the_learnable_tensors(seen: Seen, match: ast.Call) -> None:
    """The list is the net's 10 learnable tensors, 61,706 numbers, conv1's weight first, (6, 1,
    5, 5); the cell prints what they are now."""
    torch = seen.torch
    params = seen.value(syntax.bound_name(seen, match))
    net_expr = match.args[0].func.value
    net = syntax.evaluate(seen, net_expr) if syntax.pure(net_expr) else None
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
    printed_map.assert_printed_as_now(seen, "lists the parameters")


def find_net_on_random_batch(seen: Seen):
    """``out = <net>(input)`` with ``input = torch.randn(1, C, 32, 32)`` in the same cell: the
    net applied to a random 32x32 input, a batch of one."""
    for randn in seen.calls("torch.randn"):
        dims = syntax.constant_ints(randn)
        if not dims or len(dims) != 4 or dims[0] != 1 or dims[2:] != [32, 32]:
            continue
        name = syntax.bound_name(seen, randn) or syntax.bound_around(seen, randn)
        if not name:
            continue
        for node in seen.nodes(ast.Call):
            if (
                isinstance(node.func, ast.Name)
                and len(node.args) == 1
                and dotted(node.args[0]) == name
                and syntax.bound_name(seen, node)
            ):
                return node
    return None


@probe("N03", SCRIPT, looks_for="out = <net>(torch.randn(1, 1, 32, 32))",
       find=find_net_on_random_batch)  # fmt: skip
def random_input_gives_ten_outputs(seen: Seen, match: ast.Call) -> None:
    """The net maps a random 1x1x32x32 input to ten scores with an ``AddmmBackward0``, the same
    again for the same input; the golden under the build's seed."""
    torch = seen.torch
    net = seen.value(match.func.id)
    input = seen.value(match.args[0].id)
    out = seen.value(syntax.bound_name(seen, match))
    assert tuple(out.shape) == (1, 10), f"the output has shape {tuple(out.shape)}, not (1, 10)"
    assert type(out.grad_fn).__name__ == "AddmmBackward0", (
        f"the output's grad_fn is {type(out.grad_fn).__name__}, not AddmmBackward0"
    )
    with torch.no_grad():
        again = net(input)
    # The same net, input and kernels: the same bits.
    compare.assert_close(again, out.detach(), rtol=0, atol=0)
    printed_map.assert_printed_as_now(seen, "runs the net")
    if seen.golden():
        compare.assert_golden(out.detach(), torch.tensor([PRINTED_OUT]), "the output")


def states_mini_batches_only(seen: Seen):
    """The script's text says ``torch.nn`` only supports mini-batches (the note)."""
    return re.search(PATTERNS["N05"], " ".join(seen.script_text.split()), re.I)


def find_mini_batch_demo(seen: Seen):
    match = find_net_on_random_batch(seen)
    return match if match is not None and states_mini_batches_only(seen) else None


@probe("N05", SCRIPT, looks_for="the note 'torch.nn only supports mini-batches' beside the net's "
       "batch of one", find=find_mini_batch_demo)  # fmt: skip
def nn_takes_mini_batches(seen: Seen, match: ast.Call) -> None:
    """The note says ``torch.nn`` takes mini-batches only: ``unsqueeze(0)`` gives the same
    output; since torch 1.11 ``nn.Conv2d`` takes a single sample too (drift)."""
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
        compare.assert_close(out, batched_out, rtol=0, atol=0)  # the same input
        try:
            unbatched = convs[0](sample)
        except RuntimeError as exc:
            # What the note says: nn.Conv2d refuses a single sample (torch < 1.11).
            assert not objects.version_at_least(UNBATCHED_CONV_SINCE), f"nn.Conv2d refused: {exc}"
            return
        # The same kernel on the input with a batch of one added: exact.
        compare.assert_close(unbatched, convs[0](input)[0], rtol=0, atol=0)
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
    return [syntax.receiver(c) or "" for c in syntax.method_calls(node, "zero_grad")]


def find_random_backward(seen: Seen):
    """``<net>.zero_grad()`` then ``<out>.backward(torch.randn(...))`` in one cell."""
    if seen.tree is None or not zero_grad_receivers(seen.tree):
        return None
    for call in syntax.method_calls(seen.tree, "backward"):
        if call.args and syntax.calls_under(call.args[0], "torch.randn"):
            return call
    return None


@probe("N04", SCRIPT, looks_for="<net>.zero_grad(); <out>.backward(torch.randn(1, 10))",
       find=find_random_backward)  # fmt: skip
def backward_with_random_gradients(seen: Seen, match: ast.Call) -> None:
    """After ``zero_grad`` and a backward of a random gradient, every parameter's ``.grad`` is
    that one backward's: what ``autograd.grad`` gives for the same output."""
    torch = seen.torch
    net = syntax.evaluate(seen, ast.parse(zero_grad_receivers(seen.tree)[0], mode="eval").body)
    assert isinstance(net, torch.nn.Module), f"zero_grad was called on a {type(net).__name__}"
    params = dict(net.named_parameters())
    for name, p in params.items():
        assert p.grad is not None, f"{name}.grad is None after backward"
        assert p.grad.shape == p.shape, f"{name}.grad has shape {tuple(p.grad.shape)}"
        assert p.grad.abs().sum() > 0, f"{name}.grad is all zeros"
    # The random gradient is not kept; the last Linear's bias receives it whole (a batch of one).
    out_name = syntax.receiver(match)
    out = seen.value(out_name)
    linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    gradient = linears[-1].bias.grad.reshape(out.shape)
    # Every grad is the gradient of this one backward (nothing left over from before): the same
    # as autograd.grad of the net's output with that gradient. out's graph was freed by the
    # backward: the output again, from the input the script gave the net.
    made = syntax.script_value(seen, out_name)
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
        compare.assert_close(p.grad, grad, msg=lambda m, n=name: f"{n}.grad: {m}")
