"""The claim probes of the "Neural Networks" and "Training a Classifier" scripts (and the data
parallelism page, which states no claim a CPU can check): ``blitz.tutorial_source.probes``'s
``nn_*``, ``cifar10_*`` and ``data_parallel``; and code the text shows, which the build never
runs (``Seen.shown_code``).

The scripts are blitz's own, in the tutorial's format (``data/tutorial_source/checkouts/``):
``current`` states the claims with its own code and names (a class ``LeNet`` and a ``model``,
``weights``, ``error``...), ``old`` leaves claims out, states the update by hand in its text
only, draws its first batch with ``dataiter.next()`` (gone from DataLoader iterators since torch
1.13), and behaves wrongly in three places. The checkouts run once for the session
(``tutorial_checkouts``, tests/harness/conftest.py), on a tiny CIFAR-10 copy whose first four
test labels are the tutorial's (cat ship ship plane); the runs are capped, so the protocol's
claims (C06-C08) read partial, as in a quick run of the real tutorial. Then a few finders, on
source strings, without a child process; C13 on a torchvision without ``transforms.v2``, on cell
errors made here; and code the text shows, run here against copies of a cell's objects.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
import torchvision

from blitz.tutorial_source import cells, verdicts
from blitz.tutorial_source.probes import (
    cifar10_data,
    cifar10_training,
    cifar10_transforms,
    load_all,
    nn_define,
    nn_loss,
    nn_update,
)
from blitz.tutorial_source.probes.base import Seen
from blitz.tutorial_source.probes.running import run_check
from blitz.tutorial_source.result import CELL_ERRORS, OK

CHECKOUTS = Path(__file__).parent / "data" / "tutorial_source" / "checkouts"
SCRIPTS = ("neural_networks", "cifar10", "data_parallel")


@pytest.fixture(scope="module")
def runs(tutorial_checkouts) -> dict:
    """Both checkouts' runs (the session's): {checkout: SourceRun}."""
    return tutorial_checkouts


@pytest.fixture(scope="module")
def current(runs) -> dict:
    return verdicts.verdicts(runs["current"])


@pytest.fixture(scope="module")
def old(runs) -> dict:
    return verdicts.verdicts(runs["old"])


def line_of(checkout: str, name: str, text: str) -> int:
    """The line of the checkout's script ``name`` that holds ``text``."""
    path = CHECKOUTS / checkout / "beginner_source" / "blitz" / f"{name}_tutorial.py"
    (number,) = [n for n, line in enumerate(path.read_text().split("\n"), 1) if text in line]
    return number


def assert_verdict(found: dict, claim: str, status: str, *words: str) -> None:
    verdict = found[claim]
    assert verdict.status == status, (claim, verdict.status, verdict.note, verdict.unchecked)
    text = " ".join([verdict.note, *verdict.unchecked])
    for word in words:
        assert word in text, (claim, word, text)


def test_the_scripts_ran(runs):
    for checkout, run in runs.items():
        for name in SCRIPTS:
            script = run.scripts[name]
            if checkout == "old" and name == "data_parallel":
                assert script.status == "missing"
                continue
            expected = CELL_ERRORS if (checkout, name) == ("old", "cifar10") else OK
            assert script.status == expected, (checkout, name, script.error, script.cells)
            assert all(cell.ran for cell in script.cells)


# ----------------------------------------------------------------------------------------------
# The current checkout: every claim it states holds, drifts, or (the protocol) is partial


@pytest.mark.parametrize("claim", ["N01", "N02", "N03", "N04", "N08", "N09", "N11", "N13"])
def test_current_nn_claims_hold(current, claim):
    assert_verdict(current, claim, "holds")


def test_current_nn_notes(current):
    # the class is LeNet: the golden body, with a note on the name
    assert_verdict(current, "N01", "holds", "the class is called LeNet")
    line = line_of("current", "neural_networks", "print(model)")
    assert current["N01"].where == [f"neural_networks_tutorial.py:{line}"]


def test_current_nn_drifts(current):
    assert_verdict(current, "N05", "drift", "nn.Conv2d takes an unbatched", "unsqueeze(0)")
    assert_verdict(current, "N10", "drift", "sets every .grad to None", "model.conv1.bias.grad")
    assert_verdict(current, "N14", "holds")  # torch >= 2.0: both leave None


def test_current_states_both_update_forms(current):
    verdict = current["N12"]
    assert verdict.status == "holds", verdict.note
    lines = [
        line_of("current", "neural_networks", "learning_rate = 0.01"),  # shown in the text
        line_of("current", "neural_networks", "for w in model.parameters():  # by hand"),
        line_of("current", "neural_networks", "with torch.no_grad():"),
    ]
    assert verdict.where == [f"neural_networks_tutorial.py:{n}" for n in lines]


