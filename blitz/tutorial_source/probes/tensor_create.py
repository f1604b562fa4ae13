"""The claims of tensor_tutorial.py on making tensors (see ``probes.base``): T01 (``torch.tensor``
infers the dtype), T03 and T04 (``ones_like`` keeps the shape and dtype, ``rand_like(x,
dtype=...)`` overrides the dtype), T05 (a shape tuple), T06 (shape, dtype and device).

Each probe finds the claim's statement by the call that makes it, reads the names the cell binds
from its code, and checks the claim against the namespace and what the cell printed
(``probes.printed_map``), at the printed precision. Goldens are compared where the revision's
code is the form the golden was printed from: the same uniform draws from the build's seed
before it (``golden_rand``).
"""

from __future__ import annotations

import ast
import math
from typing import Any

from blitz.tutorial_source.probes import compare, printed_map, printed_text, syntax
from blitz.tutorial_source.probes.base import Seen, dotted, probe

SCRIPT = "tensor"
# torch.manual_seed(42); torch.rand(10): the tutorial's seeded build drew these (CLAIMS.md).
GOLDEN_RAND = (0.8823, 0.9150, 0.3829, 0.9593, 0.3904, 0.6009, 0.2566, 0.7936, 0.9408, 0.1332)

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
    earlier = [c for c in syntax.script_nodes(seen, ast.Call, seen.line(call)) if _draws(c)]
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
    dtype = syntax.keyword(call, "dtype")
    if dtype is not None and ast.unparse(dtype) not in ("torch.float", "torch.float32"):
        return None
    namespace = seen.namespace or {}
    try:
        if name == "torch.rand":
            args = [syntax.evaluate(seen, a) for a in call.args]
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
        for assign in syntax.script_nodes(seen, ast.Assign, seen.lineno):
            if isinstance(assign.value, (ast.List, ast.Tuple)) and any(
                node.id in {t.id for t in ast.walk(target) if isinstance(t, ast.Name)}
                for target in assign.targets
            ):
                return assign.value, node
    return None


def find_tensor_from_data(seen: Seen) -> ast.Call | None:
    for call in syntax.here(seen, seen.calls("torch.tensor")):
        if syntax.keyword(call, "dtype") is None and data_of(seen, call) is not None:
            return call
    return None


def inferred_dtype(data: Any):
    import torch

    flat = list(printed_text.flatten_values(data))
    if flat and all(isinstance(v, bool) for v in flat):
        return torch.bool
    if any(isinstance(v, complex) for v in flat):
        return torch.complex64 if torch.get_default_dtype() == torch.float32 else torch.complex128
    if any(isinstance(v, float) for v in flat):
        return torch.get_default_dtype()
    return torch.int64


@probe("T01", SCRIPT, looks_for="torch.tensor(...) of a list literal (or a name bound to one), "
       "with no dtype=", find=find_tensor_from_data)  # fmt: skip
def tensor_infers_dtype(seen: Seen, match: ast.Call) -> None:
    """``torch.tensor`` of Python data infers the dtype from the values (int64, the default
    float, bool, complex) and holds the data; its print shows it."""
    literal, _ = data_of(seen, match)
    data = ast.literal_eval(literal)
    name, made = syntax.bound_by(seen, match, "torch.tensor(...)")
    expected = inferred_dtype(data)
    kinds = sorted({type(v).__name__ for v in printed_text.flatten_values(data)})
    assert made.dtype == expected, (
        f"torch.tensor of {'/'.join(kinds)} values {data} gave {name} of dtype {made.dtype}, "
        f"not {expected}"
    )
    assert made.tolist() == (list(data) if isinstance(data, tuple) else data), (
        f"{name} holds {made.tolist()}, not the data {data}"
    )
    token = printed_map.printed_token(seen, printed_map.reads(name), name, after=match)
    if token is not None:
        compare.assert_printed(token, made, name)
    seen.note(f"{'/'.join(kinds)} data gives {str(made.dtype).removeprefix('torch.')}")


# ----------------------------------------------------------------------------------------------
# T03, T04: ones_like keeps shape and dtype; rand_like(x, dtype=...) overrides the dtype


def find_ones_like(seen: Seen) -> ast.Call | None:
    found = [
        c
        for c in syntax.here(seen, seen.calls("torch.ones_like"))
        if syntax.keyword(c, "dtype") is None
    ]
    return found[0] if found else None


