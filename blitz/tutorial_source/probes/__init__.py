"""The claim probes: for each catalogue claim that the tutorial's scripts state in their code,
where a revision states it (found by its code) and the check of it against what that code did.

- ``base``: ``Seen`` (a cell as a probe sees it), ``ClaimProbe``, the ``probe`` and ``prose``
  registrations, the finders (``calls``, ``code_matches``);
- ``tensor``, ``autograd``, ``neural_networks``, ``cifar10``, ``data_parallel``: the probes of
  each script;
- ``running``: ``ClaimProbes``, what the child process runs after each cell;
- ``blitz.tutorial_source.verdicts`` turns a run's findings into each claim's verdict.
"""

from __future__ import annotations

import importlib

from blitz.tutorial_source.probes.base import REGISTRY, Registry

MODULES = ("tensor", "autograd", "neural_networks", "cifar10", "data_parallel")


def load_all() -> Registry:
    """The registry with every probe module imported (torch-free: checks import torch when
    they run)."""
    for name in MODULES:
        importlib.import_module(f"{__name__}.{name}")
    return REGISTRY
