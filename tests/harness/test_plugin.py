"""The claims plugin end to end: a small suite with a passing, a failing, a skipped and a drift
claim, run through pytester, and the matrix and JSON it produces."""

from __future__ import annotations

import json

import pytest

from blitz import devices
from blitz.plugin import SLOW_ENV

pytest_plugins = ["pytester"]

FIXTURE_SUITE = """
import pytest
import torch


@pytest.mark.claim("T01")
def test_passes(device):
    assert torch.tensor([1, 2]).dtype == torch.int64


@pytest.mark.claim("T02")
def test_fails(device):
    assert torch.tensor([1.0]).dtype == torch.int64, "dtype is not int64"


@pytest.mark.claim("T03")
def test_skipped():
    pytest.skip("needs something this machine lacks")


@pytest.mark.claim("T04")
def test_holds_with_a_finding(claim_report):
    claim_report.note("measured 42 of 42")


@pytest.mark.claim("N10")
def test_drifts(claim_report):
    claim_report.drift("the tutorial prints None; this torch prints zeros")
    claim_report.run_info("dataset", "a small one")


@pytest.mark.claim("N11")
@pytest.mark.slow
def test_slow():
    pass


def test_untagged():
    pass
"""

CUDA_REASON = devices.unavailable_reason("cuda")


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    # The runs below must not inherit the outer run's selection.
    monkeypatch.delenv(SLOW_ENV, raising=False)
    monkeypatch.delenv(devices.ENV_VAR, raising=False)
    pytester.makeconftest('pytest_plugins = ["blitz.plugin"]')
    pytester.makepyfile(test_suite=FIXTURE_SUITE)
    return pytester


def run_json(pytester: pytest.Pytester, *args: str, subprocess: bool = False) -> dict:
    runner = pytester.runpytest_subprocess if subprocess else pytester.runpytest
    result = runner("--claims-json", "claims.json", "-p", "no:randomly", *args)
    result.assert_outcomes(**expected_outcomes())
    return json.loads((pytester.path / "claims.json").read_text())


def expected_outcomes() -> dict:
    cuda = CUDA_REASON is None
    # test_passes[cpu], test_holds_with_a_finding, test_drifts, test_untagged (+ [cuda])
    passed = 4 + cuda
    skipped = 2 + 2 * (not cuda)  # test_skipped, test_slow (+ both cuda params)
    return {"passed": passed, "failed": 1 + cuda, "skipped": skipped}


def test_device_tests_are_parametrized_with_ids_per_device(suite):
    result = suite.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(["test_suite.py::test_passes[[]cpu[]]", "*test_passes[[]cuda[]]"])


@pytest.mark.skipif(CUDA_REASON is None, reason="checks the skip of a missing GPU; a GPU is here")
def test_missing_cuda_is_skipped_with_its_reason(suite):
    result = suite.runpytest("-rs", "-k", "test_passes")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines([f"SKIPPED *{CUDA_REASON}"])


def test_matrix_shows_each_status(suite):
    result = suite.runpytest()
    result.stdout.fnmatch_lines(
        [
            "*= blitz claims matrix =*",
            "dataset: a small one",
            "id   claim * cpu * cuda",
            "T01  torch.tensor(data) infers the dtype * holds *",
            "T02  * FAILS: AssertionError: dtype is not int64*",
            "T03  * skipped: needs something this machine lacks *",
            "T04  * holds [[]*[]]*",
            "N10  * drift: the tutorial prints None*",
            "N11  * skipped: slow: run with --run-slow*",
            "[[]*[]] measured 42 of 42",
            "[[]*[]] drift: the tutorial prints None; this torch prints zeros",
            "6 claims x 2 devices: *",
        ]
    )


def test_json_has_the_documented_shape(suite):
    doc = run_json(suite)
    import torch

    assert doc["torch"] == torch.__version__
    assert {"torchvision", "python", "platform"} <= doc.keys()
    assert [d["type"] for d in doc["devices"]] == devices.candidate_devices()
    assert doc["run"] == {"dataset": "a small one"}
    assert list(doc["claims"]) == ["T01", "T02", "T03", "T04", "N10", "N11"]
    t01 = doc["claims"]["T01"]
    assert t01["statement"] == "torch.tensor(data) infers the dtype"
    assert t01["section"] == "tensors"
    cpu = t01["results"]["cpu"]
    assert cpu == {"status": "holds", "note": "", "tests": ["test_suite.py::test_passes[cpu]"]}


def test_json_statuses_and_notes(suite):
    claims = run_json(suite)["claims"]
    cell = {cid: entry["results"]["cpu"] for cid, entry in claims.items()}
    assert cell["T02"]["status"] == "fails"
    assert "dtype is not int64" in cell["T02"]["note"]
    assert cell["T03"] == {
        "status": "skipped",
        "note": "needs something this machine lacks",
        "tests": ["test_suite.py::test_skipped"],
    }
    assert cell["T04"]["status"] == "holds"
    assert cell["T04"]["note"] == "measured 42 of 42"
    assert cell["N10"]["status"] == "drift"
    assert cell["N10"]["note"] == "the tutorial prints None; this torch prints zeros"
    if CUDA_REASON is not None:
        assert claims["T01"]["results"]["cuda"]["status"] == "skipped"
        assert claims["T01"]["results"]["cuda"]["note"] == CUDA_REASON


def test_slow_claims_run_with_run_slow(suite):
    result = suite.runpytest("--run-slow", "-k", "test_slow", "--claims-json", "claims.json")
    result.assert_outcomes(passed=1)
    claims = json.loads((suite.path / "claims.json").read_text())["claims"]
    assert claims["N11"]["results"]["cpu"]["status"] == "holds"


def test_device_option_narrows_the_columns(suite):
    result = suite.runpytest("--device", "cpu", "-k", "test_passes")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["id   claim * cpu", "T01  * holds"])
    result.stdout.no_fnmatch_line("*cuda*")


def test_device_environment_variable_narrows_too(suite, monkeypatch):
    monkeypatch.setenv(devices.ENV_VAR, "cpu")
    result = suite.runpytest("-k", "test_passes")
    result.assert_outcomes(passed=1)


def test_unknown_device_is_a_usage_error(suite):
    result = suite.runpytest("--device", "tpu9")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--device: unknown device(s) tpu9: choose from cpu, cuda*"])


def test_unknown_claim_id_warns(pytester):
    pytester.makeconftest('pytest_plugins = ["blitz.plugin"]')
    pytester.makepyfile(
        test_typo="""
        import pytest

        @pytest.mark.claim("T99")
        def test_typo():
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*unknown claim id 'T99'*"])


def test_no_matrix_option(suite):
    result = suite.runpytest("--no-claims-matrix", "-k", "test_passes")
    result.stdout.no_fnmatch_line("*blitz claims matrix*")


def test_help_lists_the_blitz_options(suite):
    result = suite.runpytest("--help")
    result.stdout.fnmatch_lines(
        [
            "blitz: claims of the PyTorch 60 Minute Blitz:",
            "*--device=DEVICES*",
            "*--claims-json=PATH*",
            "*--run-slow*",
            "*--cifar10-root=DIR*",
            "*--no-download*",
        ]
    )


@pytest.mark.slow  # three fresh interpreters importing torch: seconds each
def test_xdist_gives_the_same_matrix(suite):
    """Results from both workers are merged: the JSON equals the one of a plain run."""
    plain = run_json(suite, subprocess=True)
    parallel = run_json(suite, "-n", "2", subprocess=True)
    assert parallel == plain
