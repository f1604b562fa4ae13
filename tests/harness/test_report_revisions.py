"""``python -m blitz.report claims`` with tutorial columns (``tutorial:LABEL``, schema 4): the
merged matrix across revisions and torch versions, ``absent``, and ``--revisions-markdown``.

The run documents are built here with ``blitz.matrix``'s model and written with ``matrix.dump``
(no torch); the schema-3 fixtures of ``data/claims`` stand for runs written before tutorial
columns existed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from blitz import claims as catalogue
from blitz import matrix
from blitz.matrix import Cell, ClaimResult, Device, RunDocument
from blitz.report import ReportError, revisions
from blitz.report import claims as report
from blitz.report.__main__ import main

DATA = Path(__file__).parent / "data" / "claims"
SCHEMA3_CPU = DATA / "torch-2.14.1-cpu.json"
SCHEMA3_GPU = DATA / "torch-2.14.1-gpu.json"

OLD_REV, NEW_REV = "tutorial:2793639", "tutorial:main"
NO_ACCELERATOR = "no torch.accelerator in the revision's code"
ABSENT = Cell(matrix.ABSENT, NO_ACCELERATOR, ("tutorial[T18]",), skipped=1)
HOLDS = Cell(matrix.HOLDS, "", ("t[cpu]",), ran=1)


def cells(torch: str, label: str) -> dict[str, Cell]:
    """The cells of T01, T07 and T18 in one tutorial column: the old revision lacks T18."""
    drift = f"the tutorial prints float32; torch {torch} at {label} prints float64"
    return {
        "T01": Cell(matrix.DRIFT, drift, ("tutorial[T01]",), ran=1),
        "T07": Cell(matrix.HOLDS, "", ("tutorial[T07]",), ran=1),
        "T18": ABSENT if label == OLD_REV else Cell(matrix.HOLDS, "", ("tutorial[T18]",), ran=1),
    }


def document(
    torch: str, columns: list[str], device: str | None = "cpu", schema: int | None = None
) -> RunDocument:
    devices = [Device(device, True, "AMD EPYC")] if device else []
    devices += [Device(c, True, f"{c[9:]} at /src/tutorials, seed 42") for c in columns]
    results = {c: cells(torch, c) for c in columns}
    claims = {}
    for claim_id in ("T01", "T07", "T18"):
        claim = catalogue.CLAIMS[claim_id]
        per_column = {c: results[c][claim_id] for c in columns}
        if device:
            per_column = {device: HOLDS, **per_column}
        claims[claim_id] = ClaimResult(
            claim_id, claim.statement, claim.section, claim.kind, per_column, claim.revision
        )
    facts = {f"{c} CIFAR-10": "not run (quick)" for c in columns}
    return RunDocument(torch, "0.1", "3.11.7", "Linux", devices, claims, facts=facts)


def written(tmp_path: Path, name: str, run: RunDocument) -> Path:
    path = tmp_path / f"{name}.json"
    matrix.dump(run, path)
    return path


def loaded(*paths: Path) -> list[RunDocument]:
    return [report.load(p) for p in paths]


def two_by_two(tmp_path: Path) -> list[Path]:
    """Two revisions under two torch versions, the older torch's file first."""
    return [
        written(tmp_path, "old", document("2.9.1", [OLD_REV, NEW_REV])),
        written(tmp_path, "new", document("2.14.1", [OLD_REV, NEW_REV])),
    ]


def cell(merged: report.Matrix, claim_id: str, column: str) -> tuple[str, str]:
    row = next(r for r in merged.rows if r.claim_id == claim_id)
    shown = row.cells[[c.label for c in merged.columns].index(column)]
    notes = {n.number: n.text for n in merged.notes}
    return shown.status, notes.get(shown.number, "")


# ----------------------------------------------------------------------------------------------
# The merged matrix


def test_two_revisions_under_two_torch_versions_are_four_tutorial_columns(tmp_path):
    merged = report.merge(loaded(*two_by_two(tmp_path)))
    assert [c.label for c in merged.columns] == [
        "2.14.1",
        "tutorial:2793639 (torch 2.14.1)",
        "tutorial:main (torch 2.14.1)",
        "2.9.1",
        "tutorial:2793639 (torch 2.9.1)",
        "tutorial:main (torch 2.9.1)",
    ]
    assert merged.devices == []  # cpu alone: one device column per run
    assert cell(merged, "T01", "2.14.1") == ("holds", "")  # the device's, not a tutorial's
    assert cell(merged, "T01", "tutorial:main (torch 2.9.1)") == (
        "drift",
        "drift: the tutorial prints float32; torch 2.9.1 at tutorial:main prints float64",
    )


