"""The blitz pytest plugin: devices, the ``claim`` marker, per-claim results and the claims matrix.

Active only where a run asks for it: the project's root ``conftest.py`` names it
(``pytest_plugins = ["blitz.plugin"]``), or ``-p blitz.plugin``. Installing blitz registers only
``blitz.options`` (the prefixed command-line options, torch-free), so other projects' test runs
are not changed: no torch import, no parametrization of their ``device`` arguments, no option
name of theirs taken. Where this plugin is active it adds the short names (``--device``, ...).

- Every test that takes a ``device`` argument runs once per device (ids end in ``[cpu]`` /
  ``[cuda]``); a device that is not present is a skipped parameter with the reason. A device
  named explicitly (``--device``, ``$BLITZ_DEVICES``) must be present: otherwise the run stops
  with a usage error before any test. A claim test without a ``device`` argument runs on the
  cpu: where the run does not select the cpu, it is skipped, saying so.
- ``@pytest.mark.claim("T01", ...)`` ties a test to catalogue ids (``blitz.claims``). A test whose
  claims are all about the host does not run on an accelerator, and one whose claims are all
  about an accelerator does not run on the cpu: such a cell has no verdict.
- The ``claim_report`` fixture lets a test record drift (``claim_report.drift(note)``) or a plain
  finding (``claim_report.note(text)``) for its claims.
- The plugin knows every test of every claim that the run collected, the deselected ones too
  (``-k``, ``-m``, ``--deselect``, ``--lf``), and, from their source (``blitz.selection``), the
  claims of the test files that a run narrowed by test paths or ``--ignore`` left out. A cell
  reads ``holds`` only when every test of its claim on that device ran and passed.
- At the end of the run the controller prints the claims matrix (``blitz.matrix``), after
  pytest's short summary, fitted to the terminal, and with ``--claims-json PATH`` writes it as
  JSON, atomically, marked incomplete when the run did not finish and narrowed when it ran part
  of the suite; neither replaces a complete file of the whole suite. Results travel from
  pytest-xdist workers inside each test report (``user_properties``), and what each worker
  collected and deselected in its ``workeroutput``, so ``-n N`` gives the same matrix as a plain
  run.
"""

from __future__ import annotations

import glob
import os
import tempfile
from pathlib import Path

import pytest

from blitz import claims as catalogue
from blitz import devices, matrix, options, settings
from blitz import selection as selection_files
from blitz.errors import EnvironmentProblem
from blitz.session import (
    CLAIMS_KEY,
    DEVICE_KEY,
    DRIFT_KEY,
    ERROR_KEY,
    NOTE_KEY,
    PLAN_KEY,
    RUN_KEY,
    ClaimsSession,
    claim_ids,
    first_line,
    item_device,
)

SLOW_ENV = settings.SLOW_ENV
DATA_ROOT_ENV = settings.DATA_ROOT_ENV
JSON_OPTION = options.JSON_OPTION


# ----------------------------------------------------------------------------------------------
# Configuration

