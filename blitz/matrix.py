"""The claims matrix: one definition of its statuses, cells, text and JSON, without torch.

The pytest plugin (``blitz.plugin``) writes a run's matrix with this module and the reports
(``python -m blitz.report claims``) read it back with the same module, so the vocabulary — the
statuses, how a cell is worded, which keys the JSON has — lives here alone. Importing it costs
no torch: merging files from many runs must be quick.

A **cell** is one claim on one device in one run. Its status, from the outcomes of the claim's
tests on that device (``summarize``), worst first:

- ``fails``   — an assertion about torch's behaviour failed: a finding about the tutorial;
- ``error``   — the environment or blitz broke (a damaged data copy, a fixture that raised, a
  crashed worker): not a finding about torch, and never shown as ``FAILS``;
- ``drift``   — the tests passed, asserting what this torch does, and say how it differs from
  the tutorial's words;
- ``holds``   — every test that ran passed; when some did not run, the cell says how many ran
  and why the others did not;
- ``skipped`` — nothing ran (no GPU, a slow claim not selected, no data, or a claim about the
  host or about an accelerator, which has no verdict on the other kind of device).

A **run document** is what ``pytest --claims-json PATH`` writes: the versions and devices of the
run, whether it finished (``complete``; an interrupted run says why and with which exit status),
its facts (which CIFAR-10 copy), and a ``ClaimResult`` per claim with a ``Cell`` per device and
the revision of the tutorial that states the claim (``blitz.claims``: snapshot, 2026 or both).
``dump`` writes it atomically; ``load`` reads and validates it, naming the file and the fault.
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

SCHEMA = 2  # the JSON's version: 2 added error, ran/skipped counts and completeness

FAILS, ERROR, DRIFT, HOLDS, SKIPPED = "fails", "error", "drift", "holds", "skipped"
STATUSES = (FAILS, ERROR, DRIFT, HOLDS, SKIPPED)  # worst first
LABELS = {FAILS: "FAILS", ERROR: "error", DRIFT: "drift", HOLDS: "holds", SKIPPED: "skipped"}

# What a single test did, as the plugin records it; PENDING: started, no result yet (a run
# interrupted during the test leaves it so, and it counts for nothing).
PENDING, PASSED, FAILED, ERRORED = "pending", "passed", "failed", "error"
OUTCOMES = (PASSED, FAILED, ERRORED, SKIPPED)

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
    outcome: str = PENDING  # one of OUTCOMES once the test has a result
    reason: str = ""  # why it failed, errored or was skipped
    drift: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Cell:
    """One claim on one device: the status, the text behind it, and the tests behind it.

    ``note`` is the failure or error, the drift note, the skip reason, or a finding beside
    ``holds``; ``ran`` and ``skipped`` count the claim's tests on the device, and
    ``skip_reason`` says why the skipped ones did not run when others did.
    """

    status: str
    note: str = ""
    tests: tuple[str, ...] = ()
    ran: int = 0
    skipped: int = 0
    skip_reason: str = ""

    @property
    def partial(self) -> bool:
        """Some of the claim's tests ran and some were skipped."""
        return self.ran > 0 and self.skipped > 0

    def to_json(self) -> dict:
        return {
            "status": self.status,
            "note": self.note,
            "tests": list(self.tests),
            "ran": self.ran,
            "skipped": self.skipped,
            "skip_reason": self.skip_reason,
        }


def unique(values: Iterable[str]) -> list[str]:
    """``values`` in order, each once."""
    out: list[str] = []
    for value in values:
        if value not in out:
            out.append(value)
    return out


def summarize(tests: list[TestOutcome]) -> Cell:
    """One claim's cell on one device from the outcomes of its tests there."""
    tests = [t for t in tests if t.outcome != PENDING]
    if not tests:
        return Cell(SKIPPED, "no result: the run stopped before its tests finished")
    nodeids = tuple(sorted(t.nodeid for t in tests))
    by = {outcome: [t for t in tests if t.outcome == outcome] for outcome in OUTCOMES}
    ran = len(tests) - len(by[SKIPPED])
    counts = dict(tests=nodeids, ran=ran, skipped=len(by[SKIPPED]))
    skip_reason = "; ".join(unique(t.reason for t in by[SKIPPED]))
    if by[FAILED]:
        note = unique(t.reason for t in by[FAILED])
        note += [f"also an error: {r}" for r in unique(t.reason for t in by[ERRORED])]
        return Cell(FAILS, "; ".join(note), skip_reason=skip_reason, **counts)
    if by[ERRORED]:
        note = "; ".join(unique(t.reason for t in by[ERRORED]))
        return Cell(ERROR, note, skip_reason=skip_reason, **counts)
    if not by[PASSED]:
        return Cell(SKIPPED, skip_reason, skip_reason=skip_reason, **counts)
    drift = unique(n for t in by[PASSED] for n in t.drift)
    notes = unique(n for t in by[PASSED] for n in t.notes)
    status = DRIFT if drift else HOLDS
    return Cell(status, "; ".join(drift + notes), skip_reason=skip_reason, **counts)


