"""Benchmarks of the tutorial's training step and inference (claim C11), for pytest-benchmark.

The tutorial, "Training on GPU": "Why don't I notice MASSIVE speedup compared to CPU? Because
your network is really small." and the exercise: widen the network (argument 2 of the first
``nn.Conv2d``, argument 1 of the second) and see what speedup you get. These benchmarks time the
step on every device over batch size x width; ``python -m blitz.report bench`` reads the saved
runs and gives the GPU/CPU speedup and the verdict on C11. A pass here means "measured", never
"the claim holds", so the benchmarks carry no ``claim`` marker and have no row in the claims
matrix (see ``blitz.claims``).

Run: ``pytest bench --benchmark-autosave`` (``bench/`` is not among the default test paths).

This file holds the whole harness, in sections:

- the grid: batch sizes x widths x variants x devices, with a size limit per device;
- timing settings: GC off, warm-up on, enough rounds; the command line can still override them;
- the workloads: the tutorial's step and its variants, built, warmed up and synchronized;
- machine info and ``extra_info``: what a saved run needs to be read on its own.
"""

from __future__ import annotations

import functools
import gc
import os
import shutil
import sysconfig
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import pytest
import torch
import torch.nn as nn
import torch.optim as optim

from blitz import devices
from blitz import plugin as blitz_plugin
from blitz.models import Net

# ==============================================================================================
# The grid

TUTORIAL_BATCH_SIZE = 4  # trainloader = DataLoader(trainset, batch_size=4, ...)
TUTORIAL_WIDTH = 6  # nn.Conv2d(3, 6, 5); nn.Conv2d(6, 16, 5)
BATCH_SIZES = (TUTORIAL_BATCH_SIZE, 64, 512)
WIDTHS = (TUTORIAL_WIDTH, 64, 256, 1024)
KINDS = ("train", "inference")

# torch.compile costs tens of seconds per configuration and kind (far more on a small CPU), so
# the compiled variant runs on two configurations: the tutorial's and the largest.
COMPILE_CONFIGS = ((TUTORIAL_BATCH_SIZE, TUTORIAL_WIDTH), (BATCH_SIZES[-1], WIDTHS[-1]))


@dataclass(frozen=True)
class Variant:
    name: str
    description: str
    devices: tuple[str, ...] | None = None  # None: every device
    configs: tuple[tuple[int, int], ...] | None = None  # (batch size, width); None: all


VARIANTS = {
    v.name: v
    for v in (
        Variant("eager", "the tutorial's code as written"),
        Variant("channels_last", "model and inputs in channels_last (NHWC) memory format"),
        Variant(
            "compile",
            "torch.compile(dynamic=False) of forward + loss (its backward compiled with it); "
            "the SGD step stays eager",
            configs=COMPILE_CONFIGS,
        ),
        Variant("cudagraph", "the whole step captured once in a CUDA graph, then replayed", ("cuda",)),
        Variant("bf16", "forward and loss under torch.autocast(dtype=torch.bfloat16)", ("cuda",)),
    )
}

# The size limit: a timed call whose estimated work exceeds this many GFLOP is skipped on that
# device (with that reason). The default keeps `pytest bench` on a 2-core CPU within a few
# minutes; raise it with --bench-max-gflop on a bigger machine (0 = no limit).
DEFAULT_MAX_GFLOP = {"cpu": 2.5}


def forward_flops(batch_size: int, width: int) -> int:
    """FLOPs of one forward pass of ``Net(width)`` on ``batch_size`` 3x32x32 images.

    Two FLOPs per multiply-add of the two convolutions and three linear layers; pooling, ReLU
    and the loss are negligible. (Equal to what ``torch.utils.flop_counter`` counts.)
    """
    macs_per_image = (
        28 * 28 * width * 3 * 5 * 5  # conv1: 3 -> width channels, 5x5, 32x32 -> 28x28
        + 10 * 10 * 16 * width * 5 * 5  # conv2: width -> 16 channels, 14x14 -> 10x10
        + 16 * 5 * 5 * 120
        + 120 * 84
        + 84 * 10
    )
    return 2 * batch_size * macs_per_image