# The prefixed options are blitz.options' (the entry point, loaded in every pytest run where
# blitz is installed); this names it, so that a checkout that is not installed gets them too.
pytest_plugins = ["blitz.options"]


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add_short_names(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "claim(*ids): the catalogue ids (blitz.claims) this test checks"
    )
    config.addinivalue_line(
        "markers", f"slow: a long-running test, run with --run-slow or ${SLOW_ENV}=1"
    )
    config.addinivalue_line(
        "markers",
        "tutorial: a tutorial column's claim (--tutorial-source): -m tutorial runs them alone",
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
    if not is_worker:
        session.selection, session.left_out = run_selection(config)
        session.narrowed_by_options = narrowed_by_options(config)
    config.stash[SESSION] = session
    if config.getoption("blitz_tutorial_source") or config.getoption("blitz_tutorial_ref"):
        from blitz.tutorial_column import TutorialColumns

        columns = TutorialColumns.from_config(config, full=session.run_slow)
        config.stash[TUTORIAL_COLUMNS] = columns
        session.tutorial_columns = {name: columns.device(name) for name in columns.columns}
    # The session object receives every test report itself: on the controller these include
    # the reports that pytest-xdist workers send, with their user_properties.
    config.pluginmanager.register(session, "blitz-claims-session")


def select_devices(option: str | None) -> list[str]:
    """The devices of the run (``blitz.devices.selected_devices``); a device named explicitly
    that is unknown or missing is a usage error, before any test."""
    try:
        return devices.selected_devices(option)
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None


def check_data_root(option: str | None) -> None:
    """An explicit CIFAR-10 root must exist: a typo must not look like "no data"."""
    chosen, source = (
        (option, "--cifar10-root")
        if option
        else (os.environ.get(DATA_ROOT_ENV), f"${DATA_ROOT_ENV}")
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
# The run's selection


def run_selection(config: pytest.Config) -> tuple[list[str], selection_files.LeftOut]:
    """What narrowed the run, in words (``-k EXPR``, test paths, ...), and the claims of the test
    files it left out without collecting them (test paths, node ids, ``--ignore``)."""
    option = config.option
    words = []
    if getattr(option, "keyword", ""):
        words.append(f"-k {option.keyword}")
    if getattr(option, "markexpr", ""):
        words.append(f"-m {option.markexpr}")
    words += [f"--deselect {d}" for d in getattr(option, "deselect", None) or []]
    ignored = [str(p) for p in getattr(option, "ignore", None) or []]
    globs = [str(p) for p in getattr(option, "ignore_glob", None) or []]
    words += [f"--ignore {p}" for p in ignored] + [f"--ignore-glob {p}" for p in globs]
    if getattr(option, "lf", False):
        words.append("--lf")
    if getattr(option, "stepwise", False) or getattr(option, "stepwise_skip", False):
        words.append("--sw")
    if getattr(option, "collectonly", False):
        words.append("--collect-only")
    explicit = config.args_source == pytest.Config.ArgsSource.ARGS
    if explicit:
        words.append("test paths: " + " ".join(config.args))
    if not (explicit or ignored or globs):
        return words, selection_files.LeftOut()
    here = config.invocation_params.dir
    testpaths = [
        Path(found)
        for pattern in config.getini("testpaths")
        for found in sorted(glob.glob(str(config.rootpath / pattern)))
        or [config.rootpath / pattern]
    ]
    suite_roots = [p for p in testpaths if p.exists()] or [config.rootpath]
    suite = selection_files.suite_files(
        suite_roots, config.getini("python_files"), config.getini("norecursedirs")
    )
    paths = [here / arg.split("::")[0] for arg in config.args] if explicit else suite_roots
    partly = [here / arg.split("::")[0] for arg in config.args if "::" in arg] if explicit else []
    dropped = [here / p for p in ignored]
    dropped += [Path(p) for pattern in globs for p in glob.glob(str(here / pattern))]
    return words, selection_files.left_out(suite, paths, partly, dropped)


def narrowed_by_options(config: pytest.Config) -> str:
    """Why the run, as its options stand, may leave out tests of any claim ("" if it does not):
    ``--lf`` with failures on record (it skips whole files), ``--collect-only``."""
    cache = getattr(config, "cache", None)
    if getattr(config.option, "lf", False) and cache is not None:
        if cache.get("cache/lastfailed", {}):
            return "--lf"
    if getattr(config.option, "collectonly", False):
        return "--collect-only"
    return ""


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


def no_verdict_reason(ids: list[str], device: str) -> str | None:
    """Why a test of these claims has nothing to say on ``device``, when none of them has."""
    known = [catalogue.CLAIMS[i] for i in ids if i in catalogue.CLAIMS]
    cells = [matrix.no_verdict(claim, device) for claim in known]
    if known and all(cells):
        return matrix.unique(cell.note for cell in cells)[0]
    return None


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    columns = config.stash.get(TUTORIAL_COLUMNS, None)
    if columns is not None:
        from blitz.tutorial_column import make_items

        items.extend(make_items(session, columns))
    state = config.stash[SESSION]
    skip_slow = pytest.mark.skip(reason=f"slow: run with --run-slow (or ${SLOW_ENV}=1)")
    for item in items:
        if not state.run_slow and item.get_closest_marker("slow"):
            item.add_marker(skip_slow)
        ids = claim_ids(item)
        for unknown in [claim_id for claim_id in ids if claim_id not in catalogue.CLAIMS]:
            item.warn(pytest.PytestWarning(f"unknown claim id {unknown!r}: not in blitz.claims"))
        if not ids:
            continue
        device = item_device(item)
        if device is None and "cpu" not in state.devices:
            # It runs on the host: its result would be a cpu result, and cpu has no column.
            item.add_marker(pytest.mark.skip(reason=state.cpu_not_selected()))
        elif device is not None:
            reason = no_verdict_reason(ids, device)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))
        item.user_properties.append((CLAIMS_KEY, ids))
        item.user_properties.append((DEVICE_KEY, device or "cpu"))


