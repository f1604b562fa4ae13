"""``python -m blitz.report claims FILE...``: the claims matrices of several runs as one table.

Each FILE is what ``pytest --claims-json`` wrote for one run (one torch version, one machine);
a directory stands for every ``*.json`` in it (``tox`` leaves one per env in ``.tox/claims``).
The merged matrix has a row per catalogue claim and a column per torch version, newest first —
a column per torch version and device where the runs had more than one device available. A
claim that a run did not test shows as ``not run``, so every claim id appears for every version.

A cell is ``holds``, ``FAILS``, ``drift`` or ``skipped``; the reason, the drift note or the
finding behind it is a numbered note, listed under the table per claim, so a drift claim reads as
its behaviour version by version. Printed to the terminal; ``--markdown PATH`` writes Markdown.
"""

from __future__ import annotations

import argparse
import json
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from blitz import claims as catalogue
from blitz.report import ReportError
from blitz.report import expand as expand_paths

# The plugin's statuses (blitz.plugin.STATUS_ORDER) and its cell wording (blitz.plugin.cell_text),
# restated so that merging JSON needs no torch (importing it takes seconds); a harness test keeps
# the two in step. MISSING is the merged matrix's own: the run has no result for the claim.
STATUSES = ("fails", "drift", "holds", "skipped")
MISSING = "not run"
LABELS = {"fails": "FAILS", "drift": "drift", "holds": "holds", "skipped": "skipped"}
STATEMENT_WIDTH = 46


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
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    runs = [load(path) for path in expand(args.files)]
    matrix = merge(runs)
    print("\n".join(render_text(matrix)))
    if args.markdown:
        path = Path(args.markdown)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_markdown(matrix), encoding="utf-8")
        print(f"\nwrote {path}")
    return 0


def expand(names: list[str]) -> list[Path]:
    """The claims files named, a directory standing for its ``*.json`` files."""
    return expand_paths(names, "claims")


# ----------------------------------------------------------------------------------------------
# Reading one run


@dataclass
class Run:
    """One ``--claims-json`` document: a torch version on a machine."""

    path: Path
    torch: str
    torchvision: str
    python: str
    platform: str
    devices: list[dict]
    claims: dict[str, dict]
    facts: dict[str, str] = field(default_factory=dict)  # the run's "run" facts (data copy, …)
    label: str = ""

    @property
    def available(self) -> list[str]:
        return [d["type"] for d in self.devices if d["available"]]