def test_code_the_text_shows_is_run_against_copies(current, runs):
    """The update by hand and the optimizer's step that the text shows (``.. code:: python``, a
    ``::`` paragraph), run against copies of the objects after the backprop cell."""
    backprop = line_of("current", "neural_networks", 'print("bias gradient after backward")')
    after = runs["current"].scripts["neural_networks"].cell_at(backprop).lineno
    for claim, first in (("N12", "learning_rate = 0.01"), ("N13", "#         import torch.optim")):
        line = line_of("current", "neural_networks", first)
        assert_verdict(
            current, claim, "holds", f"the code shown in the text (line {line}), which the build "
            f"does not run, against copies of the script's objects after line {after}",
        )  # fmt: skip
        assert current[claim].where[0] == f"neural_networks_tutorial.py:{line}"
    assert "equals optim.SGD(lr=0.01)'s step" in current["N12"].note
    assert "without optimizer.zero_grad() the second backward's grads are the sum" in (
        current["N13"].note
    )


def test_current_nn_prose_claims_are_skipped(current):
    for claim in ("N06", "N07"):
        assert_verdict(current, claim, "skipped", "states it in its text only")


@pytest.mark.parametrize("claim", ["C02", "C04", "C05", "C09", "C13"])
def test_current_cifar10_claims_hold(current, claim):
    assert_verdict(current, claim, "holds")


def test_current_cifar10_claims_a_quick_run_cannot_check(current):
    assert_verdict(current, "C01", "partial", "50,000 / 10,000", "first 16 training images")
    assert_verdict(current, "C03", "partial", "frog plane deer car", "first 16 training images")
    for claim in ("C06", "C07", "C08"):
        assert_verdict(current, claim, "partial", "needs the full protocol", "--run-slow")


def test_current_v2_transform_note(current):
    assert_verdict(current, "C13", "holds", "within one float32 ulp")


def test_gpu_and_unstated_claims(current, old):
    for found in (current, old):
        assert found["C10"].status == found["C14"].status == "skipped"
        assert_verdict(found, "C12", "absent", "DistributedDataParallel")


def test_every_printed_output_of_the_claims_is_read(runs):
    run = runs["current"]
    assert verdicts.printed_unchecked(run.scripts["neural_networks"]) == []
    assert verdicts.printed_unchecked(run.scripts["cifar10"]) == []
    # the data-parallel page states no claim a cpu can check: its output stays unread
    assert verdicts.printed_unchecked(run.scripts["data_parallel"])


# ----------------------------------------------------------------------------------------------
# The old checkout: claims left out, a cell that raises, wrong behaviour


@pytest.mark.parametrize("claim", ["N04", "N05", "N06", "N07", "N09", "N10", "N11", "N14"])
def test_old_nn_claims_left_out_are_absent(old, claim):
    assert_verdict(old, claim, "absent", "not stated", "looked for")


def test_old_update_by_hand_in_text_only_is_skipped(old):
    assert_verdict(old, "N12", "skipped", "states it in its text only")


def test_old_nn_wrong_behaviour_fails(old):
    assert_verdict(old, "N02", "fails", "11 learnable tensors, not 10")
    assert_verdict(old, "N08", "fails", "is not the mean squared error")
    for claim in ("N01", "N03", "N13"):
        assert_verdict(old, claim, "holds")


def test_old_dataiter_next_fails_naming_the_line(old, runs):
    script = runs["old"].scripts["cifar10"]
    (raising,) = [c for c in script.cells if c.error is not None and "next" in c.error.message]
    line = raising.error.lineno
    assert "dataiter.next()" in Path(script.path).read_text().split("\n")[line - 1]
    assert_verdict(old, "C03", "fails", f"line {line} raised AttributeError", "'next'")


def test_old_printed_accuracy_that_is_not_the_count_fails(old):
    assert_verdict(old, "C07", "fails", "recounted")


def test_old_cifar10(old):
    for claim in ("C04", "C08", "C09"):
        assert_verdict(old, claim, "absent", "not stated")
    assert_verdict(old, "C02", "holds")
    assert_verdict(old, "C05", "holds")
    assert_verdict(old, "C06", "partial", "needs the full protocol")


# ----------------------------------------------------------------------------------------------
# Finders on source strings


def seen(source: str, script_text: str = "") -> Seen:
    return Seen("test", source, 10, script_text=script_text)


