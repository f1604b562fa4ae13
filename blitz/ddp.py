"""The data-parallel step ("Optional: Data Parallelism", claim C12): one DistributedDataParallel
step over several processes (gloo on CPU processes, NCCL with one GPU per process), to compare
with ``single_process_step`` over the whole batch. A worker process that fails is an
``EnvironmentProblem`` carrying its last traceback line (``worker_failure``), never a finding.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import socket
import sys
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn
from torch.torch_version import TorchVersion

from blitz import compat, devices
from blitz.errors import EnvironmentProblem
from blitz.models import Net
from blitz.train import make_optimizer, train_step
from blitz.tutorial import PROTOCOL, Protocol

# ==============================================================================================
# Data parallelism


def single_process_step(
    state: dict,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    *,
    protocol: Protocol = PROTOCOL,
    device: str | torch.device = "cpu",
) -> dict[str, torch.Tensor]:
    """One SGD step of ``Net`` loaded with ``state`` over the whole batch, on ``device``; the new
    state, on the CPU. To compare with ``data_parallel_step``, step on the ranks' kind of device
    (``cuda:0`` for NCCL): the same kernels, not the CPU's."""
    net = Net(state["conv1.weight"].shape[0])
    net.load_state_dict(state)
    net.to(device)
    optimizer = make_optimizer(net, protocol)
    train_step(net, optimizer, nn.CrossEntropyLoss(), inputs.to(device), labels.to(device))
    return {name: value.detach().cpu().clone() for name, value in net.state_dict().items()}


@dataclass(frozen=True)
class _DDPJob:
    """What every process of ``data_parallel_step`` gets (spawn pickles it for each)."""

    world_size: int
    backend: str  # gloo: CPU processes; nccl: one GPU per process
    init_method: str  # tcp://127.0.0.1:PORT, the rendezvous
    state: dict  # the Net's starting state_dict
    inputs: torch.Tensor  # the whole batch; rank r takes its r-th equal share
    labels: torch.Tensor
    protocol: Protocol
    timeout_s: float
    out: str  # the folder that receives rank{r}.pt
    # The caller's TF32 settings. A spawned process starts with torch's defaults (TF32
    # convolutions on CUDA), so without these its ranks would not compute as the caller does.
    tf32: devices.TF32


def data_parallel_step(
    state: dict,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    *,
    world_size: int = 2,
    backend: str = "gloo",
    protocol: Protocol = PROTOCOL,
    timeout_s: float = 120.0,
) -> list[dict[str, torch.Tensor]]:
    """One DistributedDataParallel step over ``world_size`` processes; each rank's new state.

    Each process loads ``state`` into a ``Net``, wraps it in DDP and steps on its equal share of
    the batch; DDP averages the gradients across processes, so each replica should end where one
    process stepping on the whole batch ends. ``gloo`` runs on CPU processes (rendezvous on a free
    loopback port), ``nccl`` on one GPU per process (rank r on ``cuda:r``). The processes
    compute with the caller's TF32 settings (``blitz.devices.tf32_settings``). A process that
    fails raises ``EnvironmentProblem`` here, with its last traceback line (``worker_failure``).
    """
    if len(inputs) % world_size:
        raise ValueError(f"a batch of {len(inputs)} does not split into {world_size} equal shares")
    with tempfile.TemporaryDirectory() as tmp:
        job = _DDPJob(
            world_size, backend, f"tcp://127.0.0.1:{free_port()}", state, inputs, labels,
            protocol, timeout_s, tmp, devices.tf32_settings(),
        )  # fmt: skip
        method = _start_method(backend)
        if method == "fork":
            # DDP imports torch._dynamo (seconds) during its first step: import it once here,
            # so that the forked processes inherit it instead of each importing it again. (Not
            # `import torch._dynamo`: that would make `torch` a local name of this function,
            # unbound on the spawn path. torch < 2.0 has no dynamo.)
            with contextlib.suppress(ImportError):
                importlib.import_module("torch._dynamo")
        try:
            mp.start_processes(_ddp_worker, args=(job,), nprocs=world_size, start_method=method)
        except _WORKER_FAILURES as exc:
            raise worker_failure(exc) from exc
        return [compat.load(Path(tmp) / f"rank{rank}.pt") for rank in range(world_size)]


