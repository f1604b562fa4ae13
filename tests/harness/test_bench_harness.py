"""The benchmark workloads (``blitz.bench.workloads``): the timed calls are the tutorial's step
and inference, and what a case needs that is missing here is a skip with the reason, on any torch
version, without a GPU."""

from __future__ import annotations

import sys
import types

import pytest
import torch
import torch.nn as nn

from blitz import train
from blitz.bench import workloads
from blitz.bench.grid import Case
from blitz.models import Net

# ----------------------------------------------------------------------------------------------
# Out of memory: torch.OutOfMemoryError from torch 2.5, torch.cuda.OutOfMemoryError from 1.13,
# a RuntimeError's message before that


CUDA_MESSAGE = "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 79.10 GiB total capacity)"
CPU_MESSAGE = "[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory"


def test_out_of_memory_errors_are_recognized():
    cuda_class = getattr(torch.cuda, "OutOfMemoryError", None)  # torch >= 1.13
    if cuda_class is not None:
        assert workloads.is_out_of_memory(cuda_class(CUDA_MESSAGE))
    assert workloads.is_out_of_memory(RuntimeError(CUDA_MESSAGE))
    assert workloads.is_out_of_memory(RuntimeError(CPU_MESSAGE))


def test_other_errors_are_not_out_of_memory():
    assert not workloads.is_out_of_memory(RuntimeError("mat1 and mat2 shapes cannot be multiplied"))
    assert not workloads.is_out_of_memory(ValueError(CUDA_MESSAGE))


def test_out_of_memory_on_a_torch_without_torch_out_of_memory_error(monkeypatch):
    # torch 1.13 - 2.4: only torch.cuda.OutOfMemoryError
    if not hasattr(torch.cuda, "OutOfMemoryError"):
        pytest.skip(f"torch {torch.__version__} has no torch.cuda.OutOfMemoryError (from 1.13)")
    monkeypatch.delattr(torch, "OutOfMemoryError", raising=False)
    assert workloads.out_of_memory_types() == (torch.cuda.OutOfMemoryError,)
    assert not workloads.is_out_of_memory(RuntimeError("some other error"))  # no AttributeError
    assert workloads.is_out_of_memory(torch.cuda.OutOfMemoryError(CUDA_MESSAGE))


def test_out_of_memory_on_a_torch_without_either_class(monkeypatch):
    # before torch 1.13: a RuntimeError whose message says so
    monkeypatch.delattr(torch, "OutOfMemoryError", raising=False)
    monkeypatch.delattr(torch.cuda, "OutOfMemoryError", raising=False)
    assert workloads.out_of_memory_types() == ()
    assert workloads.is_out_of_memory(RuntimeError(CUDA_MESSAGE))
    assert not workloads.is_out_of_memory(RuntimeError("some other error"))


# ----------------------------------------------------------------------------------------------
# torch.compile's toolchain


@pytest.fixture
def dynamo_supported(monkeypatch):
    """torch.compile supported by this torch on this Python (not so for torch 2.0 on 3.11)."""
    monkeypatch.setattr(workloads, "dynamo_unsupported", lambda: None)


@pytest.fixture
def triton_present(monkeypatch):
    """Triton importable, whether or not this torch build has it."""
    monkeypatch.setitem(sys.modules, "triton", types.ModuleType("triton"))


@pytest.fixture
def no_compilers(monkeypatch):
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.delenv("CXX", raising=False)
    monkeypatch.setattr(workloads.shutil, "which", lambda name, *args, **kwargs: None)


def test_compile_on_cuda_without_a_c_compiler_is_skipped_with_the_reason(
    dynamo_supported, triton_present, no_compilers
):
    reason = workloads.compile_missing("cuda")
    assert reason == (
        "torch.compile on cuda needs a C compiler for Triton's kernel launcher: "
        "install gcc or set $CC"
    )


def test_compile_on_cuda_takes_the_compiler_from_cc(
    dynamo_supported, triton_present, no_compilers, monkeypatch
):
    monkeypatch.setenv("CC", "/opt/toolchain/bin/cc")
    assert workloads.c_compiler() == "/opt/toolchain/bin/cc"
    assert "C compiler" not in (workloads.compile_missing("cuda") or "")


def test_compile_on_cuda_without_triton_is_skipped_with_the_reason(dynamo_supported, monkeypatch):
    monkeypatch.setitem(sys.modules, "triton", None)  # import triton raises ImportError
    assert workloads.compile_missing("cuda") == (
        f"torch.compile on cuda needs Triton, which torch {torch.__version__} lacks here"
    )


def test_compile_on_cpu_without_a_cxx_compiler_is_skipped_with_the_reason(
    dynamo_supported, no_compilers
):
    assert workloads.compile_missing("cpu") == (
        "torch.compile on cpu needs a C++ compiler: install g++ or set $CXX"
    )


def test_eager_cases_need_no_compiler(dynamo_supported, no_compilers):
    case = Case("train", "cpu", "eager", 4, 6)
    assert workloads.skip_reason(case, {"cpu": 0}) is None
    compiled = Case("train", "cpu", "compile", 4, 6)
    assert "C++ compiler" in workloads.skip_reason(compiled, {"cpu": 0})


