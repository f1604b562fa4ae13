"""The claims plugin end to end: a small suite with a passing, a failing, a skipped and a drift
claim, run through pytester, and the matrix and JSON it produces."""

from __future__ import annotations

import json

import pytest

from blitz import claims as catalogue
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


@pytest.mark.claim("N12")
def test_partial_runs():
    pass


@pytest.mark.claim("N12")
def test_partial_skips():
    pytest.skip("needs a second GPU")


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
    # test_passes[cpu], test_holds_with_a_finding, test_drifts, test_untagged,
    # test_partial_runs (+ [cuda])
    passed = 5 + cuda
    # test_skipped, test_slow, test_partial_skips (+ both cuda params)
    skipped = 3 + 2 * (not cuda)
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
            "id   claim * revision * cpu*",
            "T01  torch.tensor(data)* both * holds*",
            "T02  * FAILS: AssertionError: dtype is not int64*",
            "T03  * skipped: needs something this machine lacks*",
            "T04  * holds [[]*[]]*",
            "N10  * drift: the tutorial prints None*",
            "N11  * skipped: slow: run with --run-slow*",
            "N12  * partial (1 of 2 tests ran) [[]*[]]*",
            "[[]*[]] measured 42 of 42",
            "[[]*[]] drift: the tutorial prints None; this torch prints zeros",
            "[[]*[]] not run: 1 needs a second GPU",
            "not run (no test of them selected): T05, T06, *",
            f"7 claims x {len(devices.candidate_devices()) - (CUDA_REASON is not None)} device*: "
            "1 FAILS, 1 drift, 1 partial, 2 holds, 2 skipped*; 49 claims not run",
        ]
    )


def test_json_has_the_documented_shape(suite):
    doc = run_json(suite)
    import torch

    assert doc["torch"] == torch.__version__
    assert {"torchvision", "python", "platform"} <= doc.keys()
    assert [d["type"] for d in doc["devices"]] == devices.candidate_devices()
    assert doc["run"] == {"dataset": "a small one"}
    assert doc["schema"] == 4
    assert doc["complete"] is True and doc["exit_status"] == 1 and doc["incomplete_reason"] == ""
    assert doc["narrowed"] is False and doc["selection"] == []
    # every claim the catalogue tests, those of no test here not run
    assert list(doc["claims"]) == [c.id for c in catalogue.tested()]
    assert doc["claims"]["T05"]["results"]["cpu"] == {
        "status": "not_run", "note": "no test of the claim was collected in this run",
        "tests": [], "ran": 0, "skipped": 0, "deselected": 0, "not_run_reason": "",
    }  # fmt: skip
    t01 = doc["claims"]["T01"]
    assert t01["statement"] == "torch.tensor(data) infers the dtype"
    assert t01["section"] == "tensors"
    assert t01["revision"] == "both"  # which revision of the tutorial states it (blitz.claims)
    cpu = t01["results"]["cpu"]
    assert cpu == {
        "status": "holds", "note": "", "tests": ["test_suite.py::test_passes[cpu]"],
        "ran": 1, "skipped": 0, "deselected": 0, "not_run_reason": "",
    }  # fmt: skip


def test_json_statuses_and_notes(suite):
    claims = run_json(suite)["claims"]
    cell = {cid: entry["results"]["cpu"] for cid, entry in claims.items()}
    assert cell["T02"]["status"] == "fails"
    assert "dtype is not int64" in cell["T02"]["note"]
    assert cell["T03"] == {
        "status": "skipped",
        "note": "needs something this machine lacks",
        "tests": ["test_suite.py::test_skipped"],
        "ran": 0,
        "skipped": 1,
        "deselected": 0,
        "not_run_reason": "1 needs something this machine lacks",
    }
    # one of its two tests ran: partial, never holds
    assert cell["N12"]["status"] == "partial"
    assert (cell["N12"]["ran"], cell["N12"]["skipped"]) == (1, 1)
    assert cell["N12"]["not_run_reason"] == "1 needs a second GPU"
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
    result.stdout.fnmatch_lines(
        ["id   claim * cpu", "T01  * holds", "1 claim x 1 device: 1 holds*"]
    )
    result.stdout.no_fnmatch_line("*cuda*")


