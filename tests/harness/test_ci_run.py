"""``.ci/run``, the CI script: which pytest runs it makes, and that its exit status says whether
they all passed.

The script runs from a copy in ``tmp_path`` with stand-ins for what it calls: a ``uv`` that
makes a ``.venv`` whose ``pytest`` records its arguments and fails where told, and an empty
``scripts/uv-env.sh``. Nothing is installed and no test runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# A venv's stand-ins: pytest appends its arguments, one run a line, to $FAKE_LOG and exits 1
# where they contain $FAKE_FAIL (a word), else 0; ruff does the same, its line starting "ruff";
# python does nothing.
FAKE_PYTEST = """#!/usr/bin/env bash
prefix=""
if [ "$(basename "$0")" = ruff ]; then prefix="ruff "; fi
echo "$prefix$*" >> "$FAKE_LOG"
for arg in "$@"; do
    if [ -n "${FAKE_FAIL:-}" ] && [ "$arg" = "$FAKE_FAIL" ]; then exit 1; fi
done
exit 0
"""
FAKE_UV = """#!/usr/bin/env bash
# uv venv [--quiet] [--python P] DIR: a DIR/bin with pytest and python stand-ins
if [ "$1" = venv ]; then
    dir="${@: -1}"
    mkdir -p "$dir/bin"
    cp "$FAKE_BIN/fake-pytest" "$dir/bin/pytest"
    cp "$FAKE_BIN/fake-pytest" "$dir/bin/ruff"
    printf '#!/usr/bin/env bash\\nexit 0\\n' > "$dir/bin/python"
    chmod +x "$dir/bin/pytest" "$dir/bin/ruff" "$dir/bin/python"
fi
exit 0
"""


LINT = ["ruff check .", "ruff format --check ."]


def ci_run(tmp_path: Path, fail: str = "") -> tuple[subprocess.CompletedProcess, list[str]]:
    """Run a copy of ``.ci/run``; its result and the arguments of each pytest run it made."""
    if shutil.which("bash") is None:
        pytest.skip(".ci/run is a bash script: bash is not installed")
    tree = tmp_path / "tree"
    (tree / ".ci").mkdir(parents=True)
    (tree / "scripts").mkdir()
    shutil.copy(ROOT / ".ci" / "run", tree / ".ci" / "run")
    (tree / "scripts" / "uv-env.sh").write_text("# pip's sources: none here\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("uv", FAKE_UV), ("fake-pytest", FAKE_PYTEST)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    log = tmp_path / "pytest-runs.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BLITZ_", "PYTEST_"))}
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        FAKE_BIN=str(bin_dir), FAKE_LOG=str(log), FAKE_FAIL=fail,
    )  # fmt: skip
    result = subprocess.run(
        ["bash", str(tree / ".ci" / "run")],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    runs = log.read_text().splitlines() if log.exists() else []
    return result, runs


def test_ci_runs_the_slow_claims_then_the_default_suite_on_two_processes(tmp_path):
    result, runs = ci_run(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert runs == [*LINT, "--run-slow --claims-json claims.json", "-n 2"]


def test_ci_fails_when_the_run_on_two_processes_fails(tmp_path):
    result, runs = ci_run(tmp_path, fail="-n")
    assert runs == [*LINT, "--run-slow --claims-json claims.json", "-n 2"]
    assert result.returncode == 1


def test_ci_fails_at_once_when_the_slow_run_fails(tmp_path):
    result, runs = ci_run(tmp_path, fail="--run-slow")
    assert runs == [*LINT, "--run-slow --claims-json claims.json"]
    assert result.returncode == 1


def test_ci_lints_first_and_a_finding_stops_it(tmp_path):
    result, runs = ci_run(tmp_path, fail="check")
    assert runs == ["ruff check ."]
    assert result.returncode == 1
