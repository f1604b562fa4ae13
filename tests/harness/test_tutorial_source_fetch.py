"""Downloading a tutorial revision by git ref (``blitz.tutorial_source.fetch``), all offline.

A loopback HTTP server in a thread serves a fake tree ``<root>/<ref>/beginner_source/blitz/``
of tiny scripts written here (never the tutorial's code); the cache is in tmp_path.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from blitz.tutorial_source import fetch as fetch_module
from blitz.tutorial_source.checkout import SCRIPTS, TutorialSource, locate
from blitz.tutorial_source.fetch import (
    PROVENANCE_FILE,
    FetchError,
    cache_root,
    cached,
    fetch,
    read_provenance,
    ref_folder,
    safe_ref,
)

FILES = tuple(SCRIPTS.values())
COMMIT = "0123456789abcdef0123456789abcdef01234567"
NO_NETWORK = (
    r"^cannot download pytorch/tutorials at {ref}: no network \(.+\); "
    r"use a checkout: --tutorial-source PATH$"
)


def script_text(ref: str, file: str, version: int = 1) -> bytes:
    return f"# fake {file} at {ref}, version {version}\nprint({version})\n".encode()


class Handler(http.server.BaseHTTPRequestHandler):
    server: Server

    def do_GET(self) -> None:
        server = self.server
        server.requests.append(self.path)
        if server.status is not None:
            self.send_error(server.status)
            return
        # The raw path's parts are the tree's folder names (quoted as the client sent them).
        parts = self.path.split("?")[0][1:].split("/")
        path = server.root.joinpath(*parts)
        if any(part in ("", ".", "..") for part in parts) or not path.is_file():
            self.send_error(404)
            return
        body = path.read_bytes()
        self.send_response(200)
        if path.name not in server.cut:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif server.cut_mode == "short":  # fewer bytes than Content-Length, then closed
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
        else:  # chunked, closed after the first chunk
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            part = body[: len(body) // 2]
            self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, format, *args) -> None:  # noqa: A002 (the base class's name)
        pass


class Server(http.server.ThreadingHTTPServer):
    def __init__(self, root: Path):
        super().__init__(("127.0.0.1", 0), Handler)
        self.root = root
        self.requests: list[str] = []
        self.status: int | None = None  # answer every request with this error
        self.cut: set[str] = set()  # the files whose bodies are cut short
        self.cut_mode = "short"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def publish(self, path: str, files=FILES, version: int = 1) -> Path:
        """Serve ``files`` at URL path ``path`` (the ref, as quoted in the URL)."""
        folder = self.root.joinpath(*path.split("/"), "beginner_source", "blitz")
        folder.mkdir(parents=True, exist_ok=True)
        for file in SCRIPTS.values():
            (folder / file).unlink(missing_ok=True)
        for file in files:
            (folder / file).write_bytes(script_text(path, file, version))
        return folder


@pytest.fixture(autouse=True)
def environment(monkeypatch, tmp_path):
    """No proxy between us and the loopback server; no URL or cache from the caller's setting;
    a home and XDG cache in tmp_path, so that no test can touch the user's cache."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                 "ALL_PROXY", "BLITZ_TUTORIAL_URL", "BLITZ_CACHE"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture
