"""What blitz needs from torch that older releases spell differently or lack.

blitz runs its claims on torch 1.10 to 2.14. Where a newer torch has the better tool, blitz uses
it, and falls back here, in one place, on releases without it:

- ``load``: ``torch.load(weights_only=True)`` (torch >= 1.13). Before that release torch.load has
  no such parameter and unpickles anything; blitz then hands it an unpickler that admits only
  what a state dict holds (tensors, their storages, ordered dicts), so loading stays safe.
- ``has_foreach_sgd``: whether ``optim.SGD`` takes ``foreach`` (torch >= 1.12).
- ``storage_ptr``: the address of a tensor's storage (``untyped_storage``, torch >= 2.0).
"""

from __future__ import annotations

import inspect
import pickle
from types import SimpleNamespace

import torch

HAS_WEIGHTS_ONLY = "weights_only" in inspect.signature(torch.load).parameters


def has_foreach_sgd() -> bool:
    return "foreach" in inspect.signature(torch.optim.SGD).parameters


def storage_ptr(tensor: torch.Tensor) -> int:
    """The address of ``tensor``'s storage (not of its first element)."""
    if hasattr(tensor, "untyped_storage"):
        return tensor.untyped_storage().data_ptr()
    return tensor.storage().data_ptr()


# What a checkpoint of tensors may name, on torch releases without weights_only: the functions
# that rebuild tensors and parameters, the storage classes, and the containers of a state dict.
_ALLOWED_MODULES = {"torch._utils", "torch"}
_ALLOWED = {("collections", "OrderedDict"), ("torch", "Size"), ("torch", "device")}


class _StateDictUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        allowed = (module, name) in _ALLOWED or (
            module in _ALLOWED_MODULES
            and (name.startswith("_rebuild_") or name.endswith("Storage") or name == "Tensor")
        )
        if not allowed:
            raise pickle.UnpicklingError(
                f"weights_only load refused {module}.{name}: only tensors and state-dict "
                f"containers may be loaded (torch {torch.__version__} has no weights_only; "
                "blitz restricts the unpickler itself)"
            )
        return super().find_class(module, name)


# torch.load(pickle_module=...) uses the module's Unpickler and load.
_RESTRICTED_PICKLE = SimpleNamespace(
    Unpickler=_StateDictUnpickler,
    load=lambda file, **kw: _StateDictUnpickler(file, **kw).load(),
    __name__="blitz.compat.restricted_pickle",
)


def load(f, map_location=None):
    """``torch.load(f, map_location, weights_only=True)``, or its equivalent on older torch.

    A checkpoint that names anything but tensors and state-dict containers raises
    ``pickle.UnpicklingError`` whose message says "weights_only", on every release.
    """
    if HAS_WEIGHTS_ONLY:
        return torch.load(f, map_location=map_location, weights_only=True)
    return torch.load(f, map_location=map_location, pickle_module=_RESTRICTED_PICKLE)
