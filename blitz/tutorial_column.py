"""The tutorial columns of a pytest run: ``--tutorial-source [LABEL=]PATH`` and ``--tutorial-ref``.

Each source (a revision of the tutorial) is a column ``tutorial:LABEL`` of the claims matrix,
beside the devices. It is collected as one test item per catalogue claim
(``tutorial:LABEL::T03``), after the suite's own tests; an item's outcome is the claim's
verdict from executing that revision's scripts (``blitz.tutorial_source.verdicts``): passed
for holds, drift and partial (with the drift note and what was not checked), failed for FAILS
(the tutorial's code, on this torch, does not do what it says), an error where the environment
or blitz broke, skipped for a claim about a GPU or one stated only in prose, and skipped as
``absent`` where the revision does not state the claim. The items flow into the matrix as any
claim test does, so ``-k``, ``--deselect`` and ``-n`` work on them and their cells say how much
ran.

A script runs once per process, when the first item that needs it runs, and its result is kept
for the other claims it states. Without ``--run-slow`` the CIFAR-10 script is capped
(``QUICK_TRAIN`` / ``QUICK_TEST`` images): the claims that need the full protocol read partial.
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from blitz import claims as catalogue
from blitz import matrix, settings
from blitz.errors import EnvironmentProblem
from blitz.tutorial_source import verdicts as verdicts_module
from blitz.tutorial_source.checkout import TutorialSource, TutorialSourceError, locate
from blitz.tutorial_source.probes import load_all
from blitz.tutorial_source.probes.base import ABSENT, DRIFT, ERROR, FAILS, SKIPPED
from blitz.tutorial_source.probes.running import CLAIM_PROBES
from blitz.tutorial_source.result import ScriptRun, SourceRun
from blitz.tutorial_source.runner import RunOptions, run_source, stop_all

PREFIX = matrix.TUTORIAL_PREFIX
# The quick run's CIFAR-10 caps: the five scripts of a revision in under a minute on 2 cores.
QUICK_TRAIN = 2_000
QUICK_TEST = 1_000
# Scripts of the run's columns that run side by side (a script's process is mostly one thread
# importing and running torch; the CIFAR-10 one has two loader workers besides).
PARALLEL = 2
# The scripts' usual running times, longest first: started in this order, the short ones fill in
# beside the CIFAR-10 training.
LONGEST_FIRST = ("cifar10", "autograd", "neural_networks", "data_parallel", "tensor")
# A script still running after this long is stopped (its claims read error, saying so).
QUICK_TIMEOUT_S = 600.0
FULL_TIMEOUT_S = 4 * 3600.0


@dataclass
class Column:
    """One tutorial source of the run: its label, where it came from, and its runs so far."""

    label: str
    source: TutorialSource | None  # None: it could not be had (``error`` says why)
    origin: str  # where it came from, in words
    error: str = ""
    runs: dict[str, ScriptRun] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return PREFIX + self.label

    def describe(self) -> str:
        return self.error or self.origin


def parse_seed(text: str) -> int | None:
    if text.strip().lower() == "none":
        return None
    try:
        return int(text)
    except ValueError:
        raise pytest.UsageError(f"--tutorial-seed {text}: expected an integer or 'none'") from None


def columns_from_options(config: pytest.Config) -> list[Column]:
    """The run's tutorial columns: each ``--tutorial-source`` located (a path that is not a
    tutorial checkout is a usage error, before any test), each ``--tutorial-ref`` fetched."""
    found: list[Column] = []
    for spec in config.getoption("blitz_tutorial_source") or []:
        try:
            source = locate(spec)
        except TutorialSourceError as exc:
            raise pytest.UsageError(f"--tutorial-source {spec}: {exc}") from None
        where = f"{source.folder}" + (f" at commit {source.commit}" if source.commit else "")
        found.append(Column(source.label, source, where))
    for ref in config.getoption("blitz_tutorial_ref") or []:
        from blitz.tutorial_source import fetch

        try:
            got = fetch.fetch(ref)
        except fetch.FetchError as exc:
            found.append(Column(ref, None, f"pytorch/tutorials at {ref}", error=str(exc)))
            continue
        origin = f"pytorch/tutorials at {ref}, downloaded to {got.folder}"
        note = getattr(got, "note", "")
        found.append(Column(got.label, got, origin + (f" ({note})" if note else "")))
    labels = [c.label for c in found]
    twice = sorted({label for label in labels if labels.count(label) > 1})
    if twice:
        raise pytest.UsageError(
            f"two tutorial sources are labelled {', '.join(twice)}: name them, "
            "--tutorial-source LABEL=PATH"
        )
    return found


class TutorialColumns:
    """The run's tutorial columns and how their scripts run (one run per script and process)."""

    def __init__(self, columns: list[Column], options: RunOptions, full: bool) -> None:
        self.columns = {c.name: c for c in columns}
        self.options = options
        self.full = full
        self.registry = load_all()
        self._pool: ThreadPoolExecutor | None = None
        self._pending: dict[tuple[str, str], Future] = {}

    @classmethod
    def from_config(cls, config: pytest.Config, full: bool) -> TutorialColumns:
        columns = columns_from_options(config)
        root = config.getoption("blitz_cifar10_root") or os.environ.get(settings.DATA_ROOT_ENV)
        options = RunOptions(
            seed=parse_seed(config.getoption("blitz_tutorial_seed")),
            cifar10_root=str(Path(root).expanduser().absolute()) if root else None,
            cifar10_train_subset=None if full else QUICK_TRAIN,
            cifar10_test_subset=None if full else QUICK_TEST,
            allow_download=config.getoption("blitz_tutorial_allow_download"),
            probes=(CLAIM_PROBES,),
            timeout_s=FULL_TIMEOUT_S if full else QUICK_TIMEOUT_S,
        )
        return cls(columns, options, full)

    def device(self, name: str) -> matrix.Device:
        """The column's entry among the run's devices (``RunDocument.devices``)."""
        column = self.columns[name]
        if column.source is None:
            return matrix.Device(type=name, available=False, reason=column.error)
        return matrix.Device(type=name, available=True, name=self.describe(name))

    def describe(self, name: str) -> str:
        """The column's header line: where the revision came from and how it runs."""
        column = self.columns[name]
        if column.error:
            return column.error
        seed = self.options.seed
        how = f"seed {seed}" if seed is not None else "not seeded"
        if not self.full:
            how += (
                f", quick run: CIFAR-10 capped at {QUICK_TRAIN:,} training and "
                f"{QUICK_TEST:,} test images (--run-slow: the full protocol)"
            )
        return f"{column.origin}; {how}"

    def scripts_of(self, claim_id: str) -> list[str]:
        probes = self.registry.for_claim(claim_id) + self.registry.prose_for(claim_id)
        return list(dict.fromkeys(p.script for p in probes))

    def start(self, items: list[pytest.Item]) -> None:
        """Start the scripts that the selected ``items`` need, ``PARALLEL`` side by side, the
        longest first (each item then waits for its own)."""
        needed = [
            (item.tutorial_column, script)
            for item in items
            if isinstance(item, TutorialClaimItem)
            and self.columns[item.tutorial_column].source is not None
            and not item.get_closest_marker("skip")
            for script in self.scripts_of(item.claim_id)
        ]
        needed = [key for key in dict.fromkeys(needed) if key not in self._pending]
        needed.sort(key=lambda key: LONGEST_FIRST.index(key[1]))
        if not needed:
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(PARALLEL, thread_name_prefix="blitz-tutorial")
        for name, script in needed:
            self._pending[(name, script)] = self._pool.submit(self._run_one, name, script)

    def stop(self) -> None:
        """End what is still running (the run ended early) and let the threads go."""
        if self._pool is None:
            return
        for future in self._pending.values():
            future.cancel()
        stop_all()
        self._pool.shutdown(wait=True)
        self._pool = None

    def _run_one(self, name: str, script: str) -> ScriptRun:
        column = self.columns[name]
        return run_source(column.source, self.options, names=[script]).scripts[script]

    def run(self, name: str, claim_id: str) -> SourceRun:
        """The scripts that state ``claim_id``, run (once per process) for column ``name``."""
        column = self.columns[name]
        assert column.source is not None
        for script in self.scripts_of(claim_id):
            if script not in column.runs:
                future = self._pending.pop((name, script), None)
                column.runs[script] = (
                    future.result() if future is not None else self._run_one(name, script)
                )
        return SourceRun(
            label=column.label, path=str(column.source.folder), commit=column.source.commit,
            scripts=dict(column.runs), options=self.options.to_json(),
        )  # fmt: skip

    def facts(self, name: str) -> dict[str, str]:
        """What the column's runs so far say about themselves, for the run's facts."""
        column = self.columns[name]
        out: dict[str, str] = {}
        for script, run in column.runs.items():
            key = f"{name} {run.script}"
            took = run.timings.get("wall_s")
            text = run.status + (f" in {took:.1f} s" if took is not None else "")
            if run.error:
                text += f": {run.error.splitlines()[0]}"
            errors = [
                f"line {c.error.lineno or c.lineno} raised {c.error.type}" for c in run.errors
            ]
            if errors:
                text += f"; {', '.join(errors)}"
            out[key] = text
            unread = verdicts_module.printed_unchecked(run)
            if unread:
                out[f"{name} printed, not checked ({script})"] = "; ".join(
                    u.split(", ", 1)[1] for u in unread
                )
            cifar10 = run.facts.get("cifar10")
            if cifar10 and cifar10.get("description"):
                sizes = ", ".join(
                    f"{'train' if c['train'] else 'test'} {c.get('size', '?'):,}"
                    for c in cifar10.get("calls", [])
                    if isinstance(c.get("size"), int)
                )
                out[f"{name} CIFAR-10"] = f"{cifar10['description']} ({sizes})"
            for weights in run.facts.get("pretrained") or []:
                file = os.path.basename(str(weights.get("file", "?")))
                out[f"{name} pretrained weights"] = f"{file}: {weights.get('source')}"
        return out


