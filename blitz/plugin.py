"""The blitz pytest plugin: devices, the ``claim`` marker, per-claim results and the claims matrix.

Loaded from the project's root ``conftest.py`` (``pytest_plugins = ["blitz.plugin"]``).

- Every test that takes a ``device`` argument runs once per device (ids end in ``[cpu]`` /
  ``[cuda]``); a device that is not present is a skipped parameter with the reason.
- ``@pytest.mark.claim("T01", ...)`` ties a test to catalogue ids (``blitz.claims``).
- The ``claim_report`` fixture lets a test record drift (``claim_report.drift(note)``) or a plain
  finding (``claim_report.note(text)``) for its claims.
- At the end of the run the controller prints the claims matrix (claim x device) and, with
  ``--claims-json PATH``, writes it as JSON. Results travel from pytest-xdist workers inside
  each test report (``user_properties``), so ``-n N`` gives the same matrix as a plain run.
"""

from __future__ import annotations

import json
import os
import platform
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch
import torchvision

from blitz import claims as catalogue
from blitz import devices

# Keys of the (name, value) pairs a test carries in ``user_properties``.
CLAIMS_KEY = "blitz.claims"
DEVICE_KEY = "blitz.device"
DRIFT_KEY = "blitz.drift"
NOTE_KEY = "blitz.note"
RUN_KEY = "blitz.run"

STATUS_ORDER = ("fails", "drift", "holds", "skipped")
SLOW_ENV = "BLITZ_RUN_SLOW"
# The run's one ClaimsSession, made in pytest_configure.
SESSION: pytest.StashKey["ClaimsSession"] = pytest.StashKey()


# ----------------------------------------------------------------------------------------------
# Options and configuration


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("blitz", "blitz: claims of the PyTorch 60 Minute Blitz")
    group.addoption(
        "--device",
        action="store",
        dest="blitz_device",
        metavar="DEVICES",
        default=None,
        help=(
            "Comma-separated devices to run the device-parametrized claims on, e.g. 'cpu' or "
            f"'cpu,cuda'. Also read from ${devices.ENV_VAR}. Default: every known device "
            "(cpu, cuda, and any other accelerator present); missing ones show as skipped."
        ),
    )
    group.addoption(
        "--claims-json",
        action="store",
        dest="blitz_claims_json",
        metavar="PATH",
        default=None,
        help="Write the claims matrix as JSON to PATH. Default: not written.",
    )
    group.addoption(
        "--run-slow",
        action="store_true",
        dest="blitz_run_slow",
        default=False,
        help=f"Run the claims marked 'slow' too (or set ${SLOW_ENV}=1). Default: skipped.",
    )
    group.addoption(
        "--cifar10-root",
        action="store",
        dest="blitz_cifar10_root",
        metavar="DIR",
        default=None,
        help=(
            "Directory holding CIFAR-10 (torchvision's files or the offline train.npz/test.npz). "
            "Also read from $BLITZ_DATA_ROOT. Default: look in the usual places."
        ),
    )
    group.addoption(
        "--no-download",
        action="store_true",
        dest="blitz_no_download",
        default=False,
        help="Never try to download CIFAR-10. Default: download when no copy is found.",
    )
    group.addoption(
        "--no-claims-matrix",
        action="store_false",
        dest="blitz_matrix",
        default=True,
        help="Do not print the claims matrix at the end of the run. Default: printed.",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "claim(*ids): the catalogue ids (blitz.claims) this test checks"
    )
    config.addinivalue_line(
        "markers", f"slow: a long-running claim, run with --run-slow or ${SLOW_ENV}=1"
    )
    try:
        selected = devices.selected_devices(config.getoption("blitz_device"))
    except ValueError as exc:
        raise pytest.UsageError(f"--device: {exc}") from None
    session = ClaimsSession(
        devices=selected,
        is_worker=hasattr(config, "workerinput"),
        run_slow=config.getoption("blitz_run_slow") or os.environ.get(SLOW_ENV) == "1",
        json_path=config.getoption("blitz_claims_json"),
        show_matrix=config.getoption("blitz_matrix"),
    )
    config.stash[SESSION] = session
    # The session object receives every test report itself: on the controller these include
    # the reports that pytest-xdist workers send, with their user_properties.
    config.pluginmanager.register(session, "blitz-claims-session")


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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    session = config.stash[SESSION]
    skip_slow = pytest.mark.skip(
        reason=f"slow: run with --run-slow (or ${SLOW_ENV}=1)"
    )
    for item in items:
        if not session.run_slow and item.get_closest_marker("slow"):
            item.add_marker(skip_slow)
        ids = claim_ids(item)
        for unknown in [claim_id for claim_id in ids if claim_id not in catalogue.CLAIMS]:
            item.warn(pytest.PytestWarning(f"unknown claim id {unknown!r}: not in blitz.claims"))
        if not ids:
            continue
        callspec = getattr(item, "callspec", None)
        device = callspec.params.get("device", "cpu") if callspec else "cpu"
        item.user_properties.append((CLAIMS_KEY, ids))
        item.user_properties.append((DEVICE_KEY, device))


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


