"""``python -m blitz.report claims FILE...``: the claims matrices of several runs as one table.

Each FILE is what ``pytest --claims-json`` wrote for one run (one torch version, one machine);
a directory stands for every ``*.json`` in it (``tox`` leaves one per env in ``.tox/claims``).
The merged matrix has a row per catalogue claim and a column per torch version, newest first —
a column per torch version and device where the runs had more than one device available. A
claim that a run did not test shows as ``not run``, so every claim id appears for every version.
A run with ``--tutorial-source`` also has a column per tutorial revision, ``tutorial:LABEL``: the
tutorial's own scripts at that revision, run under the run's torch (``tutorial:2793639 (torch
2.14.1)``); the same revision under two torch versions is two columns. ``--revisions-markdown
PATH`` writes those columns alone as a page, a column per revision (``blitz.report.revisions``).
Each row says which revision of the tutorial states the claim (``blitz.claims``): the seeded
snapshot, the May 2026 revision, or both.

A cell has one of ``blitz.matrix``'s statuses (``STATUS_MEANINGS``): ``holds``, ``partial``,
``FAILS``, ``error``, ``drift``, ``skipped``, ``absent`` (a tutorial column only: the revision
does not state the claim) or ``not run``; a run that did not finish is marked
incomplete in the runs table and in its column's header, and one narrowed to part of the suite
(``-k``, test paths, ...) narrowed. The reason, the drift note or the finding behind a cell is a
numbered note, listed under the table per claim, so a drift claim reads as its behaviour version
by version. Printed to the terminal; ``--markdown PATH`` writes Markdown.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

from blitz import claims as catalogue
from blitz import matrix
from blitz.matrix.text import claim_table
from blitz.report import ReportError
from blitz.report import expand as expand_paths

# The statuses, cell wording and JSON schema are blitz.matrix's, shared with the plugin that
# writes the files (and torch-free). A claim missing from a run's file (an id the catalogue did
# not have when it ran) is not run there.
MISSING = matrix.NOT_RUN
STATEMENT_WIDTH = matrix.STATEMENT_WIDTH


# ----------------------------------------------------------------------------------------------
# Command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help=(
            "claims JSON written by pytest --claims-json, one per run; a directory stands for "
            "every *.json in it"
        ),
    )
    parser.add_argument(
        "--markdown",
        metavar="PATH",
        default=None,
        help="Also write the merged matrix as Markdown to PATH. Default: terminal only.",
    )
    parser.add_argument(
        "--revisions-markdown",
        metavar="PATH",
        default=None,
        help=(
            "Also write the tutorial columns (runs with pytest --tutorial-source) as Markdown to "
            "PATH: a row per claim, a column per tutorial revision (and torch version, where "
            "one revision ran under several), in the order the files give them. Default: none."
        ),
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from blitz.report.claims_markdown import render_markdown
    from blitz.report.revisions import render_revisions

    runs = [load(path) for path in expand(args.files)]
    pages = []
    if args.revisions_markdown:  # first: no tutorial column is an error before any output
        pages.append((args.revisions_markdown, render_revisions(runs, args.files)))
    merged = merge(runs)
    print("\n".join(render_text(merged)))
    if args.markdown:
        pages.insert(0, (args.markdown, render_markdown(merged)))
    for name, text in pages:
        path = Path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"\nwrote {path}")
    return 0


def expand(names: list[str]) -> list[Path]:
    """The claims files named, a directory standing for the claims files among its ``*.json``.

    In a directory, a JSON file that is not a claims file (a pytest-benchmark run, ``{}``: see
    ``not_a_claims_file``) is skipped with a line on stderr naming it and saying why. One that
    is a claims file by its keys is kept whatever its defects (another schema, a bad status),
    and so is one that cannot be read as JSON at all: it may be a claims file, and loading it
    names the fault rather than drop a run from the matrix unseen. A directory with no claims
    file in it is an error. A file named explicitly is kept: loading it says what is wrong.
    """
    paths: list[Path] = []
    for name in names:
        path = Path(name)
        found = expand_paths([name], "claims")
        if not path.is_dir():
            paths.extend(found)
            continue
        kept = []
        for file in found:
            why = not_a_claims_file(file)
            if why:
                print(f"skipped {file}: not a claims file ({why})", file=sys.stderr)
            else:
                kept.append(file)
        if not kept:
            raise ReportError(
                f"{path}: a directory with no claims files in it "
                f"({matrix.plural(len(found), 'other *.json file')} skipped)"
            )
        paths.extend(kept)
    return paths


# ----------------------------------------------------------------------------------------------
# Reading one run


def not_a_claims_file(path: Path) -> str:
    """Why the JSON file at ``path`` is not a claims file; "" where it is one or may be one.

    A claims file is a JSON object with ``schema`` and ``claims``: one with either key is taken
    for a claims file, of whatever schema or state. A file that cannot be read or parsed says
    nothing about its kind: "" (loading it names the fault).
    """
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return ""
    if not isinstance(document, dict):
        return f"the document should be an object, not {type(document).__name__}"
    if "schema" in document or "claims" in document:
        return ""
    why = "an object with neither 'schema' nor 'claims'"
    if isinstance(document.get("benchmarks"), list):
        why = f"a pytest-benchmark file: {why}"
    return why


def load(path: Path) -> matrix.RunDocument:
    """Read and check one claims JSON file; a ReportError names the file and what is wrong."""
    why = not_a_claims_file(path)
    if why:
        raise ReportError(
            f"{path}: {why}: not a claims file; expected the file that pytest --claims-json writes"
        )
    try:
        return matrix.load(path)
    except matrix.MatrixFileError as exc:
        raise ReportError(str(exc)) from None


# ----------------------------------------------------------------------------------------------
# Merging runs into one matrix


# A tutorial column's key, in a run's devices and its cells: ``tutorial:LABEL``, the verdicts of
# the tutorial's own scripts at one revision (LABEL: a short commit, a folder's name, a git ref).
TUTORIAL = matrix.TUTORIAL_PREFIX


def is_tutorial(device: str | None) -> bool:
    return device is not None and device.startswith(TUTORIAL)


def tutorial_columns(run: matrix.RunDocument) -> list[str]:
    """The run's tutorial columns (``tutorial:LABEL``), in the order of its devices."""
    return [d.type for d in run.devices if is_tutorial(d.type)]


