"""The tutorial's first section, "Tensors": initialization, attributes, operations, NumPy bridge.

Claims T01-T17 of the catalogue, in the section's order, then the May 2026 revision's T18 (the
device picked through ``torch.accelerator``). The goldens are the tutorial's printed
outputs. The script never seeds, but the build that printed them reset ``torch.manual_seed(42)``
before it (June 2023 to May 2025), so the random goldens reproduce on the CPU when the draws
are made in the script's order from that seed (``rand_like`` first, then ``rand``).
On other devices the same inputs are built on the CPU and moved, and the results compared with
the CPU's (and, where NumPy has the operation, with NumPy's).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from torch.testing import assert_close
from torch.torch_version import TorchVersion

from blitz import compat

TORCH_VERSION = TorchVersion(torch.__version__)

# The tutorial's data and printed outputs.
DATA = [[1, 2], [3, 4]]
SHAPE = (2, 3)
PRINTED_ONES_LIKE = "tensor([[1, 1],\n        [1, 1]])"
PRINTED_RAND_LIKE = "tensor([[0.8823, 0.9150],\n        [0.3829, 0.9593]])"
PRINTED_RAND = "tensor([[0.3904, 0.6009, 0.2566],\n        [0.7936, 0.9408, 0.1332]])"
PRINTED_ONES = "tensor([[1., 1., 1.],\n        [1., 1., 1.]])"
PRINTED_ZEROS = "tensor([[0., 0., 0.],\n        [0., 0., 0.]])"
PRINTED_COLUMN_ZEROED = (
    "tensor([[1., 0., 1., 1.],\n"
    "        [1., 0., 1., 1.],\n"
    "        [1., 0., 1., 1.],\n"
    "        [1., 0., 1., 1.]])"
)
PRINTED_CAT = (
    "tensor([[1., 0., 1., 1., 1., 0., 1., 1., 1., 0., 1., 1.],\n"
    "        [1., 0., 1., 1., 1., 0., 1., 1., 1., 0., 1., 1.],\n"
    "        [1., 0., 1., 1., 1., 0., 1., 1., 1., 0., 1., 1.],\n"
    "        [1., 0., 1., 1., 1., 0., 1., 1., 1., 0., 1., 1.]])"
)
PRINTED_MATMUL = (
    "tensor([[3., 3., 3., 3.],\n"
    "        [3., 3., 3., 3.],\n"
    "        [3., 3., 3., 3.],\n"
    "        [3., 3., 3., 3.]])"
)
PRINTED_ADD_5 = (
    "tensor([[6., 5., 6., 6.],\n"
    "        [6., 5., 6., 6.],\n"
    "        [6., 5., 6., 6.],\n"
    "        [6., 5., 6., 6.]])"
)
COLUMN_ZEROED = torch.tensor([[1.0, 0.0, 1.0, 1.0]] * 4)

# NumPy dtypes and the torch dtype from_numpy gives each. The unsigned types wider than 8 bits
# are newer in torch: whether from_numpy takes them is decided by what the installed torch does.
CORE_DTYPES = {
    np.bool_: torch.bool,
    np.uint8: torch.uint8,
    np.int8: torch.int8,
    np.int16: torch.int16,
    np.int32: torch.int32,
    np.int64: torch.int64,
    np.float16: torch.float16,
    np.float32: torch.float32,
    np.float64: torch.float64,
    np.complex64: torch.complex64,
    np.complex128: torch.complex128,
}
WIDE_UNSIGNED_DTYPES = {
    np.uint16: getattr(torch, "uint16", None),
    np.uint32: getattr(torch, "uint32", None),
    np.uint64: getattr(torch, "uint64", None),
}
ALL_DTYPES = {**CORE_DTYPES, **WIDE_UNSIGNED_DTYPES}
# Checked on torch 2.14: from_numpy takes uint16/32/64. Older versions are reported, not judged.
WIDE_UNSIGNED_SINCE = TorchVersion("2.14")


def from_numpy_accepts(np_dtype) -> bool:
    try:
        torch.from_numpy(np.zeros(1, dtype=np_dtype))
    except TypeError:
        return False
    return True


def dtype_param(np_dtype):
    reason = None
    if np_dtype in WIDE_UNSIGNED_DTYPES and not from_numpy_accepts(np_dtype):
        reason = (
            f"torch {torch.__version__}: from_numpy does not take numpy.{np.dtype(np_dtype)} "
            "(see test_from_numpy_supported_dtypes); a newer torch does"
        )
    marks = [pytest.mark.skipif(True, reason=reason)] if reason else []
    return pytest.param(np_dtype, marks=marks, id=np.dtype(np_dtype).name)


def device_string(device: str) -> str:
    """How ``tensor.device`` prints for a tensor on ``device`` ("cpu", "cuda:0")."""
    return "cpu" if device == "cpu" else f"{device}:0"


def column_zeroed(device: str = "cpu") -> torch.Tensor:
    """The tutorial's ``tensor = torch.ones(4, 4); tensor[:, 1] = 0``."""
    tensor = torch.ones(4, 4, device=device)
    tensor[:, 1] = 0
    return tensor


