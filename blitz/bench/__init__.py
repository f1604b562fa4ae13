"""The benchmark harness of the tutorial's training step and inference (claim C11).

The tutorial, "Training on GPU": "Why don't I notice MASSIVE speedup compared to CPU? Because
your network is really small." and the exercise: widen the network and see what speedup you
get. The benchmarks (``bench/test_*.py``, run with ``pytest bench``) time the step on every
device over batch size x width x variant; ``python -m blitz.report bench`` reads the saved runs
and gives the GPU/CPU speedup and the verdict on C11. A pass here means "measured", never "the
claim holds", so the benchmarks carry no ``claim`` marker and have no row in the claims matrix
(see ``blitz.claims``).

- ``grid``: torch-free, shared by the harness and the report: the grid (``Case``, ``Variant``,
  ids), the FLOP model and the size limit, the timing settings, the ``extra_info`` schema.
- ``workloads``: the timed calls, built from ``blitz.models`` and ``blitz.train``; what a case
  needs that is missing here (a GPU, torch.compile's toolchain); out-of-memory errors; the
  machine facts a saved run records.
- ``plugin``: the pytest hooks and fixtures (the root ``conftest.py`` loads them): the options, the
  parametrization, the timing marker, the ``workload`` fixture.

This package imports no torch; ``workloads`` and ``plugin`` do.
"""