def test_the_prefixed_option_names_work_too(suite):
    result = suite.runpytest(
        "--blitz-device", "cpu", "-k", "test_passes", "--blitz-claims-json=c.json"
    )
    result.assert_outcomes(passed=1)
    assert [d["type"] for d in json.loads((suite.path / "c.json").read_text())["devices"]] == [
        "cpu"
    ]


def test_device_environment_variable_narrows_too(suite, monkeypatch):
    monkeypatch.setenv(devices.ENV_VAR, "cpu")
    result = suite.runpytest("-k", "test_passes")
    result.assert_outcomes(passed=1)


def test_unknown_device_is_a_usage_error(suite):
    result = suite.runpytest("--device", "tpu9")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--device: tpu9: unknown device 'tpu9' (choose from cpu, cuda*"])


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
            "*--blitz-device=DEVICES*",
            "*--blitz-claims-json=PATH*",
            "*--blitz-run-slow*",
            "*--blitz-cifar10-root=DIR*",
            "*--blitz-no-download*",
            "*--blitz-no-claims-matrix*",
            "*--device=DEVICES*The same as --blitz-device.",
            "*--claims-json=PATH*The same as --blitz-claims-json.",
            "*--run-slow*The same as --blitz-run-slow.",
            "*--cifar10-root=DIR*The same as --blitz-cifar10-root.",
            "*--no-download*The same as --blitz-no-download.",
            "*--no-claims-matrix*The same as --blitz-no-claims-matrix.",
        ]
    )


@pytest.mark.slow  # three fresh interpreters importing torch: seconds each
def test_xdist_gives_the_same_matrix(suite):
    """Results from both workers are merged: the JSON equals the one of a plain run (but for
    the time it was written), complete."""
    plain = run_json(suite, subprocess=True)
    parallel = run_json(suite, "-n", "2", subprocess=True)
    assert plain.pop("finished") and parallel.pop("finished")
    assert parallel == plain
    assert parallel["complete"] is True
    # The workers' deselections reach the controller: a narrowed run's matrix is the same too.
    narrowed = {}
    for args in ([], ["-n", "2"]):
        result = suite.runpytest_subprocess("--claims-json=n.json", "-k", "partial", *args)
        result.assert_outcomes(passed=1, skipped=1)
        narrowed[bool(args)] = json.loads((suite.path / "n.json").read_text())
        (suite.path / "n.json").unlink()
        assert narrowed[bool(args)].pop("finished")
    assert narrowed[True] == narrowed[False]
    assert narrowed[True]["narrowed"] is True
    t01 = narrowed[True]["claims"]["T01"]["results"]["cpu"]
    assert (t01["status"], t01["deselected"]) == ("not_run", 1)


# ----------------------------------------------------------------------------------------------
# Statuses that say what happened


ERROR_SUITE = """
import pytest

from blitz.errors import EnvironmentProblem


@pytest.fixture
def broken_data():
    raise EnvironmentProblem("/data/test.npz: not a readable .npz (zip) file: truncated")


@pytest.fixture
def broken_fixture():
    raise KeyError("a fixture of blitz broke")


@pytest.mark.claim("C05")
def test_needs_data(broken_data):
    pass


@pytest.mark.claim("C06")
def test_reads_data_in_its_body():
    raise EnvironmentProblem("/data/train.npz: array 'data' is corrupt (CRC); copy the file again")


@pytest.mark.claim("C08")
def test_needs_a_fixture(broken_fixture):
    pass


@pytest.mark.claim("N03")
def test_asserts_about_torch():
    assert 1 + 1 == 3, "torch computed something else"
"""


