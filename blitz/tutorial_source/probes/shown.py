"""Code the text shows but the build never runs (torch-free): the literal blocks of a script's
text, with their file lines.

The tutorial's text (the comment lines of sphinx-gallery's text blocks, reStructuredText) shows
code in two forms, which the rendered page sets as code and the build does not run:

- a directive ``.. code:: python`` (or ``code-block``, ``sourcecode``; a Python language or
  none), its options, a blank line, then its lines, indented under it;
- a paragraph ending ``::`` (an ``.. xxx::`` directive is not one), a blank line, then the
  literal block indented under it.

``shown_after(script_text, lineno)`` gives those of the text between the code cell at file line
``lineno`` and the next code cell (or the file's end): ``(line, code)``, the file's line of the
block's first line and its code dedented. Whether a block is Python, and which code it holds, is
the probes' to tell (``Seen.snippets`` keeps the blocks that parse).
"""

from __future__ import annotations

import functools
import re
import textwrap

from blitz.tutorial_source import cells

CODE_DIRECTIVE = re.compile(
    r"^(?P<indent>\s*)\.\.\s+(?:code|code-block|sourcecode)::\s*(?P<language>\S*)\s*$"
)
PYTHON = ("", "python", "python3", "py", "pycon", "ipython")
DIRECTIVE = re.compile(r"^\s*\.\.\s+\S+::")
OPTION = re.compile(r"^\s*:[\w-]+:")


def indent(line: str) -> int:
    return len(line) - len(line.lstrip())


@functools.lru_cache(maxsize=64)
def shown_after(script_text: str, lineno: int) -> tuple[tuple[int, str], ...]:
    """The literal blocks of the text between the code cell that starts at file line
    ``lineno`` and the next code cell (or the end of the file): ``(line, code)`` each."""
    script = cells.split_source(script_text)
    code = script.code_cells
    starts = [i for i, cell in enumerate(code) if cell.lineno == lineno]
    if not starts:
        return ()
    first = code[starts[0]].end_lineno + 1
    last = code[starts[0] + 1].lineno - 1 if starts[0] + 1 < len(code) else None
    lines = script_text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    # the text's lines, each on its file line: a comment line without its mark; any other line
    # between two cells is blank or a block header
    text = [
        (number, line[1:] if line.startswith("#") else "")
        for number, line in enumerate(lines[first - 1 : last], start=first)
    ]
    return tuple(literal_blocks(text))


def literal_blocks(text: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """The literal blocks of reStructuredText ``text`` (its lines with their numbers)."""
    found = []
    i = 0
    while i < len(text):
        line = text[i][1]
        directive = CODE_DIRECTIVE.match(line)
        if directive and directive.group("language").lower() not in PYTHON:
            directive = None
        paragraph = not directive and line.rstrip().endswith("::") and not DIRECTIVE.match(line)
        if not (directive or paragraph):
            i += 1
            continue
        i += 1
        while directive and i < len(text) and OPTION.match(text[i][1]):
            i += 1
        block, i = _indented(text, i, indent(line))
        if block:
            found.append((block[0][0], textwrap.dedent("\n".join(b for _, b in block)) + "\n"))
    return found


def _indented(text: list[tuple[int, str]], i: int, level: int) -> tuple[list, int]:
    """The lines from ``i`` on indented deeper than ``level`` (blank lines inside kept, blank
    lines around left out), and where they end."""
    block: list[tuple[int, str]] = []
    while i < len(text):
        number, line = text[i]
        if line.strip() and indent(line) <= level:
            break
        if line.strip() or block:
            block.append((number, line))
        i += 1
    while block and not block[-1][1].strip():
        block.pop()
    return block, i
