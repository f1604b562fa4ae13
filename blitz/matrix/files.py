"""The matrix as JSON: ``dump`` writes a run's document atomically, ``load`` reads and validates
one, naming the file and the fault (``MatrixFileError``)."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from blitz import claims as catalogue
from blitz.matrix.model import (
    READABLE_SCHEMAS,
    STATUSES,
    Cell,
    ClaimResult,
    Device,
    MatrixFileError,
    RunDocument,
    catalogue_revision,
)

# ----------------------------------------------------------------------------------------------
# JSON


def dump(document: RunDocument, path: str | os.PathLike) -> None:
    """Write ``document`` to ``path`` atomically: a temporary file in the same folder, then
    ``os.replace``, so a reader never sees half a file and a crash leaves the old one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(document.to_json(), indent=2) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> object:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MatrixFileError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise MatrixFileError(
            f"{path}: not JSON ({exc.msg}, line {exc.lineno}); expected the file that "
            "pytest --claims-json writes"
        ) from None


def load(path: str | os.PathLike) -> RunDocument:
    """Read and check one claims file; a ``MatrixFileError`` names the file and the fault."""
    path = Path(path)
    return from_json(read_json(path), path)


def from_json(doc: object, path: Path) -> RunDocument:
    check = _Checker(path)
    check.kind(doc, dict, "the document")
    schema = doc.get("schema")
    if schema not in READABLE_SCHEMAS:
        found = "no 'schema'" if schema is None else f"schema {schema!r}"
        raise MatrixFileError(
            f"{path}: {found}, expected {' or '.join(map(str, READABLE_SCHEMAS))}: written by "
            "another version of blitz; "
            "run pytest --claims-json again"
        )
    for key in ("torch", "torchvision", "python", "platform"):
        check.kind(check.key(doc, key, "the document"), str, f"'{key}'")
    complete = check.kind(check.key(doc, "complete", "the document"), bool, "'complete'")
    narrowed = check.kind(doc.get("narrowed", False), bool, "'narrowed'")
    selection = check.kind(doc.get("selection", []), list, "'selection'")
    for item in selection:
        check.kind(item, str, "an item of 'selection'")
    exit_status = doc.get("exit_status")
    if exit_status is not None:
        check.kind(exit_status, int, "'exit_status'")
    devices = []
    for i, info in enumerate(
        check.kind(check.key(doc, "devices", "the document"), list, "'devices'")
    ):
        where = f"devices[{i}]"
        check.kind(info, dict, where)
        devices.append(
            Device(
                type=check.kind(check.key(info, "type", where), str, f"{where}.type"),
                available=check.kind(
                    check.key(info, "available", where), bool, f"{where}.available"
                ),
                name=check.kind(info.get("name", ""), str, f"{where}.name"),
                reason=check.kind(info.get("reason", ""), str, f"{where}.reason"),
                cuda=info.get("cuda"),
            )
        )
    device_types = [d.type for d in devices]
    facts = check.kind(doc.get("run", {}), dict, "'run'")
    for key, value in facts.items():
        check.kind(value, str, f"run fact '{key}'")
    claims = {}
    for claim_id, entry in check.kind(
        check.key(doc, "claims", "the document"), dict, "'claims'"
    ).items():
        where = f"claim {claim_id}"
        check.kind(entry, dict, where)
        results = check.kind(check.key(entry, "results", where), dict, f"{where}: 'results'")
        cells = {}
        for device, cell in results.items():
            cell_where = f"{where}, device {device}"
            if device not in device_types:
                raise MatrixFileError(
                    f"{path}: {cell_where}: a device missing from 'devices' "
                    f"({', '.join(device_types) or 'none'})"
                )
            cells[device] = _cell_from_json(check, cell, cell_where)
        claims[claim_id] = ClaimResult(
            id=claim_id,
            statement=check.kind(entry.get("statement", ""), str, f"{where}: 'statement'"),
            section=check.kind(entry.get("section", ""), str, f"{where}: 'section'"),
            kind=check.kind(entry.get("kind", ""), str, f"{where}: 'kind'"),
            results=cells,
            revision=_revision_from_json(check, entry, claim_id, where),
        )
    return RunDocument(
        torch=doc["torch"],
        torchvision=doc["torchvision"],
        python=doc["python"],
        platform=doc["platform"],
        devices=devices,
        claims=claims,
        facts=facts,
        complete=complete,
        exit_status=exit_status,
        incomplete_reason=check.kind(doc.get("incomplete_reason", ""), str, "'incomplete_reason'"),
        narrowed=narrowed,
        selection=selection,
        finished=check.kind(doc.get("finished", ""), str, "'finished'"),
        path=path,
    )


def _revision_from_json(check: _Checker, entry: dict, claim_id: str, where: str) -> str:
    """A claim's ``revision``; optional (files written before blitz recorded it have none):
    missing, it is the catalogue's for a claim the catalogue knows, else ""."""
    if "revision" not in entry:
        return catalogue_revision(claim_id)
    revision = check.kind(entry["revision"], str, f"{where}: 'revision'")
    if revision not in catalogue.REVISIONS:
        raise MatrixFileError(
            f"{check.path}: {where}: unknown revision {revision!r} "
            f"(expected one of {', '.join(catalogue.REVISIONS)})"
        )
    return revision


def _cell_from_json(check: _Checker, cell: object, where: str) -> Cell:
    check.kind(cell, dict, where)
    status = check.key(cell, "status", where)
    if status not in STATUSES:
        raise MatrixFileError(
            f"{check.path}: {where}: unknown status {status!r} "
            f"(expected one of {', '.join(STATUSES)})"
        )
    tests = check.kind(cell.get("tests", []), list, f"{where}: 'tests'")
    return Cell(
        status=status,
        note=check.kind(cell.get("note", ""), str, f"{where}: 'note'"),
        tests=tuple(check.kind(t, str, f"{where}: a test id") for t in tests),
        ran=check.kind(cell.get("ran", 0), int, f"{where}: 'ran'"),
        skipped=check.kind(cell.get("skipped", 0), int, f"{where}: 'skipped'"),
        deselected=check.kind(cell.get("deselected", 0), int, f"{where}: 'deselected'"),
        not_run_reason=check.kind(
            cell.get("not_run_reason", ""), str, f"{where}: 'not_run_reason'"
        ),
    )


@dataclass
class _Checker:
    path: Path

    def key(self, mapping: dict, key: str, where: str):
        if key not in mapping:
            raise MatrixFileError(
                f"{self.path}: {where} has no '{key}' (not a file that pytest --claims-json wrote?)"
            )
        return mapping[key]

    def kind(self, value, expected: type, where: str):
        # bool is an int in Python; a count or a status code must not be true/false.
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            names = {
                dict: "an object", list: "a list", str: "a string", bool: "true or false",
                int: "an integer",
            }  # fmt: skip
            raise MatrixFileError(
                f"{self.path}: {where} should be {names[expected]}, not {type(value).__name__}"
            )
        return value