@dataclass
class TestResult:
    nodeid: str
    outcome: str = "passed"  # passed | failed | skipped
    reason: str = ""
    drift: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class ClaimsSession:
    devices: list[str]
    is_worker: bool = False
    run_slow: bool = False
    json_path: str | None = None
    show_matrix: bool = True
    # (claim id, device) -> {nodeid: TestResult}
    results: dict[tuple[str, str], dict[str, TestResult]] = field(default_factory=dict)
    # facts about the whole run that tests reported (claim_report.run_info)
    run_info: dict[str, str] = field(default_factory=dict)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.add(report)

    def add(self, report: pytest.TestReport) -> None:
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
            result = tests.setdefault(report.nodeid, TestResult(report.nodeid))
            _update(result, report)

    def cell(self, claim: catalogue.Claim, device: str) -> dict:
        tests = self.results.get((claim.id, device))
        if not tests:
            if claim.cpu_only and device != "cpu":
                return _cell("skipped", f"CPU-only claim (about the host): no {device} result", [])
            return _cell("skipped", f"no test ran on {device} in this run", [])
        return summarize(list(tests.values()))

    def matrix(self) -> dict:
        """The run's claims, in catalogue order, with one result per device."""
        ran = {claim_id for claim_id, _ in self.results}
        out = {}
        for claim in catalogue.CLAIMS.values():
            if claim.id not in ran:
                continue
            out[claim.id] = {
                "statement": claim.statement,
                "section": claim.section,
                "kind": claim.kind,
                "results": {device: self.cell(claim, device) for device in self.devices},
            }
        return out

    def document(self) -> dict:
        return {
            "torch": torch.__version__,
            "torchvision": torchvision.__version__,
            "python": platform.python_version(),
            "platform": platform.platform(),
            "devices": [_device_info(d) for d in self.devices],
            "run": dict(sorted(self.run_info.items())),
            "claims": self.matrix(),
        }


def _update(result: TestResult, report: pytest.TestReport) -> None:
    props = report.user_properties
    result.drift = _unique(v for k, v in props if k == DRIFT_KEY)
    result.notes = _unique(v for k, v in props if k == NOTE_KEY)
    if report.failed:
        result.outcome = "failed"
        result.reason = _failure_message(report)
    elif report.skipped and result.outcome != "failed":
        result.outcome = "skipped"
        result.reason = _skip_reason(report)


def _unique(values) -> list[str]:
    out: list[str] = []
    for value in values:
        if value not in out:
            out.append(value)
    return out


def _cell(status: str, note: str, tests: list[str]) -> dict:
    return {"status": status, "note": note, "tests": tests}


def summarize(tests: list[TestResult]) -> dict:
    """One claim's status on one device from the outcomes of its tests."""
    nodeids = sorted(t.nodeid for t in tests)
    failed = [t for t in tests if t.outcome == "failed"]
    passed = [t for t in tests if t.outcome == "passed"]
    if failed:
        return _cell("fails", "; ".join(_unique(t.reason for t in failed)), nodeids)
    drift = _unique(n for t in passed for n in t.drift)
    notes = _unique(n for t in passed for n in t.notes)
    if drift:
        return _cell("drift", "; ".join(drift + notes), nodeids)
    if passed:
        return _cell("holds", "; ".join(notes), nodeids)
    return _cell("skipped", "; ".join(_unique(t.reason for t in tests)), nodeids)


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
    phase = "" if report.when == "call" else f"error in {report.when}: "
    return phase + " ".join(message.strip().splitlines()[:1])[:300]


