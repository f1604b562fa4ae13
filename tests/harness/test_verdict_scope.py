"""A verdict never says more than what ran: narrowed runs, partial cells, and the files they
write; the option names an installed blitz takes; an interrupt that reaches an inner run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from blitz import devices, matrix
from blitz import selection as selection_files
from blitz.plugin import SLOW_ENV

pytest_plugins = ["pytester"]

# A claim with two tests (T14: the out-of-place op, and the claim itself), a drift claim whose
# drift shows in one of its two tests (N10), and a claim in a second module only (A03).
TENSORS = """
import pytest


@pytest.mark.claim("T14")
def test_out_of_place_keeps_history(device):
    pass


@pytest.mark.claim("T14")
def test_in_place_change_breaks_backward(device):
    pass


@pytest.mark.claim("N10")
def test_zero_grad_without_set_to_none(device):
    pass


@pytest.mark.claim("N10")
def test_zero_grad_prints_none(claim_report):
    claim_report.drift("the tutorial says zeros; this torch sets None")


@pytest.mark.slow
@pytest.mark.claim("N11")
def test_marked(device):
    pass
"""
AUTOGRAD = """
import pytest

pytestmark = pytest.mark.claim("A03")


def test_gradients(device):
    pass


@pytest.mark.claim("T14")
def test_in_place_elsewhere(device):
    pass
"""
HARNESS = '''
SUITE = """
import pytest

@pytest.mark.claim("T01")
def test_in_a_string():
    pass
"""


def test_of_blitz_itself():
    assert "claim" in SUITE
'''


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A project laid out as blitz's: test paths, two claim modules and a harness module whose
    only claim marker is inside a string."""
    monkeypatch.delenv(SLOW_ENV, raising=False)
    monkeypatch.delenv(devices.ENV_VAR, raising=False)
    pytester.makepyprojecttoml(
        '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n'
        'addopts = ["-p", "no:cacheprovider", "-p", "no:randomly"]\n'
    )
    pytester.makeconftest('pytest_plugins = ["blitz.plugin"]')
    tests = pytester.mkdir("tests")
    (tests / "test_scope_tensors.py").write_text(TENSORS)
    (tests / "test_scope_autograd.py").write_text(AUTOGRAD)
    (tests / "harness").mkdir()
    (tests / "harness" / "test_harness.py").write_text(HARNESS)
    return pytester


def run(project: pytest.Pytester, *args: str, path: str = "claims.json") -> dict:
    """The claims file of a run on the cpu (the path is emptied first: a narrowed run does not
    replace a file of the whole suite)."""
    (project.path / path).unlink(missing_ok=True)
    result = project.runpytest(f"--claims-json={path}", "--device", "cpu", *args)
    assert result.ret in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED), (
        result.stdout.str()
    )
    return json.loads((project.path / path).read_text())


def cpu(document: dict, claim_id: str) -> dict:
    return document["claims"][claim_id]["results"]["cpu"]


# ----------------------------------------------------------------------------------------------
# A cell holds only when every test of its claim ran


def test_a_run_of_the_whole_suite_is_not_narrowed_and_its_cells_hold(project):
    document = run(project)
    assert (document["narrowed"], document["selection"]) == (False, [])
    assert cpu(document, "T14")["status"] == "holds"
    assert (cpu(document, "T14")["ran"], cpu(document, "T14")["deselected"]) == (3, 0)
    assert cpu(document, "N10")["status"] == "drift"
    # no holds cell with a test that did not run
    for entry in document["claims"].values():
        for cell in entry["results"].values():
            if cell["status"] in ("holds", "drift"):
                assert cell["ran"] == len(cell["tests"]) and not cell["not_run_reason"]


def test_a_k_narrowed_run_reads_partial_and_never_replaces_the_full_file(project):
    full = run(project)
    text = (project.path / "claims.json").read_text()
    result = project.runpytest(
        "--claims-json", "claims.json", "--device", "cpu", "-k", "out_of_place"
    )
    result.assert_outcomes(passed=1, deselected=7)
    assert (project.path / "claims.json").read_text() == text  # the full run's file, kept
    narrowed = json.loads((project.path / "claims.narrowed.json").read_text())
    assert narrowed["narrowed"] is True and narrowed["selection"] == ["-k out_of_place"]
    t14 = cpu(narrowed, "T14")
    assert t14["status"] == "partial"
    assert (t14["ran"], t14["deselected"]) == (1, 2)
    assert t14["not_run_reason"] == "2 deselected (-k out_of_place)"
    assert cpu(narrowed, "A03")["status"] == "not_run"
    assert cpu(full, "T14")["status"] == "holds"
    result.stdout.fnmatch_lines(
        [
            "NARROWED RUN (-k out_of_place): a claim reads holds only where every test of it ran",
            "T14 * partial (1 of 3 tests ran) [[]*",
            "*not run: 2 deselected (-k out_of_place)*",
            "*: a narrowed run (-k out_of_place): kept the complete matrix of the whole suite in "
            "*claims.json; this run's matrix is in *claims.narrowed.json",
        ]
    )


