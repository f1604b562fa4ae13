"""``python -m blitz.report bench FILE...``: the GPU/CPU speedup of the tutorial's step (C11).

Reads pytest-benchmark JSON files as ``pytest bench`` writes them (``--benchmark-json PATH`` or
``--benchmark-autosave``, under ``.benchmarks/``; a directory stands for every ``*.json`` in
it) and prints, for each configuration (batch size x width), the CPU's and the GPU's images/s
from the median round and the speedup; with several files, the runs side by side. Then what each
variant (channels_last, torch.compile, CUDA graph, bf16) buys over the tutorial's eager code, and
the verdict on C11:

    "Why don't I notice MASSIVE speedup compared to CPU? Because your network is really small."
    Exercise: widen the network and see what speedup you get.

It holds when the tutorial's own configuration (batch 4, width 6) gets less than a massive
speedup (``MASSIVE``) and the widest network measured at that batch size gets at least
``WIDENING_GAIN`` times the tutorial's speedup. ``--plot PATH`` draws speedup against width, a
line per batch size through the widths it measured (a gap where a width was not measured).

What a result is (its ``Case``: kind, device, variant, batch size, width, read from its
``extra_info``), the tutorial's configuration and the variant compared against come from
``blitz.bench.grid``, which the harness writes by; the report needs no torch.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from blitz.bench.grid import (
    BASELINE,
    KINDS,
    TUTORIAL_BATCH_SIZE,
    TUTORIAL_WIDTH,
    Case,
    is_case_info,
)
from blitz.report import ReportError
from blitz.report import expand as expand_paths

MASSIVE = 10.0  # an order of magnitude: what "MASSIVE speedup" is taken to mean
WIDENING_GAIN = 2.0  # widening must at least double the speedup to "speed up more"
NOISY = 0.10  # a median whose IQR exceeds this fraction of it is marked as noisy


# ----------------------------------------------------------------------------------------------
# Reading saved runs


@dataclass(frozen=True)
class Result:
    """One benchmark: its case, the median time of one call and its spread."""

    case: Case
    median_s: float
    iqr_s: float
    rounds: int

    @property
    def images_per_s(self) -> float:
        return self.case.batch_size / self.median_s

    @property
    def noisy(self) -> bool:
        return self.iqr_s > NOISY * self.median_s


@dataclass
class Run:
    """One saved file: the machine it ran on and its results by case."""

    path: Path
    machine: dict
    datetime: str
    results: dict[Case, Result] = field(default_factory=dict)
    others: int = 0  # benchmarks of the file that are not a step or inference (the epoch, …)

    def get(self, kind, variant, batch_size, width, device) -> Result | None:
        case = Case(kind=kind, device=device, variant=variant, batch_size=batch_size, width=width)
        return self.results.get(case)

    def has(self, device: str) -> bool:
        return any(case.device == device for case in self.results)

    def speedup(self, kind, variant, batch_size, width) -> float | None:
        """cuda images/s over cpu images/s, or None where either is missing."""
        cpu = self.get(kind, variant, batch_size, width, "cpu")
        cuda = self.get(kind, variant, batch_size, width, "cuda")
        if cpu is None or cuda is None:
            return None
        return cuda.images_per_s / cpu.images_per_s

    def configs(self, kind: str, variant: str) -> list[tuple[int, int]]:
        cases = [c for c in self.results if c.kind == kind and c.variant == variant]
        return sorted({(c.batch_size, c.width) for c in cases})

    def describe(self) -> str:
        m = self.machine
        gpu = m.get("gpu") or "none"
        threads = f" ({m['torch_threads']} threads)" if m.get("torch_threads") else ""
        load = m.get("load_average")
        load = f" · load {load[0]:g} at start" if isinstance(load, list) and load else ""
        return (
            f"{self.datetime[:16].replace('T', ' ') or 'undated'} · torch {m.get('torch', '?')} · "
            f"CUDA {m.get('cuda') or 'none'} · cpu {m.get('cpu_name', '?')}{threads} · gpu {gpu}"
            + load
        )

    def no_cuda_note(self) -> str:
        why = self.machine.get("cuda_unavailable")
        return f"no cuda results in {self.path}" + (f" ({why})" if why else "")


def expand(paths: list[str]) -> list[Path]:
    """The benchmark files named, a directory standing for every ``*.json`` under it."""
    return expand_paths(paths)


def load_run(path: Path) -> Run:
    """Read one pytest-benchmark JSON file; a file the report cannot use raises ReportError."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path}: cannot read it: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path}: not JSON ({exc}); expected a pytest-benchmark file") from None
    if not isinstance(document, dict) or not isinstance(document.get("benchmarks"), list):
        raise ReportError(
            f"{path}: not a pytest-benchmark file (no 'benchmarks' list); write one with "
            "pytest bench --benchmark-json PATH or --benchmark-autosave"
        )
    machine = document.get("machine_info")
    run = Run(
        path=path,
        machine=machine if isinstance(machine, dict) else {},
        datetime=str(document.get("datetime", "")),
    )
    for entry in document["benchmarks"]:
        result = _result(path, entry)
        if result is None:
            run.others += 1
            continue
        if result.case in run.results:
            raise ReportError(f"{path}: two results for {_entry_name(entry)}")
        run.results[result.case] = result
    if not run.results:
        raise ReportError(
            f"{path}: no training-step or inference results (bench/test_train_step.py, "
            "bench/test_inference.py): were they all skipped or deselected?"
        )
    return run


