"""The claims that tensor_tutorial.py states, and their checks (see ``probes.base``).

Each probe finds the claim's statement by the call that makes it (``torch.ones_like``,
``torch.cat``, ``.numpy()``, ...), reads the names the cell binds from its code (the target of
the assignment whose value is that call), and checks the claim against the namespace and what
the cell printed. Printed values are parsed from the text (``Printed``) and compared with the
namespace's at the printed precision; goldens are compared where the revision's code is the
form the golden was printed from (the same draws from the build's seed before it).

The first part of the module holds what the autograd probes use too (``blitz.tutorial_source.
probes.autograd`` imports it): the parsing of printed output, the map from a cell's prints to
the parts of its output, the check wrapper that leaves the script's random generators, grad mode
and warnings as they were (``claim``; its ``Unchecked`` ends a check as not checked), and small
AST helpers: what ``probes.base`` does not offer, kept here rather than changing it.
"""

from __future__ import annotations

import ast
import functools
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from blitz.tutorial_source.probes.base import (
    Seen,
    Unchecked,
    code_matches,
    dotted,
    probe,
    prose,
)

# torch.manual_seed(42); torch.rand(10): the tutorial's seeded build drew these (CLAIMS.md).
GOLDEN_RAND = (0.8823, 0.9150, 0.3829, 0.9593, 0.3904, 0.6009, 0.2566, 0.7936, 0.9408, 0.1332)

# ----------------------------------------------------------------------------------------------
# Registering a check


def claim(
    claim_id: str, script: str, *, looks_for: str, find: Callable[[Seen], Any], once: bool = True
) -> Callable[[Callable[[Seen, Any], Any]], Callable[[Seen, Any], Any]]:
    """``base.probe``, with ``Unchecked`` recorded as not checked (the runner runs every check
    ``untouched``: ``probes.running``)."""

    def register(check: Callable[[Seen, Any], Any]) -> Callable[[Seen, Any], Any]:
        @functools.wraps(check)
        def guarded(seen: Seen, match: Any) -> Any:
            try:
                return check(seen, match)
            except Unchecked as exc:
                seen.unchecked(str(exc))
                return None

        probe(claim_id, script, looks_for=looks_for, find=find, once=once)(guarded)
        return check

    return register


# ----------------------------------------------------------------------------------------------
# AST helpers


def assign_of(tree: ast.AST | None, value: ast.AST) -> ast.Assign | None:
    """The assignment whose value is ``value`` (the node itself)."""
    if tree is None:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and node.value is value:
            return node
    return None


def target_of(seen: Seen, value: ast.AST) -> str | None:
    """The name that the cell binds to ``value``: ``x_ones`` in ``x_ones = torch.ones_like(x)``."""
    node = assign_of(seen.tree, value)
    if node is None or len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
        return None
    return node.targets[0].id


def bound_by(seen: Seen, value: ast.AST, what: str) -> tuple[str, Any]:
    """The name the cell binds ``value`` to, and its value; ``Unchecked`` where the cell binds
    it to no name (``print(torch.ones_like(x))``): blitz will not compute it again."""
    name = target_of(seen, value)
    if name is None:
        raise Unchecked(f"{what} at line {seen.line(value)}: its result is not bound to a name")
    return name, seen.value(name)


def host(tensor) -> Any:
    """A tensor's values as a NumPy array on the host (a copy where it is on a device)."""
    return tensor.detach().cpu().numpy()


def names_in(node: ast.AST) -> list[str]:
    """The names ``node`` reads, in the code's order, each once."""
    found = [n for n in ast.walk(node) if isinstance(n, ast.Name)]
    found.sort(key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0)))
    return list(dict.fromkeys(n.id for n in found))


def keyword(call: ast.Call, name: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    return None


def argument(call: ast.Call, position: int, name: str) -> ast.expr | None:
    """A call's argument given by position or by keyword."""
    if len(call.args) > position and not isinstance(call.args[position], ast.Starred):
        return call.args[position]
    return keyword(call, name)


def last_name(node: ast.AST) -> str:
    return dotted(node).rsplit(".", 1)[-1]


GPU_TEST = re.compile(r"\bis_available\b|\bcuda\b|\bmps\b|\baccelerator\b")


def here(seen: Seen, nodes: list) -> list:
    """``nodes`` less those in a branch that runs only on a GPU machine (``if
    torch.cuda.is_available(): ...``): GPU claims (T07, T08, T17) are no probe's."""
    if seen.tree is None:
        return list(nodes)
    guarded = set()
    for branch in ast.walk(seen.tree):
        if isinstance(branch, ast.If) and GPU_TEST.search(ast.unparse(branch.test)):
            guarded.update(id(n) for stmt in branch.body for n in ast.walk(stmt))
    return [n for n in nodes if id(n) not in guarded]


def calls_here(*names: str) -> Callable[[Seen], ast.Call | None]:
    """``base.calls``, less the calls in a GPU-only branch (``here``)."""

    def find(seen: Seen) -> ast.Call | None:
        found = here(seen, [c for name in names for c in seen.calls(name)])
        return min(found, key=lambda n: (n.lineno, n.col_offset)) if found else None

    return find


@functools.lru_cache(maxsize=16)
def parse_script(text: str) -> ast.Module | None:
    """The whole script's tree (its lines are the file's), or None where it does not parse."""
    try:
        return ast.parse(text)
    except SyntaxError:
        return None


def script_nodes(seen: Seen, kind: type | tuple[type, ...], before: int | None = None) -> list:
    """The whole script's nodes of ``kind`` (lines are the file's), before file line
    ``before`` where given, in the file's order."""
    tree = parse_script(seen.script_text) if seen.script_text else None
    if tree is None:
        return []
    found = [
        n
        for n in ast.walk(tree)
        if isinstance(n, kind) and (before is None or getattr(n, "lineno", 0) < before)
    ]
    return sorted(found, key=lambda n: (n.lineno, n.col_offset))


# Calls that only compute (no file, no RNG, no printing): what a probe may evaluate again.
SAFE_CALLS = frozenset(
    """abs add all any bool clone contiguous cos cpu detach div double dtype eq equal exp flatten
    float int item log long matmul max mean min mm mul ne neg norm numel numpy permute pow
    reshape sin size sqrt squeeze stack sub sum t tanh tolist transpose unsqueeze view cat ones
    zeros full eye arange tensor ones_like zeros_like from_numpy sigmoid relu array asarray
    multiply dot allclose isclose""".split()
)
SAFE_NODES = (
    ast.Expression, ast.Name, ast.Load, ast.Attribute, ast.Constant, ast.BinOp, ast.UnaryOp,
    ast.Compare, ast.Subscript, ast.Slice, ast.Tuple, ast.List, ast.keyword, ast.Call,
    ast.operator, ast.unaryop, ast.cmpop, ast.BoolOp, ast.boolop, ast.Starred,
)  # fmt: skip


def evaluate(seen: Seen, node: ast.expr, names: dict[str, Any] | None = None) -> Any:
    """The value of the cell's expression ``node`` in the script's namespace (``names``
    overriding it), where it only computes: a call of anything else is blitz's error."""
    for part in ast.walk(node):
        if not isinstance(part, SAFE_NODES):
            raise ValueError(f"cannot evaluate {ast.unparse(node)!r}: {type(part).__name__}")
        if isinstance(part, ast.Call) and last_name(part.func) not in SAFE_CALLS:
            raise ValueError(f"will not call {dotted(part.func)!r} again")
    scope = dict(seen.namespace or {})
    scope.update(names or {})
    code = compile(ast.Expression(body=node), "<probe>", "eval")
    return eval(code, {"__builtins__": {"len": len, "range": range}}, scope)


# ----------------------------------------------------------------------------------------------
# Printed output: tokens


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
        return list(_flatten(self.values))


def _flatten(values: Any) -> Iterator[Any]:
    if isinstance(values, (list, tuple)):
        for v in values:
            yield from _flatten(v)
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
        flat = list(_flatten(values))
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


# ----------------------------------------------------------------------------------------------
# Printed output: which part of it each printed expression is


VALUE_ATTRIBUTES = {
    "shape": "size", "dtype": "dtype", "device": "device", "requires_grad": "bool",
    "is_leaf": "bool", "grad_fn": "gradfn", "creator": "gradfn",
}  # fmt: skip
TENSOR_ATTRIBUTES = {"T", "mT", "H", "grad", "data", "real", "imag"}
SCALAR_METHODS = {"item", "tolist", "dim", "numel", "nelement", "element_size", "ndimension"}
DEVICE_NAMES = re.compile(r"^(?:cpu|cuda(?::\d+)?|mps|xpu(?::\d+)?|meta)$")


def kind_of_value(value: Any) -> str:
    import numpy as np
    import torch

    if isinstance(value, torch.Tensor):
        return "tensor"
    if isinstance(value, np.ndarray):
        return "array"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, torch.Size):
        return "size"
    if isinstance(value, torch.dtype):
        return "dtype"
    if isinstance(value, torch.device) or (isinstance(value, str) and DEVICE_NAMES.match(value)):
        return "device"
    return "other"


