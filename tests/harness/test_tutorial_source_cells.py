"""Splitting a tutorial script into text blocks and code cells (``blitz.tutorial_source.cells``).

The rules are sphinx-gallery's (``split_code_and_text_blocks``); the scripts are our own, in the
tutorial's format.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from blitz.tutorial_source import cells

DATA = Path(__file__).parent / "data" / "tutorial_source"
FORMAT = DATA / "format_tutorial.py"


@pytest.fixture(scope="module")
def script() -> cells.Script:
    return cells.split_file(FORMAT)


def file_lines(first: int, last: int) -> str:
    return "\n".join(FORMAT.read_text().split("\n")[first - 1 : last])


def test_the_module_docstring_is_the_first_text_block(script):
    first = script.blocks[0]
    assert first.kind == "text" and first.lineno == 1
    assert first.source.startswith("\nA Tutorial in the Gallery's Format\n=====")
    assert first.end_lineno == 7  # the line where the docstring's string ends


def test_blocks_alternate_as_sphinx_gallery_splits_them(script):
    kinds = [(block.kind, block.lineno) for block in script.blocks]
    assert kinds == [
        ("text", 1),
        ("code", 8),   # import math
        ("text", 11),  # after a line of '#'
        ("code", 13),
        ("text", 18),  # after '# %%'
        ("code", 19),
        ("text", 26),
        ("text", 29),  # two text blocks in a row
        ("code", 30),
        ("code", 37),  # between the INVISIBLE_CODE_BLOCK markers
    ]  # fmt: skip
    assert [block.index for block in script.blocks] == list(range(len(script.blocks)))


def test_text_blocks_lose_their_comment_marks(script):
    assert script.blocks[2].source == (
        "A line of twenty or more ``#`` starts a text block; the comment lines\n"
        "that follow it are its text.\n"
    )
    assert script.blocks[4].source == "``# %%`` starts a text block too.\n"


def test_comments_after_code_stay_in_the_code_cell(script):
    cell = script.blocks[5]
    assert "# a comment inside code stays code" in cell.source
    assert "# this comment follows code: it is code too" in cell.source


def test_each_code_cell_is_the_files_lines_from_its_first_line(script):
    for cell in script.code_cells:
        assert cell.source.rstrip("\n") == file_lines(cell.lineno, cell.end_lineno).rstrip("\n")


def test_sphinx_gallerys_ignore_markers_stay_code_marked_hidden(script):
    cell = script.blocks[8]
    assert "hidden_setup = 1" in cell.source and "shown = hidden_setup + 1" in cell.source
    assert cell.hidden_lines == ((31, 33),)  # the markers and the line between
    assert not cell.hidden  # the page still shows 'shown = ...'


def test_code_between_invisible_code_block_markers_is_a_hidden_cell(script):
    cell = script.blocks[9]
    assert cell.source == "del shown\n" and cell.hidden and cell.hidden_lines == ((37, 37),)
    assert not any(block.hidden for block in script.code_cells[:-1])


def test_block_at_finds_the_block_of_a_line(script):
    assert script.block_at(15).lineno == 13
    assert script.block_at(10) is None  # a header line of '#' belongs to no block


def test_a_file_without_a_docstring_is_code_from_line_one():
    script = cells.split_source("x = 1\n# %%\n# text\ny = 2\n")
    assert [(b.kind, b.lineno, b.source) for b in script.blocks] == [
        ("code", 1, "x = 1\n"),
        ("text", 3, "text\n"),
        ("code", 4, "y = 2\n"),
    ]


def test_a_file_that_does_not_parse_is_split_from_line_one():
    script = cells.split_file(DATA / "syntax_tutorial.py")
    assert script.syntax_error and "line 10" in script.syntax_error
    assert [(b.kind, b.lineno) for b in script.blocks] == [
        ("code", 1), ("text", 8), ("code", 9), ("text", 13), ("code", 14),
    ]  # fmt: skip


def test_a_header_needs_twenty_hashes_at_the_start_of_a_line():
    source = '"""Doc"""\nx = 1\n' + "#" * 19 + "\ny = 2\n    " + "#" * 30 + "\nz = 3\n"
    script = cells.split_source(source)
    assert len(script.code_cells) == 1  # 19 '#', and an indented line, are comments in code


def test_windows_line_endings_split_as_unix_ones():
    script = cells.split_source('"""Doc\r\n"""\r\nx = 1\r\n# %%\r\n# text\r\ny = 2\r\n')
    assert [(b.kind, b.lineno) for b in script.blocks] == [
        ("text", 1), ("code", 3), ("text", 5), ("code", 6),
    ]  # fmt: skip


def test_in_file_settings_are_read():
    source = '"""Doc"""\nx = 1\n# sphinx_gallery_thumbnail_number = 2\n# sphinx_gallery_bad = (\n'
    assert cells.split_source(source).settings == {"thumbnail_number": 2}


def test_blocks_round_trip_through_json(script):
    for block in script.blocks:
        assert cells.Block.from_json(block.to_json()) == block
