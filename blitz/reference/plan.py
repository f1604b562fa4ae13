"""What the GPU reference run runs, in its two modes, and what each step's outputs say.

``GPU`` and ``REHEARSAL`` hold everything that differs between the run on a GPU machine and its
rehearsal on the cpu. ``env_step`` and ``plan`` build the steps (``blitz.reference.runner``);
the ``*_detail`` functions read what a step wrote — ``claims.json`` through ``blitz.matrix``,
``bench.json`` and the verdict on C11 through ``blitz.report.bench``, ``protocol.json`` and
``env.json`` as the step modules write them — into the step's summary line. The benchmark grid
and its ids are ``blitz.bench.grid``'s. Torch-free: the run's own process imports no torch.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from blitz import matrix
from blitz.bench import grid
from blitz.reference.env import TEST_ONLY, WHOLE
from blitz.reference.runner import Outcome, Step
from blitz.report import ReportError
from blitz.report import bench as bench_report

# pytest: never write into the tree's cache; -rfEs: failures, errors and skips, with reasons.
# blitz's options always as --opt=value, so that a value is never taken for a test path.
PYTEST = ("-m", "pytest", "-p", "no:cacheprovider", "-q", "-rfEs")

STEPS = ("env", "claims", "bench", "protocol", "report")
# What the steps write besides their logs, all read back: an earlier run's are removed first, so
# that a step that fails before writing its own is never read another run's.
OUTPUTS = (
    "env.json", "claims.json", "bench.json", "protocol.json", "speedup.png", "claims.md",
)  # fmt: skip
# The benchmark module and test function that time each kind of the grid.
BENCH_TESTS = {
    "train": ("bench/test_train_step.py", "test_train_step"),
    "inference": ("bench/test_inference.py", "test_inference"),
}
# The report step's second file in a rehearsal: the report tests' sample cpu + cuda results, so
# that a cpu-only run still draws the plot.
SAMPLE_BENCH = "tests/harness/data/bench/cpu_cuda.json"
DEFAULT_MAX_GFLOP = "cuda=0"  # no size limit on cuda; the cpu keeps grid.DEFAULT_MAX_GFLOP
MAX_GFLOP_ENV = "BLITZ_BENCH_MAX_GFLOP"
KNOWN_DEVICES = ("cpu", "cuda")
VERDICT_WIDTH = 160  # the report step's line: the verdict on C11, cut here


@dataclass(frozen=True)
class Mode:
    """The settings of one kind of run."""

    name: str
    rehearse: bool
    device: str  # the protocol's, and the one the env step requires
    devices: tuple[str, ...]  # the claims' and the benchmarks'
    limits: Mapping[str, int]  # seconds, by step
    total_s: int  # the whole run's deadline
    claims_tests: tuple[str, ...]
    claims_args: tuple[str, ...]
    claims_threads: int
    bench_timing: tuple[str, ...]
    train_args: tuple[str, ...] = ()
    report_files: tuple[str, ...] = ()

    def bench_cases(self) -> list[grid.Case]:
        """The grid cases the bench step selects."""
        cases = [c for kind in grid.KINDS for c in grid.grid(kind, self.devices)]
        if not self.rehearse:
            return cases
        # The smallest configuration, every variant the cpu has, but the compiled training
        # step: a minute of compiling on 2 cores.
        tutorial = (grid.TUTORIAL_BATCH_SIZE, grid.TUTORIAL_WIDTH)
        return [
            c for c in cases
            if (c.batch_size, c.width) == tutorial
            and not (c.kind == "train" and c.variant == "compile")
        ]  # fmt: skip

    def bench_selection(self) -> list[str]:
        """The bench step's test paths: both modules, or (rehearsal) the cases' node ids."""
        if not self.rehearse:
            return [path for path, _ in BENCH_TESTS.values()]
        return [node_id(case) for case in self.bench_cases()]


def node_id(case: grid.Case) -> str:
    """``bench/test_train_step.py::test_train_step[cpu-eager-b4-w6]``."""
    path, function = BENCH_TESTS[case.kind]
    return f"{path}::{function}[{case.id}]"


GPU = Mode(
    name="GPU reference",
    rehearse=False,
    device="cuda",
    devices=("cpu", "cuda"),
    # At most 8 minutes on one H100 host (16 cores), the grace periods included. env imports
    # torch and torchvision (the data check is blitz.data's): seconds, more on a cold disk.
    limits={"env": 45, "claims": 140, "bench": 170, "protocol": 60, "report": 30},
    total_s=465,
    # The whole suite (its harness tests test blitz, not torch), slow claims included, in 4
    # processes, whole files each: the slow protocol claims of a device share one process.
    claims_tests=("tests",),
    claims_args=("--blitz-run-slow", "-n", "4", "--dist=loadfile"),
    claims_threads=4,
    bench_timing=("--benchmark-max-time=0.2", "--benchmark-min-rounds=10"),
)

REHEARSAL = Mode(
    name="rehearsal (cpu)",
    rehearse=True,
    device="cpu",
    devices=("cpu",),
    # A small shared CPU: torch alone can take 20 s to import, and the claims step, measured at
    # 60-105 s of tests, took 165 s in all on 2 cores that other jobs kept busy. The limits catch
    # a hang; they are not the measure of the rehearsal (its time is in summary.txt).
    limits={"env": 60, "claims": 300, "bench": 120, "protocol": 60, "report": 30},
    total_s=600,
    # Two modules, not the whole suite (which CI runs anyway): the catalogue, and the CIFAR-10
    # section, which has every kind of claim test (device-parametrized, data, DDP processes).
    claims_tests=("tests/test_catalogue.py", "tests/test_cifar10.py"),
    claims_args=("-n", "1", "--dist=loadfile"),
    claims_threads=1,
    bench_timing=("--benchmark-max-time=0.05", "--benchmark-min-rounds=3"),
    train_args=("--max-steps", "100"),
    report_files=(SAMPLE_BENCH,),
)


def max_gflop_limits(spec: str) -> dict[str, float]:
    """The bench step's size limits for ``--bench-max-gflop=SPEC``; ValueError names a fault."""
    return grid.parse_max_gflop(spec, KNOWN_DEVICES)


