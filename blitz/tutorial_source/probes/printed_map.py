"""Which part of a cell's output each expression it prints is (the map from its prints to its
output), and its output read again.

- ``printed(seen)``: a ``Printed``, the cell's printed expressions (the arguments of its
  ``print`` calls, the fields of its f-strings, its last bare expression) each with the
  ``printed_text.Token`` it shows as; ``printed_token`` and ``reads`` pick one;
- ``print_calls``, ``reprinted`` and ``assert_printed_as_now``: what the cell's own ``print``
  calls give for the namespace's values now, against what it printed.

Both mark the cell's output as read (``Seen.read_output``).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from blitz.tutorial_source.probes.base import Seen, dotted
from blitz.tutorial_source.probes.printed_text import Token, tokens
from blitz.tutorial_source.probes.syntax import evaluate, keyword, pure

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


def print_args(call: ast.Call) -> list[ast.expr]:
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
                for arg in print_args(call):
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
# The cell's prints, read again


def print_calls(seen: Seen) -> list[ast.Call]:
    """The cell's top-level ``print(...)`` statements, in order."""
    body = seen.tree.body if seen.tree is not None else []
    return [
        stmt.value
        for stmt in body
        if isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Call)
        and dotted(stmt.value.func) == "print"
    ]


def reprinted(seen: Seen) -> str | None:
    """What the cell's output would be if its top-level statements were only its ``print``
    calls of ``pure`` arguments, evaluated now; None where the cell does anything else that
    prints (another statement printing, an impure argument, ``sep``/``end``/``file``)."""
    if seen.tree is None:
        return None
    text = []
    for stmt in seen.tree.body:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            call = stmt.value
            if dotted(call.func) != "print":
                return None
            if call.keywords or not all(pure(a) for a in call.args):
                return None
            text.append(" ".join(str(evaluate(seen, a)) for a in call.args) + "\n")
        elif isinstance(stmt, ast.Expr):
            return None  # a bare expression: shown by sphinx-gallery
    return "".join(text)


def assert_printed_as_now(seen: Seen, what: str) -> None:
    """The cell printed what its print calls give for the namespace's values now; where blitz
    cannot re-read its prints (another statement prints, an argument with side effects), that
    part is not checked (the claim reads partial) and the output stays unread."""
    expected = reprinted(seen)
    if expected is None:
        seen.unchecked(f"the output of the cell that {what} (blitz cannot re-read its prints)")
        return
    output = seen.printed()
    assert output == expected, (
        f"the cell that {what} printed {output!r}, but its print calls give {expected!r}"
    )
