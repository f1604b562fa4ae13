"""The benchmark harness's pytest hooks and fixtures; the project's root ``conftest.py`` loads them
(``pytest_plugins``), so no hook depends on a hand-kept list of names.

A benchmark marked ``@pytest.mark.bench_kind("train")`` (or ``"inference"``) that takes ``case``
and ``workload`` runs once per point of the grid (``blitz.bench.grid``) on the run's devices
(``--device``, as the claims plugin selects them); a case that cannot run here is skipped with
the reason. Every such benchmark gets one ``benchmark`` marker with the timing settings: blitz's
(``grid.TIMING``) where the command line gives none, and ``grid.FORCED_TIMING`` always. After the
test, ``extra_info`` holds the case and images/s (``grid.extra_info``), and the saved run's
``machine_info`` names torch, CUDA and the GPU.

The state lives in one ``BenchSession`` made in ``pytest_configure``; each hook calls into it.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable

import pytest

from blitz import devices
from blitz import plugin as claims_plugin
from blitz.bench import grid, workloads
from blitz.bench.grid import Case

KIND_MARKER = "bench_kind"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("blitz-bench", "blitz benchmarks (bench/)")
    group.addoption(
        grid.MAX_GFLOP_OPTION,
        action="store",
        dest="bench_max_gflop",
        metavar="DEVICE=GFLOP,...",
        default="",
        help=(
            "Size limit per device: skip a configuration whose timed call is estimated above "
            "this many GFLOP on that device (0: no limit). Default: "
            + ",".join(f"{d}={v:g}" for d, v in grid.DEFAULT_MAX_GFLOP.items())
            + ", no limit elsewhere."
        ),
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{KIND_MARKER}(kind): the grid a benchmark runs over: "
        + " or ".join(repr(k) for k in grid.KINDS),
    )
    config.stash[SESSION] = BenchSession(
        max_gflop=max_gflop(config.getoption("bench_max_gflop")),
        timing=grid.timing_settings(given_timing(config)),
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" in metafunc.fixturenames:
        session = metafunc.config.stash[SESSION]
        run_devices = metafunc.config.stash[claims_plugin.SESSION].devices
        metafunc.parametrize("case", session.params(kind(metafunc), run_devices), indirect=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    timing = pytest.mark.benchmark(**config.stash[SESSION].timing)
    for item in items:
        if "case" in getattr(item, "fixturenames", ()):
            item.add_marker(timing)


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict) -> None:
    machine_info.update(workloads.machine_info())


# ==============================================================================================
# The session


class BenchSession:
    """The run's size limits and timing settings, decided once from the command line."""

    def __init__(self, max_gflop: dict[str, float], timing: dict) -> None:
        self.max_gflop = max_gflop
        self.timing = timing  # the benchmark marker's keyword arguments

    def params(self, kind: str, run_devices: list[str]) -> list:
        """The grid of ``kind`` on ``run_devices`` as parameters, those that cannot run here
        marked to skip with the reason."""
        params = []
        for case in grid.grid(kind, run_devices):
            reason = workloads.skip_reason(case, self.max_gflop)
            marks = [pytest.mark.skip(reason=reason)] if reason else []
            # A dict, so that the saved JSON's "params" stays readable.
            params.append(pytest.param(case.info(), id=case.id, marks=marks))
        return params


SESSION = pytest.StashKey[BenchSession]()


def max_gflop(option: str) -> dict[str, float]:
    try:
        return grid.parse_max_gflop(option, devices.candidate_devices())
    except ValueError as exc:
        raise pytest.UsageError(f"{grid.MAX_GFLOP_OPTION}: {exc}") from None


def command_line(config: pytest.Config) -> list[str]:
    """The arguments pytest parsed: the configuration's ``addopts``, ``$PYTEST_ADDOPTS``, then
    the command line itself (the order in which pytest puts them together)."""
    return [
        *config.getini("addopts"),
        *shlex.split(os.environ.get("PYTEST_ADDOPTS", "")),
        *config.invocation_params.args,
    ]


def given_timing(config: pytest.Config) -> dict:
    """The timing settings of ``grid.TIMING`` that the command line gave: pytest-benchmark's
    parsed values, by setting."""
    args = command_line(config)
    return {
        name: config.getoption("benchmark_" + name)
        for name in grid.TIMING
        if grid.given_on_command_line(grid.timing_option(name), args)
    }


def kind(metafunc: pytest.Metafunc) -> str:
    marker = metafunc.definition.get_closest_marker(KIND_MARKER)
    if marker is None or len(marker.args) != 1 or marker.args[0] not in grid.KINDS:
        pytest.fail(
            f"{metafunc.definition.nodeid}: a benchmark that takes 'case' is marked "
            f"@pytest.mark.{KIND_MARKER}(KIND), KIND one of {', '.join(map(repr, grid.KINDS))}",
            pytrace=False,
        )
    return marker.args[0]


# ==============================================================================================
# Fixtures


@pytest.fixture
def case(request: pytest.FixtureRequest) -> Case:
    return Case(**request.param)


@pytest.fixture
def workload(case: Case, benchmark) -> Callable[[], None]:
    """The timed call for ``case``, built and warmed up; skipped when it does not fit in memory.

    After the test, ``extra_info`` records the case and images/s from the median round.
    """
    benchmark.group = case.group
    try:
        call = workloads.build(case)
        workloads.warm_up(call)
    except RuntimeError as exc:  # every torch's out-of-memory errors are RuntimeErrors
        if not workloads.is_out_of_memory(exc):
            raise
        call = None  # skip outside the handler, so that the traceback's tensors are freed
    if call is None:
        workloads.release_memory(case.device)
        pytest.skip(f"does not fit in {devices.device_name(case.device)} memory: {case.id}")
    yield call
    stats = getattr(benchmark.stats, "stats", None)  # None with --benchmark-disable
    median = stats.median if stats else None
    benchmark.extra_info.update(grid.extra_info(case, median, workloads.environment(case.device)))
    del call
    workloads.release_memory(case.device)