def test_a_drift_claim_whose_drift_test_did_not_run_is_never_holds(project):
    document = run(project, "-k", "without_set_to_none")
    n10 = cpu(document, "N10")
    assert n10["status"] == "partial"
    assert (n10["ran"], n10["deselected"]) == (1, 1)


@pytest.mark.parametrize(
    "args, selection",
    [
        (["--deselect", "tests/test_scope_tensors.py::test_in_place_change_breaks_backward[cpu]"],
         ["--deselect tests/test_scope_tensors.py::test_in_place_change_breaks_backward[cpu]"]),
        (["-m", "not slow"], ["-m not slow"]),
    ],
)  # fmt: skip
def test_deselect_and_m_narrow_the_run_too(project, args, selection):
    document = run(project, "--run-slow", *args)
    assert document["narrowed"] is True and document["selection"] == selection
    claim = "T14" if "--deselect" in args else "N11"
    assert cpu(document, claim)["status"] in ("partial", "not_run")
    assert cpu(document, claim)["deselected"] == 1


def test_a_selection_of_nothing_never_replaces_the_full_file(project):
    run(project)
    text = (project.path / "claims.json").read_text()
    result = project.runpytest("--claims-json", "claims.json", "-k", "T01")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    assert (project.path / "claims.json").read_text() == text
    narrowed = json.loads((project.path / "claims.narrowed.json").read_text())
    assert narrowed["narrowed"] is True
    assert {cell["status"] for entry in narrowed["claims"].values() for cell in
            entry["results"].values()} <= {"not_run", "skipped"}  # fmt: skip


def test_a_test_path_narrows_the_claims_of_the_files_it_leaves_out(project):
    document = run(project, "tests/test_scope_tensors.py")
    assert document["narrowed"] is True
    assert document["selection"] == ["test paths: tests/test_scope_tensors.py"]
    # T14 has a test in test_scope_autograd.py, which was not collected: partial, not holds
    t14 = cpu(document, "T14")
    assert t14["status"] == "partial" and t14["ran"] == 2
    assert "the run was narrowed (test paths: tests/test_scope_tensors.py)" in t14["not_run_reason"]
    # N10's tests are all in the file that ran: it keeps its verdict
    assert cpu(document, "N10")["status"] == "drift"
    assert cpu(document, "A03")["status"] == "not_run"


def test_a_node_id_leaves_out_the_rest_of_its_file(project):
    document = run(project, "tests/test_scope_tensors.py::test_zero_grad_prints_none")
    assert cpu(document, "N10")["status"] == "partial"


def test_the_test_paths_themselves_are_the_whole_suite(project):
    document = run(project, "tests")
    assert document["narrowed"] is False and cpu(document, "T14")["status"] == "holds"


def test_ignoring_a_file_narrows_only_where_it_tags_claims(project):
    # The harness module's claim marker is in a string: leaving it out leaves out no claim.
    document = run(project, "--ignore", "tests/harness")
    assert document["narrowed"] is False and document["selection"] == ["--ignore tests/harness"]
    assert cpu(document, "T14")["status"] == "holds"
    document = run(project, "--ignore", "tests/test_scope_autograd.py")
    assert document["narrowed"] is True
    assert cpu(document, "T14")["status"] == "partial"
    assert cpu(document, "N10")["status"] == "drift"


def test_deselecting_tests_without_claims_does_not_narrow(project):
    document = run(project, "--deselect", "tests/harness")
    assert document["narrowed"] is False
    assert cpu(document, "T14")["status"] == "holds"


def test_a_slow_test_not_selected_makes_its_claim_partial_or_skipped(project):
    document = run(project)
    assert cpu(document, "N11")["status"] == "skipped"  # its only test: nothing ran
    assert cpu(document, "N11")["skipped"] == 1