def distinct_4x4() -> torch.Tensor:
    """A 4x4 float32 matrix of distinct small integers: every product and sum is exact."""
    return torch.arange(1.0, 17.0).reshape(4, 4)


# ----------------------------------------------------------------------------------------------
# Tensor initialization


@pytest.mark.claim("T01")
@pytest.mark.parametrize(
    ("data", "dtype"),
    [
        (DATA, torch.int64),
        ([[1.0, 2.0], [3.0, 4.0]], torch.float32),
        ([[True, False], [False, True]], torch.bool),
    ],
    ids=["int", "float", "bool"],
)
def test_tensor_infers_dtype_from_data(device, data, dtype):
    x_data = torch.tensor(data, device=device)
    assert x_data.dtype == dtype
    assert x_data.device.type == device
    assert x_data.cpu().tolist() == data


@pytest.mark.claim("T02")
def test_from_numpy_supported_dtypes(claim_report):
    taken = {}
    for np_dtype, torch_dtype in ALL_DTYPES.items():
        if from_numpy_accepts(np_dtype):
            taken[np.dtype(np_dtype).name] = torch.from_numpy(np.zeros(1, dtype=np_dtype)).dtype
            assert taken[np.dtype(np_dtype).name] == torch_dtype
    refused = [np.dtype(d).name for d in WIDE_UNSIGNED_DTYPES if np.dtype(d).name not in taken]
    assert all(np.dtype(d).name in taken for d in CORE_DTYPES)
    if TORCH_VERSION >= WIDE_UNSIGNED_SINCE:
        assert refused == []
    claim_report.note(
        f"torch {torch.__version__} from_numpy takes {', '.join(taken)}"
        + (f"; not {', '.join(refused)}" if refused else "")
    )


@pytest.mark.claim("T02")
def test_from_numpy_refuses_object_arrays():
    with pytest.raises(TypeError, match="can't convert np.ndarray"):
        torch.from_numpy(np.array([1, "a"], dtype=object))


