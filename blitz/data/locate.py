"""Where the data is: the lookup order (see ``blitz.data``), torchvision's official files and
their download (bounded in time), and the source a run uses (``Cifar10Source``)."""

from __future__ import annotations

import http.client
import os
import socket
import tarfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torchvision
from torchvision.datasets.utils import check_integrity

from blitz.data.common import (
    OFFICIAL,
    OFFICIAL_FOLDER,
    OFFLINE,
    OFFLINE_FILES,
    ROOT_ENV,
    CIFAR10CorruptError,
    CIFAR10NotFound,
    one_line,
)
from blitz.data.offline import OfflineCIFAR10

# Bounds on a download attempt, in seconds: the reachability check, and any single socket
# operation while downloading (a stalled transfer fails instead of hanging).
REACHABILITY_TIMEOUT_S = 5.0
DOWNLOAD_STALL_TIMEOUT_S = 60.0

# How the pytest plugin's option names the explicit root; the CLI says ``--root DIR``.
PYTEST_ROOT_OPTION = "--cifar10-root DIR"


def how_to_get(root_option: str = PYTEST_ROOT_OPTION) -> str:
    """How to get the data, in the words of the caller's own ``root_option``."""
    return (
        f"get it with {root_option} or ${ROOT_ENV}=DIR (DIR holding torchvision's "
        f"{OFFICIAL_FOLDER}/ or the offline train.npz + test.npz), or allow the download "
        "(no --no-download, network needed)"
    )


# ----------------------------------------------------------------------------------------------
# Where the data is


def default_root() -> Path:
    """Where torchvision's files are looked for and downloaded to when no root is given."""
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "blitz" / "data"


def explicit_root(option: str | None = None) -> Path | None:
    """The root the user named: ``--cifar10-root`` (``option``), else ``$BLITZ_DATA_ROOT``."""
    chosen = option or os.environ.get(ROOT_ENV)
    return Path(chosen).expanduser() if chosen else None


@dataclass(frozen=True)
class Cifar10Source:
    """A copy of CIFAR-10 that was found: which kind (``official``/``offline``) and where."""

    kind: str
    root: Path
    downloaded: bool = False

    @property
    def description(self) -> str:
        """Which copy this is, in words (the offline copy's pixels differ slightly)."""
        if self.kind == OFFICIAL:
            return "torchvision's official files"
        return "the offline copy (JPEG-compressed pixels)"

    @property
    def note(self) -> str:
        """Which copy a run used, as a note beside a claim's result."""
        return f"data: {self.description}"

    def dataset(self, train: bool, transform: Callable | None = None) -> Any:
        """The split as a ``torchvision.datasets.CIFAR10`` (or its offline twin)."""
        if self.kind == OFFLINE:
            return OfflineCIFAR10(self.root, train=train, transform=transform)
        return load_official(self.root, train=train, transform=transform)


def find_cifar10(
    root: str | os.PathLike | None = None,
    *,
    download: bool = True,
    default: str | os.PathLike | None = None,
    root_option: str = PYTEST_ROOT_OPTION,
) -> Cifar10Source:
    """Find CIFAR-10 in the order of the module docstring; ``CIFAR10NotFound`` when none is.

    ``root`` is the explicit root (see ``explicit_root``); ``default`` replaces
    ``default_root()``. Finding checks which files are there; reading them (``dataset``) checks
    their contents. ``root_option`` is how the caller's own option names the explicit root, for
    the "how to get it" hint (the pytest option by default).
    """
    if root is not None:
        root = Path(root)
        kind = _kind_in(root)
        if kind is not None:
            return Cifar10Source(kind, root)
        looked = f"{root} (explicit root)"
    else:
        root = Path(default) if default is not None else default_root()
        if _kind_in(root, offline=False) == OFFICIAL:
            return Cifar10Source(OFFICIAL, root)
        looked = f"{root} (default root)"
    why_not_downloaded = "download disabled (--no-download)"
    if download:
        why_not_downloaded = download_official(root)
        if why_not_downloaded is None:
            return Cifar10Source(OFFICIAL, root, downloaded=True)
    if _kind_in(root) == OFFLINE:
        return Cifar10Source(OFFLINE, root)
    raise CIFAR10NotFound(
        f"CIFAR-10 not found: looked in {looked} for {OFFICIAL_FOLDER}/ or train.npz + test.npz; "
        f"{why_not_downloaded}; {how_to_get(root_option)}"
    )


