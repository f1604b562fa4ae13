"""Running a tutorial script cell by cell in its own process (``blitz.tutorial_source.runner``).

Our own small scripts in the tutorial's format (``data/tutorial_source/``). Most runs need no
torch (``seed=None``, or a stand-in torch that records its seed) and take a fraction of a
second; one run imports torch, for the seeding and the figures, and is shared by the tests
that read it. The run that imports torchvision too (the CIFAR-10 stand-in and pretrained
weights, end to end) is slow.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from blitz.tutorial_source import result as results
from blitz.tutorial_source.checkout import locate
from blitz.tutorial_source.result import ScriptRun, SourceRun
from blitz.tutorial_source.runner import RunOptions, probe_name, run_script, run_source

DATA = Path(__file__).parent / "data" / "tutorial_source"
PLAIN = DATA / "plain_tutorial.py"
PROBES = DATA / "probes.py"
TORCH_FREE = RunOptions(seed=None)


def cell_at(run: ScriptRun, text: str) -> results.CellResult:
    """The code cell whose source holds ``text``."""
    (cell,) = [cell for cell in run.cells if text in cell.source]
    return cell


def line_of(path: Path, text: str) -> int:
    """The file's line number of the line holding ``text``."""
    (number,) = [n for n, line in enumerate(path.read_text().split("\n"), 1) if text in line]
    return number


# ----------------------------------------------------------------------------------------------
# A script without torch: output, errors, the network, warnings, probes


@pytest.fixture(scope="module")
def plain() -> ScriptRun:
    probes = tuple(f"{PROBES}:{name}" for name in ("names", "Counter", "broken", "not_json"))
    return run_script(PLAIN, options=RunOptions(seed=None, probes=probes))


def test_every_cell_runs_in_one_namespace_and_the_run_ends(plain):
    assert plain.status == results.CELL_ERRORS and plain.returncode == 0
    assert all(cell.ran for cell in plain.cells) and len(plain.cells) == 9
    assert cell_at(plain, "after the error").stdout == (
        "after the error: 2.0\nname: __main__\nannotations: {'x': 'NotDefinedAnywhere'}\n"
    )  # the first cell's `from __future__ import annotations` holds in the cells after it
    assert cell_at(plain, "last cell").stdout == "last cell\n"


def test_text_blocks_stay_beside_the_cells(plain):
    assert [b.kind for b in plain.blocks[:3]] == ["text", "code", "text"]
    assert plain.text_blocks[1].source.startswith("A cell that raises")


def test_stdout_and_stderr_are_captured_per_cell(plain):
    first = cell_at(plain, 'print("first cell")')
    assert (first.stdout, first.stderr) == ("first cell\n", "to stderr\n")


def test_a_cell_that_raises_is_recorded_with_the_tutorials_lines(plain):
    cell = cell_at(plain, "ratio(1, 0)")
    assert cell.stdout == "before the error\n"  # what it printed before it raised
    error = cell.error
    assert (error.type, error.message) == ("ZeroDivisionError", "division by zero")
    assert error.lineno == line_of(PLAIN, "return a / b")  # where it raised
    assert error.cell_lineno == line_of(PLAIN, "ratio(1, 0)")  # the cell's statement
    assert f'File "{PLAIN.resolve()}", line {error.cell_lineno}' in error.traceback
    assert "child.py" not in error.traceback


def test_a_download_attempt_fails_at_once_and_is_recorded(plain):
    cell = cell_at(plain, "urlopen")
    assert cell.error.type == "urllib.error.URLError"
    assert "blitz sandbox: no network" in cell.error.message
    assert cell.elapsed_s < 5  # no DNS wait, no 60 s timeout
    assert cell.network == ["download.pytorch.org:443"]
    assert plain.facts["network_refused"] == [
        {"cell": cell.index, "call": "name lookup of", "address": "download.pytorch.org:443"}
    ]