def call_flops(kind: str, batch_size: int, width: int) -> int:
    """Estimated FLOPs of one timed call: a training step is about three forward passes."""
    forward = forward_flops(batch_size, width)
    return 3 * forward if kind == "train" else forward


@dataclass(frozen=True)
class Case:
    """One point of the grid: what a benchmark times."""

    kind: str  # train | inference
    device: str
    variant: str
    batch_size: int
    width: int

    @property
    def id(self) -> str:
        return f"{self.device}-{self.variant}-b{self.batch_size}-w{self.width}"

    @property
    def group(self) -> str:
        """pytest-benchmark's table groups: one configuration, every device and variant."""
        return f"{self.kind} b{self.batch_size} w{self.width}"

    @property
    def gflop(self) -> float:
        return call_flops(self.kind, self.batch_size, self.width) / 1e9


def grid(kind: str, device_list: list[str]) -> list[Case]:
    """Every case of ``kind`` on ``device_list``: variant, batch size, width, then device."""
    cases = []
    for variant in VARIANTS.values():
        for batch_size in BATCH_SIZES:
            for width in WIDTHS:
                if variant.configs is not None and (batch_size, width) not in variant.configs:
                    continue
                for device in device_list:
                    if variant.devices is None or device in variant.devices:
                        cases.append(Case(kind, device, variant.name, batch_size, width))
    return cases


def skip_reason(case: Case, max_gflop: dict[str, float]) -> str | None:
    """Why ``case`` cannot run here (device missing, over the device's size limit), or None."""
    reason = devices.unavailable_reason(case.device)
    if reason is not None:
        return reason
    if case.variant == "compile":
        missing = compile_missing(case.device)
        if missing is not None:
            return missing
    limit = max_gflop.get(case.device)
    if limit and case.gflop > limit:
        return (
            f"over the {case.device} size limit of {limit:g} GFLOP per timed call "
            f"(--bench-max-gflop {case.device}=N raises it, 0 removes it)"
        )
    return None


def cxx_compiler() -> str | None:
    """The C++ compiler torch.compile's cpu backend would find, if any."""
    return os.environ.get("CXX") or shutil.which("g++") or shutil.which("clang++")


def c_compiler() -> str | None:
    """The C compiler Triton would find for its launcher, if any ($CC, else gcc, else clang)."""
    return os.environ.get("CC") or shutil.which("gcc") or shutil.which("clang")


@functools.cache
def dynamo_unsupported() -> str | None:
    """Why torch.compile cannot run with this torch and Python, in one line; None when it can."""
    from torch._dynamo.eval_frame import check_if_dynamo_supported  # in torch >= 2.0

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


