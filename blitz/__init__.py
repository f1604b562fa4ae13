"""blitz: a conformance suite and benchmark harness for the PyTorch "60 Minute Blitz".

The library knows the tutorial (models, data, training), the tests assert its claims,
the pytest plugin reports them claim by claim and device by device, the benchmarks measure.
"""

__version__ = "0.1.0"
