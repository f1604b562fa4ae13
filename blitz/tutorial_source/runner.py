"""Runs a tutorial source's scripts, each in its own process and temporary folder. Torch-free.

``run_source(locate("LABEL=PATH"), RunOptions(...))`` runs the five scripts of a checkout in
the tutorial's order and gives a ``SourceRun``; ``run_script(path, options=...)`` runs one. Each
script runs in a child process (``python -m blitz.tutorial_source.child``, the same Python as
this one unless ``RunOptions.python`` says otherwise) whose working directory is a fresh
temporary folder, removed afterwards (the tutorial's ``./data`` and ``./cifar_net.pth`` land
there). The child writes its events as it goes; a child that dies or is killed at the time
limit leaves the cells it finished, and the status says what happened and in which cell.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import blitz
from blitz.tutorial_source import cells
from blitz.tutorial_source.checkout import SCRIPTS, TutorialSource, locate
from blitz.tutorial_source.result import (
    CELL_ERRORS,
    CRASHED,
    FAILED,
    MISSING,
    OK,
    TIMEOUT,
    CellResult,
    ScriptRun,
    SourceRun,
)

CHILD_MODULE = "blitz.tutorial_source.child"
# The children running now (from any thread), so that ``stop_all`` can end them.
_RUNNING: set[subprocess.Popen] = set()
PROCESS_OUTPUT_TAIL = 20_000  # characters of the process's own output kept in a result


@dataclass(frozen=True)
class RunOptions:
    """How the scripts run.

    - ``seed``: ``torch.manual_seed(seed)`` before each script, with ``random.seed(10)`` and
      ``numpy.random.seed(10)`` as the tutorial's build did; None: no seeding at all;
    - ``cifar10_root``: where blitz's data layer looks for CIFAR-10 first (else
      ``$BLITZ_DATA_ROOT``, then the default root: ``blitz.data.find_cifar10``);
    - ``cifar10_train_subset``: serve only the first N training images (None: all 50,000);
    - ``cifar10_test_subset``: serve only the first N test images (None: all 10,000);
    - ``allow_download``: let CIFAR-10 and pretrained weights download and the network be
      reached (off: nothing downloads, a connection fails at once);
    - ``probes``: probes to run in the child after each cell (``blitz.tutorial_source.child``):
      ``module:attribute`` or ``file.py:attribute`` names, or functions and classes that the
      child can import by their module and name;
    - ``timeout_s``: a script still running after this many seconds is killed (None: no limit);
    - ``python``: the interpreter for the child (None: this one);
    - ``keep_workdir``: keep the temporary folder (its path is in the facts);
    - ``env``: variables added to the child's environment (a ``PYTHONPATH`` here goes first,
      before blitz's own).
    """

    seed: int | None = 42
    cifar10_root: str | None = None
    cifar10_train_subset: int | None = None
    cifar10_test_subset: int | None = None
    allow_download: bool = False
    probes: tuple[str | Callable, ...] = ()
    timeout_s: float | None = None
    python: str | None = None
    keep_workdir: bool = False
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "probes", tuple(probe_name(p) for p in self.probes))

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["probes"] = list(self.probes)
        return data


def probe_name(probe: str | Callable) -> str:
    """How the child finds a probe: ``module:attribute`` for a function or class that it can
    import (one of a module, not of ``__main__`` nor defined inside a function)."""
    if isinstance(probe, str):
        return probe
    module = getattr(probe, "__module__", None)
    qualname = getattr(probe, "__qualname__", "")
    if not module or module == "__main__" or "<locals>" in qualname or not qualname:
        raise TypeError(
            f"probe {probe!r}: the child process must import it; give a function or class of "
            "an importable module, or its name as module:attribute"
        )
    return f"{module}:{qualname}"


def run_source(
    source: TutorialSource | str | os.PathLike,
    options: RunOptions | None = None,
    names: Iterable[str] | None = None,
) -> SourceRun:
    """Run the scripts ``names`` (default: all five, in the tutorial's order) of ``source``."""
    if not isinstance(source, TutorialSource):
        source = locate(source)
    options = options or RunOptions()
    chosen = list(SCRIPTS) if names is None else list(names)
    unknown = [name for name in chosen if name not in SCRIPTS]
    if unknown:
        raise ValueError(f"unknown script(s) {unknown}: expected some of {list(SCRIPTS)}")
    run = SourceRun(
        label=source.label, path=str(source.folder), commit=source.commit,
        options=options.to_json(),
    )  # fmt: skip
    for name in chosen:
        path = source.script(name)
        if path is None:
            run.scripts[name] = ScriptRun(
                name=name, script=SCRIPTS[name], path=None, status=MISSING,
                error=f"this revision has no {SCRIPTS[name]} in {source.folder}",
            )  # fmt: skip
        else:
            run.scripts[name] = run_script(path, name=name, options=options)
    return run


def run_script(
    path: str | os.PathLike, name: str | None = None, options: RunOptions | None = None
) -> ScriptRun:
    """Run one script in a child process; what it did, cell by cell."""
    options = options or RunOptions()
    path = Path(path).resolve()
    if name is None:
        by_file = {file: key for key, file in SCRIPTS.items()}
        name = by_file.get(path.name, path.stem)
    run = ScriptRun(name=name, script=path.name, path=str(path), status=FAILED)
    try:
        script = cells.split_file(path)
    except (OSError, UnicodeDecodeError) as exc:
        run.error = f"{path}: cannot read the script ({type(exc).__name__}: {exc})"
        return run
    run.blocks = [CellResult.of(b) if b.is_code else b for b in script.blocks]

    folder = Path(tempfile.mkdtemp(prefix=f"blitz-tutorial-{name}-"))
    try:
        return _run_in(folder, path, run, options)
    finally:
        if not options.keep_workdir:
            shutil.rmtree(folder, ignore_errors=True)


def _run_in(folder: Path, path: Path, run: ScriptRun, options: RunOptions) -> ScriptRun:
    work = folder / "work"
    work.mkdir()
    events_path = folder / "events.jsonl"
    output_path = folder / "output.txt"
    spec = {
        "name": run.name,
        "script": str(path),
        "events": str(events_path),
        "seed": options.seed,
        "cifar10_root": options.cifar10_root,
        "cifar10_train_subset": options.cifar10_train_subset,
        "cifar10_test_subset": options.cifar10_test_subset,
        "allow_download": options.allow_download,
        "probes": [{"spec": _absolute_probe(p), "name": p} for p in options.probes],
    }
    spec_path = folder / "spec.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    command = [options.python or sys.executable, "-m", CHILD_MODULE, str(spec_path)]

    started = time.perf_counter()
    timed_out = False
    with open(output_path, "wb") as output:
        process = subprocess.Popen(
            command, cwd=work, env=_child_env(options), stdin=subprocess.DEVNULL,
            stdout=output, stderr=subprocess.STDOUT, start_new_session=(os.name == "posix"),
        )  # fmt: skip
        _RUNNING.add(process)
        try:
            process.wait(timeout=options.timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
        except BaseException:  # Ctrl-C here: the child and its workers go too
            _kill(process)
            raise
        finally:
            _kill(process)  # what is left of it: a killed child, or workers it left behind
            _RUNNING.discard(process)
    wall = time.perf_counter() - started

    run.returncode = process.returncode
    run.process_output = _tail(output_path)
    run.timings["wall_s"] = wall
    if options.keep_workdir:
        run.facts["workdir"] = str(work)
    started_script = _read_events(events_path, run)
    last = _last_cell(run)
    where = f"in the cell at line {last.lineno}" if last is not None else "before its first cell"
    if timed_out:
        run.status = TIMEOUT
        run.error = f"killed after {options.timeout_s:g} s, {where}"
    elif run.status == FAILED and run.error is None:
        if started_script:
            run.status = CRASHED
            run.error = f"the process ended (exit status {process.returncode}) {where}"
        else:
            run.error = (
                f"the child process ended (exit status {process.returncode}) before the script "
                f"started: {run.process_output[-2000:].strip() or 'no output'}"
            )
    return run


def _read_events(events_path: Path, run: ScriptRun) -> bool:
    """Fill ``run`` from the child's events, its status from the last one; whether the script
    started (the sandbox was set up)."""
    if not events_path.exists():
        return False
    started = False
    by_index = {cell.index: i for i, cell in enumerate(run.blocks)}
    for line in events_path.read_text(encoding="utf-8").splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:  # a line cut short by a kill
            continue
        kind = event.get("event")
        if kind == "failed":
            run.status = FAILED
            run.error = f"the child could not start the script:\n{event['error']}"
        elif kind == "start":
            started = True
            run.facts.update(event["facts"])
            run.timings["setup_s"] = event["setup_s"]
        elif kind == "cell":
            cell = CellResult.from_json(event["cell"])
            run.blocks[by_index[cell.index]] = cell
        elif kind == "end":
            run.facts.update(event["facts"])
            run.probes = event.get("probes", {})
            run.timings.update(event.get("timings", {}))
            run.status = CELL_ERRORS if run.errors else OK
    return started


def _last_cell(run: ScriptRun) -> CellResult | None:
    """The cell the process was in when it stopped: the first one not run."""
    for cell in run.cells:
        if not cell.ran:
            return cell
    return None


def _child_env(options: RunOptions) -> dict[str, str]:
    env = dict(os.environ)
    env.update(options.env)
    package_root = str(Path(blitz.__file__).resolve().parent.parent)
    paths = (options.env.get("PYTHONPATH"), package_root, os.environ.get("PYTHONPATH"))
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    env["MPLBACKEND"] = "agg"
    return env


def _absolute_probe(spec: str) -> str:
    where, sep, attr = spec.rpartition(":")
    if sep and where.endswith(".py"):
        return f"{Path(where).resolve()}:{attr}"
    return spec


def stop_all() -> None:
    """Kill every child running now, with its workers (a run that ends early: Ctrl-C, ``-x``);
    the threads waiting on them return their results as crashed."""
    for process in list(_RUNNING):
        _kill(process)


def _kill(process: subprocess.Popen) -> None:
    """Kill the child and every process of its session (DataLoader workers included)."""
    if os.name == "posix":
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    elif process.poll() is None:
        process.kill()
    process.wait()


def _tail(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    return data[-PROCESS_OUTPUT_TAIL:].decode("utf-8", "replace")


def run_many(
    specs: Sequence[str], options: RunOptions | None = None, names: Iterable[str] | None = None
) -> list[SourceRun]:
    """``run_source`` for each ``[LABEL=]PATH`` of ``specs``, in order."""
    chosen = None if names is None else list(names)
    return [run_source(locate(spec), options, chosen) for spec in specs]
