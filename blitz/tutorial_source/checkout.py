"""Where a tutorial source's five scripts are, and what to call it. Torch-free.

A source is given as ``[LABEL=]PATH``. PATH is a pytorch/tutorials checkout (its
``beginner_source/blitz/`` is read) or that folder itself. LABEL defaults to the checkout's
short commit where PATH is a git checkout (``-dirty`` added when the blitz folder has changes
that are not committed: its scripts are not that commit's), else to the folder's name (the
checkout's, where PATH is the blitz folder of one).

The five scripts have had the same names since the data-parallel one joined the others in
November 2017; a revision that lacks one has it reported missing, not a crash.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from blitz.errors import EnvironmentProblem

BLITZ_FOLDER = Path("beginner_source") / "blitz"

# The scripts in the tutorial's order: name -> file.
SCRIPTS = {
    "tensor": "tensor_tutorial.py",
    "autograd": "autograd_tutorial.py",
    "neural_networks": "neural_networks_tutorial.py",
    "cifar10": "cifar10_tutorial.py",
    "data_parallel": "data_parallel_tutorial.py",
}

GIT_TIMEOUT_S = 10.0


class TutorialSourceError(EnvironmentProblem, ValueError):
    """A tutorial source that cannot be read: the message says which path, and why."""


@dataclass(frozen=True)
class TutorialSource:
    """A tutorial revision's blitz folder: its scripts and its label."""

    label: str
    folder: Path  # the beginner_source/blitz folder
    commit: str | None = None  # full commit of the checkout, where it is a git checkout
    dirty: bool = False  # the blitz folder has uncommitted changes

    def script(self, name: str) -> Path | None:
        """The path of script ``name`` ("tensor", ...), or None where this revision lacks it."""
        path = self.folder / SCRIPTS[name]
        return path if path.is_file() else None

    @property
    def scripts(self) -> dict[str, Path]:
        """The scripts this revision has, by name, in the tutorial's order."""
        found = {name: self.script(name) for name in SCRIPTS}
        return {name: path for name, path in found.items() if path is not None}

    @property
    def missing(self) -> list[str]:
        """The names of the scripts this revision lacks."""
        return [name for name in SCRIPTS if self.script(name) is None]


def parse_spec(spec: str) -> tuple[str | None, Path]:
    """``"LABEL=PATH"`` or ``"PATH"`` -> (label or None, path).

    The part before the first ``=`` is a label when it is not empty, holds no path separator,
    and the whole text is not itself an existing path (a folder may have ``=`` in its name).
    """
    label, sep, path = spec.partition("=")
    separators = {os.sep, "/"} | ({os.altsep} if os.altsep else set())
    if sep and label and not any(s in label for s in separators) and not Path(spec).exists():
        if not path:
            raise TutorialSourceError(f"{spec!r}: no PATH after {label}= (expected LABEL=PATH)")
        return label, Path(path).expanduser()
    return None, Path(spec).expanduser()


def locate(spec: str | os.PathLike, label: str | None = None) -> TutorialSource:
    """The tutorial source that ``spec`` (``[LABEL=]PATH``, or a path) names.

    ``TutorialSourceError`` when PATH does not exist, or holds neither a
    ``beginner_source/blitz/`` nor any of the five scripts.
    """
    if isinstance(spec, os.PathLike):
        given_label, path = None, Path(spec)
    else:
        given_label, path = parse_spec(spec)
    label = label or given_label
    if not path.exists():
        raise TutorialSourceError(f"{path}: no such folder (expected a pytorch/tutorials checkout)")
    if not path.is_dir():
        raise TutorialSourceError(f"{path}: not a folder (expected a pytorch/tutorials checkout)")
    path = path.resolve()
    if (path / BLITZ_FOLDER).is_dir():
        folder = path / BLITZ_FOLDER
    elif any((path / name).is_file() for name in SCRIPTS.values()):
        folder = path
    else:
        raise TutorialSourceError(
            f"{path}: neither a pytorch/tutorials checkout (no {BLITZ_FOLDER.as_posix()}/) nor "
            f"its blitz folder (none of {', '.join(SCRIPTS.values())})"
        )
    commit, short, dirty = git_revision(folder)
    if label is None:
        label = f"{short}-dirty" if short and dirty else short or checkout_name(folder)
    return TutorialSource(label=label, folder=folder, commit=commit, dirty=dirty)


def checkout_name(folder: Path) -> str:
    """The checkout's folder name where ``folder`` is its beginner_source/blitz, else its own."""
    if folder.parts[-2:] == BLITZ_FOLDER.parts:
        return folder.parent.parent.name
    return folder.name


def git_revision(folder: Path) -> tuple[str | None, str | None, bool]:
    """(full commit, short commit, dirty) of the checkout whose blitz folder ``folder`` is.

    (None, None, False) when ``folder`` is not the blitz folder of a git checkout (or the
    checkout's root itself holding the scripts), or git is not there: a folder copied into some
    other repository does not take that repository's commit.
    """
    try:
        top = _git(folder, "rev-parse", "--show-toplevel")
        if top is None:
            return None, None, False
        top_path = Path(top).resolve()
        if folder.resolve() not in (top_path / BLITZ_FOLDER, top_path):
            return None, None, False
        commit = _git(folder, "rev-parse", "HEAD")
        short = _git(folder, "rev-parse", "--short", "HEAD")
        status = _git(folder, "status", "--porcelain", "--untracked-files=no", "--", ".")
    except (OSError, subprocess.SubprocessError):
        return None, None, False
    if commit is None:
        return None, None, False
    return commit, short, bool(status)


def _git(folder: Path, *args: str) -> str | None:
    done = subprocess.run(
        ["git", "-C", str(folder), *args],
        capture_output=True, text=True, timeout=GIT_TIMEOUT_S,
    )  # fmt: skip
    if done.returncode != 0:
        return None
    return done.stdout.strip()
