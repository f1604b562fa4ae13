"""Loads blitz's plugins for this project: the claims plugin (the device parametrization, the
claim marker, the claims matrix) and the benchmark harness's hooks (they act on the benchmarks in
bench/ alone: the tests that take a ``case``)."""

pytest_plugins = ["blitz.plugin", "blitz.bench.plugin"]