@dataclass
class Column:
    run: matrix.RunDocument
    device: str | None  # None: one column per run, the result on whichever device ran the claim
    label: str

    @property
    def tutorial(self) -> str:
        """The tutorial revision's LABEL of a tutorial column; "" for a device's."""
        return self.device[len(TUTORIAL) :] if is_tutorial(self.device) else ""


@dataclass
class Note:
    number: int
    claim_id: str
    text: str
    columns: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class MergedCell:
    """One claim in one column: its status (or MISSING), the shown label, its note's number."""

    status: str
    label: str
    number: int | None = None

    @property
    def shown(self) -> str:
        return f"{self.label} [{self.number}]" if self.number is not None else self.label


@dataclass
class Row:
    claim_id: str
    statement: str
    kind: str
    cells: list[MergedCell]
    revision: str = ""  # which revision of the tutorial states it; "" when unknown


@dataclass
class Matrix:
    runs: list[matrix.RunDocument]
    columns: list[Column]
    rows: list[Row]
    notes: list[Note]
    devices: list[str]  # the devices with a column each; empty when one column per run
    labels: dict[int, str] = field(default_factory=dict)  # id(run) -> the run's label

    def label(self, run: matrix.RunDocument) -> str:
        return self.labels[id(run)]


def version_key(version: str) -> tuple:
    """Newest first: ``2.14.1+cu130`` sorts before ``2.9.1``; an odd version string sorts last."""
    match = re.match(r"\d+(?:\.\d+)*", version)
    if not match:
        return (1, (), version)
    return (0, tuple(-int(part) for part in match.group().split(".")), version)


def merge(runs: list[matrix.RunDocument]) -> Matrix:
    """The runs side by side: a row per claim, a column per run (and device, where several),
    then a column per tutorial revision of the run (``tutorial:LABEL (torch VERSION)``).

    Every run gets a column for every device that one of the runs had (a device it lacked reads
    ``not run``); a tutorial column only where the run has it, and a run with nothing but
    tutorial columns gets no device column.
    """
    runs = sorted(runs, key=lambda r: (version_key(r.torch), str(r.path)))
    labels = run_labels(runs)
    devices = matrix.unique(d for r in runs for d in r.available if not is_tutorial(d))
    split = len(devices) > 1
    columns = []
    for run in runs:
        label = labels[id(run)]
        if not run.devices or not all(is_tutorial(d.type) for d in run.devices):
            columns += [
                Column(run, device, f"{label} {device}" if split else label)
                for device in (devices if split else [None])
            ]
        columns += [Column(run, t, f"{t} (torch {label})") for t in tutorial_columns(run)]
    return tabulate(runs, columns, labels, devices if split else [])


