"""A pytorch/tutorials revision's five blitz scripts, downloaded by git ref. Torch-free.

``fetch(REF)`` downloads ``beginner_source/blitz/{file}`` of each of the five scripts at REF
(a branch, a tag, a commit) from ``{base}/{REF}/...``, base
``https://raw.githubusercontent.com/pytorch/tutorials`` unless ``$BLITZ_TUTORIAL_URL`` or
``base_url`` says otherwise, into blitz's cache (``$BLITZ_CACHE``, else
``$XDG_CACHE_HOME/blitz``, else ``~/.cache/blitz``), under
``tutorials/<REF, quoted>/beginner_source/blitz/``, and returns it as a ``TutorialSource``
labelled REF.

- A script the revision lacks (404) is left absent: the runner reports it missing. 404 for all
  five: no such ref, ``FetchError``.
- A full (40-hex) commit id does not move: a whole cached copy is used without the network. A
  branch or tag may move: it is downloaded again each time; where that fails (no network, an
  HTTP error) and a whole cached copy exists, that copy is used, and the result's ``note`` says
  so in one line, with the date it was fetched.
- Each file is written to a temporary file and renamed into place; ``provenance.json`` beside
  the scripts (ref, url, fetched time, sha256 of each script, the ones the revision lacks) is
  written last. A copy is whole when its provenance is there and every script matches its
  sha256: a download cut short, or a run killed between two files, leaves no copy that a later
  run takes for whole.
- Every error is a ``FetchError`` with a one-line message; nothing is downloaded at import.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from blitz import __version__
from blitz.tutorial_source.checkout import (
    BLITZ_FOLDER,
    SCRIPTS,
    TutorialSource,
    TutorialSourceError,
)

DEFAULT_BASE_URL = "https://raw.githubusercontent.com/pytorch/tutorials"
URL_ENV = "BLITZ_TUTORIAL_URL"
CACHE_ENV = "BLITZ_CACHE"
PROVENANCE_FILE = "provenance.json"
HOW_TO_AVOID = "use a checkout: --tutorial-source PATH"

_COMMIT = re.compile(r"[0-9a-fA-F]{40}")
_MAX_NAME = 120  # a quoted ref longer than this is cut and given a hash (file name limits)


class FetchError(TutorialSourceError):
    """A revision that could not be downloaded, nor found whole in the cache. One line."""


@dataclass(frozen=True)
class Provenance:
    """Where and when a cached copy came from, and the sha256 of each of its scripts."""

    ref: str
    url: str  # the blitz folder's URL at ref (each script is url/file)
    fetched: str  # UTC, ISO 8601 ("2024-05-01T12:00:00Z")
    sha256: dict[str, str]  # file name -> sha256, for the scripts the revision has
    missing: list[str] = field(default_factory=list)  # the file names it lacks (404)

    def to_json(self) -> dict:
        return {
            "ref": self.ref,
            "url": self.url,
            "fetched": self.fetched,
            "sha256": dict(self.sha256),
            "missing": list(self.missing),
        }

    @classmethod
    def from_json(cls, data: dict) -> Provenance:
        return cls(
            ref=str(data["ref"]),
            url=str(data["url"]),
            fetched=str(data["fetched"]),
            sha256={str(k): str(v) for k, v in dict(data["sha256"]).items()},
            missing=[str(name) for name in data.get("missing", [])],
        )

    @property
    def fetched_on(self) -> str:
        """The fetch time in words: ``2024-05-01 12:00 UTC``."""
        return self.fetched[:16].replace("T", " ") + " UTC"


@dataclass(frozen=True)
class FetchedSource(TutorialSource):
    """A ``TutorialSource`` that ``fetch`` gave: with its provenance, and a ``note`` (one line,
    for the caller to print) where a cached copy stood in for a download that failed."""

    provenance: Provenance | None = None
    note: str | None = None


# ----------------------------------------------------------------------------------------------
# Where


def cache_root() -> Path:
    """blitz's cache: ``$BLITZ_CACHE``, else ``$XDG_CACHE_HOME/blitz``, else ``~/.cache/blitz``."""
    chosen = os.environ.get(CACHE_ENV)
    if chosen:
        return Path(chosen).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "blitz"


