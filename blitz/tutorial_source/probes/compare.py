"""Comparing what a check computes with what the script made or printed (torch imported when
a check runs).

- ``assert_close``: ``torch.testing.assert_close``'s test without its import cost (see there);
- ``assert_printed``: a printed tensor or array (``printed_text.Token``) shows a value at the
  printed precision, with its shape and dtype;
- ``assert_values`` and ``assert_golden``: printed numbers, or a value, are the tutorial's
  golden at the golden's precision.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from blitz.tutorial_source.probes.printed_text import Token

# A value the tutorial printed with 4 decimals stands for the interval v +- 5e-5.
GOLDEN_ATOL = 5e-5


def host(tensor) -> Any:
    """A tensor's values as a NumPy array on the host (a copy where it is on a device)."""
    return tensor.detach().cpu().numpy()


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
    actual,
    expected,
    *,
    atol: float | None = None,
    rtol: float | None = None,
    what: str = "",
    msg: str | Callable[[str], str] | None = None,
) -> None:
    """``torch.testing.assert_close``'s test, done here: same shape and dtype, then
    ``|actual - expected| <= atol + rtol * |expected|`` elementwise (NaN equal to NaN), with its
    default tolerances for the dtype where none are given. Not the function itself: its first
    call imports ``torch.distributed.tensor`` (torch 2.14), seconds in every child process.

    The message of a failure starts with ``what``; ``msg`` replaces it (a string), or makes it
    from it (a function), as ``torch.testing.assert_close``'s ``msg`` does."""
    import torch

    def fail(message: str) -> AssertionError:
        message = f"{what}: {message}" if what else message
        if msg is not None:
            message = msg if isinstance(msg, str) else msg(message)
        return AssertionError(message)

    if actual.shape != expected.shape:
        raise fail(f"shape {tuple(actual.shape)}, expected {tuple(expected.shape)}")
    if actual.dtype != expected.dtype:
        raise fail(f"dtype {actual.dtype}, expected {expected.dtype}")
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
    raise fail(f"{bad} of {actual.numel()} elements differ (atol={atol:g}, rtol={rtol:g}){worst}")


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


def assert_golden(actual, golden, what: str) -> None:
    """``actual`` is the tutorial's printed ``golden`` at the printed precision (4 decimals)."""

    def shown(t) -> str:
        return ", ".join(f"{v:.4f}" for v in t.detach().flatten().tolist())

    assert_close(
        actual, golden, rtol=0.0, atol=GOLDEN_ATOL,
        msg=lambda _: f"{what} is [{shown(actual)}]; the tutorial printed [{shown(golden)}] "
        "(seed 42, 4 decimals)",
    )  # fmt: skip