def tabulate(
    runs: list[matrix.RunDocument],
    columns: list[Column],
    labels: dict[int, str],
    devices: list[str],
) -> Matrix:
    """The matrix of ``columns``: a row per claim, a cell per column, the notes numbered."""
    notes: dict[tuple[str, str], Note] = {}
    rows = []
    for claim_id, statement, kind, revision in _claim_rows(runs):
        cells = []
        for column in columns:
            cell = _cell(column, claim_id)
            number = None
            if cell is None:
                cells.append(MergedCell(MISSING, matrix.label(MISSING)))
                continue
            text = note_text(cell)
            if text:
                note = notes.setdefault((claim_id, text), Note(len(notes) + 1, claim_id, text))
                note.columns.append(column.label)
                number = note.number
            cells.append(MergedCell(cell.status, short_label(cell), number))
        rows.append(Row(claim_id, statement, kind, cells, revision))
    return Matrix(runs, columns, rows, list(notes.values()), devices, labels)


def run_labels(runs: list[matrix.RunDocument]) -> dict[int, str]:
    """A run's label is its torch version, with the file's name where two runs share one, and
    ``(incomplete)`` where the run did not finish, ``(narrowed)`` where it ran part of the
    suite."""
    count: dict[str, int] = {}
    for run in runs:
        count[run.torch] = count.get(run.torch, 0) + 1
    labels = {}
    for run in runs:
        label = run.torch if count[run.torch] == 1 else f"{run.torch} ({run.path.stem})"
        if not run.complete:
            label += " (incomplete)"
        if run.narrowed:
            label += " (narrowed)"
        labels[id(run)] = label
    return labels


def _claim_rows(runs: list[matrix.RunDocument]) -> list[tuple[str, str, str, str]]:
    """Every tested catalogue claim in catalogue order, then any other id a run reported:
    (id, statement, kind, revision), the catalogue's where it knows the claim."""
    rows = [(c.id, c.statement, c.kind, c.revision) for c in catalogue.tested()]
    known = {c.id for c in catalogue.tested()}
    extra: dict[str, matrix.ClaimResult] = {}
    for run in runs:
        for claim_id, entry in run.claims.items():
            if claim_id not in known:
                extra.setdefault(claim_id, entry)
    for claim_id in sorted(extra):
        entry = extra[claim_id]
        rows.append((claim_id, entry.statement, entry.kind, entry.revision))
    return rows


def _cell(column: Column, claim_id: str) -> matrix.Cell | None:
    """One claim's cell in one column; None where the run has no result for it."""
    entry = column.run.claims.get(claim_id)
    if entry is None:
        return None
    if column.device is not None:
        return entry.results.get(column.device)
    return _one_device(column.run, entry.results)


def _one_device(run: matrix.RunDocument, results: dict[str, matrix.Cell]) -> matrix.Cell | None:
    """With one device per run: its result, or — for a claim with no test on it (a claim about
    the host on a machine with only a GPU) — the result on the device the claim's tests are
    for. A tutorial column is never a device's result."""
    order = [d for d in matrix.unique([*run.available, *results]) if not is_tutorial(d)]
    cells = [results[d] for d in order if d in results]
    tested = [cell for cell in cells if cell.tests]
    return (tested or cells or [None])[0]


def short_label(cell: matrix.Cell) -> str:
    """A cell's label in the table: the status, with how many of its tests ran when not all (or
    ``unchecked`` where all ran but part of the claim could not be checked: a tutorial column)."""
    text = matrix.label(cell.status)
    if cell.status == matrix.PARTIAL:
        if cell.ran < cell.total:
            text += f" ({cell.ran} of {cell.total})"
        else:
            text += " (unchecked)" if _unchecked(cell) else " (narrowed)"
    return text


def _unchecked(cell: matrix.Cell) -> bool:
    return cell.not_run_reason.startswith("not checked: ")


