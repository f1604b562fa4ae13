"""The tutorial columns of a pytest run: ``--tutorial-source [LABEL=]PATH``, ``--tutorial-ref``.

Inner pytest runs (pytester) of a project with the claims plugin and no test of its own, over
tutorial sources written here: our own small scripts in the tutorial's format, never upstream's.
The probes' checks themselves are the business of test_tutorial_probes_*.py; here it is the
column: its place in the matrix and the JSON, the statuses that reach it (absent, error, the
claims about a GPU), the run's facts, and the options.
"""

from __future__ import annotations

import http.server
import json
import socket
import textwrap
import threading
from pathlib import Path

import pytest

from blitz import matrix

pytest_plugins = ["pytester"]

NO_SEED = ("--tutorial-seed", "none")
NOTHING_STATED = '''
"""
A page that states nothing
==========================
"""

print("hello from a page that states nothing")
'''


def write_checkout(root: Path, scripts: dict[str, str]) -> Path:
    """A pytorch/tutorials-like checkout at ``root`` holding ``scripts`` (file name -> text)."""
    folder = root / "beginner_source" / "blitz"
    folder.mkdir(parents=True)
    for name, text in scripts.items():
        (folder / name).write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return root


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest('pytest_plugins = ["blitz.plugin"]')
    return pytester


def run_json(project: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict]:
    result = project.runpytest("-p", "no:randomly", "--claims-json", "claims.json", *args)
    return result, json.loads((project.path / "claims.json").read_text())


def cells(document: dict, column: str) -> dict[str, dict]:
    return {claim_id: row["results"][column] for claim_id, row in document["claims"].items()}


# ----------------------------------------------------------------------------------------------
# A revision that states nothing, and one without most scripts


def test_a_revision_that_states_no_claim_reads_absent_saying_what_was_looked_for(project):
    source = write_checkout(project.path / "quiet", {"tensor_tutorial.py": NOTHING_STATED})
    # No seed: the child process need not import torch (the page does not either).
    result, document = run_json(project, "--tutorial-source", f"quiet={source}", *NO_SEED)
    assert result.ret == 0
    column = cells(document, "tutorial:quiet")
    # The tensor page states nothing: each of its claims is absent, saying what was looked for.
    assert column["T03"]["status"] == matrix.ABSENT
    assert column["T03"]["note"].startswith("not stated: tensor_tutorial.py: looked for ")
    # The other pages are not there at all.
    assert column["A03"]["status"] == matrix.ABSENT
    assert "this revision has no autograd_tutorial.py" in column["A03"]["note"]
    # A claim about a GPU has no verdict in a tutorial column; a claim about the host has one.
    assert column["T07"]["status"] == matrix.SKIPPED
    assert column["T07"]["note"] == matrix.ACCELERATOR_ONLY.format(device="tutorial:quiet")
    assert column["T15"]["status"] == matrix.ABSENT
    assert all(cell["status"] in (matrix.ABSENT, matrix.SKIPPED) for cell in column.values())
    # The column is in the JSON like a device, and says where the revision came from.
    (entry,) = [d for d in document["devices"] if d["type"] == "tutorial:quiet"]
    assert entry["available"] is True
    assert str(source / "beginner_source" / "blitz") in entry["name"]
    assert "not seeded" in entry["name"] and "quick run" in entry["name"]
    # What the page printed and no probe read is a fact of the run.
    facts = document["run"]
    assert (
        "cell 1 (line 5): 'hello from a page that states nothing'"
        in (facts["tutorial:quiet printed, not checked (tensor)"])
    )
    assert facts["tutorial:quiet tensor_tutorial.py"].startswith("ok in ")


def test_the_column_alone_with_m_tutorial_leaves_no_empty_device_column(project):
    source = write_checkout(project.path / "quiet", {"tensor_tutorial.py": NOTHING_STATED})
    project.makepyfile(
        test_claims="""
        import pytest

        @pytest.mark.claim("T01")
        def test_t01(device):
            pass
        """
    )
    result = project.runpytest("-p", "no:randomly", "--tutorial-source", str(source),
                               "-m", "tutorial", "--device", "cpu", *NO_SEED)  # fmt: skip
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "cpu: no column: the run selected none of its tests",
            "NARROWED RUN (-m tutorial)*",
            "id   claim*revision  tutorial:quiet",
        ]
    )


