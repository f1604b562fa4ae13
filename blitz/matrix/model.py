"""The matrix model: statuses, a test's outcome, cells, a run's document (see ``blitz.matrix``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from blitz import claims as catalogue

# The JSON's version: 2 added error, ran/skipped counts and completeness; 3 added partial,
# not run, deselected counts, the not-run reason and the run's selection; 4 added absent and the
# tutorial columns (``tutorial:LABEL``). A file of schema 3 reads as it is (it has neither).
SCHEMA = 4
READABLE_SCHEMAS = (3, 4)

FAILS, ERROR, DRIFT, PARTIAL, HOLDS, SKIPPED, ABSENT, NOT_RUN = (
    "fails", "error", "drift", "partial", "holds", "skipped", "absent", "not_run",
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
        "selected, -k, a deselection, a narrowed run), or part of it could not be checked (a "
        "tutorial column's quick run or other seed): what did not run and why; never counted "
        "as holds"
    ),
    HOLDS: (
        "every test of the claim on that device ran and passed (in a narrowed run: none of its "
        "tests was left out)"
    ),
    SKIPPED: (
        "none of its tests ran: no GPU, a slow claim not selected, no data, or a claim with no "
        "verdict on that device (about the host: no cuda verdict; about a GPU: no cpu verdict)"
    ),
    ABSENT: (
        "a tutorial column only: the revision run does not state the claim in its code; the "
        "note says what was looked for"
    ),
    NOT_RUN: "the run did not select any test of the claim (not collected, or deselected)",
}
STATUSES = tuple(STATUS_MEANINGS)
LABELS = {
    FAILS: "FAILS", ERROR: "error", DRIFT: "drift", PARTIAL: "partial", HOLDS: "holds",
    SKIPPED: "skipped", ABSENT: "absent", NOT_RUN: "not run",
}  # fmt: skip


class Outcome:
    """What a single test did, as the plugin records it (``TestOutcome.outcome``): a vocabulary of
    its own, apart from a cell's statuses, and never written to the JSON (a cell's counts are).
    PENDING: collected, no result (a run that stopped first leaves it so); DESELECTED:
    collected, then left out by the run's selection; ABSENT: a tutorial column's check of a claim
    that the revision does not state (skipped, saying what was looked for)."""

    PASSED, FAILED, ERRORED = "passed", "failed", "errored"
    SKIPPED, DESELECTED, PENDING, ABSENT = "skipped", "deselected", "pending", "absent"
    ALL = (PASSED, FAILED, ERRORED, SKIPPED, DESELECTED, PENDING, ABSENT)


# A tutorial column's name: the prefix, then the source's label (``tutorial:2793639``).
TUTORIAL_PREFIX = "tutorial:"

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
    outcome: str = Outcome.PENDING  # one of Outcome.ALL
    reason: str = ""  # why it failed, errored, was skipped or deselected
    drift: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # What a test that passed could not check in this run (a tutorial column's golden in a run
    # with another seed, the full protocol in a quick run): its cell is then partial.
    unchecked: list[str] = field(default_factory=list)


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
    by = {outcome: [t for t in tests if t.outcome == outcome] for outcome in Outcome.ALL}
    for test in by[Outcome.PENDING]:
        test.reason = NO_RESULT
    passed, not_run = (
        by[Outcome.PASSED],
        by[Outcome.SKIPPED] + by[Outcome.DESELECTED] + by[Outcome.PENDING] + by[Outcome.ABSENT],
    )
    counts = dict(
        tests=tuple(sorted(t.nodeid for t in tests)),
        ran=len(passed) + len(by[Outcome.FAILED]) + len(by[Outcome.ERRORED]),
        skipped=len(by[Outcome.SKIPPED]) + len(by[Outcome.ABSENT]),
        deselected=len(by[Outcome.DESELECTED]) + len(by[Outcome.PENDING]),
    )
    reasons = [counted_reasons(not_run)] if not_run else []
    if narrowed:
        reasons.append(
            f"the run was narrowed ({narrowed}): other tests may not have been collected"
        )
    reason = "; ".join(reasons)
    if by[Outcome.FAILED]:
        note = unique(t.reason for t in by[Outcome.FAILED])
        note += [f"also an error: {r}" for r in unique(t.reason for t in by[Outcome.ERRORED])]
        return Cell(FAILS, "; ".join(note), not_run_reason=reason, **counts)
    if by[Outcome.ERRORED]:
        note = "; ".join(unique(t.reason for t in by[Outcome.ERRORED]))
        return Cell(ERROR, note, not_run_reason=reason, **counts)
    if not passed:
        if by[Outcome.ABSENT] and not by[Outcome.SKIPPED]:
            note = "; ".join(unique(t.reason for t in by[Outcome.ABSENT]))
            return Cell(ABSENT, note, not_run_reason=reason, **counts)
        if by[Outcome.SKIPPED] or by[Outcome.ABSENT]:
            note = "; ".join(unique(t.reason for t in by[Outcome.SKIPPED] + by[Outcome.ABSENT]))
            return Cell(SKIPPED, note, not_run_reason=reason, **counts)
        return Cell(NOT_RUN, reason, not_run_reason=reason, **counts)
    drift = unique(n for t in passed for n in t.drift)
    notes = unique(n for t in passed for n in t.notes)
    unchecked = unique(n for t in passed for n in t.unchecked)
    if unchecked:
        reason = "; ".join([f"not checked: {u}" for u in unchecked] + ([reason] if reason else []))
    if reason:
        note = "; ".join([f"drift: {d}" for d in drift] + notes)
        return Cell(PARTIAL, note, not_run_reason=reason, **counts)
    return Cell(DRIFT if drift else HOLDS, "; ".join(drift + notes), **counts)


def no_verdict(claim: catalogue.Claim, device: str) -> Cell | None:
    """The cell of a claim that has no verdict on ``device`` by its nature, else None."""
    if device.startswith(TUTORIAL_PREFIX):
        # The tutorial's scripts run on this machine: a claim about the host is theirs to show.
        return Cell(SKIPPED, ACCELERATOR_ONLY.format(device=device)) if claim.accelerator else None
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
        if cell.not_run_reason.startswith("not checked: "):
            return cell.not_run_reason.split("; ")[0]
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
        reasons = cell.not_run_reason.split("; ")
        unchecked = [r for r in reasons if r.startswith("not checked: ")]
        others = [r for r in reasons if not r.startswith("not checked: ")]
        if unchecked and cell.ran == cell.total:
            unchecked = unchecked[1:]  # the first is the cell's own text (ran_text)
        parts += unchecked
        if others:
            parts.append(f"not run: {'; '.join(others)}")
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
        return (
            f"{self.type} ({self.name or self.type})"
            if self.available
            else f"{self.type}: {self.reason}"
        )

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