def kind_of(node: ast.AST, namespace: dict[str, Any]) -> str:
    """What an expression prints as (a ``Token``'s kind), from its code and the namespace."""
    if isinstance(node, ast.Name):
        return kind_of_value(namespace.get(node.id))
    if isinstance(node, ast.Attribute):
        if node.attr in VALUE_ATTRIBUTES:
            return VALUE_ATTRIBUTES[node.attr]
        if node.attr in TENSOR_ATTRIBUTES:
            return kind_of(node.value, namespace)
        return "other"
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Attribute):
            method = node.func.attr
            if method == "size" and not node.args:
                return "size"
            if method in SCALAR_METHODS:
                return "other"
            if method == "numpy":
                return "array"
            receiver = kind_of(node.func.value, namespace)
            if receiver in ("tensor", "array"):
                return receiver
            head = dotted(node.func).split(".", 1)[0]
            if head == "torch" and not method.startswith("is_"):
                return "tensor"
            if head in ("np", "numpy"):
                return "array"
        return "other"
    if isinstance(node, (ast.BinOp, ast.Compare, ast.UnaryOp, ast.Subscript)):
        parts = {
            ast.BinOp: lambda n: [n.left, n.right],
            ast.Compare: lambda n: [n.left, *n.comparators],
            ast.UnaryOp: lambda n: [n.operand],
            ast.Subscript: lambda n: [n.value],
        }[type(node)](node)
        kinds = {kind_of(p, namespace) for p in parts}
        for kind in ("tensor", "array"):
            if kind in kinds:
                return kind
    return "other"


@dataclass
class PrintedItem:
    node: ast.expr  # the expression printed (an argument of print, or a field of an f-string)
    kind: str
    sure: bool  # printed unconditionally (not inside an if, a loop, a try)
    token: Token | None = None


def _print_args(call: ast.Call) -> list[ast.expr]:
    out = []
    for arg in call.args:
        if isinstance(arg, ast.JoinedStr):
            out += [v.value for v in arg.values if isinstance(v, ast.FormattedValue)]
        elif not isinstance(arg, ast.Starred):
            out.append(arg)
    return out


def _printed_exprs(statements: list[ast.stmt], sure: bool) -> Iterator[tuple[ast.expr, bool]]:
    for stmt in statements:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            call = stmt.value
            if dotted(call.func) == "print" and keyword(call, "file") is None:
                for arg in _print_args(call):
                    yield arg, sure
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            yield from _printed_exprs(stmt.body, sure)
        elif isinstance(stmt, (ast.If, ast.For, ast.While, ast.AsyncFor)):
            yield from _printed_exprs(stmt.body + stmt.orelse, False)
        elif isinstance(stmt, ast.Try):
            body = stmt.body + stmt.orelse + stmt.finalbody
            yield from _printed_exprs(body + [s for h in stmt.handlers for s in h.body], False)


class Printed:
    """What a cell printed, matched to the expressions its code prints: the k-th tensor that
    the code prints is the k-th ``tensor(...)`` of the output, and so for each kind. Where the
    counts of a kind disagree (a print inside a loop, say) its expressions have no token."""

    def __init__(self, seen: Seen) -> None:
        self.output = seen.output
        self.tokens = tokens(seen.output)
        namespace = seen.namespace or {}
        body = seen.tree.body if seen.tree is not None else []
        self.items = [
            PrintedItem(node, kind_of(node, namespace), sure)
            for node, sure in _printed_exprs(body, True)
        ]
        # The last bare expression's value, shown after the printed output.
        if body and isinstance(body[-1], ast.Expr) and seen.output != seen.stdout:
            last = body[-1].value
            if not (isinstance(last, ast.Call) and dotted(last.func) == "print"):
                self.items.append(PrintedItem(last, kind_of(last, namespace), True))
        for kind in {item.kind for item in self.items} - {"other"}:
            printed = [t for t in self.tokens if t.kind == kind]
            every = [i for i in self.items if i.kind == kind]
            sure = [i for i in every if i.sure]
            chosen = every if len(printed) == len(every) else sure
            if len(printed) == len(chosen):
                for item, token in zip(chosen, printed):
                    item.token = token

    def of(self, node: ast.AST) -> Token | None:
        """The token that the printed expression ``node`` (the node itself) shows as."""
        for item in self.items:
            if item.node is node:
                return item.token
        return None

    def printing(self, predicate: Callable[[ast.expr], bool]) -> list[PrintedItem]:
        """The printed expressions for which ``predicate`` holds, in order."""
        return [item for item in self.items if predicate(item.node)]


def printed(seen: Seen) -> Printed:
    """The cell's printed output, matched to its code (marks the output read)."""
    seen.read_output()
    cached = seen.memory.get("_printed")
    if cached is not None and cached[0] is seen:
        return cached[1]
    result = Printed(seen)
    seen.memory["_printed"] = (seen, result)
    return result


def reads(name: str) -> Callable[[ast.expr], bool]:
    """A predicate: the expression is the name ``name`` itself."""
    return lambda node: isinstance(node, ast.Name) and node.id == name


def printed_token(
    seen: Seen,
    predicate: Callable[[ast.expr], bool],
    what: str,
    *,
    after: ast.AST | None = None,
    last_before: ast.AST | None = None,
) -> Token | None:
    """The token of the first printed expression for which ``predicate`` holds (the first
    printed after the statement of ``after``; or the last before ``last_before``: a name the
    cell binds again); None (noted as not checked) where the cell prints it but blitz cannot
    tell which part of the output it is; None silently where the cell does not print it."""
    items = printed(seen).printing(predicate)
    if after is not None:
        items = [i for i in items if i.node.lineno > getattr(after, "end_lineno", after.lineno)]
    if last_before is not None:
        items = [i for i in items if i.node.lineno < last_before.lineno][-1:]
    if not items:
        return None
    if items[0].token is None:
        seen.unchecked(
            f"the printed {what} (line {seen.line(items[0].node)}): blitz cannot tell which "
            "part of the cell's output it is"
        )
    return items[0].token


# ----------------------------------------------------------------------------------------------
# Printed output: comparisons


def printed_tensor(token: Token):
    """A tensor of the printed numbers (float64: exact for the printed digits)."""
    import torch

    if token.dtype == "torch.bool":
        return torch.tensor(token.values, dtype=torch.bool)
    return torch.tensor(token.values, dtype=torch.float64)


