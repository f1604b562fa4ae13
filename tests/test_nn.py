"""The tutorial's third section, "Neural Networks": define LeNet, loss, backprop, update weights.

Claims N01-N13 of the catalogue, in the section's order, then what the May 2026 revision states
differently: N12's update under ``torch.no_grad()`` and N14 (``net.zero_grad()`` before an
optimizer exists, ``optimizer.zero_grad()`` after). The goldens are the tutorial's printed
outputs. The tutorial's build ran its script after ``torch.manual_seed(42)`` (the script never
calls it); with that seed they reproduce on the CPU when the random draws come in the script's
order: the net's initial weights, the input, the random gradient of ``out.backward``, the
target. ``tutorial_script`` replays that order. On other
devices the same CPU-built net and inputs are moved to the device and the results compared with
the CPU's.
"""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass

import pytest
import torch
import torch.nn as nn
import torch.optim as optim
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from support import grads, graph_nodes
from torch.testing import assert_close
from torch.torch_version import TorchVersion

from blitz import compat
from blitz.models import LeNet

TORCH_VERSION = TorchVersion(torch.__version__)

# ----------------------------------------------------------------------------------------------
# The tutorial's printed outputs

# The tutorial's class is called ``Net``; blitz names it ``LeNet``, so the first line differs.
PRINTED_NET = """\
Net(
  (conv1): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))
  (conv2): Conv2d(6, 16, kernel_size=(5, 5), stride=(1, 1))
  (fc1): Linear(in_features=400, out_features=120, bias=True)
  (fc2): Linear(in_features=120, out_features=84, bias=True)
  (fc3): Linear(in_features=84, out_features=10, bias=True)
)"""
PARAMETER_SHAPES = {
    "conv1.weight": (6, 1, 5, 5),
    "conv1.bias": (6,),
    "conv2.weight": (16, 6, 5, 5),
    "conv2.bias": (16,),
    "fc1.weight": (120, 400),
    "fc1.bias": (120,),
    "fc2.weight": (84, 120),
    "fc2.bias": (84,),
    "fc3.weight": (10, 84),
    "fc3.bias": (10,),
}
PARAMETER_COUNT = 61_706
PRINTED_OUT = torch.tensor(
    [[0.1453, -0.0590, -0.0065, 0.0905, 0.0146, -0.0805, -0.1211, -0.0394, -0.0181, -0.0136]]
)
PRINTED_LOSS = torch.tensor(1.3619)
PRINTED_CONV1_BIAS_GRAD = torch.tensor([0.0081, -0.0080, -0.0039, 0.0150, 0.0003, -0.0105])
PRINTED_GRAD_FN_CHAIN = ["MseLossBackward0", "AddmmBackward0", "AccumulateGrad"]
# The graph the tutorial draws, input first.
DOCUMENTED_GRAPH = [
    "conv2d", "relu", "maxpool2d", "conv2d", "relu", "maxpool2d",
    "flatten", "linear", "relu", "linear", "relu", "linear", "MSELoss",
]  # fmt: skip
LEARNING_RATE = 0.01  # the tutorial's SGD step size

# The tutorial prints 4 decimals: a printed value v stands for the interval v ± 5e-5.
PRINTED_PRECISION = {"rtol": 0, "atol": 5e-5}
# Device results against the CPU's, both in full float32 (the suite's TF32 policy, in
# tests/conftest.py): the sums run in other orders, so float32 rounding (~1e-7 relative per
# operation) builds up through the net; rtol 1e-4 covers that many times over, and atol 1e-5
# keeps near-zero values within the printed precision.
DEVICE_TOLERANCE = {"rtol": 1e-4, "atol": 1e-5}

# nn.Conv2d takes an unbatched (C, H, W) input since torch 1.11 (no-batch-dim support for ConvNd).
UNBATCHED_CONV_SINCE = TorchVersion("1.11")
# zero_grad(set_to_none=True) became the default in torch 2.0.
SET_TO_NONE_DEFAULT_SINCE = TorchVersion("2.0")


