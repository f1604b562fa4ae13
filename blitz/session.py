"""The claims session: what a run collected, every test's outcome by claim and device, and the
run's document (``blitz.matrix``), made when the run ends and written as JSON.

The pytest hooks live in ``blitz.plugin``, each a line or two into the one ``ClaimsSession``
made in ``pytest_configure`` (as pytest-benchmark and pytest-xdist keep their sessions apart from
their hooks). Results reach it in each test report's ``user_properties`` (the keys below), so a
pytest-xdist controller gets them from its workers with the reports; what each worker collected
and deselected comes in its ``workeroutput``.
"""

from __future__ import annotations

import platform
from datetime import datetime, timezone
from pathlib import Path

import pytest

from blitz import claims as catalogue
from blitz import devices, matrix
from blitz import selection as selection_files

# Keys of the (name, value) pairs a test carries in ``user_properties``.
CLAIMS_KEY = "blitz.claims"
DEVICE_KEY = "blitz.device"
DRIFT_KEY = "blitz.drift"
NOTE_KEY = "blitz.note"
RUN_KEY = "blitz.run"
ERROR_KEY = "blitz.error"
ABSENT_KEY = "blitz.absent"  # a tutorial column's claim that the revision does not state
UNCHECKED_KEY = "blitz.unchecked"  # what a passing test could not check in this run
FAILURE_KEY = "blitz.failure"  # a failing test's finding in one line, as its cell should say it
# The key of what a pytest-xdist worker collected and deselected, in its workeroutput.
PLAN_KEY = "blitz.plan"


def claim_ids(item: pytest.Item) -> list[str]:
    """The catalogue ids named by every ``claim`` marker on ``item``, in order, once each."""
    ids: list[str] = []
    for marker in item.iter_markers("claim"):
        for claim_id in marker.args:
            if claim_id not in ids:
                ids.append(claim_id)
    return ids


def item_device(item: pytest.Item) -> str | None:
    """The device a test is parametrized over (for a tutorial column's item, the column), or
    None where it takes no ``device``."""
    column = getattr(item, "tutorial_column", None)
    if column:
        return column
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("device") if callspec else None