def tolerance(token: Token) -> tuple[float, float]:
    """(atol, rtol) of numbers printed as ``token`` shows them: rounded to ``decimals``
    digits, a printed number is within half a unit of its last digit of the value (relative to
    it in scientific notation, whose mantissa is at least 1). A hair more for the binary
    representation of the decimal text."""
    half = 0.5 * 10.0 ** (-token.decimals) if token.decimals else 0.0
    if token.scientific:
        return 1e-12, half * 1.0001 + 1e-12
    return half * 1.0001 + 1e-12, 0.0


# torch.testing.assert_close's default (rtol, atol) by dtype.
DEFAULT_TOLERANCES = {
    "float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5), "float32": (1.3e-6, 1e-5),
    "float64": (1e-7, 1e-7), "complex64": (1.3e-6, 1e-5), "complex128": (1e-7, 1e-7),
}  # fmt: skip


def assert_close(
    actual, expected, *, atol: float | None = None, rtol: float | None = None, what: str = ""
) -> None:
    """``torch.testing.assert_close``'s test, done here: same shape and dtype, then
    ``|actual - expected| <= atol + rtol * |expected|`` elementwise (NaN equal to NaN), with its
    default tolerances for the dtype where none are given. Not the function itself: its first
    call imports ``torch.distributed.tensor`` (torch 2.14), seconds in every child process."""
    import torch

    assert actual.shape == expected.shape, (
        f"{what}: shape {tuple(actual.shape)}, expected {tuple(expected.shape)}"
    )
    assert actual.dtype == expected.dtype, (
        f"{what}: dtype {actual.dtype}, expected {expected.dtype}"
    )
    default_rtol, default_atol = DEFAULT_TOLERANCES.get(
        str(actual.dtype).removeprefix("torch."), (0.0, 0.0)
    )
    rtol = default_rtol if rtol is None else rtol
    atol = default_atol if atol is None else atol
    if actual.dtype.is_floating_point:
        # torch.isclose's test, in fewer passes over the memory (a resnet's 11.7M parameters)
        bound = expected.abs().mul_(rtol).add_(atol)
        close = (actual - expected).abs_().le(bound)
        close |= actual.isnan() & expected.isnan()
    elif actual.dtype.is_complex:
        close = torch.isclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True)
    else:
        close = actual == expected
    if bool(close.all()):
        return
    bad = int((~close).sum())
    diff = (actual.double() - expected.double()).abs() if not actual.dtype.is_complex else None
    worst = f"; the largest difference is {float(diff.max()):.3g}" if diff is not None else ""
    raise AssertionError(
        f"{what}: {bad} of {actual.numel()} elements differ (atol={atol:g}, rtol={rtol:g}){worst}"
    )


def assert_printed(token: Token, actual, what: str) -> None:
    """The printed tensor/array ``token`` shows ``actual`` (values at the printed precision,
    shape, and the dtype where the text shows one)."""
    import numpy as np
    import torch

    if isinstance(actual, np.ndarray):
        actual = torch.from_numpy(np.array(actual))
    actual = actual.detach().cpu()
    shown = printed_tensor(token)
    assert tuple(shown.shape) == tuple(actual.shape), (
        f"the output shows {what} with shape {tuple(shown.shape)}, but it has shape "
        f"{tuple(actual.shape)}: {token.text!r}"
    )
    if token.kind == "tensor":
        expected = printed_dtype(token)
        assert expected is None or actual.dtype == expected, (
            f"the output shows {what} as {token.dtype}, but its dtype is {actual.dtype}"
        )
    if actual.dtype == torch.bool or shown.dtype == torch.bool:
        assert torch.equal(shown.to(torch.bool), actual.to(torch.bool)), (
            f"the output shows {what} as {token.text!r}, but it is {actual.tolist()}"
        )
        return
    atol, rtol = tolerance(token)
    assert_close(
        shown, actual.to(torch.float64), atol=atol, rtol=rtol,
        what=f"the output shows {what} as {' '.join(token.text.split())!r}, which is not its "
        "value at the printed precision",
    )  # fmt: skip


def printed_dtype(token: Token):
    """The dtype the printed tensor text implies (None where it cannot tell)."""
    import torch

    if token.dtype == "default float":
        return torch.get_default_dtype()
    name = (token.dtype or "").removeprefix("torch.")
    value = getattr(torch, name, None)
    return value if isinstance(value, torch.dtype) else None


def assert_values(token: Token, expected: list, what: str, decimals: int | None = None) -> None:
    """The printed numbers equal ``expected`` (a golden) at the golden's precision."""
    import torch

    shown = printed_tensor(token)
    golden = torch.tensor(expected, dtype=torch.float64)
    assert tuple(shown.shape) == tuple(golden.shape), (
        f"the output shows {what} with shape {tuple(shown.shape)}, the golden has "
        f"{tuple(golden.shape)}"
    )
    # The golden is printed at ``decimals`` digits: a printing with more digits must round to
    # it (within half a unit of the golden's last digit).
    atol = 0.5 * 10.0 ** (-decimals) * 1.0001 if decimals else 0.0
    assert_close(
        shown, golden, atol=atol, rtol=0.0,
        what=f"the output shows {what} as {' '.join(token.text.split())!r}, not the golden "
        f"{expected}",
    )  # fmt: skip


# ----------------------------------------------------------------------------------------------
# The seeded build's draws


DRAWS = frozenset(
    """rand randn randint randperm rand_like randn_like randint_like normal bernoulli multinomial
    poisson uniform_ normal_ random_ exponential_ geometric_ cauchy_ log_normal_ manual_seed seed
    dropout""".split()
)


def uniform_draws_before(seen: Seen, call: ast.Call) -> int | None:
    """How many float32 uniform numbers the script drew from torch's generator before ``call``
    (the golden stream's offset); None where it drew otherwise or blitz cannot count."""
    if not seen.script_text:
        return None
    # the whole file's calls on the lines before the call's own (its cell's earlier lines too)
    earlier = [c for c in script_nodes(seen, ast.Call, seen.line(call)) if _draws(c)]
    count = 0
    for c in earlier:
        numel = _uniform_numel(seen, c)
        if numel is None:
            return None
        count += numel
    return count


def _draws(call: ast.Call) -> bool:
    name = dotted(call.func)
    last = name.rsplit(".", 1)[-1]
    if last in DRAWS:
        return True
    # a layer made by nn draws its initial weights
    return (".nn." in f".{name}" or name.startswith("nn.")) and last[:1].isupper()


def _uniform_numel(seen: Seen, call: ast.Call) -> int | None:
    name = dotted(call.func)
    dtype = keyword(call, "dtype")
    if dtype is not None and ast.unparse(dtype) not in ("torch.float", "torch.float32"):
        return None
    namespace = seen.namespace or {}
    try:
        if name == "torch.rand":
            args = [evaluate(seen, a) for a in call.args]
            shape = args[0] if len(args) == 1 and not isinstance(args[0], int) else args
            return math.prod(int(s) for s in shape)
        if name == "torch.rand_like" and call.args and isinstance(call.args[0], ast.Name):
            value = namespace.get(call.args[0].id)
            return int(value.numel()) if value is not None else None
    except (ValueError, TypeError, NameError, AttributeError):
        return None
    return None


def golden_rand(seen: Seen, call: ast.Call, shape: tuple[int, ...]) -> list | None:
    """The golden of a ``torch.rand``-like draw: the seed-42 numbers it drew in the tutorial's
    build, shaped; None where the revision draws otherwise before it (no golden for this form;
    a note says so)."""
    offset = uniform_draws_before(seen, call)
    numel = math.prod(shape)
    if offset is None or offset + numel > len(GOLDEN_RAND):
        seen.note(
            f"no golden for line {seen.line(call)}: the revision draws other random numbers "
            "before it than the snapshot"
        )
        return None
    flat = list(GOLDEN_RAND[offset : offset + numel])
    return _shaped(flat, shape)


