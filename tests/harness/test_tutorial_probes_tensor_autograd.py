"""The claim probes of the tensor and autograd scripts (``blitz.tutorial_source.probes``'s
``tensor_*`` and ``autograd_*``), and what they share (parsing printed output).

Our own scripts in the tutorial's format (``data/tutorial_source/checkouts/``): ``current``
states the claims in words and names of its own (a seed-dependent print, the 2026 revision's
``torch.accelerator``); ``old`` leaves most of them out, prints other numbers than a golden,
compares a gradient with the wrong formula, and has cells that raise. The checkouts run once for
the session (``tutorial_checkouts``, tests/harness/conftest.py); the finders and the checks are
also tested on source text and on namespaces made here, with no child process, and a torch
without ``torch.accelerator`` on a cell error made here.
"""

from __future__ import annotations

import ast
import contextlib
import io
from pathlib import Path

import pytest
import torch

from blitz.tutorial_source import cells, verdicts
from blitz.tutorial_source.probes import load_all
from blitz.tutorial_source.probes.base import FAILS, HOLDS, PARTIAL, Seen
from blitz.tutorial_source.probes.printed_text import tokens
from blitz.tutorial_source.probes.running import run_check
from blitz.tutorial_source.probes.tensor_device import expected_device

CHECKOUTS = Path(__file__).parent / "data" / "tutorial_source" / "checkouts"
BLITZ = Path("beginner_source") / "blitz"
NAMES = ["tensor", "autograd"]


def line_of(checkout: str, script: str, text: str) -> int:
    lines = (CHECKOUTS / checkout / BLITZ / script).read_text(encoding="utf-8").splitlines()
    (number,) = [i for i, line in enumerate(lines, 1) if text in line]
    return number


@pytest.fixture(scope="module")
def runs(tutorial_checkouts):
    """Each checkout's run (the session's) and its verdicts."""
    return {name: (run, verdicts.verdicts(run)) for name, run in tutorial_checkouts.items()}


# ----------------------------------------------------------------------------------------------
# The current revision: every claim it states holds


# claim: its status, then the words its note holds (separated by '; ')
CURRENT = {
    "T01": "holds: int data gives int64",
    "T02": "holds: NumPy int64 gives torch.int64; uint16",
    "T03": "holds: all_ones: (2, 2) int64",
    "T04": "holds: torch.int64 -> torch.float32",
    "T05": "holds: rand(2, 3), ones(2, 3), zeros(2, 3)",
    "T06": "holds: (2, 5) torch.float32 cpu",
    "T09": "holds: grid[:, 2] = 0 as in NumPy",
    "T10": "holds: cat on dim=0: (6, 4); stack: (2, 3, 4)",
    "T11": "holds: grid.mul(grid) == grid * grid",
    "T12": "holds: grid.matmul(grid.T) == grid @ grid.T",
    "T13": "holds: grid.add_(2) in place",
    "T14": "skipped: text only",
    "T15": "holds: shares its memory; source.add_(3) shows in view",
    "T16": "holds: np.add(backing, 2, out=backing) shows in shared; float64",
    "T18": "holds: torch.accelerator; on_target moved to",
    "A01": "holds: scores = net(image): (1, 1000); 62/62 parameters by -lr * grad",
    "A02": "holds: P.grad_fn is SubBackward0; 4 operations tracked",
    "A03": "holds: 6 * u ** 2 == u.grad; -2 * w == w.grad",
    "A04": "holds: P.backward() raises RuntimeError; equals gradient=ones",
    "A05": "holds: u.grad, w.grad = J^T v",
    "A06": "skipped: text only",
    "A07": "skipped: text only",
    "A08": "holds: plain + other: False; plain + tracked: True",
    "A09": "holds: only fc.weight, fc.bias require grad; a step changes only fc.weight",
    "A10": "holds: untracked made inside: no grad_fn",
}


@pytest.mark.parametrize("claim", sorted(CURRENT))
def test_the_current_revision_states_and_holds_its_claims(runs, claim):
    _, found = runs["current"]
    status, words = CURRENT[claim].split(": ", 1)
    verdict = found[claim]
    assert verdict.status == status, verdict
    for word in words.split("; "):
        assert word in verdict.note, (word, verdict.note)


def test_the_current_revisions_findings_name_the_lines_of_the_statements(runs):
    _, found = runs["current"]
    tensor = "tensor_tutorial.py"
    assert found["T03"].where == [f"{tensor}:{line_of('current', tensor, 'torch.ones_like')}"]
    assert found["T04"].where == [f"{tensor}:{line_of('current', tensor, 'torch.rand_like')}"]
    # T15 is stated over two cells: the array made, then the change that shows in it
    assert found["T15"].where == [
        f"{tensor}:{line_of('current', tensor, 'view = source.numpy()')}",
        f"{tensor}:{line_of('current', tensor, 'source.add_(3)')}",
    ]
    autograd = "autograd_tutorial.py"
    assert found["A01"].where[-1] == f"{autograd}:{line_of('current', autograd, 'sgd.step()')}"