def test_a_broken_environment_is_an_error_never_fails(pytester, monkeypatch):
    monkeypatch.delenv(devices.ENV_VAR, raising=False)
    pytester.makeconftest('pytest_plugins = ["blitz.plugin"]')
    pytester.makepyfile(test_errors=ERROR_SUITE)
    result = pytester.runpytest("--claims-json", "claims.json")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "*= blitz claims matrix =*",
            "N03  * FAILS: AssertionError: torch computed s*",
            "C05  * error: /data/test.npz: not a readable *",
            "C06  * error: /data/train.npz: array 'data' is*",
            "C08  * error: in setup: KeyError: 'a fixture o*",
            "[[]1[]] FAILS: AssertionError: torch computed something else",
            "[[]2[]] error: /data/test.npz: not a readable .npz (zip) file: truncated",
            "[[]3[]] error: /data/train.npz: array 'data' is corrupt (CRC); copy the file again",
            "[[]4[]] error: in setup: KeyError: 'a fixture of blitz broke'",
            "4 claims x 1 device: 1 FAILS, 3 error; 52 claims not run"
            if CUDA_REASON
            else "4 claims x 2 devices: 1 FAILS, 3 error, 4 skipped; 52 claims not run",
        ]
    )
    # A broken environment is one line per test, without a traceback; the short summary too.
    result.stdout.fnmatch_lines(
        [
            "*_ ERROR at setup of test_needs_data _*",
            "EnvironmentProblem: /data/test.npz: not a readable .npz (zip) file: truncated",
            "*_ test_reads_data_in_its_body _*",
            "EnvironmentProblem: /data/train.npz: array 'data' is corrupt (CRC); "
            "copy the file again",
        ]
    )
    result.stdout.no_fnmatch_line("*raise EnvironmentProblem*")
    result.stdout.fnmatch_lines(["ERROR test_errors.py::test_needs_data - EnvironmentProblem: *"])
    claims = json.loads((pytester.path / "claims.json").read_text())["claims"]
    assert claims["C05"]["results"]["cpu"]["status"] == "error"
    assert claims["C05"]["results"]["cpu"]["note"] == (
        "/data/test.npz: not a readable .npz (zip) file: truncated"
    )
    assert claims["N03"]["results"]["cpu"]["status"] == "fails"


ACCELERATOR_SUITE = """
import pytest


@pytest.mark.claim("T07")
def test_moves_to_the_device(device):
    pass


@pytest.mark.claim("C10")
def test_device_free_part():
    pass


@pytest.mark.claim("T17")
def test_device_free_part_that_fails():
    assert False, "the host copy followed the device tensor"


@pytest.mark.claim("T15")
def test_host_memory(device):
    pass
"""


def test_a_claim_about_an_accelerator_has_no_cpu_verdict(pytester, monkeypatch):
    monkeypatch.delenv(devices.ENV_VAR, raising=False)
    pytester.makeconftest('pytest_plugins = ["blitz.plugin"]')
    pytester.makepyfile(test_accelerator=ACCELERATOR_SUITE)
    result = pytester.runpytest("--claims-json", "claims.json", "-rs")
    result.stdout.fnmatch_lines(
        ["SKIPPED [[]1[]] test_accelerator.py:*: a claim about an accelerator: no cpu result"]
    )
    claims = json.loads((pytester.path / "claims.json").read_text())["claims"]
    for claim_id in ("T07", "C10"):
        assert claims[claim_id]["results"]["cpu"]["status"] == "skipped"
        assert claims[claim_id]["results"]["cpu"]["note"] == (
            "a claim about an accelerator: no cpu result"
        )
    # A test of it that failed is not hidden behind the missing verdict.
    assert claims["T17"]["results"]["cpu"]["status"] == "fails"
    # The mirror: a claim about the host does not run on an accelerator.
    assert claims["T15"]["results"]["cpu"]["status"] == "holds"
    assert claims["T15"]["results"]["cuda"]["note"] == (
        "a claim about the host (CPU-only): no cuda result"
    )


