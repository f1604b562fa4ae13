"""A tutorial script split into text blocks and code cells, as sphinx-gallery splits it.

Torch-free. The rules are sphinx-gallery's (``sphinx_gallery.py_source_parser``,
``split_code_and_text_blocks``), which the tutorial's build ran:

- the module docstring is the first text block; the rest of the file starts on the line after
  the one where the docstring's string ends;
- a line of 20 or more ``#`` at the start of a line, or a line starting ``# %%`` (or ``#%%``),
  starts a new text block: the comment lines that follow it (each starting with ``#`` in the
  first column) are its text, with their leading ``#`` removed and dedented; the header line
  itself belongs to no block;
- what lies between two such blocks is a code cell, kept only when it holds something other
  than whitespace; a code cell keeps its leading and trailing blank lines, and ``lineno`` is the
  file's line where its content starts (sphinx-gallery's line number);
- a file whose source does not parse has no text block: its whole content is split from line 1
  (sphinx-gallery shows a placeholder docstring instead), and the cell holding the faulty line
  raises ``SyntaxError`` when it runs, while the others run.

Hidden code runs like any other code but is left off the rendered page. Two markers say so, and
both are kept as code here, their lines marked hidden:

- sphinx-gallery's own ``# sphinx_gallery_start_ignore`` ... ``# sphinx_gallery_end_ignore``
  (the lines between, markers included, are removed from the page);
- pytorch/tutorials' ``# %%%%%%INVISIBLE_CODE_BLOCK%%%%%%`` pairs: its build removes the lines
  between two such markers from the page (``.jenkins/remove_invisible_code_block_*.py``). Since
  sphinx-gallery learned ``# %%`` the marker is also a cell header, so the code between a pair is
  a cell of its own; on sphinx-gallery releases before that it was a comment inside a code block.

In-file settings (``# sphinx_gallery_<name> = <value>``, a Python literal) are read into
``Script.settings`` as sphinx-gallery reads them.
"""

from __future__ import annotations

import ast
import io
import re
import textwrap
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

TEXT: Literal["text"] = "text"
CODE: Literal["code"] = "code"

# A block header: 20 or more '#' from the first column, or a '# %%' / '#%%' line; then one
# whitespace character (the newline) and the comment lines that follow, which are the text.
HEADER = re.compile(r"(?P<header>^#{20,}.*|^# ?%%.*)\s(?P<text>(?:^#.*\s?)*)", re.M)
_COMMENT_MARK = re.compile(r"^#", re.M)

# In-file settings, and sphinx-gallery's ignore markers (a comment line, leading blanks allowed).
_FLAG_START = r"^[ \t]*#\s*"
SETTING = re.compile(_FLAG_START + r"sphinx_gallery_([A-Za-z0-9_]+)(\s*=\s*(.+))?[ \t]*\n?", re.M)
START_IGNORE = re.compile(_FLAG_START + r"sphinx_gallery_start_ignore\b")
END_IGNORE = re.compile(_FLAG_START + r"sphinx_gallery_end_ignore\b")
INVISIBLE_MARKER = "%%%%%%INVISIBLE_CODE_BLOCK%%%%%%"


@dataclass(frozen=True)
class Block:
    """A text block or a code cell of a script.

    ``source`` is the block as sphinx-gallery has it: a code cell verbatim (with its blank
    lines), a text block without its comment marks. ``lineno`` and ``end_lineno`` are the
    file's first and last line of the block (1-based, inclusive). ``hidden_lines`` are the
    ranges (first, last) of the cell's lines that the rendered page leaves out; ``hidden`` says
    the page shows none of the cell's code.
    """

    index: int
    kind: Literal["text", "code"]
    source: str
    lineno: int
    end_lineno: int
    hidden: bool = False
    hidden_lines: tuple[tuple[int, int], ...] = ()

    @property
    def is_code(self) -> bool:
        return self.kind == CODE

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "index": self.index,
            "kind": self.kind,
            "lineno": self.lineno,
            "end_lineno": self.end_lineno,
            "source": self.source,
        }
        if self.kind == CODE:
            data["hidden"] = self.hidden
            data["hidden_lines"] = [list(pair) for pair in self.hidden_lines]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Block:
        return cls(
            index=data["index"],
            kind=data["kind"],
            source=data["source"],
            lineno=data["lineno"],
            end_lineno=data["end_lineno"],
            hidden=data.get("hidden", False),
            hidden_lines=tuple(tuple(pair) for pair in data.get("hidden_lines", ())),
        )


@dataclass(frozen=True)
class Script:
    """A script split into blocks; ``syntax_error`` says why the whole file does not parse."""

    filename: str
    blocks: tuple[Block, ...]
    settings: dict[str, Any] = field(default_factory=dict)
    syntax_error: str | None = None

    @property
    def code_cells(self) -> tuple[Block, ...]:
        return tuple(block for block in self.blocks if block.kind == CODE)

    @property
    def text_blocks(self) -> tuple[Block, ...]:
        return tuple(block for block in self.blocks if block.kind == TEXT)

    def block_at(self, lineno: int) -> Block | None:
        """The block holding the file's line ``lineno``, or None (a header line, a gap)."""
        for block in self.blocks:
            if block.lineno <= lineno <= block.end_lineno:
                return block
        return None