def test_warnings_are_captured_and_counted_per_cell(plain):
    cell = cell_at(plain, "warnings.warn")
    found = {(w.category, w.message, w.count, w.lineno) for w in cell.warnings}
    assert found == {
        ("UserWarning", "a tutorial warning", 3, line_of(PLAIN, "a tutorial warning")),
        ("DeprecationWarning", "old API", 1, line_of(PLAIN, "old API")),
    }
    assert all(w.filename == str(PLAIN.resolve()) for w in cell.warnings)
    assert sum(len(c.warnings) for c in plain.cells) == 2  # that cell's, no other


def test_a_last_bare_expression_is_shown_after_the_printed_output(plain):
    cell = cell_at(plain, '{"answer": 42}')
    assert cell.expr_repr == {"method": "__repr__", "text": "{'answer': 42}"}
    assert cell.output == "a printed line\n\n{'answer': 42}"
    assert cell_at(plain, "after the error").expr_repr is None  # print() gives None


def test_sys_exit_and_input_are_errors_of_their_cell(plain):
    assert cell_at(plain, "sys.exit").error.type == "SystemExit"
    assert cell_at(plain, "sys.exit").error.message == "the script asked to stop"
    assert cell_at(plain, "input(").error.type == "RuntimeError"


def test_probes_see_each_cell_and_its_namespace(plain):
    first, second = plain.cells[:2]
    key = f"{PROBES}:names"
    assert first.probes[key] == {
        "names": ["annotations", "input", "ratio", "sys", "warnings"], "printed": "first cell\n",
        "lineno": first.lineno,
    }  # fmt: skip
    assert second.probes[key]["printed"] == "before the error\n"
    assert "urllib" in cell_at(plain, "last cell").probes[key]["names"]


def test_a_probe_class_is_finished_at_the_end(plain):
    assert plain.probes == {"counter": {"cells": 9, "has_ratio": True}}
    assert all("counter" not in cell.probes for cell in plain.cells)  # it returned None


def test_a_broken_probe_is_recorded_not_fatal(plain):
    cell = plain.cells[0]
    assert cell.probes[f"{PROBES}:broken"] == {"probe_error": "RuntimeError: this probe is broken"}
    assert cell.probes[f"{PROBES}:not_json"]["probe_error"].startswith("not JSON-safe")


def test_the_run_round_trips_through_json(plain):
    again = ScriptRun.from_json(json.loads(json.dumps(plain.to_json())))
    assert again == plain


def test_the_time_is_measured(plain):
    assert plain.timings["wall_s"] >= plain.timings["cells_s"] > 0
    assert all(cell.elapsed_s >= 0 for cell in plain.cells)


# ----------------------------------------------------------------------------------------------
# What happens to the process


def test_a_script_past_its_time_limit_is_killed_and_keeps_its_cells():
    run = run_script(DATA / "endless_tutorial.py", options=RunOptions(seed=None, timeout_s=1))
    assert run.status == results.TIMEOUT
    first, endless = run.cells
    assert first.ran and first.stdout == "started\n" and not endless.ran
    assert run.error == f"killed after 1 s, in the cell at line {endless.lineno}"


def test_a_process_that_dies_is_a_crash_in_its_cell():
    run = run_script(DATA / "crash_tutorial.py", options=TORCH_FREE)
    assert (run.status, run.returncode) == (results.CRASHED, 7)
    first, dying, after = run.cells
    assert first.ran and not dying.ran and not after.ran
    assert run.error == f"the process ended (exit status 7) in the cell at line {dying.lineno}"


def test_a_cell_that_does_not_parse_raises_syntax_error_at_its_line():
    path = DATA / "syntax_tutorial.py"
    run = run_script(path, options=TORCH_FREE)
    assert run.status == results.CELL_ERRORS
    before, broken, after = run.cells
    assert before.stdout == "before\n" and after.stdout == "after\n"
    assert broken.error.type == "SyntaxError" and "never closed" in broken.error.message
    assert broken.error.lineno == line_of(path, "value = (1,")
    assert run.facts["syntax_error"]