def test_an_absent_claim_reads_absent_with_its_note_and_is_counted(tmp_path):
    merged = report.merge(loaded(*two_by_two(tmp_path)))
    absent = ("absent", f"absent: {NO_ACCELERATOR}")
    assert cell(merged, "T18", "tutorial:2793639 (torch 2.14.1)") == absent
    assert cell(merged, "T18", "tutorial:main (torch 2.14.1)") == ("holds", "")
    lines = report.render_text(merged)
    assert "tutorial:2793639 (torch 2.9.1): 1 drift, 1 holds, 1 absent, 53 not run" in lines
    t18 = lines.index("T18:")
    assert lines[t18 + 1] == (
        "  [5] tutorial:2793639 (torch 2.14.1), tutorial:2793639 (torch 2.9.1): "
        f"absent: {NO_ACCELERATOR}"
    )
    assert any("tutorial:LABEL (torch VERSION) is the tutorial's own" in line for line in lines)


def test_a_run_with_only_tutorial_columns_has_no_device_column(tmp_path):
    only = written(tmp_path, "only", document("2.14.1", [NEW_REV], device=None))
    merged = report.merge(loaded(only))
    assert [c.label for c in merged.columns] == ["tutorial:main (torch 2.14.1)"]


def test_schema_3_and_schema_4_files_merge_and_a_missing_device_reads_not_run(tmp_path):
    four = written(tmp_path, "four", document("2.9.1", [NEW_REV]))
    assert json.loads(four.read_text())["schema"] == 4
    assert json.loads(SCHEMA3_GPU.read_text())["schema"] == 3
    merged = report.merge(loaded(SCHEMA3_GPU, four))
    assert [c.label for c in merged.columns] == [
        "2.14.1+cu130 cpu",
        "2.14.1+cu130 cuda",
        "2.9.1 cpu",
        "2.9.1 cuda",
        "tutorial:main (torch 2.9.1)",
    ]
    assert merged.devices == ["cpu", "cuda"]  # a tutorial column is not a device
    assert cell(merged, "T07", "2.14.1+cu130 cuda") == ("holds", "")
    assert cell(merged, "T07", "2.9.1 cuda") == (report.MISSING, "")  # no cuda in that run
    assert cell(merged, "T07", "tutorial:main (torch 2.9.1)") == ("holds", "")


def test_a_schema_3_file_beside_tutorial_columns_of_one_device(tmp_path):
    four = written(tmp_path, "four", document("2.9.1", [OLD_REV]))
    merged = report.merge(loaded(SCHEMA3_CPU, four))
    assert [c.label for c in merged.columns] == [
        "2.14.1+cu130",
        "2.9.1",
        "tutorial:2793639 (torch 2.9.1)",
    ]


def test_a_tutorial_result_missing_from_devices_is_named(tmp_path):
    path = written(tmp_path, "run", document("2.9.1", [NEW_REV]))
    data = json.loads(path.read_text())
    data["devices"] = [d for d in data["devices"] if d["type"] != NEW_REV]
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ReportError, match=r"claim T01, device tutorial:main: a device missing"):
        report.load(path)


def test_a_tutorial_cell_with_part_unchecked_says_what_once():
    unchecked = Cell(
        matrix.PARTIAL, "", ("t",), ran=1, not_run_reason="not checked: the golden (seed 7)"
    )
    assert report.short_label(unchecked) == "partial (unchecked)"
    assert report.note_text(unchecked) == "partial (not checked: the golden (seed 7))"


# ----------------------------------------------------------------------------------------------
# --revisions-markdown


