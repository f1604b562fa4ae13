"""The child process's run, for the probes that run in it: which script, the seed, the options.

``blitz.tutorial_source.child`` runs as ``__main__``; it sets ``SPEC`` here (the spec the runner
wrote: ``name``, ``script``, ``seed``, the CIFAR-10 subset caps, ...) before it starts the probes,
so that a probe imported from elsewhere reads the same run.
"""

from __future__ import annotations

from typing import Any

SPEC: dict[str, Any] = {}
