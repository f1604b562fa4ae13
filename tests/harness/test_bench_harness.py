"""The benchmark harness (``bench/conftest.py``): what it skips and what it calls out of memory,
on any torch version, without a GPU."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import pytest
import torch

BENCH_CONFTEST = Path(__file__).resolve().parents[2] / "bench" / "conftest.py"


@pytest.fixture(scope="module")
def harness():
    """bench/conftest.py as a plain module (pytest loads it only for runs of bench/)."""
    name = "blitz_bench_harness"
    spec = importlib.util.spec_from_file_location(name, BENCH_CONFTEST)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while it executes
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[name]


# ----------------------------------------------------------------------------------------------
# Out of memory: torch.OutOfMemoryError from torch 2.5, torch.cuda.OutOfMemoryError from 1.13,
# a RuntimeError's message before that


CUDA_MESSAGE = "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 79.10 GiB total capacity)"
CPU_MESSAGE = "[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory"


def test_out_of_memory_errors_are_recognized(harness):
    assert harness.is_out_of_memory(torch.cuda.OutOfMemoryError(CUDA_MESSAGE))
    assert harness.is_out_of_memory(RuntimeError(CUDA_MESSAGE))
    assert harness.is_out_of_memory(RuntimeError(CPU_MESSAGE))


def test_other_errors_are_not_out_of_memory(harness):
    assert not harness.is_out_of_memory(RuntimeError("mat1 and mat2 shapes cannot be multiplied"))
    assert not harness.is_out_of_memory(ValueError(CUDA_MESSAGE))


def test_out_of_memory_on_a_torch_without_torch_out_of_memory_error(harness, monkeypatch):
    # torch 1.13 - 2.4: only torch.cuda.OutOfMemoryError
    monkeypatch.delattr(torch, "OutOfMemoryError", raising=False)
    assert harness.out_of_memory_types() == (torch.cuda.OutOfMemoryError,)
    assert not harness.is_out_of_memory(RuntimeError("some other error"))  # no AttributeError
    assert harness.is_out_of_memory(torch.cuda.OutOfMemoryError(CUDA_MESSAGE))


def test_out_of_memory_on_a_torch_without_either_class(harness, monkeypatch):
    # before torch 1.13: a RuntimeError whose message says so
    monkeypatch.delattr(torch, "OutOfMemoryError", raising=False)
    monkeypatch.delattr(torch.cuda, "OutOfMemoryError")
    assert harness.out_of_memory_types() == ()
    assert harness.is_out_of_memory(RuntimeError(CUDA_MESSAGE))
    assert not harness.is_out_of_memory(RuntimeError("some other error"))


# ----------------------------------------------------------------------------------------------
# torch.compile's toolchain


@pytest.fixture
def dynamo_supported(harness, monkeypatch):
    """torch.compile supported by this torch on this Python (not so for torch 2.0 on 3.11)."""
    monkeypatch.setattr(harness, "dynamo_unsupported", lambda: None)


@pytest.fixture
def triton_present(monkeypatch):
    """Triton importable, whether or not this torch build has it."""
    monkeypatch.setitem(sys.modules, "triton", types.ModuleType("triton"))


@pytest.fixture
def no_compilers(harness, monkeypatch):
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.delenv("CXX", raising=False)
    monkeypatch.setattr(harness.shutil, "which", lambda name, *args, **kwargs: None)


def test_compile_on_cuda_without_a_c_compiler_is_skipped_with_the_reason(
    harness, dynamo_supported, triton_present, no_compilers
):
    reason = harness.compile_missing("cuda")
    assert reason == (
        "torch.compile on cuda needs a C compiler for Triton's kernel launcher: "
        "install gcc or set $CC"
    )


def test_compile_on_cuda_takes_the_compiler_from_cc(
    harness, dynamo_supported, triton_present, no_compilers, monkeypatch
):
    monkeypatch.setenv("CC", "/opt/toolchain/bin/cc")
    assert harness.c_compiler() == "/opt/toolchain/bin/cc"
    assert "C compiler" not in (harness.compile_missing("cuda") or "")


def test_compile_on_cuda_without_triton_is_skipped_with_the_reason(
    harness, dynamo_supported, monkeypatch
):
    monkeypatch.setitem(sys.modules, "triton", None)  # import triton raises ImportError
    assert harness.compile_missing("cuda") == (
        f"torch.compile on cuda needs Triton, which torch {torch.__version__} lacks here"
    )


def test_compile_on_cpu_without_a_cxx_compiler_is_skipped_with_the_reason(
    harness, dynamo_supported, no_compilers
):
    assert harness.compile_missing("cpu") == (
        "torch.compile on cpu needs a C++ compiler: install g++ or set $CXX"
    )


def test_eager_cases_need_no_compiler(harness, dynamo_supported, no_compilers):
    case = harness.Case("train", "cpu", "eager", 4, 6)
    assert harness.skip_reason(case, {"cpu": 0}) is None
    compiled = harness.Case("train", "cpu", "compile", 4, 6)
    assert "C++ compiler" in harness.skip_reason(compiled, {"cpu": 0})


def test_compile_where_this_torch_cannot_compile_is_skipped_with_its_reason(
    harness, monkeypatch
):
    # torch 2.0 on Python 3.11: "Python 3.11+ not yet supported for torch.compile"
    import torch._dynamo.eval_frame as eval_frame

    def unsupported():
        raise RuntimeError("Python 3.11+ not yet supported for torch.compile")

    monkeypatch.setattr(eval_frame, "check_if_dynamo_supported", unsupported)
    harness.dynamo_unsupported.cache_clear()
    try:
        for device in ("cpu", "cuda"):
            assert harness.compile_missing(device) == (
                f"torch.compile unavailable with torch {torch.__version__}: "
                "Python 3.11+ not yet supported for torch.compile"
            )
    finally:
        harness.dynamo_unsupported.cache_clear()