def test_a_deselected_claim_of_the_column_is_not_run_there(project):
    source = write_checkout(project.path / "quiet", {"tensor_tutorial.py": NOTHING_STATED})
    _, document = run_json(project, "--tutorial-source", f"q={source}", "-k", "not T03", *NO_SEED)
    column = cells(document, "tutorial:q")
    assert column["T03"]["status"] == matrix.NOT_RUN
    assert column["T03"]["deselected"] == 1
    assert column["T04"]["status"] == matrix.ABSENT
    assert document["narrowed"] is True


# ----------------------------------------------------------------------------------------------
# The options


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tutorial-source", "nowhere"], "--tutorial-source nowhere: nowhere: no such folder*"),
        (["--tutorial-seed", "forty-two", "--tutorial-source", "src"],
         "--tutorial-seed forty-two: expected an integer or 'none'"),
        (["--tutorial-source", "a=src", "--tutorial-source", "a=src"],
         "two tutorial sources are labelled a: name them, --tutorial-source LABEL=PATH"),
    ],
)  # fmt: skip
def test_a_bad_tutorial_option_stops_the_run_before_any_test(project, args, message):
    write_checkout(project.path / "src", {"tensor_tutorial.py": NOTHING_STATED})
    result = project.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {message}"])


# ----------------------------------------------------------------------------------------------
# --tutorial-ref


@pytest.fixture
def served(tmp_path: Path):
    """A loopback HTTP server over ``tmp_path/tree``: (its base URL, the tree)."""
    tree = tmp_path / "tree"
    tree.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(tree), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", tree
    server.shutdown()
    server.server_close()