def parse_max_gflop(text: str) -> dict[str, float]:
    """``"cpu=2.5,cuda=0"`` -> ``{"cpu": 2.5, "cuda": 0.0}`` on top of the defaults."""
    limits = dict(DEFAULT_MAX_GFLOP)
    for part in filter(None, (p.strip() for p in text.split(","))):
        device, sep, value = part.partition("=")
        try:
            limits[device.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not device.strip():
            raise pytest.UsageError(f"--bench-max-gflop: expected DEVICE=GFLOP, got {part!r}")
    return limits


# ==============================================================================================
# Options and timing settings

# pytest-benchmark's defaults on the command line; where the user kept them, ours apply.
PYTEST_BENCHMARK_DEFAULTS = {"max_time": 1.0, "min_rounds": 5}
TIMING = {
    "max_time": 0.5,  # seconds of timed rounds per benchmark (--benchmark-max-time)
    "min_rounds": 10,  # rounds at least, however slow the step (--benchmark-min-rounds)
}
# Always on, whatever the command line says: no garbage collection inside a timed round, and a
# warm-up of up to this many rounds after pytest-benchmark's calibration (off by default on
# CPython). It comes on top of WARMUP below, which runs before the calibration.
FORCED_TIMING = {"disable_gc": True, "warmup": True, "warmup_iterations": 5}
# Before timing, each workload runs up to `steps` calls, stopping once `seconds` have passed
# after the first (which builds kernels, compiles, or captures): the first ~20 steps of a new
# model are many times slower than the rest, and pytest-benchmark's calibration, which picks
# the number of rounds, would otherwise time cold steps.
WARMUP = {"steps": 20, "seconds": 2.0}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("blitz-bench", "blitz benchmarks (bench/)")
    group.addoption(
        "--bench-max-gflop",
        action="store",
        dest="bench_max_gflop",
        metavar="DEVICE=GFLOP,...",
        default="",
        help=(
            "Size limit per device: skip a configuration whose timed call is estimated above "
            "this many GFLOP on that device (0: no limit). Default: "
            + ",".join(f"{d}={v:g}" for d, v in DEFAULT_MAX_GFLOP.items())
            + ", no limit elsewhere."
        ),
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "bench_kind(kind): the grid a benchmark runs over: 'train' or 'inference'"
    )
    config.stash[MAX_GFLOP] = parse_max_gflop(config.getoption("bench_max_gflop"))


MAX_GFLOP = pytest.StashKey[dict]()


def timing_settings(config: pytest.Config) -> dict:
    """The ``benchmark`` marker's settings: ours, unless the command line changed a default."""
    settings = dict(FORCED_TIMING)
    for name, ours in TIMING.items():
        given = config.getoption(f"benchmark_{name}")
        settings[name] = ours if given == PYTEST_BENCHMARK_DEFAULTS[name] else given
    return settings


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" not in metafunc.fixturenames:
        return
    kind = metafunc.definition.get_closest_marker("bench_kind").args[0]
    selected = metafunc.config.stash[blitz_plugin.SESSION].devices
    limits = metafunc.config.stash[MAX_GFLOP]
    params = []
    for case in grid(kind, selected):
        reason = skip_reason(case, limits)
        marks = [pytest.mark.skip(reason=reason)] if reason else []
        # A dict, so that the saved JSON's "params" stays readable.
        params.append(pytest.param(asdict(case), id=case.id, marks=marks))
    metafunc.parametrize("case", params, indirect=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    settings = timing_settings(config)
    for item in items:
        if "case" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.benchmark(**settings))


# ==============================================================================================
# Machine info and extra_info


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict) -> None:
    """A saved run names its torch, CUDA and GPU, so that runs can be compared later."""
    cuda_reason = devices.unavailable_reason("cuda")
    machine_info["torch"] = torch.__version__
    machine_info["cuda"] = torch.version.cuda
    machine_info["cudnn"] = torch.backends.cudnn.version() if cuda_reason is None else None
    machine_info["gpu"] = devices.device_name("cuda") if cuda_reason is None else None
    machine_info["cuda_unavailable"] = cuda_reason
    machine_info["cpu_name"] = devices.device_name("cpu")
    machine_info["torch_threads"] = torch.get_num_threads()
    # A busy machine makes every cpu figure noisy; the report shows the load beside the run.
    machine_info["load_average"] = [round(x, 2) for x in os.getloadavg()]


def extra_info(case: Case, median_s: float | None) -> dict:
    """What the report needs from one benchmark, beside pytest-benchmark's own statistics."""
    return {
        "claim": "C11",
        **asdict(case),
        "device_name": devices.device_name(case.device),
        "images_per_s": case.batch_size / median_s if median_s else None,
        "gflop_per_call": round(case.gflop, 4),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "torch_threads": torch.get_num_threads(),
    }


# ==============================================================================================
# The workloads


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