def test_the_goldens_of_the_current_revision_were_compared(runs):
    """The seed-dependent prints are the golden's form there: no note says otherwise."""
    _, found = runs["current"]
    for claim in ("T04", "T05"):
        assert "no golden" not in found[claim].note
        assert not found[claim].unchecked


def test_every_print_of_the_current_revision_is_read_by_a_probe(runs):
    run, _ = runs["current"]
    for name in NAMES:
        assert verdicts.printed_unchecked(run.scripts[name]) == []


# ----------------------------------------------------------------------------------------------
# The old revision: claims left out read absent; wrong prints and failing cells read FAILS

OLD = {
    "T01": "absent", "T02": "absent", "T03": "absent", "T04": "fails", "T05": "absent",
    "T06": "absent", "T09": "holds", "T10": "fails", "T11": "absent", "T12": "absent",
    "T13": "holds", "T14": "absent", "T15": "holds", "T16": "absent", "T18": "absent",
    "A01": "absent", "A02": "fails", "A03": "fails", "A04": "holds", "A05": "holds",
    "A06": "absent", "A07": "skipped", "A08": "absent", "A09": "absent", "A10": "absent",
}  # fmt: skip


@pytest.mark.parametrize("claim", sorted(OLD))
def test_the_old_revision(runs, claim):
    _, found = runs["old"]
    assert found[claim].status == OLD[claim], found[claim]


def test_a_claim_the_old_revision_leaves_out_says_what_was_looked_for(runs):
    _, found = runs["old"]
    assert "torch.accelerator" in found["T18"].note
    assert "resnet18" in found["A01"].note
    assert found["A06"].note.startswith("not stated")


def test_a_print_other_than_the_golden_fails(runs):
    _, found = runs["old"]
    line = line_of("old", "tensor_tutorial.py", "torch.rand_like")
    assert found["T04"].note.startswith(f"tensor_tutorial.py:{line}: the output shows spread")
    assert "not the golden [[0.8823, 0.915], [0.3829, 0.9593]]" in found["T04"].note


def test_a_cell_that_raises_fails_its_claim_naming_the_line(runs):
    _, found = runs["old"]
    line = line_of("old", "tensor_tutorial.py", "torch.cat(x, x)")
    assert f"line {line} raised TypeError" in found["T10"].note
    line = line_of("old", "autograd_tutorial.py", "print(y.creator)")
    assert f"line {line} raised AttributeError" in found["A02"].note
    assert "creator" in found["A02"].note


def test_a_gradient_compared_with_the_wrong_formula_fails(runs):
    _, found = runs["old"]
    assert "a.grad is [36.0, 81.0], 9 * a is [18.0, 27.0]: not equal exactly" in (found["A03"].note)


def test_a_vector_built_in_a_loop_is_rebuilt_for_its_jacobian(runs):
    _, found = runs["old"]
    assert "y.sum().backward() equals gradient=ones" in found["A04"].note
    assert "x.grad = J^T v for v = v" in found["A05"].note


# ----------------------------------------------------------------------------------------------
# Finders, on source text alone


def seen(source: str, script: str = "tensor", script_text: str = "") -> Seen:
    """The cell ``source``, where it is in ``script_text`` (the whole script)."""
    text = script_text or source
    lineno = text[: text.index(source)].count("\n") + 1
    return Seen(script, source, lineno, script_text=text)


def probes(claim: str):
    return load_all().for_claim(claim)


def found(claim: str, source: str, script: str = "tensor", script_text: str = "") -> list:
    look = seen(source, script, script_text)
    return [p.find(look) for p in probes(claim) if p.find(look)]


def test_ones_like_is_found_by_its_call_and_not_in_a_gpu_branch():
    assert found("T03", "ones = torch.ones_like(data)\nprint(ones)")
    assert not found("T03", "ones = torch.ones_like(data, dtype=torch.float)")
    assert not found(
        "T03", "if torch.cuda.is_available():\n    y = torch.ones_like(x, device=device)"
    )


def test_rand_like_needs_a_dtype_to_override():
    assert found("T04", "r = torch.rand_like(x, dtype=torch.float)")
    assert found("T04", "r = torch.randn_like(x, dtype=torch.float)")
    assert not found("T04", "r = torch.rand_like(x)")


