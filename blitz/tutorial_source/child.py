"""Runs one tutorial script cell by cell, as sphinx-gallery runs it: the child process.

``python -m blitz.tutorial_source.child SPEC.json``, started by ``blitz.tutorial_source.runner``
in the run's temporary working directory. SPEC says which script, the seed, the sandbox's
settings, the probes, and where to write the events (``blitz.tutorial_source.result``).

As sphinx-gallery's build ran a script: one namespace, a fresh module named ``__main__`` (no
``__file__``; ``__doc__`` empty; ``input()`` refused), ``sys.argv`` holding only the script's
path, the script's folder on ``sys.path``, ``from __future__`` imports carried from a cell to
the next; each cell compiled with the script's file name at its own lines, so a traceback names
the tutorial's line; a last bare expression's value shown after the printed output. Seeded as
the tutorial's build seeded each script from June 2023 (``torch.manual_seed(42)``,
``random.seed(10)``, ``numpy.random.seed(10)``), unless the seed is None. Unlike sphinx-gallery,
which stops a script at its first error, a cell that raises is recorded and the next cell runs.

Per cell: what it printed (stdout, stderr), the warnings raised (every one, counted: the filter
is "always" from the start, and the script's own filters then apply on top), the exception,
the time, the matplotlib figures left open (then closed) and ``plt.show()`` calls, the refused
connections, and what each probe returned.

Probes are named ``module:attribute`` or ``path/to/file.py:attribute``. A function is called
after each cell as ``probe(cell, namespace, stdout)`` (``cell`` a
``blitz.tutorial_source.result.CellResult``, ``namespace`` the script's globals). A class is
made once per script and its instance called so; its ``start(namespace)``, if it has one, is
called before the seeding and the script's first cell (the sandbox is in place by then), and
its ``finish(namespace)`` at the script's end. A value that is not None is recorded under the
probe's ``name`` attribute, else under the name it was given by; it must be JSON-safe. A probe
that raises, or returns what JSON cannot hold, has that recorded instead, as
``{"probe_error": "..."}`` (an error in ``start`` stops the run: the child could not start the
script).
"""

from __future__ import annotations
import __future__

import ast
import importlib
import importlib.metadata
import importlib.util
import io
import json
import os
import platform
import random
import sys
import time
import traceback
import types
import warnings
from pathlib import Path
from typing import Any

_STARTED = time.perf_counter()

from blitz.tutorial_source import cells as cells_module  # noqa: E402
from blitz.tutorial_source import context  # noqa: E402
from blitz.tutorial_source.result import (  # noqa: E402
    OUTPUT_LIMIT,
    CellError,
    CellResult,
    CellWarning,
)
from blitz.tutorial_source.sandbox import AGG_SHOW_WARNING, Sandbox  # noqa: E402

# The compiler flags of the __future__ features: a cell's `from __future__ import ...` holds in
# the cells after it, as sphinx-gallery's codeop.Compile carries them.
FUTURE_FLAGS = 0
for _feature in __future__.all_feature_names:
    FUTURE_FLAGS |= getattr(__future__, _feature).compiler_flag

RANDOM_SEED = 10  # random.seed and numpy.random.seed, as the tutorial's build set them
CAPTURE_REPR = ("_repr_html_", "__repr__")  # sphinx-gallery's default capture_repr
SETUP_FAILED = 3  # the child's exit status when it could not start the script


class _Stream(io.StringIO):
    """A cell's stdout or stderr: a StringIO that says it is UTF-8, as a console does."""

    @property
    def encoding(self) -> str:
        return "utf-8"


class _WarningLog:
    """Every warning of the current cell, counted by (category, message, file, line)."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str, str, int], int] = {}

    def showwarning(self, message, category, filename, lineno, file=None, line=None):
        key = (_qualname(category), str(message), str(filename), int(lineno or 0))
        self.counts[key] = self.counts.get(key, 0) + 1

    def take(self) -> list[CellWarning]:
        taken = [CellWarning(*key, count=count) for key, count in self.counts.items()]
        self.counts = {}
        return taken


def _qualname(cls: type) -> str:
    module = getattr(cls, "__module__", "builtins")
    name = getattr(cls, "__qualname__", getattr(cls, "__name__", str(cls)))
    return name if module == "builtins" else f"{module}.{name}"


def _refuse_input(prompt: Any = None) -> None:
    raise RuntimeError("input() is not available to a tutorial script (it runs unattended)")


def _cut(text: str) -> str:
    if len(text) <= OUTPUT_LIMIT:
        return text
    return text[:OUTPUT_LIMIT] + f"\n[... {len(text) - OUTPUT_LIMIT} more characters cut]\n"


def json_safe(value: Any) -> Any:
    """``value`` when JSON can hold it (``allow_nan=False``), else a ``{"probe_error"}``."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        return {"probe_error": f"not JSON-safe: {type(exc).__name__}: {exc}"}
    return value


