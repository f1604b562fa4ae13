"""The benchmark harness's pytest hooks (``blitz.bench.plugin``), run through pytester: the
timing settings a saved run records, the size-limit option, the grid's parametrization.

The benchmark here times nothing (``benchmark.pedantic`` of a no-op, once): the settings a run
records are the fixture's, whatever it times.
"""

from __future__ import annotations

import json
import os

import pytest

pytest_plugins = ["pytester"]

CONFTEST = """
pytest_plugins = ["blitz.plugin", "blitz.bench.plugin"]

def pytest_benchmark_generate_machine_info(config):
    return {}  # not py-cpuinfo's, half a second per run: these tests read the options
"""

BENCHMARKS = """
import pytest

@pytest.mark.bench_kind("inference")
def test_timing(benchmark, case):
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
"""


def runpytest(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """An inner pytest run in this process, a session of its own: without the variables that
    pytest-xdist sets in a worker. Under ``pytest -n N`` this module runs in a worker, and
    pytest-benchmark reads ``PYTEST_XDIST_WORKER`` when the inner session starts: it would take
    the inner run for a worker too and disable its benchmarks (nothing timed, no JSON saved)."""
    with pytest.MonkeyPatch.context() as patch:
        for name in [name for name in os.environ if name.startswith("PYTEST_XDIST_")]:
            patch.delenv(name)
        return pytester.runpytest(*args)


@pytest.fixture
def bench(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_bench=BENCHMARKS)
    return pytester


def saved_options(pytester: pytest.Pytester, *args: str) -> dict:
    """Run the tutorial's configuration on the cpu; the options its saved JSON records."""
    result = runpytest(
        pytester, "--device=cpu", "--no-claims-matrix", "-k", "cpu-eager-b4-w6]",
        "--benchmark-json=run.json", *args,
    )  # fmt: skip
    result.assert_outcomes(passed=1)
    (entry,) = json.loads((pytester.path / "run.json").read_text())["benchmarks"]
    return entry["options"]


# ----------------------------------------------------------------------------------------------
# Timing: blitz's defaults unless the command line gives a value, whatever it is


def test_a_run_without_timing_options_records_blitzs(bench):
    options = saved_options(bench)
    assert (options["max_time"], options["min_rounds"]) == (0.5, 10)
    assert (options["disable_gc"], options["warmup"]) == (True, 5)


def test_a_max_time_given_records_it_even_when_it_is_pytest_benchmarks_default(bench):
    assert saved_options(bench, "--benchmark-max-time", "1.0")["max_time"] == 1.0


def test_both_timing_options_given_in_one_word_are_recorded(bench):
    options = saved_options(bench, "--benchmark-max-time=1.0", "--benchmark-min-rounds=5")
    assert (options["max_time"], options["min_rounds"]) == (1.0, 5)


def test_timing_given_in_pytest_addopts_is_recorded(bench, monkeypatch):
    monkeypatch.setenv("PYTEST_ADDOPTS", "--benchmark-max-time=0.25")
    assert saved_options(bench)["max_time"] == 0.25


def test_a_run_inside_a_pytest_xdist_worker_times_and_saves_as_any_other(bench, monkeypatch):
    """Under ``pytest -n 2`` these tests run in an xdist worker, its variables set; the inner run
    is not a worker: its benchmark runs and its JSON is saved, with blitz's settings."""
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "2")
    monkeypatch.setenv("PYTEST_XDIST_TESTRUNUID", "0123456789abcdef")
    options = saved_options(bench)
    assert (options["max_time"], options["min_rounds"]) == (0.5, 10)


def test_timing_given_in_the_configurations_addopts_is_recorded(bench):
    bench.makeini("[pytest]\naddopts = --benchmark-min-rounds=3\n")
    options = saved_options(bench)
    assert (options["max_time"], options["min_rounds"]) == (0.5, 3)


# ----------------------------------------------------------------------------------------------
# The grid, the size limit and its option


def test_each_case_is_a_test_named_by_its_id(bench):
    result = runpytest(bench, "--device=cpu", "--no-claims-matrix", "--collect-only", "-q")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "test_bench.py::test_timing[[]cpu-eager-b4-w6[]]",
            "test_bench.py::test_timing[[]cpu-eager-b4-w64[]]",
            "test_bench.py::test_timing[[]cpu-channels_last-b512-w1024[]]",
            "test_bench.py::test_timing[[]cpu-compile-b512-w1024[]]",
            "26 tests collected*",
        ]
    )


def test_a_case_over_the_size_limit_is_skipped_with_the_reason(bench):
    result = runpytest(
        bench, "--device=cpu", "--no-claims-matrix", "-rs", "-k", "cpu-eager-b512-w1024]"
    )
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        ["SKIPPED * over the cpu size limit of 2.5 GFLOP per timed call (--bench-max-gflop*"]
    )


def test_the_size_limit_can_be_lifted(bench):
    result = runpytest(
        bench, "--device=cpu", "--no-claims-matrix", "-k", "cpu-eager-b512-w1024]",
        "--bench-max-gflop=cpu=0", "--benchmark-disable",
    )  # fmt: skip
    result.assert_outcomes(passed=1)


def test_a_bad_size_limit_stops_the_run_naming_it(bench):
    result = runpytest(bench, "--bench-max-gflop", "cpu=lots")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--bench-max-gflop: expected DEVICE=GFLOP, got 'cpu=lots'"])


def test_the_option_is_in_help_with_its_default(bench):
    result = runpytest(bench, "--help")
    result.stdout.fnmatch_lines(["*--bench-max-gflop=DEVICE=GFLOP,...*", "*cpu=2.5, no limit*"])


def test_a_benchmark_taking_case_without_its_kind_is_an_error(pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile("def test_unmarked(benchmark, case):\n    pass\n")
    result = runpytest(pytester, "--device=cpu", "--no-claims-matrix")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        ["*test_unmarked: a benchmark that takes 'case' is marked @pytest.mark.bench_kind(KIND)*"]
    )