# ----------------------------------------------------------------------------------------------
# The tutorial's script, replayed


@dataclass
class Script:
    """What the section's script leaves behind, step by step."""

    net: LeNet
    input: torch.Tensor
    out: torch.Tensor  # net(input), the first forward
    out_gradient: torch.Tensor  # the random gradient given to out.backward
    grads_after_out_backward: dict[str, torch.Tensor | None]
    output: torch.Tensor  # net(input), the forward for the loss
    target: torch.Tensor
    loss: torch.Tensor
    grads_after_zero_grad: dict[str, torch.Tensor | None]  # just before loss.backward()


def tutorial_script(device: str = "cpu") -> Script:
    """The section's code in its order, seed 42; random draws on the CPU, compute on ``device``."""
    torch.manual_seed(42)
    net = LeNet()
    input = torch.randn(1, 1, 32, 32)
    net.to(device)
    input = input.to(device)
    out = net(input)

    net.zero_grad()
    out_gradient = torch.randn(1, 10).to(device)
    out.backward(out_gradient)
    grads_after_out_backward = grads(net)

    output = net(input)
    target = torch.randn(10).to(device)  # a dummy target, for example
    target = target.view(1, -1)  # make it the same shape as output
    criterion = nn.MSELoss()
    loss = criterion(output, target)

    net.zero_grad()
    grads_after_zero_grad = grads(net)
    loss.backward()
    return Script(
        net, input, out, out_gradient, grads_after_out_backward,
        output, target, loss, grads_after_zero_grad,
    )  # fmt: skip


def assert_printed(actual: torch.Tensor, cpu: torch.Tensor, printed: torch.Tensor) -> None:
    """The CPU result is the tutorial's printed value; a device result is the CPU's."""
    assert_close(cpu.detach(), printed, **PRINTED_PRECISION)
    if actual.device.type != "cpu":
        assert_close(actual.detach().cpu(), cpu.detach(), **DEVICE_TOLERANCE)


def node_name(node) -> str:
    return type(node).__name__


def path_to(root, leaf: torch.Tensor) -> list | None:
    """The nodes from ``root`` down to the AccumulateGrad of ``leaf``, or None if unreachable."""
    if getattr(root, "variable", None) is leaf:
        return [root]
    for next_node, _ in root.next_functions:
        if next_node is not None and (path := path_to(next_node, leaf)) is not None:
            return [root, *path]
    return None


# A node's layer, by the family of its name: a renamed node (CudnnConvolutionBackward,
# ThresholdBackward0, ReshapeAliasBackward0, ...) is still recognized; the order is asserted.
NODE_FAMILIES = {
    "Conv": "conv2d",
    "Relu": "relu",
    "Threshold": "relu",
    "MaxPool": "maxpool2d",
    "View": "flatten",
    "Reshape": "flatten",
    "Flatten": "flatten",
    "Addmm": "linear",
    "Linear": "linear",
    "MseLoss": "MSELoss",
}


def layer_of(node) -> str | None:
    name = node_name(node)
    return next((layer for family, layer in NODE_FAMILIES.items() if family in name), None)


def fresh_lenet(device: str, seed: int) -> LeNet:
    torch.manual_seed(seed)
    return LeNet().to(device)


# ----------------------------------------------------------------------------------------------
# Define the network


@pytest.mark.claim("N01")
def test_lenet_prints_as_in_the_tutorial(device):
    net = LeNet().to(device)
    assert str(net) == PRINTED_NET.replace("Net(", "LeNet(", 1)


@pytest.mark.claim("N02")
def test_parameters_are_the_ten_learnable_tensors(device):
    net = LeNet().to(device)
    params = list(net.parameters())
    assert len(params) == 10
    assert params[0].size() == torch.Size([6, 1, 5, 5])  # conv1's .weight
    assert params[0] is net.conv1.weight
    assert {name: tuple(p.shape) for name, p in net.named_parameters()} == PARAMETER_SHAPES
    assert all(p.requires_grad for p in params)
    assert sum(p.numel() for p in params) == PARAMETER_COUNT