def test_a_shape_tuple_is_a_literal_or_a_name_bound_to_one():
    assert found("T05", "shape = (2, 3,)\nr = torch.rand(shape)")
    assert found("T05", "r = torch.zeros((4, 1))")
    assert found("T05", "r = torch.ones(d)", script_text="d = (2, 2)\nr = torch.ones(d)")
    assert not found("T05", "r = torch.rand(5, 3)")
    assert not found("T05", "r = torch.rand(n)", script_text="n = 5\nr = torch.rand(n)")


def test_the_attributes_are_found_where_one_tensor_shows_all_three():
    assert found("T06", "print(t.shape)\nprint(t.dtype)\nprint(t.device)")
    assert found("T06", "print(t.size(), t.dtype, t.device)")
    assert not found("T06", "print(x.size())")


def test_the_accelerator_claim_is_found_only_where_torch_accelerator_is_used():
    modern = (
        "device = torch.accelerator.current_accelerator().type "
        "if torch.accelerator.is_available() else 'cpu'"
    )
    assert found("T18", modern)
    assert not found("T18", "device = 'cuda' if torch.cuda.is_available() else 'cpu'")


def test_the_memory_claims_are_found_by_the_sharing_calls():
    assert found("T15", "n = t.numpy()")
    assert not found("T15", "n = t.numpy().copy()")
    script = "n = np.ones(5)\nt = torch.from_numpy(n)\nnp.add(n, 1, out=n)"
    assert found("T16", "np.add(n, 1, out=n)", script_text=script)
    other = "n, m = np.ones(5), np.ones(5)\nt = torch.from_numpy(n)\nnp.add(m, 1, out=m)"
    assert not found("T16", "np.add(m, 1, out=m)", script_text=other)


def test_the_tracked_operation_needs_a_leaf_that_requires_grad():
    script = "a = torch.tensor([2., 3.], requires_grad=True)\nQ = 3*a**3 - a**2\n"
    assert found("A02", "Q = 3*a**3 - a**2", "autograd", script)
    untracked = "a = torch.tensor([2., 3.])\nQ = 3*a**3 - a**2\n"
    assert not found("A02", "Q = 3*a**3 - a**2", "autograd", untracked)


def test_the_autograd_code_claims_are_found_by_their_code():
    assert found("A03", "print(9*a**2 == a.grad)", "autograd")
    assert not found("A03", "print(a.grad)", "autograd")
    assert found("A04", "Q.backward(gradient=external_grad)", "autograd")
    assert found("A05", "y.backward(v)", "autograd")
    assert not found("A04", "loss.backward()", "autograd")
    assert found("A01", "model = torchvision.models.resnet18(pretrained=True)", "autograd")
    frozen = "model = resnet18()\nfor p in model.parameters():\n    p.requires_grad = False"
    assert not found("A01", frozen, "autograd")  # that cell is A09's
    assert found("A09", frozen, "autograd")
    assert found("A10", "with torch.no_grad():\n    print((x ** 2).requires_grad)", "autograd")


