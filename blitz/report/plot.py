"""The speedup plot of ``python -m blitz.report bench --plot PATH``: the training step's GPU/CPU
speedup against width, a line per batch size. Needs matplotlib, the ``plot`` extra
(``pip install 'blitz[plot]'``); the rest of the report does not."""

from __future__ import annotations

import math
from pathlib import Path

from matplotlib.figure import Figure

from blitz.bench.grid import BASELINE, TUTORIAL_BATCH_SIZE, WIDTHS
from blitz.report.bench import Run


def plot_widths(runs: list[Run]) -> list[int]:
    """The plot's widths, in order: the grid's and any other a run measured. A width between two
    measured ones that a batch size lacks is a gap in its line, not a segment across it."""
    measured = {w for run in runs for _, w in run.configs("train", BASELINE)}
    return sorted(measured | set(WIDTHS))


def batch_label(batch_size: int) -> str:
    """A batch size in the legend's words."""
    if batch_size == TUTORIAL_BATCH_SIZE:
        return f"batch {batch_size} (the tutorial's)"
    return f"batch {batch_size}"


NO_SPEEDUP_LABEL = "GPU as fast as the CPU (1×)"


def speedup_figure(runs: list[Run]):
    """The training step's speedup against width: a line per batch size (and file), a marker
    per measured width, a gap (NaN) at a width not measured; None when nothing has both devices.
    A matplotlib ``Figure`` (no pyplot: no display, no global state)."""
    figure = Figure(figsize=(7, 4.5), layout="constrained")
    axes = figure.subplots()
    styles = ["-", "--", ":", "-."]
    colors: dict[int, str] = {}
    widths = plot_widths(runs)
    measured: set[int] = set()
    for i, run in enumerate(runs, 1):
        for b in sorted({b for b, _ in run.configs("train", BASELINE)}):
            ys = [run.speedup("train", BASELINE, b, w) for w in widths]
            if all(y is None for y in ys):
                continue
            measured.update(w for w, y in zip(widths, ys) if y is not None)
            color = colors.setdefault(b, f"C{len(colors)}")
            label = batch_label(b) + (f", file [{i}]" if len(runs) > 1 else "")
            axes.plot(
                widths,
                [math.nan if y is None else y for y in ys],
                styles[(i - 1) % len(styles)],
                marker="o",
                color=color,
                label=label,
            )
    if not measured:
        return None
    axes.axhline(1.0, color="grey", linewidth=0.8, linestyle="--", label=NO_SPEEDUP_LABEL)
    axes.set_xscale("log", base=2)
    axes.set_yscale("log")
    ticks = sorted(measured)
    axes.set_xticks(ticks, [str(w) for w in ticks])
    axes.minorticks_off()
    axes.set_xlabel("width (channels between the two convolutions; the tutorial's is 6)")
    axes.set_ylabel("GPU/CPU speedup (×)")
    axes.set_title("Training step, eager: GPU/CPU speedup against width (C11)")
    axes.legend()
    return figure


def plot(runs: list[Run], path: Path) -> bool:
    """Write ``speedup_figure`` to ``path`` (PNG); False when nothing to plot."""
    figure = speedup_figure(runs)
    if figure is None:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    return True