def load(path: Path) -> Run:
    """Read and check one claims JSON file; a ReportError names the file and what is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ReportError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportError(
            f"{path}: not JSON ({exc.msg}, line {exc.lineno}); expected the file that "
            "pytest --claims-json writes"
        ) from None
    check = _Checker(path)
    check.kind(doc, dict, "the document")
    for key in ("torch", "torchvision", "python", "platform"):
        check.kind(check.key(doc, key, "the document"), str, f"'{key}'")
    devices = check.kind(check.key(doc, "devices", "the document"), list, "'devices'")
    for i, info in enumerate(devices):
        where = f"devices[{i}]"
        check.kind(info, dict, where)
        check.kind(check.key(info, "type", where), str, f"{where}.type")
        check.kind(check.key(info, "available", where), bool, f"{where}.available")
    device_types = [d["type"] for d in devices]
    facts = check.kind(doc.get("run", {}), dict, "'run'")
    for key, value in facts.items():
        check.kind(value, str, f"run fact '{key}'")
    claims = check.kind(check.key(doc, "claims", "the document"), dict, "'claims'")
    for claim_id, entry in claims.items():
        where = f"claim {claim_id}"
        check.kind(entry, dict, where)
        results = check.kind(check.key(entry, "results", where), dict, f"{where}: 'results'")
        for device, cell in results.items():
            cell_where = f"{where}, device {device}"
            if device not in device_types:
                raise ReportError(
                    f"{path}: {cell_where}: a device missing from 'devices' "
                    f"({', '.join(device_types) or 'none'})"
                )
            check.kind(cell, dict, cell_where)
            status = check.key(cell, "status", cell_where)
            if status not in STATUSES:
                raise ReportError(
                    f"{path}: {cell_where}: unknown status {status!r} "
                    f"(expected one of {', '.join(STATUSES)})"
                )
            check.kind(cell.setdefault("note", ""), str, f"{cell_where}: 'note'")
            check.kind(cell.setdefault("tests", []), list, f"{cell_where}: 'tests'")
    return Run(
        path=path,
        torch=doc["torch"],
        torchvision=doc["torchvision"],
        python=doc["python"],
        platform=doc["platform"],
        devices=devices,
        claims=claims,
        facts=facts,
    )


@dataclass
class _Checker:
    path: Path

    def key(self, mapping: dict, key: str, where: str):
        if key not in mapping:
            raise ReportError(
                f"{self.path}: {where} has no '{key}' (not a file that pytest --claims-json wrote?)"
            )
        return mapping[key]

    def kind(self, value, expected: type, where: str):
        if not isinstance(value, expected):
            names = {dict: "an object", list: "a list", str: "a string", bool: "true or false"}
            raise ReportError(
                f"{self.path}: {where} should be {names[expected]}, not {type(value).__name__}"
            )
        return value


# ----------------------------------------------------------------------------------------------
# Merging runs into one matrix


@dataclass
class Column:
    run: Run
    device: str | None  # None: one column per run, the result on whichever device ran the claim
    label: str


@dataclass
class Note:
    number: int
    claim_id: str
    text: str
    columns: list[str] = field(default_factory=list)


@dataclass
class Row:
    claim_id: str
    statement: str
    kind: str
    cells: list[tuple[str, int | None]]  # (status or MISSING, note number)


@dataclass
class Matrix:
    runs: list[Run]
    columns: list[Column]
    rows: list[Row]
    notes: list[Note]
    devices: list[str]  # the devices with a column each; empty when one column per run


def version_key(version: str) -> tuple:
    """Newest first: ``2.14.1+cu130`` sorts before ``2.9.1``; an odd version string sorts last."""
    match = re.match(r"\d+(?:\.\d+)*", version)
    if not match:
        return (1, (), version)
    return (0, tuple(-int(part) for part in match.group().split(".")), version)


def merge(runs: list[Run]) -> Matrix:
    """The runs side by side: a row per claim, a column per run (and device, where several)."""
    runs = sorted(runs, key=lambda r: (version_key(r.torch), str(r.path)))
    _label(runs)
    devices = _unique(d for r in runs for d in r.available)
    split = len(devices) > 1
    columns = [
        Column(run, device, f"{run.label} {device}" if split else run.label)
        for run in runs
        for device in (devices if split else [None])
    ]
    notes: dict[tuple[str, str], Note] = {}
    rows = []
    for claim_id, statement, kind in _claim_rows(runs):
        cells = []
        for column in columns:
            status, text = _cell(column, claim_id)
            number = None
            if text:
                note = notes.setdefault(
                    (claim_id, text), Note(len(notes) + 1, claim_id, text)
                )
                note.columns.append(column.label)
                number = note.number
            cells.append((status, number))
        rows.append(Row(claim_id, statement, kind, cells))
    return Matrix(runs, columns, rows, list(notes.values()), devices if split else [])


def _label(runs: list[Run]) -> None:
    """A run's label is its torch version, with the file's name where two runs share one."""
    for run in runs:
        run.label = run.torch
    seen: dict[str, list[Run]] = {}
    for run in runs:
        seen.setdefault(run.torch, []).append(run)
    for same in seen.values():
        if len(same) > 1:
            for run in same:
                run.label = f"{run.torch} ({run.path.stem})"


def _claim_rows(runs: list[Run]) -> list[tuple[str, str, str]]:
    """Every tested catalogue claim in catalogue order, then any other id a run reported."""
    rows = [(c.id, c.statement, c.kind) for c in catalogue.tested()]
    known = {c.id for c in catalogue.tested()}
    extra: dict[str, dict] = {}
    for run in runs:
        for claim_id, entry in run.claims.items():
            if claim_id not in known:
                extra.setdefault(claim_id, entry)
    for claim_id in sorted(extra):
        entry = extra[claim_id]
        rows.append((claim_id, str(entry.get("statement", "")), str(entry.get("kind", ""))))
    return rows


def _cell(column: Column, claim_id: str) -> tuple[str, str]:
    """(status, note text) of one claim in one column; MISSING where the run has no result."""
    entry = column.run.claims.get(claim_id)
    if entry is None:
        return MISSING, ""
    results = entry["results"]
    if column.device is not None:
        cell = results.get(column.device)
    else:
        cell = _one_device(column.run, results)
    if cell is None:
        return MISSING, ""
    return cell["status"], _cell_text(cell)


def _one_device(run: Run, results: dict) -> dict | None:
    """With one device per run: its result, or — for a claim with no test on it (a CUDA-only
    claim on a machine without a GPU) — the result on the device the claim's tests are for."""
    order = run.available + [d for d in results if d not in run.available]
    cells = [results[d] for d in order if d in results]
    tested = [cell for cell in cells if cell["tests"]]
    return (tested or cells or [None])[0]


