"""``python -m blitz.report bench``: the GPU/CPU speedup report over pytest-benchmark files (C11).

Fixtures under ``data/bench/``: ``cpu_cuda.json`` (a run with both devices, chosen so that the
images/s and speedups are round numbers), ``cpu_only.json`` (a run without a GPU),
``malformed.json`` (cut off mid-file) and ``not_benchmark.json`` (JSON of another kind). Runs
with other numbers are written to ``tmp_path`` by ``write_run``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from blitz import devices
from blitz.bench.grid import Case
from blitz.report import ReportError, bench, plot

DATA = Path(__file__).parent / "data" / "bench"
ROOT = Path(__file__).resolve().parents[2]


def report(capsys, *argv) -> tuple[int, str]:
    """Run the ``bench`` subcommand as the command line would; its exit code and stdout."""
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    args = parser.parse_args([str(a) for a in argv])
    code = args.run(args)
    return code, capsys.readouterr().out


def rows(out: str) -> list[list[str]]:
    return [line.split() for line in out.splitlines()]


def entry(kind, device, batch_size, width, median, variant="eager", mean=None) -> dict:
    """One pytest-benchmark result as ``pytest bench`` saves it (the fields the report reads)."""
    return {
        "name": f"test_{kind}[{device}-{variant}-b{batch_size}-w{width}]",
        "fullname": f"bench/test_{kind}.py::test_{kind}[{device}-{variant}-b{batch_size}-w{width}]",
        "extra_info": {
            "kind": kind,
            "device": device,
            "variant": variant,
            "batch_size": batch_size,
            "width": width,
        },
        "stats": {"median": median, "mean": mean or median, "iqr": 0.0, "rounds": 20},
    }


def write_run(path: Path, *entries: dict) -> Path:
    path.write_text(json.dumps({"machine_info": {}, "benchmarks": list(entries)}))
    return path


def speedups(path: Path, **by_width: tuple[float, float]) -> Path:
    """A run of the eager training step at batch 4: ``w6=(cpu median, cuda median)``, …"""
    entries = []
    for name, (cpu, cuda) in by_width.items():
        width = int(name.removeprefix("w"))
        entries.append(entry("train", "cpu", 4, width, cpu))
        if cuda is not None:
            entries.append(entry("train", "cuda", 4, width, cuda))
    return write_run(path, *entries)


# ----------------------------------------------------------------------------------------------
# The speedup table


def test_table_gives_cpu_and_cuda_images_per_s_and_their_ratio(capsys):
    code, out = report(capsys, DATA / "cpu_cuda.json")
    assert code == 0
    table = rows(out)
    assert ["4", "6", "2,000", "4,000", "2.00x"] in table
    assert ["4", "1024", "50", "2,000", "40.0x"] in table
    assert ["64", "1024", "50", "16,000", "320.0x"] in table


def test_inference_has_its_own_table(capsys):
    _, out = report(capsys, DATA / "cpu_cuda.json")
    inference = out.split("Inference, the tutorial's code")[1].split("\n\n")[0]
    assert ["4", "6", "8,000", "10,000", "1.25x"] in rows(inference)
    assert ["4", "1024", "200", "8,000", "40.0x"] in rows(inference)


def test_images_per_s_is_the_batch_size_over_the_median_round(tmp_path, capsys):
    run = write_run(
        tmp_path / "run.json",
        entry("train", "cpu", 64, 6, median=0.016, mean=0.032),
        entry("train", "cuda", 64, 6, median=0.002, mean=0.001),
    )
    _, out = report(capsys, run)
    assert ["64", "6", "4,000", "32,000", "8.00x"] in rows(out)


def test_noisy_median_is_marked(capsys):
    _, out = report(capsys, DATA / "cpu_cuda.json")  # b64 w6 on cpu: IQR 25% of the median
    assert ["64", "6", "8,000~", "32,000", "4.00x"] in rows(out)
    assert ["4", "6", "2,000", "4,000", "2.00x"] in rows(out)  # IQR 0: no mark


def test_variants_are_compared_with_eager_on_the_same_device(capsys):
    _, out = report(capsys, DATA / "cpu_cuda.json")
    table = rows(out)
    assert ["4", "6", "channels_last", "2,500", "(1.25x)", "5,000", "(1.25x)"] in table
    assert ["4", "6", "cudagraph", "—", "20,000", "(5.00x)"] in table


def test_other_benchmarks_of_the_file_are_left_out_and_counted(capsys):
    _, out = report(capsys, DATA / "cpu_cuda.json")
    assert "1 other benchmark(s) of this file" in out
    assert "test_epoch" not in out


# ----------------------------------------------------------------------------------------------
# The verdict on C11


def test_verdict_holds_when_widening_multiplies_a_modest_speedup(capsys):
    _, out = report(capsys, DATA / "cpu_cuda.json")
    assert (
        "C11 [1]: holds: at the tutorial's batch 4 and width 6 the GPU trains 2.00x as fast as "
        "the CPU; at width 1024, 40.0x (20.0 times the tutorial's speedup)"
    ) in out


def test_verdict_does_not_hold_when_widening_brings_little(tmp_path, capsys):
    run = speedups(tmp_path / "flat.json", w6=(0.002, 0.001), w1024=(0.06, 0.02))
    _, out = report(capsys, run)
    assert "C11 [1]: does not hold:" in out
    assert "widening does not bring 2 times the speedup" in out
    assert "massive" not in out.split("C11 [1]:")[1]


def test_verdict_does_not_hold_when_the_small_net_already_gets_a_massive_speedup(tmp_path, capsys):
    run = speedups(tmp_path / "massive.json", w6=(0.012, 0.001), w1024=(1.0, 0.002))
    _, out = report(capsys, run)
    assert "C11 [1]: does not hold:" in out
    assert "the tutorial's small net already gets a massive (>= 10x) speedup" in out


def test_verdict_takes_the_widest_width_with_both_devices(tmp_path, capsys):
    run = speedups(tmp_path / "run.json", w6=(0.002, 0.001), w64=(0.01, 0.002), w1024=(0.1, None))
    _, out = report(capsys, run)
    assert "at width 64, 5.00x (2.5 times the tutorial's speedup)" in out
    assert "C11 [1]: holds" in out


def test_verdict_cannot_judge_without_the_tutorials_configuration(tmp_path, capsys):
    run = speedups(tmp_path / "run.json", w64=(0.01, 0.002), w1024=(0.1, 0.001))
    _, out = report(capsys, run)
    assert "C11 [1]: cannot judge: the tutorial's configuration (batch 4, width 6)" in out


def test_file_without_cuda_results_says_so(capsys):
    path = DATA / "cpu_only.json"
    code, out = report(capsys, path)
    assert code == 0
    assert f"no cuda results in {path} (CUDA unavailable: no GPU visible" in out
    assert ["4", "6", "2,000", "—", "—"] in rows(out)
    assert f"C11 [1]: cannot judge: no cuda results in {path}" in out


# ----------------------------------------------------------------------------------------------
# Several runs


def test_several_files_are_shown_side_by_side(capsys):
    _, out = report(capsys, DATA / "cpu_cuda.json", DATA / "cpu_only.json")
    assert f"[1] {DATA / 'cpu_cuda.json'}" in out
    assert f"[2] {DATA / 'cpu_only.json'}" in out
    table = rows(out)
    assert ["4", "6", "2,000", "4,000", "2.00x", "2,000", "—", "—"] in table
    assert ["4", "1024", "50", "2,000", "40.0x", "—", "—", "—"] in table
    assert "C11 [1]: holds" in out
    assert "C11 [2]: cannot judge" in out


def test_a_directory_stands_for_the_json_files_under_it(tmp_path, capsys):
    saved = tmp_path / ".benchmarks" / "Linux-CPython-3.11-64bit"
    saved.mkdir(parents=True)
    shutil.copy(DATA / "cpu_cuda.json", saved / "0001_run.json")
    shutil.copy(DATA / "cpu_only.json", saved / "0002_run.json")
    _, out = report(capsys, tmp_path / ".benchmarks")
    assert f"[1] {saved / '0001_run.json'}" in out
    assert f"[2] {saved / '0002_run.json'}" in out


# ----------------------------------------------------------------------------------------------
# Bad input: a clear error naming the file


def test_malformed_file_is_an_error_naming_it(capsys):
    path = DATA / "malformed.json"
    with pytest.raises(ReportError, match=rf"^{re.escape(str(path))}: not JSON"):
        report(capsys, DATA / "cpu_cuda.json", path)


def test_command_line_prints_the_error_naming_the_file_and_exits_2(capsys):
    from blitz.report.__main__ import main

    path = DATA / "malformed.json"
    assert main(["bench", str(path)]) == 2
    assert capsys.readouterr().err.startswith(
        f"python -m blitz.report bench: error: {path}: not JSON"
    )


def test_json_of_another_kind_is_an_error_naming_it(capsys):
    path = DATA / "not_benchmark.json"
    with pytest.raises(ReportError, match=rf"^{re.escape(str(path))}: not a pytest-benchmark file"):
        report(capsys, path)


def test_missing_file_is_an_error_naming_it(tmp_path, capsys):
    path = tmp_path / "absent.json"
    with pytest.raises(ReportError, match=rf"^{re.escape(str(path))}: no such file"):
        report(capsys, path)


def test_result_without_its_configuration_is_an_error_naming_file_and_benchmark(tmp_path, capsys):
    broken = entry("train", "cpu", 4, 6, 0.002)
    del broken["extra_info"]["width"]
    path = write_run(tmp_path / "run.json", broken)
    with pytest.raises(ReportError) as error:
        report(capsys, path)
    assert str(error.value) == (
        f"{path}: bench/test_train.py::test_train[cpu-eager-b4-w6]: extra_info lacks width"
    )


def test_result_whose_width_is_not_an_integer_is_an_error_naming_it(tmp_path, capsys):
    broken = entry("train", "cpu", 4, 6, 0.002)
    broken["extra_info"]["width"] = "6"
    path = write_run(tmp_path / "run.json", broken)
    with pytest.raises(ReportError) as error:
        report(capsys, path)
    assert str(error.value) == (
        f"{path}: bench/test_train.py::test_train[cpu-eager-b4-w6]: "
        "batch_size 4 and width '6': both must be integers"
    )


def test_results_are_keyed_by_their_case():
    run = bench.load_run(DATA / "cpu_cuda.json")
    result = run.results[Case("train", "cuda", "cudagraph", 4, 6)]
    assert result.case.variant == "cudagraph"
    assert result.images_per_s == 20_000
    assert run.get("train", "cudagraph", 4, 6, "cuda") is result


def test_result_without_a_positive_median_is_an_error(tmp_path, capsys):
    path = write_run(tmp_path / "run.json", entry("train", "cpu", 4, 6, median=0.0))
    with pytest.raises(ReportError, match=rf"^{re.escape(str(path))}: .*stats.median is 0.0"):
        report(capsys, path)


def test_file_without_step_or_inference_results_is_an_error(tmp_path, capsys):
    path = write_run(tmp_path / "epoch.json", {"name": "test_epoch", "extra_info": {}})
    with pytest.raises(ReportError, match=rf"^{re.escape(str(path))}: no training-step"):
        report(capsys, path)


# ----------------------------------------------------------------------------------------------
# The plot


def test_plot_is_written_as_png(tmp_path, capsys):
    png = tmp_path / "speedup.png"
    code, out = report(capsys, DATA / "cpu_cuda.json", "--plot", png)
    assert code == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"plot written to {png}" in out


def plotted(*paths: Path):
    """The speedup figure's axes for these files, and its lines by legend label."""
    figure = plot.speedup_figure([bench.load_run(p) for p in paths])
    assert figure is not None
    (axes,) = figure.axes
    return axes, {line.get_label(): line for line in axes.get_lines()}