# ----------------------------------------------------------------------------------------------
# Results are never lost or silently partial

OUTSIDE_PROJECT = """
def test_must_never_be_collected():
    raise AssertionError("collected from outside the project's test paths")
"""


def _project(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(
        '[tool.pytest.ini_options]\ntestpaths = ["tests"]\naddopts = ["-p", "no:cacheprovider"]\n'
    )
    pytester.makeconftest('pytest_plugins = ["blitz.plugin"]')
    pytester.mkdir("tests")
    (pytester.path / "tests" / "test_suite.py").write_text(
        '\nimport pytest\n\n@pytest.mark.claim("T01")\ndef test_passes(device):\n    pass\n'
    )
    pytester.mkdir("other")
    (pytester.path / "other" / "test_other.py").write_text(OUTSIDE_PROJECT)


@pytest.mark.parametrize("form", ["space", "equals", "relative"])
def test_claims_json_works_every_time_whatever_its_form(pytester, tmp_path_factory, form):
    """The same command twice: the second time PATH exists, and pytest (before any plugin's
    option is known) takes it for a test path unless the plugin repairs the rootdir."""
    _project(pytester)
    outside = tmp_path_factory.mktemp("results") / "x.json"
    if form == "space":
        args = ["--claims-json", str(outside)]
    elif form == "equals":
        args = [f"--claims-json={outside}"]
    else:
        outside = pytester.path / "results" / "x.json"
        args = ["--claims-json", "results/x.json"]
    documents = []
    for _ in range(2):
        result = pytester.runpytest(*args, "--device", "cpu")
        assert result.ret == pytest.ExitCode.OK, result.stdout.str()
        result.stdout.fnmatch_lines([f"rootdir: {pytester.path}*", "*1 passed*"])
        document = json.loads(outside.read_text())
        documents.append((document["complete"], document["claims"]))
    assert documents[0] == documents[1]
    assert documents[0][1]["T01"]["results"]["cpu"]["status"] == "holds"


def test_a_run_stopped_early_is_marked_incomplete(suite):
    result = suite.runpytest("--claims-json", "claims.json", "-x", "-p", "no:randomly")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    document = json.loads((suite.path / "claims.json").read_text())
    assert document["complete"] is False
    assert document["exit_status"] == 1
    assert document["incomplete_reason"].startswith("stopped early: stopping after 1 failures")
    result.stdout.fnmatch_lines(["INCOMPLETE RUN: stopped early*", "*claims.json (INCOMPLETE)"])


def test_an_interrupted_run_never_replaces_a_complete_file(suite):
    suite.runpytest("--claims-json", "claims.json")
    complete = (suite.path / "claims.json").read_text()
    suite.makepyfile(
        test_zz_interrupt='import pytest\n\n@pytest.mark.claim("A01")\ndef test_ctrl_c():\n'
        "    raise KeyboardInterrupt\n"
    )
    result = suite.runpytest("--claims-json", "claims.json", no_reraise_ctrlc=True)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert (suite.path / "claims.json").read_text() == complete
    partial = json.loads((suite.path / "claims.incomplete.json").read_text())
    assert partial["complete"] is False
    assert partial["incomplete_reason"] == "interrupted (exit status 2)"
    result.stdout.fnmatch_lines(["*kept the complete *claims.json*claims.incomplete.json"])


def test_the_json_is_written_atomically(suite, monkeypatch):
    """A write that breaks half-way leaves the earlier file whole and no temporary behind."""
    from blitz import matrix
    from blitz.matrix import files

    suite.runpytest("--claims-json", "claims.json")
    before = (suite.path / "claims.json").read_text()
    document = matrix.load(suite.path / "claims.json")

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="No space left"):
        matrix.dump(document, suite.path / "claims.json")
    assert (suite.path / "claims.json").read_text() == before
    assert [p.name for p in suite.path.glob(".claims.json.*")] == []


