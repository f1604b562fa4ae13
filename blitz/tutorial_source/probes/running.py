"""The claim probes in the child process: ``ClaimProbes``, a probe of the runner's protocol.

``RunOptions(probes=[CLAIM_PROBES])`` makes the child call ``ClaimProbes`` after each cell. For
each probe of the running script (``blitz.tutorial_source.probes``) that has not matched yet, it
asks ``find`` whether the cell states the claim; where it does, it runs ``check`` against the
cell's namespace and output and records a finding (``Finding``) in the cell's
``probes["claims"]``. Every check runs ``untouched`` (the script's generators, grad mode and
warnings as they were), and a check that raises ``Unchecked`` records what it could not check.
A cell that raised gives its claims a finding from the exception instead: an exception that the
probe expects on some versions (its ``on_error`` gives a note: an API this torch lacks) is
drift; the tutorial's code failing on this torch is FAILS, with the exception and the tutorial's
line; an exception that says the environment is missing something (a refused connection, a
package not installed, no CIFAR-10 copy) is an error.
"""

from __future__ import annotations

import contextlib
import random
import traceback
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from blitz.tutorial_source import context
from blitz.tutorial_source.probes.base import (
    DRIFT,
    ERROR,
    FAILS,
    HOLDS,
    PARTIAL,
    REGISTRY,
    ClaimProbe,
    Registry,
    Seen,
    Unchecked,
)

NAME = "claims"  # the key of the findings in a cell's probes
CLAIM_PROBES = "blitz.tutorial_source.probes.running:ClaimProbes"


@dataclass
class Finding:
    """What a probe found in one cell: the claim's status there, and why."""

    claim: str
    probe: str
    status: str
    line: int
    note: str = ""
    drift: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)
    read_output: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Finding:
        return cls(**data)


# Exceptions that say the environment lacks something, not that the tutorial's code is wrong.
ENVIRONMENT_ERRORS = ("ModuleNotFoundError", "MemoryError", "OSError", "PermissionError")


def cell_error_finding(
    probe: ClaimProbe, cell: Any, line: int, earlier: list[Any], seen: Seen | None = None
) -> Finding:
    """The finding of a claim whose cell raised (``seen``: that cell, for the probe's
    ``on_error``)."""
    error = cell.error
    where = f"line {error.lineno}" if error.lineno else f"the cell at line {cell.lineno}"
    text = f"{where} raised {error.type}: {error.message}".rstrip(": ")
    if cell.network:
        return Finding(
            probe.claim, probe.key, ERROR, line,
            f"the cell needed the network, which this run does not allow ({cell.network[0]} "
            f"refused; allow it with --tutorial-allow-download): {text}",
        )  # fmt: skip
    if probe.on_error is not None and seen is not None:
        # the cell's own error; for a NameError, the earlier cells' too (a name they did not make)
        causes = [error] + ([e.error for e in earlier] if error.type == "NameError" else [])
        try:
            with untouched():
                note = next(filter(None, (probe.on_error(seen, c) for c in causes)), None)
        except Exception as exc:  # the probe broke: blitz's fault, never the tutorial's
            return Finding(
                probe.claim, probe.key, ERROR, line,
                f"blitz's probe {probe.where} broke reading the cell's error: "
                f"{type(exc).__name__}: {exc}",
            )  # fmt: skip
        if note:
            return Finding(probe.claim, probe.key, DRIFT, line, note, drift=[note])
    if error.type in ENVIRONMENT_ERRORS or error.type.startswith("blitz."):
        return Finding(probe.claim, probe.key, ERROR, line, f"the environment: {text}")
    if error.type == "NameError" and earlier:
        first = earlier[0]
        text += (
            f" (a name an earlier cell did not make: line {first.error.lineno or first.lineno} "
            f"raised {first.error.type})"
        )
    return Finding(probe.claim, probe.key, FAILS, line, f"the tutorial's code fails: {text}")


