"""Finding a tutorial source's scripts and naming it (``blitz.tutorial_source.checkout``)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from blitz.tutorial_source import checkout
from blitz.tutorial_source.checkout import SCRIPTS, TutorialSourceError, locate, parse_spec

DATA = Path(__file__).parent / "data" / "tutorial_source"


def make_checkout(root: Path, names=tuple(SCRIPTS)) -> Path:
    """A checkout's layout holding our own small scripts under the tutorial's file names."""
    folder = root / "beginner_source" / "blitz"
    folder.mkdir(parents=True)
    for name in names:
        shutil.copy(DATA / "plain_tutorial.py", folder / SCRIPTS[name])
    return folder


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=blitz", "-c", "user.email=blitz@example.org",
         *args],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip()


needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def test_the_five_scripts_in_the_tutorials_order():
    assert list(SCRIPTS) == ["tensor", "autograd", "neural_networks", "cifar10", "data_parallel"]
    assert SCRIPTS["cifar10"] == "cifar10_tutorial.py"


def test_a_checkout_is_read_from_its_blitz_folder(tmp_path):
    folder = make_checkout(tmp_path / "tutorials")
    source = locate(str(tmp_path / "tutorials"))
    assert source.folder == folder.resolve()
    assert list(source.scripts) == list(SCRIPTS) and source.missing == []
    assert source.label == "tutorials"  # not a git checkout: the folder's name


def test_the_blitz_folder_itself_is_a_source_named_after_its_checkout(tmp_path):
    folder = make_checkout(tmp_path / "tutorials-2018")
    assert locate(str(folder)).label == "tutorials-2018"


def test_any_folder_holding_the_scripts_is_named_after_itself(tmp_path):
    folder = tmp_path / "my-copy"
    folder.mkdir()
    shutil.copy(DATA / "plain_tutorial.py", folder / "tensor_tutorial.py")
    source = locate(str(folder))
    assert source.label == "my-copy" and source.missing == [
        "autograd", "neural_networks", "cifar10", "data_parallel",
    ]  # fmt: skip


def test_a_label_names_the_source(tmp_path):
    make_checkout(tmp_path / "tutorials")
    assert locate(f"old={tmp_path / 'tutorials'}").label == "old"


def test_label_and_path_are_parsed(tmp_path):
    assert parse_spec("v2.1=/a/b") == ("v2.1", Path("/a/b"))
    assert parse_spec("/a/b") == (None, Path("/a/b"))
    assert parse_spec("/a/x=y") == (None, Path("/a/x=y"))  # '=' inside a path
    odd = tmp_path / "x=y"
    odd.mkdir()
    assert parse_spec(str(odd)) == (None, odd)
    with pytest.raises(TutorialSourceError, match="no PATH after old="):
        parse_spec("old=")


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p / "nowhere", "no such folder"),
        (lambda p: (p / "file.txt").write_text("x") and p / "file.txt", "not a folder"),
        (lambda p: p, "neither a pytorch/tutorials checkout"),
    ],
)
def test_a_path_that_is_no_source_is_an_error_naming_it(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(TutorialSourceError, match=message) as info:
        locate(str(path))
    assert str(path) in str(info.value)


@needs_git
def test_a_git_checkout_is_labelled_with_its_short_commit(tmp_path):
    root = tmp_path / "tutorials"
    folder = make_checkout(root)
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "scripts")
    short, full = git(root, "rev-parse", "--short", "HEAD"), git(root, "rev-parse", "HEAD")
    for path in (root, folder):
        source = locate(str(path))
        assert (source.label, source.commit, source.dirty) == (short, full, False)
    (folder / "tensor_tutorial.py").write_text('"""Changed."""\n')
    assert locate(str(root)).label == f"{short}-dirty"


@needs_git
def test_a_folder_inside_some_other_repository_takes_its_own_name(tmp_path):
    git(tmp_path, "init", "-q")
    folder = tmp_path / "notes" / "copied"
    folder.mkdir(parents=True)
    shutil.copy(DATA / "plain_tutorial.py", folder / "tensor_tutorial.py")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "notes")
    source = locate(str(folder))
    assert (source.label, source.commit) == ("copied", None)


def test_without_git_the_label_is_the_folders_name(tmp_path, monkeypatch):
    make_checkout(tmp_path / "tutorials")

    def no_git(*args, **kwargs):
        raise FileNotFoundError("git")

    monkeypatch.setattr(checkout.subprocess, "run", no_git)
    assert locate(str(tmp_path / "tutorials")).label == "tutorials"