def test_no_finder_breaks_on_a_cell_it_sees_without_a_run():
    """``verdicts`` asks the finders about cells that never ran (no namespace; the script's
    text where its file is there): every cell of every script here, under every probe's script
    name, with and without the script's text."""
    registry = load_all()
    for path in sorted(CHECKOUTS.parent.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for cell in cells.split_file(path).code_cells:
            for probe in registry.probes:
                probe.find(Seen(probe.script, cell.source, cell.lineno))
                probe.find(Seen(probe.script, cell.source, cell.lineno, script_text=text))


def test_claims_of_the_text_are_registered_as_prose():
    registry = load_all()
    for claim in ("T14", "A06", "A07", "A10", "A05"):
        assert registry.prose_for(claim), claim
    (t14,) = registry.prose_for("T14")
    assert t14.pattern.search(
        "In-place operations save some memory, but can be problematic when computing "
        "derivatives because of an immediate loss of history."
    )


# ----------------------------------------------------------------------------------------------
# Printed output


def test_the_printed_values_are_parsed_with_their_dtype_and_precision():
    text = (
        "Ones Tensor: \n tensor([[1, 1],\n        [1, 1]]) \n\nRandom: \n "
        "tensor([[0.8823, 0.9150],\n        [0.3829, 0.9593]])\n"
        "t: tensor([2., 2.], dtype=torch.float64)\nn: [2. 2. 2.]\n"
        "torch.Size([3, 4]) torch.float32 cpu True <AddBackward0 object at 0x7f00>\n"
        "tensor([1.0240e+02, 1.0240e-01])\n"
    )
    kinds = [t.kind for t in tokens(text)]
    assert kinds == [
        "tensor", "tensor", "tensor", "array", "size", "dtype", "device", "bool", "gradfn",
        "tensor",
    ]  # fmt: skip
    ones, uniform, doubles, array, size, *_, gradfn, scientific = tokens(text)
    assert (ones.values, ones.dtype) == ([[1, 1], [1, 1]], "torch.int64")
    assert (uniform.dtype, uniform.decimals) == ("default float", 4)
    assert doubles.dtype == "torch.float64"
    assert array.values == [2.0, 2.0, 2.0]
    assert size.values == [3, 4]
    assert gradfn.values == "AddBackward0"
    assert scientific.scientific and scientific.values == [102.4, 0.1024]


def run_here(source: str, seed: int | None = 42) -> Seen:
    """A cell of ``source`` run here (the generator seeded with 42 first and restored after),
    as a probe would see it."""
    namespace: dict = {"torch": torch}
    out = io.StringIO()
    with torch.random.fork_rng(devices=[]), contextlib.redirect_stdout(out):
        torch.manual_seed(42)
        exec(compile(source, "<cell>", "exec"), namespace)
    return Seen("tensor", source, 1, namespace=namespace, stdout=out.getvalue(), seed=seed,
                script_text=source)  # fmt: skip


def check(claim: str, look: Seen):
    (probe,) = probes(claim)
    match = probe.find(look)
    assert match
    return run_check(probe, look, match, 1)


RAND_LIKE = """x = torch.tensor([[1, 2], [3, 4]])
r = torch.rand_like(x, dtype=torch.float)
print(r)
"""


def test_the_golden_holds_under_the_builds_seed():
    finding = check("T04", run_here(RAND_LIKE))
    assert finding.status == HOLDS, finding
    assert finding.read_output


def test_the_golden_is_not_checked_under_another_seed():
    finding = check("T04", run_here(RAND_LIKE, seed=None))
    assert finding.status == PARTIAL, finding
    assert "the golden" in finding.unchecked[0]


def test_a_print_that_is_not_the_value_fails():
    finding = check("T04", run_here(RAND_LIKE + "r.zero_()\n"))
    assert finding.status == FAILS, finding
    assert "not its value at the printed precision" in finding.note


def test_a_uniform_draw_before_shifts_the_golden_along_the_seeded_stream():
    finding = check("T04", run_here("torch.rand(3)\n" + RAND_LIKE))
    assert finding.status == HOLDS, finding
    assert "no golden" not in finding.note


def test_a_draw_blitz_cannot_count_leaves_no_golden_to_compare():
    finding = check("T04", run_here("torch.randn(3)\n" + RAND_LIKE))
    assert finding.status == HOLDS, finding
    assert "no golden" in finding.note


def test_a_tensor_moved_under_an_accelerator_test_is_on_the_machines_device():
    look = run_here(
        "t = torch.ones(2)\nif torch.accelerator.is_available():\n"
        "    t = t.to(torch.accelerator.current_accelerator())\n"
    )
    finding = check("T18", look)
    assert finding.status == HOLDS, finding
    assert f"t is on {expected_device()}" in finding.note


ACCELERATOR_CELL = (
    "device = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() "
    "else 'cpu'\n"
)


def test_a_torch_without_accelerator_reads_drift_with_its_version(raised):
    """CLAIMS.md: drift on every version that lacks ``torch.accelerator``, with the version."""
    message = "module 'torch' has no attribute 'accelerator'"
    finding = raised("T18", "tensor", ACCELERATOR_CELL, "AttributeError", message)
    assert finding.status == "drift", finding
    assert finding.note.startswith(f"torch.accelerator is absent on torch {torch.__version__}")
    assert message in finding.note and finding.drift == [finding.note]
    other = raised(
        "T18", "tensor", ACCELERATOR_CELL, "AttributeError", "'str' has no attribute 'x'"
    )
    assert other.status == FAILS, other


def test_a_check_leaves_the_scripts_generators_as_they_were():
    look = run_here("shape = (2, 3)\nr = torch.rand(shape)\nprint(r)\n")
    state = torch.get_rng_state()
    (probe,) = probes("T05")
    with torch.random.fork_rng(devices=[]):
        torch.set_rng_state(state)
        run_check(probe, look, probe.find(look), 1)
        assert torch.equal(torch.get_rng_state(), state)


def test_a_tracked_operation_whose_graph_misses_an_operation_fails():
    """``.detach()`` in the middle: one operation fewer is tracked than the code shows."""
    look = run_here("a = torch.tensor([2., 3.], requires_grad=True)\nQ = 3 * a.detach() ** 3 - a\n")
    look.script = "autograd"
    (probe,) = probes("A02")
    statement = next(n for n in ast.walk(look.tree) if isinstance(n, ast.Assign) and
                     n.targets[0].id == "Q")  # fmt: skip
    finding = run_check(probe, look, statement, 1)
    assert finding.status == FAILS, finding
    assert "operations on tracked tensors" in finding.note