def base_url() -> str:
    """Where revisions are downloaded from: ``$BLITZ_TUTORIAL_URL``, else GitHub's raw files."""
    return (os.environ.get(URL_ENV) or DEFAULT_BASE_URL).rstrip("/")


def safe_ref(ref: str) -> str:
    """``ref`` as one file name that cannot leave its folder: ``/``, ``%`` and every other
    character but letters, digits and ``-_.+~`` quoted (``feature/x`` -> ``feature%2Fx``), a
    leading ``.`` too (``..`` -> ``%2E.``); a long one cut, with a hash of the whole."""
    name = urllib.parse.quote(ref, safe="-_.+~")
    if name.startswith("."):
        name = "%2E" + name[1:]
    if len(name) > _MAX_NAME:
        name = name[: _MAX_NAME - 17] + "-" + hashlib.sha256(ref.encode()).hexdigest()[:16]
    return name


def ref_folder(ref: str, cache: Path | None = None) -> Path:
    """The folder whose ``beginner_source/blitz/`` holds ``ref``'s cached scripts."""
    root = (cache if cache is not None else cache_root()) / "tutorials"
    folder = root / safe_ref(ref)
    if folder.parent != root or folder.name in ("", ".", ".."):  # safe_ref makes this impossible
        raise FetchError(f"ref {ref!r} cannot be given a folder in {root}")
    return folder


def ref_url(ref: str, base: str | None = None) -> str:
    """The blitz folder's URL at ``ref``: each ``/``-separated part quoted, ``.`` and ``..``
    too, so that no part of the ref is read as a step up the server's path."""
    parts = []
    for part in ref.split("/"):
        quoted = urllib.parse.quote(part, safe="")
        parts.append(quoted.replace(".", "%2E") if part in (".", "..") else quoted)
    return f"{(base or base_url()).rstrip('/')}/{'/'.join(parts)}/{BLITZ_FOLDER.as_posix()}"


def is_commit(ref: str) -> bool:
    """A full commit id, which names the same files for ever."""
    return _COMMIT.fullmatch(ref) is not None


# ----------------------------------------------------------------------------------------------
# The cache


def read_provenance(folder: Path) -> Provenance | None:
    """The provenance of the copy whose blitz folder is ``folder``; None where there is none,
    or it cannot be read."""
    try:
        data = json.loads((folder / PROVENANCE_FILE).read_text(encoding="utf-8"))
        return Provenance.from_json(data)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def cached(ref: str, cache: Path | None = None) -> FetchedSource | None:
    """``ref``'s cached copy where it is whole (provenance there, every script matching its
    sha256, none of the missing ones present), else None. No network."""
    folder = ref_folder(ref, cache) / BLITZ_FOLDER
    provenance = read_provenance(folder)
    if provenance is None or provenance.ref != ref:
        return None
    for name in SCRIPTS.values():
        path = folder / name
        if name in provenance.sha256:
            try:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError:
                return None
            if digest != provenance.sha256[name]:
                return None
        elif path.exists():
            return None
    return _source(ref, folder, provenance)


def _source(
    ref: str, folder: Path, provenance: Provenance, note: str | None = None
) -> FetchedSource:
    return FetchedSource(
        label=ref,
        folder=folder.resolve(),
        commit=ref.lower() if is_commit(ref) else None,
        provenance=provenance,
        note=note,
    )


def _write_atomically(path: Path, data: bytes) -> None:
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)  # no fsync: a file a crash damaged fails its sha256, and is not used
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise


def _store(ref: str, url: str, files: dict[str, bytes | None], cache: Path | None) -> FetchedSource:
    folder = ref_folder(ref, cache) / BLITZ_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    # The old provenance goes first: until the new one is written, the copy is not whole.
    (folder / PROVENANCE_FILE).unlink(missing_ok=True)
    for name, data in files.items():
        if data is None:
            (folder / name).unlink(missing_ok=True)
        else:
            _write_atomically(folder / name, data)
    provenance = Provenance(
        ref=ref,
        url=url,
        fetched=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        sha256={n: hashlib.sha256(d).hexdigest() for n, d in files.items() if d is not None},
        missing=[name for name, data in files.items() if data is None],
    )
    text = json.dumps(provenance.to_json(), indent=2) + "\n"
    _write_atomically(folder / PROVENANCE_FILE, text.encode("utf-8"))
    return _source(ref, folder, provenance)