# ----------------------------------------------------------------------------------------------
# The steps


@dataclass(frozen=True)
class Planned:
    """A step and how to read its outputs into its line; ``skip``: not run, and why."""

    step: Step
    detail: Callable[[Outcome], str]
    skip: str = ""


@dataclass(frozen=True)
class Context:
    """What the steps need to know: the mode, the output folder, the interpreter, the data
    (``env.json``'s ``data``: kind, root, note) and the bench step's size limits."""

    mode: Mode
    out: Path
    python: str = sys.executable
    data: Mapping[str, object] = field(default_factory=dict)
    max_gflop: str = DEFAULT_MAX_GFLOP

    def path(self, name: str) -> Path:
        return self.out / name


def env_step(ctx: Context) -> Step:
    return Step(
        "env",
        ctx.mode.limits["env"],
        (ctx.python, "-m", "blitz.reference.env", str(ctx.path("env.json")), ctx.mode.device),
        "env.txt",
    )


def read_env(ctx: Context) -> dict | None:
    """What the env step wrote to ``env.json``; None where it wrote nothing usable."""
    try:
        facts = json.loads(ctx.path("env.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return facts if isinstance(facts, dict) and isinstance(facts.get("data"), dict) else None


def env_detail(facts: Mapping | None) -> str:
    if facts is None:
        return "no env.json: see env.txt"
    return f"torch {facts.get('torch', '?')}; {facts.get('cuda', 'cuda: ?')}"


def plan(ctx: Context) -> list[Planned]:
    """The steps after env, in order."""
    return [claims(ctx), bench(ctx), protocol(ctx), report(ctx)]


def claims(ctx: Context) -> Planned:
    mode = ctx.mode
    whole = ctx.data.get("kind") == WHOLE
    env = {
        # slow claims and devices come from the command line only
        "BLITZ_RUN_SLOW": None,
        "BLITZ_DEVICES": None,
        "BLITZ_DATA_ROOT": str(ctx.data["root"]) if whole else None,
        "OMP_NUM_THREADS": str(mode.claims_threads),
    }
    argv = (
        ctx.python, *PYTEST, *mode.claims_tests, "--ignore=tests/harness",
        f"--blitz-device={','.join(mode.devices)}", "--blitz-no-download",
        f"--blitz-claims-json={ctx.path('claims.json')}", *mode.claims_args,
    )  # fmt: skip
    step = Step("claims", mode.limits["claims"], argv, "claims.log", env)
    return Planned(step, lambda outcome: claims_detail(ctx))


def claims_detail(ctx: Context) -> str:
    """The claims matrix's cells by status, per device; whether the run finished, what it
    was narrowed to; where the CIFAR-10 claims could not run, why."""
    parts = []
    if ctx.mode.rehearse:
        parts.append(f"a subset ({' '.join(ctx.mode.claims_tests)})")
    try:
        document = matrix.load(ctx.path("claims.json"))
    except matrix.MatrixFileError as exc:
        parts.append(f"no claims matrix ({exc})")
    else:
        parts.append(matrix.plural(len(document.claims), "claim"))
        for device in document.devices:
            cells = [
                claim.results[device.type]
                for claim in document.claims.values()
                if device.type in claim.results
            ]
            parts.append(f"{device.type}: {matrix.count_text(matrix.status_counts(cells))}")
        if not document.complete:
            parts.append(f"incomplete: {document.incomplete_reason or 'the run did not finish'}")
        if document.narrowed and not ctx.mode.rehearse:
            parts.append(f"narrowed: {', '.join(document.selection)}")
    if ctx.data.get("kind") != WHOLE:
        parts.append(f"CIFAR-10 claims skipped: {ctx.data.get('note', 'no data')}")
    return "; ".join(parts)


def bench(ctx: Context) -> Planned:
    mode = ctx.mode
    argv = (
        ctx.python, *PYTEST, *mode.bench_selection(),
        f"--blitz-device={','.join(mode.devices)}", f"--bench-max-gflop={ctx.max_gflop}",
        f"--benchmark-json={ctx.path('bench.json')}", "--benchmark-columns=median,iqr,rounds",
        *mode.bench_timing,
    )  # fmt: skip
    # Timings keep torch's defaults, TF32 included: what a tutorial user gets.
    step = Step("bench", mode.limits["bench"], argv, "bench.log", {"BLITZ_DEVICES": None})
    return Planned(step, lambda outcome: bench_detail(ctx))


def bench_detail(ctx: Context) -> str:
    """How many of the selected grid cases ``bench.json`` holds, per device; how many the size
    limit left out; which others it lacks (skipped or failed: the log says why)."""
    expected = ctx.mode.bench_cases()
    try:
        run = bench_report.load_run(ctx.path("bench.json"))
    except ReportError as exc:
        return f"no results ({exc})"
    measured = set(run.results)
    per_device = ", ".join(
        f"{device} {sum(case.device == device for case in measured)}" for device in ctx.mode.devices
    )
    text = f"{len(measured)} of {len(expected)} grid cases measured ({per_device})"
    try:
        limits = max_gflop_limits(ctx.max_gflop)
    except ValueError:
        limits = dict(grid.DEFAULT_MAX_GFLOP)
    in_limit = [case for case in expected if grid.over_limit(case, limits) is None]
    if len(in_limit) < len(expected):
        limit = f"{grid.MAX_GFLOP_OPTION}={ctx.max_gflop}"
        text += f"; {len(expected) - len(in_limit)} over the size limit ({limit})"
    missing = [case for case in in_limit if case not in measured]
    if missing:
        shown = ", ".join(f"{case.kind} {case.id}" for case in missing[:4])
        more = f" and {len(missing) - 4} more" if len(missing) > 4 else ""
        text += f"; not measured (skipped or failed, see bench.log): {shown}{more}"
    return text


def protocol(ctx: Context) -> Planned:
    mode = ctx.mode
    kind = ctx.data.get("kind")
    split = ("--train-split", "test") if kind == TEST_ONLY else ()
    argv = (
        ctx.python, "-m", "blitz.train", "--json", str(ctx.path("protocol.json")),
        "--root", str(ctx.data.get("root")), "--no-download", "--no-progress",
        "--device", mode.device, *split, *mode.train_args,
    )  # fmt: skip
    step = Step("protocol", mode.limits["protocol"], argv, "protocol.log")
    skip = f"not run: {ctx.data.get('note', 'no data')}" if kind not in (WHOLE, TEST_ONLY) else ""
    return Planned(step, lambda outcome: protocol_detail(ctx), skip)


def protocol_detail(ctx: Context) -> str:
    """Time per step, total time and accuracy, from ``protocol.json``."""
    try:
        document = json.loads(ctx.path("protocol.json").read_text(encoding="utf-8"))
        run = document["runs"][-1]
        text = (
            f"training time: {run['seconds']:.1f} s ({run['ms_per_step']:.2f} ms/step, "
            f"{run['steps']} steps), accuracy {run['accuracy']:.2f}%"
        )
    except (OSError, ValueError, LookupError, TypeError):
        return "no result: see protocol.log"
    if ctx.data.get("kind") == TEST_ONLY:
        text += " on the test split it trained on (the training split is not here)"
    return text


def report(ctx: Context) -> Planned:
    mode = ctx.mode
    argv = (ctx.python, "-m", "blitz.reference.report", str(ctx.out), *mode.report_files)
    step = Step("report", mode.limits["report"], argv, "report.txt")
    return Planned(step, lambda outcome: report_detail(ctx))


def report_detail(ctx: Context) -> str:
    """The verdict on C11 for this run's ``bench.json``, as the bench report gives it ([1])."""
    try:
        run = bench_report.load_run(ctx.path("bench.json"))
    except ReportError as exc:
        return f"no verdict on C11 ({exc})"
    return shorten(bench_report.verdict(run).line("[1]"), VERDICT_WIDTH)


def shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