def test_an_incomplete_run_never_replaces_a_narrowed_runs_complete_file_either(project):
    run(project, "-k", "out_of_place")
    text = (project.path / "claims.json").read_text()
    (project.path / "tests" / "test_zz_interrupt.py").write_text(
        'import pytest\n\n@pytest.mark.claim("A01")\n'
        "def test_ctrl_c():\n    raise KeyboardInterrupt\n"
    )
    project.runpytest("--claims-json", "claims.json", no_reraise_ctrlc=True)
    assert (project.path / "claims.json").read_text() == text
    assert json.loads((project.path / "claims.incomplete.json").read_text())["complete"] is False


# ----------------------------------------------------------------------------------------------
# Claim tests without a device argument run on the cpu


def test_without_the_cpu_a_test_that_takes_no_device_is_skipped_saying_so(project, monkeypatch):
    # A machine whose "cuda" is present (the tests here take the device as a name only).
    real = devices.unavailable_reason
    monkeypatch.setattr(devices, "unavailable_reason", lambda d: None if d == "cuda" else real(d))
    monkeypatch.setattr(devices, "device_name", lambda d: f"a {d}")
    result = project.runpytest("--claims-json=c.json", "--device", "cuda", "-rs")
    result.stdout.fnmatch_lines(
        ["SKIPPED * runs on the cpu (it takes no device), which this run does not select "
         "(devices: cuda): no result"]
    )  # fmt: skip
    document = json.loads((project.path / "c.json").read_text())
    assert [d["type"] for d in document["devices"]] == ["cuda"]
    n10 = document["claims"]["N10"]["results"]["cuda"]
    assert (n10["status"], n10["ran"]) == ("holds", 1)  # its device test; the other is cpu's


# ----------------------------------------------------------------------------------------------
# What the selection reads from the files it leaves out


def test_claims_are_read_from_markers_never_from_strings():
    source = HARNESS + '\n@pytest.mark.claim("T02", "T03")\ndef test_x():\n    pass\n'
    assert selection_files.claims_in_source(source) == {"T02", "T03"}
    assert selection_files.claims_in_source(AUTOGRAD) == {"A03", "T14"}


def test_a_claim_id_that_is_not_a_literal_makes_every_claim_uncertain():
    found = selection_files.claims_in_source(
        "import pytest\nIDS = ['T01']\npytestmark = pytest.mark.claim(*IDS)\n"
    )
    assert found == {selection_files.EVERY_CLAIM}
    left = selection_files.LeftOut()
    left.add(selection_files.EVERY_CLAIM, Path("x.py"))
    assert left.covers("C07")


# ----------------------------------------------------------------------------------------------
# The options: every path option in both forms; no generic name taken in other projects


@pytest.mark.parametrize("option", ["--cifar10-root", "--blitz-cifar10-root"])
def test_a_data_root_outside_the_project_collects_the_same_items_in_both_forms(
    project, tmp_path_factory, option
):
    root = tmp_path_factory.mktemp("cifar")
    (root / "test_stray.py").write_text("def test_stray():\n    pass\n")
    spaced = project.runpytest(option, str(root), "--collect-only", "--no-claims-matrix")
    joined = project.runpytest(f"{option}={root}", "--collect-only", "--no-claims-matrix")
    assert spaced.ret == joined.ret == pytest.ExitCode.OK, spaced.stdout.str()
    items = [line.strip() for line in spaced.stdout.lines if "<Function" in line]
    assert items == [line.strip() for line in joined.stdout.lines if "<Function" in line]
    assert len(items) == 14 and not any("test_stray" in line for line in items)
    for result in (spaced, joined):
        result.stdout.fnmatch_lines([f"rootdir: {project.path}", "configfile: pyproject.toml"])


THEIR_CONFTEST = """
def pytest_addoption(parser):
    parser.addoption("--device", default="gpu0", help="their own device option")
    parser.addoption("--claims-json", action="store_true", help="their own flag")


def pytest_report_header(config):
    return f"their device: {config.getoption('device')}"
"""


def test_a_project_with_its_own_device_option_runs_with_blitz_installed(pytester):
    """blitz's entry point loads (it is installed here) and takes no name such a project uses."""
    pytester.makeconftest(THEIR_CONFTEST)
    pytester.makepyfile(
        test_theirs="def test_theirs(pytestconfig):\n"
        "    assert pytestconfig.getoption('device') == 'gpu1'\n"
    )
    result = pytester.runpytest_subprocess("--device", "gpu1", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["their device: gpu1"])
    result.stdout.fnmatch_lines(["plugins: *blitz-*"])


# ----------------------------------------------------------------------------------------------
# An interrupt ends the whole run


INTERRUPT_IN_CONFIGURE = """
import os
import signal

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    os.kill(os.getpid(), signal.SIGINT)
"""