def test_a_ref_is_downloaded_into_the_cache_and_is_a_column(project, served, monkeypatch):
    url, tree = served
    write_checkout(tree / "my-branch", {"tensor_tutorial.py": NOTHING_STATED})
    monkeypatch.setenv("BLITZ_TUTORIAL_URL", url)
    monkeypatch.setenv("BLITZ_CACHE", str(project.path / "cache"))
    result, document = run_json(project, "--tutorial-ref", "my-branch", "-m", "tutorial", *NO_SEED)
    assert result.ret == 0
    column = cells(document, "tutorial:my-branch")
    assert column["T03"]["status"] == matrix.ABSENT
    assert "this revision has no autograd_tutorial.py" in column["A03"]["note"]
    (entry,) = [d for d in document["devices"] if d["type"] == "tutorial:my-branch"]
    assert entry["name"].startswith("pytorch/tutorials at my-branch, downloaded to ")
    assert (project.path / "cache").is_dir()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_ref_that_cannot_be_downloaded_reads_error_in_one_line(project, monkeypatch):
    monkeypatch.setenv("BLITZ_TUTORIAL_URL", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("BLITZ_CACHE", str(project.path / "cache"))
    result, document = run_json(project, "--tutorial-ref", "main", "-m", "tutorial")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    column = cells(document, "tutorial:main")
    line = column["T03"]["note"]
    assert line.startswith("cannot download pytorch/tutorials at main: no network (")
    assert line.endswith("); use a checkout: --tutorial-source PATH") and "\n" not in line
    # Never a finding about the tutorial: every claim with a verdict there is an error.
    statuses = {cell["status"] for claim_id, cell in column.items() if claim_id != "T07"}
    assert statuses == {matrix.ERROR} or statuses == {matrix.ERROR, matrix.SKIPPED}
    assert matrix.FAILS not in statuses
    (entry,) = [d for d in document["devices"] if d["type"] == "tutorial:main"]
    assert entry == {"type": "tutorial:main", "available": False, "reason": line}
    result.stdout.fnmatch_lines([f"blitz: tutorial:main: {line}"])
    assert "Traceback" not in result.stdout.str()


# ----------------------------------------------------------------------------------------------
# Two revisions side by side: our own scripts in the tutorial's format (data/tutorial_source/
# checkouts). Only the tensor claims are selected, so only the tensor scripts run.

CHECKOUTS = Path(__file__).parent / "data" / "tutorial_source" / "checkouts"
TENSOR_CLAIMS = "T03 or T04 or T07 or T10 or T15 or T18"


def line_of(path: Path, text: str) -> int:
    (number,) = [n for n, line in enumerate(path.read_text().split("\n"), 1) if text in line]
    return number


@pytest.mark.slow
def test_two_revisions_side_by_side_hold_fail_and_name_the_line(project):
    result, document = run_json(
        project, "-m", "tutorial", "-k", TENSOR_CLAIMS,
        "--tutorial-source", f"now={CHECKOUTS / 'current'}",
        "--tutorial-source", f"then={CHECKOUTS / 'old'}",
    )  # fmt: skip
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # the old revision's claims fail
    now, then = cells(document, "tutorial:now"), cells(document, "tutorial:then")
    assert [now[c]["status"] for c in ("T03", "T04", "T10", "T15", "T18")] == [matrix.HOLDS] * 5
    assert now["T07"]["status"] == then["T07"]["status"] == matrix.SKIPPED
    # The old revision: a golden printed otherwise, a cell that raises, claims it leaves out.
    assert then["T04"]["status"] == matrix.FAILS
    assert then["T10"]["status"] == matrix.FAILS
    script = CHECKOUTS / "old" / "beginner_source" / "blitz" / "tensor_tutorial.py"
    raising = line_of(script, "joined = torch.cat(x, x)")
    assert f"line {raising} raised TypeError" in then["T10"]["note"]
    assert then["T03"]["status"] == then["T18"]["status"] == matrix.ABSENT
    assert then["T15"]["status"] == matrix.HOLDS
    (entry,) = [d for d in document["devices"] if d["type"] == "tutorial:now"]
    assert "seed 42" in entry["name"]
    # Only the tensor scripts ran: the facts name them, and nothing else.
    ran = sorted(key for key in document["run"] if key.endswith("_tutorial.py"))
    assert ran == ["tutorial:now tensor_tutorial.py", "tutorial:then tensor_tutorial.py"]
    result.stdout.fnmatch_lines(["id   claim*revision  tutorial:now*tutorial:then"])


@pytest.mark.slow
def test_another_seed_leaves_the_goldens_unchecked_and_the_claim_partial(project):
    _, document = run_json(
        project, "-m", "tutorial", "-k", "T04", "--tutorial-seed", "7",
        "--tutorial-source", f"now={CHECKOUTS / 'current'}",
    )  # fmt: skip
    t04 = cells(document, "tutorial:now")["T04"]
    assert t04["status"] == matrix.PARTIAL
    assert t04["not_run_reason"].startswith("not checked: the golden")
    assert "this run's seed is 7" in t04["not_run_reason"]
    (entry,) = [d for d in document["devices"] if d["type"] == "tutorial:now"]
    assert "seed 7" in entry["name"]


@pytest.mark.slow
def test_the_column_is_the_same_under_xdist(project):
    args = ["-m", "tutorial", "-k", TENSOR_CLAIMS, "--tutorial-source", f"now={CHECKOUTS / 'old'}"]
    _, serial = run_json(project, *args)
    _, spread = run_json(project, *args, "-n", "2")
    assert cells(spread, "tutorial:now") == cells(serial, "tutorial:now")


def test_a_probe_module_imported_again_registers_its_probes_once():
    # pytester's in-process runs restore sys.modules: a probe module imported inside one is
    # imported again after it, and must not register its probes twice.
    import importlib
    import sys

    from blitz.tutorial_source.probes import MODULES, load_all

    before = [(p.claim, p.key) for p in load_all().probes]
    for name in MODULES:
        sys.modules.pop(f"blitz.tutorial_source.probes.{name}", None)
        importlib.import_module(f"blitz.tutorial_source.probes.{name}")
    assert [(p.claim, p.key) for p in load_all().probes] == before
    assert len(before) == len(set(before))