def test_n14_needs_both_zero_grads_in_one_cell():
    older = (
        "optimizer = optim.SGD(net.parameters(), lr=0.01)\n"
        "optimizer.zero_grad()\nloss.backward()\noptimizer.step()\n"
    )
    assert nn_update.find_both_zero_grads(seen(older)) is None
    both = "net.zero_grad()\noptimizer = optim.SGD(net.parameters())\noptimizer.zero_grad()\n"
    assert nn_update.find_both_zero_grads(seen(both)) is not None
    commented = (
        "optimizer = optim.SGD(net.parameters())\n"
        "optimizer.zero_grad()  # what net.zero_grad() did before\n"
    )
    assert nn_update.find_both_zero_grads(seen(commented)) is not None


def test_n12_forms_are_found_in_code_only():
    data_form = "for f in net.parameters():\n    f.data.sub_(f.grad.data * learning_rate)\n"
    assert nn_update.find_data_sub_update(seen(data_form)) is not None
    assert nn_update.find_data_sub_update(seen("# " + data_form)) is None
    no_grad = "with torch.no_grad():\n    for p in m.parameters():\n        p -= p.grad * lr\n"
    assert nn_update.find_no_grad_update(seen(no_grad)) is not None
    assert nn_update.find_no_grad_update(seen(no_grad.replace("torch.no_grad", "x"))) is None


def test_first_batches_tell_the_train_loader_from_the_test_loader():
    text = (
        "a = DataLoader(trainset, batch_size=4, shuffle=True)\n"
        "b = DataLoader(testset, batch_size=4, shuffle=False)\n"
    )
    draw_a = "it = iter(a)\nimages, labels = it.next()\n"
    assert cifar10_data.find_first_train_batch(seen(draw_a, text)) is not None
    assert cifar10_data.find_first_test_batch(seen(draw_a, text)) is None
    draw_b = "images, labels = next(iter(b))\n"
    assert cifar10_data.find_first_test_batch(seen(draw_b, text)) is not None
    # without the script's text (a cell that never ran), by the loader's name
    assert cifar10_data.find_first_train_batch(seen("x = next(iter(trainloader))\n")) is not None


def test_accuracy_and_per_class_counts_are_told_apart():
    overall = (
        "with torch.no_grad():\n    for data in testloader:\n"
        "        _, p = torch.max(net(data[0]), 1)\n        correct += (p == data[1]).sum()\n"
    )
    per_class = overall.replace("correct +=", "class_correct[0] +=")
    assert cifar10_training.find_accuracy(seen(overall)) is not None
    assert cifar10_training.find_per_class_accuracy(seen(overall)) is None
    assert cifar10_training.find_per_class_accuracy(seen(per_class)) is not None
    training = overall.replace("correct +=", "loss.backward()\n        correct +=")
    assert cifar10_training.find_accuracy(seen(training)) is None


def test_v2_and_ddp_finders():
    v2 = "t = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])\n"
    assert cifar10_transforms.find_v2_transform(seen(v2)) is not None
    v1 = "t = transforms.Compose([transforms.ToTensor(), transforms.Normalize(m, s)])\n"
    assert cifar10_transforms.find_v2_transform(seen(v1)) is None
    assert cifar10_transforms.find_v1_transform(seen(v1)) is not None
    assert cifar10_transforms.find_v1_transform(seen(v2)) is None


def test_n05_needs_the_note_beside_the_batch_of_one():
    cell = "input = torch.randn(1, 1, 32, 32)\nout = net(input)\n"
    note = '"""\nNotes\n"""\n# ``torch.nn`` only supports mini-batches. Use unsqueeze(0).\n'
    assert nn_define.find_mini_batch_demo(seen(cell, note + cell)) is not None
    assert nn_define.find_mini_batch_demo(seen(cell, cell)) is None
    assert nn_define.find_net_on_random_batch(seen(cell)) is not None
    assert nn_define.find_net_on_random_batch(seen(cell.replace("32, 32", "28, 28"))) is None


def test_n09_finds_the_walk_before_and_after_grad_fn():
    assert nn_loss.find_grad_fn_walk(seen("print(loss.grad_fn)\n")) is None
    walk = "print(loss.grad_fn.next_functions[0][0])\n"
    assert nn_loss.find_grad_fn_walk(seen(walk)) is not None
    creator = "print(loss.creator.previous_functions[0][0])\n"  # torch before 0.2
    assert nn_loss.find_grad_fn_walk(seen(creator)) is not None


# ----------------------------------------------------------------------------------------------
# A v2 transform on a torchvision without transforms.v2: drift (CLAIMS.md), not FAILS


