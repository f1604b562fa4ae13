"""The claim probes of the "Neural Networks" and "Training a Classifier" scripts (and the data
parallelism page, which states no claim a CPU can check): ``blitz.tutorial_source.probes``'s
``neural_networks``, ``cifar10`` and ``data_parallel``.

The scripts are blitz's own, in the tutorial's format (``data/tutorial_source/checkouts/``):
``current`` states the claims with its own code and names (a class ``LeNet`` and a ``model``,
``weights``, ``error``...), ``old`` leaves claims out, states the update by hand in its text
only, draws its first batch with ``dataiter.next()`` (gone from DataLoader iterators since torch
1.13), and behaves wrongly in three places. Each checkout runs once per module, its scripts in
parallel, on a tiny CIFAR-10 copy whose first four test labels are the tutorial's (cat ship ship
plane); the runs are capped, so the protocol's claims (C06-C08) read partial, as in a quick run
of the real tutorial. Then a few finders, on source strings, without a child process.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from support import write_split

from blitz.tutorial_source import verdicts
from blitz.tutorial_source.checkout import locate
from blitz.tutorial_source.probes import cifar10, neural_networks
from blitz.tutorial_source.probes.base import Seen
from blitz.tutorial_source.probes.running import CLAIM_PROBES
from blitz.tutorial_source.result import CELL_ERRORS, OK
from blitz.tutorial_source.runner import RunOptions, run_source

DATA = Path(__file__).parent / "data" / "tutorial_source"
CHECKOUTS = DATA / "checkouts"
SCRIPTS = ("neural_networks", "cifar10", "data_parallel")
# cat ship ship plane (the tutorial's ground truth), then every other class once
TEST_LABELS = np.array([3, 8, 8, 0, 1, 2, 4, 5, 6, 7, 9, 9])


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """Both checkouts' scripts, run once: {checkout: SourceRun}."""
    root = tmp_path_factory.mktemp("probes-nn-cifar10") / "cifar10"
    root.mkdir()
    write_split(root, "train")
    write_split(root, "test", labels=TEST_LABELS)
    options = RunOptions(
        probes=(CLAIM_PROBES, f"{DATA / 'tiny_cifar10.py'}:SmallCopy"),  # 24 + 12 images
        cifar10_root=str(root),
        cifar10_train_subset=16,  # 4 batches of 4: a quick run
        cifar10_test_subset=12,
        env={"OMP_NUM_THREADS": "1"},  # the scripts run side by side
        timeout_s=240,
    )
    jobs = [(checkout, name) for checkout in ("current", "old") for name in SCRIPTS]
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        done = pool.map(
            lambda job: run_source(locate(str(CHECKOUTS / job[0])), options, names=[job[1]]),
            jobs,
        )
        results = list(done)
    merged = {}
    for (checkout, name), run in zip(jobs, results):
        if checkout in merged:
            merged[checkout].scripts[name] = run.scripts[name]
        else:
            merged[checkout] = run
    return merged


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
        line_of("current", "neural_networks", "for w in model.parameters():  # by hand"),
        line_of("current", "neural_networks", "with torch.no_grad():"),
    ]
    assert verdict.where == [f"neural_networks_tutorial.py:{n}" for n in lines]


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
    (raising,) = [cell for cell in script.cells if cell.error is not None]
    line = raising.error.lineno
    assert "dataiter.next()" in Path(script.path).read_text().split("\n")[line - 1]
    assert_verdict(old, "C03", "fails", f"line {line} raised AttributeError", "'next'")


def test_old_printed_accuracy_that_is_not_the_count_fails(old):
    assert_verdict(old, "C07", "fails", "recounted")


def test_old_cifar10(old):
    for claim in ("C04", "C08", "C09", "C13"):
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
    assert neural_networks.find_both_zero_grads(seen(older)) is None
    both = "net.zero_grad()\noptimizer = optim.SGD(net.parameters())\noptimizer.zero_grad()\n"
    assert neural_networks.find_both_zero_grads(seen(both)) is not None
    commented = (
        "optimizer = optim.SGD(net.parameters())\n"
        "optimizer.zero_grad()  # what net.zero_grad() did before\n"
    )
    assert neural_networks.find_both_zero_grads(seen(commented)) is not None


