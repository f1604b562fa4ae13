"""The claim probes: for each catalogue claim that the tutorial's scripts state in their code,
where a revision states it (found by its code) and the check of it against what that code did.

- ``base``: ``Seen`` (a cell as a probe sees it, and the code its text shows after it),
  ``ClaimProbe``, the ``probe`` and ``prose`` registrations, the finders (``calls``,
  ``code_matches``, ``shown``); ``shown``: the literal code blocks of the text;
- what the checks share: ``syntax`` (AST helpers, where a name is bound, evaluating the cell's
  expressions again), ``printed_text`` (parsing printed values) and ``printed_map`` (which
  printed expression each is), ``compare`` (``assert_close`` and the printed-precision
  comparisons), ``objects`` (copies of the script's objects; code run against them);
- the probes, a module per script and topic (``MODULES``): ``tensor_create``, ``tensor_numpy``,
  ``tensor_ops``, ``tensor_device``; ``autograd_training``, ``autograd_graph``,
  ``autograd_backward``; ``nn_define``, ``nn_loss``, ``nn_update``; ``cifar10_data``,
  ``cifar10_transforms``, ``cifar10_training``, ``cifar10_saving``; ``data_parallel``; and
  ``in_text``, the claims the text states in words only;
- ``running``: ``ClaimProbes``, what the child process runs after each cell;
- ``blitz.tutorial_source.verdicts`` turns a run's findings into each claim's verdict.
"""

from __future__ import annotations

import importlib

from blitz.tutorial_source.probes.base import REGISTRY, Registry

# The probe modules, in the tutorial's order (per claim, a module registers its probes in order).
MODULES = (
    "tensor_create", "tensor_numpy", "tensor_ops", "tensor_device",
    "autograd_training", "autograd_graph", "autograd_backward",
    "nn_define", "nn_loss", "nn_update",
    "cifar10_data", "cifar10_transforms", "cifar10_training", "cifar10_saving",
    "data_parallel", "in_text",
)  # fmt: skip


def load_all() -> Registry:
    """The registry with every probe module imported (torch-free: checks import torch when
    they run)."""
    for name in MODULES:
        importlib.import_module(f"{__name__}.{name}")
    return REGISTRY