def _shaped(flat: list, shape: tuple[int, ...]) -> list:
    if len(shape) <= 1:
        return flat
    step = len(flat) // shape[0]
    return [_shaped(flat[i * step : (i + 1) * step], shape[1:]) for i in range(shape[0])]


# ----------------------------------------------------------------------------------------------
# T01: torch.tensor(data) infers the dtype


def data_of(seen: Seen, call: ast.Call) -> tuple[Any, ast.expr] | None:
    """The list that ``torch.tensor`` is given: a literal, or a name bound to one."""
    if not call.args:
        return None
    node = call.args[0]
    if isinstance(node, (ast.List, ast.Tuple)):
        return node, node
    if isinstance(node, ast.Name):
        for assign in seen.assigned(node.id):
            if isinstance(assign, ast.Assign) and isinstance(assign.value, (ast.List, ast.Tuple)):
                return assign.value, node
        for assign in script_nodes(seen, ast.Assign, seen.lineno):
            if isinstance(assign.value, (ast.List, ast.Tuple)) and any(
                node.id in {t.id for t in ast.walk(target) if isinstance(t, ast.Name)}
                for target in assign.targets
            ):
                return assign.value, node
    return None


def find_tensor_from_data(seen: Seen) -> ast.Call | None:
    for call in here(seen, seen.calls("torch.tensor")):
        if keyword(call, "dtype") is None and data_of(seen, call) is not None:
            return call
    return None


def inferred_dtype(data: Any):
    import torch

    flat = list(_flatten(data))
    if flat and all(isinstance(v, bool) for v in flat):
        return torch.bool
    if any(isinstance(v, complex) for v in flat):
        return torch.complex64 if torch.get_default_dtype() == torch.float32 else torch.complex128
    if any(isinstance(v, float) for v in flat):
        return torch.get_default_dtype()
    return torch.int64


@claim(
    "T01", "tensor",
    looks_for="torch.tensor(...) of a list literal (or a name bound to one), with no dtype=",
    find=find_tensor_from_data,
)  # fmt: skip
def tensor_infers_dtype(seen: Seen, match: ast.Call) -> None:
    literal, _ = data_of(seen, match)
    data = ast.literal_eval(literal)
    name, made = bound_by(seen, match, "torch.tensor(...)")
    expected = inferred_dtype(data)
    kinds = sorted({type(v).__name__ for v in _flatten(data)})
    assert made.dtype == expected, (
        f"torch.tensor of {'/'.join(kinds)} values {data} gave {name} of dtype {made.dtype}, "
        f"not {expected}"
    )
    assert made.tolist() == (list(data) if isinstance(data, tuple) else data), (
        f"{name} holds {made.tolist()}, not the data {data}"
    )
    token = printed_token(seen, reads(name), name, after=match)
    if token is not None:
        assert_printed(token, made, name)
    seen.note(f"{'/'.join(kinds)} data gives {str(made.dtype).removeprefix('torch.')}")


# ----------------------------------------------------------------------------------------------
# T02: torch.from_numpy makes a tensor of a NumPy array

NUMPY_TO_TORCH = {
    "bool": "bool", "uint8": "uint8", "int8": "int8", "int16": "int16", "int32": "int32",
    "int64": "int64", "float16": "float16", "float32": "float32", "float64": "float64",
    "complex64": "complex64", "complex128": "complex128", "uint16": "uint16",
    "uint32": "uint32", "uint64": "uint64",
}  # fmt: skip


def from_numpy_dtypes() -> list[str]:
    """The NumPy dtypes this torch's ``from_numpy`` takes."""
    import numpy as np
    import torch

    ok = []
    for name in NUMPY_TO_TORCH:
        try:
            torch.from_numpy(np.zeros(1, dtype=name))
        except TypeError:
            continue
        ok.append(name)
    return ok


@claim(
    "T02", "tensor", looks_for="a call of torch.from_numpy assigned to a name",
    find=calls_here("torch.from_numpy"),
)  # fmt: skip
def from_numpy_makes_a_tensor(seen: Seen, match: ast.Call) -> None:
    import numpy as np
    import torch

    name, made = bound_by(seen, match, "torch.from_numpy(...)")
    assert match.args, f"line {seen.line(match)}: torch.from_numpy without an array"
    array = evaluate(seen, match.args[0])
    assert isinstance(array, np.ndarray), f"torch.from_numpy was given a {type(array).__name__}"
    assert isinstance(made, torch.Tensor), f"{name} is a {type(made).__name__}, not a tensor"
    wanted = NUMPY_TO_TORCH.get(array.dtype.name)
    assert made.dtype == getattr(torch, wanted or "", None), (
        f"from_numpy of a NumPy {array.dtype} array gave dtype {made.dtype}"
    )
    assert tuple(made.shape) == array.shape, f"{name} has shape {tuple(made.shape)}"
    assert np.array_equal(host(made), array), f"{name} holds {made.tolist()}, not the array"
    seen.note(
        f"NumPy {array.dtype} gives {made.dtype}; from_numpy takes "
        f"{', '.join(from_numpy_dtypes())} on this torch"
    )
    token = printed_token(seen, reads(name), name, after=match)
    if token is not None:
        assert_printed(token, made, name)


# ----------------------------------------------------------------------------------------------
# T03, T04: ones_like keeps shape and dtype; rand_like(x, dtype=...) overrides the dtype


def find_ones_like(seen: Seen) -> ast.Call | None:
    found = [c for c in here(seen, seen.calls("torch.ones_like")) if keyword(c, "dtype") is None]
    return found[0] if found else None


@claim(
    "T03", "tensor", looks_for="torch.ones_like(x) with no dtype=", find=find_ones_like,
)  # fmt: skip
def ones_like_keeps_shape_and_dtype(seen: Seen, match: ast.Call) -> None:
    import torch

    name, made = bound_by(seen, match, "torch.ones_like(...)")
    assert match.args, f"line {seen.line(match)}: ones_like without its argument"
    like = evaluate(seen, match.args[0])
    what = ast.unparse(match.args[0])
    assert made.shape == like.shape, f"{name} has shape {tuple(made.shape)}, {what} {like.shape}"
    assert made.dtype == like.dtype, f"{name} has dtype {made.dtype}, {what} {like.dtype}"
    assert torch.equal(made, torch.ones(like.shape, dtype=like.dtype)), f"{name} is not all ones"
    token = printed_token(seen, reads(name), name, after=match)
    if token is not None:
        assert_printed(token, made, name)
        # the golden: [[1, 1], [1, 1]], printed as int64 (no decimal point, no dtype)
        assert all(v == 1 for v in token.flat), f"the output shows {token.text!r}, not ones"
        if like.dtype == torch.int64:
            assert "." not in token.text and "dtype" not in token.text, (
                f"an int64 ones tensor printed as {token.text!r}"
            )
    seen.note(f"{name}: {tuple(made.shape)} {str(made.dtype).removeprefix('torch.')}")


class Shown:
    """A tensor as the output showed it (its shape and dtype), standing for one the cell
    bound its name to again."""

    def __init__(self, token: Token) -> None:
        import torch

        self.shape = torch.Size(printed_tensor(token).shape)
        self.dtype = printed_dtype(token)


