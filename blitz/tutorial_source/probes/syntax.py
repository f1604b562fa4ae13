"""Reading a script's code: the AST helpers every probe module shares (torch-free).

- a call's parts: ``keyword``, ``argument``, ``last_name``, ``receiver``, ``constant_ints``;
- what a node holds: ``names_in``, ``method_calls``, ``calls_under``;
- where a name is bound: in the cell (``bound_name``, ``bound_names``, ``bound_by``,
  ``bound_around``), or anywhere in the script (``script_tree``, ``script_nodes``,
  ``script_value``: a cell often uses what an earlier cell bound);
- code that runs only on a GPU machine (``here``, ``calls_here``): no probe's, the GPU claims
  have no verdict on a cpu; the other calls of a tensor's in-place methods (``in_place_calls``);
- evaluating the cell's expressions again in the script's namespace (``evaluate``), where they
  only compute; ``pure`` says an expression reads without computing anything.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Callable
from typing import Any

from blitz.tutorial_source.probes.base import Seen, Unchecked, dotted, name_matches

# ----------------------------------------------------------------------------------------------
# A call's parts


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


def receiver(call: ast.Call) -> str | None:
    """``a.b`` of the call ``a.b.method(...)``; None for a plain function call."""
    if isinstance(call.func, ast.Attribute):
        return dotted(call.func.value)
    return None


def constant_ints(call: ast.Call) -> list[int] | None:
    """The positional arguments of ``call`` when all are integer literals."""
    values = []
    for arg in call.args:
        if not (isinstance(arg, ast.Constant) and type(arg.value) is int):
            return None
        values.append(arg.value)
    return values


# ----------------------------------------------------------------------------------------------
# What a node holds


def in_order(nodes) -> list:
    return sorted(nodes, key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0)))


def names_in(node: ast.AST) -> list[str]:
    """The names ``node`` reads, in the code's order, each once."""
    found = in_order(n for n in ast.walk(node) if isinstance(n, ast.Name))
    return list(dict.fromkeys(n.id for n in found))


def method_calls(node: ast.AST, method: str) -> list[ast.Call]:
    """The calls ``<anything>.method(...)`` under ``node``, in the file's order."""
    return in_order(
        n
        for n in ast.walk(node)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == method
    )


def calls_under(node: ast.AST, name: str) -> list[ast.Call]:
    """The calls under ``node`` whose callee reads ``name`` (``base.name_matches``)."""
    return in_order(
        n for n in ast.walk(node) if isinstance(n, ast.Call) and name_matches(dotted(n.func), name)
    )


# ----------------------------------------------------------------------------------------------
# Where a name is bound: in the cell


def single_target(node: ast.Assign) -> str | None:
    if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
        return node.targets[0].id
    return None


def bound_name(seen: Seen, value: ast.AST) -> str | None:
    """The name the cell binds ``value`` (a node of its tree) to: ``x_ones`` in ``x_ones =
    torch.ones_like(x)``."""
    for node in seen.nodes(ast.Assign):
        if node.value is value:
            return single_target(node)
    return None


def bound_names(seen: Seen, value: ast.AST) -> list[str]:
    """The names of ``a, b = value``, in order (one name for ``a = value``)."""
    for node in seen.nodes(ast.Assign):
        if node.value is value and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                return [target.id]
            if isinstance(target, (ast.Tuple, ast.List)):
                return [e.id if isinstance(e, ast.Name) else "" for e in target.elts]
    return []


def bound_around(seen: Seen, inner: ast.AST) -> str | None:
    """The name the cell binds an expression holding ``inner`` to (``x = Variable(inner)``)."""
    for node in seen.nodes(ast.Assign):
        if any(n is inner for n in ast.walk(node.value)):
            return single_target(node)
    return None


def bound_by(seen: Seen, value: ast.AST, what: str) -> tuple[str, Any]:
    """The name the cell binds ``value`` to, and its value; ``Unchecked`` where the cell binds
    it to no name (``print(torch.ones_like(x))``): blitz will not compute it again."""
    name = bound_name(seen, value)
    if name is None:
        raise Unchecked(f"{what} at line {seen.line(value)}: its result is not bound to a name")
    return name, seen.value(name)


# ----------------------------------------------------------------------------------------------
# Where a name is bound: anywhere in the script


@functools.lru_cache(maxsize=16)
def parse_script(text: str) -> ast.Module | None:
    """The whole script's tree (its lines are the file's), or None where it does not parse."""
    try:
        return ast.parse(text)
    except SyntaxError:
        return None


def script_tree(seen: Seen) -> ast.Module | None:
    """The whole script's syntax tree (None where it does not parse or is not known: the
    static look at a cell that never ran has no script text)."""
    return parse_script(seen.script_text) if seen.script_text else None