@pytest.mark.claim("N03")
def test_random_32x32_input_gives_ten_outputs(device):
    run = tutorial_script(device)
    assert run.out.shape == (1, 10)
    assert run.out.device.type == device
    assert node_name(run.out.grad_fn) == "AddmmBackward0"
    assert_printed(run.out, tutorial_script("cpu").out, PRINTED_OUT)


def out_backward_after_zero_grad(device: str):
    """The tutorial's ``net.zero_grad(); out.backward(torch.randn(1, 10))`` on a net whose
    gradient buffers an earlier backward has filled; what each step leaves, by parameter name.

    On a fresh net every ``.grad`` is None already, so ``zero_grad`` would have nothing to clear
    and ``out.backward`` nothing to add to: a first backward with another random gradient fills
    the buffers first. ``expected`` is ``torch.autograd.grad`` of ``out`` with the same gradient
    (it returns the gradients without touching ``.grad``): what ``.grad`` must hold afterwards
    if ``zero_grad`` cleared the earlier gradients and ``backward`` filled in the new ones.
    """
    torch.manual_seed(42)
    net = LeNet()
    input = torch.randn(1, 1, 32, 32)
    earlier_gradient = torch.randn(1, 10)
    out_gradient = torch.randn(1, 10)
    net.to(device)
    out = net(input.to(device))
    out.backward(earlier_gradient.to(device), retain_graph=True)
    earlier = grads(net)
    names = [name for name, _ in net.named_parameters()]
    expected = torch.autograd.grad(
        out, list(net.parameters()), out_gradient.to(device), retain_graph=True
    )
    net.zero_grad()
    out.backward(out_gradient.to(device))
    assert len(names) == len(expected)
    return earlier, grads(net), dict(zip(names, expected)), out_gradient


@pytest.mark.claim("N04")
def test_backward_with_random_gradients_fills_every_grad(device):
    earlier, grads, expected, out_gradient = out_backward_after_zero_grad(device)
    # The earlier backward left a gradient in every buffer: zero_grad has something to clear.
    for name, grad in earlier.items():
        assert grad is not None and grad.abs().sum() > 0, name
    assert list(grads) == list(PARAMETER_SHAPES)
    # The same graph, gradient and kernels as autograd.grad: on the CPU the same bits. cuDNN's
    # weight-gradient algorithms may sum in another order from one call to the next, hence
    # assert_close's float32 defaults on other devices; an earlier gradient left in a buffer is
    # larger than those by orders of magnitude.
    tolerance = {"rtol": 0, "atol": 0} if device == "cpu" else {}
    for name, grad in grads.items():
        assert grad is not None, name
        assert tuple(grad.shape) == PARAMETER_SHAPES[name]
        assert grad.device.type == device
        assert grad.abs().sum() > 0, f"{name}: gradient left all zeros"
        assert_close(grad, expected[name], **tolerance, msg=name)
    # out = fc3(h) = h @ W.T + b: the gradient reaching fc3.bias is the one given to backward
    # (a sum over a batch of one, so exact).
    assert_close(grads["fc3.bias"].cpu(), out_gradient[0], rtol=0, atol=0)
    if device != "cpu":
        _, cpu, _, _ = out_backward_after_zero_grad("cpu")
        for name, grad in grads.items():
            assert_close(grad.cpu(), cpu[name], **DEVICE_TOLERANCE, msg=name)


@pytest.mark.claim("N05")
def test_conv2d_accepts_an_unbatched_input(device, claim_report):
    torch.manual_seed(42)
    conv = nn.Conv2d(1, 6, 5)
    sample = torch.randn(1, 32, 32)  # one (C, H, W) sample, no batch dimension
    conv.to(device)
    sample = sample.to(device)
    if TORCH_VERSION < UNBATCHED_CONV_SINCE:
        # The tutorial's statement holds here: a 3-D input is refused.
        with pytest.raises(RuntimeError):
            conv(sample)
    else:
        batched = conv(sample.unsqueeze(0))
        unbatched = conv(sample)
        assert unbatched.shape == (6, 28, 28)
        # The unbatched call runs the same kernel on the input with a batch of one added: exact.
        assert_close(unbatched, batched.squeeze(0), rtol=0, atol=0)
        claim_report.drift(
            "the tutorial says all of torch.nn takes mini-batches only; torch "
            f"{torch.__version__}: nn.Conv2d takes an unbatched (C, H, W) input (since 1.11), "
            "but the LeNet's flatten(x, 1) still needs the batch dim: unsqueeze(0) still needed"
        )