def _device_info(device: str) -> dict:
    reason = devices.unavailable_reason(device)
    info = {"type": device, "available": reason is None}
    if reason is None:
        info["name"] = devices.device_name(device)
    else:
        info["reason"] = reason
    if device == "cuda":
        info["cuda"] = torch.version.cuda
    return info


# ----------------------------------------------------------------------------------------------
# Hooks: each a line or two into the session object


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    session = config.stash[SESSION]
    if session.is_worker or not session.show_matrix or not session.results:
        return
    terminalreporter.write_sep("=", "blitz claims matrix")
    for line in render_matrix(session.document()):
        terminalreporter.write_line(line)


def pytest_sessionfinish(session: pytest.Session) -> None:
    state = session.config.stash[SESSION]
    if state.is_worker or not state.json_path:
        return
    path = Path(state.json_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state.document(), indent=2) + "\n", encoding="utf-8")


# ----------------------------------------------------------------------------------------------
# The matrix as text

CELL_WIDTH = 44
STATEMENT_WIDTH = 46


def cell_text(cell: dict) -> str:
    """``holds``, ``FAILS: <why>``, ``drift: <note>``, ``skipped: <reason>``."""
    label = "FAILS" if cell["status"] == "fails" else cell["status"]
    if cell["status"] == "holds" or not cell["note"]:
        return label
    return f"{label}: {cell['note']}"


def render_matrix(document: dict) -> list[str]:
    """The claims matrix as lines of text: a row per claim, a column per device.

    A cell longer than its column is cut and numbered, and a note beside a claim that holds
    (a measured accuracy, the dtypes accepted) is numbered too; the full texts follow the table.
    """
    device_names = [d["type"] for d in document["devices"]]
    claims = document["claims"]
    footnotes: list[str] = []

    def footnote(text: str) -> str:
        if text not in footnotes:
            footnotes.append(text)
        return f" [{footnotes.index(text) + 1}]"

    def fit(cell: dict) -> str:
        text = cell_text(cell)
        if cell["status"] == "holds" and cell["note"]:
            return text + footnote(cell["note"])  # a finding, beside a claim that holds
        if len(text) <= CELL_WIDTH:
            return text
        mark = footnote(text)
        return text[: CELL_WIDTH - len(mark) - 1] + "…" + mark

    header = ["id ", "claim".ljust(STATEMENT_WIDTH)] + [d.ljust(CELL_WIDTH) for d in device_names]
    lines = [
        f"torch {document['torch']}, torchvision {document['torchvision']}, "
        f"python {document['python']}, {document['platform']}",
        "devices: " + ", ".join(_describe_device(d) for d in document["devices"]),
        *(f"{key}: {value}" for key, value in document.get("run", {}).items()),
        "",
        "  ".join(header).rstrip(),
    ]
    counts = dict.fromkeys(STATUS_ORDER, 0)
    for claim_id, entry in claims.items():
        statement = textwrap.shorten(entry["statement"], STATEMENT_WIDTH, placeholder="…")
        row = [claim_id, statement.ljust(STATEMENT_WIDTH)]
        for device in device_names:
            cell = entry["results"][device]
            counts[cell["status"]] += 1
            row.append(fit(cell).ljust(CELL_WIDTH))
        lines.append("  ".join(row).rstrip())
    lines.append("")
    lines.extend(f"[{i}] {text}" for i, text in enumerate(footnotes, 1))
    missing = len(catalogue.tested()) - len(claims)
    total = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
    lines.append(
        f"{len(claims)} claims x {len(device_names)} devices: {total}"
        + (f"; {missing} catalogue claims not in this run" if missing else "")
    )
    return lines


def _describe_device(info: dict) -> str:
    if info["available"]:
        return f"{info['type']} ({info['name']})"
    return f"{info['type']} (unavailable)"
