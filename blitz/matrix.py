"""The claims matrix: one definition of its statuses, cells, text and JSON, without torch.

The pytest plugin (``blitz.plugin``) writes a run's matrix with this module and the reports
(``python -m blitz.report claims``) read it back with the same module, so the vocabulary — the
statuses, how a cell is worded, which keys the JSON has — lives here alone. Importing it costs
no torch: merging files from many runs must be quick.

A **cell** is one claim on one device in one run. Its status comes from the outcomes of every
test of the claim on that device that the run collected, deselected ones included
(``summarize``); ``STATUS_MEANINGS`` says what each means, worst first. A cell reads ``holds``
only when every one of those tests ran and passed, in a run that was not narrowed to a part of
the suite; anything less that passed is ``partial`` and says how many ran and why the others did
not.

A **run document** is what ``pytest --claims-json PATH`` writes: the versions and devices of the
run, whether it finished (``complete``; an interrupted run says why and with which exit status),
whether it was narrowed to part of the suite (``narrowed``, with the ``selection`` that did it:
``-k``, ``-m``, ``--deselect``, ``--lf``, test paths), its facts (which CIFAR-10 copy), and a
``ClaimResult`` per claim of the catalogue with a ``Cell`` per device and the revision of the
tutorial that states the claim (``blitz.claims``: snapshot, 2026 or both). ``dump`` writes it
atomically; ``load`` reads and validates it, naming the file and the fault.
"""

from __future__ import annotations

import json
import os
import tempfile
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from blitz import claims as catalogue

# The JSON's version: 2 added error, ran/skipped counts and completeness; 3 added partial,
# not run, deselected counts, the not-run reason and the run's selection.
SCHEMA = 3

FAILS, ERROR, DRIFT, PARTIAL, HOLDS, SKIPPED, NOT_RUN = (
    "fails", "error", "drift", "partial", "holds", "skipped", "not_run",
)  # fmt: skip
# What each status means: the one table the code and the README use, worst first.
STATUS_MEANINGS = {
    FAILS: "an assertion about torch's behaviour failed: a finding about the tutorial",
    ERROR: (
        "the environment or blitz broke (a damaged data copy, a fixture that raised, a crashed "
        "worker): not a finding about torch, never counted as FAILS"
    ),
    DRIFT: (
        "every test of the claim ran and passed, asserting what this torch does; the note says "
        "how it differs from the tutorial's words"
    ),
    PARTIAL: (
        "the tests that ran passed, but not all of the claim's tests ran (a slow test not "
        "selected, -k, a deselection, a narrowed run): how many ran and why not the others; "
        "never counted as holds"
    ),
    HOLDS: (
        "every test of the claim on that device ran and passed (in a narrowed run: none of its "
        "tests was left out)"
    ),
    SKIPPED: (
        "none of its tests ran: no GPU, a slow claim not selected, no data, or a claim with no "
        "verdict on that device (about the host: no cuda verdict; about a GPU: no cpu verdict)"
    ),
    NOT_RUN: "the run did not select any test of the claim (not collected, or deselected)",
}
STATUSES = tuple(STATUS_MEANINGS)
LABELS = {
    FAILS: "FAILS", ERROR: "error", DRIFT: "drift", PARTIAL: "partial", HOLDS: "holds",
    SKIPPED: "skipped", NOT_RUN: "not run",
}  # fmt: skip

# What a single test did, as the plugin records it. PENDING: collected, no result (a run that
# stopped first leaves it so); DESELECTED: collected, then left out by the run's selection.
PENDING, PASSED, FAILED, ERRORED, DESELECTED = "pending", "passed", "failed", "error", "deselected"
OUTCOMES = (PASSED, FAILED, ERRORED, SKIPPED, DESELECTED, PENDING)

# The cell of a claim that by its nature has no verdict on a device.
HOST_ONLY = "a claim about the host (CPU-only): no {device} result"
ACCELERATOR_ONLY = "a claim about an accelerator: no {device} result"


class MatrixFileError(ValueError):
    """A claims file that cannot be used; the message names the file and what is wrong."""


# ----------------------------------------------------------------------------------------------
# Cells