def as_before(seen: Seen, node: ast.expr, statement: ast.AST) -> Any:
    """The value of ``node`` (an argument of the call at ``statement``) as the call saw it:
    the namespace's, unless the cell binds its name at or after the call (``x =
    torch.randn_like(x, ...)``); then what the cell printed of it before; None (not
    checked) where it printed nothing."""
    rebound = [a for n in names_in(node) for a in seen.assigned(n) if a.lineno >= statement.lineno]
    if not rebound:
        return evaluate(seen, node)
    if not isinstance(node, ast.Name):
        seen.unchecked(f"{ast.unparse(node)} as the call saw it: the cell binds it again")
        return None
    token = printed_token(seen, reads(node.id), node.id, last_before=statement)
    if token is None or token.kind != "tensor":
        seen.unchecked(f"{node.id} as the call saw it: the cell binds it again, printed nothing")
        return None
    return Shown(token)


def find_rand_like(seen: Seen) -> ast.Call | None:
    found = [
        c for name in ("torch.rand_like", "torch.randn_like") for c in here(seen, seen.calls(name))
        if keyword(c, "dtype") is not None
    ]  # fmt: skip
    return min(found, key=lambda c: (c.lineno, c.col_offset)) if found else None


@claim(
    "T04", "tensor", looks_for="torch.rand_like(x, dtype=...) (or randn_like) overriding the dtype",
    find=find_rand_like,
)  # fmt: skip
def rand_like_overrides_dtype(seen: Seen, match: ast.Call) -> None:

    name, made = bound_by(seen, match, f"{dotted(match.func)}(...)")
    assert match.args, f"line {seen.line(match)}: no tensor to be like"
    like = as_before(seen, match.args[0], match)
    if like is None:
        return
    wanted = evaluate(seen, keyword(match, "dtype"))
    assert made.dtype == wanted, f"{name} has dtype {made.dtype}, not the dtype= {wanted}"
    assert made.shape == like.shape, f"{name} has shape {tuple(made.shape)}, not {like.shape}"
    if like.dtype == wanted:
        seen.note(f"the argument is already {wanted}: nothing to override")
    uniform = dotted(match.func) == "torch.rand_like"
    if uniform:
        assert bool(((made >= 0) & (made < 1)).all()), f"{name} has values outside [0, 1)"
    token = printed_token(seen, reads(name), name, after=match)
    if token is not None:
        assert_printed(token, made, name)
    if uniform:
        golden = golden_rand(seen, match, tuple(made.shape))
        if golden is not None and token is None:
            seen.note("the revision does not print it: no golden to compare")
        elif golden is not None and seen.golden():
            assert_values(token, golden, name, decimals=4)
    else:
        seen.note("randn_like: the golden is of rand_like's uniform draw")
    seen.note(f"{like.dtype} -> {made.dtype}")


# ----------------------------------------------------------------------------------------------
# T05: rand/ones/zeros(shape) take a shape tuple

SHAPED = ("torch.rand", "torch.ones", "torch.zeros")


def _tuple_name(seen: Seen, name: str) -> bool:
    for assign in seen.assigned(name):
        if isinstance(assign, ast.Assign) and isinstance(assign.value, ast.Tuple):
            return True
    return any(
        isinstance(a.value, ast.Tuple) and any(name in names_in(t) for t in a.targets)
        for a in script_nodes(seen, ast.Assign, seen.lineno)
    )


def shape_calls(seen: Seen) -> list[ast.Call]:
    """Calls of rand/ones/zeros given one shape tuple (a literal or a name bound to one)."""
    found = []
    for call in here(seen, seen.nodes(ast.Call)):
        if dotted(call.func) not in SHAPED or len(call.args) != 1:
            continue
        arg = call.args[0]
        if isinstance(arg, ast.Tuple) or (isinstance(arg, ast.Name) and _tuple_name(seen, arg.id)):
            found.append(call)
    return found


@claim(
    "T05", "tensor", looks_for="torch.rand/ones/zeros(shape) given a shape tuple",
    find=lambda seen: (shape_calls(seen) or [None])[0],
)  # fmt: skip
def shape_tuple(seen: Seen, match: ast.Call) -> None:
    import torch

    made_by = {}
    for call in shape_calls(seen):
        function = dotted(call.func)
        name, made = bound_by(seen, call, f"{function}(shape)")
        shape = tuple(evaluate(seen, call.args[0]))
        assert tuple(made.shape) == shape, f"{function}({shape}) has shape {tuple(made.shape)}"
        assert made.dtype == torch.get_default_dtype(), f"{name} has dtype {made.dtype}"
        if function == "torch.ones":
            assert bool((made == 1).all()), f"{name} is not all ones"
        elif function == "torch.zeros":
            assert bool((made == 0).all()), f"{name} is not all zeros"
        else:
            assert bool(((made >= 0) & (made < 1)).all()), f"{name} has values outside [0, 1)"
        token = printed_token(seen, reads(name), name, after=call)
        if token is not None:
            assert_printed(token, made, name)
        made_by[function] = (call, name, made, token)
    if "torch.rand" in made_by:
        call, name, made, token = made_by["torch.rand"]
        golden = golden_rand(seen, call, tuple(made.shape))
        if golden is not None and token is not None and seen.golden():
            assert_values(token, golden, name, decimals=4)
    shapes = [f"{f.removeprefix('torch.')}{tuple(v[2].shape)}" for f, v in made_by.items()]
    seen.note(", ".join(shapes))


# ----------------------------------------------------------------------------------------------
# T06: shape, dtype and device attributes


def find_attributes(seen: Seen) -> ast.Name | None:
    """A cell that reads a tensor's ``.dtype`` and ``.device``, and ``.shape`` or
    ``.size()``, of one name: the name."""
    read: dict[str, set[str]] = {}
    for node in seen.nodes(ast.Attribute):
        if isinstance(node.value, ast.Name) and node.attr in ("shape", "dtype", "device", "size"):
            read.setdefault(node.value.id, set()).add("shape" if node.attr == "size" else node.attr)
    for name, attributes in read.items():
        if attributes == {"shape", "dtype", "device"}:
            return next(n for n in seen.nodes(ast.Name) if n.id == name)
    return None


@claim(
    "T06", "tensor", looks_for="the .shape, .dtype and .device of one tensor, read in a cell",
    find=find_attributes,
)  # fmt: skip
def tensor_attributes(seen: Seen, match: ast.Name) -> None:
    import torch

    name = match.id
    made = seen.value(name)
    assert isinstance(made, torch.Tensor), f"{name} is a {type(made).__name__}"
    made_by = [a for a in seen.assigned(name) if isinstance(a, ast.Assign)]
    if made_by and isinstance(made_by[0].value, ast.Call):
        call = made_by[0].value
        if dotted(call.func) in ("torch.rand", "torch.randn", "torch.ones", "torch.zeros"):
            args = [evaluate(seen, a) for a in call.args]
            shape = tuple(args[0]) if len(args) == 1 and not isinstance(args[0], int) else args
            assert tuple(made.shape) == tuple(shape), (
                f"{ast.unparse(call)} has shape {tuple(made.shape)}"
            )
            if keyword(call, "dtype") is None:
                assert made.dtype == torch.get_default_dtype(), f"{name} has dtype {made.dtype}"
            if keyword(call, "device") is None:
                assert made.device.type == "cpu", f"{name} is on {made.device}, not the cpu"
    report = printed(seen)
    shown = {}
    for item in report.items:
        is_name = isinstance(item.node, (ast.Attribute, ast.Call)) and name in names_in(item.node)
        if not is_name or item.kind not in ("size", "dtype", "device"):
            continue
        if item.token is None:
            seen.unchecked(f"the printed {ast.unparse(item.node)}: not told apart in the output")
            continue
        shown[item.kind] = item.token
    if "size" in shown:
        assert tuple(shown["size"].values) == tuple(made.shape), (
            f"the output shows {shown['size'].text}, the shape is {made.shape}"
        )
    if "dtype" in shown:
        assert shown["dtype"].text == str(made.dtype), (
            f"the output shows {shown['dtype'].text}, the dtype is {made.dtype}"
        )
    if "device" in shown:
        assert shown["device"].text == str(made.device), (
            f"the output shows device {shown['device'].text}, the tensor is on {made.device}"
        )
    seen.note(f"{tuple(made.shape)} {made.dtype} {made.device}")