@pytest.mark.parametrize("where", ["configure", "test"])
def test_a_ctrl_c_during_an_inner_run_interrupts_this_run(pytester, where):
    if where == "configure":  # before pytester's recorder exists: pytester alone loses it
        pytester.makeconftest(INTERRUPT_IN_CONFIGURE)
        pytester.makepyfile(test_x="def test_x():\n    pass\n")
    else:
        pytester.makepyfile(
            test_x="import os, signal\n\ndef test_x():\n    os.kill(os.getpid(), signal.SIGINT)\n"
        )
    with pytest.raises(KeyboardInterrupt):
        pytester.runpytest("-p", "no:cacheprovider")


# ----------------------------------------------------------------------------------------------
# The matrix as text


def _document(cells: dict[str, matrix.Cell], cuda: bool = False) -> matrix.RunDocument:
    from blitz import claims as catalogue

    device_list = [matrix.Device("cpu", True, name="a cpu")]
    device_list.append(
        matrix.Device("cuda", True, name="a gpu") if cuda
        else matrix.Device("cuda", False, reason="CUDA unavailable: no GPU")
    )  # fmt: skip
    claims = {}
    for claim in catalogue.tested():
        cell = cells.get(claim.id, matrix.Cell(matrix.NOT_RUN, "no test"))
        cuda_cell = (
            matrix.Cell(matrix.SKIPPED, "CUDA unavailable: no GPU") if claim.id in cells else cell
        )
        claims[claim.id] = matrix.ClaimResult(
            claim.id, claim.statement, claim.section, claim.kind,
            {"cpu": cell, "cuda": cuda_cell}, claim.revision,
        )  # fmt: skip
    return matrix.RunDocument("2.14", "0.29", "3.11", "Linux", device_list, claims)


LONG_ERROR = matrix.Cell(
    matrix.ERROR, "/data/train.npz: array 'data' is corrupt (CRC); copy the file again",
    tests=("a", "b", "c"), ran=2, skipped=1, not_run_reason="1 slow: run with --run-slow",
)  # fmt: skip


@pytest.mark.parametrize("width", [80, 100, 157])
def test_the_matrix_fits_the_terminal(width):
    cells = {"T01": matrix.Cell(matrix.HOLDS), "C06": LONG_ERROR}
    lines = matrix.render(_document(cells, cuda=True), width=width)
    table = lines[lines.index("") + 1 :]
    rows = [line for line in table[: table.index("")]]
    assert len(rows) == 3 and all(len(line) <= width for line in rows)


def test_a_missing_device_is_one_line_above_the_table_not_a_column():
    lines = matrix.render(_document({"T01": matrix.Cell(matrix.HOLDS)}), width=120)
    assert "cuda: no column, not here: CUDA unavailable: no GPU" in lines
    header = next(line for line in lines if line.startswith("id "))
    assert header.split()[-1] == "cpu"


def test_a_cut_cell_keeps_its_whole_text_in_its_footnote():
    lines = matrix.render(_document({"C06": LONG_ERROR}), width=80)
    row = next(line for line in lines if line.startswith("C06"))
    assert "…" in row
    number = row.rsplit("[", 1)[1].rstrip("]")
    assert (
        f"[{number}] error: /data/train.npz: array 'data' is corrupt (CRC); copy the file "
        "again; not run: 1 slow: run with --run-slow" in lines
    )


def test_partial_is_counted_apart_from_holds():
    partial = matrix.summarize(
        [
            matrix.TestOutcome("a", matrix.Outcome.PASSED),
            matrix.TestOutcome("b", matrix.Outcome.SKIPPED, "slow"),
        ]
    )
    assert partial.status == matrix.PARTIAL
    assert matrix.cell_text(partial) == "partial (1 of 2 tests ran)"
    lines = matrix.render(_document({"T01": partial, "T02": matrix.Cell(matrix.HOLDS)}))
    assert lines[-1].startswith("2 claims x 1 device: 1 partial, 1 holds;")


def test_a_narrowed_cell_that_ran_all_it_collected_is_still_partial():
    cell = matrix.summarize(
        [matrix.TestOutcome("a", matrix.Outcome.PASSED)], narrowed="test paths: x.py"
    )
    assert cell.status == matrix.PARTIAL
    assert matrix.cell_text(cell) == "partial (1 test ran, narrowed run)"


def test_the_readme_quotes_what_each_status_means():
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    for status, meaning in matrix.STATUS_MEANINGS.items():
        assert f"| {meaning} |" in readme, status