def test_n12_forms_are_found_in_code_only():
    data_form = "for f in net.parameters():\n    f.data.sub_(f.grad.data * learning_rate)\n"
    assert neural_networks.find_data_sub_update(seen(data_form)) is not None
    assert neural_networks.find_data_sub_update(seen("# " + data_form)) is None
    no_grad = "with torch.no_grad():\n    for p in m.parameters():\n        p -= p.grad * lr\n"
    assert neural_networks.find_no_grad_update(seen(no_grad)) is not None
    assert neural_networks.find_no_grad_update(seen(no_grad.replace("torch.no_grad", "x"))) is None


def test_first_batches_tell_the_train_loader_from_the_test_loader():
    text = (
        "a = DataLoader(trainset, batch_size=4, shuffle=True)\n"
        "b = DataLoader(testset, batch_size=4, shuffle=False)\n"
    )
    draw_a = "it = iter(a)\nimages, labels = it.next()\n"
    assert cifar10.find_first_train_batch(seen(draw_a, text)) is not None
    assert cifar10.find_first_test_batch(seen(draw_a, text)) is None
    draw_b = "images, labels = next(iter(b))\n"
    assert cifar10.find_first_test_batch(seen(draw_b, text)) is not None
    # without the script's text (a cell that never ran), by the loader's name
    assert cifar10.find_first_train_batch(seen("x = next(iter(trainloader))\n")) is not None


def test_accuracy_and_per_class_counts_are_told_apart():
    overall = (
        "with torch.no_grad():\n    for data in testloader:\n"
        "        _, p = torch.max(net(data[0]), 1)\n        correct += (p == data[1]).sum()\n"
    )
    per_class = overall.replace("correct +=", "class_correct[0] +=")
    assert cifar10.find_accuracy(seen(overall)) is not None
    assert cifar10.find_per_class_accuracy(seen(overall)) is None
    assert cifar10.find_per_class_accuracy(seen(per_class)) is not None
    training = overall.replace("correct +=", "loss.backward()\n        correct +=")
    assert cifar10.find_accuracy(seen(training)) is None


def test_v2_and_ddp_finders():
    v2 = "t = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])\n"
    assert cifar10.find_v2_transform(seen(v2)) is not None
    v1 = "t = transforms.Compose([transforms.ToTensor(), transforms.Normalize(m, s)])\n"
    assert cifar10.find_v2_transform(seen(v1)) is None
    assert cifar10.find_v1_transform(seen(v1)) is not None
    assert cifar10.find_v1_transform(seen(v2)) is None


def test_n05_needs_the_note_beside_the_batch_of_one():
    cell = "input = torch.randn(1, 1, 32, 32)\nout = net(input)\n"
    note = '"""\nNotes\n"""\n# ``torch.nn`` only supports mini-batches. Use unsqueeze(0).\n'
    assert neural_networks.find_mini_batch_demo(seen(cell, note + cell)) is not None
    assert neural_networks.find_mini_batch_demo(seen(cell, cell)) is None
    assert neural_networks.find_net_on_random_batch(seen(cell)) is not None
    assert neural_networks.find_net_on_random_batch(seen(cell.replace("32, 32", "28, 28"))) is None


def test_n09_finds_the_walk_before_and_after_grad_fn():
    assert neural_networks.find_grad_fn_walk(seen("print(loss.grad_fn)\n")) is None
    walk = "print(loss.grad_fn.next_functions[0][0])\n"
    assert neural_networks.find_grad_fn_walk(seen(walk)) is not None
    creator = "print(loss.creator.previous_functions[0][0])\n"  # torch before 0.2
    assert neural_networks.find_grad_fn_walk(seen(creator)) is not None