def no_verdict(claim: catalogue.Claim, device: str) -> Cell | None:
    """The cell of a claim that has no verdict on ``device`` by its nature, else None."""
    if claim.cpu_only and device != "cpu":
        return Cell(SKIPPED, HOST_ONLY.format(device=device))
    if claim.accelerator and device == "cpu":
        return Cell(SKIPPED, ACCELERATOR_ONLY.format(device=device))
    return None


def label(status: str) -> str:
    return LABELS.get(status, status)


def cell_text(cell: Cell) -> str:
    """A cell in words: ``holds``, ``holds (2 of 3 tests ran)``, ``FAILS: <why>``,
    ``error: <what broke>``, ``drift: <note>``, ``skipped: <reason>``."""
    text = label(cell.status)
    if cell.partial:
        text += f" ({cell.ran} of {cell.ran + cell.skipped} tests ran)"
    if cell.status == HOLDS or not cell.note:
        return text
    return f"{text}: {cell.note}"


def footnote_text(cell: Cell) -> str:
    """What a cell's footnote says beyond ``cell_text``: a finding beside ``holds``, and why
    the tests that did not run were skipped."""
    parts = []
    if cell.status == HOLDS and cell.note:
        parts.append(cell.note)
    if cell.partial and cell.skip_reason:
        parts.append(f"not run: {cell.skip_reason}")
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
    """One run's matrix: what ``pytest --claims-json`` writes."""

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

CELL_WIDTH = 44
STATEMENT_WIDTH = 46


def render(document: RunDocument) -> list[str]:
    """A run's matrix as lines of text: a row per claim, a column per device.

    A cell longer than its column is cut and numbered; a finding beside ``holds`` and the skip
    reason of a partial cell are numbered too. The full texts follow the table, then a summary
    line with a count per status.
    """
    device_names = [d.type for d in document.devices]
    footnotes: list[str] = []

    def footnote(text: str) -> str:
        if text not in footnotes:
            footnotes.append(text)
        return f" [{footnotes.index(text) + 1}]"

    def fit(cell: Cell) -> str:
        text = cell_text(cell)
        extra = footnote_text(cell)
        if extra:
            return text + footnote(extra)
        if len(text) <= CELL_WIDTH:
            return text
        mark = footnote(text)
        return text[: CELL_WIDTH - len(mark) - 1] + "…" + mark

    header = ["id ", "claim".ljust(STATEMENT_WIDTH), "revision".ljust(REVISION_WIDTH)]
    header += [d.ljust(CELL_WIDTH) for d in device_names]
    lines = [
        f"torch {document.torch}, torchvision {document.torchvision}, "
        f"python {document.python}, {document.platform}",
        "devices: " + ", ".join(
            f"{d.type} ({d.name})" if d.available else f"{d.type} (unavailable)"
            for d in document.devices
        ),
        *(f"{key}: {value}" for key, value in document.facts.items()),
    ]
    if not document.complete:
        lines.append(f"INCOMPLETE RUN: {document.incomplete_reason}")
    lines += ["", "  ".join(header).rstrip()]
    cells = []
    for claim_id, result in document.claims.items():
        statement = textwrap.shorten(result.statement, STATEMENT_WIDTH, placeholder="…")
        revision = result.revision or "?"
        row = [claim_id, statement.ljust(STATEMENT_WIDTH), revision.ljust(REVISION_WIDTH)]
        for device in device_names:
            cell = result.results[device]
            cells.append(cell)
            row.append(fit(cell).ljust(CELL_WIDTH))
        lines.append("  ".join(row).rstrip())
    lines.append("")
    lines.extend(f"[{i}] {text}" for i, text in enumerate(footnotes, 1))
    missing = len(catalogue.tested()) - len(document.claims)
    lines.append(
        f"{plural(len(document.claims), 'claim')} x {plural(len(device_names), 'device')}: "
        + (count_text(status_counts(cells)) or "no results")
        + (f"; {missing} catalogue claims not in this run" if missing else "")
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
        skip_reason=check.kind(cell.get("skip_reason", ""), str, f"{where}: 'skip_reason'"),
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