def test_compile_where_this_torch_cannot_compile_is_skipped_with_its_reason(monkeypatch):
    # torch 2.0 on Python 3.11: "Python 3.11+ not yet supported for torch.compile"
    eval_frame = pytest.importorskip(
        "torch._dynamo.eval_frame", reason=f"torch {torch.__version__} has no torch.compile"
    )

    def unsupported():
        raise RuntimeError("Python 3.11+ not yet supported for torch.compile")

    monkeypatch.setattr(eval_frame, "check_if_dynamo_supported", unsupported)
    workloads.dynamo_unsupported.cache_clear()
    try:
        for device in ("cpu", "cuda"):
            assert workloads.compile_missing(device) == (
                f"torch.compile unavailable with torch {torch.__version__}: "
                "Python 3.11+ not yet supported for torch.compile"
            )
    finally:
        workloads.dynamo_unsupported.cache_clear()


def test_compile_on_a_torch_without_dynamo_is_skipped_with_the_reason(monkeypatch):
    # torch 1.x: no torch._dynamo
    monkeypatch.setitem(sys.modules, "torch._dynamo.eval_frame", None)  # import raises
    workloads.dynamo_unsupported.cache_clear()
    try:
        assert workloads.compile_missing("cpu") == (
            f"torch.compile unavailable: torch {torch.__version__} has none (torch >= 2.0)"
        )
    finally:
        workloads.dynamo_unsupported.cache_clear()


def test_a_missing_device_is_the_reason_before_the_size_limit(monkeypatch):
    monkeypatch.setattr(workloads.devices, "unavailable_reason", lambda device: f"no {device} here")
    case = Case("train", "cuda", "eager", 512, 1024)
    assert workloads.skip_reason(case, {"cuda": 1.0}) == "no cuda here"


def test_a_case_over_its_devices_limit_is_skipped_with_the_limit():
    case = Case("train", "cpu", "eager", 512, 1024)
    assert workloads.skip_reason(case, {"cpu": 2.5}) == (
        "over the cpu size limit of 2.5 GFLOP per timed call "
        "(--bench-max-gflop cpu=N raises it, 0 removes it)"
    )


# ----------------------------------------------------------------------------------------------
# The timed calls: blitz.train's step, with the tutorial's optimizer


@pytest.fixture
def steps(monkeypatch) -> list:
    """Every call of ``blitz.train.train_step`` (which still runs): its arguments."""
    calls = []
    real = train.train_step

    def spy(net, optimizer, criterion, inputs, labels):
        calls.append((net, optimizer, criterion, inputs, labels))
        return real(net, optimizer, criterion, inputs, labels)

    monkeypatch.setattr(train, "train_step", spy)
    return calls


def test_the_training_step_is_the_tutorials(steps):
    step = workloads.build(Case("train", "cpu", "eager", 4, 6))
    step()
    step()
    assert len(steps) == 2
    net, optimizer, criterion, inputs, labels = steps[0]
    assert isinstance(net, Net) and net.width == 6
    assert isinstance(optimizer, torch.optim.SGD)
    group = optimizer.param_groups[0]
    assert (group["lr"], group["momentum"]) == (train.PROTOCOL.lr, train.PROTOCOL.momentum)
    assert isinstance(criterion, nn.CrossEntropyLoss)
    assert inputs.shape == (4, 3, 32, 32) and labels.shape == (4,)

    # the same two steps, written out from blitz.train: the same parameters, bit for bit
    torch.manual_seed(0)
    reference = Net(6)
    images, targets = workloads.random_batch(4, torch.device("cpu"))
    reference_optimizer = train.make_optimizer(reference)
    for _ in range(2):
        train.train_step(reference, reference_optimizer, nn.CrossEntropyLoss(), images, targets)
    for name, value in reference.state_dict().items():
        assert torch.equal(net.state_dict()[name], value), name


def test_channels_last_trains_model_and_inputs_in_channels_last(steps):
    workloads.build(Case("train", "cpu", "channels_last", 4, 6))()
    net, _, _, inputs, _ = steps[0]
    assert net.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    assert inputs.is_contiguous(memory_format=torch.channels_last)


def test_warm_up_runs_the_call_up_to_its_steps(monkeypatch):
    calls = []
    monkeypatch.setitem(workloads.WARMUP, "steps", 7)
    monkeypatch.setitem(workloads.WARMUP, "seconds", 60.0)
    workloads.warm_up(lambda: calls.append(1))
    assert len(calls) == 7


def test_warm_up_stops_once_its_seconds_have_passed(monkeypatch):
    calls = []
    monkeypatch.setitem(workloads.WARMUP, "seconds", 0.0)
    workloads.warm_up(lambda: calls.append(1))
    assert len(calls) == 1  # the first call, which builds kernels, is never cut


def test_machine_info_names_torch_cuda_and_the_load():
    info = workloads.machine_info()
    assert info["torch"] == torch.__version__
    assert info["cuda"] == torch.version.cuda
    assert (info["gpu"] is None) == (info["cuda_unavailable"] is not None)
    assert len(info["load_average"]) == 3