def pytest_deselected(items: list[pytest.Item]) -> None:
    if items:
        state = items[0].config.stash.get(SESSION, None)
        if state is not None:
            state.plan(items, deselected=True)


def pytest_collection_finish(session: pytest.Session) -> None:
    state = session.config.stash.get(SESSION, None)
    if state is None:
        return
    state.plan(session.items, deselected=False)
    if state.is_worker:  # sent to the controller when the worker finishes
        session.config.workeroutput[PLAN_KEY] = state.planned
    columns = session.config.stash.get(TUTORIAL_COLUMNS, None)
    if columns is not None and not state.is_worker and not session.config.option.collectonly:
        # Under pytest-xdist each worker runs the scripts its own items need, when they run.
        if getattr(session.config.option, "numprocesses", None) in (None, 0):
            columns.start(session.items)


def pytest_unconfigure(config: pytest.Config) -> None:
    columns = config.stash.get(TUTORIAL_COLUMNS, None)
    if columns is not None:
        columns.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """A test that stops on an ``EnvironmentProblem`` (a damaged data copy), in any phase, or
    that breaks outside its call phase (a fixture), reports an error: what broke, not a
    finding about torch. An ``EnvironmentProblem`` is one line, without a traceback: the
    message says what is broken and how to fix it."""
    report = yield
    excinfo = call.excinfo
    if excinfo is None or not report.failed or CLAIMS_KEY not in dict(report.user_properties):
        return report
    if excinfo.errisinstance(EnvironmentProblem):
        message = first_line(str(excinfo.value))
        report.user_properties.append((ERROR_KEY, message))
        report.longrepr = f"{excinfo.typename}: {message}"
    elif call.when != "call":
        message = first_line(excinfo.exconly())
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
# Hooks: each a line or two into the session object

# The run's one ClaimsSession, made in pytest_configure.
SESSION: pytest.StashKey[ClaimsSession] = pytest.StashKey()
# The run's tutorial columns (blitz.tutorial_column), where it has any.
TUTORIAL_COLUMNS: pytest.StashKey = pytest.StashKey()


def pytest_report_header(config: pytest.Config) -> list[str]:
    columns = config.stash.get(TUTORIAL_COLUMNS, None)
    if columns is None:
        return []
    return [f"blitz: {name}: {columns.describe(name)}" for name in columns.columns]


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
    if state.show_matrix and (state.results or state.planned):
        document = state.document or state.make_document()
        terminalreporter.write_sep("=", "blitz claims matrix")
        for line in matrix.render(document, width=config.get_terminal_writer().fullwidth):
            terminalreporter.write_line(line)
    if state.written:
        terminalreporter.write_line(state.written)
    return result
