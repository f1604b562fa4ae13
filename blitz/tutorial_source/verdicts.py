"""Each claim's verdict from a run of a tutorial source: the tutorial column of the matrix.

Torch-free. The child recorded, per cell, what the claim probes found
(``blitz.tutorial_source.probes.running``); this reads those findings back and gives each
catalogue claim one ``Verdict``:

- the findings of its probes, worst first (FAILS, error, drift, partial, holds);
- where no probe matched in any cell that ran: a cell that never ran but states it (in its code
  or in code its text shows after it; the script was killed or crashed first) is an error; a
  revision that states it only in its prose reads skipped, saying so; a revision that does not
  state it reads ``absent``, saying what was looked for; a script the revision does not have,
  absent too;
- a claim about a GPU reads skipped: the scripts ran on this machine's cpu.

``printed_unchecked`` lists the cells that printed something that no probe read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from blitz import claims as catalogue
from blitz.tutorial_source.checkout import SCRIPTS
from blitz.tutorial_source.probes import load_all
from blitz.tutorial_source.probes.base import (
    ABSENT,
    DRIFT,
    ERROR,
    HOLDS,
    PARTIAL,
    SKIPPED,
    Registry,
    Seen,
    worst,
)
from blitz.tutorial_source.probes.running import NAME, Finding
from blitz.tutorial_source.result import CRASHED, FAILED, MISSING, TIMEOUT, ScriptRun, SourceRun

ACCELERATOR = "a claim about a GPU: the tutorial's scripts ran on this machine's cpu, no verdict"


@dataclass
class Verdict:
    """One claim's verdict from one source: its status, why, and where the revision states it."""

    claim: str
    status: str
    note: str = ""
    where: list[str] = field(default_factory=list)  # "tensor_tutorial.py:42"
    drift: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "claim": self.claim, "status": self.status, "note": self.note,
            "where": list(self.where), "drift": list(self.drift), "notes": list(self.notes),
            "unchecked": list(self.unchecked),
        }  # fmt: skip


def findings(run: ScriptRun) -> list[tuple[Finding, int]]:
    """Every finding of the script's cells, with the cell's index."""
    found = []
    for cell in run.cells:
        for data in cell.probes.get(NAME) or ():
            if isinstance(data, dict) and "claim" in data:
                found.append((Finding.from_json(data), cell.index))
    return found


def verdict(run: SourceRun, claim_id: str, registry: Registry | None = None) -> Verdict:
    """The verdict of ``claim_id`` from the scripts of ``run``."""
    registry = registry or load_all()
    claim = catalogue.CLAIMS.get(claim_id)
    if claim is not None and claim.accelerator:
        return Verdict(claim_id, SKIPPED, ACCELERATOR)
    probes = registry.for_claim(claim_id)
    scripts = list(dict.fromkeys(p.script for p in probes + registry.prose_for(claim_id)))
    if not scripts:
        return Verdict(claim_id, ABSENT, "blitz has no probe that looks for it in the scripts")
    found = [
        (f, run.scripts[s].script)
        for s in scripts
        if s in run.scripts
        for f, _ in findings(run.scripts[s])
        if f.claim == claim_id
    ]
    if found:
        return combine(claim_id, found)
    return not_found(run, claim_id, scripts, registry)


def combine(claim_id: str, found: list[tuple[Finding, str]]) -> Verdict:
    status = worst(f.status for f, _ in found)
    if status in (HOLDS, DRIFT, PARTIAL):
        note = "; ".join(dict.fromkeys(f.note for f, _ in found if f.note))
    else:
        note = "; ".join(
            dict.fromkeys(
                f"{script}:{f.line}: {f.note}" for f, script in found if f.status == status
            )  # fmt: skip
        )
    return Verdict(
        claim_id, status, note,
        where=list(dict.fromkeys(f"{script}:{f.line}" for f, script in found)),
        drift=list(dict.fromkeys(d for f, _ in found for d in f.drift)),
        notes=list(dict.fromkeys(n for f, _ in found for n in f.notes)),
        unchecked=list(dict.fromkeys(u for f, _ in found for u in f.unchecked)),
    )  # fmt: skip


def not_found(run: SourceRun, claim_id: str, scripts: list[str], registry: Registry) -> Verdict:
    """The verdict of a claim that no probe found in a cell that ran."""
    looked = []
    for name in scripts:
        script = run.scripts.get(name)
        file = SCRIPTS.get(name, name)
        wanted = [p for p in registry.for_claim(claim_id) if p.script == name]
        if script is None:
            looked.append(f"{file} was not run")
            continue
        if script.status == MISSING:
            looked.append(f"this revision has no {file}")
            continue
        if script.status == FAILED:
            return Verdict(claim_id, ERROR, f"blitz could not run {file}: {script.error}")
        text = script_text(script)
        for cell in script.cells:
            static = Seen(name, cell.source, cell.lineno, index=cell.index, script_text=text)
            for probe in wanted:
                if not probe.find(static):
                    continue
                where = f"{file}:{cell.lineno}"
                if not cell.ran:
                    why = {TIMEOUT: "was stopped at its time limit", CRASHED: "crashed"}.get(
                        script.status, "stopped"
                    )
                    return Verdict(
                        claim_id, ERROR,
                        f"the script {why} before the cell that states it ({where}): "
                        f"{script.error}", where=[where],
                    )  # fmt: skip
                broken = cell.probes.get(NAME)
                if isinstance(broken, dict) and "probe_error" in broken:
                    return Verdict(
                        claim_id, ERROR, f"blitz's probes broke: {broken['probe_error']}",
                        where=[where],
                    )  # fmt: skip
        for prose in registry.prose_for(claim_id):
            if prose.script != name:
                continue
            for block in script.text_blocks:
                if prose.pattern.search(" ".join(block.source.split())):
                    return Verdict(
                        claim_id, SKIPPED,
                        f"{file} states it in its text only (line {block.lineno}): no code of "
                        "it to run", where=[f"{file}:{block.lineno}"],
                    )  # fmt: skip
        what = "; ".join(
            dict.fromkeys(
                [p.looks_for for p in wanted]
                + [p.looks_for for p in registry.prose_for(claim_id) if p.script == name]
            )
        )
        looked.append(f"{file}: looked for {what}")
    return Verdict(claim_id, ABSENT, "not stated: " + "; ".join(looked))


def script_text(run: ScriptRun) -> str:
    """The script's whole text, where its file is still there (finders of code the text shows
    after a cell read it); else nothing."""
    try:
        return Path(run.path).read_text(encoding="utf-8") if run.path else ""
    except OSError:
        return ""


def verdicts(run: SourceRun, registry: Registry | None = None) -> dict[str, Verdict]:
    """Every tested claim's verdict, in catalogue order."""
    registry = registry or load_all()
    return {claim.id: verdict(run, claim.id, registry) for claim in catalogue.tested()}


def printed_unchecked(run: ScriptRun) -> list[str]:
    """The cells that printed something that no probe read: ``cell 7 (line 120): 'text…'``."""
    read = {index for f, index in findings(run) if f.read_output}
    out = []
    for number, cell in enumerate(run.cells, 1):
        text = cell.output.strip()
        if cell.ran and text and cell.index not in read:
            first = text.splitlines()[0]
            first = first if len(first) <= 40 else first[:39] + "…"
            out.append(f"{run.script}, cell {number} (line {cell.lineno}): {first!r}")
    return out
