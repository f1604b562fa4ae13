"""The claim of tensor_tutorial.py on devices (see ``probes.base``): T18, device-agnostic code
with ``torch.accelerator`` (the 2026 revision): the device it chooses is this machine's, and the
tensors moved there are on it. A torch without ``torch.accelerator`` (before 2.4) cannot run that
code: its ``AttributeError`` reads drift, with the version (``accelerator_absent``).
"""

from __future__ import annotations

import ast
import re
from typing import Any

from blitz.tutorial_source.probes import printed_map, syntax
from blitz.tutorial_source.probes.base import Seen, code_matches, probe

SCRIPT = "tensor"
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
    for call in syntax.here(seen, seen.nodes(ast.Call)):
        to = isinstance(call.func, ast.Attribute) and call.func.attr == "to"
        if to and any(device in syntax.names_in(a) for a in call.args):
            found.append(call)
        elif any(
            kw.arg == "device" and device in syntax.names_in(kw.value) for kw in call.keywords
        ):
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


def accelerator_absent(seen: Seen, error: Any) -> str | None:
    """The drift note of a torch without ``torch.accelerator`` (CLAIMS.md: drift on every
    version that lacks it, with the version): ``AttributeError: module 'torch' has no attribute
    'accelerator'``."""
    if error.type != "AttributeError" or "'accelerator'" not in error.message:
        return None
    return (
        f"torch.accelerator is absent on torch {seen.torch.__version__} (the text's "
        f"device-agnostic code raises {error.type}: {error.message}): it needs torch 2.4 or later"
    )


@probe("T18", SCRIPT, looks_for="torch.accelerator.current_accelerator() / is_available()",
       find=find_accelerator, once=False, on_error=accelerator_absent)  # fmt: skip
def accelerator_device(seen: Seen, match: Any) -> None:
    """The device ``torch.accelerator`` chooses is this machine's (cuda, mps, ... or cpu), and
    the tensors the script moves there are on it, as the output shows."""
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
        name = syntax.bound_name(seen, call)
        if name is None:
            seen.unchecked(f"the move at line {seen.line(call)}: its result is not assigned")
            continue
        moved = seen.value(name)
        assert moved.device.type == expected, f"{name} is on {moved.device}, not {expected}"
        notes.append(f"{name} moved to {moved.device}")
    for item in printed_map.printed(seen).items:  # the device as the cell printed it
        if item.kind == "device" and item.token is not None:
            assert item.token.text.split(":")[0] == expected, (
                f"the output shows device {item.token.text!r} ({ast.unparse(item.node)}), "
                f"not {expected!r}"
            )
        elif item.kind == "device":
            seen.unchecked(f"the printed {ast.unparse(item.node)}: not told apart in the output")
    seen.note("; ".join(notes))