@dataclass
class TestOutcome:
    """One test's result for its claims on one device."""

    nodeid: str
    outcome: str = PENDING  # one of OUTCOMES
    reason: str = ""  # why it failed, errored, was skipped or deselected
    drift: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Cell:
    """One claim on one device: the status, the text behind it, and the tests behind it.

    ``note`` is the failure or error, the drift note, the skip reason, or a finding beside
    ``holds`` / ``partial``. ``ran`` counts the claim's tests on the device that ran to a result,
    ``skipped`` those skipped, ``deselected`` those the run's selection left out (or that have no
    result because the run stopped); ``not_run_reason`` says why those did not run, and, in a
    narrowed run, that other tests of the claim may not have been collected at all.
    """

    status: str
    note: str = ""
    tests: tuple[str, ...] = ()
    ran: int = 0
    skipped: int = 0
    deselected: int = 0
    not_run_reason: str = ""

    @property
    def total(self) -> int:
        return self.ran + self.skipped + self.deselected

    def to_json(self) -> dict:
        return {
            "status": self.status,
            "note": self.note,
            "tests": list(self.tests),
            "ran": self.ran,
            "skipped": self.skipped,
            "deselected": self.deselected,
            "not_run_reason": self.not_run_reason,
        }


def unique(values: Iterable[str]) -> list[str]:
    """``values`` in order, each once."""
    out: list[str] = []
    for value in values:
        if value not in out:
            out.append(value)
    return out


def counted_reasons(tests: list[TestOutcome]) -> str:
    """Why ``tests`` did not run, each reason once with how many: ``2 slow: …; 1 deselected``."""
    counts: dict[str, int] = {}
    for test in tests:
        counts[test.reason] = counts.get(test.reason, 0) + 1
    return "; ".join(f"{n} {reason}" for reason, n in counts.items())


NO_RESULT = "with no result: the run stopped before they finished"


def summarize(tests: list[TestOutcome], narrowed: str = "") -> Cell:
    """One claim's cell on one device from every test of it there that the run collected.

    ``narrowed`` describes a selection that may have kept other tests of the claim from being
    collected at all (test paths, ``--ignore``, ``--lf``): then no cell reads ``holds``.
    """
    if not tests:
        return Cell(NOT_RUN, "no test of the claim was collected in this run")
    by = {outcome: [t for t in tests if t.outcome == outcome] for outcome in OUTCOMES}
    for test in by[PENDING]:
        test.reason = NO_RESULT
    passed, not_run = by[PASSED], by[SKIPPED] + by[DESELECTED] + by[PENDING]
    counts = dict(
        tests=tuple(sorted(t.nodeid for t in tests)),
        ran=len(passed) + len(by[FAILED]) + len(by[ERRORED]),
        skipped=len(by[SKIPPED]),
        deselected=len(by[DESELECTED]) + len(by[PENDING]),
    )
    reasons = [counted_reasons(not_run)] if not_run else []
    if narrowed:
        reasons.append(f"the run was narrowed ({narrowed}): other tests may not have been collected")
    reason = "; ".join(reasons)
    if by[FAILED]:
        note = unique(t.reason for t in by[FAILED])
        note += [f"also an error: {r}" for r in unique(t.reason for t in by[ERRORED])]
        return Cell(FAILS, "; ".join(note), not_run_reason=reason, **counts)
    if by[ERRORED]:
        note = "; ".join(unique(t.reason for t in by[ERRORED]))
        return Cell(ERROR, note, not_run_reason=reason, **counts)
    if not passed:
        if by[SKIPPED]:
            note = "; ".join(unique(t.reason for t in by[SKIPPED]))
            return Cell(SKIPPED, note, not_run_reason=reason, **counts)
        return Cell(NOT_RUN, reason, not_run_reason=reason, **counts)
    drift = unique(n for t in passed for n in t.drift)
    notes = unique(n for t in passed for n in t.notes)
    if reason:
        note = "; ".join([f"drift: {d}" for d in drift] + notes)
        return Cell(PARTIAL, note, not_run_reason=reason, **counts)
    return Cell(DRIFT if drift else HOLDS, "; ".join(drift + notes), **counts)