def test_the_revisions_page_for_two_revisions(tmp_path):
    files = [written(tmp_path, "run", document("2.14.1", [OLD_REV, NEW_REV]))]
    lines = revisions.render_revisions(loaded(*files)).splitlines()
    assert lines[0] == "# The 60 Minute Blitz's claims across tutorial revisions"
    assert f"- **absent**: {matrix.STATUS_MEANINGS[matrix.ABSENT]}" in lines
    runs = lines.index("## Runs")
    assert lines[runs + 2 : runs + 6] == [
        "| column | from | torch | torchvision | python | platform | state | file |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        "| 2793639 | 2793639 at /src/tutorials, seed 42 | 2.14.1 | 0.1 | 3.11.7 | Linux "
        "| complete | run.json |",
        "| main | main at /src/tutorials, seed 42 | 2.14.1 | 0.1 | 3.11.7 | Linux "
        "| complete | run.json |",
    ]
    table = lines.index("## Matrix") + 2
    t18 = catalogue.CLAIMS["T18"].statement
    assert lines[table : table + 3] == [
        "| id | claim | revision | 2793639 | main |",
        "| --- | --- | --- | --- | --- |",
        f"| T01 | {catalogue.CLAIMS['T01'].statement} | both | drift [1] | drift [2] |",
    ]
    assert f"| T18 | {t18} | 2026 | absent [3] | holds |" in lines
    assert "| T02 | " + catalogue.CLAIMS["T02"].statement + " | both | not run | not run |" in lines
    rows = [line for line in lines if line.startswith("| ") and line[2:5] in catalogue.CLAIMS]
    assert [row[2:5] for row in rows] == [c.id for c in catalogue.tested()]
    assert "| | *total* | | 1 drift, 1 holds, 1 absent, 53 not run | " in "\n".join(lines)
    facts = lines.index("Facts per column:")
    assert lines[facts + 2 : facts + 6] == [
        "- 2793639",
        "  - CIFAR-10: not run (quick)",
        "- main",
        "  - CIFAR-10: not run (quick)",
    ]
    notes = lines.index("## Notes")
    assert lines[notes + 2 :] == [
        f"**T01** {catalogue.CLAIMS['T01'].statement}",
        "",
        "- [1] 2793639: drift: the tutorial prints float32; torch 2.14.1 at tutorial:2793639 "
        "prints float64",
        "- [2] main: drift: the tutorial prints float32; torch 2.14.1 at tutorial:main prints "
        "float64",
        "",
        f"**T18** {t18}",
        "",
        f"- [3] 2793639: absent: {NO_ACCELERATOR}",
    ]


def test_revisions_under_two_torch_versions_are_a_column_each_in_the_order_given(tmp_path):
    merged = revisions.merge_revisions(loaded(*two_by_two(tmp_path)))
    assert [c.label for c in merged.columns] == [
        "2793639 (torch 2.9.1)",
        "main (torch 2.9.1)",
        "2793639 (torch 2.14.1)",
        "main (torch 2.14.1)",
    ]
    # One note for the one absence, numbered once, whichever torch ran the revision.
    assert [(n.text, n.columns) for n in merged.notes if n.claim_id == "T18"] == [
        (f"absent: {NO_ACCELERATOR}", ["2793639 (torch 2.9.1)", "2793639 (torch 2.14.1)"])
    ]


def test_only_the_files_with_tutorial_columns_make_the_revisions_page(tmp_path):
    four = written(tmp_path, "four", document("2.9.1", [NEW_REV]))
    merged = revisions.merge_revisions(loaded(SCHEMA3_CPU, four))
    assert [c.label for c in merged.columns] == ["main"]
    assert [r.path for r in merged.runs] == [four]


def test_the_command_line_writes_both_pages(tmp_path, capsys):
    page, merged_page = tmp_path / "out" / "revisions.md", tmp_path / "out" / "claims.md"
    files = [str(p) for p in two_by_two(tmp_path)]
    args = ["claims", *files, "--markdown", str(merged_page), "--revisions-markdown", str(page)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.endswith(f"\nwrote {merged_page}\n\nwrote {page}\n")
    assert "| id | claim | revision | 2793639 (torch 2.9.1) | main (torch 2.9.1) |" in (
        page.read_text(encoding="utf-8")
    )
    assert "| tutorial:2793639 (torch 2.14.1) |" in merged_page.read_text(encoding="utf-8")


def test_files_without_a_tutorial_column_are_an_error_before_any_output(tmp_path, capsys):
    page = tmp_path / "revisions.md"
    args = ["claims", str(SCHEMA3_CPU), str(SCHEMA3_GPU), "--revisions-markdown", str(page)]
    assert main(args) == 2
    out, err = capsys.readouterr()
    assert (out, err) == (
        "",
        f"python -m blitz.report claims: error: no tutorial column in {SCHEMA3_CPU}, "
        f"{SCHEMA3_GPU}: run pytest --tutorial-source PATH --claims-json FILE (PATH: a "
        "pytorch/tutorials checkout or its blitz folder) for a column per revision\n",
    )
    assert not page.exists()


def test_help_names_the_revisions_option(capsys):
    with pytest.raises(SystemExit):
        main(["claims", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--revisions-markdown PATH" in out and "a column per tutorial revision" in out
