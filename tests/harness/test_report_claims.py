"""``python -m blitz.report claims``: the claims JSON of several runs merged into one matrix,
claim x torch version (x device where there are several), with the drift notes.

The fixtures in ``data/claims`` are small claims files as ``pytest --claims-json`` writes them:
torch 2.14.1 and 2.0.1 on a machine without a GPU, and torch 2.14.1 on one with a GPU.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from blitz import claims as catalogue
from blitz import matrix
from blitz.report import ReportError, claims_markdown
from blitz.report import claims as report

pytest_plugins = ["pytester"]

DATA = Path(__file__).parent / "data" / "claims"
NEW = DATA / "torch-2.14.1-cpu.json"
OLD = DATA / "torch-2.0.1-cpu.json"
GPU = DATA / "torch-2.14.1-gpu.json"


def merged(*paths: Path) -> report.Matrix:
    return report.merge([report.load(p) for p in paths])


def cell(matrix: report.Matrix, claim_id: str, column: str) -> tuple[str, str]:
    """(status, note text or "") of one claim in the column labelled ``column``."""
    labels = [c.label for c in matrix.columns]
    row = next(r for r in matrix.rows if r.claim_id == claim_id)
    merged = row.cells[labels.index(column)]
    notes = {n.number: n.text for n in matrix.notes}
    return merged.status, notes.get(merged.number, "")


def run_cli(*args: str) -> int:
    parser = argparse.ArgumentParser()
    report.add_arguments(parser)
    parsed = parser.parse_args(list(args))
    return parsed.run(parsed)


def write_json(path: Path, document) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def fixture(path: Path = NEW) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


# ----------------------------------------------------------------------------------------------
# The matrix


def test_every_tested_catalogue_claim_has_a_cell_for_every_version():
    matrix = merged(NEW, OLD)
    assert [r.claim_id for r in matrix.rows] == [c.id for c in catalogue.tested()]
    assert all(len(r.cells) == 2 for r in matrix.rows)


def test_a_claim_a_run_did_not_test_shows_as_not_run():
    matrix = merged(NEW, OLD)
    assert cell(matrix, "C07", "2.0.1+cu117") == (report.MISSING, "")
    assert cell(matrix, "A01", "2.14.1+cu130") == (report.MISSING, "")


def test_columns_are_torch_versions_newest_first_whatever_the_file_order():
    matrix = merged(OLD, NEW)
    assert [c.label for c in matrix.columns] == ["2.14.1+cu130", "2.0.1+cu117"]


def test_versions_sort_by_number_not_as_text():
    versions = ["2.9.1", "2.14.1+cu130", "2.0.1", "2.13.0", "nightly"]
    assert sorted(versions, key=report.version_key) == [
        "2.14.1+cu130",
        "2.13.0",
        "2.9.1",
        "2.0.1",
        "nightly",
    ]


def test_drift_shows_per_version_with_each_versions_note():
    matrix = merged(NEW, OLD)
    for version in ("2.14.1+cu130", "2.0.1+cu117"):
        status, text = cell(matrix, "N10", version)
        assert status == "drift"
        assert text.startswith("drift: the tutorial prints None; torch " + version)


def test_a_claim_that_fails_on_one_version_shows_the_error_and_its_test():
    matrix = merged(NEW, OLD)
    assert cell(matrix, "N05", "2.14.1+cu130")[0] == "drift"
    status, text = cell(matrix, "N05", "2.0.1+cu117")
    assert status == "fails"
    assert text == (
        "FAILS: AssertionError: LeNet accepted an unbatched input | expected a RuntimeError "
        "(tests: tests/test_nn.py::test_unbatched_input[cpu])"
    )


def test_a_finding_beside_holds_is_kept():
    status, text = cell(merged(NEW), "C07", "2.14.1+cu130")
    assert (status, text) == ("holds", "holds: test accuracy 55.9% on the offline copy")


def test_an_accelerator_claim_on_a_machine_without_a_gpu_shows_the_skip_of_its_own_device():
    status, text = cell(merged(NEW), "T07", "2.14.1+cu130")
    assert status == "skipped"
    assert text.startswith("skipped: CUDA unavailable: no GPU visible to torch 2.14.1+cu130")


def test_a_cpu_only_claim_shows_its_cpu_result_on_a_machine_without_a_gpu():
    assert cell(merged(NEW), "T15", "2.14.1+cu130") == ("holds", "")


def test_one_column_per_version_when_no_run_had_a_second_device():
    matrix = merged(NEW, OLD)
    assert matrix.devices == []
    assert [c.device for c in matrix.columns] == [None, None]


def test_a_run_with_several_devices_splits_every_version_by_device():
    matrix = merged(OLD, GPU)
    assert [c.label for c in matrix.columns] == [
        "2.14.1+cu130 cpu",
        "2.14.1+cu130 cuda",
        "2.0.1+cu117 cpu",
        "2.0.1+cu117 cuda",
    ]
    assert cell(matrix, "T07", "2.14.1+cu130 cuda") == ("holds", "")
    assert cell(matrix, "T07", "2.14.1+cu130 cpu") == (
        "skipped",
        "skipped: a claim about an accelerator: no cpu result",
    )
    status, text = cell(matrix, "T01", "2.0.1+cu117 cuda")
    assert status == "skipped" and "CUDA unavailable" in text


def test_runs_of_one_torch_version_are_told_apart_by_file_name():
    matrix = merged(NEW, GPU)
    assert [c.label for c in matrix.columns] == [
        "2.14.1+cu130 (torch-2.14.1-cpu) cpu",
        "2.14.1+cu130 (torch-2.14.1-cpu) cuda",
        "2.14.1+cu130 (torch-2.14.1-gpu) cpu",
        "2.14.1+cu130 (torch-2.14.1-gpu) cuda",
    ]


def test_one_note_in_several_columns_is_numbered_once():
    matrix = merged(GPU)
    drift = [n for n in matrix.notes if n.claim_id == "N10"]
    assert len(drift) == 1
    assert drift[0].columns == ["2.14.1+cu130 cpu", "2.14.1+cu130 cuda"]
    row = next(r for r in matrix.rows if r.claim_id == "N10")
    assert [(c.status, c.number) for c in row.cells] == [("drift", drift[0].number)] * 2


def test_a_claim_id_the_catalogue_lacks_is_kept_after_the_catalogue(tmp_path):
    document = fixture()
    document["claims"]["Z99"] = {
        "statement": "a claim from a newer catalogue",
        "section": "nn",
        "kind": "plain",
        "results": {"cpu": {"status": "holds", "note": "", "tests": ["t[cpu]"], "ran": 1}},
    }
    matrix = merged(write_json(tmp_path / "z.json", document))
    assert matrix.rows[-1].claim_id == "Z99"
    assert matrix.rows[-1].statement == "a claim from a newer catalogue"
    assert cell(matrix, "Z99", "2.14.1+cu130") == ("holds", "")


def test_the_report_words_a_cell_as_the_plugins_matrix_does():
    """One vocabulary (blitz.matrix): the merged note starts with the single-run cell text."""
    for status in matrix.STATUSES:
        one = matrix.Cell(status, "why", ("t[cpu]",), ran=1)
        assert report.note_text(one).startswith(matrix.cell_text(one))


def test_the_report_and_the_plugin_share_one_vocabulary():
    source = Path(report.__file__).read_text(encoding="utf-8")
    for literal in ('"fails"', '"holds"', '"drift"', '"FAILS"'):
        assert literal not in source


def test_merging_does_not_import_torch():
    code = (
        "import sys; from blitz.report import claims as r; "
        f"r.merge([r.load(r.Path({str(NEW)!r}))]); print('torch' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout == "False\n"


# ----------------------------------------------------------------------------------------------
# Output


def test_the_terminal_table_has_a_column_per_version_and_the_notes_per_claim(capsys):
    assert run_cli(str(OLD), str(NEW)) == 0
    out = capsys.readouterr().out.splitlines()
    header = next(line for line in out if line.startswith("id "))
    assert header.split()[-2:] == ["2.14.1+cu130", "2.0.1+cu117"]
    n05 = next(line for line in out if line.startswith("N05"))
    assert n05.split()[-4:] == ["drift", "[3]", "FAILS", "[4]"]
    n10 = out.index("N10:")
    assert out[n10 + 1].startswith("  [5] 2.14.1+cu130: drift: the tutorial prints None")
    assert out[n10 + 2].startswith("  [6] 2.0.1+cu117: drift: the tutorial prints None")


def test_markdown_has_the_runs_a_row_per_claim_and_the_notes(tmp_path):
    path = tmp_path / "docs" / "claims-by-version.md"
    assert run_cli(str(NEW), str(OLD), "--markdown", str(path)) == 0
    lines = path.read_text(encoding="utf-8").splitlines()
    assert "| id | claim | revision | 2.14.1+cu130 | 2.0.1+cu117 |" in lines
    rows = [line for line in lines if line.startswith("| ") and line[2:5] in catalogue.CLAIMS]
    assert [row[2:5] for row in rows] == [c.id for c in catalogue.tested()]
    assert (
        "| N05 | 'torch.nn only supports mini-batches': use unsqueeze(0) "
        "| both | drift [3] | **FAILS [4]** |" in lines
    )
    # A table cell may not hold a raw "|": the failure message's is escaped.
    assert any(
        line.startswith(
            "- [4] 2.0.1+cu117: FAILS: AssertionError: LeNet accepted an unbatched "
            "input \\| expected a RuntimeError"
        )
        for line in lines
    )
    run_rows = [line for line in lines if line.startswith("| 2.")]
    assert [row.split(" | ")[-3:] for row in run_rows] == [
        [
            "cifar10: the offline copy (JPEG-compressed pixels)",
            "complete",
            "torch-2.14.1-cpu.json |",
        ],
        ["", "complete", "torch-2.0.1-cpu.json |"],
    ]


def test_each_row_says_which_revision_of_the_tutorial_states_the_claim():
    matrix = merged(NEW, OLD)
    revisions = {row.claim_id: row.revision for row in matrix.rows}
    assert revisions == {c.id: c.revision for c in catalogue.tested()}
    assert (revisions["C02"], revisions["N12"]) == ("snapshot", "both")


def test_the_terminal_table_has_a_revision_column(capsys):
    assert run_cli(str(NEW)) == 0
    out = capsys.readouterr().out.splitlines()
    header = next(line for line in out if line.startswith("id "))
    assert header.split()[:3] == ["id", "claim", "revision"]
    for claim_id, revision in (("T07", "snapshot"), ("T01", "both")):
        row = next(line for line in out if line.startswith(claim_id))
        assert row[3 + 2 + report.STATEMENT_WIDTH + 2 :].split()[0] == revision, row


def test_markdown_shows_the_revision_of_every_claim_and_what_it_means(tmp_path):
    path = tmp_path / "claims-by-version.md"
    assert run_cli(str(NEW), "--markdown", str(path)) == 0
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    rows = {
        line[2:5]: line.split(" | ")
        for line in lines
        if line.startswith("| ") and line[2:5] in catalogue.CLAIMS
    }
    assert {claim_id: row[2] for claim_id, row in rows.items()} == {
        c.id: c.revision for c in catalogue.tested()
    }
    assert "| | *total* | | " in text
    # The legend says what each revision is, and whose printed values the goldens are.
    legend = " ".join(text.split())
    assert "**snapshot**" in legend and "**2026**" in legend and "**both**" in legend
    assert "The goldens are the snapshot's printed values" in legend


def test_a_file_without_revisions_takes_the_catalogues(tmp_path):
    """Files of schema 2 written before blitz recorded the revision still load."""
    document = fixture()
    for entry in document["claims"].values():
        entry.pop("revision", None)
    document["claims"]["Z99"] = {
        "statement": "a claim from another catalogue", "section": "nn", "kind": "plain",
        "results": {"cpu": {"status": "holds", "note": "", "tests": ["t[cpu]"], "ran": 1}},
    }  # fmt: skip
    run = report.load(write_json(tmp_path / "old.json", document))
    assert run.claims["T07"].revision == "snapshot"
    assert run.claims["Z99"].revision == ""
    row = next(r for r in report.merge([run]).rows if r.claim_id == "Z99")
    assert row.revision == ""
    assert "| Z99 | a claim from another catalogue | ? |" in claims_markdown.render_markdown(
        report.merge([run])
    )


def test_a_claim_the_catalogue_lacks_keeps_the_revision_its_file_gives(tmp_path):
    document = fixture()
    document["claims"]["Z98"] = {
        "statement": "a claim of a later revision", "section": "nn", "kind": "plain",
        "revision": "2026",
        "results": {"cpu": {"status": "holds", "note": "", "tests": ["t[cpu]"], "ran": 1}},
    }  # fmt: skip
    matrix = merged(write_json(tmp_path / "z.json", document))
    assert matrix.rows[-1].claim_id == "Z98" and matrix.rows[-1].revision == "2026"


def test_the_revision_survives_a_round_trip_through_json(tmp_path):
    run = report.load(NEW)
    run.claims["T01"].revision = "both"
    path = tmp_path / "again.json"
    matrix.dump(run, path)
    assert json.loads(path.read_text())["claims"]["T01"]["revision"] == "both"
    assert matrix.load(path).claims["T01"].revision == "both"


def test_a_directory_stands_for_the_json_files_in_it(tmp_path):
    for path in (NEW, OLD):
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "readme.txt").write_text("not a claims file", encoding="utf-8")
    matrix = report.merge([report.load(p) for p in report.expand([str(tmp_path)])])
    assert [c.label for c in matrix.columns] == ["2.14.1+cu130", "2.0.1+cu117"]


BENCH = Path(__file__).parent / "data" / "bench" / "cpu_only.json"  # a pytest-benchmark run


def test_a_directory_skips_a_json_file_that_is_not_a_claims_file_saying_so(tmp_path, capsys):
    shutil.copy(NEW, tmp_path / "a.json")
    shutil.copy(BENCH, tmp_path / "bench.json")
    (tmp_path / "sub").mkdir()
    write_json(tmp_path / "sub" / "empty.json", {})
    write_json(tmp_path / "sub" / "list.json", [])
    assert report.expand([str(tmp_path)]) == [tmp_path / "a.json"]
    assert capsys.readouterr().err.splitlines() == [
        f"skipped {tmp_path / 'bench.json'}: not a claims file (a pytest-benchmark file: an "
        "object with neither 'schema' nor 'claims')",
        f"skipped {tmp_path / 'sub' / 'empty.json'}: not a claims file (an object with neither "
        "'schema' nor 'claims')",
        f"skipped {tmp_path / 'sub' / 'list.json'}: not a claims file (the document should be an "
        "object, not list)",
    ]


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "blitz.report", "claims", *args],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_the_command_line_merges_a_directory_with_a_benchmark_file_in_it(tmp_path):
    shutil.copy(NEW, tmp_path / "torch214.json")
    shutil.copy(BENCH, tmp_path / "0001_bench.json")
    result = cli(str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stderr == (
        f"skipped {tmp_path / '0001_bench.json'}: not a claims file (a pytest-benchmark file: "
        "an object with neither 'schema' nor 'claims')\n"
    )
    assert str(tmp_path / "torch214.json") in result.stdout  # the run, merged
    assert "0001_bench" not in result.stdout


def test_a_file_named_that_is_not_a_claims_file_is_an_error_naming_it(tmp_path):
    empty = write_json(tmp_path / "empty.json", {})
    result = cli(str(NEW), str(empty))
    assert result.returncode == 2
    assert result.stderr == (
        f"python -m blitz.report claims: error: {empty}: an object with neither 'schema' nor "
        "'claims': not a claims file; expected the file that pytest --claims-json writes\n"
    )
    assert result.stdout == ""
    assert cli(str(BENCH)).stderr.startswith(
        f"python -m blitz.report claims: error: {BENCH}: a pytest-benchmark file: "
    )


def test_a_directory_of_json_files_none_of_them_claims_files_is_an_error(tmp_path):
    shutil.copy(BENCH, tmp_path / "bench.json")
    write_json(tmp_path / "empty.json", {})
    result = cli(str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        f"python -m blitz.report claims: error: {tmp_path}: a directory with no claims files "
        "in it (2 other *.json files skipped)"
    )
    assert len(result.stderr.splitlines()) == 3  # a line per skipped file, then the error
    assert result.stdout == ""


def test_a_claims_file_of_another_schema_in_a_directory_is_an_error_not_skipped(tmp_path):
    shutil.copy(NEW, tmp_path / "a.json")
    older = fixture()
    older["schema"] = 1
    path = write_json(tmp_path / "old.json", older)
    result = cli(str(tmp_path))
    assert result.returncode == 2
    assert result.stderr == (
        f"python -m blitz.report claims: error: {path}: schema 1, expected 3 or 4: "
        "written by another version of blitz; run pytest --claims-json again\n"
    )


def test_a_json_file_in_a_directory_that_does_not_parse_is_an_error_not_skipped(tmp_path):
    shutil.copy(NEW, tmp_path / "a.json")
    cut = bad(tmp_path, NEW.read_text(encoding="utf-8")[:200])  # may be a claims file, cut off
    result = cli(str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.startswith(f"python -m blitz.report claims: error: {cut}: not JSON")


def test_the_real_plugin_output_merges(holds_and_drift_suite):
    pytester = holds_and_drift_suite
    pytester.runpytest("--claims-json", "run.json", "--device", "cpu")
    matrix = merged(pytester.path / "run.json")
    column = matrix.columns[0].label
    assert cell(matrix, "T01", column) == ("holds", "")
    drift = ("drift", "drift: the tutorial prints None; this torch too")
    assert cell(matrix, "N10", column) == drift
    assert cell(matrix, "N05", column) == (report.MISSING, "")


def test_help_names_the_files_and_the_markdown_option_with_its_default(capsys):
    with pytest.raises(SystemExit):
        run_cli("--help")
    out = " ".join(capsys.readouterr().out.split())
    assert "FILE [FILE ...]" in out
    assert "--markdown PATH" in out and "Default: terminal only." in out


# ----------------------------------------------------------------------------------------------
# Bad inputs: a ReportError that names the file


def bad(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    return path


def mutated(tmp_path: Path, change) -> Path:
    document = fixture()
    change(document)
    return write_json(tmp_path / "bad.json", document)


def test_a_missing_file_is_named():
    with pytest.raises(ReportError, match=r"^nowhere\.json: no such file$"):
        report.expand(["nowhere.json"])


def test_a_directory_without_claims_files_is_named(tmp_path):
    with pytest.raises(ReportError, match="a directory with no \\*.json claims files"):
        report.expand([str(tmp_path)])


def test_a_file_that_is_not_json_is_named(tmp_path):
    path = bad(tmp_path, "torch 2.14.1: all claims hold\n")
    with pytest.raises(ReportError, match=rf"^{path}: not JSON \(Expecting value, line 1\)"):
        report.load(path)


def test_a_json_list_is_not_a_claims_file(tmp_path):
    path = bad(tmp_path, "[]")
    with pytest.raises(ReportError, match=rf"^{path}: the document should be an object, not list"):
        report.load(path)


def test_a_document_without_torch_is_named(tmp_path):
    path = mutated(tmp_path, lambda d: d.pop("torch"))
    with pytest.raises(ReportError, match=rf"^{path}: the document has no 'torch'"):
        report.load(path)


def test_an_unknown_status_is_named_with_its_claim_and_device(tmp_path):
    def change(document):
        document["claims"]["T01"]["results"]["cpu"]["status"] = "passed"

    path = mutated(tmp_path, change)
    with pytest.raises(
        ReportError,
        match=rf"^{path}: claim T01, device cpu: unknown status 'passed' "
        r"\(expected one of fails, error, drift, partial, holds, skipped, absent, not_run\)$",
    ):
        report.load(path)


def test_a_result_for_an_undeclared_device_is_named(tmp_path):
    def change(document):
        document["claims"]["T01"]["results"]["mps"] = document["claims"]["T01"]["results"]["cpu"]

    path = mutated(tmp_path, change)
    with pytest.raises(ReportError, match=rf"^{path}: claim T01, device mps: a device missing"):
        report.load(path)


def test_a_run_fact_that_is_not_text_is_named(tmp_path):
    path = mutated(tmp_path, lambda d: d.update(run={"cifar10": 1}))
    with pytest.raises(ReportError, match=rf"^{path}: run fact 'cifar10' should be a string"):
        report.load(path)


def test_results_that_are_not_an_object_are_named(tmp_path):
    path = mutated(tmp_path, lambda d: d["claims"]["N10"].update(results=["drift"]))
    with pytest.raises(ReportError, match=rf"^{path}: claim N10: 'results' should be an object"):
        report.load(path)


def test_the_command_line_prints_the_error_and_exits_2(tmp_path):
    path = bad(tmp_path, "{")
    result = subprocess.run(
        [sys.executable, "-m", "blitz.report", "claims", str(NEW), str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"python -m blitz.report claims: error: {path}: not JSON")
    assert result.stdout == ""


# ----------------------------------------------------------------------------------------------
# Statuses of schema 2: error, partial results, incomplete runs


def _set_cell(document: dict, claim_id: str, device: str, **cell) -> None:
    document["claims"][claim_id]["results"][device].update(cell)


def test_an_error_is_its_own_status_never_fails(tmp_path):
    document = fixture()
    _set_cell(
        document, "C07", "cpu", status="error", ran=1,
        note="/data/test.npz: not a readable .npz (zip) file: truncated",
    )  # fmt: skip
    matrix_ = merged(write_json(tmp_path / "run.json", document))
    status, text = cell(matrix_, "C07", "2.14.1+cu130")
    assert status == "error"
    assert text.startswith("error: /data/test.npz: not a readable .npz (zip) file")
    counts = report.render_text(matrix_)
    assert "2.14.1+cu130: " in "\n".join(counts) and "1 error" in "\n".join(counts)


def test_a_partial_cell_says_how_many_tests_ran_and_why_not_the_others(tmp_path):
    document = fixture()
    _set_cell(
        document, "T01", "cpu", status="partial", ran=2, skipped=1,
        tests=["a[cpu]", "b[cpu]", "c[cpu]"], not_run_reason="1 slow: run with --run-slow",
    )  # fmt: skip
    matrix_ = merged(write_json(tmp_path / "run.json", document))
    row = next(r for r in matrix_.rows if r.claim_id == "T01")
    assert row.cells[0].label == "partial (2 of 3)"
    status, text = cell(matrix_, "T01", "2.14.1+cu130")
    assert status == matrix.PARTIAL
    assert text == "partial (2 of 3 tests ran): not run: 1 slow: run with --run-slow"
    lines = report.render_text(matrix_)
    assert any(line.startswith("2.14.1+cu130: ") and "1 partial" in line for line in lines)


def test_a_narrowed_run_is_marked_in_the_runs_and_its_column(tmp_path):
    document = fixture()
    document.update(narrowed=True, selection=["-k out_of_place"])
    matrix_ = merged(write_json(tmp_path / "run.json", document))
    assert [c.label for c in matrix_.columns] == ["2.14.1+cu130 (narrowed)"]
    assert "      complete; NARROWED: -k out_of_place" in report.render_text(matrix_)


def test_an_incomplete_run_is_marked_in_the_runs_and_its_column(tmp_path):
    document = fixture()
    document.update(complete=False, exit_status=2, incomplete_reason="interrupted (exit status 2)")
    matrix_ = merged(write_json(tmp_path / "run.json", document))
    assert [c.label for c in matrix_.columns] == ["2.14.1+cu130 (incomplete)"]
    lines = report.render_text(matrix_)
    assert "      INCOMPLETE: interrupted (exit status 2)" in lines
    path = tmp_path / "m.md"
    assert run_cli(str(tmp_path / "run.json"), "--markdown", str(path)) == 0
    markdown = path.read_text(encoding="utf-8")
    assert "| 2.14.1+cu130 (incomplete) |" in markdown
    assert "INCOMPLETE: interrupted (exit status 2)" in markdown


def test_a_file_of_another_schema_is_named(tmp_path):
    path = mutated(tmp_path, lambda d: d.pop("schema"))
    with pytest.raises(
        ReportError, match=rf"^{path}: no 'schema', expected 3 or 4: written by another"
    ):
        report.load(path)


def test_an_unknown_revision_is_named_with_its_claim(tmp_path):
    def change(document):
        document["claims"]["T01"]["revision"] = "2019"

    with pytest.raises(
        ReportError,
        match=r"claim T01: unknown revision '2019' \(expected one of "
        r"snapshot, 2026, both\)",
    ):
        report.load(mutated(tmp_path, change))


def test_a_count_that_is_not_an_integer_is_named(tmp_path):
    path = mutated(tmp_path, lambda d: _set_cell(d, "T01", "cpu", ran=True))
    with pytest.raises(ReportError, match=rf"^{path}: claim T01, device cpu: 'ran' should be an"):
        report.load(path)
