"""The blitz pytest plugin: devices, the ``claim`` marker, per-claim results and the claims matrix.

Active only where a run asks for it: the project's root ``conftest.py`` names it
(``pytest_plugins = ["blitz.plugin"]``), or ``-p blitz.plugin``. Installing blitz registers only
``blitz.options`` (the command-line options, torch-free), so other projects' test runs are not
changed: no torch import, no parametrization of their ``device`` arguments.

- Every test that takes a ``device`` argument runs once per device (ids end in ``[cpu]`` /
  ``[cuda]``); a device that is not present is a skipped parameter with the reason. A device
  named explicitly (``--device``, ``$BLITZ_DEVICES``) must be present: otherwise the run stops
  with a usage error before any test.
- ``@pytest.mark.claim("T01", ...)`` ties a test to catalogue ids (``blitz.claims``). A test whose
  claims are all about the host does not run on an accelerator, and one whose claims are all
  about an accelerator does not run on the cpu: such a cell has no verdict.
- The ``claim_report`` fixture lets a test record drift (``claim_report.drift(note)``) or a plain
  finding (``claim_report.note(text)``) for its claims.
- At the end of the run the controller prints the claims matrix (``blitz.matrix``), after
  pytest's short summary, and with ``--claims-json PATH`` writes it as JSON, atomically, marked
  incomplete when the run did not finish. Results travel from pytest-xdist workers inside each
  test report (``user_properties``), so ``-n N`` gives the same matrix as a plain run.
"""

from __future__ import annotations

import os
import platform
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

from blitz import claims as catalogue
from blitz import devices, matrix, options
from blitz.errors import EnvironmentProblem

# Keys of the (name, value) pairs a test carries in ``user_properties``.
CLAIMS_KEY = "blitz.claims"
DEVICE_KEY = "blitz.device"
DRIFT_KEY = "blitz.drift"
NOTE_KEY = "blitz.note"
RUN_KEY = "blitz.run"
ERROR_KEY = "blitz.error"

SLOW_ENV = options.SLOW_ENV
DATA_ROOT_ENV = options.DATA_ROOT_ENV
JSON_OPTION = options.JSON_OPTION


# ----------------------------------------------------------------------------------------------
# Configuration

# The options are blitz.options' (the entry point, loaded in every pytest run where blitz is
# installed); this names it, so that a checkout that is not installed gets them too.
pytest_plugins = ["blitz.options"]

def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "claim(*ids): the catalogue ids (blitz.claims) this test checks"
    )
    config.addinivalue_line(
        "markers", f"slow: a long-running claim, run with --run-slow or ${SLOW_ENV}=1"
    )
    is_worker = hasattr(config, "workerinput")
    selected = select_devices(config.getoption("blitz_device"))
    check_data_root(config.getoption("blitz_cifar10_root"))
    json_path = config.getoption("blitz_claims_json")
    if json_path and not is_worker:
        json_path = writable_json_path(json_path)
    session = ClaimsSession(
        devices=selected,
        is_worker=is_worker,
        run_slow=config.getoption("blitz_run_slow") or os.environ.get(SLOW_ENV) == "1",
        json_path=json_path,
        show_matrix=config.getoption("blitz_matrix"),
    )
    config.stash[SESSION] = session
    # The session object receives every test report itself: on the controller these include
    # the reports that pytest-xdist workers send, with their user_properties.
    config.pluginmanager.register(session, "blitz-claims-session")


def select_devices(option: str | None) -> list[str]:
    """The devices of the run; a device named explicitly and missing is a usage error."""
    try:
        selected = devices.selected_devices(option)
    except ValueError as exc:
        raise pytest.UsageError(f"--device: {exc}") from None
    explicit = devices.parse_selection(option) or devices.parse_selection(
        os.environ.get(devices.ENV_VAR)
    )
    for device in explicit or []:
        reason = devices.unavailable_reason(device)
        if reason is not None:
            source = "--device" if option else f"${devices.ENV_VAR}"
            raise pytest.UsageError(f"{source} names {device}, which is not here: {reason}")
    return selected


def check_data_root(option: str | None) -> None:
    """An explicit CIFAR-10 root must exist: a typo must not look like "no data"."""
    chosen, source = (option, "--cifar10-root") if option else (
        os.environ.get(DATA_ROOT_ENV), f"${DATA_ROOT_ENV}"
    )
    if chosen and not Path(chosen).expanduser().is_dir():
        raise pytest.UsageError(f"{source}: {chosen}: no such directory")


def writable_json_path(name: str) -> str:
    """``name`` made absolute, checked before any test runs: its folder can take the file."""
    path = Path(name).expanduser().absolute()
    if path.is_dir():
        raise pytest.UsageError(f"{JSON_OPTION} {name}: a directory, not a file")
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise pytest.UsageError(
            f"{JSON_OPTION} {name}: cannot write in {folder}: {exc.strerror or exc}"
        ) from None
    return str(path)


