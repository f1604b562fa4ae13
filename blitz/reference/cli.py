"""``python -m blitz.reference OUTDIR [--rehearse]``: the GPU reference run, one command."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import blitz
from blitz.reference import plan as planning
from blitz.reference import runner

PROG = "python -m blitz.reference"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "The GPU reference run: every claim on cpu and cuda, the benchmark grid (C11), the "
            "tutorial's protocol on cuda, then the reports; one line per step, also in "
            "OUTDIR/summary.txt. Exit status 1 when a step failed. See docs/gpu-reference.md."
        ),
    )
    parser.add_argument("outdir", metavar="OUTDIR", help="where the logs and results go")
    parser.add_argument(
        "--rehearse",
        action="store_true",
        help="the rehearsal: every step on the cpu, small (a few minutes on 2 cores)",
    )
    parser.add_argument(
        "--bench-max-gflop",
        metavar="SPEC",
        default=os.environ.get(planning.MAX_GFLOP_ENV) or planning.DEFAULT_MAX_GFLOP,
        help=(
            "the bench step's size limits, DEVICE=GFLOP,... (0: none). Default: "
            f"${planning.MAX_GFLOP_ENV}, else {planning.DEFAULT_MAX_GFLOP} (the cpu keeps "
            "its limit of 2.5 GFLOP per call)"
        ),
    )
    args = parser.parse_args(argv)
    try:
        planning.max_gflop_limits(args.bench_max_gflop)
    except ValueError as exc:
        parser.error(f"--bench-max-gflop: {exc}")
    return args


def tree_root() -> Path | None:
    """The working tree blitz is imported from; None where it is not one (an installed copy)."""
    root = Path(blitz.__file__).absolute().parent.parent
    needed = ["conftest.py", "tests", "bench"]
    needed += [path for path, _ in planning.BENCH_TESTS.values()]
    return root if all((root / name).exists() for name in needed) else None


def run_plan(
    steps: list[planning.Planned],
    out: Path,
    run: Callable[[runner.Step], runner.Outcome],
    summary: runner.Summary,
) -> bool:
    """Run ``steps`` in order, each whatever the previous ones did, a summary line each; True
    where any failed. A skipped step's log says why it did not run."""
    failed = False
    for planned in steps:
        if planned.skip:
            (out / planned.step.log).write_text(planned.skip + "\n", encoding="utf-8")
            summary.step(runner.Outcome(planned.step.name, runner.SKIPPED), planned.skip)
            continue
        outcome = run(planned.step)
        failed |= outcome.failed
        summary.step(outcome, planned.detail(outcome))
    return failed


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    mode = planning.REHEARSAL if args.rehearse else planning.GPU
    root = tree_root()
    if root is None:
        print(
            f"{PROG}: error: blitz is imported from {Path(blitz.__file__).parent}, not from a "
            "working tree with tests/ and bench/: run it in the tree, with PYTHONPATH=.",
            file=sys.stderr,
        )
        return 2
    out = Path(args.outdir).resolve()
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name in planning.OUTPUTS:  # an earlier run's
            (out / name).unlink(missing_ok=True)
    except OSError as exc:
        print(f"{PROG}: error: {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2

    start = time.monotonic()
    deadline = start + mode.total_s
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"  # a log in order, and whole up to a kill

    def run(step: runner.Step) -> runner.Outcome:
        return runner.run(step, out, cwd=root, env=env, deadline=deadline)

    summary = runner.Summary(out / "summary.txt")
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    summary.say(f"blitz {mode.name}: {now}, output in {out}")
    ctx = planning.Context(mode, out, max_gflop=args.bench_max_gflop)
    try:
        outcome = run(planning.env_step(ctx))
        facts = planning.read_env(ctx)
        summary.step(outcome, planning.env_detail(facts))
        if outcome.failed or facts is None:
            for line in (out / "env.txt").read_text(errors="replace").splitlines():
                print(f"    {line}")
            summary.say("stopped: nothing else can run")
            return 1
        ctx = planning.Context(mode, out, data=facts["data"], max_gflop=args.bench_max_gflop)
        failed = run_plan(planning.plan(ctx), out, run, summary)
    except runner.Interrupted as stop:
        summary.step(stop.outcome, "stopped by Ctrl-C")
        summary.say(f"blitz {mode.name}: interrupted")
        return 130
    except KeyboardInterrupt:  # between two steps
        summary.say(f"blitz {mode.name}: interrupted")
        return 130
    summary.say(f"written: {' '.join(sorted(os.listdir(out)))}")
    seconds = round(time.monotonic() - start)
    if failed:
        summary.say(
            f"blitz {mode.name}: some steps failed, in {seconds} s (see their logs in {out})"
        )
        return 1
    summary.say(f"blitz {mode.name}: every step ran, in {seconds} s")
    return 0