def no_verdict(claim: catalogue.Claim, device: str) -> Cell | None:
    """The cell of a claim that has no verdict on ``device`` by its nature, else None."""
    if claim.cpu_only and device != "cpu":
        return Cell(SKIPPED, HOST_ONLY.format(device=device))
    if claim.accelerator and device == "cpu":
        return Cell(SKIPPED, ACCELERATOR_ONLY.format(device=device))
    return None


def label(status: str) -> str:
    return LABELS.get(status, status)


def ran_text(cell: Cell) -> str:
    """How many of a cell's tests ran, where not all of them: ``2 of 4 tests ran``."""
    if cell.ran == cell.total:
        return f"{plural(cell.ran, 'test')} ran, narrowed run"
    return f"{cell.ran} of {cell.total} tests ran"


def cell_text(cell: Cell) -> str:
    """A cell in words: ``holds``, ``partial (2 of 3 tests ran)``, ``FAILS: <why>``,
    ``error: <what broke>``, ``drift: <note>``, ``skipped: <reason>``, ``not run: <why>``.
    The finding beside ``holds`` or ``partial`` is the footnote's (``footnote_text``)."""
    text = label(cell.status)
    if cell.status == PARTIAL:
        return f"{text} ({ran_text(cell)})"
    if cell.status == HOLDS or not cell.note:
        return text
    return f"{text}: {cell.note}"


def footnote_text(cell: Cell) -> str:
    """What a cell says beyond ``cell_text``: a finding or drift beside ``holds`` or
    ``partial``, and why the tests that did not run did not, where some ran."""
    parts = []
    if cell.status in (HOLDS, PARTIAL) and cell.note:
        parts.append(cell.note)
    if cell.ran and cell.not_run_reason:
        parts.append(f"not run: {cell.not_run_reason}")
    return "; ".join(parts)


# ----------------------------------------------------------------------------------------------
# A run


@dataclass
class Device:
    """A device a run was parametrized over, and whether it was there."""

    type: str
    available: bool
    name: str = ""  # the hardware, where available
    reason: str = ""  # why not, where unavailable
    cuda: str | None = None  # the CUDA version torch was built for (cuda only)

    def describe(self) -> str:
        return f"{self.type} ({self.name or self.type})" if self.available else f"{self.type}: {self.reason}"

    def to_json(self) -> dict:
        out: dict = {"type": self.type, "available": self.available}
        if self.available:
            out["name"] = self.name
        else:
            out["reason"] = self.reason
        if self.type == "cuda":
            out["cuda"] = self.cuda
        return out


@dataclass
class ClaimResult:
    """A claim's cells in one run, a cell per device.

    ``revision`` is the revision of the tutorial that states the claim (one of
    ``blitz.claims.REVISIONS``); "" where a file written before blitz recorded it names a claim
    that the catalogue does not know.
    """

    id: str
    statement: str
    section: str
    kind: str
    results: dict[str, Cell]
    revision: str = ""

    def to_json(self) -> dict:
        return {
            "statement": self.statement,
            "section": self.section,
            "kind": self.kind,
            "revision": self.revision,
            "results": {device: cell.to_json() for device, cell in self.results.items()},
        }


def catalogue_revision(claim_id: str) -> str:
    """The catalogue's revision for ``claim_id``; "" for an id it does not know."""
    claim = catalogue.CLAIMS.get(claim_id)
    return claim.revision if claim is not None else ""


REVISION_WIDTH = max(len("revision"), *(len(r) for r in catalogue.REVISIONS))


@dataclass
class RunDocument:
    """One run's matrix: what ``pytest --claims-json`` writes.

    ``selection`` lists what narrowed the run to part of the suite (``-k EXPR``, test paths,
    ...), or what it deselected; ``narrowed`` is true where that left out tests of a claim, or
    may have: such a run's cells never read ``holds`` for a claim some of whose tests it left
    out, and its file never replaces one written by a run of the whole suite.
    """

    torch: str
    torchvision: str
    python: str
    platform: str
    devices: list[Device]
    claims: dict[str, ClaimResult]
    facts: dict[str, str] = field(default_factory=dict)  # the run's facts (which data copy)
    complete: bool = True
    exit_status: int | None = None
    incomplete_reason: str = ""
    narrowed: bool = False
    selection: list[str] = field(default_factory=list)
    finished: str = ""  # when it was written, ISO 8601
    path: Path | None = None  # where it was read from

    @property
    def available(self) -> list[str]:
        return [d.type for d in self.devices if d.available]

    def to_json(self) -> dict:
        return {
            "schema": SCHEMA,
            "complete": self.complete,
            "exit_status": self.exit_status,
            "incomplete_reason": self.incomplete_reason,
            "narrowed": self.narrowed,
            "selection": list(self.selection),
            "finished": self.finished,
            "torch": self.torch,
            "torchvision": self.torchvision,
            "python": self.python,
            "platform": self.platform,
            "devices": [d.to_json() for d in self.devices],
            "run": dict(sorted(self.facts.items())),
            "claims": {claim_id: c.to_json() for claim_id, c in self.claims.items()},
        }