def _train_step(case, net, inputs, labels) -> Callable[[], None]:
    device = inputs.device
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=0.001, momentum=0.9)  # the tutorial's

    def forward_loss(x, y):
        return criterion(net(x), y)

    if case.variant == "cudagraph":
        return _captured_train_step(net, forward_loss, optimizer, inputs, labels)
    if case.variant == "compile":
        torch.compiler.reset()  # each case compiles its own graphs, with static shapes
        forward_loss = torch.compile(forward_loss, dynamic=False)
    if case.variant == "bf16":
        plain = forward_loss

        def forward_loss(x, y):
            with torch.autocast(device.type, dtype=torch.bfloat16):
                return plain(x, y)

    def step() -> None:
        # zero the parameter gradients; forward + backward + optimize (the tutorial's loop)
        optimizer.zero_grad()
        loss = forward_loss(inputs, labels)
        loss.backward()
        optimizer.step()
        devices.synchronize(device)

    return step


def _captured_train_step(net, forward_loss, optimizer, inputs, labels) -> Callable[[], None]:
    """The step captured in a CUDA graph ("whole-network capture" in torch.cuda's notes).

    Warm-up runs on a side stream (it also creates SGD's momentum buffers); the gradients are set
    to None before capture, so the captured backward writes them afresh on every replay, which
    is what ``zero_grad()`` then ``backward()`` do.
    """
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            optimizer.zero_grad(set_to_none=True)
            forward_loss(inputs, labels).backward()
            optimizer.step()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    optimizer.zero_grad(set_to_none=True)
    with torch.cuda.graph(graph):
        loss = forward_loss(inputs, labels)
        loss.backward()
        optimizer.step()

    def step() -> None:
        graph.replay()
        devices.synchronize(inputs.device)

    step.keep_alive = (graph, loss)  # the graph's static tensors live as long as the step
    return step


def _inference(case, net, inputs) -> Callable[[], None]:
    device = inputs.device
    forward = net
    if case.variant == "compile":
        torch.compiler.reset()
        forward = torch.compile(net, dynamic=False)
    if case.variant == "cudagraph":
        return _captured_inference(net, inputs)

    @torch.no_grad()
    def infer() -> None:
        if case.variant == "bf16":
            with torch.autocast(device.type, dtype=torch.bfloat16):
                forward(inputs)
        else:
            forward(inputs)
        devices.synchronize(device)

    return infer


def _captured_inference(net, inputs) -> Callable[[], None]:
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side), torch.no_grad():
        for _ in range(3):
            net(inputs)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph), torch.no_grad():
        outputs = net(inputs)

    def infer() -> None:
        graph.replay()
        devices.synchronize(inputs.device)

    infer.keep_alive = (graph, outputs)
    return infer


def warm_up(call: Callable[[], None]) -> None:
    """Run ``call`` as WARMUP says: up to ``steps`` times, for ``seconds`` after the first."""
    call()
    start = time.perf_counter()
    for _ in range(WARMUP["steps"] - 1):
        if time.perf_counter() - start > WARMUP["seconds"]:
            break
        call()


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
# Fixtures


@pytest.fixture
def case(request: pytest.FixtureRequest) -> Case:
    return Case(**request.param)


@pytest.fixture
def workload(case: Case, benchmark) -> Callable[[], None]:
    """The timed call for ``case``, built and warmed up; skipped when it does not fit in memory.

    After the test, ``extra_info`` records images/s from the median round.
    """
    benchmark.group = case.group
    try:
        call = build(case)
        warm_up(call)
    except RuntimeError as exc:  # every torch's out-of-memory errors are RuntimeErrors
        if not is_out_of_memory(exc):
            raise
        call = None  # skip outside the handler, so that the traceback's tensors are freed
    if call is None:
        _release_memory(case.device)
        pytest.skip(f"does not fit in {devices.device_name(case.device)} memory: {case.id}")
    yield call
    stats = getattr(benchmark.stats, "stats", None)  # None with --benchmark-disable
    median = stats.median if stats else None
    benchmark.extra_info.update(extra_info(case, median))
    del call
    _release_memory(case.device)


def _release_memory(device: str) -> None:
    gc.collect()
    if device == "cuda" and torch.cuda.is_available():
        torch.cuda.empty_cache()