# ----------------------------------------------------------------------------------------------
# Devices and markers


def device_params(selected: list[str]) -> list:
    """One ``pytest.param`` per selected device, skipped with the reason where it is missing."""
    params = []
    for device in selected:
        reason = devices.unavailable_reason(device)
        marks = [pytest.mark.skipif(True, reason=reason)] if reason else []
        params.append(pytest.param(device, marks=marks, id=device))
    return params


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "device" in metafunc.fixturenames:
        session = metafunc.config.stash[SESSION]
        metafunc.parametrize("device", device_params(session.devices))


def claim_ids(item: pytest.Item) -> list[str]:
    """The catalogue ids named by every ``claim`` marker on ``item``, in order, once each."""
    ids: list[str] = []
    for marker in item.iter_markers("claim"):
        for claim_id in marker.args:
            if claim_id not in ids:
                ids.append(claim_id)
    return ids


def no_verdict_reason(ids: list[str], device: str) -> str | None:
    """Why a test of these claims has nothing to say on ``device``, when none of them has."""
    known = [catalogue.CLAIMS[i] for i in ids if i in catalogue.CLAIMS]
    cells = [matrix.no_verdict(claim, device) for claim in known]
    if known and all(cells):
        return matrix.unique(cell.note for cell in cells)[0]
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    session = config.stash[SESSION]
    skip_slow = pytest.mark.skip(reason=f"slow: run with --run-slow (or ${SLOW_ENV}=1)")
    for item in items:
        if not session.run_slow and item.get_closest_marker("slow"):
            item.add_marker(skip_slow)
        ids = claim_ids(item)
        for unknown in [claim_id for claim_id in ids if claim_id not in catalogue.CLAIMS]:
            item.warn(pytest.PytestWarning(f"unknown claim id {unknown!r}: not in blitz.claims"))
        if not ids:
            continue
        callspec = getattr(item, "callspec", None)
        device = callspec.params.get("device") if callspec else None
        if device is not None:
            reason = no_verdict_reason(ids, device)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))
        item.user_properties.append((CLAIMS_KEY, ids))
        item.user_properties.append((DEVICE_KEY, device or "cpu"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """A test that stops on an ``EnvironmentProblem`` (a damaged data copy), in any phase, or
    that breaks outside its call phase (a fixture), reports an error: what broke, not a
    finding about torch."""
    report = yield
    excinfo = call.excinfo
    if excinfo is None or not report.failed or CLAIMS_KEY not in dict(report.user_properties):
        return report
    if excinfo.errisinstance(EnvironmentProblem):
        report.user_properties.append((ERROR_KEY, _first_line(str(excinfo.value))))
    elif call.when != "call":
        message = _first_line(excinfo.exconly())
        report.user_properties.append((ERROR_KEY, f"in {call.when}: {message}"))
    return report


class ClaimReport:
    """What a test says about its claims beyond pass/fail (see ``claim_report``)."""

    def __init__(self, item: pytest.Item) -> None:
        self._item = item

    def drift(self, note: str) -> None:
        """The claim is outdated or version-dependent here; ``note`` says how, with versions."""
        self._item.user_properties.append((DRIFT_KEY, note))

    def note(self, text: str) -> None:
        """A finding to show beside the result (a measured accuracy, which data copy ran)."""
        self._item.user_properties.append((NOTE_KEY, text))

    def run_info(self, key: str, value: str) -> None:
        """A fact about the whole run (which CIFAR-10 copy it used), shown above the matrix."""
        self._item.user_properties.append((RUN_KEY, (key, value)))


@pytest.fixture
def claim_report(request: pytest.FixtureRequest) -> ClaimReport:
    """Record drift or notes for the claims of the requesting test."""
    return ClaimReport(request.node)


# ----------------------------------------------------------------------------------------------
# Gathering results


class ClaimsSession:
    """The run's claims: every test report's outcome by claim and device, and the matrix."""

    def __init__(
        self,
        devices: list[str],
        is_worker: bool = False,
        run_slow: bool = False,
        json_path: str | None = None,
        show_matrix: bool = True,
    ) -> None:
        self.devices = devices
        self.is_worker = is_worker
        self.run_slow = run_slow
        self.json_path = json_path
        self.show_matrix = show_matrix
        # (claim id, device) -> {nodeid: TestOutcome}
        self.results: dict[tuple[str, str], dict[str, matrix.TestOutcome]] = {}
        self.run_info: dict[str, str] = {}  # facts about the whole run (claim_report.run_info)
        self.reported: set[str] = set()  # every test with a report, tagged or not
        self.document: matrix.RunDocument | None = None  # made at the end of the run
        self.written = ""  # where the JSON went, said after the matrix

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

    def cell(self, claim: catalogue.Claim, device: str) -> matrix.Cell:
        tests = self.results.get((claim.id, device))
        found = matrix.summarize(list(tests.values())) if tests else None
        # A claim with no verdict here by its nature: never "holds", but a test of it that
        # failed or broke stays visible.
        none_here = matrix.no_verdict(claim, device)
        if none_here and (found is None or found.status not in (matrix.FAILS, matrix.ERROR)):
            return none_here
        return found or matrix.Cell(matrix.SKIPPED, f"no test ran on {device} in this run")

    def claims(self) -> dict[str, matrix.ClaimResult]:
        """The run's claims, in catalogue order, with one cell per device."""
        ran = {claim_id for claim_id, _ in self.results}
        return {
            claim.id: matrix.ClaimResult(
                claim.id, claim.statement, claim.section, claim.kind,
                {device: self.cell(claim, device) for device in self.devices},
                revision=claim.revision,
            )  # fmt: skip
            for claim in catalogue.CLAIMS.values()
            if claim.id in ran
        }

    def make_document(self, complete: bool = True, exit_status: int | None = None,
                      reason: str = "") -> matrix.RunDocument:  # fmt: skip
        import torch
        import torchvision

        return matrix.RunDocument(
            torch=torch.__version__,
            torchvision=torchvision.__version__,
            python=platform.python_version(),
            platform=platform.platform(),
            devices=[_device(d) for d in self.devices],
            claims=self.claims(),
            facts=dict(sorted(self.run_info.items())),
            complete=complete,
            exit_status=exit_status,
            incomplete_reason=reason,
            finished=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )

    def finish(self, session: pytest.Session, exitstatus: int) -> None:
        """Make the run's document once, when the run ends, complete or not."""
        reason = incomplete_reason(session, exitstatus, len(self.reported))
        self.document = self.make_document(not reason, int(exitstatus), reason)

    def write_json(self) -> None:
        """Write the document; a complete earlier file is never replaced by an incomplete run's
        results, which go beside it instead."""
        document, path = self.document, Path(self.json_path)
        if not document.complete and _is_complete_file(path):
            partial = path.with_name(f"{path.stem}.incomplete{path.suffix}")
            matrix.dump(document, partial)
            message = (
                f"blitz: the run did not finish ({document.incomplete_reason}): kept the complete "
                f"{path}; this run's partial matrix is in {partial}"
            )
        else:
            matrix.dump(document, path)
            state = "complete" if document.complete else "INCOMPLETE"
            message = f"blitz: claims matrix written to {path} ({state})"
        self.written = message


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


def _is_complete_file(path: Path) -> bool:
    try:
        return matrix.load(path).complete
    except matrix.MatrixFileError:
        return False


def _update(outcome: matrix.TestOutcome, report: pytest.TestReport) -> None:
    props = report.user_properties
    outcome.drift = matrix.unique(v for k, v in props if k == DRIFT_KEY)
    outcome.notes = matrix.unique(v for k, v in props if k == NOTE_KEY)
    if report.failed:
        error = next((v for k, v in props if k == ERROR_KEY), None)
        if error is None and report.when != "call":
            # No makereport here (a crashed pytest-xdist worker): blitz could not run the test.
            error = f"in {report.when}: {_failure_message(report)}"
        if error is not None:
            outcome.outcome, outcome.reason = matrix.ERRORED, error
        elif outcome.outcome != matrix.ERRORED:
            outcome.outcome, outcome.reason = matrix.FAILED, _failure_message(report)
    elif report.skipped and outcome.outcome in (matrix.PENDING, matrix.PASSED):
        outcome.outcome, outcome.reason = matrix.SKIPPED, _skip_reason(report)
    elif report.when == "call" and report.passed and outcome.outcome == matrix.PENDING:
        outcome.outcome = matrix.PASSED


def _first_line(text: str) -> str:
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
    return _first_line(message)


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


# ----------------------------------------------------------------------------------------------
# Hooks: each a line or two into the session object

# The run's one ClaimsSession, made in pytest_configure.
SESSION: pytest.StashKey[ClaimsSession] = pytest.StashKey()


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = session.config.stash.get(SESSION, None)
    if state is not None and not state.is_worker:
        state.finish(session, exitstatus)
        if state.json_path:
            state.write_json()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter, config: pytest.Config):
    # Outermost wrapper: the matrix comes after pytest's short summary (-r), the last thing
    # on the screen before the final counts.
    result = yield
    state = config.stash.get(SESSION, None)
    if state is None or state.is_worker:
        return result
    if state.show_matrix and state.results:
        document = state.document or state.make_document()
        terminalreporter.write_sep("=", "blitz claims matrix")
        for line in matrix.render(document):
            terminalreporter.write_line(line)
    if state.written:
        terminalreporter.write_line(state.written)
    return result
