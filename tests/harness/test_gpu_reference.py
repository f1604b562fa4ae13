"""The GPU reference run (``bench/run_gpu_reference.sh``), rehearsed on the cpu as a GPU machine
would run it.

A GPU machine gets the working tree and nothing else: blitz is not installed (``PYTHONPATH=.``),
there is ``python3`` and no ``python``, no network. A broken path, a missing import or a
``python`` call would show only there, on borrowed time. So this test copies the tree's files
(those git tracks, and untracked ones git does not ignore: what travels to the machine) into a
temporary folder, puts a PATH in front with a ``python3`` that runs this interpreter and no
``python`` anywhere on it, and runs ``BLITZ_REHEARSE=1 bench/run_gpu_reference.sh OUTDIR`` there:
every step, on the cpu, small. The copy's blitz must be the one imported (this environment has
blitz installed, pointing at the original tree) and its pytest plugin must load from the root
conftest.py: the claims JSON is its output.

CIFAR-10: where the run has the offline copy, the rehearsal gets its test split alone, as a GPU
machine does where the training split is too large to travel; without it, the no-data path runs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from blitz import data

REPO = Path(__file__).resolve().parents[2]
SCRIPT = "bench/run_gpu_reference.sh"
STEPS = ("env", "claims", "bench", "protocol", "report")
WRITTEN = {
    "summary.txt", "env.txt", "claims.json", "claims.log", "bench.json", "bench.log",
    "protocol.log", "report.txt", "speedup.png", "claims.md",
}  # fmt: skip
# The variants the cpu has (cudagraph and bf16 are cuda-only, outside a cpu grid).
CPU_VARIANTS = {"eager", "channels_last", "compile"}
# Variables of this run that must not reach the rehearsal's own pytest runs.
SCRUBBED = (
    "PYTHONPATH", "VIRTUAL_ENV", "PYTEST_ADDOPTS", "PYTEST_PLUGINS", "BLITZ_RUN_SLOW",
    "BLITZ_DEVICES", "BLITZ_DATA_ROOT", "BLITZ_REHEARSE", "BLITZ_BENCH_MAX_GFLOP", "PYTHON",
)  # fmt: skip
# The rehearsal is sized for 3 minutes on 2 CPU cores; a hung step is cut by its own limit.
TIMEOUT_S = 600


def tree_files() -> list[str]:
    """The files a GPU machine gets: tracked, plus untracked ones git does not ignore."""
    git = shutil.which("git")
    if git is None:
        pytest.skip("the rehearsal copies the files git lists: git is not installed")
    listing = subprocess.run(
        [git, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, check=False,
    )  # fmt: skip
    if listing.returncode != 0:
        pytest.skip(f"the rehearsal copies the files git lists: {REPO} is not a git checkout")
    names = [name for name in listing.stdout.decode().split("\0") if name]
    return [name for name in names if (REPO / name).is_file()]  # not the deleted ones


def copy_tree(destination: Path) -> Path:
    for name in tree_files():
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)  # modes too: the script is run as an executable
    return destination


def python3_only_path(bin_dir: Path) -> str:
    """PATH: ``bin_dir`` holding a ``python3`` that runs this interpreter, then every directory
    of the current PATH that holds no ``python`` (the venv's, pyenv's shims, ...)."""
    bin_dir.mkdir()
    # A wrapper, not a link: a link to a venv's interpreter starts it outside the venv.
    wrapper = bin_dir / "python3"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    kept = [
        d for d in os.environ.get("PATH", "").split(os.pathsep)
        if d and not (Path(d) / "python").exists()
    ]  # fmt: skip
    path = os.pathsep.join([str(bin_dir), *kept])
    assert shutil.which("python", path=path) is None
    return path


def data_root(pytestconfig: pytest.Config, tmp_path: Path) -> tuple[Path | None, str]:
    """The rehearsal's CIFAR-10 root, and what it holds: the test split alone, where this run
    has the offline copy; None otherwise (the no-data path)."""
    root = data.explicit_root(pytestconfig.getoption("blitz_cifar10_root"))
    test_split = root / data.OFFLINE_FILES["test"] if root else None
    if test_split is None or not test_split.is_file():
        return None, "none"
    folder = tmp_path / "cifar10-test-only"
    folder.mkdir()
    (folder / test_split.name).symlink_to(test_split)
    return folder, "test"


@pytest.mark.slow
def test_rehearsal_runs_every_step_from_an_uninstalled_copy(pytestconfig, tmp_path):
    tree = copy_tree(tmp_path / "tree")
    out = tmp_path / "out"
    # Nor an outer pytest-xdist worker's variables: pytest-benchmark would take the inner run
    # for a worker and not time anything.
    env = {
        k: v for k, v in os.environ.items()
        if k not in SCRUBBED and not k.startswith("PYTEST_XDIST_")
    }  # fmt: skip
    env.update(BLITZ_REHEARSE="1", OMP_NUM_THREADS="1")
    env["PATH"] = python3_only_path(tmp_path / "bin")
    root, split = data_root(pytestconfig, tmp_path)
    if root is not None:
        env["BLITZ_DATA_ROOT"] = str(root)

    start = time.perf_counter()
    run = subprocess.run(
        [str(tree / SCRIPT), str(out)], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=TIMEOUT_S, check=False,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    print(run.stdout, run.stderr, f"rehearsal: {seconds:.0f} s", sep="\n")
    assert run.returncode == 0, _failure(run, out)

    assert WRITTEN <= {p.name for p in out.iterdir()}
    summary = (out / "summary.txt").read_text().splitlines()
    for step in STEPS:
        assert any(line.split()[:1] == [step] for line in summary), f"no line for {step}"

    # blitz came from the copy, not from the installed tree
    env_txt = (out / "env.txt").read_text()
    assert f"blitz from {tree / 'blitz'}\n" in env_txt, env_txt

    # the plugin loaded (root conftest.py) and wrote the matrix: every claim, cpu results
    claims = json.loads((out / "claims.json").read_text())
    assert claims["claims"], "empty claims matrix"
    statuses = {c["results"]["cpu"]["status"] for c in claims["claims"].values()}
    assert "holds" in statuses, statuses

    # the grid's smallest configuration on the cpu, every variant the cpu has
    benchmarks = json.loads((out / "bench.json").read_text())["benchmarks"]
    cases = [b["params"]["case"] for b in benchmarks]
    assert {(c["device"], c["batch_size"], c["width"]) for c in cases} == {("cpu", 4, 6)}
    # (compile is skipped, with the reason, where this torch or machine cannot compile)
    cannot_compile = re.search(r"SKIPPED .*torch\.compile", (out / "bench.log").read_text())
    expected = CPU_VARIANTS - {"compile"} if cannot_compile else CPU_VARIANTS
    assert {c["variant"] for c in cases} == expected

    protocol = (out / "protocol.log").read_text()
    if split == "test":
        assert "training on the test split" in protocol
        assert "training time:" in protocol and "Accuracy of the network" in protocol
    else:
        assert protocol.startswith("not run: no CIFAR-10")
    assert (out / "speedup.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _failure(run: subprocess.CompletedProcess, out: Path) -> str:
    """The rehearsal's output and the end of each step's log, for the assertion message."""
    parts = [f"exit {run.returncode}", run.stdout, run.stderr]
    for log in sorted(out.glob("*.log")) + sorted(out.glob("*.txt")):
        tail = log.read_text(errors="replace").splitlines()[-30:]
        parts.append(f"--- {log.name} (end)\n" + "\n".join(tail))
    return "\n".join(parts)