@pytest.mark.claim("T02")
@pytest.mark.parametrize("np_dtype", [dtype_param(d) for d in ALL_DTYPES])
@settings(max_examples=max(10, settings().max_examples // 4))  # per dtype: 14 dtypes
@given(data=st.data())
def test_from_numpy_keeps_values_and_dtype(device, np_dtype, data):
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
    array = data.draw(hnp.arrays(np_dtype, shape))
    tensor = torch.from_numpy(array)
    assert tensor.dtype == ALL_DTYPES[np_dtype]
    assert tuple(tensor.shape) == array.shape
    back = tensor.numpy()
    assert back.dtype == array.dtype
    np.testing.assert_array_equal(back, array)
    assert back.tobytes() == array.tobytes()  # bit for bit: NaN payloads and -0.0 too
    moved = tensor.to(device)
    assert moved.device.type == device
    np.testing.assert_array_equal(moved.cpu().numpy(), array)


@pytest.mark.claim("T03")
def test_ones_like_keeps_shape_and_dtype(device):
    x_data = torch.tensor(DATA, device=device)
    x_ones = torch.ones_like(x_data)
    assert x_ones.dtype == torch.int64
    assert x_ones.device == x_data.device
    assert torch.equal(x_ones.cpu(), torch.tensor([[1, 1], [1, 1]]))
    assert str(x_ones.cpu()) == PRINTED_ONES_LIKE


@pytest.mark.claim("T03")
def test_ones_like_keeps_a_non_square_shape_and_other_dtype(device):
    x = torch.zeros(2, 3, dtype=torch.int32, device=device)
    x_ones = torch.ones_like(x)
    assert x_ones.shape == torch.Size([2, 3])
    assert x_ones.dtype == torch.int32
    assert bool((x_ones == 1).all())


@pytest.mark.claim("T04")
def test_rand_like_overrides_dtype(device):
    x_data = torch.tensor(DATA, device=device)
    x_rand = torch.rand_like(x_data, dtype=torch.float)
    assert x_rand.dtype == torch.float32
    assert x_rand.shape == x_data.shape
    assert x_rand.device == x_data.device


@pytest.mark.claim("T04")
def test_rand_like_draws_from_zero_to_one(device):
    like = torch.zeros(100, 100, dtype=torch.int64, device=device)
    x_rand = torch.rand_like(like, dtype=torch.float)
    assert bool((x_rand >= 0).all()) and bool((x_rand < 1).all())
    assert x_rand.unique().numel() > 9000  # random draws, not a constant fill


@pytest.mark.claim("T04")
def test_rand_like_golden_with_seed_42():
    torch.manual_seed(42)
    x_data = torch.tensor(DATA)
    x_rand = torch.rand_like(x_data, dtype=torch.float)
    golden = torch.tensor([[0.8823, 0.9150], [0.3829, 0.9593]])
    assert_close(x_rand, golden, atol=5e-5, rtol=0)  # printed to 4 decimals
    assert str(x_rand) == PRINTED_RAND_LIKE


@pytest.mark.claim("T05")
@pytest.mark.parametrize(
    "shape", [SHAPE, (4,), (2, 3, 4), ()], ids=lambda s: "x".join(map(str, s)) or "0-d"
)
def test_rand_ones_zeros_take_a_shape_tuple(device, shape):
    for make in (torch.rand, torch.ones, torch.zeros):
        tensor = make(shape, device=device)
        assert tensor.shape == torch.Size(shape)
        assert tensor.dtype == torch.float32
    assert bool((torch.ones(shape, device=device) == 1).all())
    assert bool((torch.zeros(shape, device=device) == 0).all())


@pytest.mark.claim("T05")
def test_rand_ones_zeros_golden_with_seed_42():
    torch.manual_seed(42)
    torch.rand_like(torch.tensor(DATA), dtype=torch.float)  # the script's previous draw (T04)
    rand_tensor = torch.rand(SHAPE)
    golden = torch.tensor([[0.3904, 0.6009, 0.2566], [0.7936, 0.9408, 0.1332]])
    assert_close(rand_tensor, golden, atol=5e-5, rtol=0)  # printed to 4 decimals
    assert str(rand_tensor) == PRINTED_RAND
    assert str(torch.ones(SHAPE)) == PRINTED_ONES
    assert str(torch.zeros(SHAPE)) == PRINTED_ZEROS


# ----------------------------------------------------------------------------------------------
# Tensor attributes


@pytest.mark.claim("T06")
def test_tensor_attributes_golden():
    tensor = torch.rand(3, 4)
    assert f"Shape of tensor: {tensor.shape}" == "Shape of tensor: torch.Size([3, 4])"
    assert f"Datatype of tensor: {tensor.dtype}" == "Datatype of tensor: torch.float32"
    assert f"Device tensor is stored on: {tensor.device}" == "Device tensor is stored on: cpu"


@pytest.mark.claim("T06")
def test_tensor_attributes_on_device(device):
    tensor = torch.rand(3, 4, device=device)
    assert tensor.shape == torch.Size([3, 4])
    assert tensor.dtype == torch.float32
    assert str(tensor.device) == device_string(device)


# ----------------------------------------------------------------------------------------------
# Tensor operations


@pytest.mark.claim("T07")
def test_to_device_moves_the_tensor(device):
    tensor = torch.rand(3, 4)
    original = tensor.clone()
    moved = tensor.to(device)
    assert str(moved.device) == device_string(device)
    assert f"Device tensor is stored on: {moved.device}" == (
        f"Device tensor is stored on: {device_string(device)}"
    )
    assert torch.equal(moved.cpu(), original)


def _index_assign(x, y):
    x[:, 1] = 0
    return x


def _np_index_assign(x, y):
    x = x.copy()
    x[:, 1] = 0
    return x


# name: (the operation in torch, the same in NumPy); in-place ones return the changed tensor.
SECTION_OPERATIONS = {
    "index-assign": (_index_assign, _np_index_assign),
    "cat": (lambda x, y: torch.cat([x, y], dim=1), lambda x, y: np.concatenate([x, y], 1)),
    "stack": (lambda x, y: torch.stack([x, y]), lambda x, y: np.stack([x, y])),
    "mul": (lambda x, y: x.mul(y), np.multiply),
    "star": (lambda x, y: x * y, np.multiply),
    "matmul": (lambda x, y: x.matmul(y.T), lambda x, y: x @ y.T),
    "at": (lambda x, y: x @ y.T, lambda x, y: x @ y.T),
    "add_": (lambda x, y: x.add_(5), lambda x, y: x + 5),
    "copy_": (lambda x, y: x.copy_(y), lambda x, y: y),
    "t_": (lambda x, y: x.t_(), lambda x, y: x.T),
}


@pytest.mark.claim("T08")
@pytest.mark.parametrize("operation", list(SECTION_OPERATIONS))
def test_operations_give_the_cpu_result_on_device(device, operation):
    op, np_op = SECTION_OPERATIONS[operation]
    x = distinct_4x4()
    y = torch.arange(16.0, 0.0, -1.0).reshape(4, 4)
    expected = np_op(x.numpy().copy(), y.numpy().copy())
    on_cpu = op(x.clone(), y.clone())
    on_device = op(x.clone().to(device), y.clone().to(device))
    assert on_device.device.type == device
    # Small integers: every result is exact, whatever the device's summation order.
    assert_close(on_device.cpu(), on_cpu, rtol=0, atol=0)
    assert_close(on_device.cpu(), torch.tensor(expected), rtol=0, atol=0)


@pytest.mark.claim("T09")
def test_indexing_assignment_golden(device):
    tensor = column_zeroed(device)
    assert torch.equal(tensor.cpu(), COLUMN_ZEROED)
    assert str(tensor.cpu()) == PRINTED_COLUMN_ZEROED
    assert tensor[0].tolist() == [1.0, 0.0, 1.0, 1.0]  # first row
    assert tensor[:, 0].tolist() == [1.0] * 4  # first column
    assert tensor[..., -1].tolist() == [1.0] * 4  # last column


@pytest.mark.claim("T09")
def test_indexing_and_slicing_are_numpy_like(device):
    array = np.arange(16).reshape(4, 4)
    tensor = torch.arange(16, device=device).reshape(4, 4)
    for index in (0, (slice(None), 0), (Ellipsis, -1), (slice(1, 3), slice(None, None, 2))):
        np.testing.assert_array_equal(tensor[index].cpu().numpy(), array[index])


@pytest.mark.claim("T10")
def test_cat_golden(device):
    tensor = column_zeroed(device)
    t1 = torch.cat([tensor, tensor, tensor], dim=1)
    assert t1.shape == torch.Size([4, 12])
    assert torch.equal(t1.cpu(), torch.tensor([[1.0, 0.0, 1.0, 1.0] * 3] * 4))
    assert str(t1.cpu()) == PRINTED_CAT


@pytest.mark.claim("T10")
def test_stack_adds_a_new_dim(device):
    tensor = column_zeroed(device)
    stacked = torch.stack([tensor, tensor + 1, tensor + 2])
    assert stacked.shape == torch.Size([3, 4, 4])
    for i in range(3):
        assert torch.equal(stacked[i], tensor + i)


FLOATS = st.floats(-10, 10, width=32)


@st.composite
def cat_inputs(draw):
    """Arrays that agree in every dimension but ``dim``, and ``dim``."""
    base = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4))
    dim = draw(st.integers(-len(base), len(base) - 1))
    lengths = draw(st.lists(st.integers(0, 4), min_size=1, max_size=4))
    shapes = [base[: dim % len(base)] + (n,) + base[dim % len(base) + 1 :] for n in lengths]
    return [draw(hnp.arrays(np.float32, s, elements=FLOATS)) for s in shapes], dim


