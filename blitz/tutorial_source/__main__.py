"""``python -m blitz.tutorial_source [LABEL=]PATH ...``: run the tutorial's own scripts.

Prints, per source and script, the status, the cells that raised (type, message, the tutorial's
line), the time, and the run's facts (the CIFAR-10 copy that served, the subset cap, pretrained
weights, refused connections); ``--json FILE`` writes the runs (``SourceRun.to_json``, a list).
The exit status is 0 when every script ran (cells that raise are findings, not failures), 1 when
a script crashed, timed out or could not be run, 2 on a bad command line.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from blitz.tutorial_source.checkout import SCRIPTS, TutorialSourceError, locate
from blitz.tutorial_source.result import CELL_ERRORS, MISSING, OK, ScriptRun
from blitz.tutorial_source.runner import RunOptions, run_source


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m blitz.tutorial_source",
        description="Run the 60 Minute Blitz's own scripts from a pytorch/tutorials checkout, "
        "cell by cell, as the tutorial's build ran them, in a sandbox without network.",
    )
    p.add_argument(
        "sources",
        nargs="+",
        metavar="[LABEL=]PATH",
        help="a pytorch/tutorials checkout or its beginner_source/blitz folder; "
        "LABEL defaults to the checkout's short commit, else the folder's name",
    )
    p.add_argument(
        "--script",
        action="append",
        choices=list(SCRIPTS),
        dest="names",
        help="run only this script (repeatable). Default: all five",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=42,
        help="torch.manual_seed before each script. Default: 42, as the build did",
    )
    p.add_argument("--no-seed", action="store_true", help="do not seed at all")
    p.add_argument(
        "--subset",
        type=int,
        metavar="N",
        help="serve only the first N CIFAR-10 training images. Default: all 50,000",
    )
    p.add_argument(
        "--test-subset",
        type=int,
        metavar="N",
        help="serve only the first N CIFAR-10 test images. Default: all 10,000",
    )
    p.add_argument(
        "--cifar10-root",
        metavar="DIR",
        help="where CIFAR-10 is (torchvision's files or the offline train.npz + "
        "test.npz). Default: $BLITZ_DATA_ROOT, then blitz's default root",
    )
    p.add_argument(
        "--allow-download",
        action="store_true",
        help="let CIFAR-10 and pretrained weights download. Default: no network",
    )
    p.add_argument(
        "--probe",
        action="append",
        default=[],
        metavar="MODULE:ATTR",
        help="a probe to run after each cell (repeatable)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        metavar="S",
        help="kill a script still running after S seconds. Default: no limit",
    )
    p.add_argument("--json", type=Path, metavar="FILE", help="write the runs as JSON")
    p.add_argument(
        "-v", "--verbose", action="store_true", help="print each cell's output and warnings too"
    )
    return p


def describe(run: ScriptRun, verbose: bool = False) -> list[str]:
    wall = run.timings.get("wall_s")
    lines = [
        f"  {run.name:16s} {run.status:12s}"
        + (f" {wall:7.1f} s" if wall is not None else "")
        + (f"  {len(run.cells)} cells" if run.status != MISSING else "")
    ]
    if run.error:
        lines.append(f"    {run.error.splitlines()[0] if run.error else ''}")
    for cell in run.errors:
        error = cell.error
        message = (error.message.splitlines() or [""])[0][:160]
        lines.append(f"    line {error.lineno}: {error.type}: {message}")
    facts = run.facts
    cifar10 = facts.get("cifar10")
    if cifar10:
        served = cifar10.get("description") or cifar10.get("error", "?")
        caps = [
            f"{split} split capped at {facts[f'cifar10_{split}_subset']}"
            for split in ("train", "test")
            if facts.get(f"cifar10_{split}_subset")
        ]
        lines.append("; ".join([f"    CIFAR-10: {served}", *caps]))
    for weights in facts.get("pretrained", ()):
        lines.append(f"    pretrained weights {Path(weights['file']).name}: {weights['source']}")
    for refused in facts.get("network_refused", ()):
        lines.append(f"    network refused: {refused['call']} {refused['address']}")
    if verbose:
        for cell in run.cells:
            lines.append(f"    --- cell at line {cell.lineno} ({cell.elapsed_s:.2f} s)")
            lines.extend(f"    | {line}" for line in cell.output.splitlines())
            lines.extend(f"    ! {w.category}: {w.message} (x{w.count})" for w in cell.warnings)
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    options = RunOptions(
        seed=None if args.no_seed else args.seed,
        cifar10_root=args.cifar10_root,
        cifar10_train_subset=args.subset,
        cifar10_test_subset=args.test_subset,
        allow_download=args.allow_download,
        probes=tuple(args.probe),
        timeout_s=args.timeout,
    )
    try:
        sources = [locate(spec) for spec in args.sources]
    except TutorialSourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    runs, healthy = [], True
    for source in sources:
        print(f"tutorial:{source.label} ({source.folder})", flush=True)
        run = run_source(source, options, args.names)
        runs.append(run)
        for script in run.scripts.values():
            print("\n".join(describe(script, args.verbose)), flush=True)
            healthy &= script.status in (OK, CELL_ERRORS, MISSING)
    if args.json:
        args.json.write_text(json.dumps([run.to_json() for run in runs], indent=1))
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
