"""Fixtures of the tests of blitz itself (tests/harness): pytester projects that the claims
plugin runs, small CIFAR-10 copies; and the ``harness`` marker on every test here, so that a run
that checks claims alone (each tox env) can leave them out with ``-m "not harness"``."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from blitz import data

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.harness)


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
