"""A Gentle Introduction to torch.autograd: the claims of the tutorial's second section, A01–A11.

The section trains resnet18 for one step, differentiates ``Q = 3a³ - b²`` by hand and by
autograd, explains vector-Jacobian products and the dynamic DAG, excludes tensors from the DAG
(``requires_grad``, frozen parameters, ``torch.no_grad()``) and notes that it "works only on the
CPU". Every test runs on every device; CUDA results are checked against the CPU's.

resnet18 is built with the tutorial's pretrained weights only when they already sit in the local
torch hub cache (nothing is downloaded); otherwise with its random init. The claims do not depend
on the weights; which one ran is recorded in the claims matrix.
"""

from __future__ import annotations

import copy
import os

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from support import grads, graph_nodes
from torch import nn
from torch.testing import assert_close
from torchvision.models import resnet18

from blitz import compat, devices

try:
    from torchvision.models import ResNet18_Weights
except ImportError:  # torchvision < 0.13: resnet18(pretrained=...) instead of weights enums
    ResNet18_Weights = None

# The tutorial's optimizer settings: SGD(model.parameters(), lr=1e-2, momentum=0.9).
LR = 1e-2  # learning rate
MOMENTUM = 0.9
IMAGE_SHAPE = (1, 3, 64, 64)  # one image, 3 channels, 64x64 pixels
FINETUNE_CLASSES = 10  # the new classifier of the frozen-parameters example: Linear(512, 10)

# ----------------------------------------------------------------------------------------------
# resnet18, built once per module and copied per test


def _cached_resnet18_state() -> tuple[dict | None, str]:
    """The pretrained state dict when the hub cache holds it, else None; and which one it is."""
    if ResNet18_Weights is not None:
        url = ResNet18_Weights.DEFAULT.url
    else:
        from torchvision.models.resnet import model_urls

        url = model_urls["resnet18"]
    filename = os.path.basename(url)
    path = os.path.join(torch.hub.get_dir(), "checkpoints", filename)
    if os.path.isfile(path):
        state = compat.load(path, map_location="cpu")
        return state, f"resnet18: pretrained {filename} from the local torch hub cache"
    return None, (
        f"resnet18: random init ({filename} is not in the torch hub cache, and nothing is "
        "downloaded; the claim does not depend on the weights)"
    )


@pytest.fixture(scope="module")
def resnet18_template() -> tuple[nn.Module, str]:
    state, weights_note = _cached_resnet18_state()
    torch.manual_seed(42)
    model = resnet18(weights=None) if ResNet18_Weights is not None else resnet18(pretrained=False)
    if state is not None:
        model.load_state_dict(state)
    return model, weights_note


@pytest.fixture
def cpu_resnet18(resnet18_template, claim_report) -> nn.Module:
    """A fresh CPU copy of the module's resnet18 (train mode, as the tutorial's model is)."""
    model, weights_note = resnet18_template
    claim_report.note(weights_note)
    if ResNet18_Weights is None:
        import torchvision

        claim_report.drift(
            "the tutorial builds resnet18(weights=ResNet18_Weights.DEFAULT); torchvision "
            f"{torchvision.__version__} has no weights enums (they came in 0.13): there it is "
            "resnet18(pretrained=True); the training step itself is the same"
        )
    return copy.deepcopy(model).train()


def _image_and_labels(num_labels: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """The tutorial's random image (1, 3, 64, 64) and random labels (1, num_labels), on CPU."""
    torch.manual_seed(42)
    return torch.rand(IMAGE_SHAPE), torch.rand(1, num_labels)


def _params(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in model.named_parameters()}


# ----------------------------------------------------------------------------------------------
# Usage in PyTorch: a single training step


@pytest.mark.claim("A01")
def test_resnet18_single_training_step(device, cpu_resnet18):
    model = cpu_resnet18.to(device)
    data, labels = (t.to(device) for t in _image_and_labels())

    prediction = model(data)  # forward pass
    assert prediction.shape == (1, 1000)

    loss = (prediction - labels).sum()
    loss.backward()  # backward pass: every parameter's .grad is filled
    for name, param in model.named_parameters():
        assert param.grad is not None, f"{name} has no .grad after backward"
        assert param.grad.shape == param.shape, name
        assert torch.isfinite(param.grad).all(), name
        assert param.grad.any(), f"{name}.grad is all zeros"
    # The loss is the sum of the 1000 scores, so d loss / d fc.bias is exactly 1 for each score.
    assert_close(model.fc.bias.grad, torch.ones(1000, device=device), rtol=0, atol=0)

    optim = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    before = _params(model)
    optim.step()  # gradient descent: the first step moves every parameter by -lr * grad
    for name, param in model.named_parameters():
        assert not torch.equal(param, before[name]), f"the SGD step did not move {name}"
        # Default float32 tolerances: SGD's fused add(alpha=-lr) rounds once, the hand formula
        # twice, so the two are equal up to float32 rounding (within one ulp), not bitwise.
        assert_close(param.detach(), before[name] - LR * param.grad, msg=f"SGD step of {name}")


# ----------------------------------------------------------------------------------------------
# Differentiation in Autograd: Q = 3a³ - b²


def _a_and_b(device: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The tutorial's leaves a = [2, 3], b = [6, 4] (requires_grad=True) on ``device``."""
    a = torch.tensor([2.0, 3.0]).to(device).requires_grad_()
    b = torch.tensor([6.0, 4.0]).to(device).requires_grad_()
    return a, b


def _q(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return 3 * a**3 - b**2


@pytest.mark.claim("A02")
def test_requires_grad_tracks_every_operation(device):
    a, b = _a_and_b(device)
    Q = _q(a, b)

    assert Q.requires_grad and not Q.is_leaf
    assert type(Q.grad_fn).__name__ == "SubBackward0"
    assert a.is_leaf and a.grad_fn is None
    assert b.is_leaf and b.grad_fn is None
    # Every operation is a node of the DAG: 3*a**3 is Pow then Mul, b**2 is Pow, Q a Sub;
    # the leaves are reached through AccumulateGrad nodes that hold a and b themselves.
    nodes = graph_nodes(Q.grad_fn)
    names = sorted(type(node).__name__ for node in nodes)
    assert names == sorted(
        ["SubBackward0", "MulBackward0", "PowBackward0", "PowBackward0"]
        + ["AccumulateGrad", "AccumulateGrad"]
    )
    leaves = [node.variable for node in nodes if type(node).__name__ == "AccumulateGrad"]
    assert any(leaf is a for leaf in leaves) and any(leaf is b for leaf in leaves)


@pytest.mark.claim("A03")
def test_gradients_of_q_are_9a2_and_minus_2b(device):
    a, b = _a_and_b(device)
    Q = _q(a, b)
    external_grad = torch.tensor([1.0, 1.0], device=device)
    Q.backward(gradient=external_grad)

    # Golden: the tutorial prints tensor([True, True]) twice (exact equality).
    golden = torch.tensor([True, True], device=device)
    assert torch.equal(9 * a**2 == a.grad, golden)
    assert torch.equal(-2 * b == b.grad, golden)


def _vectors(dtype: np.dtype, size: int):
    width = 32 if dtype == np.float32 else 64
    elements = st.floats(-100, 100, width=width, allow_nan=False, allow_subnormal=False)
    return hnp.arrays(dtype, size, elements=elements)


@st.composite
def _a_b_pairs(draw):
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    size = draw(st.integers(1, 8))
    return draw(_vectors(dtype, size)), draw(_vectors(dtype, size))


@pytest.mark.claim("A03")
@given(pair=_a_b_pairs())
def test_gradients_of_q_are_9a2_and_minus_2b_for_any_a_b(device, pair):
    a = torch.tensor(pair[0], device=device, requires_grad=True)
    b = torch.tensor(pair[1], device=device, requires_grad=True)
    _q(a, b).backward(gradient=torch.ones_like(a))

    # Default tolerances of the dtype: autograd forms 3 * (3 * a**2), the formula 9 * a**2.
    assert_close(a.grad, 9 * a.detach() ** 2)
    assert_close(b.grad, -2 * b.detach())


@pytest.mark.claim("A04")
def test_vector_output_needs_explicit_gradient(device):
    a, b = _a_and_b(device)
    Q = _q(a, b)
    message = "grad can be implicitly created only for scalar outputs"
    with pytest.raises(RuntimeError, match=message):
        Q.backward()
    assert a.grad is None and b.grad is None


@pytest.mark.claim("A04")
def test_sum_backward_equals_backward_with_gradient_ones(device):
    a, b = _a_and_b(device)
    _q(a, b).sum().backward()
    implicit = a.grad.clone(), b.grad.clone()

    a, b = _a_and_b(device)
    Q = _q(a, b)
    Q.backward(gradient=torch.ones_like(Q))

    # Exact: d sum(Q) / dQ is a tensor of ones, the same upstream gradient as gradient=ones.
    assert_close(a.grad, implicit[0], rtol=0, atol=0)
    assert_close(b.grad, implicit[1], rtol=0, atol=0)


# ----------------------------------------------------------------------------------------------
# Optional reading: vector calculus using autograd

JACOBIAN_ROWS = 3  # rows of the tanh(W x) part of the test function below


def _vector_function(x: torch.Tensor) -> torch.Tensor:
    """y = [tanh(W x), cumsum(x)²]: R^n -> R^(3+n), non-linear, every output mixes inputs."""
    w = _weights(x.numel(), x)
    return torch.cat([torch.tanh(w @ x), x.cumsum(0) ** 2])


def _weights(n: int, like: torch.Tensor) -> torch.Tensor:
    return torch.linspace(-1, 1, JACOBIAN_ROWS * n, dtype=like.dtype, device=like.device).reshape(
        JACOBIAN_ROWS, n
    )


def _analytic_jacobian(x: torch.Tensor) -> torch.Tensor:
    """The Jacobian of ``_vector_function`` by hand: d tanh(Wx) = (1 - tanh²) W; d c² = 2c L."""
    w = _weights(x.numel(), x)
    top = (1 - torch.tanh(w @ x) ** 2)[:, None] * w
    lower = torch.tril(torch.ones(x.numel(), x.numel(), dtype=x.dtype, device=x.device))
    bottom = 2 * x.cumsum(0)[:, None] * lower
    return torch.cat([top, bottom])


@st.composite
def _x_and_v(draw):
    n = draw(st.integers(1, 6))
    elements = st.floats(-3, 3, allow_nan=False, allow_subnormal=False)
    x = draw(hnp.arrays(np.float64, n, elements=elements))
    v = draw(hnp.arrays(np.float64, JACOBIAN_ROWS + n, elements=elements))
    return x, v


@pytest.mark.claim("A05")
@given(x_and_v=_x_and_v())
def test_backward_computes_vector_jacobian_product(device, x_and_v):
    x = torch.tensor(x_and_v[0], device=device)
    v = torch.tensor(x_and_v[1], device=device)
    jacobian = torch.autograd.functional.jacobian(_vector_function, x)
    assert jacobian.shape == (JACOBIAN_ROWS + x.numel(), x.numel())
    # float64 default tolerances: the hand-written Jacobian rounds in a different order.
    assert_close(jacobian, _analytic_jacobian(x))

    x.requires_grad_()
    y = _vector_function(x)
    y.backward(v)
    assert_close(x.grad, jacobian.T @ v)


# ----------------------------------------------------------------------------------------------
# Computational graph: accumulation, dynamic graphs


@pytest.mark.claim("A06")
@pytest.mark.parametrize("how", ["retain_graph", "two_forward_passes"])
def test_gradients_accumulate_in_grad(device, how):
    a, b = _a_and_b(device)
    Q = _q(a, b)
    Q.backward(torch.ones_like(Q), retain_graph=how == "retain_graph")
    once = a.grad.clone(), b.grad.clone()
    if how == "two_forward_passes":
        Q = _q(a, b)
    Q.backward(torch.ones_like(Q))

    # Exact: the second gradient is added to the first, which doubles it without rounding.
    assert_close(once[0], 9 * a.detach() ** 2, rtol=0, atol=0)
    assert_close(a.grad, 2 * once[0], rtol=0, atol=0)
    assert_close(b.grad, 2 * once[1], rtol=0, atol=0)


def _dynamic_model(x: torch.Tensor) -> tuple[torch.Tensor, str, int]:
    """A forward pass whose operations and shapes depend on the data.

    A positive sum squares x; otherwise the first two entries are cubed (another shape). Then
    the result is doubled until its absolute sum reaches 10. Returns (output, branch, doublings).
    """
    if x.sum() > 0:
        branch, h = "square", x * x
    else:
        branch, h = "cube_first_two", x[:2] ** 3
    doublings = 0
    while h.abs().sum() < 10:
        h = h * 2
        doublings += 1
    return h.sum(), branch, doublings


# (input, branch taken, number of doublings): both branches, with one and with seven doublings.
DYNAMIC_CASES = [
    ([1.0, 2.0, 0.5], "square", 1),
    ([0.1, 0.2, 0.3], "square", 7),
    ([-1.0, -2.0, 0.5], "cube_first_two", 1),
    ([-0.5, 0.1, -0.2], "cube_first_two", 7),
]


def _branch_gradient(x: torch.Tensor, branch: str, doublings: int) -> torch.Tensor:
    """d output / dx of the branch taken: 2^k · 2x, or 2^k · 3x² on the first two entries."""
    if branch == "square":
        return 2**doublings * 2 * x
    grad = torch.zeros_like(x)
    grad[:2] = 2**doublings * 3 * x[:2] ** 2
    return grad


@pytest.mark.claim("A07")
def test_dynamic_graph_follows_the_path_taken_each_iteration(device):
    for values, branch, doublings in DYNAMIC_CASES:
        x = torch.tensor(values, dtype=torch.float64).to(device).requires_grad_()
        out, taken, steps = _dynamic_model(x)
        assert (taken, steps) == (branch, doublings), values
        out.backward()  # the previous iteration's graph is freed; this one is new
        # float64 default tolerances: autograd multiplies in another order than the formula.
        assert_close(x.grad, _branch_gradient(x.detach(), branch, doublings), msg=str(values))


@pytest.mark.claim("A07")
def test_second_backward_through_freed_graph_raises(device):
    a, b = _a_and_b(device)
    loss = _q(a, b).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        loss.backward()


@pytest.mark.claim("A07")
def test_second_backward_works_with_retain_graph(device):
    a, b = _a_and_b(device)
    loss = _q(a, b).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    # Exact: two backward passes of ones add 9a² twice (small integers, no rounding).
    assert_close(a.grad, 2 * 9 * a.detach() ** 2, rtol=0, atol=0)


# ----------------------------------------------------------------------------------------------
# Exclusion from the DAG


@pytest.mark.claim("A08")
def test_output_requires_grad_if_any_input_does(device):
    torch.manual_seed(42)
    x, y, z = torch.rand(5, 5), torch.rand(5, 5), torch.rand(5, 5)
    x, y, z = x.to(device), y.to(device), z.to(device).requires_grad_()

    a = x + y
    b = x + z
    # Golden: "Does `a` require gradients? : False" / "Does `b` require gradients?: True".
    assert a.requires_grad is False and a.grad_fn is None
    assert b.requires_grad is True and type(b.grad_fn).__name__ == "AddBackward0"


def _frozen_resnet18(model: nn.Module) -> nn.Module:
    """The tutorial's finetuning model: every parameter frozen, then a new Linear(512, 10) fc."""
    for param in model.parameters():
        param.requires_grad = False
    torch.manual_seed(42)
    model.fc = nn.Linear(512, FINETUNE_CLASSES)
    return model


@pytest.mark.claim("A09")
def test_frozen_resnet18_only_new_fc_requires_grad(device, cpu_resnet18):
    model = _frozen_resnet18(cpu_resnet18).to(device)
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"fc.weight", "fc.bias"}


@pytest.mark.claim("A09")
def test_frozen_resnet18_step_updates_only_fc(device, cpu_resnet18):
    model = _frozen_resnet18(cpu_resnet18).to(device)
    data, labels = (t.to(device) for t in _image_and_labels(FINETUNE_CLASSES))
    (model(data) - labels).sum().backward()
    with_grad = {name for name, p in model.named_parameters() if p.grad is not None}
    assert with_grad == {"fc.weight", "fc.bias"}

    # "we register all the parameters in the optimizer"
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    before, stepped = _params(model), grads(model)
    optimizer.step()
    for name, after in _params(model).items():
        if name in with_grad:
            assert not torch.equal(after, before[name]), f"{name} was not updated"
            # Default float32 tolerances: SGD's fused add rounds differently (see A01).
            assert_close(after, before[name] - LR * stepped[name], msg=name)
        else:
            assert torch.equal(after, before[name]), f"frozen {name} changed"


@pytest.mark.claim("A10")
def test_no_grad_excludes_computations_from_the_dag(device):
    torch.manual_seed(42)
    x = torch.rand(5, 5).to(device).requires_grad_()
    layer = nn.Linear(5, 3).to(device)
    assert all(p.requires_grad for p in layer.parameters())

    with torch.no_grad():
        inside = [x * 2, x + x, x @ x, layer(x)]
    for result in inside:
        assert result.requires_grad is False and result.grad_fn is None

    outside = [x * 2, x + x, x @ x, layer(x)]
    for result in outside:
        assert result.requires_grad is True and result.grad_fn is not None


# ----------------------------------------------------------------------------------------------
# The note "This tutorial works only on the CPU" (drift)


def _training_step(model: nn.Module, device: str) -> dict[str, torch.Tensor]:
    """The tutorial's step on ``device`` (inputs built on CPU, then moved); results on CPU."""
    model = model.to(device)
    data, labels = (t.to(device) for t in _image_and_labels())
    prediction = model(data)
    loss = (prediction - labels).sum()
    loss.backward()
    torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM).step()
    results = {"prediction": prediction, "loss": loss}
    results.update({f"{name}.grad": p.grad for name, p in model.named_parameters()})
    results.update({f"{name} after the step": p for name, p in model.named_parameters()})
    return {name: t.detach().cpu() for name, t in results.items()}


@pytest.mark.claim("A11")
def test_cpu_only_note_is_overly_cautious(device, cpu_resnet18, claim_report):
    initial = _params(cpu_resnet18)
    # Both in full float32: the suite's TF32 policy (tests/conftest.py).
    on_cpu = _training_step(copy.deepcopy(cpu_resnet18), "cpu")
    on_device = on_cpu if device == "cpu" else _training_step(cpu_resnet18, device)

    # The step runs on the device: 1000 scores, finite results, every parameter moved.
    assert on_device["prediction"].shape == (1, 1000)
    for name, value in on_device.items():
        assert torch.isfinite(value).all(), f"{name} on {device}"
    for name, value in initial.items():
        assert not torch.equal(on_device[f"{name} after the step"], value), f"{name} on {device}"
    # ... and, on another device than the CPU, gives the CPU's results.
    if device != "cpu":
        for name, value in on_cpu.items():
            # Float32 sums in another order (cuDNN/cuBLAS kernels vs the CPU's, TF32 off)
            # through 18 layers forward and back: agree to 1e-3 relative, absolute 1e-3 of the
            # tensor's scale for entries that cancel to near zero. A real defect is off by O(1).
            atol = 1e-3 * value.abs().max().item()
            assert_close(on_device[name], value, rtol=1e-3, atol=atol, msg=f"{name} on {device}")

    # The a/b example: small integers, exact on every device.
    a, b = _a_and_b(device)
    _q(a, b).backward(gradient=torch.ones(2, device=device))
    assert_close(a.grad.cpu(), torch.tensor([36.0, 81.0]), rtol=0, atol=0)
    assert_close(b.grad.cpu(), torch.tensor([-12.0, -8.0]), rtol=0, atol=0)

    if device == "cpu":
        claim_report.note("CPU is the tutorial's own device")
    else:
        claim_report.drift(
            "the tutorial's note says it 'works only on the CPU and will not work on GPU "
            f"devices'; with torch {torch.__version__} the resnet18 training step and the a/b "
            f"gradients run on {device} ({devices.device_name(device)}) and match the CPU"
        )