class ClaimsSession:
    """The run's claims: every test's outcome by claim and device, and the matrix."""

    def __init__(
        self,
        devices: list[str],
        is_worker: bool = False,
        run_slow: bool = False,
        json_path: str | None = None,
        show_matrix: bool = True,
    ) -> None:
        self.devices = devices
        # The tutorial columns (``blitz.tutorial_column``), by name: their Device entries.
        self.tutorial_columns: dict[str, matrix.Device] = {}
        self.is_worker = is_worker
        self.run_slow = run_slow
        self.json_path = json_path
        self.show_matrix = show_matrix
        # (claim id, device) -> {nodeid: TestOutcome}
        self.results: dict[tuple[str, str], dict[str, matrix.TestOutcome]] = {}
        # What the run collected: nodeid -> [claim ids, device, deselected]
        self.planned: dict[str, list] = {}
        self.selection: list[str] = []  # what narrowed the run, in words (run_selection)
        self.left_out = selection_files.LeftOut()  # the claims of test files not collected
        self.narrowed_by_options = ""  # why every claim may have tests left out, if so
        self.run_info: dict[str, str] = {}  # facts about the whole run (claim_report.run_info)
        self.reported: set[str] = set()  # every test with a report, tagged or not
        self.document: matrix.RunDocument | None = None  # made at the end of the run
        self.written = ""  # where the JSON went, said after the matrix

    # -- collection

    def plan(self, items: list[pytest.Item], deselected: bool) -> None:
        """Record the claim tests among ``items``: collected, or collected and deselected."""
        for item in items:
            ids = claim_ids(item)
            if ids:
                self.planned[item.nodeid] = [ids, item_device(item) or "cpu", deselected]

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error) -> None:
        # pytest-xdist, on the controller: what that worker collected and deselected.
        for nodeid, entry in (getattr(node, "workeroutput", None) or {}).get(PLAN_KEY, {}).items():
            self.planned.setdefault(nodeid, list(entry))

    def cpu_not_selected(self) -> str:
        return (
            "runs on the cpu (it takes no device), which this run does not select "
            f"(devices: {', '.join(self.devices)}): no result"
        )

    def deselection_text(self) -> str:
        words = [w for w in self.selection if not w.startswith("test paths")]
        return f"deselected ({'; '.join(words)})" if words else "deselected"

    @property
    def deselected_claims(self) -> set[str]:
        return {
            claim_id for ids, _, dropped in self.planned.values() if dropped for claim_id in ids
        }

    @property
    def narrowed(self) -> bool:
        return bool(self.narrowed_by_options or self.left_out or self.deselected_claims)

    # -- results

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.add(report)

    def add(self, report: pytest.TestReport) -> None:
        self.reported.add(report.nodeid)
        for key, value in report.user_properties:
            if key == RUN_KEY:
                name, text = value
                self.run_info[name] = text
        props = dict(report.user_properties)
        if CLAIMS_KEY not in props:
            return
        device = props.get(DEVICE_KEY, "cpu")
        for claim_id in props[CLAIMS_KEY]:
            tests = self.results.setdefault((claim_id, device), {})
            outcome = tests.setdefault(report.nodeid, matrix.TestOutcome(report.nodeid))
            _update(outcome, report)

    def outcomes(self, claim_id: str, device: str) -> list[matrix.TestOutcome]:
        """Every test of the claim on ``device`` that the run collected, with its outcome: the
        reported ones, the deselected ones, and those left without a result."""
        found = dict(self.results.get((claim_id, device), {}))
        for nodeid, (ids, where, dropped) in self.planned.items():
            if claim_id in ids and where == device and nodeid not in found:
                outcome = matrix.TestOutcome(nodeid)
                if dropped:
                    outcome.outcome, outcome.reason = (
                        matrix.Outcome.DESELECTED,
                        self.deselection_text(),
                    )
                found[nodeid] = outcome
        return list(found.values())

    def narrowing(self, claim_id: str) -> str:
        """Why tests of the claim may not have been collected at all, "" where they were."""
        if self.left_out.covers(claim_id) or self.narrowed_by_options:
            return "; ".join(self.selection) or self.narrowed_by_options
        return ""

    def collected(self, claim_id: str) -> bool:
        """Whether the run collected any test of the claim, on any device."""
        return any(claim_id in ids for ids, _, _ in self.planned.values()) or any(
            tested == claim_id for tested, _ in self.results
        )

    def cell(self, claim: catalogue.Claim, device: str) -> matrix.Cell:
        if not self.collected(claim.id):
            return matrix.summarize([], self.narrowing(claim.id))
        tests = self.outcomes(claim.id, device)
        found = (
            matrix.summarize(tests, self.narrowing(claim.id))
            if tests
            else matrix.Cell(matrix.NOT_RUN, f"no test of the claim runs on {device}")
        )
        # A claim with no verdict here by its nature: never "holds", but a test of it that
        # failed or broke stays visible.
        none_here = matrix.no_verdict(claim, device)
        if none_here and found.status not in (matrix.FAILS, matrix.ERROR):
            return none_here
        return found

    def claims(self) -> dict[str, matrix.ClaimResult]:
        """Every claim the catalogue tests, in catalogue order, with one cell per device."""
        return {
            claim.id: matrix.ClaimResult(
                claim.id,
                claim.statement,
                claim.section,
                claim.kind,
                {column: self.cell(claim, column) for column in self.columns},
                revision=claim.revision,
            )  # fmt: skip
            for claim in catalogue.tested()
        }

    @property
    def columns(self) -> list[str]:
        """The matrix's columns: the devices, then the tutorial columns."""
        return self.devices + list(self.tutorial_columns)

    def make_document(self, complete: bool = True, exit_status: int | None = None,
                      reason: str = "") -> matrix.RunDocument:  # fmt: skip
        import torch
        import torchvision

        return matrix.RunDocument(
            torch=torch.__version__,
            torchvision=torchvision.__version__,
            python=platform.python_version(),
            platform=platform.platform(),
            devices=[_device(d) for d in self.devices] + list(self.tutorial_columns.values()),
            claims=self.claims(),
            facts=dict(sorted(self.run_info.items())),
            complete=complete,
            exit_status=exit_status,
            incomplete_reason=reason,
            narrowed=self.narrowed,
            selection=list(self.selection),
            finished=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )

    def finish(self, session: pytest.Session, exitstatus: int) -> None:
        """Make the run's document once, when the run ends, complete or not."""
        reason = incomplete_reason(session, exitstatus, len(self.reported))
        self.document = self.make_document(not reason, int(exitstatus), reason)

    def write_json(self) -> None:
        """Write the document to the path asked for, unless that holds a file this run must not
        replace: a complete one, for a run that did not finish, or one of the whole suite, for
        a narrowed run. This run's document then goes beside it, and the message says so."""
        document, path = self.document, Path(self.json_path)
        earlier = _readable(path)
        kept = ""
        if earlier is not None and earlier.complete and not document.complete:
            kept, suffix = f"the run did not finish ({document.incomplete_reason})", "incomplete"
        elif earlier is not None and not earlier.narrowed and document.narrowed:
            kept, suffix = f"a narrowed run ({'; '.join(document.selection)})", "narrowed"
        if kept:
            beside = path.with_name(f"{path.stem}.{suffix}{path.suffix}")
            matrix.dump(document, beside)
            whole = "complete " if earlier.complete else ""
            self.written = (
                f"blitz: {kept}: kept the {whole}matrix of "
                f"{'the whole suite' if not earlier.narrowed else 'an earlier run'} in {path}; "
                f"this run's matrix is in {beside}"
            )
            return
        matrix.dump(document, path)
        state = "complete" if document.complete else "INCOMPLETE"
        if document.narrowed:
            state += ", NARROWED"
        self.written = f"blitz: claims matrix written to {path} ({state})"