def _entry_name(entry) -> str:
    return str(entry.get("fullname") or entry.get("name") or "a benchmark")


def _result(path: Path, entry) -> Result | None:
    """A step or inference result, or None for another kind of benchmark."""
    if not isinstance(entry, dict):
        raise ReportError(f"{path}: a benchmark entry is not an object")
    info = entry.get("extra_info")
    if not is_case_info(info):
        return None
    name = _entry_name(entry)
    try:
        case = Case.from_info(info)
    except ValueError as exc:
        raise ReportError(f"{path}: {name}: {exc}") from None
    stats = entry.get("stats")
    if not isinstance(stats, dict):
        raise ReportError(f"{path}: {name}: no stats")
    median, iqr, rounds = stats.get("median"), stats.get("iqr", 0.0), stats.get("rounds", 0)
    if not _is_number(median) or median <= 0:
        raise ReportError(f"{path}: {name}: stats.median is {median!r}, not a positive time")
    if not _is_number(iqr) or iqr < 0:
        raise ReportError(f"{path}: {name}: stats.iqr is {iqr!r}, not a time")
    return Result(
        case=case,
        median_s=float(median),
        iqr_s=float(iqr),
        rounds=int(rounds) if _is_number(rounds) else 0,
    )


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# ----------------------------------------------------------------------------------------------
# The verdict on C11


@dataclass(frozen=True)
class Verdict:
    status: str  # holds | does not hold | cannot judge
    text: str

    def line(self, label: str) -> str:
        return f"C11 {label}: {self.status}: {self.text}"


def verdict(run: Run) -> Verdict:
    """C11 from the eager training step: the tutorial's size vs the widest at its batch size."""
    if not run.has("cuda"):
        return Verdict("cannot judge", run.no_cuda_note() + ": no speedup to measure")
    kind, b = "train", TUTORIAL_BATCH_SIZE
    small = run.speedup(kind, BASELINE, b, TUTORIAL_WIDTH)
    if small is None:
        return Verdict(
            "cannot judge",
            f"the tutorial's configuration (batch {b}, width {TUTORIAL_WIDTH}) lacks a cpu or a "
            "cuda result of the eager training step",
        )
    widths = [w for bb, w in run.configs(kind, BASELINE) if bb == b and w > TUTORIAL_WIDTH]
    widths = [w for w in widths if run.speedup(kind, BASELINE, b, w) is not None]
    if not widths:
        return Verdict(
            "cannot judge",
            f"no wider network than width {TUTORIAL_WIDTH} has both a cpu and a cuda result at "
            f"batch {b}",
        )
    widest = max(widths)
    wide = run.speedup(kind, BASELINE, b, widest)
    gain = wide / small
    facts = (
        f"at the tutorial's batch {b} and width {TUTORIAL_WIDTH} the GPU trains "
        f"{_times(small)} as fast as the CPU; at width {widest}, {_times(wide)} "
        f"({gain:.1f} times the tutorial's speedup)"
    )
    problems = []
    if small >= MASSIVE:
        problems.append(
            f"the tutorial's small net already gets a massive (>= {MASSIVE:g}x) speedup"
        )
    if gain < WIDENING_GAIN:
        problems.append(f"widening does not bring {WIDENING_GAIN:g} times the speedup")
    best = _best(run)
    tail = f". Largest speedup measured: {_times(best[0])} at batch {best[1]}, width {best[2]}"
    if problems:
        return Verdict("does not hold", facts + "; " + "; ".join(problems) + tail)
    return Verdict(
        "holds",
        facts + ": no massive speedup for the small net, more for the wide one" + tail,
    )


def _best(run: Run) -> tuple[float, int, int]:
    return max(
        (s, b, w)
        for b, w in run.configs("train", BASELINE)
        if (s := run.speedup("train", BASELINE, b, w)) is not None
    )


# ----------------------------------------------------------------------------------------------
# Tables


def _times(x: float) -> str:
    if x < 0.1:
        return f"{x:.2g}x"
    return f"{x:.2f}x" if x < 10 else f"{x:.1f}x"


def _rate(result: Result | None) -> str:
    if result is None:
        return "—"
    x = result.images_per_s
    text = f"{x:,.0f}" if x >= 100 else f"{x:.3g}"
    return text + ("~" if result.noisy else "")