def test_a_probe_that_cannot_be_loaded_fails_the_run_saying_why():
    run = run_script(PLAIN, options=RunOptions(seed=None, probes=(f"{PROBES}:nowhere",)))
    assert run.status == results.FAILED
    assert "could not start the script" in run.error and "nowhere" in run.error
    assert not any(cell.ran for cell in run.cells)


def test_the_seed_option_reaches_torch_manual_seed():
    fake = {"PYTHONPATH": str(DATA / "fake_torch")}  # a torch that records its seed
    seeded = run_script(DATA / "seeded_tutorial.py", options=RunOptions(seed=7, env=fake))
    assert seeded.cells[0].stdout == "torch seeds: [7] random: 0.571403\n"
    assert seeded.facts["seeds"] == {"torch": 7, "random": 10, "numpy": 10}
    unseeded = run_script(DATA / "seeded_tutorial.py", options=RunOptions(seed=None, env=fake))
    assert unseeded.cells[0].stdout.startswith("torch seeds: [] random: ")
    assert unseeded.facts["seeds"] is None


def test_a_source_reports_the_scripts_its_revision_lacks(tmp_path):
    folder = tmp_path / "tutorials" / "beginner_source" / "blitz"
    folder.mkdir(parents=True)
    (folder / "tensor_tutorial.py").write_text('"""Tensors"""\nprint("tensors")\n')
    run = run_source(locate(f"old={tmp_path / 'tutorials'}"), TORCH_FREE)
    assert run.label == "old" and list(run.scripts) == [
        "tensor", "autograd", "neural_networks", "cifar10", "data_parallel",
    ]  # fmt: skip
    assert run.scripts["tensor"].status == results.OK
    assert run.scripts["tensor"].cells[0].stdout == "tensors\n"
    missing = run.scripts["cifar10"]
    assert missing.status == results.MISSING and missing.path is None
    assert "no cifar10_tutorial.py" in missing.error
    assert SourceRun.from_json(json.loads(json.dumps(run.to_json()))) == run


def test_each_script_runs_in_a_fresh_temporary_folder(tmp_path):
    folder = tmp_path / "blitz"
    folder.mkdir()
    (folder / "tensor_tutorial.py").write_text(
        '"""Files"""\nimport os\nprint(sorted(os.listdir(".")))\n'
        'open("cifar_net.pth", "w").close()\n'
    )
    options = RunOptions(seed=None, keep_workdir=True)
    run = run_script(folder / "tensor_tutorial.py", options=options)
    assert run.cells[0].stdout == "[]\n"
    workdir = Path(run.facts["workdir"])
    try:
        assert workdir != folder and (workdir / "cifar_net.pth").exists()
        assert not (folder / "cifar_net.pth").exists()
    finally:
        shutil.rmtree(workdir.parent)


