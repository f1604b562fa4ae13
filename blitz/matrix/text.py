"""The matrix as text: the table of one run, fitted to a width, with its footnotes; and the table
helper that the merged report (``blitz.report.claims``) shares."""

from __future__ import annotations

import textwrap

from blitz.matrix.model import (
    ACCELERATOR_ONLY,
    HOST_ONLY,
    NOT_RUN,
    REVISION_WIDTH,
    SKIPPED,
    Cell,
    ClaimResult,
    Device,
    RunDocument,
    cell_text,
    count_text,
    footnote_text,
    plural,
    status_counts,
)

# ----------------------------------------------------------------------------------------------
# The matrix of one run as text

CELL_WIDTH = 44  # the widest a device's column gets
STATEMENT_WIDTH = 46  # the widest the claim's column gets
MIN_CELL_WIDTH = 16
MIN_STATEMENT_WIDTH = 12
ID_WIDTH = 3
GAP = "  "


def column_widths(width: int | None, columns: int) -> tuple[int, int]:
    """(claim column, device column) widths that fit a table of ``columns`` device columns in
    ``width`` characters: the claim's text is cut first, then the cells, down to a minimum."""
    if width is None:
        return STATEMENT_WIDTH, CELL_WIDTH
    fixed = ID_WIDTH + len(GAP) + len(GAP) + REVISION_WIDTH + columns * len(GAP)
    spare = width - fixed
    cell = CELL_WIDTH
    statement = max(MIN_STATEMENT_WIDTH, min(STATEMENT_WIDTH, spare - columns * cell))
    if columns:
        cell = max(MIN_CELL_WIDTH, min(CELL_WIDTH, (spare - statement) // columns))
    return statement, cell


def no_verdict_notes(device: Device) -> set[str]:
    """The notes of the cells that have no verdict on ``device`` by their nature."""
    return {HOST_ONLY.format(device=device.type), ACCELERATOR_ONLY.format(device=device.type)}


def device_columns(document: RunDocument) -> tuple[list[str], list[Device]]:
    """The devices that get a column, and the missing ones that do not: a device that is not
    here and has nothing but skipped cells is one line above the table, with the reason, and so
    is one where the run selected no test (a run of the tutorial columns alone)."""
    shown, hidden = [], []
    for device in document.devices:
        cells = [
            r.results[device.type] for r in document.claims.values() if device.type in r.results
        ]
        if not device.available and all(c.status in (SKIPPED, NOT_RUN) for c in cells):
            hidden.append(device)
        elif device.available and all(
            c.status == NOT_RUN or (c.status == SKIPPED and c.note in no_verdict_notes(device))
            for c in cells
        ):
            hidden.append(device)  # a run of the tutorial columns alone (-m tutorial)
        else:
            shown.append(device.type)
    return shown, hidden


def selected(result: ClaimResult) -> bool:
    """Whether the run selected any test of the claim (on any device)."""
    return any(cell.status != NOT_RUN or cell.skipped for cell in result.results.values())


def shorten(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters: cut at a word, or mid-word where a word would
    leave too little."""
    if len(text) <= width:
        return text
    words = textwrap.shorten(text, width, placeholder="…")
    return words if len(words) > width // 2 else text[: width - 1] + "…"


def claim_table(
    columns: list[str],
    rows: list[tuple[str, str, str, list[str]]],
    widths: list[int],
    statement_width: int = STATEMENT_WIDTH,
) -> list[str]:
    """A table of claims: the header, then a line per row ``(id, statement, revision, cells)``,
    the statement cut to ``statement_width`` and each cell padded to its column's width. The
    table of one run (``render``) and the merged report's (``blitz.report.claims``) are both
    this one."""
    header = [
        "id".ljust(ID_WIDTH),
        "claim".ljust(statement_width),
        "revision".ljust(REVISION_WIDTH),
    ]
    header += [name.ljust(w) for name, w in zip(columns, widths)]
    lines = [GAP.join(header).rstrip()]
    for claim_id, statement, revision, cells in rows:
        row = [
            claim_id.ljust(ID_WIDTH),
            shorten(statement, statement_width).ljust(statement_width),
            (revision or "?").ljust(REVISION_WIDTH),
        ]
        row += [cell.ljust(w) for cell, w in zip(cells, widths)]
        lines.append(GAP.join(row).rstrip())
    return lines


def render(document: RunDocument, width: int | None = None) -> list[str]:
    """A run's matrix as lines of text: a row per claim the run selected, a column per device,
    fitted to ``width`` characters where given (the claim's text is cut first).

    A cell longer than its column is cut and numbered, and so is a finding beside ``holds``
    or ``partial`` and why some of a cell's tests did not run: the full texts follow the table,
    then a summary line with a count per status.
    """
    device_names, missing = device_columns(document)
    statement_width, cell_width = column_widths(width, len(device_names))
    footnotes: list[str] = []

    def footnote(text: str) -> str:
        if text not in footnotes:
            footnotes.append(text)
        return f" [{footnotes.index(text) + 1}]"

    def fit(cell: Cell) -> str:
        text, extra = cell_text(cell), footnote_text(cell)
        if not extra and len(text) <= cell_width:
            return text
        if len(text) <= cell_width - len(" [99]"):
            return text + footnote(extra)
        # Cut: the footnote holds the whole cell, its text and what it says beyond it.
        mark = footnote(f"{text}; {extra}" if extra else text)
        return text[: max(1, cell_width - len(mark) - 1)] + "…" + mark

    lines = [
        f"torch {document.torch}, torchvision {document.torchvision}, "
        f"python {document.python}, {document.platform}",
        "devices: "
        + ", ".join(
            f"{d.type} ({d.name})" if d.available else f"{d.type} (unavailable)"
            for d in document.devices
        ),
        *(
            f"{d.type}: no column, not here: {d.reason}"
            if not d.available
            else f"{d.type}: no column: the run selected none of its tests"
            for d in missing
        ),
        *(f"{key}: {value}" for key, value in document.facts.items()),
    ]
    if not document.complete:
        lines.append(f"INCOMPLETE RUN: {document.incomplete_reason}")
    if document.narrowed:
        lines.append(
            "NARROWED RUN (" + "; ".join(document.selection) + "): a claim reads holds only "
            "where every test of it ran"
        )
    cells, not_run, rows = [], [], []
    for claim_id, result in document.claims.items():
        if not selected(result):
            not_run.append(claim_id)
            continue
        shown = [result.results[device] for device in device_names]
        cells += shown
        rows.append((claim_id, result.statement, result.revision, [fit(c) for c in shown]))
    widths = [cell_width] * len(device_names)
    lines += ["", *claim_table(device_names, rows, widths, statement_width), ""]
    lines.extend(f"[{i}] {text}" for i, text in enumerate(footnotes, 1))
    if not_run:
        lines.append(f"not run (no test of them selected): {', '.join(not_run)}")
    shown = len(document.claims) - len(not_run)
    lines.append(
        f"{plural(shown, 'claim')} x {plural(len(device_names), 'device')}: "
        + (count_text(status_counts(cells)) or "no results")
        + (f"; {plural(len(not_run), 'claim')} not run" if not_run else "")
    )
    return lines