def _table(header: list[list[str]], rows: list[list[str]]) -> list[str]:
    """Right-aligned columns, two header lines, a rule under them."""
    columns = list(zip(*header, *rows))
    widths = [max(len(cell) for cell in column) for column in columns]

    def line(cells):
        return "  ".join(cell.rjust(w) for cell, w in zip(cells, widths)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return [line(h) for h in header] + [rule] + [line(r) for r in rows]


def speedup_table(runs: list[Run], kind: str) -> list[str]:
    """Eager ``kind``: per configuration, cpu and cuda images/s and cuda/cpu, a block per run."""
    configs = sorted({c for run in runs for c in run.configs(kind, BASELINE)})
    if not configs:
        return []
    header = [["", ""], ["batch", "width"]]
    for i, _ in enumerate(runs, 1):
        header[0] += [f"[{i}]", "", ""]
        header[1] += ["cpu img/s", "cuda img/s", "cuda/cpu"]
    rows = []
    for b, w in configs:
        row = [str(b), str(w)]
        for run in runs:
            speedup = run.speedup(kind, BASELINE, b, w)
            row += [
                _rate(run.get(kind, BASELINE, b, w, "cpu")),
                _rate(run.get(kind, BASELINE, b, w, "cuda")),
                _times(speedup) if speedup is not None else "—",
            ]
        rows.append(row)
    title = f"{KINDS[kind].capitalize()}, the tutorial's code (eager): images/s, GPU/CPU speedup"
    return [title, *_table(header, rows)]


def variants_table(runs: list[Run], kind: str) -> list[str]:
    """Each variant's images/s and its ratio to eager on the same device and configuration."""
    keys = sorted(
        {
            (c.variant, c.batch_size, c.width)
            for run in runs
            for c in run.results
            if c.kind == kind and c.variant != BASELINE
        },
        key=lambda key: (key[1], key[2], key[0]),
    )
    if not keys:
        return []
    device_list = sorted({c.device for run in runs for c in run.results}, key=_device_order)
    header = [["", "", ""], ["batch", "width", "variant"]]
    for i, _ in enumerate(runs, 1):
        header[0] += [f"[{i}]"] + [""] * (len(device_list) - 1)
        header[1] += [f"{d} img/s (vs eager)" for d in device_list]
    rows = []
    for variant, b, w in keys:
        row = [str(b), str(w), variant]
        for run in runs:
            for device in device_list:
                result = run.get(kind, variant, b, w, device)
                base = run.get(kind, BASELINE, b, w, device)
                cell = _rate(result)
                if result is not None and base is not None:
                    cell += f" ({_times(result.images_per_s / base.images_per_s)})"
                row.append(cell)
        rows.append(row)
    title = f"{KINDS[kind].capitalize()}, beyond the tutorial: what each variant buys over eager"
    return [title, *_table(header, rows)]


def _device_order(device: str) -> tuple[int, str]:
    return (0 if device == "cpu" else 1 if device == "cuda" else 2, device)


def render(runs: list[Run]) -> list[str]:
    """The whole report as lines: the runs, the speedup tables, the variants, the verdicts."""
    lines = ["GPU/CPU speedup of the tutorial's training step and inference (claim C11)", ""]
    for i, run in enumerate(runs, 1):
        lines.append(f"[{i}] {run.path}")
        lines.append(f"    {run.describe()}")
        if not run.has("cuda"):
            lines.append(f"    {run.no_cuda_note()}: no GPU/CPU speedup from this file")
        if run.others:
            lines.append(
                f"    {run.others} other benchmark(s) of this file (not a step or inference: "
                "the epoch, ...) left out of these tables"
            )
    for kind in KINDS:
        table = speedup_table(runs, kind)
        if table:
            lines += ["", *table]
    for kind in KINDS:
        table = variants_table(runs, kind)
        if table:
            lines += ["", *table]
    lines += [
        "",
        "img/s: images per second from the median round; '~': the IQR exceeds "
        f"{NOISY:.0%} of the median (a noisy figure); '—': not measured in that run.",
        "",
    ]
    lines += [verdict(run).line(f"[{i}]") for i, run in enumerate(runs, 1)]
    return lines


# ----------------------------------------------------------------------------------------------
# Command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help=(
            "pytest-benchmark JSON files (--benchmark-json, or --benchmark-autosave's under "
            ".benchmarks/); a directory stands for every *.json under it"
        ),
    )
    parser.add_argument(
        "--plot",
        metavar="PATH",
        default=None,
        help=(
            "also write a PNG of the training step's GPU/CPU speedup against width, a line per "
            "batch size; exit 1 when no file has both cpu and cuda results. Default: no plot."
        ),
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    runs = [load_run(path) for path in expand(args.files)]
    for line in render(runs):
        print(line)
    if args.plot:
        try:
            from blitz.report.plot import plot
        except ImportError as exc:  # matplotlib is the plot extra's
            raise ReportError(
                f"--plot needs matplotlib ({exc}): pip install 'blitz[plot]'"
            ) from None
        if not plot(runs, Path(args.plot)):
            print(f"no plot written to {args.plot}: no file has both cpu and cuda results")
            return 1
        print(f"plot written to {args.plot}")
    return 0