def script_nodes(seen: Seen, kind: type | tuple[type, ...], before: int | None = None) -> list:
    """The whole script's nodes of ``kind`` (lines are the file's), before file line
    ``before`` where given, in the file's order."""
    tree = script_tree(seen)
    if tree is None:
        return []
    return in_order(
        n
        for n in ast.walk(tree)
        if isinstance(n, kind) and (before is None or getattr(n, "lineno", 0) < before)
    )


def script_value(seen: Seen, name: str) -> ast.expr | None:
    """The expression the script last binds to ``name`` (``name = <expr>``), in the cell or
    before it: the cell's own binding first, else the script's last one above the cell."""
    own = [n for n in seen.nodes(ast.Assign) if single_target(n) == name]
    if own:
        return own[-1].value
    found = [n for n in script_nodes(seen, ast.Assign, seen.lineno) if single_target(n) == name]
    return found[-1].value if found else None


# ----------------------------------------------------------------------------------------------
# Code that runs only on a GPU machine

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


def in_place_calls(seen: Seen) -> list[ast.Call]:
    """The calls of a tensor method with a ``_`` suffix on a name (``t.add_(5)``), outside a
    GPU-only branch."""
    return [
        call for call in here(seen, seen.nodes(ast.Call))
        if isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name)
        and call.func.attr.endswith("_") and not call.func.attr.startswith("_")
        and call.func.attr != "requires_grad_"
    ]  # fmt: skip


# ----------------------------------------------------------------------------------------------
# Evaluating the cell's expressions again

# Calls that only compute (no file, no RNG, no printing): what a probe may evaluate again.
SAFE_CALLS = frozenset(
    """abs add all any bool clone contiguous cos cpu detach div double dtype eq equal exp flatten
    float int item log long matmul max mean min mm mul ne neg norm numel numpy permute pow
    reshape sin size sqrt squeeze stack sub sum t tanh tolist transpose unsqueeze view cat ones
    zeros full eye arange tensor ones_like zeros_like from_numpy sigmoid relu array asarray
    multiply dot allclose isclose""".split()
)
# Calls that only read, which ``pure`` allows (``len(params)``, ``params[0].size()``).
READ_CALLS = ("len", ".size", ".item", ".dim", "type", "str")
SAFE_NODES = (
    ast.Expression, ast.Name, ast.Load, ast.Attribute, ast.Constant, ast.BinOp, ast.UnaryOp,
    ast.Compare, ast.Subscript, ast.Slice, ast.Tuple, ast.List, ast.keyword, ast.Call,
    ast.operator, ast.unaryop, ast.cmpop, ast.BoolOp, ast.boolop, ast.Starred,
)  # fmt: skip
PURE_NODES = (
    ast.Expression, ast.Name, ast.Load, ast.Attribute, ast.Subscript, ast.Constant, ast.Tuple,
    ast.Slice, ast.UnaryOp, ast.USub, ast.Call,
)  # fmt: skip
BUILTINS = {"len": len, "range": range, "type": type, "str": str}


def _reads_only(call: ast.Call) -> bool:
    return any(name_matches(dotted(call.func), name) for name in READ_CALLS)


def pure(expr: ast.AST) -> bool:
    """Whether ``expr`` only reads: names, attributes, indexing by literals, and the calls of
    ``READ_CALLS`` without keywords. Evaluating it again changes nothing."""
    for node in ast.walk(expr):
        if isinstance(node, ast.Call) and (node.keywords or not _reads_only(node)):
            return False
        if not isinstance(node, (*PURE_NODES, ast.expr_context)):
            return False
    return True


def evaluate(seen: Seen, node: ast.expr, names: dict[str, Any] | None = None) -> Any:
    """The value of the cell's expression ``node`` in the script's namespace (``names``
    overriding it), where it only computes (``SAFE_CALLS``) or reads (``READ_CALLS``): a call
    of anything else is blitz's error."""
    for part in ast.walk(node):
        if not isinstance(part, SAFE_NODES):
            raise ValueError(f"cannot evaluate {ast.unparse(node)!r}: {type(part).__name__}")
        if isinstance(part, ast.Call):
            if last_name(part.func) not in SAFE_CALLS and not _reads_only(part):
                raise ValueError(f"will not call {dotted(part.func)!r} again")
    scope = dict(seen.namespace or {})
    scope.update(names or {})
    code = compile(ast.Expression(body=node), f"<{seen.script} line {seen.line(node)}>", "eval")
    return eval(code, {"__builtins__": BUILTINS}, scope)  # noqa: S307 - only computes (above)
