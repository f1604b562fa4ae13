"""The benchmark harness, from the package: ``blitz.bench.plugin`` (its hooks and fixtures)."""

# A star import, not pytest_plugins: pytest refuses pytest_plugins in a conftest below the
# rootdir once a run collects it late (``pytest .``).
from blitz.bench.plugin import *  # noqa: F403