# What torch.multiprocessing raises in the parent when a child process fails: the child raised
# (its traceback comes along) or it exited without a traceback (a signal, an exit code).
_WORKER_FAILURES = tuple(
    getattr(mp, name)
    for name in ("ProcessRaisedException", "ProcessExitedException")
    if hasattr(mp, name)
)


def worker_failure(exc: BaseException) -> EnvironmentProblem:
    """A failed process of ``data_parallel_step`` as the environment problem it is.

    The ranks run the same step that ``single_process_step`` runs in this process; a rank that
    crashes (spawn or import error, a port taken, the rendezvous timing out) says nothing about
    what the step computes, so it is an error of the run, not a finding about torch. The message
    keeps the child's last traceback line (``RuntimeError: ...``) or, without one, how it exited.
    """
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    last = lines[-1] if lines else type(exc).__name__
    return EnvironmentProblem(f"a data-parallel worker failed: {last}")


def _start_method(backend: str) -> str:
    """fork for CPU processes on Linux (no second import of torch: seconds saved per process,
    as DataLoader workers do); spawn elsewhere and for CUDA, which cannot be forked.

    Also spawn once this process has initialized CUDA (a run that tested cuda before cpu): a
    forked child inherits a CUDA context it cannot use, and any CUDA call there raises "Cannot
    re-initialize CUDA in forked subprocess".

    And spawn on torch before 1.13: there a child forked after the parent ran autograd (the
    suite's other tests did) refuses to run backward ("Unable to handle autograd's threading in
    combination with fork-based multiprocessing"; seen on 1.10.2 and 1.11.0, not on 1.13.1).
    """
    forkable = TorchVersion(torch.__version__) >= FORK_AFTER_AUTOGRAD_SINCE
    if (
        backend == "gloo" and sys.platform == "linux" and forkable
        and not torch.cuda.is_initialized()
    ):  # fmt: skip
        return "fork"
    return "spawn"


FORK_AFTER_AUTOGRAD_SINCE = "1.13"


def free_port() -> int:
    """A TCP port free on the loopback interface now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _loopback_interface() -> str | None:
    names = [name for _, name in socket.if_nameindex()] if hasattr(socket, "if_nameindex") else []
    return next((name for name in names if name.startswith("lo")), None)


def _ddp_worker(rank: int, job: _DDPJob) -> None:
    torch.set_num_threads(1)  # the processes share the machine's cores
    devices.set_tf32(job.tf32)  # compute as the caller does (see _DDPJob.tf32)
    if job.backend == "nccl":
        # One GPU per rank. NCCL sets up its communicator on the current device, which is cuda:0
        # in every process until set_device: the ranks would share one GPU (or hang) on 2+ GPUs.
        torch.cuda.set_device(rank)
        device = torch.device("cuda", rank)
    else:
        device = torch.device("cpu")
    loopback = _loopback_interface()
    if job.backend == "gloo" and loopback:
        os.environ["GLOO_SOCKET_IFNAME"] = loopback  # keep the traffic on this machine
    dist.init_process_group(
        job.backend, init_method=job.init_method, rank=rank, world_size=job.world_size,
        timeout=timedelta(seconds=job.timeout_s),
    )  # fmt: skip
    try:
        net = Net(job.state["conv1.weight"].shape[0])
        net.load_state_dict(job.state)
        net.to(device)
        model = nn.parallel.DistributedDataParallel(
            net, device_ids=[rank] if device.type == "cuda" else None
        )
        share_inputs = job.inputs.chunk(job.world_size)[rank].to(device)
        share_labels = job.labels.chunk(job.world_size)[rank].to(device)
        optimizer = make_optimizer(model, job.protocol)
        train_step(model, optimizer, nn.CrossEntropyLoss(), share_inputs, share_labels)
        new_state = {name: value.detach().cpu() for name, value in net.state_dict().items()}
        torch.save(new_state, Path(job.out) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()
