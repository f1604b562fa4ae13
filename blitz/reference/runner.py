"""Running the steps of the GPU reference run: each a subprocess, with its log and a time limit.

A ``Step`` is a name, a time limit, an argv and the changes it makes to the environment. ``run``
starts it in a process group of its own, with stdout and stderr both in its log, and waits up to
its limit, shortened where the run's deadline is nearer. At the limit the whole group gets
SIGINT (pytest still writes the JSON of what finished, pytest-benchmark's too), and SIGKILL
``grace`` seconds later where anything is still running; whatever a step leaves running in its
group when it ends is killed. A step never raises for what its
command does: the ``Outcome`` says ok, failed (exit N), timed out, killed or not run, and the
next step runs. ``Summary`` prints one line per step and keeps them in ``summary.txt``.

Torch-free, and POSIX only (process groups).
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

GRACE_S = 15  # between a step's SIGINT and its SIGKILL

OK = "ok"
SKIPPED = "skipped"


@dataclass(frozen=True)
class Step:
    """One command of the run.

    ``log``: the file, in the output folder, that gets its stdout and stderr. ``env``: variables
    to set (a string) or to remove (None) on top of the run's environment.
    """

    name: str
    limit_s: int
    argv: tuple[str, ...]
    log: str
    env: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """How a step ended: ``status`` in words, the seconds it took, its exit status (None where
    it did not run; negative: the signal that ended it)."""

    name: str
    status: str
    seconds: float = 0.0
    returncode: int | None = None
    interrupted: bool = False  # ran out of time, or was stopped by Ctrl-C

    @property
    def failed(self) -> bool:
        return self.status not in (OK, SKIPPED)


class Interrupted(Exception):
    """Ctrl-C during a step: the step was stopped as at its limit; the run stops."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.status)
        self.outcome = outcome


def step_environment(base: Mapping[str, str], changes: Mapping[str, str | None]) -> dict:
    """``base`` with ``changes`` applied: a string sets a variable, None removes it."""
    env = dict(base)
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    """Send ``sig`` to the step's process group (the step and every process it started)."""
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass  # the group is gone already


def _stop(process: subprocess.Popen, grace: float) -> bool:
    """SIGINT to the group, then SIGKILL after ``grace`` seconds; True where it needed the kill."""
    _signal_group(process, signal.SIGINT)
    try:
        process.wait(timeout=grace)
        killed = False
    except subprocess.TimeoutExpired:
        killed = True
    # Whatever is left of the group (a worker that outlived the step) goes too.
    _signal_group(process, signal.SIGKILL)
    process.wait()
    return killed


def run(
    step: Step,
    out: Path,
    *,
    cwd: Path,
    env: Mapping[str, str],
    deadline: float | None = None,
    grace: float = GRACE_S,
    echo: Callable[[str], None] = print,
) -> Outcome:
    """Run ``step`` with its output in ``out / step.log``, within its limit and ``deadline``
    (a ``time.monotonic()`` time by which it must have ended, its grace included).

    Ctrl-C in this process stops the step as its limit would and raises ``Interrupted``.
    """
    log = out / step.log
    limit = step.limit_s
    if deadline is not None:
        limit = min(limit, math.floor(deadline - time.monotonic() - grace))
    if limit < 1:
        log.write_text("not run: the run's time was spent\n", encoding="utf-8")
        return Outcome(step.name, "NOT RUN (no time)")
    echo(f"... {step.name} (at most {limit} s)")
    start = time.monotonic()
    with open(log, "wb") as stream:
        try:
            process = subprocess.Popen(
                step.argv,
                cwd=cwd,
                env=step_environment(env, step.env),
                stdin=subprocess.DEVNULL,
                stdout=stream,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: SIGINT reaches all of it
            )
        except OSError as exc:
            stream.write(f"cannot start {step.argv[0]}: {exc}\n".encode())
            return Outcome(step.name, "FAILED (not started)", time.monotonic() - start)
        try:
            returncode = process.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            killed = _stop(process, grace)
            seconds = time.monotonic() - start
            status = f"KILLED ({limit} + {grace:g} s)" if killed else f"TIMED OUT ({limit} s)"
            return Outcome(step.name, status, seconds, process.returncode, interrupted=True)
        except KeyboardInterrupt:
            _stop(process, grace)
            outcome = Outcome(
                step.name, "INTERRUPTED", time.monotonic() - start, process.returncode, True
            )
            raise Interrupted(outcome) from None
    _signal_group(process, signal.SIGKILL)  # what it left running, if anything
    seconds = time.monotonic() - start
    if returncode == 0:
        return Outcome(step.name, OK, seconds, 0)
    if returncode < 0:
        name = _signal_name(-returncode)
        return Outcome(step.name, f"KILLED ({name})", seconds, returncode)
    return Outcome(step.name, f"FAILED (exit {returncode})", seconds, returncode)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def summary_line(name: str, status: str, seconds: float, detail: str) -> str:
    """A step's line: ``claims    ok                    93 s  <what it found>``."""
    return f"{name:<9} {status:<20} {round(seconds):4d} s  {detail}".rstrip()


class Summary:
    """Lines to the terminal and to ``summary.txt`` (emptied at the start)."""

    def __init__(self, path: Path, stream=None) -> None:
        self.path = path
        self.stream = stream
        path.write_text("", encoding="utf-8")

    def say(self, line: str) -> None:
        print(line, file=self.stream or sys.stdout, flush=True)
        with open(self.path, "a", encoding="utf-8") as summary:
            summary.write(line + "\n")

    def step(self, outcome: Outcome, detail: str) -> None:
        self.say(summary_line(outcome.name, outcome.status, outcome.seconds, detail))
