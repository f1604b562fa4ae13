"""Parsing what a cell printed (torch-free): the values in its text, as ``Token`` objects.

``tokens(text)`` finds, in order, each value the output shows: a tensor (``tensor(...)``, with
the dtype its text implies and the precision it is printed at), a NumPy array (``[2. 2.]``), a
``torch.Size``, a dtype, a device, a bool, or a grad_fn (``<AddBackward0 object ...>``).
``blitz.tutorial_source.probes.printed_map`` tells which printed expression each one is.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Token:
    """A value as the output shows it: a tensor (``tensor(...)``), a NumPy array (``[2. 2.]``),
    a ``torch.Size``, a dtype, a device, a bool, or a grad_fn (``<AddBackward0 object ...>``)."""

    kind: str
    text: str
    start: int
    values: Any = None  # nested lists of numbers/bools (tensor, array, size)
    dtype: str | None = None  # tensor: the dtype the text shows ("torch.int64")
    decimals: int = 0  # how many digits after the point the numbers show
    scientific: bool = False
    extra: dict[str, str] = field(default_factory=dict)  # tensor: its other keywords

    @property
    def flat(self) -> list[Any]:
        return list(flatten_values(self.values))


def flatten_values(values: Any) -> Iterator[Any]:
    if isinstance(values, (list, tuple)):
        for v in values:
            yield from flatten_values(v)
    else:
        yield values


DTYPE_TEXT = (
    r"torch\.(?:float\d*|bfloat16|half|double|u?int\d*|long|short|bool|complex\d*|cfloat"
    r"|cdouble|float8\w*)\b"
)
TOKENS = re.compile(
    r"(?P<tensor>\btensor\()"
    r"|(?P<size>torch\.Size\(\[[^\]]*\]\))"
    rf"|(?P<dtype>{DTYPE_TEXT})"
    r"|(?P<gradfn><(?P<gname>[A-Za-z_]\w*) object at 0x[0-9a-fA-F]+>)"
    r"|(?P<array>\[)"
    r"|(?P<bool>\b(?:True|False)\b)"
    r"|(?P<device>\b(?:cpu|cuda(?::\d+)?|mps|xpu(?::\d+)?|meta)\b)"
)
NUMBER_TEXT = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|nan|inf|True|False")
DATA_TEXT = re.compile(r"^[\s\[\],0-9.eE+\-]*$|^[\s\[\],TrueFalsnaif0-9.eE+\-]*$")
KEYWORD_TEXT = re.compile(r"(\w+)=('[^']*'|<[^>]*>|\([^)]*\)|[\w.]+)")


def _closing(text: str, start: int, opening: str, closing: str) -> int | None:
    """The index of the bracket that closes the one at ``start``."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == opening:
            depth += 1
        elif text[i] == closing:
            depth -= 1
            if depth == 0:
                return i
    return None


def _literal(data: str) -> Any:
    """Nested lists from printed numbers (``[[1., 0.], [2., 3.]]``, ``5.5``)."""
    if not DATA_TEXT.match(data) or not NUMBER_TEXT.search(data):
        raise ValueError(f"not printed numbers: {data!r}")
    scope = {"nan": math.nan, "inf": math.inf, "True": True, "False": False}
    return eval(data, {"__builtins__": {}}, scope)  # noqa: S307 - checked to be numbers only


def _precision(data: str) -> tuple[int, bool]:
    decimals, scientific = 0, False
    for number in NUMBER_TEXT.findall(data):
        mantissa = re.split(r"[eE]", number)[0]
        if "." in mantissa:
            decimals = max(decimals, len(mantissa.split(".")[1]))
        scientific = scientific or bool(re.search(r"[eE]", number))
    return decimals, scientific


def _tensor_token(text: str, start: int) -> tuple[Token | None, int]:
    opening = start + len("tensor")
    end = _closing(text, opening, "(", ")")
    if end is None:
        return None, opening + 1
    inside = text[opening + 1 : end]
    if inside.startswith("["):
        close = _closing(inside, 0, "[", "]")
        if close is None:
            return None, end + 1
        data, rest = inside[: close + 1], inside[close + 1 :]
    else:
        data, _, rest = inside.partition(",")
        rest = "," + rest if rest else ""
    try:
        values = _literal(data)
    except (ValueError, SyntaxError):
        return None, end + 1
    extra = dict(KEYWORD_TEXT.findall(rest))
    decimals, scientific = _precision(data)
    dtype = extra.pop("dtype", None)
    if dtype is None:
        flat = list(flatten_values(values))
        if flat and all(isinstance(v, bool) for v in flat):
            dtype = "torch.bool"
        elif "." in data or re.search(r"[eE]|nan|inf", data):
            dtype = "default float"
        else:
            dtype = "torch.int64"
    token = Token("tensor", text[start : end + 1], start, values, dtype, decimals, scientific)
    token.extra = extra
    return token, end + 1


def _array_token(text: str, start: int) -> tuple[Token | None, int]:
    end = _closing(text, start, "[", "]")
    if end is None:
        return None, start + 1
    raw = text[start : end + 1]
    data = re.sub(r"\[\s+", "[", raw)
    data = re.sub(r"\s+\]", "]", data)
    data = re.sub(r"(?<=[\w.\]])\s+(?=[-+\w.\[])", ",", data)
    try:
        values = _literal(data)
    except (ValueError, SyntaxError):
        return None, start + 1
    if not isinstance(values, list):
        return None, start + 1
    decimals, scientific = _precision(data)
    return Token("array", raw, start, values, None, decimals, scientific), end + 1


def tokens(text: str) -> list[Token]:
    """The values in printed ``text``, in order."""
    found: list[Token] = []
    position = 0
    while True:
        match = TOKENS.search(text, position)
        if match is None:
            return found
        kind = match.lastgroup if match.lastgroup != "gname" else "gradfn"
        if kind == "tensor":
            token, position = _tensor_token(text, match.start())
        elif kind == "array":
            token, position = _array_token(text, match.start())
        else:
            position = match.end()
            token = Token(kind, match.group(), match.start())
            if kind == "size":
                token.values = _literal(match.group()[len("torch.Size(") : -1])
            elif kind == "bool":
                token.values = match.group() == "True"
            elif kind == "gradfn":
                token.values = match.group("gname")
        if token is not None:
            found.append(token)