@st.composite
def stack_inputs(draw):
    """Arrays of one shape, and a ``dim`` in the range of the stacked result."""
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
    count = draw(st.integers(1, 4))
    dim = draw(st.integers(-len(shape) - 1, len(shape)))
    return [draw(hnp.arrays(np.float32, shape, elements=FLOATS)) for _ in range(count)], dim


@pytest.mark.claim("T10")
@given(inputs=cat_inputs())
def test_cat_joins_along_dim(device, inputs):
    arrays, dim = inputs
    tensors = [torch.tensor(a, device=device) for a in arrays]
    joined = torch.cat(tensors, dim=dim)
    expected_shape = list(arrays[0].shape)
    expected_shape[dim] = sum(a.shape[dim] for a in arrays)
    assert list(joined.shape) == expected_shape
    offset = 0
    for tensor in tensors:
        assert torch.equal(joined.narrow(dim, offset, tensor.shape[dim]), tensor)
        offset += tensor.shape[dim]
    np.testing.assert_array_equal(joined.cpu().numpy(), np.concatenate(arrays, axis=dim))


@pytest.mark.claim("T10")
@given(inputs=stack_inputs())
def test_stack_adds_a_dim_at_dim(device, inputs):
    arrays, dim = inputs
    tensors = [torch.tensor(a, device=device) for a in arrays]
    stacked = torch.stack(tensors, dim=dim)
    expected_shape = list(arrays[0].shape)
    expected_shape.insert(dim % (len(expected_shape) + 1), len(arrays))
    assert list(stacked.shape) == expected_shape
    for i, tensor in enumerate(tensors):
        assert torch.equal(stacked.select(dim, i), tensor)


