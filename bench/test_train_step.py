"""Training a Classifier, "Training on GPU": the tutorial's training step, timed (claim C11).

One call is the inner loop of the tutorial's ``for i, data in enumerate(trainloader)`` without
the loader: ``optimizer.zero_grad()``, ``outputs = net(inputs)``, ``criterion(outputs,
labels)``, ``loss.backward()``, ``optimizer.step()``, then a synchronize so that the GPU's queued
work is inside the timing. Inputs are random normal images already on the device (the loader and
the copy to the GPU are timed by the epoch benchmark). The grid: batch size (4, the tutorial's;
64; 512) x width (6, the tutorial's; 64; 256; 1024, the exercise) x variant x device; see
``blitz.bench.grid`` (the grid) and ``blitz.bench.workloads`` (the step in each variant).
"""

import pytest


@pytest.mark.bench_kind("train")
def test_train_step(benchmark, case, workload):
    benchmark(workload)
