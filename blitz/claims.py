"""The claim catalogue: every statement of the 60 Minute Blitz that blitz checks, as data.

Each claim has an id (T = Tensors, A = autograd, N = neural networks, C = CIFAR-10 classifier),
the tutorial section it comes from, a one-line statement, and a kind:

- ``plain``  — a behaviour the tutorial describes;
- ``golden`` — the tutorial printed this exact output (checked at the printed precision);
- ``drift``  — true on some torch versions only, or outdated: the tests assert what the installed
  torch really does and report the difference in words;
- ``benchmark`` — a claim about speed: measured by the benchmarks in ``bench/`` and judged by
  ``python -m blitz.report bench``, never by a timed test, so it has no row in the test matrix.

``revision`` says which revision of the tutorial states the claim, as the catalogue words it
and as its tests check it:

- ``snapshot`` — the snapshot the suite was written from (a build of the years when the
  tutorial's build reset ``torch.manual_seed(42)`` before each of its four scripts, June 2023 to
  May 2025: the scripts never seed themselves; its printed outputs are the goldens), and no
  longer the current revision: its code or wording was replaced in May 2026;
- ``2026``     — only the revision of the PyTorch docathon of May 2026 (pytorch/tutorials pull
  requests #3881 and #3882): the live tutorial;
- ``both``     — both state it (in the same words, or, like N12, in two forms that the tests
  check each).

The live pages are built without a seed and print other numbers at every build, so a golden is
always the snapshot's printed value, whatever the claim's revision.

``cpu_only`` marks claims about the host — its memory, its RNG, loading data from disk, files
written and read back: they have no cuda result. ``accelerator`` marks claims whose statement is
about a GPU (moving to it, training on it): they have no cpu result, so a machine without a GPU
never reports them as holding.
Tests name claims with ``@pytest.mark.claim("T01")``; the plugin reports them by these ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["plain", "golden", "drift", "benchmark"]
Revision = Literal["snapshot", "2026", "both"]
REVISIONS: tuple[str, ...] = ("snapshot", "2026", "both")

SECTIONS = {
    "tensors": "Tensors",
    "autograd": "A Gentle Introduction to torch.autograd",
    "nn": "Neural Networks",
    "cifar10": "Training a Classifier",
}


@dataclass(frozen=True)
class Claim:
    id: str
    section: str
    statement: str
    kind: Kind = "plain"
    cpu_only: bool = False
    accelerator: bool = False
    revision: Revision = "both"


def _claims(section: str, *rows: dict) -> list[Claim]:
    return [Claim(section=section, **row) for row in rows]


def _row(
    id: str, statement: str, kind: Kind = "plain", *, cpu_only: bool = False,
    accelerator: bool = False, revision: Revision = "both",
) -> dict:  # fmt: skip
    return dict(
        id=id, statement=statement, kind=kind, cpu_only=cpu_only, accelerator=accelerator,
        revision=revision,
    )  # fmt: skip


CLAIMS: dict[str, Claim] = {
    c.id: c
    for c in [
        *_claims(
            "tensors",
            _row("T01", "torch.tensor(data) infers the dtype"),
            _row(
                "T02", "torch.from_numpy creates a tensor from a NumPy array, values and dtype kept"
            ),
            _row("T03", "ones_like keeps the shape and dtype of its argument", "golden"),
            _row("T04", "rand_like(x, dtype=torch.float) overrides the dtype", "golden"),
            _row("T05", "rand/ones/zeros take a shape tuple", "golden"),
            _row("T06", "a tensor's shape, dtype and device attributes", "golden"),
            # The 2026 revision moves tensors with torch.accelerator instead (T18).
            _row(
                "T07",
                "a tensor moves to the GPU with .to('cuda'), values unchanged",
                accelerator=True,
                revision="snapshot",
            ),
            _row(
                "T08",
                "every operation of the section runs on the GPU with the CPU's result",
                accelerator=True,
            ),
            _row("T09", "NumPy-like indexing and slicing", "golden"),
            _row("T10", "torch.cat joins along a given dim; torch.stack adds a new dim", "golden"),
            _row("T11", "mul and * are the elementwise product", "golden"),
            _row("T12", "matmul and @ are matrix multiplication", "golden"),
            _row("T13", "ops with a _ suffix are in-place", "golden"),
            _row("T14", "in-place ops lose history, which breaks derivatives"),
            _row("T15", "a CPU tensor and t.numpy() share memory", "golden", cpu_only=True),
            _row("T16", "from_numpy shares memory the other way", "golden", cpu_only=True),
            _row("T17", "memory sharing with NumPy is for CPU tensors only", accelerator=True),
            _row(
                "T18",
                "torch.accelerator picks the device: the accelerator if available, else cpu",
                revision="2026",
            ),
        ),
        *_claims(
            "autograd",
            _row("A01", "a single training step of resnet18: forward, backward, SGD step"),
            _row("A02", "requires_grad=True makes autograd track every operation"),
            _row("A03", "the gradients of Q = 3a^3 - b^2 are 9a^2 and -2b", "golden"),
            _row("A04", "backward of a vector output needs an explicit gradient"),
            _row("A05", "autograd computes vector-Jacobian products J^T v"),
            _row("A06", "gradients accumulate in .grad"),
            _row("A07", "the DAG is rebuilt at every iteration (dynamic graphs)"),
            _row("A08", "an op's output requires grad if any input does", "golden"),
            _row("A09", "frozen resnet18 parameters: only the new fc is trained"),
            _row("A10", "torch.no_grad() excludes computations from the DAG"),
            # "works only on the CPU and will not work on GPU": a statement about the GPU.
            _row("A11", "'this tutorial works only on the CPU'", "drift", accelerator=True),
        ),
        *_claims(
            "nn",
            _row("N01", "the LeNet definition prints as shown", "golden"),
            _row("N02", "net.parameters() returns the 10 learnable parameters", "golden"),
            _row("N03", "a 32x32 input gives 10 outputs", "golden"),
            _row("N04", "backward with random gradients after zero_grad fills every grad"),
            _row("N05", "'torch.nn only supports mini-batches': use unsqueeze(0)", "drift"),
            _row("N06", "an nn.Parameter assigned to a Module attribute is registered"),
            _row("N07", "Module helpers move, export and load parameters"),
            _row("N08", "nn.MSELoss computes the mean squared error", "golden"),
            _row("N09", "following grad_fn backwards walks the graph", "golden"),
            _row("N10", "zero_grad clears the gradient buffers (prints None)", "drift"),
            _row("N11", "after loss.backward() conv1's bias has a gradient", "golden"),
            # The snapshot's f.data.sub_(f.grad.data * lr), the 2026 revision's
            # f -= f.grad * lr under torch.no_grad(): a test for each form.
            _row("N12", "SGD by hand equals optim.SGD"),
            _row("N13", "gradients accumulate unless optimizer.zero_grad()"),
            _row(
                "N14",
                "net.zero_grad() and optimizer.zero_grad() clear the same buffers",
                revision="2026",
            ),
        ),
        *_claims(
            "cifar10",
            _row(
                "C01",
                "torchvision loads CIFAR-10: 50,000 train / 10,000 test, 10 classes",
                cpu_only=True,
            ),
            # C02 and C03 check the snapshot's v1 transform (ToTensor + Normalize) and the batches
            # it gives, with the seeded golden batch; the 2026 revision's v2 transform is C13.
            _row(
                "C02",
                "images are 3x32x32; the transform maps them to [-1, 1]",
                cpu_only=True,
                revision="snapshot",
            ),
            _row(
                "C03",
                "DataLoader(batch_size=4, shuffle=True, num_workers=2) batches",
                "golden",
                cpu_only=True,
                revision="snapshot",
            ),
            _row("C04", "the first test batch is cat ship ship plane", "golden", cpu_only=True),
            _row("C05", "the 3-channel Net gives (N, 10) with 62,006 parameters"),
            _row("C06", "CrossEntropyLoss + SGD(lr=0.001, momentum=0.9): the loss falls"),
            _row("C07", "2 epochs reach about 54% test accuracy, far above chance (10%)"),
            _row("C08", "per-class accuracy for the 10 classes"),
            _row(
                "C09",
                "save and reload the state_dict: all keys match, same predictions",
                cpu_only=True,
            ),
            _row("C10", "training on the GPU: move the net and every input", accelerator=True),
            _row(
                "C11",
                "a GPU gives no massive speedup for the small net; widening it does",
                "benchmark",
            ),
            _row("C12", "a data-parallel step equals one process over the whole batch"),
            _row(
                "C13",
                "the v2 transform maps pixels to [-1, 1] as the v1 transform does",
                cpu_only=True,
                revision="2026",
            ),
            # The snapshot links the "Optional: Data Parallelism" page without stating this.
            _row(
                "C14",
                "nn.DataParallel splits the batch over the GPUs and gathers the outputs",
                accelerator=True,
                revision="2026",
            ),
        ),
    ]
}


def tested() -> list[Claim]:
    """The claims that tests check (every kind but ``benchmark``), in catalogue order."""
    return [c for c in CLAIMS.values() if c.kind != "benchmark"]


def get(claim_id: str) -> Claim:
    """The catalogue entry for ``claim_id``; a clear KeyError for an unknown id."""
    try:
        return CLAIMS[claim_id]
    except KeyError:
        raise KeyError(f"unknown claim id {claim_id!r}: not in blitz.claims.CLAIMS") from None
