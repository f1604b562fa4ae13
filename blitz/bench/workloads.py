"""The timed calls: the tutorial's training step and inference, in every variant of the grid.

A training step is ``blitz.train.train_step`` (``zero_grad``, forward, ``CrossEntropyLoss``,
``backward``, ``step``) with ``blitz.train.make_optimizer``'s SGD, the tutorial's protocol; an
inference is ``net(images)`` under ``no_grad`` in eval mode. Each call ends with a
synchronize, so that a GPU's queued work is inside the timing. The inputs are random normal
images already on the device.

Also here: why a case cannot run on this machine (``skip_reason``), out-of-memory errors on any
torch version, and the facts a saved run records about the machine.
"""

from __future__ import annotations

import functools
import gc
import importlib
import os
import shutil
import sysconfig
import time
from collections.abc import Callable, Mapping

import torch
import torch.nn as nn

from blitz import devices, train
from blitz.bench.grid import WARMUP, Case, over_limit
from blitz.models import Net

# ==============================================================================================
# What a case needs


def skip_reason(case: Case, max_gflop: Mapping[str, float]) -> str | None:
    """Why ``case`` cannot run here (device missing, torch.compile's toolchain missing, over the
    device's size limit), or None."""
    reason = devices.unavailable_reason(case.device)
    if reason is None and case.variant == "compile":
        reason = compile_missing(case.device)
    return reason or over_limit(case, max_gflop)


def cxx_compiler() -> str | None:
    """The C++ compiler torch.compile's cpu backend would find, if any."""
    return os.environ.get("CXX") or shutil.which("g++") or shutil.which("clang++")


def c_compiler() -> str | None:
    """The C compiler Triton would find for its launcher, if any ($CC, else gcc, else clang)."""
    return os.environ.get("CC") or shutil.which("gcc") or shutil.which("clang")


@functools.cache
def dynamo_unsupported() -> str | None:
    """Why torch.compile cannot run with this torch and Python, in one line; None when it can."""
    try:
        from torch._dynamo.eval_frame import check_if_dynamo_supported  # in torch >= 2.0
    except ImportError:
        return f"torch.compile unavailable: torch {torch.__version__} has none (torch >= 2.0)"
    try:
        check_if_dynamo_supported()
    except RuntimeError as exc:  # how it says so, e.g. "Python 3.11+ not yet supported ..."
        return f"torch.compile unavailable with torch {torch.__version__}: {exc}"
    return None


def compile_missing(device: str) -> str | None:
    """What torch.compile lacks on ``device`` here, in one line; None when nothing is missing.

    On cpu, Inductor writes C++ kernels: it needs a C++ compiler. On cuda, Inductor writes
    Triton kernels, and Triton builds a small C launcher for each one the first time it runs: it
    needs Triton, a C compiler and Python's headers. Without them the compiled step would not
    fail here but inside the benchmark, after minutes of compiling, as an error. And on any
    device, this torch's torch.compile must support this Python (torch 2.0: not 3.11).
    """
    unsupported = dynamo_unsupported()
    if unsupported is not None:
        return unsupported
    if device == "cpu" and not cxx_compiler():
        return "torch.compile on cpu needs a C++ compiler: install g++ or set $CXX"
    if device == "cuda":
        try:
            import triton  # noqa: F401  (torch's CUDA wheels install it)
        except ImportError:
            return f"torch.compile on cuda needs Triton, which torch {torch.__version__} lacks here"
        if not c_compiler():
            return (
                "torch.compile on cuda needs a C compiler for Triton's kernel launcher: "
                "install gcc or set $CC"
            )
        headers = sysconfig.get_paths()["include"]
        if not os.path.isfile(os.path.join(headers, "Python.h")):
            return (
                "torch.compile on cuda needs Python's headers for Triton's kernel launcher: "
                f"no Python.h in {headers} (install python3-dev)"
            )
    return None


# ==============================================================================================
# Building a timed call