def incomplete_reason(session: pytest.Session, exitstatus: int, reported: int) -> str:
    """Why the run did not finish, or "" when every collected test has a result."""
    code = pytest.ExitCode
    if exitstatus == code.INTERRUPTED:
        return f"interrupted (exit status {int(exitstatus)})"
    if exitstatus == code.INTERNAL_ERROR:
        return f"internal error (exit status {int(exitstatus)})"
    if exitstatus not in (code.OK, code.TESTS_FAILED, code.NO_TESTS_COLLECTED):
        return f"pytest exit status {int(exitstatus)}"
    stopped = session.shouldfail or session.shouldstop
    if stopped:
        return f"stopped early: {stopped}"
    collected = getattr(session, "testscollected", 0)
    if reported < collected:
        return f"{collected - reported} of {collected} tests have no result"
    return ""


def _readable(path: Path) -> matrix.RunDocument | None:
    """The claims file at ``path``, or None where there is none that can be read."""
    try:
        return matrix.load(path) if path.exists() else None
    except matrix.MatrixFileError:
        return None


def _update(outcome: matrix.TestOutcome, report: pytest.TestReport) -> None:
    props = report.user_properties
    outcome.drift = matrix.unique(v for k, v in props if k == DRIFT_KEY)
    outcome.notes = matrix.unique(v for k, v in props if k == NOTE_KEY)
    outcome.unchecked = matrix.unique(v for k, v in props if k == UNCHECKED_KEY)
    if report.failed:
        error = next((v for k, v in props if k == ERROR_KEY), None)
        if error is None and report.when != "call":
            # No makereport here (a crashed pytest-xdist worker): blitz could not run the test.
            error = f"in {report.when}: {_failure_message(report)}"
        if error is not None:
            outcome.outcome, outcome.reason = matrix.Outcome.ERRORED, error
        elif outcome.outcome != matrix.Outcome.ERRORED:
            failure = next((v for k, v in props if k == FAILURE_KEY), None)
            outcome.outcome = matrix.Outcome.FAILED
            outcome.reason = failure or _failure_message(report)
    elif report.skipped and outcome.outcome in (matrix.Outcome.PENDING, matrix.Outcome.PASSED):
        absent = next((v for k, v in props if k == ABSENT_KEY), None)
        if absent is not None:
            outcome.outcome, outcome.reason = matrix.Outcome.ABSENT, absent
        else:
            outcome.outcome, outcome.reason = matrix.Outcome.SKIPPED, _skip_reason(report)
    elif report.when == "call" and report.passed and outcome.outcome == matrix.Outcome.PENDING:
        outcome.outcome = matrix.Outcome.PASSED


def first_line(text: str) -> str:
    return " ".join(text.strip().splitlines()[:1])[:300]


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        reason = str(longrepr[2])
    else:
        reason = str(longrepr or "")
    return reason.removeprefix("Skipped: ")


def _failure_message(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    message = getattr(crash, "message", None) or report.longreprtext or "failed"
    return first_line(message)


def _device(device: str) -> matrix.Device:
    reason = devices.unavailable_reason(device)
    info = matrix.Device(type=device, available=reason is None)
    if reason is None:
        info.name = devices.device_name(device)
    else:
        info.reason = reason
    if device == "cuda":
        import torch

        info.cuda = torch.version.cuda
    return info