@pytest.mark.claim("N05")
def test_lenet_needs_the_batch_dimension(device):
    torch.manual_seed(42)
    net = LeNet().to(device)
    sample = torch.randn(1, 32, 32).to(device)
    # flatten(x, 1) keeps the 16 channels apart: fc1 gets (16, 25) instead of (1, 400). Before
    # torch 1.11 conv1 already refuses the 3-D input, as the tutorial says all of torch.nn does.
    refused = "mat1 and mat2|size mismatch"
    if TORCH_VERSION < UNBATCHED_CONV_SINCE:
        refused = "Expected 4-dimensional input"
    with pytest.raises(RuntimeError, match=refused):
        net(sample)
    out = net(sample.unsqueeze(0))
    assert out.shape == (1, 10)


@pytest.mark.claim("N06")
def test_parameter_attribute_is_registered(device):
    net = LeNet().to(device)
    net.scale = nn.Parameter(torch.ones(3, device=device))
    params = dict(net.named_parameters())
    assert len(params) == 11
    assert params["scale"] is net.scale
    state = net.state_dict()
    assert "scale" in state
    assert torch.equal(state["scale"], net.scale.detach())


@pytest.mark.claim("N06")
def test_plain_tensor_attribute_is_not_registered(device):
    net = LeNet().to(device)
    net.offset = torch.ones(3, device=device, requires_grad=True)
    assert not any(p is net.offset for p in net.parameters())
    assert list(dict(net.named_parameters())) == list(PARAMETER_SHAPES)
    assert list(net.state_dict()) == list(PARAMETER_SHAPES)


@pytest.mark.claim("N07")
def test_to_moves_every_parameter_and_buffer(device):
    # BatchNorm brings buffers (running_mean, running_var, num_batches_tracked). The move also
    # converts to float64, so that it is observable on the CPU too: .to() changes every
    # floating-point parameter and buffer and leaves the integer counter's dtype alone.
    net = nn.Sequential(LeNet(), nn.BatchNorm1d(10))
    before = {**dict(net.named_parameters()), **dict(net.named_buffers())}
    before = {name: t.detach().clone() for name, t in before.items()}
    assert len(before) == 10 + 2 + 3
    moved = net.to(device, torch.float64)
    assert moved is net
    after = {**dict(net.named_parameters()), **dict(net.named_buffers())}
    assert list(after) == list(before)
    for name, tensor in after.items():
        assert tensor.device.type == device, name
        expected_dtype = torch.float64 if before[name].is_floating_point() else torch.int64
        assert tensor.dtype == expected_dtype, name
        assert_close(tensor.cpu(), before[name].to(expected_dtype), rtol=0, atol=0, msg=name)


@pytest.mark.claim("N07")
def test_state_dict_round_trip_gives_identical_outputs(device):
    net = fresh_lenet(device, seed=42)
    fresh = fresh_lenet(device, seed=43)
    input = torch.randn(2, 1, 32, 32).to(device)
    with torch.no_grad():
        assert not torch.equal(fresh(input), net(input))
        buffer = io.BytesIO()
        torch.save(net.state_dict(), buffer)
        buffer.seek(0)
        state = compat.load(buffer)
        assert list(state) == list(PARAMETER_SHAPES)
        fresh.load_state_dict(state)
        assert torch.equal(fresh(input), net(input))


# ----------------------------------------------------------------------------------------------
# Loss function