# ----------------------------------------------------------------------------------------------
# T09: NumPy-like indexing and slicing


def _sliced(node: ast.AST) -> bool:
    return isinstance(node, ast.Subscript) and any(
        isinstance(part, ast.Slice) for part in ast.walk(node.slice)
    )


def sliced(seen: Seen, index: ast.expr, array: Any, value: Any = None) -> Any:
    """``array[index]`` (the cell's index, its names read from the namespace), or, given a
    value, the array after ``array[index] = value``."""
    scope = dict(seen.namespace or {})
    scope.update({"__array__": array, "__value__": value})
    subscript = ast.Subscript(ast.Name("__array__", ast.Load()), index, ast.Load())
    if value is None:
        return eval(compile(ast.unparse(subscript), "<probe>", "eval"), {}, scope)
    exec(compile(f"{ast.unparse(subscript)} = __value__", "<probe>", "exec"), {}, scope)
    return array


def find_slicing(seen: Seen) -> ast.AST | None:
    """An assignment to a slice (``t[:, 1] = 0``), or a printed slice (``print(x[:, 1])``)."""
    for node in here(seen, seen.nodes(ast.Assign)):
        if len(node.targets) == 1 and _sliced(node.targets[0]):
            if isinstance(node.targets[0].value, ast.Name):
                return node
    for call in here(seen, seen.calls("print")):
        for arg in _print_args(call):
            if _sliced(arg) and isinstance(arg.value, ast.Name):
                return arg
    return None


DETERMINISTIC = ("torch.ones", "torch.zeros", "torch.full", "torch.eye", "torch.arange",
                 "torch.tensor")  # fmt: skip


@claim(
    "T09", "tensor",
    looks_for="an assignment to a slice of a tensor (t[:, 1] = 0), or a printed slice",
    find=find_slicing,
)  # fmt: skip
def numpy_like_slicing(seen: Seen, match: ast.AST) -> None:
    import numpy as np
    import torch

    if isinstance(match, ast.Assign):
        target = match.targets[0]
        name = target.value.id
        made = seen.value(name)
        assert isinstance(made, torch.Tensor), f"{name} is a {type(made).__name__}"
        index = ast.unparse(target.slice).removeprefix("(").removesuffix(")")
        value = evaluate(seen, match.value)
        # NumPy, given the same start and the same assignment, must hold the same numbers.
        start = [
            a for a in seen.assigned(name)
            if isinstance(a, ast.Assign) and a.lineno < match.lineno
            and isinstance(a.value, ast.Call) and dotted(a.value.func) in DETERMINISTIC
        ]  # fmt: skip
        if start:
            array = host(evaluate(seen, start[-1].value)).copy()
            sliced(seen, target.slice, array, np.asarray(value))
            assert np.array_equal(host(made), array), (
                f"{name}[{index}] = {ast.unparse(match.value)} after "
                f"{ast.unparse(start[-1].value)} gives {made.tolist()}; NumPy gives "
                f"{array.tolist()}"
            )
            seen.note(f"{ast.unparse(start[-1].value)}; {name}[{index}] = "
                      f"{ast.unparse(match.value)} as in NumPy")  # fmt: skip
        else:
            region = sliced(seen, target.slice, host(made))
            assert np.array_equal(region, np.broadcast_to(value, region.shape)), (
                f"{name}[{index}] holds {region.tolist()} after it was set to {value}"
            )
            seen.unchecked(f"the rest of {name}: it was not made in the cell from known values")
        token = printed_token(seen, reads(name), name)
        if token is not None:
            assert_printed(token, made, name)
        return
    # the printed slice of a tensor: the same numbers as NumPy's slice of its array
    name = match.value.id
    made = seen.value(name)
    index = ast.unparse(match.slice).removeprefix("(").removesuffix(")")
    region = sliced(seen, match.slice, host(made))
    token = printed_token(seen, lambda node: node is match, ast.unparse(match))
    if token is None:
        seen.unchecked(f"the printed {ast.unparse(match)}")
        return
    assert_printed(token, torch.from_numpy(np.array(region)), ast.unparse(match))
    seen.note(f"{name}[{index}] as in NumPy")


# ----------------------------------------------------------------------------------------------
# T10: torch.cat joins along a given dimension; torch.stack adds one


@claim(
    "T10", "tensor", looks_for="a call of torch.cat", find=calls_here("torch.cat", "torch.concat")
)
def cat_joins(seen: Seen, match: ast.Call) -> None:
    import numpy as np
    import torch

    name, made = bound_by(seen, match, "torch.cat(...)")
    parts = evaluate(seen, match.args[0])
    dim_node = argument(match, 1, "dim")
    dim = evaluate(seen, dim_node) if dim_node is not None else 0
    expected = np.concatenate([host(p) for p in parts], axis=dim)
    assert tuple(made.shape) == expected.shape, (
        f"cat of {[tuple(p.shape) for p in parts]} on dim={dim} has shape "
        f"{tuple(made.shape)}, not {expected.shape}"
    )
    assert np.array_equal(host(made), expected), f"{name} differs from NumPy's concatenate"
    token = printed_token(seen, reads(name), name, after=match)
    if token is not None:
        assert_printed(token, made, name)
    # "torch.stack ... is subtly different": it adds a dimension where cat joins along one.
    if all(p.shape == parts[0].shape for p in parts):
        stacked = torch.stack(list(parts), dim=dim)
        wanted = list(parts[0].shape)
        wanted.insert(dim if dim >= 0 else len(wanted) + 1 + dim, len(parts))
        assert list(stacked.shape) == wanted, f"stack gives {tuple(stacked.shape)}, not {wanted}"
        seen.note(f"cat on dim={dim}: {tuple(made.shape)}; stack: {tuple(stacked.shape)}")


# ----------------------------------------------------------------------------------------------
# T11, T12: mul and * are the elementwise product; matmul and @ the matrix product


def _binop(op: type) -> Callable[[ast.AST], bool]:
    def test(node: ast.AST) -> bool:
        return (
            isinstance(node, ast.BinOp) and isinstance(node.op, op)
            and not isinstance(node.left, ast.Constant) and not isinstance(node.right, ast.Constant)
        )  # fmt: skip

    return test


def _method(name: str) -> Callable[[ast.AST], bool]:
    """``t.name(...)`` or ``torch.name(...)``."""

    def test(node: ast.AST) -> bool:
        if not isinstance(node, ast.Call):
            return False
        callee = dotted(node.func)
        if callee == f"torch.{name}":
            return True
        return (
            isinstance(node.func, ast.Attribute)
            and node.func.attr == name
            and (callee.split(".", 1)[0] not in ("np", "numpy", "torch"))
        )

    return test


def find_both(method: str, op: type) -> Callable[[Seen], ast.AST | None]:
    """A cell that computes a product both as ``.method(...)`` and with the operator."""

    def find(seen: Seen) -> ast.AST | None:
        called = [n for n in here(seen, seen.nodes(ast.Call)) if _method(method)(n)]
        operated = [n for n in here(seen, seen.nodes(ast.BinOp)) if _binop(op)(n)]
        return called[0] if called and operated else None

    return find