def points(line) -> list[tuple[float, float | None]]:
    """A line's (width, speedup) data, None where the line has a gap (NaN)."""
    return [
        (float(x), None if math.isnan(y) else round(float(y), 9))
        for x, y in zip(line.get_xdata(), line.get_ydata())
    ]


def test_plot_draws_the_measured_speedups_with_a_gap_at_each_unmeasured_width():
    _, lines = plotted(DATA / "cpu_cuda.json")
    # batch 64 was measured at widths 6 and 1024 only: no segment across 64 and 256
    assert points(lines["batch 64"]) == [(6, 4.0), (64, None), (256, None), (1024, 320.0)]
    # batch 4 at 6, 64 and 1024: 64 and 1024 are not joined across the unmeasured 256
    assert points(lines["batch 4 (the tutorial's)"]) == [
        (6, 2.0), (64, 4.0), (256, None), (1024, 40.0)
    ]  # fmt: skip
    assert lines["batch 64"].get_marker() == lines["batch 4 (the tutorial's)"].get_marker() == "o"


def test_plot_width_with_a_cpu_result_only_is_a_gap(tmp_path):
    run = speedups(tmp_path / "run.json", w6=(0.002, 0.001), w64=(0.01, None), w256=(0.05, 0.002))
    _, lines = plotted(run)
    assert points(lines["batch 4 (the tutorial's)"]) == [
        (6, 2.0), (64, None), (256, 25.0), (1024, None)
    ]  # fmt: skip


def test_plot_axis_says_what_the_ratio_is_and_the_legend_is_in_words():
    axes, lines = plotted(DATA / "cpu_cuda.json")
    assert axes.get_ylabel() == "GPU/CPU speedup (×)"
    assert [t.get_text() for t in axes.get_legend().get_texts()] == [
        "batch 4 (the tutorial's)", "batch 64", "GPU as fast as the CPU (1×)",
    ]  # fmt: skip
    assert [float(t) for t in axes.get_xticks()] == [6, 64, 1024]  # the widths measured


def test_plot_legend_numbers_the_files_as_the_report_does(tmp_path):
    other = speedups(tmp_path / "other.json", w6=(0.002, 0.001), w64=(0.01, 0.002))
    axes, lines = plotted(DATA / "cpu_cuda.json", other)
    assert [t.get_text() for t in axes.get_legend().get_texts()] == [
        "batch 4 (the tutorial's), file [1]", "batch 64, file [1]",
        "batch 4 (the tutorial's), file [2]", "GPU as fast as the CPU (1×)",
    ]  # fmt: skip
    assert points(lines["batch 4 (the tutorial's), file [2]"]) == [
        (6, 2.0), (64, 5.0), (256, None), (1024, None)
    ]  # fmt: skip


def test_plot_without_cuda_results_is_not_written(tmp_path, capsys):
    png = tmp_path / "speedup.png"
    code, out = report(capsys, DATA / "cpu_only.json", "--plot", png)
    assert code == 1
    assert not png.exists()
    assert "no plot written" in out


# ----------------------------------------------------------------------------------------------
# The benchmarks themselves


def test_default_test_paths_leave_the_benchmarks_out(pytestconfig):
    assert pytestconfig.getini("testpaths") == ["tests"]


def fresh_pytest_environment() -> dict[str, str]:
    """This process's environment for a pytest run of its own: without ``$PYTEST_ADDOPTS`` and
    the variables of a pytest-xdist worker (under ``pytest -n N`` pytest-benchmark would take
    the inner run for a worker and disable its benchmarks: nothing timed, no JSON saved)."""
    return {
        name: value
        for name, value in os.environ.items()
        if name != "PYTEST_ADDOPTS" and not name.startswith("PYTEST_XDIST_")
    }


@pytest.mark.slow
def test_benchmark_run_saves_what_the_report_and_pytest_benchmark_compare_read(tmp_path):
    """A tiny ``pytest bench`` run: its JSON carries extra_info and machine info, GC was off and
    warm-up on, the size limit and a missing GPU skip with their reasons, and both
    ``pytest-benchmark compare`` and the report open the file."""
    saved = tmp_path / "run.json"
    selection = [
        f"bench/test_inference.py::test_inference[{case}]"
        for case in ("cpu-eager-b4-w6", "cpu-eager-b512-w1024", "cuda-eager-b4-w6")
    ]
    ran = subprocess.run(
        [sys.executable, "-m", "pytest", *selection, "-rs",
         "-p", "no:cacheprovider", "--benchmark-max-time=0.01", "--benchmark-min-rounds=3",
         f"--benchmark-json={saved}"],
        cwd=ROOT, env=fresh_pytest_environment(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "over the cpu size limit of 2.5 GFLOP per timed call" in ran.stdout
    cuda_reason = devices.unavailable_reason("cuda")
    if cuda_reason is not None:
        assert cuda_reason in ran.stdout

    document = json.loads(saved.read_text())
    machine = document["machine_info"]
    assert machine["torch"] and "cuda" in machine and "gpu" in machine
    assert len(machine["load_average"]) == 3
    (result,) = [b for b in document["benchmarks"] if b["extra_info"]["device"] == "cpu"]
    info = result["extra_info"]
    assert (info["kind"], info["variant"], info["batch_size"], info["width"]) == (
        "inference", "eager", 4, 6,
    )  # fmt: skip
    assert info["images_per_s"] == pytest.approx(4 / result["stats"]["median"])
    assert info["device_name"] and info["torch"]
    assert result["options"]["disable_gc"] is True
    assert result["options"]["warmup"]
    assert (result["options"]["max_time"], result["options"]["min_rounds"]) == (0.01, 3)

    compare = subprocess.run(
        [sys.executable, "-m", "pytest_benchmark", "compare", str(saved)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert compare.returncode == 0, compare.stderr
    assert "test_inference[cpu-eager-b4-w6]" in compare.stdout
    assert bench.load_run(saved).get("inference", "eager", 4, 6, "cpu") is not None


def test_plot_without_matplotlib_says_how_to_install_it(tmp_path, monkeypatch):
    # matplotlib is the plot extra's: the report runs without it, --plot says what to install.
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    monkeypatch.delitem(sys.modules, "blitz.report.plot", raising=False)
    with pytest.raises(
        ReportError, match=r"^--plot needs matplotlib .*: pip install 'blitz\[plot\]'$"
    ):
        report_args = argparse.ArgumentParser()
        bench.add_arguments(report_args)
        parsed = report_args.parse_args(
            [str(DATA / "cpu_cuda.json"), "--plot", str(tmp_path / "x.png")]
        )
        parsed.run(parsed)
    assert not (tmp_path / "x.png").exists()