@probe("T03", SCRIPT, looks_for="torch.ones_like(x) with no dtype=",
       find=find_ones_like)  # fmt: skip
def ones_like_keeps_shape_and_dtype(seen: Seen, match: ast.Call) -> None:
    """``torch.ones_like(x)`` keeps ``x``'s shape and dtype, all ones; an int64 prints without a
    decimal point or dtype, as the tutorial's golden."""
    import torch

    name, made = syntax.bound_by(seen, match, "torch.ones_like(...)")
    assert match.args, f"line {seen.line(match)}: ones_like without its argument"
    like = syntax.evaluate(seen, match.args[0])
    what = ast.unparse(match.args[0])
    assert made.shape == like.shape, f"{name} has shape {tuple(made.shape)}, {what} {like.shape}"
    assert made.dtype == like.dtype, f"{name} has dtype {made.dtype}, {what} {like.dtype}"
    assert torch.equal(made, torch.ones(like.shape, dtype=like.dtype)), f"{name} is not all ones"
    token = printed_map.printed_token(seen, printed_map.reads(name), name, after=match)
    if token is not None:
        compare.assert_printed(token, made, name)
        # the golden: [[1, 1], [1, 1]], printed as int64 (no decimal point, no dtype)
        assert all(v == 1 for v in token.flat), f"the output shows {token.text!r}, not ones"
        if like.dtype == torch.int64:
            assert "." not in token.text and "dtype" not in token.text, (
                f"an int64 ones tensor printed as {token.text!r}"
            )
    seen.note(f"{name}: {tuple(made.shape)} {str(made.dtype).removeprefix('torch.')}")


class AsPrinted:
    """A tensor as the output showed it (its shape and dtype), standing for one the cell
    bound its name to again."""

    def __init__(self, token: printed_text.Token) -> None:
        import torch

        self.shape = torch.Size(compare.printed_tensor(token).shape)
        self.dtype = compare.printed_dtype(token)


def as_before(seen: Seen, node: ast.expr, statement: ast.AST) -> Any:
    """The value of ``node`` (an argument of the call at ``statement``) as the call saw it:
    the namespace's, unless the cell binds its name at or after the call (``x =
    torch.randn_like(x, ...)``); then what the cell printed of it before; None (not
    checked) where it printed nothing."""
    rebound = [
        a for n in syntax.names_in(node) for a in seen.assigned(n) if a.lineno >= statement.lineno
    ]
    if not rebound:
        return syntax.evaluate(seen, node)
    if not isinstance(node, ast.Name):
        seen.unchecked(f"{ast.unparse(node)} as the call saw it: the cell binds it again")
        return None
    token = printed_map.printed_token(
        seen, printed_map.reads(node.id), node.id, last_before=statement
    )
    if token is None or token.kind != "tensor":
        seen.unchecked(f"{node.id} as the call saw it: the cell binds it again, printed nothing")
        return None
    return AsPrinted(token)


def find_rand_like(seen: Seen) -> ast.Call | None:
    calls = [c for name in ("torch.rand_like", "torch.randn_like") for c in seen.calls(name)]
    found = [c for c in syntax.here(seen, calls) if syntax.keyword(c, "dtype") is not None]
    return min(found, key=lambda c: (c.lineno, c.col_offset)) if found else None


@probe("T04", SCRIPT, looks_for="torch.rand_like(x, dtype=...) (or randn_like) overriding the "
       "dtype", find=find_rand_like)  # fmt: skip
def rand_like_overrides_dtype(seen: Seen, match: ast.Call) -> None:
    """``torch.rand_like(x, dtype=...)`` has the dtype given and ``x``'s shape, values in [0,
    1); its print is the golden where the build drew the same numbers."""

    name, made = syntax.bound_by(seen, match, f"{dotted(match.func)}(...)")
    assert match.args, f"line {seen.line(match)}: no tensor to be like"
    like = as_before(seen, match.args[0], match)
    if like is None:
        return
    wanted = syntax.evaluate(seen, syntax.keyword(match, "dtype"))
    assert made.dtype == wanted, f"{name} has dtype {made.dtype}, not the dtype= {wanted}"
    assert made.shape == like.shape, f"{name} has shape {tuple(made.shape)}, not {like.shape}"
    if like.dtype == wanted:
        seen.note(f"the argument is already {wanted}: nothing to override")
    uniform = dotted(match.func) == "torch.rand_like"
    if uniform:
        assert bool(((made >= 0) & (made < 1)).all()), f"{name} has values outside [0, 1)"
    token = printed_map.printed_token(seen, printed_map.reads(name), name, after=match)
    if token is not None:
        compare.assert_printed(token, made, name)
    if uniform:
        golden = golden_rand(seen, match, tuple(made.shape))
        if golden is not None and token is None:
            seen.note("the revision does not print it: no golden to compare")
        elif golden is not None and seen.golden():
            compare.assert_values(token, golden, name, decimals=4)
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
        isinstance(a.value, ast.Tuple) and any(name in syntax.names_in(t) for t in a.targets)
        for a in syntax.script_nodes(seen, ast.Assign, seen.lineno)
    )