def _cell_text(cell: dict) -> str:
    """The note behind a cell, worded as the plugin's ``cell_text`` words it (``drift: …``,
    ``FAILS: …``), with the claim's tests where it fails, and a finding beside ``holds`` too (a
    measured accuracy), which the single-run matrix leaves out."""
    if not cell["note"]:
        return ""
    label = "FAILS" if cell["status"] == "fails" else cell["status"]
    text = f"{label}: {cell['note']}"
    if cell["status"] == "fails" and cell["tests"]:
        text += " (tests: " + ", ".join(cell["tests"]) + ")"
    return text


def _unique(values) -> list:
    out: list = []
    for value in values:
        if value not in out:
            out.append(value)
    return out


# ----------------------------------------------------------------------------------------------
# Rendering


def _cell_label(status: str, number: int | None) -> str:
    label = LABELS.get(status, status)
    return f"{label} [{number}]" if number is not None else label


def _device_summary(run: Run) -> list[str]:
    parts = []
    for info in run.devices:
        if info["available"]:
            parts.append(f"{info['type']} ({info.get('name', info['type'])})")
        else:
            parts.append(f"{info['type']}: {info.get('reason', 'unavailable, no reason given')}")
    return parts


def _count_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {LABELS.get(s, s)}" for s, n in counts.items() if n)


def _column_counts(matrix: Matrix) -> list[dict[str, int]]:
    counts = [dict.fromkeys((*STATUSES, MISSING), 0) for _ in matrix.columns]
    for row in matrix.rows:
        for i, (status, _) in enumerate(row.cells):
            counts[i][status] += 1
    return counts


def _layout_line(matrix: Matrix) -> str:
    if matrix.devices:
        return "A column per torch version and device (" + ", ".join(matrix.devices) + ")."
    available = _unique(d for r in matrix.runs for d in r.available)
    only = available[0] if available else "no device"
    return (
        f"A column per torch version: every run had only {only} available, so a cell is the "
        f"claim's result on {only}, or, for a claim with no test on {only}, on the device it is "
        "for (skipped, with the reason)."
    )


