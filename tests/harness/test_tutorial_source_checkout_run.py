"""The real tutorial's scripts, run from a user's checkout: ``$BLITZ_TUTORIAL_SOURCE``.

``BLITZ_TUTORIAL_SOURCE=[LABEL=]PATH`` names a pytorch/tutorials checkout (or its
``beginner_source/blitz`` folder); without it these tests skip. The project ships none of
upstream's scripts: they are read from the user's checkout, at whatever revision it is.

CIFAR-10 comes from blitz's data layer as the claims find it (``$BLITZ_DATA_ROOT``, then the
default root); downloads are off. The quick run caps both CIFAR-10 splits; the full run, the
tutorial's whole protocol, is slow.
"""

from __future__ import annotations

import json
import os

import pytest

from blitz import matrix
from blitz.tutorial_source import result as results
from blitz.tutorial_source.checkout import SCRIPTS, locate
from blitz.tutorial_source.result import SourceRun
from blitz.tutorial_source.runner import RunOptions, run_source

SOURCE_ENV = "BLITZ_TUTORIAL_SOURCE"
QUICK = RunOptions(cifar10_train_subset=2000, cifar10_test_subset=1000, timeout_s=600)
FULL = RunOptions(timeout_s=3600)

pytest_plugins = ["pytester"]

pytestmark = pytest.mark.skipif(
    not os.environ.get(SOURCE_ENV),
    reason=f"no tutorial checkout: set ${SOURCE_ENV}=[LABEL=]PATH to a pytorch/tutorials checkout",
)


def check_every_script_ran(run: SourceRun) -> None:
    """Every script the revision has ran to its end, offline; CIFAR-10 came from blitz."""
    assert list(run.scripts) == list(SCRIPTS)
    for name, script in run.scripts.items():
        if script.status == results.MISSING:
            continue
        # A cell that raises on this torch is a finding about the tutorial, not a failure here.
        assert script.status in (results.OK, results.CELL_ERRORS), f"{name}: {script.error}"
        assert all(cell.ran for cell in script.cells), name
        assert script.facts["seeds"] == {"torch": 42, "random": 10, "numpy": 10}
        # What the scripts download (CIFAR-10, weights) is served locally: nothing is refused.
        assert script.facts["network_refused"] == [], name
    cifar10 = run.scripts["cifar10"]
    if cifar10.status != results.MISSING:
        if "error" in cifar10.facts["cifar10"]:
            pytest.skip(f"the other scripts ran; CIFAR-10: {cifar10.facts['cifar10']['error']}")
        assert cifar10.facts["cifar10"]["copy"] in ("official", "offline"), cifar10.facts
        assert cifar10.stdout, "the CIFAR-10 script printed nothing"


def test_the_checkouts_scripts_run_cell_by_cell_on_capped_cifar10():
    run = run_source(locate(os.environ[SOURCE_ENV]), QUICK)
    check_every_script_ran(run)
    cifar10 = run.scripts["cifar10"]
    if cifar10.status != results.MISSING:
        sizes = {call["train"]: call["size"] for call in cifar10.facts["cifar10"]["calls"]}
        assert sizes == {True: 2000, False: 1000}


@pytest.mark.slow
def test_the_checkouts_scripts_run_the_tutorials_whole_protocol():
    run = run_source(locate(os.environ[SOURCE_ENV]), FULL)
    check_every_script_ran(run)
    cifar10 = run.scripts["cifar10"]
    if cifar10.status != results.MISSING:
        sizes = {call["train"]: call["size"] for call in cifar10.facts["cifar10"]["calls"]}
        assert sizes == {True: 50_000, False: 10_000}


def test_the_checkouts_column_gives_every_claim_a_verdict_and_no_error(pytester):
    """The quick run of the checkout's column: no claim reads error (blitz's probes and the
    sandbox held up on the real scripts), and each reads one of the tutorial column's verdicts."""
    pytester.makeconftest('pytest_plugins = ["blitz.plugin"]')
    result = pytester.runpytest(
        "-p", "no:randomly", "-m", "tutorial", "--claims-json", "claims.json",
        "--tutorial-source", f"checkout={os.environ[SOURCE_ENV].rpartition('=')[2]}",
    )  # fmt: skip
    assert result.ret in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED)
    document = json.loads((pytester.path / "claims.json").read_text())
    column = {k: v["results"]["tutorial:checkout"] for k, v in document["claims"].items()}
    errors = {k: c["note"] for k, c in column.items() if c["status"] == matrix.ERROR}
    assert not errors
    verdicts = {matrix.HOLDS, matrix.DRIFT, matrix.PARTIAL, matrix.FAILS, matrix.SKIPPED}
    assert {c["status"] for c in column.values()} <= verdicts | {matrix.ABSENT}