def shape_calls(seen: Seen) -> list[ast.Call]:
    """Calls of rand/ones/zeros given one shape tuple (a literal or a name bound to one)."""
    found = []
    for call in syntax.here(seen, seen.nodes(ast.Call)):
        if dotted(call.func) not in SHAPED or len(call.args) != 1:
            continue
        arg = call.args[0]
        if isinstance(arg, ast.Tuple) or (isinstance(arg, ast.Name) and _tuple_name(seen, arg.id)):
            found.append(call)
    return found


@probe("T05", SCRIPT, looks_for="torch.rand/ones/zeros(shape) given a shape tuple",
       find=lambda seen: (shape_calls(seen) or [None])[0])  # fmt: skip
def shape_tuple(seen: Seen, match: ast.Call) -> None:
    """``torch.rand/ones/zeros(shape)`` of one shape tuple: that shape, the default dtype, the
    values each promises; ``rand``'s print is the golden where the draws agree."""
    import torch

    made_by = {}
    for call in shape_calls(seen):
        function = dotted(call.func)
        name, made = syntax.bound_by(seen, call, f"{function}(shape)")
        shape = tuple(syntax.evaluate(seen, call.args[0]))
        assert tuple(made.shape) == shape, f"{function}({shape}) has shape {tuple(made.shape)}"
        assert made.dtype == torch.get_default_dtype(), f"{name} has dtype {made.dtype}"
        if function == "torch.ones":
            assert bool((made == 1).all()), f"{name} is not all ones"
        elif function == "torch.zeros":
            assert bool((made == 0).all()), f"{name} is not all zeros"
        else:
            assert bool(((made >= 0) & (made < 1)).all()), f"{name} has values outside [0, 1)"
        token = printed_map.printed_token(seen, printed_map.reads(name), name, after=call)
        if token is not None:
            compare.assert_printed(token, made, name)
        made_by[function] = (call, name, made, token)
    if "torch.rand" in made_by:
        call, name, made, token = made_by["torch.rand"]
        golden = golden_rand(seen, call, tuple(made.shape))
        if golden is not None and token is not None and seen.golden():
            compare.assert_values(token, golden, name, decimals=4)
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


@probe("T06", SCRIPT, looks_for="the .shape, .dtype and .device of one tensor, read in a cell",
       find=find_attributes)  # fmt: skip
def tensor_attributes(seen: Seen, match: ast.Name) -> None:
    """A tensor's ``shape``, ``dtype`` and ``device`` are those its making call implies, on the
    cpu here, and the output shows them."""
    import torch

    name = match.id
    made = seen.value(name)
    assert isinstance(made, torch.Tensor), f"{name} is a {type(made).__name__}"
    made_by = [a for a in seen.assigned(name) if isinstance(a, ast.Assign)]
    if made_by and isinstance(made_by[0].value, ast.Call):
        call = made_by[0].value
        if dotted(call.func) in ("torch.rand", "torch.randn", "torch.ones", "torch.zeros"):
            args = [syntax.evaluate(seen, a) for a in call.args]
            shape = tuple(args[0]) if len(args) == 1 and not isinstance(args[0], int) else args
            assert tuple(made.shape) == tuple(shape), (
                f"{ast.unparse(call)} has shape {tuple(made.shape)}"
            )
            if syntax.keyword(call, "dtype") is None:
                assert made.dtype == torch.get_default_dtype(), f"{name} has dtype {made.dtype}"
            if syntax.keyword(call, "device") is None:
                assert made.device.type == "cpu", f"{name} is on {made.device}, not the cpu"
    report = printed_map.printed(seen)
    shown = {}
    for item in report.items:
        node = item.node
        is_name = isinstance(node, (ast.Attribute, ast.Call)) and name in syntax.names_in(node)
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