def test_the_parent_side_imports_no_torch():
    code = (
        "import sys, blitz.tutorial_source.runner, blitz.tutorial_source.cells, "
        "blitz.tutorial_source.checkout, blitz.tutorial_source.result, "
        "blitz.tutorial_source.sandbox, blitz.tutorial_source.__main__; "
        "assert 'torch' not in sys.modules and 'torchvision' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# ----------------------------------------------------------------------------------------------
# With torch: the seed and figures


@pytest.fixture(scope="module")
def with_torch() -> ScriptRun:
    return run_script(DATA / "torch_tutorial.py", options=RunOptions(timeout_s=300))


def test_the_script_runs_seeded_as_the_tutorials_build_seeded_it(with_torch):
    assert with_torch.status == results.OK, with_torch.error or with_torch.errors
    assert cell_at(with_torch, "torch.rand(2)").stdout == (
        "tensor([0.8823, 0.9150])\n0.571403 0.771321\n"  # torch 42, random 10, numpy 10
    )
    assert with_torch.facts["seeds"] == {"torch": 42, "random": 10, "numpy": 10}


def test_figures_are_counted_and_show_does_not_block(with_torch):
    cell = cell_at(with_torch, "plt.show()")
    assert (cell.figures, cell.shows) == (1, 1)
    assert cell.warnings == []  # Agg's "cannot be shown" is silenced, as sphinx-gallery does
    assert with_torch.facts["matplotlib_backend"] == "agg"
    assert all(c.figures == 0 for c in with_torch.cells if c is not cell)


# ----------------------------------------------------------------------------------------------
# With torchvision: the CIFAR-10 stand-in and pretrained weights, end to end in the child (the
# same stand-ins run in this process in test_tutorial_source_sandbox.py). Slow: importing
# torchvision in a fresh process takes seconds.


def write_offline_copy(root: Path, train: int = 24, test: int = 12) -> None:
    """A tiny offline copy in the format of ``blitz.data`` (see tests/harness/test_data.py)."""
    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split, n in (("train", train), ("test", test)):
        images = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
        np.savez_compressed(root / f"{split}.npz", data=images, labels=np.arange(n) % 10)


TINY_URL = "https://download.pytorch.org/models/blitz-tiny-0123abcd.pth"


def write_hub_cache(torch_home: Path) -> None:
    """A torch hub cache holding the weights of TINY_URL (a Linear(2, 1))."""
    checkpoints = torch_home / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    torch.save(
        {"weight": torch.tensor([[0.5, -0.25]]), "bias": torch.tensor([0.125])},
        checkpoints / "blitz-tiny-0123abcd.pth",
    )


@pytest.fixture(scope="module")
def with_torchvision(tmp_path_factory) -> ScriptRun:
    root = tmp_path_factory.mktemp("tutorial-torchvision")
    write_offline_copy(root / "cifar10")
    write_hub_cache(root / "torch_home")
    options = RunOptions(
        cifar10_root=str(root / "cifar10"),
        cifar10_train_subset=8,
        probes=(f"{DATA / 'tiny_cifar10.py'}:SmallCopy",),  # lets the child read 24 + 12 images
        env={"TORCH_HOME": str(root / "torch_home")},
        timeout_s=300,
    )
    return run_script(DATA / "torchvision_tutorial.py", options=options)


@pytest.mark.slow
def test_cifar10_is_served_from_blitzs_copy_with_the_tutorials_call(with_torchvision):
    assert with_torchvision.status == results.OK, with_torchvision.error or with_torchvision.errors
    cell = cell_at(with_torchvision, "torchvision.datasets.CIFAR10(root='./data'")
    assert cell.stdout == "8 12 (4, 3, 32, 32) OfflineCIFAR10\n"  # the training split capped
    cifar10 = with_torchvision.facts["cifar10"]
    assert cifar10["copy"] == "offline" and cifar10["root"].endswith("cifar10")
    assert cifar10["calls"] == [
        {"cell": cell.index, "train": True, "root": "./data", "download": True, "size": 8},
        {"cell": cell.index, "train": False, "root": "./data", "download": True, "size": 12},
    ]
    assert with_torchvision.facts["cifar10_train_subset"] == 8
    assert with_torchvision.facts["network_refused"] == []


@pytest.mark.slow
def test_pretrained_weights_come_from_the_hub_cache_else_random_init(with_torchvision):
    run = with_torchvision
    assert cell_at(run, "tiny.load_state_dict").stdout == "tiny weight: [[0.5, -0.25]]\n"
    assert cell_at(run, "resnet18(weights").stdout == "resnet18: 1000\n"
    tiny, resnet = run.facts["pretrained"]
    assert (tiny["url"], tiny["source"]) == (TINY_URL, "hub-cache")
    assert Path(resnet["file"]).name.startswith("resnet18-") and resnet["source"] == "random-init"
    assert run.facts["network_refused"] == []


def test_a_probe_is_named_by_its_module_and_name():
    assert probe_name(json.dumps) == "json:dumps"
    assert probe_name("pkg.mod:Probe") == "pkg.mod:Probe"
    assert RunOptions(probes=(json.dumps,)).probes == ("json:dumps",)

    def local(cell, namespace, stdout):
        return None

    with pytest.raises(TypeError, match="must import it"):
        probe_name(local)
