"""Fixtures of the tests of blitz itself (tests/harness): pytester projects that the claims
plugin runs, small CIFAR-10 copies, the claim probes' run of the fixture checkouts; and the
``harness`` marker on every test here, so that a run that checks claims alone (each tox env) can
leave them out with ``-m "not harness"``; the ``slow`` marker on the tests that read the probes'
run of the fixture checkouts."""

from __future__ import annotations

import contextlib
import json
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from blitz import data

HERE = Path(__file__).parent
TUTORIAL_DATA = HERE / "data" / "tutorial_source"
# cat ship ship plane (the tutorial's ground truth), then every other class once
TUTORIAL_TEST_LABELS = np.array([3, 8, 8, 0, 1, 2, 4, 5, 6, 7, 9, 9])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.harness)
        # The probes' end-to-end run of the fixture checkouts: nine scripts, each a process
        # importing torch, about a minute on 2 cores. Slow: CI runs them (--run-slow).
        if "tutorial_checkouts" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def small_sizes(monkeypatch):
    """Small offline copies (``support.write_copy``): 24 training and 12 test images instead of
    50,000 and 10,000."""
    from support import SMALL

    monkeypatch.setattr(data.common, "SPLIT_SIZES", dict(SMALL))


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """pytest's ``pytester``, whose in-process runs pass a Ctrl-C on to this run.

    A run of pytest inside a test catches the KeyboardInterrupt of a Ctrl-C that arrives while
    it runs, ends itself as interrupted and returns: this run would go on as if nothing had
    happened, and write its matrix as complete. Here a SIGINT during an inner run is recorded,
    and raised again in this run once the inner one has returned. A test that interrupts the
    inner run on purpose raises KeyboardInterrupt itself, which is not a SIGINT.
    """
    inline_run = pytester.inline_run

    def interruptible_inline_run(*args, **kwargs):
        received = []

        def on_sigint(signum, frame):
            received.append(signum)
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGINT, on_sigint)
        try:
            return inline_run(*args, **kwargs)
        finally:
            signal.signal(signal.SIGINT, previous)
            if received:
                raise KeyboardInterrupt("Ctrl-C during an inner pytest run")

    monkeypatch.setattr(pytester, "inline_run", interruptible_inline_run)
    return pytester


@pytest.fixture
def holds_and_drift_suite(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester project with the blitz plugin and two claims: T01 holds, N10 drifts."""
    pytester.makeconftest('pytest_plugins = ["blitz.plugin"]')
    pytester.makepyfile(
        test_suite="""
        import pytest

        @pytest.mark.claim("T01")
        def test_holds(device):
            pass

        @pytest.mark.claim("N10")
        def test_drifts(claim_report):
            claim_report.drift("the tutorial prints None; this torch too")
        """
    )
    return pytester


# ----------------------------------------------------------------------------------------------
# The claim probes' run of the fixture checkouts


def _session_lock(path: Path):
    """A lock that the session's xdist workers share (none where filelock is not installed:
    each worker then runs the checkouts itself)."""
    try:
        from filelock import FileLock
    except ImportError:  # pragma: no cover - tox, a test dependency, requires filelock
        return contextlib.nullcontext()
    return FileLock(str(path))


def _run_checkouts(root: Path) -> dict:
    """Every script of ``checkouts/current`` and ``checkouts/old``, each in its own child, side
    by side, with the claim probes, on a tiny CIFAR-10 copy (24 + 12 images) whose first four
    test labels are the tutorial's, capped as a quick run is (16 training, 12 test images)."""
    from support import write_split

    from blitz.tutorial_source.checkout import SCRIPTS, locate
    from blitz.tutorial_source.probes.running import CLAIM_PROBES
    from blitz.tutorial_source.runner import RunOptions, run_source

    cifar10 = root / "cifar10"
    cifar10.mkdir(parents=True, exist_ok=True)
    write_split(cifar10, "train")
    write_split(cifar10, "test", labels=TUTORIAL_TEST_LABELS)
    options = RunOptions(
        probes=(CLAIM_PROBES, f"{TUTORIAL_DATA / 'tiny_cifar10.py'}:SmallCopy"),
        cifar10_root=str(cifar10),
        cifar10_train_subset=16,  # 4 batches of 4: a quick run
        cifar10_test_subset=12,
        env={"OMP_NUM_THREADS": "1"},  # the scripts run side by side
        timeout_s=300,
    )
    jobs = [(checkout, name) for checkout in ("current", "old") for name in SCRIPTS]
    # a few more children than cores (each mostly imports torch): not all ten, each ~1 GB
    with ThreadPoolExecutor(max_workers=min(len(jobs), 2 * (os.cpu_count() or 1))) as pool:
        done = pool.map(
            lambda job: run_source(
                locate(str(TUTORIAL_DATA / "checkouts" / job[0])), options, names=[job[1]]
            ),
            jobs,
        )
        results = list(done)
    merged: dict = {}
    for (checkout, name), run in zip(jobs, results):
        if checkout in merged:
            merged[checkout].scripts[name] = run.scripts[name]
        else:
            merged[checkout] = run
    return merged


@pytest.fixture
def raised():
    """``raised(claim, script, source, kind, message, earlier=())``: the claim's finding where
    the cell ``source`` that states it raised ``kind: message`` after the cells ``earlier``
    raised (their ``(kind, message)``), as the child makes it (``running.cell_error_finding``),
    without a child process."""
    from types import SimpleNamespace

    from blitz.tutorial_source.probes import load_all
    from blitz.tutorial_source.probes.base import Seen
    from blitz.tutorial_source.probes.running import cell_error_finding
    from blitz.tutorial_source.result import CellError

    def cell(kind: str, message: str) -> SimpleNamespace:
        return SimpleNamespace(error=CellError(kind, message, 1, 1), network=[], lineno=1)

    def finding(claim, script, source, kind, message, earlier=()):
        (probe,) = load_all().for_claim(claim)
        seen = Seen(script, source, 1, namespace={}, script_text=source)
        before = [cell(*error) for error in earlier]
        return cell_error_finding(probe, cell(kind, message), 1, before, seen)

    return finding


@pytest.fixture(scope="session")
def tutorial_checkouts(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """``data/tutorial_source/checkouts``' two revisions, each script run once with the claim
    probes for the whole session: {"current": SourceRun, "old": SourceRun}. Most of the time is
    each child's import of torch: the first xdist worker to ask runs them, the others read its
    runs back (``SourceRun.to_json``)."""
    from blitz.tutorial_source.result import SourceRun

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # shared by the session's workers
    cache = root / "tutorial-checkouts.json"
    with _session_lock(root / "tutorial-checkouts.lock"):
        if cache.exists():
            saved = json.loads(cache.read_text(encoding="utf-8"))
            return {name: SourceRun.from_json(run) for name, run in saved.items()}
        runs = _run_checkouts(root / "tutorial-checkouts")
        cache.write_text(json.dumps({n: r.to_json() for n, r in runs.items()}), encoding="utf-8")
        return runs
