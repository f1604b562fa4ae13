"""What a run of a tutorial script gives: per cell its output, warnings, error, figures, time.

Torch-free, and defined once for both sides: the child process (``blitz.tutorial_source.child``)
builds ``CellResult`` objects and writes them, the runner reads them back into a ``ScriptRun``.

On disk a run is a JSON-lines file written by the child as it goes, one event a line, each
flushed at once, so that a child that dies or is killed leaves the cells it finished:

- ``{"event": "start", "facts": {...}}`` once the sandbox is set up, before the first cell;
- ``{"event": "cell", "cell": {...}}`` after each code cell (``CellResult.to_json``);
- ``{"event": "end", "facts": {...}, "probes": {...}, "timings": {...}}`` when the script is done.

The runner adds what only it knows (exit status, the process's own output, the wall time) and
gives a ``ScriptRun``; ``ScriptRun.to_json`` is the JSON a report or a plugin keeps (``SCHEMA``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from blitz.tutorial_source.cells import CODE, Block

SCHEMA = 1

# A script run's status.
OK = "ok"  # every code cell ran and none raised
CELL_ERRORS = "cell-errors"  # every code cell ran; some raised (each says how, and where)
CRASHED = "crashed"  # the process died before the script's end (signal, os._exit, fatal error)
TIMEOUT = "timeout"  # the runner killed it at its time limit
MISSING = "missing"  # this revision has no such script
FAILED = "failed"  # the harness could not run it (not the tutorial's fault): see ``error``
STATUSES = (OK, CELL_ERRORS, CRASHED, TIMEOUT, MISSING, FAILED)

# Where an output is cut (per cell and stream), so that a runaway print cannot fill the disk.
OUTPUT_LIMIT = 4_000_000


@dataclass
class CellError:
    """An exception a cell raised: its type, message, and where in the tutorial.

    ``lineno`` is the innermost line of the tutorial's own file in the traceback (the line that
    raised, or the call into the library that did); ``cell_lineno`` the cell's statement that
    was running. ``traceback`` is Python's text, the harness's own frames left out.
    """

    type: str  # the class's qualified name, "ZeroDivisionError" or "urllib.error.URLError"
    message: str
    lineno: int | None
    cell_lineno: int | None
    traceback: str = ""

    def to_json(self) -> dict[str, Any]:
        return dict(
            type=self.type, message=self.message, lineno=self.lineno,
            cell_lineno=self.cell_lineno, traceback=self.traceback,
        )  # fmt: skip

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CellError:
        return cls(**data)


@dataclass
class CellWarning:
    """A warning raised while a cell ran; ``count`` times the same (category, message, place)."""

    category: str  # qualified name: "UserWarning", "torch.jit.TracerWarning"
    message: str
    filename: str
    lineno: int
    count: int = 1

    def to_json(self) -> dict[str, Any]:
        return dict(
            category=self.category, message=self.message, filename=self.filename,
            lineno=self.lineno, count=self.count,
        )  # fmt: skip

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CellWarning:
        return cls(**data)


@dataclass
class CellResult:
    """A code cell of the script and what running it did.

    ``stdout`` and ``stderr`` are what the cell printed through Python (``print``, ``sys.std*``);
    ``expr_repr`` is the value of a last bare expression, as sphinx-gallery shows it below the
    printed output (``{"method": "__repr__", "text": ...}``; None when the cell does not end
    with an expression, or it is None). ``figures``: matplotlib figures open when the cell ended
    (saved and closed by sphinx-gallery's scraper; here counted and closed). ``shows``: calls
    of ``plt.show()``. ``network``: connections the sandbox refused. ``probes``: what each probe
    returned after this cell (only those that returned something). ``ran`` is False for a cell
    the process never reached (it died or was killed first).
    """

    index: int
    lineno: int
    end_lineno: int
    source: str
    hidden: bool = False
    hidden_lines: tuple[tuple[int, int], ...] = ()
    ran: bool = False
    stdout: str = ""
    stderr: str = ""
    expr_repr: dict[str, str] | None = None
    warnings: list[CellWarning] = field(default_factory=list)
    error: CellError | None = None
    elapsed_s: float = 0.0
    figures: int = 0
    shows: int = 0
    network: list[str] = field(default_factory=list)
    probes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, block: Block) -> CellResult:
        """A cell not run yet."""
        if block.kind != CODE:
            raise ValueError(f"block {block.index} is a text block, not a code cell")
        return cls(
            index=block.index, lineno=block.lineno, end_lineno=block.end_lineno,
            source=block.source, hidden=block.hidden, hidden_lines=block.hidden_lines,
        )  # fmt: skip

    @property
    def kind(self) -> str:
        return CODE

    @property
    def is_code(self) -> bool:
        return True

    @property
    def output(self) -> str:
        """The output as the rendered page shows it: the printed text, then the last
        expression's text representation."""
        if self.expr_repr and self.expr_repr.get("method") in ("__repr__", "__str__"):
            return f"{self.stdout}\n{self.expr_repr['text']}"
        return self.stdout

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "kind": CODE,
            "lineno": self.lineno,
            "end_lineno": self.end_lineno,
            "source": self.source,
            "hidden": self.hidden,
            "hidden_lines": [list(pair) for pair in self.hidden_lines],
            "ran": self.ran,
            "stdout": self.stdout,
            "stderr": self.stderr,
            "expr_repr": self.expr_repr,
            "warnings": [w.to_json() for w in self.warnings],
            "error": self.error.to_json() if self.error else None,
            "elapsed_s": self.elapsed_s,
            "figures": self.figures,
            "shows": self.shows,
            "network": list(self.network),
            "probes": dict(self.probes),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CellResult:
        return cls(
            index=data["index"],
            lineno=data["lineno"],
            end_lineno=data["end_lineno"],
            source=data["source"],
            hidden=data.get("hidden", False),
            hidden_lines=tuple(tuple(pair) for pair in data.get("hidden_lines", ())),
            ran=data.get("ran", False),
            stdout=data.get("stdout", ""),
            stderr=data.get("stderr", ""),
            expr_repr=data.get("expr_repr"),
            warnings=[CellWarning.from_json(w) for w in data.get("warnings", ())],
            error=CellError.from_json(data["error"]) if data.get("error") else None,
            elapsed_s=data.get("elapsed_s", 0.0),
            figures=data.get("figures", 0),
            shows=data.get("shows", 0),
            network=list(data.get("network", ())),
            probes=dict(data.get("probes", {})),
        )


@dataclass
class ScriptRun:
    """One script of a tutorial source, run in its own process (or not: ``status``).

    ``blocks`` holds the text blocks (``Block``) and code cells (``CellResult``) in the file's
    order. ``facts`` are the run's circumstances, as the child saw them (versions, seeds, the
    CIFAR-10 copy that served, pretrained weights, the subset cap, refused connections).
    ``probes`` holds what each probe's ``finish`` returned at the script's end. ``timings``:
    ``wall_s`` (the process, start to exit, as the runner saw it), ``setup_s`` (the child's
    sandbox and seeding, torch's import included), ``cells_s`` (the cells' own time),
    ``probes_s``. ``error`` says, for any status but ok and cell-errors, what went wrong.
    """

    name: str  # "tensor", "autograd", ...
    script: str  # the file's name, "tensor_tutorial.py"
    path: str | None  # where it was read (None: missing)
    status: str
    blocks: list[Block | CellResult] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    probes: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    returncode: int | None = None
    error: str | None = None
    process_output: str = ""  # the tail of what the process wrote to its own stdout/stderr

    @property
    def cells(self) -> list[CellResult]:
        return [block for block in self.blocks if isinstance(block, CellResult)]

    @property
    def text_blocks(self) -> list[Block]:
        return [block for block in self.blocks if isinstance(block, Block)]

    @property
    def errors(self) -> list[CellResult]:
        """The cells that raised."""
        return [cell for cell in self.cells if cell.error is not None]

    @property
    def stdout(self) -> str:
        """All that the cells printed, in order."""
        return "".join(cell.stdout for cell in self.cells)

    def cell_at(self, lineno: int) -> CellResult | None:
        """The code cell holding the file's line ``lineno``."""
        for cell in self.cells:
            if cell.lineno <= lineno <= cell.end_lineno:
                return cell
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "name": self.name,
            "script": self.script,
            "path": self.path,
            "status": self.status,
            "returncode": self.returncode,
            "error": self.error,
            "facts": self.facts,
            "timings": self.timings,
            "probes": self.probes,
            "blocks": [block.to_json() for block in self.blocks],
            "process_output": self.process_output,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ScriptRun:
        if data.get("schema") != SCHEMA:
            raise ValueError(f"script run of schema {data.get('schema')!r}, expected {SCHEMA}")
        blocks: list[Block | CellResult] = [
            CellResult.from_json(b) if b["kind"] == CODE else Block.from_json(b)
            for b in data["blocks"]
        ]
        return cls(
            name=data["name"],
            script=data["script"],
            path=data["path"],
            status=data["status"],
            blocks=blocks,
            facts=data.get("facts", {}),
            probes=data.get("probes", {}),
            timings=data.get("timings", {}),
            returncode=data.get("returncode"),
            error=data.get("error"),
            process_output=data.get("process_output", ""),
        )


@dataclass
class SourceRun:
    """The five scripts of one tutorial source (a checkout at one revision), each run."""

    label: str
    path: str  # the blitz folder read
    commit: str | None  # the checkout's full commit, where it is a git checkout
    scripts: dict[str, ScriptRun] = field(default_factory=dict)  # by name, in the tutorial's order
    options: dict[str, Any] = field(default_factory=dict)  # how the runs were made (RunOptions)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "label": self.label,
            "path": self.path,
            "commit": self.commit,
            "options": self.options,
            "scripts": {name: run.to_json() for name, run in self.scripts.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SourceRun:
        if data.get("schema") != SCHEMA:
            raise ValueError(f"source run of schema {data.get('schema')!r}, expected {SCHEMA}")
        return cls(
            label=data["label"],
            path=data["path"],
            commit=data.get("commit"),
            options=data.get("options", {}),
            scripts={name: ScriptRun.from_json(run) for name, run in data["scripts"].items()},
        )