# ----------------------------------------------------------------------------------------------
# Probes


class Probe:
    """A probe as the spec names it: called after each cell, finished at the end."""

    def __init__(self, spec: str, name: str | None = None) -> None:
        self.spec = spec
        target = load_object(spec)
        self.target = target() if isinstance(target, type) else target
        self.name = getattr(self.target, "name", None) or name or spec

    def start(self, namespace: dict[str, Any]) -> None:
        start = getattr(self.target, "start", None)
        if start is not None:
            start(namespace)

    def after_cell(self, cell: CellResult, namespace: dict[str, Any]) -> Any:
        try:
            return json_safe(self.target(cell, namespace, cell.stdout))
        except Exception as exc:  # a probe's fault is recorded, not the script's
            return {"probe_error": f"{type(exc).__name__}: {exc}"}

    def finish(self, namespace: dict[str, Any]) -> Any:
        finish = getattr(self.target, "finish", None)
        if finish is None:
            return None
        try:
            return json_safe(finish(namespace))
        except Exception as exc:
            return {"probe_error": f"{type(exc).__name__}: {exc}"}


def load_object(spec: str) -> Any:
    """The object ``module:attr`` or ``file.py:attr`` names (``attr`` may be dotted)."""
    where, sep, attr = spec.rpartition(":")
    if not sep or not where or not attr:
        raise ValueError(f"probe {spec!r}: expected module:attribute or path/file.py:attribute")
    if where.endswith(".py"):
        path = Path(where)
        name = f"_blitz_probe_{abs(hash(str(path.resolve())))}"
        module = sys.modules.get(name)
        if module is None:
            module_spec = importlib.util.spec_from_file_location(name, path)
            if module_spec is None or module_spec.loader is None:
                raise ImportError(f"probe {spec!r}: cannot load {path}")
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[name] = module
            module_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(where)
    target = module
    for part in attr.split("."):
        target = getattr(target, part)
    return target


# ----------------------------------------------------------------------------------------------
# Running a cell


class ScriptRunner:
    """One script's namespace and the running of its cells."""

    def __init__(self, script_path: str, sandbox: Sandbox, probes: list[Probe]) -> None:
        self.path = script_path
        self.sandbox = sandbox
        self.probes = probes
        self.future_flags = 0
        self.module = types.ModuleType("__main__")
        self.namespace = self.module.__dict__
        self.namespace.update({"__doc__": "", "input": _refuse_input})
        self.warning_log = _WarningLog()
        self.cells_s = 0.0
        self.probes_s = 0.0

    def start(self) -> None:
        """Make the process look as sphinx-gallery's did when it ran the script."""
        sys.modules["__main__"] = self.module
        sys.argv = [self.path]
        sys.path.append(str(Path(self.path).parent))
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", message=AGG_SHOW_WARNING, category=UserWarning)
        warnings.showwarning = self.warning_log.showwarning

    def run(self, block: cells_module.Block) -> CellResult:
        cell = CellResult.of(block)
        out, err = _Stream(), _Stream()
        saved = sys.stdout, sys.stderr
        self.sandbox.cell, self.sandbox.shows = block.index, 0
        refused_before = len(self.sandbox.network)
        started = time.perf_counter()
        try:
            sys.stdout, sys.stderr = out, err
            cell.expr_repr = self._execute(block)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # SystemExit too: the script goes on with the next cell
            cell.error = self._error(exc)
        finally:
            elapsed = time.perf_counter() - started
            sys.stdout, sys.stderr = saved
        self.cells_s += elapsed
        cell.ran = True
        cell.elapsed_s = elapsed
        cell.stdout, cell.stderr = _cut(out.getvalue()), _cut(err.getvalue())
        cell.warnings = self.warning_log.take()
        cell.figures = self.sandbox.take_figures()
        cell.shows = self.sandbox.shows
        cell.network = [r["address"] for r in self.sandbox.network[refused_before:]]
        self.sandbox.cell = None
        started = time.perf_counter()
        for probe in self.probes:
            value = probe.after_cell(cell, self.namespace)
            if value is not None:
                cell.probes[probe.name] = value
        self.probes_s += time.perf_counter() - started
        return cell

    def _execute(self, block: cells_module.Block) -> dict[str, str] | None:
        """Run the cell; the text of its last bare expression's value, as sphinx-gallery
        captures it (None when there is none, or it is None)."""
        tree = self._compile("\n" * (block.lineno - 1) + block.source, ast.PyCF_ONLY_AST)
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = tree.body.pop()
        exec(self._compile(tree), self.namespace)
        if last is None:
            return None
        value = eval(self._compile(ast.Expression(last.value), mode="eval"), self.namespace)
        return _last_repr(value)

    def _compile(self, source, flags: int = 0, mode: str = "exec"):
        """Compile with the __future__ features of the cells so far; a code object's own
        __future__ imports hold for the cells after it."""
        compiled = compile(source, self.path, mode, flags | self.future_flags, dont_inherit=True)
        if not flags & ast.PyCF_ONLY_AST:
            self.future_flags |= compiled.co_flags & FUTURE_FLAGS
        return compiled

    def _error(self, exc: BaseException) -> CellError:
        frames = [
            (frame.f_code.co_filename, lineno)
            for frame, lineno in traceback.walk_tb(exc.__traceback__)
        ]
        ours = [lineno for filename, lineno in frames if filename == self.path]
        lineno = ours[-1] if ours else None
        cell_lineno = ours[0] if ours else None
        if isinstance(exc, SyntaxError) and exc.filename == self.path:
            lineno = cell_lineno = exc.lineno
        tb = exc.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != self.path:
            tb = tb.tb_next
        text = "".join(traceback.format_exception(type(exc), exc, tb))
        return CellError(
            type=_qualname(type(exc)), message=str(exc), lineno=lineno,
            cell_lineno=cell_lineno, traceback=_cut(text),
        )  # fmt: skip

    def finish_probes(self) -> dict[str, Any]:
        finished = {}
        for probe in self.probes:
            value = probe.finish(self.namespace)
            if value is not None:
                finished[probe.name] = value
        return finished