def note_text(cell: matrix.Cell) -> str:
    """The note behind a cell, worded as the plugin words it (``drift: …``, ``FAILS: …``), with
    the claim's tests where it fails or breaks, a finding beside ``holds`` or ``partial`` too (a
    measured accuracy), and why the tests that did not run did not."""
    if not (cell.note or cell.not_run_reason) or (cell.status == matrix.NOT_RUN and not cell.tests):
        return ""  # no test of the claim in that run: the label says it all
    text = matrix.cell_text(cell)
    rest = cell
    if cell.ran == cell.total and _unchecked(cell):  # the cell's text names the first already
        rest = replace(cell, not_run_reason="; ".join(cell.not_run_reason.split("; ")[1:]))
    extra = matrix.footnote_text(rest)
    if extra:
        text = f"{text}: {extra}"
    if cell.status in (matrix.FAILS, matrix.ERROR) and cell.tests:
        text += " (tests: " + ", ".join(cell.tests) + ")"
    return text


# ----------------------------------------------------------------------------------------------
# Rendering


def column_counts(merged: Matrix) -> list[dict[str, int]]:
    counts = [dict.fromkeys(matrix.STATUSES, 0) for _ in merged.columns]
    for row in merged.rows:
        for i, cell in enumerate(row.cells):
            counts[i][cell.status] += 1
    return counts


def layout_line(merged: Matrix) -> str:
    tutorial = (
        " A column tutorial:LABEL (torch VERSION) is the tutorial's own scripts at revision "
        "LABEL, run under that torch: absent where that revision does not state the claim."
        if any(c.tutorial for c in merged.columns)
        else ""
    )
    if merged.devices:
        return (
            "A column per torch version and device (" + ", ".join(merged.devices) + ")." + tutorial
        )
    available = matrix.unique(d for r in merged.runs for d in r.available if not is_tutorial(d))
    only = available[0] if available else "no device"
    return (
        f"A column per torch version: every run had only {only} available, so a cell is the "
        f"claim's result on {only}, or, for a claim with no test on {only}, on the device it is "
        "for (skipped, with the reason)." + tutorial
    )


def run_state(run: matrix.RunDocument) -> str:
    state = (
        "complete"
        if run.complete
        else (f"INCOMPLETE: {run.incomplete_reason or 'no reason recorded'}")
    )
    if run.narrowed:
        state += f"; NARROWED: {'; '.join(run.selection) or 'part of the suite'}"
    return state


def render_text(merged: Matrix) -> list[str]:
    """The merged matrix for the terminal: runs, then the table, then the notes per claim."""
    lines = ["runs:"]
    for run in merged.runs:
        lines.append(
            f"  {merged.label(run)}: torch {run.torch}, torchvision {run.torchvision}, python "
            f"{run.python}, {run.platform} ({run.path})"
        )
        if not run.complete or run.narrowed:
            lines.append(f"      {run_state(run)}")
        for device in run.devices:
            lines.append(f"      {device.describe()}")
        for key, value in run.facts.items():
            lines.append(f"      {key}: {value}")
    lines += ["", layout_line(merged), ""]
    widths = [
        max(len(c.label), *(len(row.cells[i].shown) for row in merged.rows))
        for i, c in enumerate(merged.columns)
    ]
    rows = [
        (row.claim_id, row.statement, row.revision, [cell.shown for cell in row.cells])
        for row in merged.rows
    ]
    lines += claim_table([c.label for c in merged.columns], rows, widths)
    lines.append("")
    for column, counts in zip(merged.columns, column_counts(merged)):
        lines.append(f"{column.label}: {matrix.count_text(counts)}")
    lines.append("")
    for claim_id, notes in notes_by_claim(merged):
        lines.append(f"{claim_id}:")
        for note in notes:
            lines.append(f"  [{note.number}] {', '.join(note.columns)}: {note.text}")
    lines.append(
        f"{matrix.plural(len(merged.rows), 'claim')} x "
        f"{matrix.plural(len(merged.columns), 'column')} "
        f"from {matrix.plural(len(merged.runs), 'run')}"
    )
    return lines


def notes_by_claim(merged: Matrix) -> list[tuple[str, list[Note]]]:
    grouped: dict[str, list[Note]] = {}
    for note in merged.notes:
        grouped.setdefault(note.claim_id, []).append(note)
    return list(grouped.items())