# ----------------------------------------------------------------------------------------------
# The download


class _Failed(Exception):
    """A download that failed: ``reason`` in words (one line), ``offline`` for a network one."""

    def __init__(self, reason: str, offline: bool):
        super().__init__(reason)
        self.reason = reason
        self.offline = offline


def _one_line(text: object) -> str:
    return " ".join(str(text).split()) or "unknown error"


def _network_reason(error: BaseException) -> str:
    reason = error.reason if isinstance(error, urllib.error.URLError) else error
    if isinstance(reason, OSError) and reason.strerror:
        return _one_line(reason.strerror)
    return _one_line(reason or type(reason).__name__)


def _get(url: str, timeout_s: float) -> bytes | None:
    """The body at ``url``; None for a 404. ``_Failed`` for anything else."""
    request = urllib.request.Request(url, headers={"User-Agent": f"blitz/{__version__}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return response.read()
    except urllib.error.HTTPError as error:
        error.close()
        if error.code == 404:
            return None
        hint = " (rate limited?)" if error.code in (403, 429) else ""
        status = f"HTTP {error.code} {_one_line(error.reason)}{hint}"
        raise _Failed(f"{status} for {url}", False) from error
    except http.client.IncompleteRead as error:
        got, expected = len(error.partial), error.expected
        total = f" of {got + expected}" if expected is not None else ""
        raise _Failed(f"download cut short: {got}{total} bytes of {url}", True) from error
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        raise _Failed(_network_reason(error), True) from error


def fetch(
    ref: str,
    *,
    cache: Path | None = None,
    base_url: str | None = None,
    timeout_s: float = 30,
) -> FetchedSource:
    """pytorch/tutorials' blitz scripts at git ref ``ref``, downloaded into the cache (see the
    module's docstring), as a ``TutorialSource`` labelled ``ref``.

    ``FetchError`` (one line) where the ref has none of the five scripts, or the download
    failed and there is no whole cached copy.
    """
    if (
        not ref
        or ref != ref.strip()
        or any(c in ref for c in "\0\n\r")
        or ref.startswith("/")
        or ref.endswith("/")
        or "//" in ref
    ):
        raise FetchError(f"not a git ref: {ref!r}")
    cache = Path(cache).expanduser() if cache is not None else None
    if is_commit(ref):
        found = cached(ref, cache)
        if found is not None:
            return found
    url = ref_url(ref, base_url)
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        where = "base_url" if base_url else f"${URL_ENV}" if os.environ.get(URL_ENV) else "base"
        raise FetchError(f"not an http(s) URL: {url} (from {where})")
    files: dict[str, bytes | None] = {}
    try:
        for name in SCRIPTS.values():
            files[name] = _get(f"{url}/{name}", timeout_s)
    except _Failed as failed:
        found = cached(ref, cache)
        what = f"no network ({failed.reason})" if failed.offline else failed.reason
        if found is None:
            raise FetchError(
                f"cannot download pytorch/tutorials at {ref}: {what}; {HOW_TO_AVOID}"
            ) from None
        assert found.provenance is not None
        note = (
            f"cannot download pytorch/tutorials at {ref}: {what}; using the copy fetched "
            f"{found.provenance.fetched_on} ({found.folder})"
        )
        return _source(ref, found.folder, found.provenance, note)
    if all(data is None for data in files.values()):
        raise FetchError(
            f"pytorch/tutorials has no ref {ref!r} (or no blitz scripts there): 404 for all "
            f"five scripts under {url}/"
        )
    try:
        return _store(ref, url, files, cache)
    except OSError as error:
        raise FetchError(
            f"cannot write pytorch/tutorials at {ref} into {ref_folder(ref, cache)}: "
            f"{_network_reason(error)}"
        ) from None