def server(tmp_path):
    server = Server(tmp_path / "server")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.daemon = True
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def down() -> str:
    """The URL of a loopback port where nothing listens: connection refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def cache(tmp_path) -> Path:
    return tmp_path / "cache"


def one_line(message: str) -> str:
    assert "\n" not in message and "Traceback" not in message, message
    return message


def files_under(folder: Path) -> list[str]:
    if not folder.exists():
        return []
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


# ----------------------------------------------------------------------------------------------
# A fetch


def test_fetch_downloads_the_five_scripts_labelled_by_the_ref(server, cache):
    server.publish("main")
    before = time.time()
    source = fetch("main", cache=cache, base_url=server.url)

    assert isinstance(source, TutorialSource)
    assert source.label == "main" and source.commit is None and source.note is None
    assert source.folder == (cache / "tutorials" / "main" / "beginner_source" / "blitz").resolve()
    assert list(source.scripts) == list(SCRIPTS) and source.missing == []
    for name, file in SCRIPTS.items():
        assert source.script(name).read_bytes() == script_text("main", file)
    assert len(server.requests) == 5
    assert server.requests[0] == "/main/beginner_source/blitz/tensor_tutorial.py"

    provenance = source.provenance
    assert provenance == read_provenance(source.folder)
    assert provenance.ref == "main"
    assert provenance.url == f"{server.url}/main/beginner_source/blitz"
    assert provenance.missing == []
    assert provenance.sha256 == {
        file: hashlib.sha256(script_text("main", file)).hexdigest() for file in SCRIPTS.values()
    }
    fetched = time.mktime(time.strptime(provenance.fetched, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    assert before - 2 <= fetched <= time.time() + 2
    on_disk = json.loads((source.folder / PROVENANCE_FILE).read_text())
    assert on_disk["ref"] == "main" and on_disk["sha256"] == provenance.sha256

    # The copy is a source as checkout.locate reads it, and only the scripts and provenance
    # are left there (no temporary file).
    assert locate(f"main={source.folder}").scripts == source.scripts
    assert files_under(source.folder) == sorted([PROVENANCE_FILE, *SCRIPTS.values()])


def test_the_url_and_the_cache_from_the_environment(server, tmp_path, monkeypatch):
    server.publish("v2.4.0")
    monkeypatch.setenv("BLITZ_TUTORIAL_URL", server.url + "/")
    monkeypatch.setenv("BLITZ_CACHE", str(tmp_path / "env-cache"))
    source = fetch("v2.4.0")
    assert source.label == "v2.4.0"
    assert source.folder.is_relative_to((tmp_path / "env-cache" / "tutorials").resolve())
    assert source.provenance.url == f"{server.url}/v2.4.0/beginner_source/blitz"
    assert list(source.scripts) == list(SCRIPTS)


def test_the_cache_root(tmp_path, monkeypatch):
    assert cache_root() == tmp_path / "xdg" / "blitz"
    monkeypatch.setenv("BLITZ_CACHE", str(tmp_path / "mine"))
    assert cache_root() == tmp_path / "mine"
    monkeypatch.delenv("BLITZ_CACHE")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_root() == Path.home() / ".cache" / "blitz"


def test_a_script_the_revision_lacks_is_absent_and_the_others_fetched(server, cache):
    files = [file for name, file in SCRIPTS.items() if name != "data_parallel"]
    server.publish("v0.3", files)
    source = fetch("v0.3", cache=cache, base_url=server.url)
    assert source.missing == ["data_parallel"]
    assert source.script("data_parallel") is None
    assert list(source.scripts) == ["tensor", "autograd", "neural_networks", "cifar10"]
    assert source.provenance.missing == ["data_parallel_tutorial.py"]

    # A branch that loses a script loses it in the cache too.
    server.publish("main")
    assert fetch("main", cache=cache, base_url=server.url).missing == []
    server.publish("main", files, version=2)
    source = fetch("main", cache=cache, base_url=server.url)
    assert source.missing == ["data_parallel"]
    assert source.script("tensor").read_bytes() == script_text("main", "tensor_tutorial.py", 2)


def test_an_unknown_ref(server, cache):
    server.publish("main")
    with pytest.raises(FetchError) as caught:
        fetch("nope", cache=cache, base_url=server.url)
    message = one_line(str(caught.value))
    assert message.startswith("pytorch/tutorials has no ref 'nope' (or no blitz scripts there)")
    assert cached("nope", cache) is None
    assert files_under(cache) == []


@pytest.mark.parametrize(("status", "words"), [(500, "HTTP 500"), (403, "HTTP 403")])
def test_another_http_error_is_one_line_naming_the_status(server, cache, status, words):
    server.status = status
    with pytest.raises(FetchError) as caught:
        fetch("main", cache=cache, base_url=server.url)
    message = one_line(str(caught.value))
    assert message.startswith(f"cannot download pytorch/tutorials at main: {words}")
    assert message.endswith("; use a checkout: --tutorial-source PATH")
    assert ("rate limited" in message) == (status == 403)
    assert files_under(cache) == []


# ----------------------------------------------------------------------------------------------
# No network


def test_no_network_and_no_cache(down, cache):
    with pytest.raises(FetchError) as caught:
        fetch("main", cache=cache, base_url=down)
    error = caught.value
    assert re.match(NO_NETWORK.format(ref="main"), one_line(str(error)))
    assert error.__suppress_context__  # no chained traceback when it is printed
    assert files_under(cache) == []


def test_a_server_that_never_answers_is_no_network(cache):
    with socket.socket() as sock:  # listens, never accepts: the request times out
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        with pytest.raises(FetchError) as caught:
            fetch(COMMIT, cache=cache, base_url=url, timeout_s=0.2)
    message = one_line(str(caught.value))
    assert re.match(NO_NETWORK.format(ref=COMMIT), message)
    assert "timed out" in message


def test_a_cached_commit_is_used_without_the_network(server, cache, down):
    server.publish(COMMIT)
    first = fetch(COMMIT, cache=cache, base_url=server.url)
    assert first.label == COMMIT and first.commit == COMMIT
    assert len(server.requests) == 5

    again = fetch(COMMIT, cache=cache, base_url=server.url)
    assert len(server.requests) == 5  # not asked again
    assert again == first and again.note is None

    offline = fetch(COMMIT, cache=cache, base_url=down)
    assert offline.scripts == first.scripts and offline.note is None

    # A cached script that does not match its sha256 is not taken: downloaded again.
    first.script("autograd").write_text("changed\n")
    assert cached(COMMIT, cache) is None
    repaired = fetch(COMMIT, cache=cache, base_url=server.url)
    assert len(server.requests) == 10
    assert repaired.script("autograd").read_bytes() == script_text(COMMIT, "autograd_tutorial.py")


def test_a_branch_moves_and_its_cached_copy_stands_in_offline(server, cache, down):
    server.publish("main")
    fetch("main", cache=cache, base_url=server.url)
    server.publish("main", version=2)
    moved = fetch("main", cache=cache, base_url=server.url)  # downloaded again
    assert moved.script("tensor").read_bytes() == script_text("main", "tensor_tutorial.py", 2)
    assert moved.note is None

    offline = fetch("main", cache=cache, base_url=down)
    assert offline.label == "main" and offline.scripts == moved.scripts
    note = one_line(offline.note)
    assert note.startswith("cannot download pytorch/tutorials at main: no network (")
    assert f"using the copy fetched {moved.provenance.fetched[:10]} " in note
    assert offline.provenance == moved.provenance

    # An HTTP error other than 404 also leaves the cached copy to stand in.
    server.status = 500
    assert "HTTP 500" in fetch("main", cache=cache, base_url=server.url).note


# ----------------------------------------------------------------------------------------------
# The cache's folders and whole copies


@pytest.mark.parametrize(
    ("ref", "url_path"),
    [
        ("feature/x", "feature/x"),
        ("../../etc", "%2E%2E/%2E%2E/etc"),
        ("..", "%2E%2E"),
        ("a/../../b", "a/%2E%2E/%2E%2E/b"),
    ],
)
def test_a_ref_stays_inside_the_cache(server, cache, ref, url_path):
    server.publish(url_path)
    source = fetch(ref, cache=cache, base_url=server.url)
    assert source.label == ref
    assert server.requests[0] == f"/{url_path}/beginner_source/blitz/tensor_tutorial.py"
    assert list(source.scripts) == list(SCRIPTS)
    folder = ref_folder(ref, cache)
    assert folder.parent == cache / "tutorials"
    assert folder.resolve().parent == (cache / "tutorials").resolve()
    for path in cache.rglob("*"):
        assert path.resolve().is_relative_to(folder.resolve()) or path == folder.parent
    assert not (cache.parent / "etc").exists() and not (cache.parent / "b").exists()


def test_safe_ref_names_are_distinct_file_names():
    refs = ["feature/x", "feature%2Fx", "..", ".", "%2E.", "main", "Main", "a" * 300, "a" * 301]
    names = [safe_ref(ref) for ref in refs]
    assert len(set(names)) == len(names)
    assert all("/" not in name and not name.startswith(".") for name in names)
    assert all(0 < len(name) <= 120 for name in names)


@pytest.mark.parametrize("mode", ["short", "chunked"])
def test_a_download_cut_short_leaves_no_copy_taken_for_whole(server, cache, down, mode):
    server.publish(COMMIT)
    server.cut, server.cut_mode = {"cifar10_tutorial.py"}, mode
    with pytest.raises(FetchError) as caught:
        fetch(COMMIT, cache=cache, base_url=server.url)
    message = one_line(str(caught.value))
    assert message.startswith(f"cannot download pytorch/tutorials at {COMMIT}: no network (")
    assert "cut short" in message
    assert files_under(cache) == []

    with pytest.raises(FetchError, match="no network"):  # nothing there to stand in
        fetch(COMMIT, cache=cache, base_url=down)

    server.cut = set()
    source = fetch(COMMIT, cache=cache, base_url=server.url)
    assert source.script("cifar10").read_bytes() == script_text(COMMIT, "cifar10_tutorial.py")


def test_a_run_killed_between_two_files_leaves_no_copy_taken_for_whole(
    server, cache, down, monkeypatch
):
    server.publish("main")
    fetch("main", cache=cache, base_url=server.url)
    server.publish("main", version=2)

    replace, calls = os.replace, []

    def killed_at_the_third(src, dst):
        calls.append(dst)
        if len(calls) == 3:
            raise KeyboardInterrupt
        replace(src, dst)

    monkeypatch.setattr(fetch_module.os, "replace", killed_at_the_third)
    with pytest.raises(KeyboardInterrupt):
        fetch("main", cache=cache, base_url=server.url)
    monkeypatch.setattr(fetch_module.os, "replace", replace)

    folder = ref_folder("main", cache) / "beginner_source" / "blitz"
    assert not any(name.endswith(".part") for name in files_under(folder))  # temp files gone
    assert cached("main", cache) is None  # two new scripts, three old ones: not whole
    with pytest.raises(FetchError, match="no network"):
        fetch("main", cache=cache, base_url=down)
    source = fetch("main", cache=cache, base_url=server.url)
    assert source.script("data_parallel").read_bytes() == script_text(
        "main", "data_parallel_tutorial.py", 2
    )


def test_not_a_ref(cache):
    for ref in ("", " main", "a\nb", "/abs", "main/", "a//b"):
        with pytest.raises(FetchError, match="not a git ref"):
            fetch(ref, cache=cache, base_url="http://127.0.0.1:9")


def test_torch_free_and_no_download_at_import():
    code = (
        "import socket, sys\n"
        "def no(*a, **k): raise AssertionError('network at import')\n"
        "socket.socket.connect = no\n"
        "socket.create_connection = no\n"
        "import blitz.tutorial_source.fetch\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_not_an_http_url(cache, monkeypatch):
    with pytest.raises(
        FetchError, match=r"^not an http\(s\) URL: 127.0.0.1:9/main/.* \(from base_url\)$"
    ):
        fetch("main", cache=cache, base_url="127.0.0.1:9")
    monkeypatch.setenv("BLITZ_TUTORIAL_URL", "ftp://example.org")
    with pytest.raises(FetchError, match=r"from \$BLITZ_TUTORIAL_URL"):
        fetch("main", cache=cache)