@contextlib.contextmanager
def untouched() -> Iterator[None]:
    """Run a check without leaving a trace in the script: its random generators (torch's CPU
    one, ``random``, NumPy's), grad mode and warnings filters are restored afterwards, and a
    warning the check raises is not recorded against the script's next cell."""
    import torch

    state = torch.get_rng_state()
    py_state = random.getstate()
    try:
        import numpy
    except ImportError:  # pragma: no cover - the tutorial needs NumPy anyway
        numpy = None
    np_state = numpy.random.get_state() if numpy is not None else None
    grad = torch.is_grad_enabled()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        torch.set_rng_state(state)
        random.setstate(py_state)
        if numpy is not None:
            numpy.random.set_state(np_state)
        torch.set_grad_enabled(grad)


def run_check(probe: ClaimProbe, seen: Seen, match: Any, line: int) -> Finding:
    """The finding of ``probe``'s check on a cell that ran; the check runs ``untouched``: a
    probe never changes what the script draws or computes after it."""
    try:
        with untouched():
            probe.check(seen, match)
    except Unchecked as exc:
        seen.unchecked(str(exc))
    except AssertionError as exc:
        message = str(exc).strip() or "assertion failed"
        return _finding(probe, seen, FAILS, line, " ".join(message.split()))
    except Exception as exc:  # the probe broke: blitz's fault, never the tutorial's
        last = traceback.extract_tb(exc.__traceback__)[-1]
        return _finding(
            probe, seen, ERROR, line,
            f"blitz's probe {probe.where} broke: {type(exc).__name__}: {exc} "
            f"({Path(last.filename).name}:{last.lineno})",
        )  # fmt: skip
    if seen._drift:
        status = DRIFT
    elif seen._unchecked:
        status = PARTIAL
    else:
        status = HOLDS
    return _finding(probe, seen, status, line, "; ".join(seen._drift + seen._notes))


def _finding(probe: ClaimProbe, seen: Seen, status: str, line: int, note: str) -> Finding:
    return Finding(
        probe.claim, probe.key, status, line, note, list(seen._drift), list(seen._notes),
        list(seen._unchecked), seen._read_output,
    )  # fmt: skip


class ClaimProbes:
    """Every claim probe of the running script, called after each of its cells."""

    name = NAME

    def __init__(self, registry: Registry | None = None) -> None:
        self.registry = registry
        self.probes: list[ClaimProbe] = []
        self.matched: set[str] = set()
        self.memory: dict[str, dict[str, Any]] = {}
        self.errors: list[Any] = []  # cells that raised so far
        self.script_text = ""

    def start(self, namespace: dict[str, Any]) -> None:
        if self.registry is None:
            from blitz.tutorial_source.probes import load_all

            self.registry = load_all()
        self.probes = (self.registry or REGISTRY).for_script(context.SPEC.get("name", ""))
        try:
            self.script_text = Path(context.SPEC["script"]).read_text(encoding="utf-8")
        except (KeyError, OSError):
            self.script_text = ""

    def __call__(self, cell: Any, namespace: dict[str, Any], stdout: str) -> Any:
        findings = []
        for probe in self.probes:
            if probe.once and probe.where in self.matched:
                continue
            memory = self.memory.setdefault(probe.where, {})
            seen = Seen(
                context.SPEC.get("name", ""), cell.source, cell.lineno, index=cell.index,
                namespace=namespace, stdout=stdout, output=cell.output,
                seed=context.SPEC.get("seed"), options=context.SPEC, memory=memory,
                script_text=self.script_text,
            )  # fmt: skip
            try:
                match = probe.find(seen)
            except Exception as exc:
                findings.append(
                    Finding(
                        probe.claim,
                        probe.key,
                        ERROR,
                        cell.lineno,
                        f"blitz's probe {probe.where} broke finding the claim: "
                        f"{type(exc).__name__}: {exc}",
                    )  # fmt: skip
                )
                continue
            if not match:
                continue
            self.matched.add(probe.where)
            line = seen.line(match) if hasattr(match, "lineno") else cell.lineno
            if cell.error is not None:
                finding = cell_error_finding(probe, cell, line, self.errors, seen)
            else:
                finding = run_check(probe, seen, match, line)
            findings.append(finding.to_json())
        if cell.error is not None:
            self.errors.append(cell)
        findings = [f.to_json() if isinstance(f, Finding) else f for f in findings]
        return findings or None