@pytest.mark.claim("T11")
def test_mul_and_star_golden(device):
    tensor = column_zeroed(device)
    assert torch.equal(tensor.mul(tensor).cpu(), COLUMN_ZEROED)
    assert torch.equal((tensor * tensor).cpu(), COLUMN_ZEROED)
    assert str(tensor.mul(tensor).cpu()) == PRINTED_COLUMN_ZEROED


@pytest.mark.claim("T11")
def test_mul_and_star_are_the_elementwise_product(device):
    x = distinct_4x4()
    y = torch.arange(16.0, 0.0, -1.0).reshape(4, 4)
    expected = torch.tensor(x.numpy() * y.numpy())
    on_device_x, on_device_y = x.to(device), y.to(device)
    # Products of small integers are exact.
    assert_close(on_device_x.mul(on_device_y).cpu(), expected, rtol=0, atol=0)
    assert_close((on_device_x * on_device_y).cpu(), expected, rtol=0, atol=0)


@pytest.mark.claim("T12")
def test_matmul_and_at_golden(device):
    tensor = column_zeroed(device)
    threes = torch.full((4, 4), 3.0)
    assert torch.equal(tensor.matmul(tensor.T).cpu(), threes)
    assert torch.equal((tensor @ tensor.T).cpu(), threes)
    assert str((tensor @ tensor.T).cpu()) == PRINTED_MATMUL


@st.composite
def matmul_inputs(draw):
    n, k, m = draw(st.integers(1, 5)), draw(st.integers(1, 5)), draw(st.integers(1, 5))
    small_integers = st.integers(-16, 16)
    a = draw(hnp.arrays(np.float32, (n, k), elements=small_integers))
    b = draw(hnp.arrays(np.float32, (k, m), elements=small_integers))
    return a, b


@pytest.mark.claim("T12")
@given(inputs=matmul_inputs())
def test_matmul_and_at_agree_with_numpy(device, inputs):
    a, b = inputs
    expected = torch.tensor(np.matmul(a, b))
    x, y = torch.tensor(a, device=device), torch.tensor(b, device=device)
    # Integer-valued inputs: every sum is exact in float32, in any order.
    assert_close(x.matmul(y).cpu(), expected, rtol=0, atol=0)
    assert_close((x @ y).cpu(), expected, rtol=0, atol=0)


@pytest.mark.claim("T13")
def test_add_underscore_is_in_place(device):
    tensor = column_zeroed(device)
    address = tensor.data_ptr()
    result = tensor.add_(5)
    assert result is tensor
    assert tensor.data_ptr() == address
    assert torch.equal(tensor.cpu(), COLUMN_ZEROED + 5)
    assert str(tensor.cpu()) == PRINTED_ADD_5