def render_text(matrix: Matrix) -> list[str]:
    """The merged matrix for the terminal: runs, then the table, then the notes per claim."""
    lines = ["runs:"]
    for run in matrix.runs:
        lines.append(
            f"  {run.label}: torch {run.torch}, torchvision {run.torchvision}, python "
            f"{run.python}, {run.platform} ({run.path})"
        )
        for part in _device_summary(run):
            lines.append(f"      {part}")
        for key, value in run.facts.items():
            lines.append(f"      {key}: {value}")
    lines += ["", _layout_line(matrix), ""]
    widths = [
        max(len(c.label), *(len(_cell_label(*row.cells[i])) for row in matrix.rows))
        for i, c in enumerate(matrix.columns)
    ]
    header = ["id ", "claim".ljust(STATEMENT_WIDTH)]
    header += [c.label.ljust(w) for c, w in zip(matrix.columns, widths)]
    lines.append("  ".join(header).rstrip())
    for row in matrix.rows:
        statement = textwrap.shorten(row.statement, STATEMENT_WIDTH, placeholder="…")
        cells = [_cell_label(*cell).ljust(w) for cell, w in zip(row.cells, widths)]
        row_text = [row.claim_id.ljust(3), statement.ljust(STATEMENT_WIDTH), *cells]
        lines.append("  ".join(row_text).rstrip())
    lines.append("")
    for column, counts in zip(matrix.columns, _column_counts(matrix)):
        lines.append(f"{column.label}: {_count_text(counts)}")
    lines.append("")
    for claim_id, notes in _notes_by_claim(matrix):
        lines.append(f"{claim_id}:")
        for note in notes:
            lines.append(f"  [{note.number}] {', '.join(note.columns)}: {note.text}")
    lines.append(
        f"{len(matrix.rows)} claims x {_plural(len(matrix.columns), 'column')} "
        f"from {_plural(len(matrix.runs), 'run')}"
    )
    return lines


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _notes_by_claim(matrix: Matrix) -> list[tuple[str, list[Note]]]:
    grouped: dict[str, list[Note]] = {}
    for note in matrix.notes:
        grouped.setdefault(note.claim_id, []).append(note)
    return list(grouped.items())


def _md(text: str) -> str:
    """Text safe inside a Markdown table cell or list item."""
    return " ".join(text.split()).replace("\\", "\\\\").replace("|", "\\|").replace("*", "\\*")


def render_markdown(matrix: Matrix) -> str:
    """The merged matrix as a Markdown page: runs, the table, the notes per claim."""
    statements = {row.claim_id: row.statement for row in matrix.rows}
    out = [
        "# The 60 Minute Blitz's claims by torch version",
        "",
        "<!-- Generated by `python -m blitz.report claims --markdown PATH` from the "
        "`pytest --claims-json` file of each run (see tox.ini). Do not edit by hand. -->",
        "",
        "Each cell says whether the tutorial's claim holds on that torch version: **holds**, "
        "**FAILS** (the test and its error in the note), **drift** (true on some versions only, "
        "or outdated: the note says what the tutorial says and what this torch does), "
        "**skipped** (with the reason) or **not run** (no test of the claim in that run). "
        "A number points to the claim's notes below the table.",
        "",
        "## Runs",
        "",
        "| torch | torchvision | python | platform | devices | run | file |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for run in matrix.runs:
        out.append(
            f"| {_md(run.torch)} | {_md(run.torchvision)} | {_md(run.python)} | "
            f"{_md(run.platform)} | {'; '.join(_md(p) for p in _device_summary(run))} | "
            f"{'; '.join(_md(f'{k}: {v}') for k, v in run.facts.items())} | "
            f"{_md(run.path.name)} |"
        )
    out += ["", "## Matrix", "", _layout_line(matrix), ""]
    out.append("| id | claim | " + " | ".join(_md(c.label) for c in matrix.columns) + " |")
    out.append("| --- | --- | " + " | ".join("---" for _ in matrix.columns) + " |")
    for row in matrix.rows:
        cells = []
        for status, number in row.cells:
            label = _cell_label(status, number)
            cells.append(f"**{label}**" if status == "fails" else label)
        out.append(f"| {row.claim_id} | {_md(row.statement)} | " + " | ".join(cells) + " |")
    totals = [_md(_count_text(c)) for c in _column_counts(matrix)]
    out.append("| | *total* | " + " | ".join(totals) + " |")
    benchmarks = [c for c in catalogue.CLAIMS.values() if c.kind == "benchmark"]
    if benchmarks:
        out += [
            "",
            "Benchmark claims are measured, not tested, and have no row here: "
            + "; ".join(f"{c.id} ({_md(c.statement)})" for c in benchmarks)
            + " — see `python -m blitz.report bench`.",
        ]
    out += ["", "## Notes", ""]
    for claim_id, notes in _notes_by_claim(matrix):
        out.append(f"**{claim_id}** {_md(statements.get(claim_id, ''))}")
        out.append("")
        for note in notes:
            out.append(f"- [{note.number}] {_md(', '.join(note.columns))}: {_md(note.text)}")
        out.append("")
    return "\n".join(out).rstrip() + "\n"