def check_product(seen: Seen, method: str, op: type, numpy_op: Callable, what: str) -> None:
    import numpy as np
    import torch

    found = [
        n for n in here(seen, seen.nodes((ast.Call, ast.BinOp)))
        if _method(method)(n) or _binop(op)(n)
    ]  # fmt: skip
    results = []
    for node in found:
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and dotted(node.func) != f"torch.{method}":
                operands = [node.func.value, node.args[0]]
            else:
                operands = node.args[:2]
        else:
            operands = [node.left, node.right]
        left, right = (evaluate(seen, o) for o in operands)
        value = evaluate(seen, node)
        expected = numpy_op(host(left), host(right))
        text = ast.unparse(node)
        assert isinstance(value, torch.Tensor), f"{text} is a {type(value).__name__}"
        # NumPy's float32 kernels may sum in another order: the defaults, not bit for bit
        assert_close(
            value.detach().cpu(), torch.from_numpy(np.asarray(expected)).to(value.dtype),
            what=f"{text} is not {what} (NumPy's)",
        )  # fmt: skip
        token = printed_token(seen, lambda n, node=node: n is node, text)
        if token is not None:
            assert_printed(token, value, text)
        results.append((text, value))
    first_text, first = results[0]
    for text, value in results[1:]:
        assert torch.equal(value, first), f"{text} differs from {first_text}"
    seen.note(" == ".join(text for text, _ in results))


@claim("T11", "tensor", looks_for="a product both as .mul(...) and with *",
       find=find_both("mul", ast.Mult))  # fmt: skip
def mul_is_elementwise(seen: Seen, match: ast.AST) -> None:
    import numpy as np

    check_product(seen, "mul", ast.Mult, np.multiply, "the elementwise product")


@claim("T12", "tensor", looks_for="a product both as .matmul(...) and with @",
       find=find_both("matmul", ast.MatMult))  # fmt: skip
def matmul_is_matrix_product(seen: Seen, match: ast.AST) -> None:
    import numpy as np

    check_product(seen, "matmul", ast.MatMult, np.matmul, "the matrix product")


# ----------------------------------------------------------------------------------------------
# T13: ops with a _ suffix are in-place


def in_place_calls(seen: Seen) -> list[ast.Call]:
    return [
        call for call in here(seen, seen.nodes(ast.Call))
        if isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name)
        and call.func.attr.endswith("_") and not call.func.attr.startswith("_")
        and call.func.attr != "requires_grad_"
    ]  # fmt: skip


@claim(
    "T13", "tensor", looks_for="a tensor method with a _ suffix (t.add_(5))",
    find=lambda seen: (in_place_calls(seen) or [None])[0],
)  # fmt: skip
def underscore_is_in_place(seen: Seen, match: ast.Call) -> None:
    import torch

    name = match.func.value.id
    method = match.func.attr
    made = seen.value(name)
    assert isinstance(made, torch.Tensor), f"{name} is a {type(made).__name__}"
    args = [evaluate(seen, a) for a in match.args]
    # The tutorial's own op, again, on a copy: it returns the tensor itself, in its storage,
    # holding what the out-of-place op gives.
    copy = made.detach().clone()
    out_of_place = getattr(copy, method[:-1])(*args) if hasattr(copy, method[:-1]) else None
    pointer = copy.data_ptr()
    returned = getattr(copy, method)(*args)
    assert returned is copy, f"{name}.{method}(...) returns a new tensor, not {name} itself"
    assert copy.data_ptr() == pointer, f"{name}.{method}(...) moved {name} to new storage"
    if out_of_place is not None:
        assert torch.equal(copy, out_of_place), (
            f"{name}.{method}(...) leaves {copy.tolist()}, {method[:-1]} gives "
            f"{out_of_place.tolist()}"
        )
    # copy_ and t_, which the text names, change their tensor too.
    x, y = torch.zeros(2, 2), torch.arange(4.0).reshape(2, 2)
    assert x.copy_(y) is x and torch.equal(x, y), "x.copy_(y) did not change x"
    assert x.t_() is x and torch.equal(x, y.t()), "x.t_() did not transpose x"
    # What the cell printed: before and after, the change of the tensor itself.
    shown = [i for i in printed(seen).printing(reads(name)) if i.kind == "tensor"]
    before = [i for i in shown if i.node.lineno < match.lineno]
    after = [i for i in shown if i.node.lineno > match.lineno]
    if after and after[-1].token is not None:
        assert_printed(after[-1].token, made, f"{name} after {method}")
    if before and after and before[-1].token is not None and after[-1].token is not None:
        was, now = printed_tensor(before[-1].token), printed_tensor(after[-1].token)
        assert not torch.equal(was, now), f"the output shows {name} unchanged by {method}"
        if was.dtype != torch.bool and bool((was == was.round()).all()):
            # whole numbers print exactly: the op on what was printed gives what is printed
            expected = getattr(was.to(made.dtype), method)(*args)
            assert_printed(after[-1].token, expected, f"{name} after {name}.{method}(...)")
    elif shown and all(i.token is None for i in shown):
        seen.unchecked(f"the printed {name}: not told apart in the output")
    seen.note(f"{name}.{method}({', '.join(ast.unparse(a) for a in match.args)}) in place")


prose(
    "T14",
    "tensor",
    r"in-place operations.{0,200}(derivatives|loss of history)",
    looks_for="the note that in-place operations lose history (derivatives)",
)


# ----------------------------------------------------------------------------------------------
# T15, T16: a CPU tensor and its NumPy array share memory


def shares(tensor, array) -> bool:
    import numpy as np

    return np.shares_memory(tensor.detach().numpy(), array)


def find_to_numpy(seen: Seen) -> ast.AST | None:
    """``n = t.numpy()``; then, once blitz saw it, the cell that changes ``t`` in place."""
    if seen.memory.get("done"):
        return None
    pair = seen.memory.get("pair")
    if pair is not None:
        changed = [c for c in in_place_calls(seen) if c.func.value.id == pair[0]]
        changed += [
            a for a in here(seen, seen.nodes(ast.AugAssign))
            if isinstance(a.target, ast.Name) and a.target.id == pair[0]
        ]  # fmt: skip
        return min(changed, key=lambda n: n.lineno) if changed else None
    for call in here(seen, seen.nodes(ast.Call)):
        if isinstance(call.func, ast.Attribute) and call.func.attr == "numpy" and not call.args:
            if isinstance(call.func.value, ast.Name) and target_of(seen, call):
                return call
    return None


@claim(
    "T15", "tensor", looks_for="n = t.numpy() (then an in-place change of t)",
    find=find_to_numpy, once=False,
)  # fmt: skip
def numpy_shares_memory(seen: Seen, match: ast.Call) -> None:
    import torch

    if isinstance(match, ast.Call) and match.func.attr == "numpy":
        tensor_name, array_name = match.func.value.id, target_of(seen, match)
        tensor, array = seen.value(tensor_name), seen.value(array_name)
        assert tensor.device.type == "cpu", f"{tensor_name} is on {tensor.device}"
        assert shares(tensor, array), f"{array_name} does not share {tensor_name}'s memory"
        assert tensor.tolist() == array.tolist(), f"{array_name} differs from {tensor_name}"
        for name, value in ((tensor_name, tensor), (array_name, array)):
            token = printed_token(seen, reads(name), name)
            if token is not None:
                assert_printed(token, value, name)
        seen.memory["pair"] = (tensor_name, array_name, tensor.detach().clone())
        seen.note(f"{array_name} = {tensor_name}.numpy() shares its memory")
        return
    tensor_name, array_name, was = seen.memory["pair"]
    seen.memory["done"] = True
    tensor, array = seen.value(tensor_name), seen.value(array_name)
    assert shares(tensor, array), f"{array_name} no longer shares {tensor_name}'s memory"
    assert not torch.equal(tensor, was), f"{ast.unparse(match)} did not change {tensor_name}"
    assert tensor.tolist() == array.tolist(), (
        f"{ast.unparse(match)} changed {tensor_name} to {tensor.tolist()}, but {array_name} "
        f"holds {array.tolist()}"
    )
    shown = {}
    for name, value in ((tensor_name, tensor), (array_name, array)):
        token = printed_token(seen, reads(name), name, after=match)
        if token is not None:
            assert_printed(token, value, name)
            shown[name] = token
    if array_name in shown:
        # The golden: the change shows in the array ([2. 2. 2. 2. 2.] after ones(5).add_(1)).
        assert printed_tensor(shown[array_name]).tolist() == tensor.double().tolist(), (
            f"the output shows {array_name} as {shown[array_name].text}, not {tensor.tolist()}"
        )
    seen.note(f"{ast.unparse(match)} shows in {array_name}: {array.tolist()}")