@pytest.mark.claim("T13")
def test_copy_underscore_changes_x(device):
    x = torch.zeros(2, 3, device=device)
    y = torch.arange(6.0).reshape(2, 3).to(device)
    address = x.data_ptr()
    assert x.copy_(y) is x
    assert x.data_ptr() == address
    assert torch.equal(x, y)
    assert x.data_ptr() != y.data_ptr()


@pytest.mark.claim("T13")
def test_t_underscore_transposes_x_in_place(device):
    x = torch.arange(6.0).reshape(2, 3).to(device)
    original = x.clone()
    storage = compat.storage_ptr(x)
    assert x.t_() is x
    assert x.shape == torch.Size([3, 2])
    assert compat.storage_ptr(x) == storage
    assert torch.equal(x, original.T)


@pytest.mark.claim("T14")
@pytest.mark.parametrize("function", ["sigmoid", "exp"])
def test_in_place_change_of_a_saved_tensor_breaks_backward(device, function):
    x = torch.tensor([0.5, -1.0, 2.0], device=device, requires_grad=True)
    y = getattr(x, function)()  # backward of sigmoid and exp needs their output
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


@pytest.mark.claim("T14")
@pytest.mark.parametrize("function", ["sigmoid", "exp"])
def test_out_of_place_change_keeps_backward(device, function):
    values = [0.5, -1.0, 2.0]
    x = torch.tensor(values, device=device, requires_grad=True)
    y = getattr(x, function)()
    (y + 1).sum().backward()
    assert x.grad is not None and x.grad.device.type == device
    # d/dx (f(x) + 1) = f'(x): sigmoid' = s (1 - s), exp' = exp, here in float64 with math.
    sigmoids = [1 / (1 + math.exp(-v)) for v in values]
    derivative = {
        "sigmoid": [s * (1 - s) for s in sigmoids],
        "exp": [math.exp(v) for v in values],
    }[function]
    # float32 defaults: x.grad is computed in float32 from the same x, the reference in float64
    assert_close(x.grad.cpu(), torch.tensor(derivative, dtype=torch.float32))


# ----------------------------------------------------------------------------------------------
# Bridge with NumPy


def numpy_address(array: np.ndarray) -> int:
    return array.__array_interface__["data"][0]


@pytest.mark.claim("T15")
def test_tensor_numpy_shares_memory():
    t = torch.ones(5)
    n = t.numpy()
    assert f"t: {t}" == "t: tensor([1., 1., 1., 1., 1.])"
    assert f"n: {n}" == "n: [1. 1. 1. 1. 1.]"
    assert numpy_address(n) == t.data_ptr()
    t.add_(1)
    assert f"t: {t}" == "t: tensor([2., 2., 2., 2., 2.])"
    assert f"n: {n}" == "n: [2. 2. 2. 2. 2.]"
    np.testing.assert_array_equal(n, np.full(5, 2.0, dtype=np.float32))


@pytest.mark.claim("T16")
def test_from_numpy_shares_memory():
    n = np.ones(5)
    t = torch.from_numpy(n)
    assert t.data_ptr() == numpy_address(n)
    np.add(n, 1, out=n)
    assert f"t: {t}" == "t: tensor([2., 2., 2., 2., 2.], dtype=torch.float64)"
    assert f"n: {n}" == "n: [2. 2. 2. 2. 2.]"
    assert t.dtype == torch.float64
    assert torch.equal(t, torch.full((5,), 2.0, dtype=torch.float64))


@pytest.mark.claim("T17")
def test_numpy_of_a_tensor_shares_memory_only_on_cpu(device):
    t = torch.ones(5, device=device)
    if device == "cpu":
        n = t.numpy()
        assert numpy_address(n) == t.data_ptr()
        t.add_(1)
        np.testing.assert_array_equal(n, np.full(5, 2.0, dtype=np.float32))
    else:
        with pytest.raises(TypeError, match="can't convert"):
            t.numpy()