def status_counts(cells: Iterable[Cell]) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for cell in cells:
        counts[cell.status] += 1
    return counts


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def count_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {label(status)}" for status, n in counts.items() if n)


# ----------------------------------------------------------------------------------------------
# The matrix of one run as text

CELL_WIDTH = 44  # the widest a device's column gets
STATEMENT_WIDTH = 46  # the widest the claim's column gets
MIN_CELL_WIDTH = 16
MIN_STATEMENT_WIDTH = 12
ID_WIDTH = 3
GAP = "  "


def column_widths(width: int | None, columns: int) -> tuple[int, int]:
    """(claim column, device column) widths that fit a table of ``columns`` device columns in
    ``width`` characters: the claim's text is cut first, then the cells, down to a minimum."""
    if width is None:
        return STATEMENT_WIDTH, CELL_WIDTH
    fixed = ID_WIDTH + len(GAP) + len(GAP) + REVISION_WIDTH + columns * len(GAP)
    spare = width - fixed
    cell = CELL_WIDTH
    statement = max(MIN_STATEMENT_WIDTH, min(STATEMENT_WIDTH, spare - columns * cell))
    if columns:
        cell = max(MIN_CELL_WIDTH, min(CELL_WIDTH, (spare - statement) // columns))
    return statement, cell


def device_columns(document: RunDocument) -> tuple[list[str], list[Device]]:
    """The devices that get a column, and the missing ones that do not: a device that is not
    here and has nothing but skipped cells is one line above the table, with the reason."""
    shown, hidden = [], []
    for device in document.devices:
        cells = [r.results[device.type] for r in document.claims.values() if device.type in r.results]
        if not device.available and all(c.status in (SKIPPED, NOT_RUN) for c in cells):
            hidden.append(device)
        else:
            shown.append(device.type)
    return shown, hidden


def selected(result: ClaimResult) -> bool:
    """Whether the run selected any test of the claim (on any device)."""
    return any(cell.status != NOT_RUN or cell.skipped for cell in result.results.values())


def shorten(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters: cut at a word, or mid-word where a word would
    leave too little."""
    if len(text) <= width:
        return text
    words = textwrap.shorten(text, width, placeholder="…")
    return words if len(words) > width // 2 else text[: width - 1] + "…"


def render(document: RunDocument, width: int | None = None) -> list[str]:
    """A run's matrix as lines of text: a row per claim the run selected, a column per device,
    fitted to ``width`` characters where given (the claim's text is cut first).

    A cell longer than its column is cut and numbered, and so is a finding beside ``holds``
    or ``partial`` and why some of a cell's tests did not run: the full texts follow the table,
    then a summary line with a count per status.
    """
    device_names, missing = device_columns(document)
    statement_width, cell_width = column_widths(width, len(device_names))
    footnotes: list[str] = []

    def footnote(text: str) -> str:
        if text not in footnotes:
            footnotes.append(text)
        return f" [{footnotes.index(text) + 1}]"

    def fit(cell: Cell) -> str:
        text, extra = cell_text(cell), footnote_text(cell)
        if not extra and len(text) <= cell_width:
            return text
        if len(text) <= cell_width - len(" [99]"):
            return text + footnote(extra)
        # Cut: the footnote holds the whole cell, its text and what it says beyond it.
        mark = footnote(f"{text}; {extra}" if extra else text)
        return text[: max(1, cell_width - len(mark) - 1)] + "…" + mark

    lines = [
        f"torch {document.torch}, torchvision {document.torchvision}, "
        f"python {document.python}, {document.platform}",
        "devices: " + ", ".join(
            f"{d.type} ({d.name})" if d.available else f"{d.type} (unavailable)"
            for d in document.devices
        ),
        *(f"{d.type}: no column, not here: {d.reason}" for d in missing),
        *(f"{key}: {value}" for key, value in document.facts.items()),
    ]
    if not document.complete:
        lines.append(f"INCOMPLETE RUN: {document.incomplete_reason}")
    if document.narrowed:
        lines.append(
            "NARROWED RUN (" + "; ".join(document.selection) + "): a claim reads holds only "
            "where every test of it ran"
        )
    header = ["id ", "claim".ljust(statement_width), "revision".ljust(REVISION_WIDTH)]
    header += [d.ljust(cell_width) for d in device_names]
    lines += ["", GAP.join(header).rstrip()]
    cells, not_run = [], []
    for claim_id, result in document.claims.items():
        if not selected(result):
            not_run.append(claim_id)
            continue
        statement = shorten(result.statement, statement_width)
        revision = result.revision or "?"
        row = [claim_id.ljust(ID_WIDTH), statement.ljust(statement_width), revision.ljust(REVISION_WIDTH)]
        for device in device_names:
            cell = result.results[device]
            cells.append(cell)
            row.append(fit(cell).ljust(cell_width))
        lines.append(GAP.join(row).rstrip())
    lines.append("")
    lines.extend(f"[{i}] {text}" for i, text in enumerate(footnotes, 1))
    if not_run:
        lines.append(f"not run (no test of them selected): {', '.join(not_run)}")
    shown = len(document.claims) - len(not_run)
    lines.append(
        f"{plural(shown, 'claim')} x {plural(len(device_names), 'device')}: "
        + (count_text(status_counts(cells)) or "no results")
        + (f"; {plural(len(not_run), 'claim')} not run" if not_run else "")
    )
    return lines


# ----------------------------------------------------------------------------------------------
# JSON


def dump(document: RunDocument, path: str | os.PathLike) -> None:
    """Write ``document`` to ``path`` atomically: a temporary file in the same folder, then
    ``os.replace``, so a reader never sees half a file and a crash leaves the old one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(document.to_json(), indent=2) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> object:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MatrixFileError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise MatrixFileError(
            f"{path}: not JSON ({exc.msg}, line {exc.lineno}); expected the file that "
            "pytest --claims-json writes"
        ) from None


def load(path: str | os.PathLike) -> RunDocument:
    """Read and check one claims file; a ``MatrixFileError`` names the file and the fault."""
    path = Path(path)
    return from_json(read_json(path), path)


def from_json(doc: object, path: Path) -> RunDocument:
    check = _Checker(path)
    check.kind(doc, dict, "the document")
    schema = doc.get("schema")
    if schema != SCHEMA:
        found = "no 'schema'" if schema is None else f"schema {schema!r}"
        raise MatrixFileError(
            f"{path}: {found}, expected {SCHEMA}: written by another version of blitz; "
            "run pytest --claims-json again"
        )
    for key in ("torch", "torchvision", "python", "platform"):
        check.kind(check.key(doc, key, "the document"), str, f"'{key}'")
    complete = check.kind(check.key(doc, "complete", "the document"), bool, "'complete'")
    narrowed = check.kind(doc.get("narrowed", False), bool, "'narrowed'")
    selection = check.kind(doc.get("selection", []), list, "'selection'")
    for item in selection:
        check.kind(item, str, "an item of 'selection'")
    exit_status = doc.get("exit_status")
    if exit_status is not None:
        check.kind(exit_status, int, "'exit_status'")
    devices = []
    for i, info in enumerate(check.kind(check.key(doc, "devices", "the document"), list, "'devices'")):
        where = f"devices[{i}]"
        check.kind(info, dict, where)
        devices.append(
            Device(
                type=check.kind(check.key(info, "type", where), str, f"{where}.type"),
                available=check.kind(check.key(info, "available", where), bool, f"{where}.available"),
                name=check.kind(info.get("name", ""), str, f"{where}.name"),
                reason=check.kind(info.get("reason", ""), str, f"{where}.reason"),
                cuda=info.get("cuda"),
            )
        )
    device_types = [d.type for d in devices]
    facts = check.kind(doc.get("run", {}), dict, "'run'")
    for key, value in facts.items():
        check.kind(value, str, f"run fact '{key}'")
    claims = {}
    for claim_id, entry in check.kind(check.key(doc, "claims", "the document"), dict, "'claims'").items():
        where = f"claim {claim_id}"
        check.kind(entry, dict, where)
        results = check.kind(check.key(entry, "results", where), dict, f"{where}: 'results'")
        cells = {}
        for device, cell in results.items():
            cell_where = f"{where}, device {device}"
            if device not in device_types:
                raise MatrixFileError(
                    f"{path}: {cell_where}: a device missing from 'devices' "
                    f"({', '.join(device_types) or 'none'})"
                )
            cells[device] = _cell_from_json(check, cell, cell_where)
        claims[claim_id] = ClaimResult(
            id=claim_id,
            statement=check.kind(entry.get("statement", ""), str, f"{where}: 'statement'"),
            section=check.kind(entry.get("section", ""), str, f"{where}: 'section'"),
            kind=check.kind(entry.get("kind", ""), str, f"{where}: 'kind'"),
            results=cells,
            revision=_revision_from_json(check, entry, claim_id, where),
        )
    return RunDocument(
        torch=doc["torch"],
        torchvision=doc["torchvision"],
        python=doc["python"],
        platform=doc["platform"],
        devices=devices,
        claims=claims,
        facts=facts,
        complete=complete,
        exit_status=exit_status,
        incomplete_reason=check.kind(doc.get("incomplete_reason", ""), str, "'incomplete_reason'"),
        narrowed=narrowed,
        selection=selection,
        finished=check.kind(doc.get("finished", ""), str, "'finished'"),
        path=path,
    )


def _revision_from_json(check: _Checker, entry: dict, claim_id: str, where: str) -> str:
    """A claim's ``revision``; optional (files written before blitz recorded it have none):
    missing, it is the catalogue's for a claim the catalogue knows, else ""."""
    if "revision" not in entry:
        return catalogue_revision(claim_id)
    revision = check.kind(entry["revision"], str, f"{where}: 'revision'")
    if revision not in catalogue.REVISIONS:
        raise MatrixFileError(
            f"{check.path}: {where}: unknown revision {revision!r} "
            f"(expected one of {', '.join(catalogue.REVISIONS)})"
        )
    return revision


def _cell_from_json(check: _Checker, cell: object, where: str) -> Cell:
    check.kind(cell, dict, where)
    status = check.key(cell, "status", where)
    if status not in STATUSES:
        raise MatrixFileError(
            f"{check.path}: {where}: unknown status {status!r} "
            f"(expected one of {', '.join(STATUSES)})"
        )
    tests = check.kind(cell.get("tests", []), list, f"{where}: 'tests'")
    return Cell(
        status=status,
        note=check.kind(cell.get("note", ""), str, f"{where}: 'note'"),
        tests=tuple(check.kind(t, str, f"{where}: a test id") for t in tests),
        ran=check.kind(cell.get("ran", 0), int, f"{where}: 'ran'"),
        skipped=check.kind(cell.get("skipped", 0), int, f"{where}: 'skipped'"),
        deselected=check.kind(cell.get("deselected", 0), int, f"{where}: 'deselected'"),
        not_run_reason=check.kind(
            cell.get("not_run_reason", ""), str, f"{where}: 'not_run_reason'"
        ),
    )


@dataclass
class _Checker:
    path: Path

    def key(self, mapping: dict, key: str, where: str):
        if key not in mapping:
            raise MatrixFileError(
                f"{self.path}: {where} has no '{key}' (not a file that pytest --claims-json wrote?)"
            )
        return mapping[key]

    def kind(self, value, expected: type, where: str):
        # bool is an int in Python; a count or a status code must not be true/false.
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            names = {
                dict: "an object", list: "a list", str: "a string", bool: "true or false",
                int: "an integer",
            }  # fmt: skip
            raise MatrixFileError(
                f"{self.path}: {where} should be {names[expected]}, not {type(value).__name__}"
            )
        return value
