"""What a narrowed run may have left out: the claims of the test files it did not collect.

A run that names test paths (``pytest tests/test_tensors.py``), a node id (``…::test_x``),
``--ignore`` or ``--ignore-glob`` never sees the tests it leaves out, so the plugin cannot learn
their claims from pytest. It reads them here instead, from the left-out files' source: every
``….mark.claim("T01", …)`` call (a decorator or a module's ``pytestmark``), found by parsing the
file, never by importing it — so a claim id in a string (a harness test's own small suite) does
not count. A file whose claim marker takes ids that are not literal strings makes every claim
uncertain. Torch-free and pytest-free: plain paths in, claim ids out.
"""

from __future__ import annotations

import ast
import fnmatch
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

EVERY_CLAIM = "*"  # a left-out file's markers name ids that cannot be read without running it


@dataclass
class LeftOut:
    """The claims of the test files a run left out, each with the files that tag it."""

    claims: dict[str, list[Path]] = field(default_factory=dict)

    def add(self, claim_id: str, path: Path) -> None:
        files = self.claims.setdefault(claim_id, [])
        if path not in files:
            files.append(path)

    def covers(self, claim_id: str) -> bool:
        """Whether a left-out test may check ``claim_id``."""
        return claim_id in self.claims or EVERY_CLAIM in self.claims

    def __bool__(self) -> bool:
        return bool(self.claims)


def claims_in_source(source: str) -> set[str]:
    """The claim ids that ``source`` tags with a ``claim`` marker; ``EVERY_CLAIM`` among them
    where a marker's ids are not literal strings."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {EVERY_CLAIM}  # pytest would fail to collect it: nothing can be said
    found: set[str] = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and _is_claim_marker(node.func)):
            continue
        for arg in node.args:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.add(arg.value)
            else:
                found.add(EVERY_CLAIM)
    return found


def _is_claim_marker(func: ast.expr) -> bool:
    # pytest.mark.claim(...), mark.claim(...): an attribute "claim" of something called "mark".
    if not (isinstance(func, ast.Attribute) and func.attr == "claim"):
        return False
    owner = func.value
    return (isinstance(owner, ast.Attribute) and owner.attr == "mark") or (
        isinstance(owner, ast.Name) and owner.id == "mark"
    )


def suite_files(
    roots: Iterable[Path], patterns: Sequence[str], skip_dirs: Sequence[str]
) -> list[Path]:
    """The files under ``roots`` (files or folders) whose names match pytest's ``python_files``
    ``patterns``, not descending into folders that match ``skip_dirs`` (``norecursedirs``)."""
    found: list[Path] = []
    for root in roots:
        if root.is_file():
            found.append(root.resolve())
            continue
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if not any(fnmatch.fnmatch(d, p) for p in skip_dirs))
            for name in sorted(files):
                if name.endswith(".py") and any(fnmatch.fnmatch(name, p) for p in patterns):
                    found.append((Path(folder) / name).resolve())
    return found


def left_out(
    suite: Iterable[Path],
    selected: Sequence[Path],
    partly: Sequence[Path] = (),
    ignored: Sequence[Path] = (),
) -> LeftOut:
    """The claims of the ``suite``'s test files that a run left out: files under none of the
    ``selected`` paths, or under an ``ignored`` one, and the ``partly`` selected files (a node id
    takes some of a file's tests, not all)."""
    selected = [p.resolve() for p in selected]
    ignored = [p.resolve() for p in ignored]
    partly = [p.resolve() for p in partly]
    result = LeftOut()
    for path in suite:
        inside = any(_under(path, root) for root in selected)
        dropped = any(_under(path, root) for root in ignored)
        if inside and not dropped and path not in partly:
            continue
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            result.add(EVERY_CLAIM, path)
            continue
        for claim_id in sorted(claims_in_source(source)):
            result.add(claim_id, path)
    return result


def _under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents
