"""The benchmark grid (``blitz.bench.grid``): its cases and ids, the FLOP model and the size
limit, the ``--bench-max-gflop`` values, the timing settings and the ``extra_info`` schema.

The FLOP model is checked against what ``torch.utils.flop_counter`` counts (torch >= 2.1). Its
first use imports torch._dynamo, seconds; a default run has imported it during collection.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
import torch.nn as nn

from blitz import train
from blitz.bench import grid
from blitz.bench.grid import Case
from blitz.models import Net

# ----------------------------------------------------------------------------------------------
# The grid and its ids


def test_the_grid_runs_the_tutorials_configuration_first():
    cases = grid.grid("train", ["cpu", "cuda"])
    assert [c.id for c in cases[:3]] == ["cpu-eager-b4-w6", "cuda-eager-b4-w6", "cpu-eager-b4-w64"]
    assert cases[0] == Case("train", "cpu", "eager", 4, 6)


def test_the_grid_is_batch_sizes_by_widths_for_every_variant_on_its_devices():
    cases = grid.grid("inference", ["cpu", "cuda"])
    by_variant = {
        name: {(c.device, c.batch_size, c.width) for c in cases if c.variant == name}
        for name in grid.VARIANTS
    }
    every = {(b, w) for b in (4, 64, 512) for w in (6, 64, 256, 1024)}
    for name in ("eager", "channels_last"):
        assert by_variant[name] == {(d, b, w) for d in ("cpu", "cuda") for b, w in every}
    for name in ("cudagraph", "bf16"):  # cuda only
        assert by_variant[name] == {("cuda", b, w) for b, w in every}
    # compiled: the tutorial's configuration and the largest only
    compiled = {(4, 6), (512, 1024)}
    assert by_variant["compile"] == {(d, b, w) for d in ("cpu", "cuda") for b, w in compiled}
    assert len(cases) == 2 * 12 * 2 + 2 * 12 + 2 * 2


def test_a_cpu_only_run_has_no_cuda_variants():
    variants = {c.variant for c in grid.grid("train", ["cpu"])}
    assert variants == {"eager", "channels_last", "compile"}


def test_ids_are_unique_and_name_device_variant_batch_and_width():
    cases = grid.grid("train", ["cpu", "cuda"])
    assert len({c.id for c in cases}) == len(cases)
    assert Case("inference", "cuda", "bf16", 512, 1024).id == "cuda-bf16-b512-w1024"


def test_a_group_is_one_configuration_across_devices_and_variants():
    assert Case("train", "cuda", "bf16", 64, 256).group == "train b64 w256"
    assert Case("train", "cpu", "eager", 64, 256).group == "train b64 w256"


def test_an_unknown_kind_is_an_error():
    with pytest.raises(ValueError, match="unknown kind 'training': choose from train, inference"):
        grid.grid("training", ["cpu"])


def test_the_tutorials_configuration_is_its_protocols_batch_and_its_nets_width():
    assert grid.TUTORIAL_BATCH_SIZE == train.PROTOCOL.batch_size == 4
    assert grid.TUTORIAL_WIDTH == Net().width == Net().conv1.out_channels == 6


# ----------------------------------------------------------------------------------------------
# The FLOP model, against torch's own count


@pytest.fixture(scope="module")
def flop_counter():
    module = pytest.importorskip(
        "torch.utils.flop_counter", reason="torch.utils.flop_counter is in torch >= 2.1"
    )
    return module.FlopCounterMode


@pytest.mark.parametrize("width", grid.WIDTHS)
def test_forward_flops_are_what_torch_counts(flop_counter, width):
    net = Net(width)
    images = torch.randn(3, 3, 32, 32)
    with flop_counter(display=False) as counter, torch.no_grad():
        net(images)
    assert counter.get_total_flops() == grid.forward_flops(3, width)
    assert grid.call_flops("inference", 3, width) == grid.forward_flops(3, width)


@pytest.mark.parametrize("width", grid.WIDTHS)
def test_training_step_flops_are_what_torch_counts(flop_counter, width):
    torch.manual_seed(0)
    net = Net(width)
    optimizer = train.make_optimizer(net)
    images, labels = torch.randn(3, 3, 32, 32), torch.tensor([0, 5, 9])
    with flop_counter(display=False) as counter:
        train.train_step(net, optimizer, nn.CrossEntropyLoss(), images, labels)
    assert counter.get_total_flops() == grid.call_flops("train", 3, width)


def test_a_case_knows_its_gflop_per_call():
    assert Case("train", "cpu", "eager", 512, 1024).gflop == pytest.approx(249.32, abs=0.01)
    assert Case("inference", "cpu", "eager", 4, 6).gflop == pytest.approx(0.0052, abs=1e-4)


# ----------------------------------------------------------------------------------------------
# The size limit


def fits(kind: str, limits: dict) -> set[tuple[int, int]]:
    cases = [c for c in grid.grid(kind, ["cpu"]) if c.variant == "eager"]
    return {(c.batch_size, c.width) for c in cases if grid.over_limit(c, limits) is None}


def test_the_default_cpu_limit_keeps_batch_4_at_every_width():
    assert fits("train", grid.DEFAULT_MAX_GFLOP) == {
        (4, 6), (4, 64), (4, 256), (4, 1024), (64, 6), (64, 64), (512, 6),
    }  # fmt: skip
    assert fits("inference", grid.DEFAULT_MAX_GFLOP) == {
        (4, 6), (4, 64), (4, 256), (4, 1024), (64, 6), (64, 64), (512, 6),
    }  # fmt: skip


def test_a_case_over_the_limit_says_which_limit_and_how_to_change_it():
    case = Case("inference", "cpu", "eager", 64, 256)  # 3.2 GFLOP
    assert grid.over_limit(case, {"cpu": 2.5}) == (
        "over the cpu size limit of 2.5 GFLOP per timed call "
        "(--bench-max-gflop cpu=N raises it, 0 removes it)"
    )
    assert grid.over_limit(case, {"cpu": 3.3}) is None


def test_a_limit_of_0_or_none_for_the_device_is_no_limit():
    case = Case("train", "cuda", "eager", 512, 1024)  # 249 GFLOP
    assert grid.over_limit(case, {"cuda": 0.0}) is None
    assert grid.over_limit(case, {"cpu": 2.5}) is None


# ----------------------------------------------------------------------------------------------
# --bench-max-gflop

KNOWN = ("cpu", "cuda")


def test_max_gflop_defaults_to_the_cpu_limit():
    assert grid.parse_max_gflop("", KNOWN) == {"cpu": 2.5}


def test_max_gflop_sets_limits_per_device_over_the_defaults():
    assert grid.parse_max_gflop("cuda=100", KNOWN) == {"cpu": 2.5, "cuda": 100.0}
    assert grid.parse_max_gflop(" cpu = 0 , cuda=1.5,", KNOWN) == {"cpu": 0.0, "cuda": 1.5}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cpu", "expected DEVICE=GFLOP, got 'cpu'"),
        ("cpu=", "expected DEVICE=GFLOP, got 'cpu='"),
        ("=2", "expected DEVICE=GFLOP, got '=2'"),
        ("cpu=2.5,cuda=lots", "expected DEVICE=GFLOP, got 'cuda=lots'"),
        ("cpu=-1", "'cpu=-1': the limit is a number of GFLOP, 0 or more (0: no limit)"),
        ("cpu=nan", "'cpu=nan': the limit is a number of GFLOP, 0 or more (0: no limit)"),
        ("cpu=inf", "'cpu=inf': the limit is a number of GFLOP, 0 or more (0: no limit)"),
        ("gpu=2", "'gpu=2': unknown device 'gpu' (choose from cpu, cuda)"),
    ],
)
def test_max_gflop_rejects_a_bad_value_naming_it(text, message):
    with pytest.raises(ValueError) as error:
        grid.parse_max_gflop(text, KNOWN)
    assert str(error.value) == message


# ----------------------------------------------------------------------------------------------
# Timing settings


def test_timing_is_blitzs_where_the_command_line_gives_none():
    assert grid.timing_settings({}) == {
        "max_time": 0.5,
        "min_rounds": 10,
        "disable_gc": True,
        "warmup": True,
        "warmup_iterations": 5,
    }


def test_timing_given_on_the_command_line_wins():
    settings = grid.timing_settings({"max_time": "1.0", "min_rounds": 5})
    assert (settings["max_time"], settings["min_rounds"]) == ("1.0", 5)


def test_gc_off_and_warm_up_on_whatever_is_given():
    settings = grid.timing_settings({"disable_gc": False, "warmup": False})
    assert (settings["disable_gc"], settings["warmup"]) == (True, True)


def test_timing_options_are_pytest_benchmarks():
    assert grid.timing_option("max_time") == "--benchmark-max-time"
    assert grid.timing_option("min_rounds") == "--benchmark-min-rounds"


@pytest.mark.parametrize(
    ("args", "given"),
    [
        ([], False),
        (["bench", "-k", "b4"], False),
        (["--benchmark-max-time", "1.0"], True),
        (["--benchmark-max-time=1.0"], True),
        (["-q", "--benchmark-max-time=0.5", "bench"], True),
        (["--benchmark-max-time-x=1"], False),
        (["--benchmark-min-time", "1.0"], False),
        (["--", "--benchmark-max-time=1.0"], False),
    ],
)
def test_an_option_is_given_when_the_command_line_names_it(args, given):
    assert grid.given_on_command_line("--benchmark-max-time", args) is given


# ----------------------------------------------------------------------------------------------
# extra_info: written by the harness, read by the report


def test_extra_info_carries_the_case_and_images_per_second():
    case = Case("train", "cuda", "eager", 64, 6)
    info = grid.extra_info(case, 0.016, {"torch": "2.14.1"})
    assert info == {
        "claim": "C11",
        "kind": "train",
        "device": "cuda",
        "variant": "eager",
        "batch_size": 64,
        "width": 6,
        "images_per_s": 4000.0,
        "gflop_per_call": round(case.gflop, 4),
        "torch": "2.14.1",
    }
    assert grid.is_case_info(info)
    assert Case.from_info(info) == case


def test_extra_info_without_a_median_has_no_rate():
    assert grid.extra_info(Case("train", "cpu", "eager", 4, 6), None, {})["images_per_s"] is None


def test_other_benchmarks_extra_info_is_not_a_case():
    assert not grid.is_case_info({"claim": "C06", "path": "fast", "part": "train"})
    assert not grid.is_case_info(None)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"width": None}, "extra_info lacks width"),
        ({"kind": None, "device": None}, "extra_info lacks kind, device"),
        ({"width": "6"}, "batch_size 4 and width '6': both must be integers"),
        ({"batch_size": True}, "batch_size True and width 6: both must be integers"),
        ({"batch_size": 0}, "batch_size 0 and width 6: both must be positive"),
    ],
)
def test_a_case_from_bad_extra_info_says_what_is_wrong(change, message):
    info = Case("train", "cpu", "eager", 4, 6).info()
    info.update(change)
    info = {key: value for key, value in info.items() if value is not None}
    with pytest.raises(ValueError) as error:
        Case.from_info(info)
    assert str(error.value) == message


def test_what_the_report_reads_imports_no_torch():
    code = "import sys, blitz.bench.grid, blitz.report.bench; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