def split_file(path: str | Path) -> Script:
    """``split_source`` of the file at ``path`` (read as UTF-8, line endings made ``\\n``)."""
    text = Path(path).read_text(encoding="utf-8")
    return split_source(text, filename=str(path))


def split_source(text: str, filename: str = "<tutorial>") -> Script:
    """Split a script's source into blocks, by the rules of the module docstring."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    docstring, rest, lineno, syntax_error = _docstring_and_rest(text, filename)
    docstring_end = lineno - 1
    raw: list[tuple[str, str, int]] = []
    if docstring is not None:
        raw.append((TEXT, docstring, 1))

    position = 0
    for match in HEADER.finditer(rest):
        code = rest[position : match.start()]
        if code.strip():
            raw.append((CODE, code, lineno))
        lineno += code.count("\n") + 1  # the code, then the header line
        comment = match.group("text")
        body = textwrap.dedent(_COMMENT_MARK.sub("", comment)).lstrip()
        if body.strip():
            raw.append((TEXT, body, lineno))
        lineno += comment.count("\n")
        position = match.end()
    code = rest[position:]
    if code.strip():
        raw.append((CODE, code, lineno))

    hidden = _hidden_lines(text)
    blocks = []
    for index, (kind, source, first) in enumerate(raw):
        if kind == TEXT and index == 0 and docstring is not None:
            last = docstring_end
        else:
            last = first + source.count("\n") - (1 if source.endswith("\n") else 0)
        if kind == CODE:
            ranges, all_hidden = _hidden_in(source, first, last, hidden)
            blocks.append(Block(index, kind, source, first, last, all_hidden, ranges))
        else:
            blocks.append(Block(index, kind, source, first, last))
    return Script(filename, tuple(blocks), read_settings(rest), syntax_error)


def read_settings(source: str) -> dict[str, Any]:
    """The in-file settings ``# sphinx_gallery_<name> = <literal>`` (invalid values left out)."""
    settings = {}
    for match in SETTING.finditer(source):
        if match.group(3) is None:  # a flag such as sphinx_gallery_start_ignore
            continue
        try:
            settings[match.group(1)] = ast.literal_eval(match.group(3).strip())
        except (SyntaxError, ValueError):
            continue
    return settings


def lineno_after_docstring(text: str) -> int:
    """The line after the one where the module docstring's string token ends (1 without one)."""
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.STRING:
                return token.end[0] + 1
    except (tokenize.TokenError, SyntaxError):
        pass
    return 1


def _docstring_and_rest(text: str, filename: str) -> tuple[str | None, str, int, str | None]:
    """(docstring, the rest of the file, the rest's first line, why the file does not parse).

    sphinx-gallery requires a docstring and refuses a file without one; here such a file is
    all code from line 1.
    """
    try:
        module = ast.parse(text, filename=filename)
    except SyntaxError as error:
        return None, text, 1, f"{error.msg} (line {error.lineno})"
    first = module.body[0] if module.body else None
    if not (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        return None, text, 1, None
    docstring = ast.get_docstring(module) or ""
    if first.value.value[:1] == "\n":  # as sphinx-gallery keeps it
        docstring = "\n" + docstring
    lineno = lineno_after_docstring(text)
    rest = "\n".join(text.split("\n")[lineno - 1 :])
    return docstring, rest, lineno, None


def _hidden_lines(text: str) -> set[int]:
    """The file's lines the rendered page leaves out: both kinds of marker, and between them."""
    hidden: set[int] = set()
    invisible = ignoring = False
    for number, line in enumerate(text.split("\n"), start=1):
        if INVISIBLE_MARKER in line:
            hidden.add(number)
            invisible = not invisible
            continue
        if START_IGNORE.match(line):
            ignoring = True
        if invisible or ignoring:
            hidden.add(number)
        if END_IGNORE.match(line):
            ignoring = False
    return hidden


def _hidden_in(
    source: str, first: int, last: int, hidden: set[int]
) -> tuple[tuple[tuple[int, int], ...], bool]:
    """The hidden ranges of the cell on lines ``first``..``last``, and whether all its code is."""
    ranges: list[list[int]] = []
    shown_code = False
    for number, line in enumerate(source.split("\n"), start=first):
        if number > last:
            break
        if number in hidden:
            if ranges and ranges[-1][1] == number - 1:
                ranges[-1][1] = number
            else:
                ranges.append([number, number])
        elif line.strip():
            shown_code = True
    return tuple((a, b) for a, b in ranges), bool(ranges) and not shown_code