def random_batch(batch_size: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Real-valued normal images (as after the tutorial's Normalize) and labels 0..9.

    Never zeros: a kernel may take a fast path on zeros, and a denormal-free normal sample keeps
    the arithmetic what it is on real data.
    """
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(batch_size, 3, 32, 32, generator=generator)
    labels = torch.randint(0, 10, (batch_size,), generator=generator)
    return images.to(device), labels.to(device)


def build(case: Case) -> Callable[[], None]:
    """The timed call for ``case``: the model on its device, inputs resident there."""
    device = torch.device(case.device)
    torch.manual_seed(0)
    net = Net(case.width).to(device)
    inputs, labels = random_batch(case.batch_size, device)
    if case.variant == "channels_last":
        net = net.to(memory_format=torch.channels_last)
        inputs = inputs.contiguous(memory_format=torch.channels_last)
    if case.kind == "train":
        return _train_step(case, net, inputs, labels)
    return _inference(case, net.eval(), inputs)


def _compile(module: nn.Module) -> Callable:
    """``torch.compile(module, dynamic=False)``, each case with its own graphs, static shapes."""
    compiler = getattr(torch, "compiler", None)  # torch >= 2.1; before, torch._dynamo's reset
    reset = getattr(compiler, "reset", None) or importlib.import_module("torch._dynamo").reset
    reset()
    return torch.compile(module, dynamic=False)


def _bf16(function: Callable, device: torch.device) -> Callable:
    """``function`` run under ``torch.autocast(dtype=torch.bfloat16)``."""

    @functools.wraps(function)
    def autocast(*args):
        with torch.autocast(device.type, dtype=torch.bfloat16):
            return function(*args)

    return autocast


def _train_step(case: Case, net: nn.Module, inputs, labels) -> Callable[[], None]:
    device = inputs.device
    optimizer = train.make_optimizer(net)  # the tutorial's SGD(lr=0.001, momentum=0.9)
    model, criterion = net, nn.CrossEntropyLoss()
    if case.variant == "compile":
        model = _compile(net)
    if case.variant == "bf16":  # the forward and the loss; backward runs outside autocast
        model, criterion = _bf16(net, device), _bf16(criterion, device)

    def run() -> torch.Tensor:
        return train.train_step(model, optimizer, criterion, inputs, labels)

    if case.variant == "cudagraph":
        return _captured(run, device, before_capture=lambda: optimizer.zero_grad(set_to_none=True))

    def step() -> None:
        run()
        devices.synchronize(device)

    return step


def _inference(case: Case, net: nn.Module, inputs) -> Callable[[], None]:
    device = inputs.device
    forward = net
    if case.variant == "compile":
        forward = _compile(net)
    if case.variant == "bf16":
        forward = _bf16(net, device)

    @torch.no_grad()
    def run() -> torch.Tensor:
        return forward(inputs)

    if case.variant == "cudagraph":
        return _captured(run, device)

    def infer() -> None:
        run()
        devices.synchronize(device)

    return infer


def _captured(
    run: Callable[[], torch.Tensor],
    device: torch.device,
    before_capture: Callable[[], None] | None = None,
) -> Callable[[], None]:
    """``run`` captured once in a CUDA graph ("whole-network capture" in torch.cuda's notes),
    then replayed by each call.

    Warm-up runs on a side stream (for a training step it also creates SGD's momentum buffers).
    ``before_capture``: for a training step, the gradients are set to None, so that the captured
    backward writes them afresh on every replay, which is what ``zero_grad()`` then
    ``backward()`` do.
    """
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            run()
    torch.cuda.current_stream().wait_stream(side)
    if before_capture is not None:
        before_capture()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        output = run()

    def replay() -> None:
        graph.replay()
        devices.synchronize(device)

    replay.keep_alive = (graph, output)  # the graph's static tensors live as long as the call
    return replay


def warm_up(call: Callable[[], None]) -> None:
    """Run ``call`` as WARMUP says: up to ``steps`` times, for ``seconds`` after the first."""
    call()
    start = time.perf_counter()
    for _ in range(WARMUP["steps"] - 1):
        if time.perf_counter() - start > WARMUP["seconds"]:
            break
        call()


def release_memory(device: str) -> None:
    gc.collect()
    if device == "cuda" and torch.cuda.is_available():
        torch.cuda.empty_cache()


# ==============================================================================================
# Out of memory


def out_of_memory_types() -> tuple[type[BaseException], ...]:
    """The out-of-memory exception classes this torch has.

    ``torch.OutOfMemoryError`` exists from torch 2.5 (for every device), and
    ``torch.cuda.OutOfMemoryError`` from 1.13 (the same class from 2.5 on); before that an
    out-of-memory error is a plain RuntimeError. Naming a class this torch lacks would turn
    every error into an AttributeError, so only those that exist are used.
    """
    candidates = (
        getattr(torch, "OutOfMemoryError", None),
        getattr(torch.cuda, "OutOfMemoryError", None),
    )
    return tuple(cls for cls in candidates if isinstance(cls, type))


# How an allocator says so in a RuntimeError's message: CUDA's caching allocator ("CUDA out of
# memory. Tried to allocate ..."; its only way before torch 1.13) and the CPU's
# ("DefaultCPUAllocator: can't allocate memory: you tried to allocate ...").
OUT_OF_MEMORY_MESSAGES = ("out of memory", "can't allocate memory")


def is_out_of_memory(exc: BaseException) -> bool:
    """A GPU out-of-memory error, or the CPU allocator's, on any torch version."""
    if isinstance(exc, out_of_memory_types()):
        return True
    return isinstance(exc, RuntimeError) and any(m in str(exc) for m in OUT_OF_MEMORY_MESSAGES)


# ==============================================================================================
# What a saved run records


def machine_info() -> dict:
    """Added to pytest-benchmark's ``machine_info``: torch, CUDA and GPU, so that runs can be
    compared later, and the load average: a busy machine makes every cpu figure noisy."""
    cuda_reason = devices.unavailable_reason("cuda")
    return {
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if cuda_reason is None else None,
        "gpu": devices.device_name("cuda") if cuda_reason is None else None,
        "cuda_unavailable": cuda_reason,
        "cpu_name": devices.device_name("cpu"),
        "torch_threads": torch.get_num_threads(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def environment(device: str) -> dict:
    """What a result's ``extra_info`` says about where it ran (``blitz.bench.grid.extra_info``)."""
    return {
        "device_name": devices.device_name(device),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "torch_threads": torch.get_num_threads(),
    }