@pytest.mark.parametrize(
    "make, message",
    [
        (
            lambda root: (root / "afile").write_text("x") and root / "afile" / "claims.json",
            "cannot write in *afile*",
        ),
        (lambda root: root, "a directory, not a file"),
    ],
    ids=["folder-is-a-file", "path-is-a-directory"],
)
def test_an_unusable_claims_json_path_is_a_usage_error_before_any_test(suite, make, message):
    path = make(suite.path)
    result = suite.runpytest("--claims-json", str(path))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*--claims-json *: {message}*"])
    result.stdout.no_fnmatch_line("*passed*")


def test_the_matrix_is_the_last_thing_before_the_counts(suite):
    result = suite.runpytest("-ra")
    lines = result.stdout.lines
    summary = next(i for i, line in enumerate(lines) if "short test summary info" in line)
    matrix_at = next(i for i, line in enumerate(lines) if "blitz claims matrix" in line)
    assert summary < matrix_at
    assert all(not line.startswith(("SKIPPED", "FAILED")) for line in lines[matrix_at:])


# ----------------------------------------------------------------------------------------------
# Strict where the user was explicit


@pytest.mark.skipif(CUDA_REASON is None, reason="checks a missing GPU; a GPU is here")
def test_an_explicit_missing_device_is_a_usage_error(suite):
    result = suite.runpytest("--device", "cuda")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*--device: cuda: {CUDA_REASON}"])


@pytest.mark.skipif(CUDA_REASON is None, reason="checks a missing GPU; a GPU is here")
def test_an_explicit_missing_device_in_the_environment_is_a_usage_error(suite, monkeypatch):
    monkeypatch.setenv(devices.ENV_VAR, "cpu,cuda")
    result = suite.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*$BLITZ_DEVICES: cuda: {CUDA_REASON}"])


def test_an_explicit_data_root_that_does_not_exist_is_a_usage_error(suite, monkeypatch):
    monkeypatch.delenv("BLITZ_DATA_ROOT", raising=False)
    result = suite.runpytest("--cifar10-root", "no/such/dir")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--cifar10-root: no/such/dir: no such directory"])
    monkeypatch.setenv("BLITZ_DATA_ROOT", "no/such/dir")
    result = suite.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*$BLITZ_DATA_ROOT: no/such/dir: no such directory"])


# ----------------------------------------------------------------------------------------------
# Installed, blitz stays out of other projects' runs


UNRELATED_PROJECT = """
import pytest


@pytest.fixture(params=["gpu0", "gpu1"])
def device(request):
    return request.param


def test_uses_its_own_device(device):
    assert device in ("gpu0", "gpu1")
"""

RECORD_MODULES = """
import sys


def pytest_unconfigure(config):
    with open("modules.txt", "w") as out:
        out.write(" ".join(sorted(m for m in ("torch", "torchvision", "blitz.plugin")
                                  if m in sys.modules)))
"""


def test_an_unrelated_project_runs_unchanged_and_without_torch(pytester):
    """blitz is installed here (its entry point loads): another project's own ``device``
    fixture is left alone, and nothing imports torch."""
    pytester.makeconftest(RECORD_MODULES)
    pytester.makepyfile(test_theirs=UNRELATED_PROJECT)
    result = pytester.runpytest_subprocess("-v")
    result.assert_outcomes(passed=2)
    # The entry point is loaded all the same ("plugins: blitz-…" in the header).
    result.stdout.fnmatch_lines(
        ["plugins: *blitz-*", "*test_uses_its_own_device[[]gpu0[]] PASSED*"]
    )
    result.stdout.no_fnmatch_line("*blitz claims matrix*")
    assert (pytester.path / "modules.txt").read_text() == ""