NUMPY_IN_PLACE_OPS = ("add", "subtract", "multiply", "divide", "copyto", "negative", "square")


def numpy_changes(seen: Seen) -> list[tuple[ast.AST, str]]:
    """In-place changes of a NumPy array: ``np.add(n, 1, out=n)``, ``np.copyto(n, ...)``,
    ``n += 1``."""
    found = []
    for call in seen.nodes(ast.Call):
        head, _, op = dotted(call.func).rpartition(".")
        if head in ("np", "numpy") and op in NUMPY_IN_PLACE_OPS:
            out = keyword(call, "out")
            if isinstance(out, ast.Name):
                found.append((call, out.id))
            elif op == "copyto" and call.args and isinstance(call.args[0], ast.Name):
                found.append((call, call.args[0].id))
    for node in seen.nodes(ast.AugAssign):
        if isinstance(node.target, ast.Name):
            found.append((node, node.target.id))
    return found


def find_numpy_change(seen: Seen) -> ast.AST | None:
    """A change of an array that ``torch.from_numpy`` was given (in this cell or before)."""
    shared = {
        c.args[0].id
        for c in script_nodes(seen, ast.Call, seen.lineno) + seen.nodes(ast.Call)
        if dotted(c.func) == "torch.from_numpy" and c.args and isinstance(c.args[0], ast.Name)
    }
    for node, name in numpy_changes(seen):
        if name in shared and here(seen, [node]):
            return node
    return None


@claim(
    "T16", "tensor", looks_for="an in-place change (np.add(n, 1, out=n)) of an array given to "
    "torch.from_numpy", find=find_numpy_change,
)  # fmt: skip
def from_numpy_shares_memory(seen: Seen, match: ast.AST) -> None:
    import torch

    array_name = dict((id(n), name) for n, name in numpy_changes(seen))[id(match)]
    array = seen.value(array_name)
    # the tensors torch.from_numpy made of it (in this cell or before), as they are now
    made_by = [
        c for c in script_nodes(seen, ast.Call, seen.lineno) + seen.nodes(ast.Call)
        if dotted(c.func) == "torch.from_numpy" and c.args
        and isinstance(c.args[0], ast.Name) and c.args[0].id == array_name
    ]  # fmt: skip
    assigns = script_nodes(seen, ast.Assign, seen.lineno) + seen.nodes(ast.Assign)
    names = [
        a.targets[0].id for a in assigns
        if isinstance(a.targets[0], ast.Name) and any(a.value is c for c in made_by)
    ]  # fmt: skip
    tensors = [
        n for n in dict.fromkeys(reversed(names))
        if isinstance((seen.namespace or {}).get(n), torch.Tensor)
        and seen.namespace[n].device.type == "cpu" and shares(seen.namespace[n], array)
    ]  # fmt: skip
    assert tensors, f"no tensor from torch.from_numpy({array_name}) shares its memory now"
    tensor_name = tensors[0]
    tensor = seen.value(tensor_name)
    assert tensor.tolist() == array.tolist(), (
        f"{ast.unparse(match)} changed {array_name} to {array.tolist()}, but {tensor_name} "
        f"holds {tensor.tolist()}"
    )
    wanted = getattr(torch, NUMPY_TO_TORCH.get(array.dtype.name, ""), None)
    assert tensor.dtype == wanted, (
        f"{tensor_name} has dtype {tensor.dtype}, {array_name} {array.dtype}"
    )
    for name, value in ((tensor_name, tensor), (array_name, array)):
        token = printed_token(seen, reads(name), name, after=match)
        if token is not None:
            assert_printed(token, value, name)
    seen.note(f"{ast.unparse(match)} shows in {tensor_name}: {tensor}")


# ----------------------------------------------------------------------------------------------
# T18: device-agnostic code with torch.accelerator (the 2026 revision)

ACCELERATOR = r"\btorch\.accelerator\.(?:current_accelerator|is_available)\b"


def expected_device() -> str:
    import torch

    if torch.cuda.is_available():
        return "cuda"
    accelerator = getattr(torch, "accelerator", None)
    if accelerator is not None and accelerator.is_available():
        return accelerator.current_accelerator().type
    return "cpu"


def moves_to(seen: Seen, device: str) -> list[ast.Call]:
    """``t.to(device)`` and ``torch.xxx(..., device=device)`` calls that read the name."""
    found = []
    for call in here(seen, seen.nodes(ast.Call)):
        to = isinstance(call.func, ast.Attribute) and call.func.attr == "to"
        if to and any(device in names_in(a) for a in call.args):
            found.append(call)
        elif any(kw.arg == "device" and device in names_in(kw.value) for kw in call.keywords):
            found.append(call)
    return found


def find_accelerator(seen: Seen) -> Any:
    """The cell that chooses the device with ``torch.accelerator``; then, once blitz saw it, a
    cell that moves a tensor there."""
    if seen.memory.get("done"):
        return None
    device = seen.memory.get("device")
    if device is not None:
        return (moves_to(seen, device) or [None])[0]
    return code_matches(ACCELERATOR)(seen)


@claim(
    "T18", "tensor", looks_for="torch.accelerator.current_accelerator() / is_available()",
    find=find_accelerator, once=False,
)  # fmt: skip
def accelerator_device(seen: Seen, match: Any) -> None:
    import torch

    expected = expected_device()
    notes = []
    if seen.memory.get("device") is None:
        # the name bound to the expression that uses torch.accelerator
        chosen = None
        for node in seen.nodes(ast.Assign):
            target = node.targets[0]
            if re.search(ACCELERATOR, ast.unparse(node.value)) and isinstance(target, ast.Name):
                chosen = target.id
        if chosen is None:
            seen.unchecked("the device the cell chooses: the accelerator call is not assigned")
            return
        device = seen.value(chosen)
        if isinstance(device, torch.Tensor):  # t = t.to(torch.accelerator...) under an if
            assert device.device.type == expected, f"{chosen} is on {device.device}, not {expected}"
            seen.memory["done"] = True
            seen.note(f"{chosen} is on {device.device} (torch {torch.__version__})")
            return
        text = device.type if isinstance(device, torch.device) else str(device)
        assert text == expected, f"{chosen} is {text!r} on a machine whose device is {expected!r}"
        seen.memory["device"] = chosen
        notes.append(f"{chosen} = {text!r} (torch.accelerator, torch {torch.__version__})")
    chosen = seen.memory["device"]
    for call in moves_to(seen, chosen):  # tensors moved to the chosen device
        seen.memory["done"] = True
        name = target_of(seen, call)
        if name is None:
            seen.unchecked(f"the move at line {seen.line(call)}: its result is not assigned")
            continue
        moved = seen.value(name)
        assert moved.device.type == expected, f"{name} is on {moved.device}, not {expected}"
        notes.append(f"{name} moved to {moved.device}")
    for item in printed(seen).items:  # the device as the cell printed it
        if item.kind == "device" and item.token is not None:
            assert item.token.text.split(":")[0] == expected, (
                f"the output shows device {item.token.text!r} ({ast.unparse(item.node)}), "
                f"not {expected!r}"
            )
        elif item.kind == "device":
            seen.unchecked(f"the printed {ast.unparse(item.node)}: not told apart in the output")
    seen.note("; ".join(notes))
