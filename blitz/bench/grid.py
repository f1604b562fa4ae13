"""What the benchmarks measure, torch-free: the grid, the FLOP model, the size limit, the timing
settings and the ``extra_info`` schema.

The harness (``blitz.bench.plugin``) writes what this module defines and the report
(``python -m blitz.report bench``) reads it, so neither restates the other: a ``Case`` is one
point of the grid, its fields are the ``extra_info`` keys that name a saved result, and the
report keys its results by ``Case``.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, fields

from blitz.tutorial import PROTOCOL, WIDTH

CLAIM = "C11"  # the claim the step and inference benchmarks measure

# ==============================================================================================
# The grid

TUTORIAL_BATCH_SIZE = PROTOCOL.batch_size  # trainloader = DataLoader(trainset, batch_size=4, ...)
TUTORIAL_WIDTH = WIDTH  # nn.Conv2d(3, 6, 5); nn.Conv2d(6, 16, 5)
BATCH_SIZES = (TUTORIAL_BATCH_SIZE, 64, 512)
WIDTHS = (TUTORIAL_WIDTH, 64, 256, 1024)
# What a timed call is, by kind; the words are the report's.
KINDS = {"train": "training step", "inference": "inference"}
BASELINE = "eager"  # the tutorial's code as written; every other variant is compared with it

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
        Variant(BASELINE, "the tutorial's code as written"),
        Variant("channels_last", "model and inputs in channels_last (NHWC) memory format"),
        Variant(
            "compile",
            "torch.compile(net, dynamic=False): the forward compiled, its backward with it; "
            "the loss and the SGD step stay eager",
            configs=COMPILE_CONFIGS,
        ),
        Variant(
            "cudagraph", "the whole step captured once in a CUDA graph, then replayed", ("cuda",)
        ),
        Variant("bf16", "forward and loss under torch.autocast(dtype=torch.bfloat16)", ("cuda",)),
    )
}


@dataclass(frozen=True)
class Case:
    """One point of the grid: what a benchmark times, and the key of its saved result."""

    kind: str  # a key of KINDS
    device: str
    variant: str  # a key of VARIANTS
    batch_size: int
    width: int

    @property
    def id(self) -> str:
        """The test id: ``cpu-eager-b4-w6``."""
        return f"{self.device}-{self.variant}-b{self.batch_size}-w{self.width}"

    @property
    def group(self) -> str:
        """pytest-benchmark's table groups: one configuration, every device and variant."""
        return f"{self.kind} b{self.batch_size} w{self.width}"

    @property
    def gflop(self) -> float:
        return call_flops(self.kind, self.batch_size, self.width) / 1e9

    def info(self) -> dict:
        """The case as ``extra_info`` (and the test's ``params``) hold it: CASE_KEYS."""
        return asdict(self)

    @classmethod
    def from_info(cls, info: Mapping) -> Case:
        """The case a saved result's ``extra_info`` names; ValueError says what is wrong."""
        missing = [key for key in CASE_KEYS if key not in info]
        if missing:
            raise ValueError(f"extra_info lacks {', '.join(missing)}")
        batch_size, width = info["batch_size"], info["width"]
        sizes = f"batch_size {batch_size!r} and width {width!r}"
        if not all(isinstance(n, int) and not isinstance(n, bool) for n in (batch_size, width)):
            raise ValueError(f"{sizes}: both must be integers")
        if min(batch_size, width) <= 0:
            raise ValueError(f"{sizes}: both must be positive")
        return cls(
            kind=str(info["kind"]),
            device=str(info["device"]),
            variant=str(info["variant"]),
            batch_size=batch_size,
            width=width,
        )


CASE_KEYS = tuple(f.name for f in fields(Case))


