"""The GPU reference run (``python -m blitz.reference``): its step runner, what it reads from each
step's outputs, and its rehearsal on the cpu as a GPU machine would run it.

The fast tests run the step runner on tiny ``sys.executable -c`` commands (a step past its limit
is interrupted, then killed; a failing step does not stop the next; the summary lines) and read
the report tests' sample files as the run reads its steps' JSON.

The slow test is the rehearsal itself. A GPU machine gets the working tree and nothing else:
blitz is not installed (``PYTHONPATH=.``), there is ``python3`` and no ``python``, no network. A
broken path, a missing import or a ``python`` call would show only there, on borrowed time. So
it copies the tree's files (those git tracks, and untracked ones git does not ignore: what
travels to the machine) into a temporary folder, puts a PATH in front with a ``python3`` that
runs this interpreter and no ``python`` anywhere on it, and runs ``python3 -m blitz.reference
--rehearse OUTDIR`` there with ``PYTHONPATH=.``: every step, on the cpu, small. The copy's blitz
must be the one imported (this environment has blitz installed, pointing at the original tree)
and its pytest plugin must load from the root conftest.py: the claims JSON is its output.

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
import textwrap
import time
from pathlib import Path

import pytest

from blitz import data
from blitz.bench import grid
from blitz.reference import cli, plan, runner
from blitz.reference.env import NONE, TEST_ONLY, WHOLE, check_data

REPO = Path(__file__).resolve().parents[2]
HARNESS_DATA = Path(__file__).resolve().parent / "data"
STEPS = ("env", "claims", "bench", "protocol", "report")
WRITTEN = {
    "summary.txt", "env.txt", "env.json", "claims.json", "claims.log", "bench.json",
    "bench.log", "protocol.log", "report.txt", "speedup.png", "claims.md",
}  # fmt: skip
# The variants the cpu has (cudagraph and bf16 are cuda-only, outside a cpu grid).
CPU_VARIANTS = {"eager", "channels_last", "compile"}
# Variables of this run that must not reach the rehearsal's own pytest runs.
SCRUBBED = (
    "PYTHONPATH", "VIRTUAL_ENV", "PYTEST_ADDOPTS", "PYTEST_PLUGINS", "BLITZ_RUN_SLOW",
    "BLITZ_DEVICES", "BLITZ_DATA_ROOT", "BLITZ_BENCH_MAX_GFLOP",
)  # fmt: skip
# The rehearsal is sized for 3 minutes on 2 CPU cores and ends by its own deadline (600 s).
TIMEOUT_S = 700


# ==============================================================================================
# The step runner


def python(code: str) -> tuple[str, ...]:
    # -S: no site packages to import. The steps here use the standard library alone, and start
    # in milliseconds even on a loaded machine: a SIGINT must meet the code, not a half-started
    # interpreter.
    return (sys.executable, "-S", "-c", textwrap.dedent(code))


def run_step(tmp_path: Path, step: runner.Step, **kwargs) -> runner.Outcome:
    kwargs.setdefault("grace", 5)  # time enough to end on a loaded machine
    quiet = dict(echo=lambda line: None)
    return runner.run(step, tmp_path, cwd=tmp_path, env=os.environ, **quiet, **kwargs)


def test_a_step_writes_stdout_and_stderr_to_its_log(tmp_path):
    code = "import sys; print('to stdout', flush=True); print('to stderr', file=sys.stderr)"
    outcome = run_step(tmp_path, runner.Step("hello", 30, python(code), "hello.log"))
    assert (outcome.status, outcome.returncode, outcome.failed) == ("ok", 0, False)
    assert (tmp_path / "hello.log").read_text().splitlines() == ["to stdout", "to stderr"]


def test_a_failing_step_says_its_exit_status(tmp_path):
    outcome = run_step(tmp_path, runner.Step("bad", 30, python("raise SystemExit(3)"), "bad.log"))
    assert (outcome.status, outcome.returncode, outcome.failed) == ("FAILED (exit 3)", 3, True)


@pytest.mark.slow  # waits out a real time limit
def test_a_step_past_its_limit_gets_sigint_and_is_timed_out(tmp_path):
    code = """
        import time
        print('started', flush=True)
        try:
            time.sleep(60)
        except KeyboardInterrupt:
            print('interrupted: writing what finished', flush=True)
            raise SystemExit(2)
    """
    start = time.monotonic()
    outcome = run_step(tmp_path, runner.Step("slow", 1, python(code), "slow.log"))
    assert time.monotonic() - start < 20
    assert (outcome.status, outcome.failed, outcome.interrupted) == ("TIMED OUT (1 s)", True, True)
    assert (tmp_path / "slow.log").read_text().splitlines() == [
        "started", "interrupted: writing what finished",
    ]  # fmt: skip


@pytest.mark.slow  # waits out a real time limit
def test_sigint_reaches_the_processes_a_step_started(tmp_path):
    """The whole process group gets SIGINT (pytest-xdist's workers, ...), not the step alone."""
    child = textwrap.dedent(
        """
        import time
        try:
            time.sleep(60)
        except KeyboardInterrupt:
            print('child interrupted', flush=True)
        """
    )
    code = f"""
        import subprocess, sys
        child = subprocess.Popen([sys.executable, '-S', '-c', {child!r}])
        print('parent started', flush=True)
        try:
            child.wait()
        except KeyboardInterrupt:
            child.wait()
    """
    outcome = run_step(tmp_path, runner.Step("tree", 5, python(code), "tree.log"))
    assert outcome.status == "TIMED OUT (5 s)"
    assert "child interrupted" in (tmp_path / "tree.log").read_text()


@pytest.mark.slow  # waits out a real time limit
def test_a_step_that_ignores_sigint_is_killed_after_the_grace_period(tmp_path):
    code = """
        import signal, time
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        print('ignoring SIGINT', flush=True)
        time.sleep(60)
    """
    start = time.monotonic()
    outcome = run_step(tmp_path, runner.Step("stuck", 1, python(code), "stuck.log"), grace=1)
    assert time.monotonic() - start < 20
    assert outcome.status == "KILLED (1 + 1 s)" and outcome.failed


def test_a_step_killed_by_a_signal_says_which(tmp_path):
    code = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    outcome = run_step(tmp_path, runner.Step("oom", 30, python(code), "oom.log"))
    assert outcome.status == "KILLED (SIGKILL)" and outcome.failed


def test_a_step_gets_no_time_once_the_deadline_is_near(tmp_path):
    step = runner.Step("late", 30, python("print('ran')"), "late.log")
    outcome = run_step(tmp_path, step, deadline=time.monotonic() + 5, grace=5)
    assert outcome.status == "NOT RUN (no time)" and outcome.failed
    assert (tmp_path / "late.log").read_text().startswith("not run:")


@pytest.mark.slow  # waits out a real time limit
def test_the_deadline_shortens_a_step_limit(tmp_path):
    code = "import time\ntry:\n    time.sleep(60)\nexcept KeyboardInterrupt:\n    pass"
    step = runner.Step("long", 300, python(code), "long.log")
    outcome = run_step(tmp_path, step, deadline=time.monotonic() + 8, grace=5)
    assert outcome.status in ("TIMED OUT (2 s)", "TIMED OUT (3 s)")


def test_a_step_sets_and_removes_variables(tmp_path, monkeypatch):
    monkeypatch.setenv("BLITZ_REFERENCE_GONE", "present")
    code = """
        import os
        print(os.environ.get('BLITZ_REFERENCE_GONE'), os.environ['BLITZ_REFERENCE_SET'])
    """
    env = {"BLITZ_REFERENCE_GONE": None, "BLITZ_REFERENCE_SET": "set"}
    outcome = run_step(tmp_path, runner.Step("env", 30, python(code), "env.log", env))
    assert outcome.status == "ok"
    assert (tmp_path / "env.log").read_text() == "None set\n"


def test_a_step_that_cannot_start_fails_with_the_reason_in_its_log(tmp_path):
    missing = str(tmp_path / "no-such-program")
    outcome = run_step(tmp_path, runner.Step("missing", 30, (missing,), "missing.log"))
    assert outcome.status == "FAILED (not started)"
    assert "cannot start" in (tmp_path / "missing.log").read_text()


def test_a_failing_step_does_not_stop_the_next_and_each_gets_a_line(tmp_path, capsys):
    def planned(name, code, detail, skip=""):
        step = runner.Step(name, 30, python(code), f"{name}.log")
        return plan.Planned(step, lambda outcome: detail, skip)

    steps = [
        planned("first", "raise SystemExit(1)", "broke"),
        planned("second", "print('ran')", "fine"),
        planned("third", "pass", "", "not run: no data"),
    ]
    summary = runner.Summary(tmp_path / "summary.txt")
    failed = cli.run_plan(steps, tmp_path, lambda step: run_step(tmp_path, step), summary)
    assert failed
    assert (tmp_path / "second.log").read_text() == "ran\n"
    assert (tmp_path / "third.log").read_text() == "not run: no data\n"
    lines = (tmp_path / "summary.txt").read_text().splitlines()
    assert capsys.readouterr().out.splitlines() == lines
    assert [line.split()[:2] for line in lines] == [
        ["first", "FAILED"], ["second", "ok"], ["third", "skipped"],
    ]  # fmt: skip
    assert lines[0].endswith(" s  broke") and lines[1].endswith(" s  fine")
    assert lines[2] == runner.summary_line("third", "skipped", 0, "not run: no data")


def test_a_summary_line_has_columns():
    assert runner.summary_line("claims", "ok", 93.4, "12 claims") == (
        "claims    ok                     93 s  12 claims"
    )
    assert runner.summary_line("bench", "TIMED OUT (170 s)", 185, "x").startswith(
        "bench     TIMED OUT (170 s)     185 s  x"
    )


# ==============================================================================================
# What the run reads from the steps' outputs


def context(tmp_path: Path, mode=plan.GPU, kind=WHOLE, note="CIFAR-10 at D: both splits"):
    return plan.Context(mode, tmp_path, data={"kind": kind, "root": "D", "note": note})


def test_the_claims_line_counts_the_matrix_cells_per_device(tmp_path):
    shutil.copy(HARNESS_DATA / "claims" / "torch-2.14.1-gpu.json", tmp_path / "claims.json")
    detail = plan.claims_detail(context(tmp_path))
    assert detail == "3 claims; cpu: 1 drift, 1 holds, 1 skipped; cuda: 1 drift, 2 holds"


def test_the_claims_line_says_where_the_cifar10_claims_could_not_run(tmp_path):
    ctx = context(tmp_path, plan.REHEARSAL, TEST_ONLY, "CIFAR-10 at D: the test split alone")
    detail = plan.claims_detail(ctx)
    subset = "a subset (tests/test_catalogue.py tests/test_cifar10.py)"
    assert detail.startswith(f"{subset}; no claims matrix (")
    assert detail.endswith("; CIFAR-10 claims skipped: CIFAR-10 at D: the test split alone")


def test_the_bench_line_counts_the_grid_cases_measured(tmp_path):
    shutil.copy(HARNESS_DATA / "bench" / "cpu_cuda.json", tmp_path / "bench.json")
    detail = plan.bench_detail(context(tmp_path))
    expected = len(plan.GPU.bench_cases())
    assert re.match(rf"\d+ of {expected} grid cases measured \(cpu \d+, cuda \d+\)", detail), detail
    assert "over the size limit (--bench-max-gflop=cuda=0)" in detail


def test_the_bench_and_report_lines_without_a_bench_file(tmp_path):
    assert plan.bench_detail(context(tmp_path)).startswith("no results (")
    assert plan.report_detail(context(tmp_path)).startswith("no verdict on C11 (")


def test_the_report_line_is_the_bench_report_verdict_on_c11(tmp_path):
    shutil.copy(HARNESS_DATA / "bench" / "cpu_cuda.json", tmp_path / "bench.json")
    detail = plan.report_detail(context(tmp_path))
    assert re.match(r"C11 \[1\]: (holds|does not hold|cannot judge): ", detail), detail
    assert len(detail) <= plan.VERDICT_WIDTH


def test_the_protocol_line_is_read_from_its_json(tmp_path):
    run = {"seed": 42, "steps": 100, "seconds": 1.234, "ms_per_step": 12.34, "accuracy": 23.456}
    (tmp_path / "protocol.json").write_text(json.dumps({"exit_status": 0, "runs": [run]}))
    assert plan.protocol_detail(context(tmp_path)) == (
        "training time: 1.2 s (12.34 ms/step, 100 steps), accuracy 23.46%"
    )
    assert plan.protocol_detail(context(tmp_path, kind=TEST_ONLY)).endswith(
        "accuracy 23.46% on the test split it trained on (the training split is not here)"
    )
    (tmp_path / "protocol.json").write_text(json.dumps({"exit_status": 2, "runs": []}))
    assert plan.protocol_detail(context(tmp_path)) == "no result: see protocol.log"


def test_the_protocol_runs_only_where_there_is_data(tmp_path):
    note = "no CIFAR-10: $BLITZ_DATA_ROOT is not set"
    none = plan.protocol(context(tmp_path, kind=NONE, note=note))
    assert none.skip == "not run: no CIFAR-10: $BLITZ_DATA_ROOT is not set"
    test_only = plan.protocol(context(tmp_path, plan.REHEARSAL, kind=TEST_ONLY)).step.argv
    assert test_only[test_only.index("--train-split") + 1] == "test"
    assert test_only[-2:] == ("--max-steps", "100")
    whole = plan.protocol(context(tmp_path, kind=WHOLE))
    assert not whole.skip and "--train-split" not in whole.step.argv
    assert whole.step.argv[whole.step.argv.index("--device") + 1] == "cuda"


# ==============================================================================================
# The steps' commands


def test_the_gpu_claims_step_runs_the_whole_suite(tmp_path):
    """Test paths other than ``tests`` would narrow the run: its claims would read partial."""
    step = plan.claims(context(tmp_path)).step
    argv = step.argv
    assert argv[0] == sys.executable
    paths = [arg for arg in argv[1:] if not arg.startswith("-") and "/" in arg or arg == "tests"]
    assert paths == ["tests"]
    assert f"--blitz-claims-json={tmp_path / 'claims.json'}" in argv
    assert {"--blitz-device=cpu,cuda", "--blitz-run-slow", "--blitz-no-download"} <= set(argv)
    assert step.env["BLITZ_DATA_ROOT"] == "D"
    assert step.env["BLITZ_RUN_SLOW"] is None and step.env["BLITZ_DEVICES"] is None


def test_the_claims_step_gets_no_data_root_without_both_splits(tmp_path):
    step = plan.claims(context(tmp_path, plan.REHEARSAL, kind=TEST_ONLY)).step
    assert step.env["BLITZ_DATA_ROOT"] is None
    assert "--blitz-device=cpu" in step.argv and "--blitz-run-slow" not in step.argv


def test_the_rehearsal_benchmarks_the_smallest_configuration_from_the_grid(tmp_path):
    cases = plan.REHEARSAL.bench_cases()
    assert {(c.device, c.batch_size, c.width) for c in cases} == {
        ("cpu", grid.TUTORIAL_BATCH_SIZE, grid.TUTORIAL_WIDTH)
    }
    assert {(c.kind, c.variant) for c in cases} == {
        ("train", "eager"), ("train", "channels_last"),
        ("inference", "eager"), ("inference", "channels_last"), ("inference", "compile"),
    }  # fmt: skip
    argv = plan.bench(context(tmp_path, plan.REHEARSAL)).step.argv
    ids = [arg for arg in argv if "::" in arg]
    assert ids == [plan.node_id(c) for c in cases]
    assert "bench/test_train_step.py::test_train_step[cpu-eager-b4-w6]" in ids
    for path, _ in plan.BENCH_TESTS.values():
        assert (REPO / path).is_file()


def test_the_gpu_bench_step_runs_both_modules_without_a_cuda_limit(tmp_path):
    argv = plan.bench(context(tmp_path)).step.argv
    assert [a for a in argv if a.startswith("bench/")] == [p for p, _ in plan.BENCH_TESTS.values()]
    assert "--bench-max-gflop=cuda=0" in argv and "--blitz-device=cpu,cuda" in argv
    assert f"--benchmark-json={tmp_path / 'bench.json'}" in argv
    whole_grid = sum(len(grid.grid(kind, ("cpu", "cuda"))) for kind in grid.KINDS)
    assert len(plan.GPU.bench_cases()) == whole_grid


def test_the_time_limits_fit_the_deadline():
    for mode in (plan.GPU, plan.REHEARSAL):
        assert set(mode.limits) == set(STEPS)
    assert sum(plan.GPU.limits.values()) + runner.GRACE_S <= plan.GPU.total_s <= 8 * 60


def test_no_shell_script_is_left_in_bench():
    assert sorted(p.name for p in (REPO / "bench").glob("*.sh")) == []


def test_without_the_env_step_nothing_else_runs(tmp_path, monkeypatch, capsys):
    """An earlier run's outputs are removed first: none is read as this run's."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "bench.json").write_text("{}")
    code = "print('no torch here'); raise SystemExit(1)"
    failing = runner.Step("env", 30, python(code), "env.txt")
    monkeypatch.setattr(plan, "env_step", lambda ctx: failing)
    assert cli.main([str(out), "--rehearse"]) == 1
    assert sorted(p.name for p in out.iterdir()) == ["env.txt", "summary.txt"]
    lines = (out / "summary.txt").read_text().splitlines()
    assert lines[0].startswith("blitz rehearsal (cpu): ")
    assert re.fullmatch(r"env +FAILED \(exit 1\) +\d+ s  no env.json: see env.txt", lines[1])
    assert lines[2:] == ["stopped: nothing else can run"]
    assert "    no torch here" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, says",
    [([], "the following arguments are required: OUTDIR"),
     (["out", "--bench-max-gflop=gpu=3"], "--bench-max-gflop: 'gpu=3': unknown device")],
    ids=["no-outdir", "bad-limit"],
)  # fmt: skip
def test_a_bad_command_line_is_status_2(capsys, argv, says):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    assert says in capsys.readouterr().err


# ==============================================================================================
# The data check (blitz.data's discovery)


@pytest.mark.parametrize(
    "files, kind",
    [
        ((), NONE),
        (("test.npz",), TEST_ONLY),
        (("train.npz",), NONE),
        (("train.npz", "test.npz"), WHOLE),
        ((data.OFFICIAL_FOLDER + "/",), WHOLE),
    ],
    ids=["empty", "test-only", "train-only", "offline", "official"],
)
def test_the_data_root_is_classed_by_the_splits_it_holds(tmp_path, files, kind):
    for name in files:
        if name.endswith("/"):
            (tmp_path / name).mkdir()
        else:
            (tmp_path / name).write_bytes(b"")
    found = check_data(tmp_path)
    assert (found.kind, found.root) == (kind, str(tmp_path))
    assert str(tmp_path) in found.note


def test_no_data_root_is_no_data():
    found = check_data(None)
    assert (found.kind, found.note) == (NONE, "no CIFAR-10: $BLITZ_DATA_ROOT is not set")


# ==============================================================================================
# The rehearsal, from an uninstalled copy of the tree


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
        shutil.copy2(REPO / name, target)
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
    env.update(PYTHONPATH=".", OMP_NUM_THREADS="1")
    env["PATH"] = python3_only_path(tmp_path / "bin")
    root, split = data_root(pytestconfig, tmp_path)
    if root is not None:
        env["BLITZ_DATA_ROOT"] = str(root)

    start = time.perf_counter()
    run = subprocess.run(
        ["python3", "-m", "blitz.reference", "--rehearse", str(out)], cwd=tree, env=env,
        capture_output=True, text=True, timeout=TIMEOUT_S, check=False,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    print(run.stdout, run.stderr, f"rehearsal: {seconds:.0f} s", sep="\n")
    assert run.returncode == 0, _failure(run, out)

    assert WRITTEN <= {p.name for p in out.iterdir()}
    summary = (out / "summary.txt").read_text().splitlines()
    lines = {line.split()[0]: line for line in summary if line.split()[:1] in ([s] for s in STEPS)}
    assert set(lines) == set(STEPS), summary
    for step in STEPS:
        skipped = step == "protocol" and split == "none"
        assert lines[step].split()[1] == ("skipped" if skipped else "ok"), lines[step]

    # blitz came from the copy, not from the installed tree
    env_txt = (out / "env.txt").read_text()
    assert f"blitz from {tree / 'blitz'}\n" in env_txt, env_txt
    assert json.loads((out / "env.json").read_text())["data"]["kind"] == split

    # the plugin loaded (root conftest.py) and wrote the matrix: every claim, cpu results
    claims = json.loads((out / "claims.json").read_text())
    assert claims["claims"], "empty claims matrix"
    statuses = {c["results"]["cpu"]["status"] for c in claims["claims"].values()}
    assert "holds" in statuses, statuses
    assert "a subset (tests/test_catalogue.py tests/test_cifar10.py)" in lines["claims"]

    # the grid's smallest configuration on the cpu, every variant the cpu has
    benchmarks = json.loads((out / "bench.json").read_text())["benchmarks"]
    cases = [b["params"]["case"] for b in benchmarks]
    assert {(c["device"], c["batch_size"], c["width"]) for c in cases} == {("cpu", 4, 6)}
    # (compile is skipped, with the reason, where this torch or machine cannot compile)
    cannot_compile = re.search(r"SKIPPED .*torch\.compile", (out / "bench.log").read_text())
    expected = CPU_VARIANTS - {"compile"} if cannot_compile else CPU_VARIANTS
    assert {c["variant"] for c in cases} == expected
    assert f"{len(cases)} of 5 grid cases measured (cpu {len(cases)})" in lines["bench"]

    protocol = (out / "protocol.log").read_text()
    if split == "test":
        assert "training on the test split" in protocol
        assert "training time:" in protocol and "Accuracy of the network" in protocol
        result = json.loads((out / "protocol.json").read_text())
        assert [r["steps"] for r in result["runs"]] == [100]
        assert "on the test split it trained on" in lines["protocol"]
    else:
        assert protocol.startswith("not run: no CIFAR-10")
    assert "  C11 [1]: cannot judge: no cuda results" in lines["report"]
    assert (out / "speedup.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _failure(run: subprocess.CompletedProcess, out: Path) -> str:
    """The rehearsal's output and the end of each step's log, for the assertion message."""
    parts = [f"exit {run.returncode}", run.stdout, run.stderr]
    for log in sorted(out.glob("*.log")) + sorted(out.glob("*.txt")):
        tail = log.read_text(errors="replace").splitlines()[-30:]
        parts.append(f"--- {log.name} (end)\n" + "\n".join(tail))
    return "\n".join(parts)
