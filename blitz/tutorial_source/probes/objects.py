"""The script's objects as the checks use them (torch imported when a check runs): copies that
keep what a check must not change, the modules of a namespace, the backward graph, the running
torch's version, and code run again against copies.

- ``copy_with_grads``: a module's deep copy whose parameters keep their ``.grad``;
- ``modules_of`` and ``owner_of``: the namespace's modules, the one an optimizer holds;
- ``backward_nodes``, ``leaves`` and ``path_to``: the backward graph below a ``grad_fn``;
- ``scratch`` and ``run_code``: a namespace of copies of the objects some code reads (the net
  with its ``.grad``, its input, target, criterion), and that code run in it: how a check runs
  code the build never ran (``Seen.snippets``) or a statement of the cell again, without
  touching the script's own objects.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import io
import types
from typing import Any

from blitz.tutorial_source.probes.base import Seen
from blitz.tutorial_source.probes.syntax import names_in

# zero_grad(set_to_none=True) is the default since torch 2.0.
SET_TO_NONE_DEFAULT_SINCE = "2.0"


def version_at_least(version: str) -> bool:
    import torch
    from torch.torch_version import TorchVersion

    return TorchVersion(torch.__version__) >= version


def copy_with_grads(module, memo: dict | None = None):
    """A deep copy of ``module`` whose parameters carry copies of its ``.grad`` too
    (``copy.deepcopy`` leaves them out); ``memo``: ``copy.deepcopy``'s, shared with other
    copies (an optimizer's) so that they hold the copy's parameters."""
    twin = copy.deepcopy(module, memo)
    for p, q in zip(module.parameters(), twin.parameters()):
        q.grad = None if p.grad is None else p.grad.detach().clone()
    return twin


def modules_of(namespace: dict[str, Any] | None) -> dict[str, Any]:
    """The nn.Module instances of ``namespace``, by name."""
    import torch

    return {n: v for n, v in (namespace or {}).items() if isinstance(v, torch.nn.Module)}


def owner_of(namespace: dict[str, Any] | None, parameters) -> tuple[str, Any] | None:
    """The module of ``namespace`` whose parameters are exactly ``parameters`` (the same
    objects)."""
    wanted = [id(p) for p in parameters]
    for name, module in modules_of(namespace).items():
        if [id(p) for p in module.parameters()] == wanted:
            return name, module
    return None


def optimizer_params(optimizer) -> list:
    return [p for group in optimizer.param_groups for p in group["params"]]


# ----------------------------------------------------------------------------------------------
# The backward graph


def backward_nodes(root, stop: Any = ()) -> list[tuple[Any, Any]]:
    """Each node of the backward graph below ``root`` (a grad_fn), once, depth first, with the
    node it was reached from (None for ``root``); not past the nodes in ``stop``."""
    found, done, todo = [], set(), [(root, None)]
    stop_ids = {id(node) for node in stop}
    while todo:
        node, parent = todo.pop()
        if node is None or id(node) in done:
            continue
        done.add(id(node))
        found.append((node, parent))
        if id(node) not in stop_ids:
            todo.extend((next_node, node) for next_node, _ in node.next_functions)
    return found


def leaves(root) -> list[Any]:
    """The leaf tensors that the graph below ``root`` (a grad_fn) accumulates gradients into."""
    return [node.variable for node, _ in backward_nodes(root) if hasattr(node, "variable")]


def path_to(root, leaf) -> list | None:
    """The nodes from ``root`` (a grad_fn) down to the AccumulateGrad of ``leaf``, along the
    way the walk first reaches it; None where it does not."""
    parents = {}
    for node, parent in backward_nodes(root):
        parents[id(node)] = parent
        if getattr(node, "variable", None) is leaf:
            path = [node]
            while parents[id(path[-1])] is not None:
                path.append(parents[id(path[-1])])
            return path[::-1]
    return None


# ----------------------------------------------------------------------------------------------
# Code run against copies


def copied(value: Any, memo: dict) -> Any:
    """A copy of one of the script's objects: a module with its grads, a tensor with its grad
    (detached where it is not a leaf: a copy never reaches the script's graph), anything else
    deep-copied where it can be; modules, classes and functions as they are."""
    import torch

    if isinstance(value, (types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType)):
        return value
    if isinstance(value, torch.nn.Module):
        return copy_with_grads(value, memo)
    if isinstance(value, torch.Tensor) and not value.is_leaf:
        return memo.setdefault(id(value), value.detach().clone())
    try:
        return copy.deepcopy(value, memo)
    except Exception:  # an object that cannot be copied (a generator, a file): shared
        return value


def scratch(namespace: dict[str, Any] | None, code: ast.AST) -> dict[str, Any]:
    """A namespace for ``code``: a copy of each object of ``namespace`` that it reads, modules
    first, so that a copied optimizer or list holds the copied modules' parameters."""
    import torch

    names = [n for n in names_in(code) if n in (namespace or {})]
    names.sort(key=lambda n: not isinstance(namespace[n], torch.nn.Module))
    memo: dict = {}
    return {name: copied(namespace[name], memo) for name in names}


def run_code(code: ast.Module, namespace: dict[str, Any], where: str) -> str:
    """Run ``code`` in ``namespace`` (a ``scratch``) and give what it printed (kept out of the
    script's output); an exception it raises is the claim's code failing (``AssertionError``,
    naming ``where``)."""
    compiled = compile(code, f"<{where}>", "exec")
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
            exec(compiled, namespace)  # noqa: S102 - the tutorial's own code, on copies
        return printed.getvalue()
    except Exception as exc:
        raise AssertionError(f"{where} raises {type(exc).__name__}: {exc}") from exc


def shown_where(seen: Seen, snippet: Seen) -> str:
    """How a note names code the text shows after ``seen``'s cell."""
    return (
        f"the code shown in the text (line {snippet.lineno}), which the build does not run, "
        f"against copies of the script's objects after line {seen.lineno}"
    )