def _last_repr(value: Any) -> dict[str, str] | None:
    """sphinx-gallery's ``_get_last_repr``: the first of ``CAPTURE_REPR`` that gives a string."""
    for method in CAPTURE_REPR:
        try:
            text = getattr(value, method)()
        except Exception:
            continue
        if isinstance(text, str):
            if text == "None":
                return None
            return {"method": method, "text": text}
    return None


# ----------------------------------------------------------------------------------------------
# The process


def seed(torch_seed: int | None) -> dict[str, Any] | None:
    """Seed as the tutorial's build did before each script; None: no seeding at all."""
    if torch_seed is None:
        return None
    import torch

    torch.manual_seed(torch_seed)
    random.seed(RANDOM_SEED)
    seeds: dict[str, Any] = {"torch": torch_seed, "random": RANDOM_SEED, "numpy": None}
    try:
        import numpy
    except ImportError:
        return seeds
    numpy.random.seed(RANDOM_SEED)
    seeds["numpy"] = RANDOM_SEED
    return seeds


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in ("torch", "torchvision", "numpy", "matplotlib"):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


class Events:
    """The JSON-lines file the runner reads (``blitz.tutorial_source.result``)."""

    def __init__(self, path: str) -> None:
        self.file = open(path, "a", encoding="utf-8")

    def write(self, event: dict[str, Any]) -> None:
        self.file.write(json.dumps(event) + "\n")
        self.file.flush()


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    context.SPEC.clear()
    context.SPEC.update(spec)
    events = Events(spec["events"])
    try:
        script = cells_module.split_file(spec["script"])
        path = str(Path(spec["script"]).resolve())
        sandbox = Sandbox(
            cifar10_root=spec.get("cifar10_root"),
            cifar10_train_subset=spec.get("cifar10_train_subset"),
            cifar10_test_subset=spec.get("cifar10_test_subset"),
            allow_download=bool(spec.get("allow_download")),
        )
        sandbox.install()
        probes = [Probe(p["spec"], p["name"]) for p in spec.get("probes", ())]
        runner = ScriptRunner(path, sandbox, probes)
        for probe in probes:
            probe.start(runner.namespace)
        seeds = seed(spec.get("seed"))  # last: nothing draws from the generators after it
    except Exception:
        events.write({"event": "failed", "error": traceback.format_exc()})
        return SETUP_FAILED
    facts = {
        "versions": versions(),
        "executable": sys.executable,
        "platform": platform.platform(),
        "cwd": os.getcwd(),
        "seeds": seeds,
        "sphinx_gallery_settings": script.settings,
        "syntax_error": script.syntax_error,
    }
    setup_s = time.perf_counter() - _STARTED
    events.write({"event": "start", "facts": facts, "setup_s": setup_s})
    runner.start()
    for block in script.code_cells:
        cell = runner.run(block)
        events.write({"event": "cell", "cell": cell.to_json()})
    finished = runner.finish_probes()
    events.write(
        {
            "event": "end",
            "facts": sandbox.facts(),
            "probes": finished,
            "timings": {
                "setup_s": setup_s,
                "cells_s": runner.cells_s,
                "probes_s": runner.probes_s,
                "child_s": time.perf_counter() - _STARTED,
            },
        }
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
