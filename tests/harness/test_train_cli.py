"""``python -m blitz.train`` checks its input: one line and exit status 2, never a traceback.

Arguments are checked before any data is looked for (``find_cifar10`` is replaced by a failure
where a test expects it not to be reached); a missing or damaged copy of CIFAR-10 is one line
naming the file. Nothing here trains or downloads.
"""

import errno
import json
import runpy
import sys

import pytest
import torch
import torchvision
from support import SMALL, write_copy

from blitz import data, devices, train, train_cli


def run(argv, capsys):
    """``main(argv)``: (exit status, stdout, stderr)."""
    try:
        status = train_cli.main(argv)
    except SystemExit as exc:
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


def one_line(text: str) -> str:
    lines = text.splitlines()
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


@pytest.fixture
def no_data(monkeypatch):
    """Fail the test if the CLI goes looking for data."""

    def find_cifar10(*args, **kwargs):
        raise AssertionError("the data was looked for before the arguments were checked")

    monkeypatch.setattr(data, "find_cifar10", find_cifar10)


# ----------------------------------------------------------------------------------------------
# Arguments


@pytest.mark.parametrize(
    "argv, says",
    [
        (["--epochs", "0"], "argument --epochs: must be at least 1, got 0"),
        (["--epochs", "-2"], "argument --epochs: must be at least 1, got -2"),
        (["--epochs", "two"], "argument --epochs: not an integer: 'two'"),
        (["--width", "0"], "argument --width: must be at least 1, got 0"),
        (["--threads", "0"], "argument --threads: must be at least 1, got 0"),
        (["--seeds", "42", "-1"], "argument --seeds: a seed is an integer from 0 to 2**64 - 1"),
        (["--seeds", str(2**64)], "argument --seeds: a seed is an integer from 0 to 2**64 - 1"),
        (["--device", "bogus"], "argument --device: unknown device 'bogus' (choose from cpu, cuda"),
        (["--device", "meta"], "argument --device: unknown device 'meta'"),
        (["--frobnicate"], "unrecognized arguments: --frobnicate"),
    ],
    ids=[
        "epochs-0", "epochs-negative", "epochs-word", "width-0", "threads-0", "seed-negative",
        "seed-too-big", "device-bogus", "device-meta", "unknown-option",
    ],
)  # fmt: skip
def test_a_bad_argument_is_one_line_and_status_2(capsys, no_data, argv, says):
    status, out, err = run(argv, capsys)
    assert status == 2 and out == ""
    line = one_line(err)
    assert line.startswith("python -m blitz.train: error: ") and says in line


