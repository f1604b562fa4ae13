"""Training a Classifier, "Test the network on the test data": inference throughput (claim C11).

One call is ``net(images)`` under ``torch.no_grad()`` with the net in eval mode, then a
synchronize. Same grid as the training step (``blitz.bench.grid``).
"""

import pytest


@pytest.mark.bench_kind("inference")
def test_inference(benchmark, case, workload):
    benchmark(workload)