def test_old_v2_import_error_reads_drift(old):
    """The old checkout's torchvision has no ``transforms.v2`` (its hidden code makes it so)."""
    line = line_of("old", "cifar10", "v2.Compose(")
    assert_verdict(old, "C13", "drift", f"v2 is absent on torchvision {torchvision.__version__}")
    assert old["C13"].where == [f"cifar10_tutorial.py:{line}"]
    assert old["C13"].drift == [old["C13"].note]


V2_CELL = "from torchvision.transforms import v2\nt = v2.Compose([v2.ToImage()])\n"
NO_V2 = "cannot import name 'v2' from 'torchvision.transforms'"


def test_a_missing_v2_is_drift_whichever_way_the_import_says_so(raised):
    for kind, message in (
        ("ImportError", NO_V2),
        ("ModuleNotFoundError", "No module named 'torchvision.transforms.v2'"),
    ):
        finding = raised("C13", "cifar10", V2_CELL, kind, message)
        assert finding.status == "drift", finding
        assert finding.note == (
            f"v2 is absent on torchvision {torchvision.__version__}: {kind}: {message}"
        )
    # a NameError: the import failed in an earlier cell
    earlier = [("ImportError", NO_V2)]
    name_error = raised("C13", "cifar10", V2_CELL, "NameError", "name 'v2' is not defined", earlier)
    assert name_error.status == "drift", name_error


def test_other_errors_of_the_v2_cell_are_not_drift(raised):
    finding = raised(
        "C13", "cifar10", V2_CELL, "ModuleNotFoundError", "No module named 'torchvision'"
    )
    assert finding.status == "error", finding  # the environment
    finding = raised("C13", "cifar10", V2_CELL, "TypeError", "ToDtype() got an unexpected keyword")
    assert finding.status == "fails", finding


# ----------------------------------------------------------------------------------------------
# Code the text shows


SHOWN = (
    '"""\nA page\n"""\nimport torch\n\nnet = torch.nn.Linear(3, 2)\n'
    "net(torch.ones(1, 3)).sum().backward()\n\n"
    "######################################################################\n"
    "# By hand:\n#\n# .. code:: python\n#\n#     learning_rate = 0.01\n"
    "#     for f in net.parameters():\n#         f.data.sub_(f.grad.data * learning_rate)\n"
    "#\n# .. note::\n#\n#     A note, not code.\n#\n# Quoted, not code:\n#\n#     x = 1\n#\n"
    "# A graph::\n#\n#     input -> conv2d -> relu\n#\n# .. code-block:: sh\n#\n#     ls\n"
)


def shown_cell(text: str = SHOWN) -> Seen:
    """The first cell of ``text``, run here, as a probe sees it."""
    cell = cells.split_source(text).code_cells[0]
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(cell.source, "<cell>", "exec"), namespace)
    return Seen("neural_networks", cell.source, cell.lineno, namespace=namespace,
                script_text=text)  # fmt: skip


def test_the_code_the_text_shows_is_its_literal_python_blocks():
    look = shown_cell()
    lines = SHOWN.split("\n")
    first = lines.index("#     learning_rate = 0.01") + 1
    graph = lines.index("#     input -> conv2d -> relu") + 1
    assert look.shown_code() == [
        (first, "learning_rate = 0.01\nfor f in net.parameters():\n"
                "    f.data.sub_(f.grad.data * learning_rate)\n"),
        (graph, "input -> conv2d -> relu\n"),
    ]  # fmt: skip
    (snippet,) = look.snippets()  # the graph does not parse
    assert (snippet.lineno, look.line(snippet)) == (first, first)
    assert nn_update.find_data_sub_update(snippet) is not None
    assert Seen("neural_networks", "x = 1\n", 3).shown_code() == []  # no script text


def shown_update(text: str = SHOWN):
    """N12's finding for the update ``text`` shows; the cell's own net is left as it was."""
    look = shown_cell(text)
    (probe,) = [p for p in load_all().for_claim("N12") if p.key == "sgd_by_hand_shown"]
    match = probe.find(look)
    assert match is not None
    net = look.namespace["net"]
    before = [(p.detach().clone(), p.grad.clone()) for p in net.parameters()]
    finding = run_check(probe, look, match, look.line(match))
    for p, (value, grad) in zip(net.parameters(), before):  # copies ran it, not the script
        assert p.detach().equal(value) and p.grad.equal(grad)
    return finding


def test_the_update_the_text_shows_runs_against_copies():
    finding = shown_update()
    assert finding.status == "holds", finding
    assert "equals optim.SGD(lr=0.01)'s step" in finding.note


def test_a_wrong_update_the_text_shows_fails():
    finding = shown_update(SHOWN.replace("sub_(f.grad", "sub_(-f.grad"))
    assert finding.status == "fails", finding
    assert "elements differ" in finding.note