def grid(kind: str, devices: Collection[str]) -> list[Case]:
    """Every case of ``kind`` on ``devices``: variant, batch size, width, then device."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}: choose from {', '.join(KINDS)}")
    cases = []
    for variant in VARIANTS.values():
        for batch_size in BATCH_SIZES:
            for width in WIDTHS:
                if variant.configs is not None and (batch_size, width) not in variant.configs:
                    continue
                for device in devices:
                    if variant.devices is None or device in variant.devices:
                        cases.append(Case(kind, device, variant.name, batch_size, width))
    return cases


# ==============================================================================================
# The FLOP model


def layer_macs(width: int) -> dict[str, int]:
    """Multiply-adds per 3x32x32 image of each layer of ``Net(width)`` that has any.

    Pooling, ReLU and the loss are left out: they are a few hundredths of a percent of the work.
    """
    return {
        "conv1": 28 * 28 * width * 3 * 5 * 5,  # 3 -> width channels, 5x5: 32x32 -> 28x28
        "conv2": 10 * 10 * 16 * width * 5 * 5,  # width -> 16 channels, 5x5: 14x14 -> 10x10
        "fc1": 16 * 5 * 5 * 120,
        "fc2": 120 * 84,
        "fc3": 84 * 10,
    }


def forward_flops(batch_size: int, width: int) -> int:
    """FLOPs of one forward pass of ``Net(width)``: two per multiply-add."""
    return 2 * batch_size * sum(layer_macs(width).values())


def call_flops(kind: str, batch_size: int, width: int) -> int:
    """FLOPs of one timed call: a forward pass, or a training step.

    A training step is the forward pass, then the backward pass: every layer's weight gradient
    (as many FLOPs as its forward) and its input gradient (as many again), except for the first
    convolution, whose input is the images, which need no gradient.
    """
    forward = forward_flops(batch_size, width)
    if kind == "inference":
        return forward
    return 3 * forward - 2 * batch_size * layer_macs(width)["conv1"]


# ==============================================================================================
# The size limit

# A timed call whose estimated work exceeds this many GFLOP is skipped on that device (with that
# reason). The default keeps `pytest bench` on a 2-core CPU within a few minutes; raise it with
# --bench-max-gflop on a bigger machine (0 = no limit).
DEFAULT_MAX_GFLOP = {"cpu": 2.5}
MAX_GFLOP_OPTION = "--bench-max-gflop"


def parse_max_gflop(text: str, known: Collection[str]) -> dict[str, float]:
    """``"cpu=2.5,cuda=0"`` -> ``{"cpu": 2.5, "cuda": 0.0}``, on top of DEFAULT_MAX_GFLOP.

    ``known``: the device types there are. A malformed part, a negative or non-finite limit or
    an unknown device raises ValueError naming it.
    """
    limits = dict(DEFAULT_MAX_GFLOP)
    for part in filter(None, (p.strip() for p in text.split(","))):
        device, sep, value = (s.strip() for s in part.partition("="))
        try:
            limit = float(value)
        except ValueError:
            limit = None
        if not sep or not device or limit is None:
            raise ValueError(f"expected DEVICE=GFLOP, got {part!r}")
        if not math.isfinite(limit) or limit < 0:
            raise ValueError(f"{part!r}: the limit is a number of GFLOP, 0 or more (0: no limit)")
        if device not in known:
            raise ValueError(
                f"{part!r}: unknown device {device!r} (choose from {', '.join(known)})"
            )
        limits[device] = limit
    return limits


def over_limit(case: Case, limits: Mapping[str, float]) -> str | None:
    """Why ``case`` is too big for its device's limit in ``limits``; None when it fits."""
    limit = limits.get(case.device)
    if limit and case.gflop > limit:
        return (
            f"over the {case.device} size limit of {limit:g} GFLOP per timed call "
            f"({MAX_GFLOP_OPTION} {case.device}=N raises it, 0 removes it)"
        )
    return None


# ==============================================================================================
# Timing settings

# blitz's defaults for pytest-benchmark's options of these names, where the command line gives
# none (pytest-benchmark's own: 1 s and 5 rounds, for microbenchmarks).
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


def timing_option(name: str) -> str:
    """pytest-benchmark's option for the setting ``name``: ``--benchmark-max-time`` for max_time."""
    return "--benchmark-" + name.replace("_", "-")


def timing_settings(given: Mapping[str, object]) -> dict:
    """The ``benchmark`` marker's settings: FORCED_TIMING, and for each TIMING setting the value
    the command line gave (``given``: setting -> value, only those given), else blitz's."""
    return {**TIMING, **{name: given[name] for name in TIMING if name in given}, **FORCED_TIMING}


def given_on_command_line(option: str, args: list[str]) -> bool:
    """Whether ``args`` (a pytest command line) give ``option``, as ``--opt V`` or ``--opt=V``.

    pytest-benchmark's parsed value cannot say so: its default (``'1.0'`` for
    ``--benchmark-max-time``) and a value given as the same text parse alike. pytest allows no
    abbreviated options, so the option's full name is the only spelling; ``--`` ends options.
    """
    for arg in args:
        if arg == "--":
            return False
        if arg == option or arg.startswith(option + "="):
            return True
    return False


# ==============================================================================================
# extra_info: what a saved result carries beside pytest-benchmark's statistics


def extra_info(case: Case, median_s: float | None, environment: Mapping[str, object]) -> dict:
    """A step or inference result's ``extra_info``: the claim, the case (CASE_KEYS: what the
    report reads), images/s from the median round and the estimated GFLOP per call, then
    ``environment`` (device name, torch version, threads: for a reader of the file)."""
    return {
        "claim": CLAIM,
        **case.info(),
        "images_per_s": case.batch_size / median_s if median_s else None,
        "gflop_per_call": round(case.gflop, 4),
        **environment,
    }


def is_case_info(info: object) -> bool:
    """Whether ``extra_info`` is a step's or inference's (not the epoch's or another's)."""
    return isinstance(info, Mapping) and info.get("kind") in KINDS
