"""blitz.train's data-parallel step on spawned processes: the way NCCL's ranks start on GPUs,
and gloo's once this process has initialized CUDA. Rehearsed on the CPU with gloo."""

from __future__ import annotations

import pytest
import torch

from blitz import ddp, train, train_cli
from blitz.models import Net


def test_gloo_forks_until_cuda_is_initialized(monkeypatch):
    assert ddp._start_method("nccl") == "spawn"
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: False)
    # Before torch 1.13 a child forked after autograd ran refuses backward: spawn there.
    forkable = train_cli.sys.platform == "linux" and ddp.TorchVersion(torch.__version__) >= "1.13"
    assert ddp._start_method("gloo") == ("fork" if forkable else "spawn")
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    assert ddp._start_method("gloo") == "spawn"


@pytest.mark.slow
def test_data_parallel_step_on_spawned_processes(monkeypatch):
    # Spawned processes import torch afresh: seconds each, hence slow.
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(8, 3, 32, 32, generator=generator)
    labels = torch.randint(0, 10, (8,), generator=generator)
    torch.manual_seed(42)
    state = Net().state_dict()
    protocol = train.Protocol(lr=1.0)  # as C12: the update is the whole gradient
    ranks = ddp.data_parallel_step(state, inputs, labels, protocol=protocol)
    whole_batch = ddp.single_process_step(state, inputs, labels, protocol=protocol)
    assert len(ranks) == 2
    for name in state:
        assert torch.equal(ranks[0][name], ranks[1][name]), name
        # as C12, on the updates: float32 sums in another order (relative 1e-4), and new - old
        # rounded relative to the parameter (atol 1e-6)
        torch.testing.assert_close(
            ranks[0][name] - state[name], whole_batch[name] - state[name], rtol=1e-4, atol=1e-6
        )