@pytest.mark.claim("T17")
def test_cpu_numpy_copies_only_a_device_tensor(device):
    t = torch.ones(5, device=device)
    host = t.cpu()
    n = host.numpy()
    t.add_(1)
    if device == "cpu":
        assert host is t  # already on the host: no copy
        np.testing.assert_array_equal(n, np.full(5, 2.0, dtype=np.float32))
    else:
        # A copy in host memory (data pointers of two devices live in different address spaces:
        # comparing them says nothing), which NumPy shares, and which keeps the values of the
        # moment it was made while the device tensor changes.
        assert host.device == torch.device("cpu") and t.device.type == device
        assert numpy_address(n) == host.data_ptr()
        assert torch.equal(t.cpu(), torch.full((5,), 2.0))  # the device tensor did change
        assert torch.equal(host, torch.ones(5))
        np.testing.assert_array_equal(n, np.ones(5, dtype=np.float32))


# ----------------------------------------------------------------------------------------------
# T18 (2026 revision): the device picked through torch.accelerator

# The 2026 revision's tensors and classifier pages pick the device with this expression.
ACCELERATOR_SELECTION = (
    "torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else 'cpu'"
)
# Environment variables that hide every GPU of a vendor from a fresh process.
HIDE_GPUS = {"cuda": ("CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES")}


def accelerator_device() -> str:
    """The 2026 revision's device selection, as its pages write it."""
    return (
        torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"
    )


def report_no_torch_accelerator(claim_report) -> None:
    """Where torch has no ``torch.accelerator``, the revision's code fails as users report it
    (pytorch/tutorials#3629): assert that failure and report it as drift."""
    with pytest.raises(AttributeError, match="has no attribute 'accelerator'") as failure:
        accelerator_device()
    claim_report.drift(
        f"the 2026 revision picks the device with {ACCELERATOR_SELECTION} ('since PyTorch 2.4', "
        f"its issue says); torch {torch.__version__} has no torch.accelerator: "
        f"{failure.value} (pytorch/tutorials#3629); torch.cuda.is_available() is the check here"
    )


def assert_moves_there(selected: str, device: str) -> None:
    """A tensor moved to the selected device, as a string (tensors page) or a torch.device
    (classifier page), is on ``device`` with its values unchanged."""
    x = torch.rand(3, 4)
    for target in (selected, torch.device(selected)):
        moved = x.to(target)
        assert moved.device.type == device
        assert torch.equal(moved.cpu(), x)


def assert_selects_cpu_without_an_accelerator(claim_report) -> None:
    """The selection gives "cpu" where no accelerator is present. Where this process is told
    one is available, the selection must name it and a tensor must move there (else the guard
    says "available" of an accelerator no tensor can reach); and a fresh process that cannot
    see it must select "cpu"."""
    if not torch.accelerator.is_available():
        assert accelerator_device() == "cpu"
        assert_moves_there("cpu", "cpu")
        built_for = torch.accelerator.current_accelerator()
        if built_for is not None:
            claim_report.note(
                f"without a GPU, torch {torch.__version__}'s current_accelerator() alone says "
                f"{built_for.type!r} (the build's accelerator): the is_available() guard is "
                "what gives 'cpu'"
            )
    else:
        # In this process: "available" means a tensor reaches the selected accelerator.
        selected = accelerator_device()
        assert selected != "cpu"
        assert_moves_there(selected, selected)
        # Without it: a fresh process that cannot see the GPUs selects "cpu".
        kind = torch.accelerator.current_accelerator().type
        if kind not in HIDE_GPUS:
            pytest.skip(f"cannot hide the {kind} accelerator from a fresh process to check 'cpu'")
        env = {**os.environ, **dict.fromkeys(HIDE_GPUS[kind], "")}
        code = f"import torch; print({ACCELERATOR_SELECTION})"
        result = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        assert result.stdout.strip() == "cpu"


@pytest.mark.claim("T18")
def test_torch_accelerator_picks_the_device(device, claim_report):
    # cpu: where no accelerator is available, the selection is "cpu"; where one is said to be,
    # tensors move to it in this process, and a process that cannot see it selects "cpu". An
    # accelerator: it is that accelerator, and tensors move there.
    if not hasattr(torch, "accelerator"):
        report_no_torch_accelerator(claim_report)
    elif device == "cpu":
        assert_selects_cpu_without_an_accelerator(claim_report)
    else:
        assert torch.accelerator.is_available()
        selected = accelerator_device()
        assert selected == device
        assert_moves_there(selected, device)
        assert torch.ones(1).to(selected).device == torch.device(device, 0)  # prints cuda:0