class TutorialClaimItem(pytest.Item):
    """One claim's verdict from one tutorial source (see the module's text)."""

    def __init__(self, *, claim_id: str, column: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.claim_id = claim_id
        self.tutorial_column = column
        self.add_marker(pytest.mark.claim(claim_id))
        self.add_marker(pytest.mark.tutorial)
        self.add_marker(pytest.mark.xdist_group(column))

    def runtest(self) -> None:
        from blitz.plugin import TUTORIAL_COLUMNS
        from blitz.session import DRIFT_KEY, FAILURE_KEY, NOTE_KEY, RUN_KEY, UNCHECKED_KEY

        columns: TutorialColumns = self.config.stash[TUTORIAL_COLUMNS]
        column = columns.columns[self.tutorial_column]
        if column.source is None:
            raise EnvironmentProblem(column.error)
        run = columns.run(self.tutorial_column, self.claim_id)
        for key, value in columns.facts(self.tutorial_column).items():
            self.user_properties.append((RUN_KEY, (key, value)))
        found = verdicts_module.verdict(run, self.claim_id, columns.registry)
        self.user_properties += [(DRIFT_KEY, d) for d in found.drift]
        self.user_properties += [(NOTE_KEY, n) for n in found.notes]
        self.user_properties += [(UNCHECKED_KEY, u) for u in found.unchecked]
        if found.status == FAILS:
            # The cell's words travel as a property: pytest-xdist sends a report's text with a
            # header of its own.
            self.user_properties.append((FAILURE_KEY, found.note))
            raise TutorialClaimFails(found.note)
        if found.status == ERROR:
            raise EnvironmentProblem(found.note)
        if found.status == ABSENT:
            from blitz.session import ABSENT_KEY

            self.user_properties.append((ABSENT_KEY, found.note))
            pytest.skip(found.note)
        if found.status == SKIPPED:
            pytest.skip(found.note)
        if found.status == DRIFT and not found.drift:
            self.user_properties.append((DRIFT_KEY, found.note))

    def repr_failure(self, excinfo, style=None) -> str:
        if excinfo.errisinstance(TutorialClaimFails):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, f"{self.tutorial_column} {self.claim_id}"


class TutorialClaimFails(AssertionError):
    """A claim that the tutorial's own code, run on this torch, does not bear out."""


class TutorialColumnNode(pytest.Collector):
    """The items of one tutorial column (made by the plugin after collection)."""

    def collect(self):  # the plugin adds the items itself
        return []


def make_items(session: pytest.Session, columns: TutorialColumns) -> list[pytest.Item]:
    """An item per tested claim per column, in catalogue order."""
    items: list[pytest.Item] = []
    for name in columns.columns:
        node = TutorialColumnNode.from_parent(session, name=name, nodeid=name)
        for claim in catalogue.tested():
            items.append(
                TutorialClaimItem.from_parent(node, name=claim.id, claim_id=claim.id, column=name)
            )
    return items
