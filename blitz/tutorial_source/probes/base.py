"""What a claim probe is: where a revision states a claim (found by its code), and the check.

Torch-free: the runner's side imports this to tell, from a script's source alone, whether a
revision states a claim (``ClaimProbe.find``); only ``ClaimProbe.check`` runs in the child
process, against the cell's namespace and output, and imports torch there.

A probe module (``blitz.tutorial_source.probes.tensor_create``, ...) registers its probes with
the ``probe`` decorator::

    @probe("T03", "tensor", looks_for="a call of torch.ones_like", find=calls("torch.ones_like"))
    def ones_like(seen: Seen, match) -> None:
        x = seen.value("x_ones")
        ...
        assert x.dtype == seen.torch.int64, f"x_ones has dtype {x.dtype}, not int64"

- ``find(seen)`` looks at the cell's code only (``seen.tree``, ``seen.source``; never the
  namespace, which the static look of a cell that never ran does not have) and returns a match
  (anything true: the node found, say) or None. Cells move between revisions: a probe finds the
  claim's statement by what the code does, never by a cell's number.
- ``check(seen, match)`` runs after that cell ran without raising. It asserts the claim (an
  ``AssertionError`` is the claim failing: FAILS, with its message), and says more through
  ``seen``: ``seen.drift(note)`` (the tutorial's words and this torch differ), ``seen.note(text)``
  (a finding beside holds), ``seen.unchecked(what)`` (a part this run cannot check: another
  seed, a quick run's subset: the claim then reads partial), ``seen.read_output()`` (the check
  read what the cell printed: that output is checked); ``raise Unchecked(what)`` ends it there,
  ``what`` not checked. Any other exception is blitz's fault: an error, never FAILS. The child
  runs each check ``untouched`` (``probes.running``): the script's random generators, grad mode
  and warnings filters are as they were after it.
- ``once`` (default True): only the first cell that matches is checked; False checks each.
- ``on_error(seen, error)``: for a claim that some versions cannot state at all (an API they
  lack): given the ``CellError`` of the cell that states the claim (or, where that cell's
  error is a ``NameError``, of an earlier cell that raised), a drift note where the exception
  is the one the claim expects on such a version; None otherwise (the cell's error is then
  FAILS, or an error of the environment).
- ``state``: a probe may keep what it saw in earlier cells in ``seen.memory`` (one dict per
  probe and script) — a variable bound in one cell and printed in the next.

Code that the text shows (``.. code:: python``, a ``::`` paragraph) is never run by the build;
``seen.shown_code()`` gives the blocks between the cell and the next code cell, and
``seen.snippets()`` those that parse, each a ``Seen`` of its own (its code, its file line, no
namespace), which the finders read like a cell: ``find=shown(find_update)`` matches the first
such block in which ``find_update`` does. The check then runs that code against copies of the
script's objects (``probes.objects.scratch``), never in the script's namespace.

Claims that a revision states only in its prose (a note, a paragraph) have no code to run;
``prose(claim, script, pattern, looks_for)`` registers how to recognise them, and they read
skipped, saying so, where the text states them.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from blitz.tutorial_source.probes.shown import shown_after

# A finding's statuses: the matrix's words (blitz.matrix), repeated here to keep this module
# free of the catalogue's imports in the child process.
HOLDS, DRIFT, PARTIAL, FAILS, ERROR, SKIPPED, ABSENT = (
    "holds", "drift", "partial", "fails", "error", "skipped", "absent",
)  # fmt: skip
WORST_FIRST = (FAILS, ERROR, DRIFT, PARTIAL, HOLDS, SKIPPED, ABSENT)

# The seed of the tutorial's build (June 2023 to May 2025): the goldens are this seed's.
GOLDEN_SEED = 42


# ----------------------------------------------------------------------------------------------
# The cell as a probe sees it


class Unchecked(Exception):
    """Raised by a check that cannot go on (the statement's value is not bound to a name, say):
    what it says is recorded as not checked (``Seen.unchecked``), and the claim reads partial
    unless a finding says worse."""


class Seen:
    """One code cell of a script, as a probe sees it: its code (always), and, in the child
    process after the cell ran, its namespace and output. ``memory`` is the probe's own, kept
    across the script's cells. A block of code that the text shows (``snippets``) is a ``Seen``
    too: its code at its file line, with no namespace."""

    def __init__(
        self,
        script: str,
        source: str,
        lineno: int,
        *,
        index: int = 0,
        namespace: dict[str, Any] | None = None,
        stdout: str = "",
        output: str = "",
        seed: int | None = GOLDEN_SEED,
        options: dict[str, Any] | None = None,
        memory: dict[str, Any] | None = None,
        script_text: str = "",
    ) -> None:
        self.script = script
        self.source = source
        self.lineno = lineno  # the file's line of the cell's first line
        self.index = index
        self.namespace = namespace
        self.stdout = stdout
        self.output = output or stdout
        self.seed = seed
        self.options = options or {}
        self.memory = memory if memory is not None else {}
        self.script_text = script_text  # the whole file (prose included)
        try:
            self.tree: ast.Module | None = ast.parse(source)
        except SyntaxError:
            self.tree = None
        self._drift: list[str] = []
        self._notes: list[str] = []
        self._unchecked: list[str] = []
        self._read_output = False

    # -- the code -----------------------------------------------------------------------------

    def nodes(self, kind: type | tuple[type, ...] = ast.AST) -> list[Any]:
        """Every node of the cell's code of ``kind``, in the file's order."""
        if self.tree is None:
            return []
        found = [node for node in ast.walk(self.tree) if isinstance(node, kind)]
        return sorted(found, key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0)))

    def calls(self, name: str) -> list[ast.Call]:
        """The calls whose callee reads ``name`` (``dotted(call.func)``): ``"torch.ones_like"``
        matches exactly that; a name starting with a dot (``".add_"``) matches any callee
        ending so (``tensor.add_``, ``t.add_``)."""
        return [node for node in self.nodes(ast.Call) if name_matches(dotted(node.func), name)]

    def assigned(self, name: str) -> list[ast.AST]:
        """The statements that bind ``name`` (``x = ...``, ``x, y = ...``, ``for x in``)."""
        out = []
        for node in self.nodes((ast.Assign, ast.AnnAssign, ast.AugAssign, ast.For)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(name in target_names(t) for t in targets):
                out.append(node)
        return out

    def code(self) -> str:
        """The cell's code without its comments and strings' insides: what a search for a
        construct should read (``ast.unparse``)."""
        return ast.unparse(self.tree) if self.tree is not None else ""

    def comments(self) -> str:
        """The cell's comment text."""
        return "\n".join(line.split("#", 1)[1] for line in self.source.splitlines() if "#" in line)

    def line(self, node: ast.AST | Seen | None = None) -> int:
        """The file's line of ``node`` (the cell's first line without one; a snippet's own)."""
        if isinstance(node, Seen):
            return node.lineno
        if node is None or not hasattr(node, "lineno"):
            return self.lineno
        return self.lineno + node.lineno - 1

    # -- the code the text shows after the cell --------------------------------------------------

    def shown_code(self) -> list[tuple[int, str]]:
        """The code blocks the text shows between this cell and the next code cell (or after
        the last cell), which the build does not run: (the file's line, the code) each."""
        if not self.script_text:
            return []
        return list(shown_after(self.script_text, self.lineno))

    def snippets(self) -> list[Seen]:
        """The blocks of ``shown_code`` that parse as Python, each a ``Seen`` of its own (its
        code at its file line, no namespace: the build never ran it)."""
        found = []
        for line, code in self.shown_code():
            snippet = Seen(
                self.script, code, line, index=self.index, seed=self.seed,
                options=self.options, script_text=self.script_text,
            )  # fmt: skip
            if snippet.tree is not None and snippet.tree.body:
                found.append(snippet)
        return found

    # -- the run ------------------------------------------------------------------------------

    @property
    def ran(self) -> bool:
        return self.namespace is not None

    @property
    def torch(self):
        import torch

        return torch

    def value(self, name: str) -> Any:
        """The script's variable ``name`` after this cell; an ``AssertionError`` saying so where
        the script has none (the claim's code did not make what it states)."""
        if self.namespace is None or name not in self.namespace:
            raise AssertionError(f"the script has no variable {name!r} after line {self.lineno}")
        return self.namespace[name]

    def golden(self) -> bool:
        """Whether this run's seed is the one the goldens were printed with; where it is not,
        the golden part is recorded as not checked (the claim reads partial)."""
        if self.seed == GOLDEN_SEED:
            return True
        self.unchecked(
            f"the golden (printed under the build's seed {GOLDEN_SEED}; this run's seed is "
            f"{self.seed})"
        )
        return False

    def printed(self) -> str:
        """What the cell printed (and its last expression's value), marked as read."""
        self.read_output()
        return self.output

    # -- what the check says beyond pass/fail ----------------------------------------------------

    def drift(self, note: str) -> None:
        self._drift.append(note)

    def note(self, text: str) -> None:
        self._notes.append(text)

    def unchecked(self, what: str) -> None:
        self._unchecked.append(what)

    def read_output(self) -> None:
        self._read_output = True


def dotted(node: ast.AST) -> str:
    """A callee as text: ``torch.ones_like``, ``x.add_``, ``net(...)``: ``net``; a callee that
    is itself a call or a subscript reads ``()`` / ``[]`` there: ``torch.max(...)[1].item``
    gives ``torch.max().[].item``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Call):
        return f"{dotted(node.func)}()"
    if isinstance(node, ast.Subscript):
        return f"{dotted(node.value)}[]"
    return "?"


def name_matches(found: str, wanted: str) -> bool:
    if wanted.startswith("."):
        return found.endswith(wanted) or found == wanted[1:]
    return found == wanted


def target_names(target: ast.AST) -> set[str]:
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, (ast.Tuple, ast.List)):
        return {n for elt in target.elts for n in target_names(elt)}
    if isinstance(target, ast.Starred):
        return target_names(target.value)
    return set()


# ----------------------------------------------------------------------------------------------
# Finders: functions of a Seen that give a match or None


def calls(*names: str) -> Callable[[Seen], ast.Call | None]:
    """A finder: the first call of any of ``names`` (``Seen.calls``)."""

    def find(seen: Seen) -> ast.Call | None:
        found = [c for name in names for c in seen.calls(name)]
        return min(found, key=lambda n: (n.lineno, n.col_offset)) if found else None

    find.__doc__ = "a call of " + " or ".join(names)
    return find


def all_of(*finders: Callable[[Seen], Any]) -> Callable[[Seen], Any]:
    """A finder that matches where every one of ``finders`` does; the match is the first's."""

    def find(seen: Seen) -> Any:
        matches = [f(seen) for f in finders]
        return matches[0] if all(matches) else None

    return find


def shown(find: Callable[[Seen], Any]) -> Callable[[Seen], Seen | None]:
    """A finder: the first code block the text shows after the cell (``Seen.snippets``) in
    which ``find`` matches; the match is that block, a ``Seen`` of its own."""

    def finder(seen: Seen) -> Seen | None:
        return next((snippet for snippet in seen.snippets() if find(snippet)), None)

    return finder


def code_matches(pattern: str) -> Callable[[Seen], re.Match | None]:
    """A finder: ``pattern`` (a regular expression) searched in the cell's code as
    ``ast.unparse`` writes it (comments and layout left out)."""
    compiled = re.compile(pattern)

    def find(seen: Seen) -> re.Match | None:
        return compiled.search(seen.code())

    return find


# ----------------------------------------------------------------------------------------------
# The registry


@dataclass(frozen=True)
class ClaimProbe:
    """Where a script states a claim, and how to check it (see the module's text)."""

    claim: str
    script: str  # the script's name: tensor, autograd, neural_networks, cifar10, data_parallel
    looks_for: str  # what ``find`` looks for, in words: an absent claim's note says it
    find: Callable[[Seen], Any]
    check: Callable[[Seen, Any], Any]
    once: bool = True
    key: str = ""  # the check function's name: tells two probes of a claim apart
    on_error: Callable[[Seen, Any], str | None] | None = None  # a drift note for an exception

    @property
    def where(self) -> str:
        return f"{self.claim}:{self.key}"


@dataclass(frozen=True)
class ProseClaim:
    """A claim that a script states in its prose only: nothing of its code to check."""

    claim: str
    script: str
    pattern: re.Pattern
    looks_for: str


@dataclass
class Registry:
    probes: list[ClaimProbe] = field(default_factory=list)
    prose: list[ProseClaim] = field(default_factory=list)

    def add(self, entry: ClaimProbe | ProseClaim) -> None:
        """Register ``entry``, in place of one of the same claim, script and name: a probe
        module imported again (a test run that restores ``sys.modules``, ``importlib.reload``)
        registers its probes once."""
        entries = self.probes if isinstance(entry, ClaimProbe) else self.prose
        same = [i for i, old in enumerate(entries) if _identity(old) == _identity(entry)]
        if same:
            entries[same[0]] = entry
        else:
            entries.append(entry)

    def for_script(self, script: str) -> list[ClaimProbe]:
        return [p for p in self.probes if p.script == script]

    def for_claim(self, claim: str) -> list[ClaimProbe]:
        return [p for p in self.probes if p.claim == claim]

    def prose_for(self, claim: str) -> list[ProseClaim]:
        return [p for p in self.prose if p.claim == claim]

    def claims(self) -> list[str]:
        seen: list[str] = []
        for claim in [p.claim for p in self.probes] + [p.claim for p in self.prose]:
            if claim not in seen:
                seen.append(claim)
        return seen


REGISTRY = Registry()


def probe(
    claim: str,
    script: str,
    *,
    looks_for: str,
    find: Callable[[Seen], Any],
    once: bool = True,
    on_error: Callable[[Seen, Any], str | None] | None = None,
    registry: Registry = REGISTRY,
) -> Callable[[Callable[[Seen, Any], Any]], Callable[[Seen, Any], Any]]:
    """Register the decorated function as the check of ``claim`` in ``script`` (``on_error``:
    see the module's text)."""

    def register(check: Callable[[Seen, Any], Any]) -> Callable[[Seen, Any], Any]:
        key = check.__name__
        registry.add(
            ClaimProbe(claim, script, looks_for, find, check, once, key=key, on_error=on_error)
        )
        return check

    return register


def prose(
    claim: str, script: str, pattern: str, *, looks_for: str, registry: Registry = REGISTRY
) -> None:
    """Register a claim that ``script`` states in its text only, where ``pattern`` (a regular
    expression, case-insensitive, over the text with its lines joined by spaces) matches."""
    registry.add(ProseClaim(claim, script, re.compile(pattern, re.I | re.S), looks_for))


def _identity(entry: ClaimProbe | ProseClaim) -> tuple[str, ...]:
    if isinstance(entry, ClaimProbe):
        return (entry.claim, entry.script, entry.key)
    return (entry.claim, entry.script, entry.pattern.pattern)


def worst(statuses: Iterable[str]) -> str:
    found = list(statuses)
    for status in WORST_FIRST:
        if status in found:
            return status
    return ABSENT