@pytest.mark.claim("N08")
def test_mse_loss_of_the_script(device):
    run = tutorial_script(device)
    assert node_name(run.loss.grad_fn) == "MseLossBackward0"
    # float32 sums in another order: assert_close's float32 defaults.
    assert_close(run.loss, ((run.output - run.target) ** 2).mean())
    assert_printed(run.loss, tutorial_script("cpu").loss, PRINTED_LOSS)


@pytest.mark.claim("N08")
@given(
    pair=hnp.array_shapes(min_dims=1, max_dims=3, max_side=5).flatmap(
        lambda shape: st.tuples(
            *[
                hnp.arrays("float32", shape, elements=st.floats(-100, 100, width=32))
                for _ in range(2)
            ]
        )
    )
)
def test_mse_loss_is_the_mean_squared_error(device, pair):
    output, target = (torch.from_numpy(a).to(device) for a in pair)
    # The loss and the formula may sum in different orders: assert_close's float32 defaults.
    assert_close(nn.MSELoss()(output, target), ((output - target) ** 2).mean())


@pytest.mark.claim("N09")
def test_following_grad_fn_gives_the_printed_chain(device, claim_report):
    run = tutorial_script(device)
    mse = run.loss.grad_fn
    linear = mse.next_functions[0][0]
    third = linear.next_functions[0][0]
    assert [node_name(n) for n in (mse, linear, third)] == PRINTED_GRAD_FN_CHAIN
    # The third node is where fc3's bias enters the addmm, not a ReLU.
    assert third.variable is run.net.fc3.bias
    claim_report.note(
        "the tutorial's comment calls the third node 'ReLU'; it prints AccumulateGrad, "
        "the leaf of fc3.bias (AddmmBackward0's first input)"
    )


@pytest.mark.claim("N09")
def test_backward_graph_follows_the_layers_in_order(device):
    run = tutorial_script(device)
    path = path_to(run.loss.grad_fn, run.net.conv1.weight)
    assert path is not None, "conv1.weight is not reachable from the loss"
    layers = [layer for node in reversed(path) if (layer := layer_of(node)) is not None]
    assert layers == DOCUMENTED_GRAPH, [node_name(n) for n in reversed(path)]
    # The whole graph has no other layer nodes than those on the input's path.
    whole = Counter(layer for n in graph_nodes(run.loss.grad_fn) if (layer := layer_of(n)))
    assert whole == Counter(DOCUMENTED_GRAPH)


# ----------------------------------------------------------------------------------------------
# Backprop


@pytest.mark.claim("N10")
def test_zero_grad_clears_the_gradient_buffers(device, claim_report):
    run = tutorial_script(device)
    # The script's zero_grad comes after out.backward: every grad was set then.
    assert all(g is not None for g in run.grads_after_out_backward.values())
    cleared = run.grads_after_zero_grad
    assert list(cleared) == list(PARAMETER_SHAPES)
    if TORCH_VERSION >= SET_TO_NONE_DEFAULT_SINCE:
        assert all(g is None for g in cleared.values())  # prints None, the golden
        claim_report.drift(
            "the tutorial says zero_grad() zeros the gradient buffers and prints None; torch "
            f"{torch.__version__} sets .grad to None (set_to_none=True is the default since "
            "2.0); zeros only with zero_grad(set_to_none=False)"
        )
    else:
        for name, grad in cleared.items():
            assert torch.equal(grad, torch.zeros(PARAMETER_SHAPES[name], device=device)), name
        claim_report.drift(
            f"the tutorial prints None after zero_grad(); torch {torch.__version__} fills the "
            "gradient buffers with zeros (set_to_none=True became the default in 2.0)"
        )


@pytest.mark.claim("N10")
def test_zero_grad_without_set_to_none_zeros_the_buffers_in_place(device):
    net = tutorial_script(device).net  # grads set by loss.backward()
    buffers = {name: p.grad for name, p in net.named_parameters()}
    assert all(g is not None and g.abs().sum() > 0 for g in buffers.values())
    net.zero_grad(set_to_none=False)
    for name, p in net.named_parameters():
        assert p.grad is buffers[name], name
        assert torch.equal(p.grad, torch.zeros_like(p)), name


@pytest.mark.claim("N11")
def test_conv1_bias_has_a_gradient_after_backward(device):
    run = tutorial_script(device)
    grad = run.net.conv1.bias.grad
    assert grad is not None
    assert grad.device.type == device
    assert_printed(grad, tutorial_script("cpu").net.conv1.bias.grad, PRINTED_CONV1_BIAS_GRAD)


# ----------------------------------------------------------------------------------------------
# Update the weights


@pytest.mark.claim("N12")
def test_sgd_by_hand_equals_optim_sgd(device):
    by_hand = tutorial_script(device).net  # both with the grads of the script's loss.backward()
    with_optim = tutorial_script(device).net
    before = {name: p.detach().clone() for name, p in by_hand.named_parameters()}

    learning_rate = LEARNING_RATE
    for f in by_hand.parameters():
        f.data.sub_(f.grad.data * learning_rate)
    optimizer = optim.SGD(with_optim.parameters(), lr=LEARNING_RATE)
    optimizer.step()

    for (name, hand), optimized in zip(by_hand.named_parameters(), with_optim.parameters()):
        assert not torch.equal(hand.detach(), before[name]), f"{name}: unchanged by hand"
        assert not torch.equal(optimized.detach(), before[name]), f"{name}: unchanged by SGD"
        # weight = weight - learning_rate * gradient, up to float32 rounding (not bitwise).
        expected = before[name] - LEARNING_RATE * hand.grad
        assert_close(hand.detach(), expected, msg=name)
        assert_close(optimized.detach(), hand.detach(), msg=name)


def second_stepgrads(device: str, zero_grad: bool) -> tuple[dict, dict, dict]:
    """Two training steps of the tutorial's loop, ``optimizer.zero_grad()`` before the second
    or not: the first step's grads, the second loss's own grads, and the grads it leaves."""
    run = tutorial_script(device)
    net, criterion = run.net, nn.MSELoss()
    optimizer = optim.SGD(net.parameters(), lr=LEARNING_RATE)

    optimizer.zero_grad()
    criterion(net(run.input), run.target).backward()
    first = grads(net)
    optimizer.step()

    if zero_grad:
        optimizer.zero_grad()
    loss = criterion(net(run.input), run.target)
    names, params = zip(*net.named_parameters())
    own = dict(zip(names, torch.autograd.grad(loss, params, retain_graph=True)))
    loss.backward()
    return first, own, grads(net)


# The sums of two backward passes against one: float32 rounding of the sum, and on cuda, cuDNN's
# weight-gradient kernels need not be bitwise reproducible: assert_close's float32 defaults.
@pytest.mark.claim("N13")
def test_gradients_accumulate_without_zero_grad(device):
    first, own, left = second_stepgrads(device, zero_grad=False)
    for name, grad in left.items():
        assert first[name].abs().sum() > 0, name
        assert_close(grad, first[name] + own[name], msg=name)


@pytest.mark.claim("N13")
def test_optimizer_zero_grad_leaves_only_the_new_gradients(device):
    first, own, left = second_stepgrads(device, zero_grad=True)
    for name, grad in left.items():
        assert first[name].abs().sum() > 0, name
        assert_close(grad, own[name], msg=name)


# ----------------------------------------------------------------------------------------------
# The 2026 revision: the update by hand under no_grad (N12), the two zero_grad calls (N14)