def _kind_in(root: Path, offline: bool = True) -> str | None:
    """``official`` or ``offline`` when ``root`` holds that copy (either file of it), or None.

    Something other than a folder where torchvision's folder belongs is ``CIFAR10CorruptError``.
    """
    folder = root / OFFICIAL_FOLDER
    if folder.is_dir():
        return OFFICIAL
    if folder.exists():
        raise CIFAR10CorruptError(
            f"{folder}: not a folder (torchvision's CIFAR-10 files belong in a folder of that "
            "name); remove it"
        )
    if offline and any((root / name).exists() for name in OFFLINE_FILES.values()):
        return OFFLINE
    return None


def download_official(root: Path) -> str | None:
    """Download torchvision's CIFAR-10 into ``root``; None on success, else why not (one line).

    torchvision's own download, with its progress bar, as the tutorial's
    ``CIFAR10(download=True)``; bounded so that it fails fast without network. What it
    downloaded or extracted failing torchvision's MD5 check is ``CIFAR10CorruptError`` naming
    the file: a damaged copy, not a missing one.
    """
    url = torchvision.datasets.CIFAR10.url
    unreachable = check_reachable(url)
    if unreachable is not None:
        return f"download impossible: {unreachable}"
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_STALL_TIMEOUT_S)
    try:
        torchvision.datasets.CIFAR10(str(root), train=True, download=True)
    except RuntimeError as exc:
        # torchvision's MD5 checks, of the archive and then of the files it extracted: name the
        # file that failed (torchvision does not).
        fault = _downloaded_fault(root, url)
        if fault is not None:
            raise CIFAR10CorruptError(fault) from None
        return f"download from {url} failed: {one_line(exc)}"
    except (OSError, http.client.HTTPException, tarfile.TarError) as exc:
        # OSError covers URLError and timeouts.
        return f"download from {url} failed: {one_line(exc)}"
    finally:
        socket.setdefaulttimeout(previous)
    return None


def _downloaded_fault(root: Path, url: str) -> str | None:
    """Which file of a download into ``root`` fails torchvision's MD5 check, in one line."""
    cls = torchvision.datasets.CIFAR10
    archive = root / cls.filename
    if archive.is_file() and not check_integrity(str(archive), cls.tgz_md5):
        return (
            f"{archive}: the CIFAR-10 archive downloaded from {url} fails its MD5 check "
            f"(expected {cls.tgz_md5}): the transfer broke or the server sent something else; "
            "the next run downloads it again"
        )
    if (root / OFFICIAL_FOLDER).is_dir():
        bad = official_faults(root)
        if bad:
            return _official_fault_message(root, bad)
    return None


def check_reachable(url: str, timeout: float = REACHABILITY_TIMEOUT_S) -> str | None:
    """None when ``url`` answers within ``timeout`` seconds, else one line saying why not."""
    request = urllib.request.Request(url, method="HEAD", headers={"User-Agent": "blitz"})
    try:
        urllib.request.urlopen(request, timeout=timeout).close()
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return f"{url} unreachable within {timeout:g} s ({one_line(exc)})"
    return None


# ----------------------------------------------------------------------------------------------
# torchvision's official files


def load_official(root: Path, train: bool, transform: Callable | None = None) -> Any:
    """``torchvision.datasets.CIFAR10(root, train)``; a failed check names the file."""
    try:
        return torchvision.datasets.CIFAR10(str(root), train=train, transform=transform)
    except RuntimeError:
        # torchvision says "Dataset not found or corrupted" without naming the file: find it.
        bad = official_faults(root)
        if not bad:
            raise
        raise CIFAR10CorruptError(_official_fault_message(root, bad)) from None


def _official_fault_message(root: Path, bad: list[Path]) -> str:
    return (
        f"{bad[0]}: torchvision's CIFAR-10 file is missing or fails its MD5 check "
        f"({len(bad)} bad file(s) in {root / OFFICIAL_FOLDER}); delete the folder to "
        "download it again"
    )


def official_faults(root: Path) -> list[Path]:
    """The official files under ``root`` that are missing or fail torchvision's MD5."""
    cls = torchvision.datasets.CIFAR10
    folder = root / OFFICIAL_FOLDER
    expected = [*cls.train_list, *cls.test_list, [cls.meta["filename"], cls.meta["md5"]]]
    return [folder / name for name, md5 in expected if not check_integrity(str(folder / name), md5)]