def test_cuda_without_a_gpu_says_why(capsys, no_data, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    reason = devices.unavailable_reason("cuda")
    for device in ("cuda", "cuda:0"):
        status, out, err = run(["--device", device], capsys)
        assert status == 2 and out == ""
        assert one_line(err).endswith(f"argument --device: {reason} (see --help)")


def test_a_gpu_index_beyond_those_present_is_refused(capsys, no_data, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    status, _, err = run(["--device", "cuda:1"], capsys)
    assert status == 2
    assert "argument --device: cuda:1 unavailable: torch sees 1 CUDA device(s)" in one_line(err)


def test_a_root_that_does_not_exist_is_refused_without_a_download(capsys, no_data, tmp_path):
    missing = tmp_path / "nowhere"
    status, _, err = run(["--root", str(missing)], capsys)
    assert status == 2 and f"argument --root: no such directory: {missing}" in one_line(err)
    assert not missing.exists()


def test_a_root_from_the_environment_that_does_not_exist_is_refused(
    capsys, no_data, tmp_path, monkeypatch
):
    missing = tmp_path / "nowhere"
    monkeypatch.setenv(data.ROOT_ENV, str(missing))
    status, _, err = run([], capsys)
    assert status == 2 and f"${data.ROOT_ENV}: no such directory: {missing}" in one_line(err)
    assert not missing.exists()


@pytest.mark.filterwarnings("ignore:'blitz.train' found in sys.modules:RuntimeWarning")
def test_the_module_run_as_a_program_checks_before_loading_anything(
    capsys, no_data, tmp_path, monkeypatch
):
    """``python -m blitz.train ...`` (run in this process: a new one takes seconds to start).

    The module's file is run as ``__main__`` (run_path: pytest 8's import hook, which serves
    the plugin's package, has no ``get_code`` for run_module on Python 3.9)."""
    monkeypatch.setattr(sys, "argv", ["blitz.train", "--epochs", "0", "--root", str(tmp_path)])
    with pytest.raises(SystemExit) as info:
        runpy.run_path(train.__file__, run_name="__main__")
    out, err = capsys.readouterr()
    assert info.value.code == 2 and out == ""
    assert "argument --epochs: must be at least 1, got 0" in one_line(err)


# ----------------------------------------------------------------------------------------------
# The data


def data_error(argv, capsys) -> str:
    status, _, err = run([*argv, "--no-download", "--no-progress"], capsys)
    assert status == 2
    return one_line(err)


def test_no_data_is_one_line_naming_the_clis_own_option(capsys, tmp_path):
    line = data_error(["--root", str(tmp_path)], capsys)
    assert f"CIFAR-10 not found: looked in {tmp_path} (explicit root)" in line
    assert "get it with --root DIR or $BLITZ_DATA_ROOT=DIR" in line
    assert "--cifar10-root" not in line


def test_a_truncated_file_is_one_line_naming_it(capsys, tmp_path, small_sizes):
    _, test_path = write_copy(tmp_path)
    test_path.write_bytes(test_path.read_bytes()[:100])
    line = data_error(["--root", str(tmp_path)], capsys)
    assert f"error: {test_path}: not a readable .npz" in line


@pytest.mark.parametrize("literal", [False, True], ids=["fast", "literal"])
def test_damaged_images_are_one_line_naming_the_file_before_training(
    capsys, tmp_path, small_sizes, literal
):
    train_path, _ = write_copy(tmp_path)
    raw = bytearray(train_path.read_bytes())
    middle = len(raw) // 3  # inside the compressed images: found when they are read
    raw[middle : middle + 64] = bytes(64)
    train_path.write_bytes(bytes(raw))
    line = data_error(["--root", str(tmp_path), *(["--literal"] if literal else [])], capsys)
    assert f"error: {train_path}: array 'data' is corrupt" in line


def test_damaged_official_files_are_one_line_naming_the_file(capsys, tmp_path):
    folder = tmp_path / data.OFFICIAL_FOLDER
    folder.mkdir()
    cls = torchvision.datasets.CIFAR10
    for name, _ in [*cls.train_list, *cls.test_list, [cls.meta["filename"], None]]:
        (folder / name).write_bytes(b"not CIFAR-10")
    line = data_error(["--root", str(tmp_path)], capsys)
    assert f"error: {folder / 'data_batch_1'}: torchvision's CIFAR-10 file" in line


def test_a_read_error_is_one_line_naming_the_file(capsys, tmp_path, small_sizes, monkeypatch):
    train_path, _ = write_copy(tmp_path)

    def read_fails(path, size):
        raise OSError(errno.EIO, "Input/output error", str(path))

    monkeypatch.setattr(data.offline, "read_offline_images", read_fails)
    line = data_error(["--root", str(tmp_path)], capsys)
    assert f"OSError: [Errno 5] Input/output error: '{train_path}'" in line


def test_json_records_each_seeds_steps_time_and_accuracy(capsys, tmp_path, small_sizes):
    write_copy(tmp_path)
    out = tmp_path / "results" / "protocol.json"
    argv = ["--root", str(tmp_path), "--no-download", "--no-progress", "--train-split", "test",
            "--seeds", "1", "2", "--max-steps", "2", "--json", str(out)]  # fmt: skip
    status, printed, _ = run(argv, capsys)
    assert status == 0
    document = json.loads(out.read_text())
    assert document["argv"] == argv and document["path"] == "fast"
    assert [r["seed"] for r in document["runs"]] == [1, 2]
    for result in document["runs"]:
        assert result["steps"] == 2 and result["images"] == SMALL["test"]
        assert f"{result['accuracy']:7.2f}%" in printed  # the table's figure, the same run
        assert len(result["per_class"]) == 10  # the tutorial's classes (plane, car, ...)