@pytest.mark.claim("N12")
def test_sgd_by_hand_under_no_grad_equals_the_data_form_and_optim_sgd(device):
    # The 2026 revision's form, `with torch.no_grad(): f -= f.grad * learning_rate`, against the
    # snapshot's `f.data.sub_(f.grad.data * learning_rate)` and optim.SGD, each from the same
    # parameters and the same grads of the script's loss.backward().
    under_no_grad, by_data, with_optim = (tutorial_script(device).net for _ in range(3))
    before = {name: p.detach().clone() for name, p in under_no_grad.named_parameters()}
    parameters = list(under_no_grad.parameters())

    learning_rate = LEARNING_RATE
    with torch.no_grad():
        for f in under_no_grad.parameters():
            f -= f.grad * learning_rate
    for f in by_data.parameters():
        f.data.sub_(f.grad.data * learning_rate)
    optim.SGD(with_optim.parameters(), lr=LEARNING_RATE).step()

    # In place: the same Parameter objects, still leaves that require grad, no history.
    after = list(under_no_grad.parameters())
    assert len(after) == len(parameters) and all(a is b for a, b in zip(after, parameters))
    named = zip(under_no_grad.named_parameters(), by_data.parameters(), with_optim.parameters())
    for (name, f), data_form, optimized in named:
        assert isinstance(f, nn.Parameter) and f.requires_grad and f.grad_fn is None, name
        assert not torch.equal(f.detach(), before[name]), f"{name}: unchanged"
        # The same in-place subtraction of the same product as the .data form: the same bits.
        assert_close(f.detach(), data_form.detach(), rtol=0, atol=0, msg=name)
        # optim.SGD: up to float32 rounding (not bitwise), as in the N12 test of the .data form.
        assert_close(optimized.detach(), f.detach(), msg=name)


@pytest.mark.claim("N12")
def test_the_update_by_hand_needs_no_grad(device):
    # Why the revision wraps the update in torch.no_grad(): a leaf that requires grad cannot be
    # changed in place while autograd records.
    net = tutorial_script(device).net
    f = net.conv1.bias
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        f -= f.grad * LEARNING_RATE


def zero_grad_both_ways(device: str) -> tuple[dict, list[dict], list[dict]]:
    """The grads of the script's loss.backward() (copies), then, for ``net.zero_grad()`` on one
    copy of the net and ``optimizer.zero_grad()`` (an SGD over all its parameters) on another:
    the grad buffers before the call and the grads after it, each ``{name: tensor or None}``."""
    nets = [tutorial_script(device).net, tutorial_script(device).net]
    computed = grads(nets[0])
    buffers = [{name: p.grad for name, p in net.named_parameters()} for net in nets]
    nets[0].zero_grad()
    optim.SGD(nets[1].parameters(), lr=LEARNING_RATE).zero_grad()
    after = [{name: p.grad for name, p in net.named_parameters()} for net in nets]
    return computed, buffers, after


@pytest.mark.claim("N14")
def test_net_and_optimizer_zero_grad_clear_the_same_buffers(device, claim_report):
    grads, buffers, after = zero_grad_both_ways(device)
    assert all(g is not None and g.abs().sum() > 0 for g in grads.values())
    assert [list(a) for a in after] == [list(PARAMETER_SHAPES)] * 2
    if TORCH_VERSION >= SET_TO_NONE_DEFAULT_SINCE:
        # What the revision says: after either call every parameter's grad is None.
        for cleared in after:
            assert all(g is None for g in cleared.values())
    else:
        # Either call zeros each buffer in place.
        for before, cleared in zip(buffers, after):
            for name, grad in cleared.items():
                assert grad is before[name], name
                assert torch.equal(grad, torch.zeros(PARAMETER_SHAPES[name], device=device)), name
        claim_report.drift(
            "the 2026 revision says net.zero_grad() and optimizer.zero_grad() leave every grad "
            f"None; torch {torch.__version__}: both fill the gradient buffers with zeros "
            "(set_to_none=True became the default of both in 2.0)"
        )


@pytest.mark.claim("N14")
def test_optimizer_zero_grad_clears_only_the_parameters_it_was_given(device):
    # "Once an optimizer exists": it clears the grads of the parameters it holds, which are
    # the net's when it was made with net.parameters(), as in the tutorial.
    net = tutorial_script(device).net
    optimizer = optim.SGD(net.fc3.parameters(), lr=LEARNING_RATE)
    optimizer.zero_grad(set_to_none=True)
    assert net.fc3.weight.grad is None and net.fc3.bias.grad is None
    others = [p for name, p in net.named_parameters() if not name.startswith("fc3.")]
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in others)
