"""Training a Classifier: CIFAR-10, the 3-channel Net, its training, testing, saving, GPU and DDP.

Claims C01-C10 and C12 of the catalogue (C11, the speedup, is the benchmarks'), then the May 2026
revision's C13 (the v2 transform) and C14 (nn.DataParallel). The tests run on
real CIFAR-10: torchvision's official files or the offline copy (``blitz.data``); every result
notes which copy ran, because the offline copy's pixels went through JPEG once. Without data
they skip with one line saying how to get it.

The tutorial's two-epoch protocol (C06-C08, marked slow) runs once per device on the fast path,
which ``test_fast_path_gives_the_dataloaders_batches_and_losses`` shows to give the same batches
and losses as the tutorial's own DataLoader loop.
"""

import math
import pickle

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
import torchvision.transforms as transforms
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image
from torch.testing import assert_close
from torch.utils.data import DataLoader

from blitz import data, ddp, train, tutorial
from blitz.models import CIFAR10_CLASSES, Net

# The class names, the tolerances and the measured bands of C06-C08 live in blitz.tutorial (the
# tutorial-source probes check a run of the tutorial's own script against the same bands).
from blitz.tutorial import (
    ACCURACY_BAND,
    CHANCE,
    SEED_PER_CLASS,
    TRAJECTORY_ATOL,
    TUTORIAL_CLASS_NAMES,
    TUTORIAL_CLASSES,
    accuracies_outside_bands,
    per_class_band_factor,
    per_class_bands,  # noqa: F401 - tests/harness/test_claim_checks.py reads it from here
)


def tutorial_labels_line(labels) -> str:
    """The tutorial's ``' '.join(f'{classes[labels[j]]:5s}' for j in range(4))``."""
    return " ".join(f"{TUTORIAL_CLASSES[labels[j]]:5s}" for j in range(len(labels)))


# ----------------------------------------------------------------------------------------------
# C01: torchvision loads CIFAR-10


# The splits as torchvision.datasets.CIFAR10(train=...) gives them; the offline copy's training
# images are not decompressed for these (its labels and array headers say enough).


@pytest.mark.claim("C01")
def test_cifar10_has_50000_training_and_10000_test_images(cifar10):
    assert len(cifar10.dataset(train=True)) == 50_000
    assert len(cifar10.dataset(train=False)) == 10_000


@pytest.mark.claim("C01")
def test_cifar10_has_the_tutorials_ten_classes_in_order(cifar10):
    trainset, testset = cifar10.dataset(train=True), cifar10.dataset(train=False)
    assert list(trainset.classes) == TUTORIAL_CLASS_NAMES
    assert list(testset.classes) == TUTORIAL_CLASS_NAMES
    assert CIFAR10_CLASSES == TUTORIAL_CLASSES
    # Every label is one of the ten, and each class has its 5,000 / 1,000 images.
    assert torch.bincount(torch.tensor(trainset.targets)).tolist() == [5000] * 10
    assert torch.bincount(torch.tensor(testset.targets)).tolist() == [1000] * 10


# ----------------------------------------------------------------------------------------------
# C02: 3x32x32 images; the transform maps them to [-1, 1]


@pytest.mark.claim("C02")
def test_images_are_3_channel_32x32(cifar10_test):
    image, _ = cifar10_test[0]
    assert image.shape == torch.Size([3, 32, 32])
    raw = Image.fromarray(cifar10_test.data[0])
    assert (raw.mode, raw.size) == ("RGB", (32, 32))


def _first_images(dataset, n=200):
    """The first ``n`` images of ``dataset`` as PIL images and as their uint8 CHW tensors."""
    pils = [Image.fromarray(dataset.data[i]) for i in range(n)]
    raw = torch.from_numpy(dataset.data[:n]).permute(0, 3, 1, 2)
    return pils, raw


@pytest.mark.claim("C02")
def test_to_tensor_maps_pixels_to_0_1(cifar10_test):
    pils, raw = _first_images(cifar10_test)
    tensors = torch.stack([transforms.ToTensor()(p) for p in pils])
    assert tensors.dtype == torch.float32
    assert tensors.min() >= 0 and tensors.max() <= 1
    # pixel value v becomes v / 255: 0 -> 0, 255 -> 1, in the same channel order (CHW)
    torch.testing.assert_close(tensors, raw.float() / 255, rtol=0, atol=0)


@pytest.mark.claim("C02")
def test_normalize_maps_images_to_minus_1_1(cifar10_test):
    pils, raw = _first_images(cifar10_test)
    normalized = torch.stack([cifar10_test.transform(p) for p in pils])
    assert normalized.min() >= -1 and normalized.max() <= 1
    assert bool((normalized[raw == 0] == -1).all()) and bool((normalized[raw == 255] == 1).all())
    assert (raw == 0).any() and (raw == 255).any()  # both ends of the range occur
    # (v / 255 - 0.5) / 0.5 = 2 v / 255 - 1, up to float32 rounding of the two ways to compute it
    torch.testing.assert_close(normalized, 2 * raw.float() / 255 - 1)


@pytest.mark.claim("C02")
def test_fast_path_normalizes_exactly_as_the_transform(cifar10_test):
    pils, _ = _first_images(cifar10_test)
    expected = torch.stack([cifar10_test.transform(p) for p in pils])
    fast = data.normalized_images(cifar10_test)[: len(pils)]
    assert torch.equal(fast, expected)


# ----------------------------------------------------------------------------------------------
# C03: DataLoader(batch_size=4, shuffle=True, num_workers=2)


@pytest.mark.claim("C03")
@pytest.mark.parametrize("num_workers", [2, 0])
def test_first_shuffled_training_batch_is_frog_plane_deer_car(cifar10_train, num_workers):
    torch.manual_seed(42)
    trainloader = DataLoader(cifar10_train, batch_size=4, shuffle=True, num_workers=num_workers)
    images, labels = next(iter(trainloader))
    assert images.shape == torch.Size([4, 3, 32, 32]) and images.dtype == torch.float32
    assert labels.shape == torch.Size([4]) and labels.dtype == torch.int64
    assert (
        tutorial_labels_line(labels) == "frog  plane deer  car  "
    )  # printed: frog  plane deer  car


# ----------------------------------------------------------------------------------------------
# C04: the first test batch


@pytest.mark.claim("C04")
def test_first_test_batch_is_cat_ship_ship_plane(cifar10_test):
    testloader = DataLoader(cifar10_test, batch_size=4, shuffle=False, num_workers=2)
    images, labels = next(iter(testloader))
    assert images.shape == torch.Size([4, 3, 32, 32])
    assert (
        "GroundTruth:  " + tutorial_labels_line(labels) == "GroundTruth:  cat   ship  ship  plane"
    )
    assert torch.equal(images, torch.stack([cifar10_test[i][0] for i in range(4)]))


# ----------------------------------------------------------------------------------------------
# C05: the 3-channel Net


def net_by_hand_in_float64(net: Net, images: torch.Tensor) -> torch.Tensor:
    """The tutorial's ``Net.forward`` written out with ``torch.nn.functional``, in float64: conv
    5x5, ReLU, max-pool 2x2, conv 5x5, ReLU, max-pool 2x2, flatten, three affine maps with ReLU
    between them."""
    weights = {name: p.detach().double() for name, p in net.named_parameters()}
    x = images.double()
    for conv in ("conv1", "conv2"):
        x = F.conv2d(x, weights[f"{conv}.weight"], weights[f"{conv}.bias"])
        x = F.max_pool2d(F.relu(x), kernel_size=2, stride=2)
    x = x.reshape(len(x), 16 * 5 * 5)
    for fc in ("fc1", "fc2"):
        x = F.relu(x @ weights[f"{fc}.weight"].T + weights[f"{fc}.bias"])
    return x @ weights["fc3.weight"].T + weights["fc3.bias"]


@pytest.mark.claim("C05")
@pytest.mark.parametrize("batch", [1, 4, 7])
def test_net_maps_n_images_to_n_by_10(device, batch):
    torch.manual_seed(0)
    net = Net()
    images = torch.randn(batch, 3, 32, 32)
    expected = net(images)
    if device == "cpu":
        # Against an independent computation: the tutorial's layers applied one by one, in
        # float64, rounded to float32 at the end, compared at assert_close's float32 defaults
        # (rtol 1.3e-6, atol 1e-5). Float32 rounding in the net's sums (at most 400 terms) moves
        # the outputs (of size ~0.1) by at most 6e-8 (measured over 50 seeds, batches 1, 4, 7).
        expected = net_by_hand_in_float64(net, images).float()
    outputs = net.to(device)(images.to(device))
    assert outputs.shape == torch.Size([batch, 10])
    torch.testing.assert_close(outputs.cpu(), expected)


@pytest.mark.claim("C05")
def test_net_has_62006_parameters():
    net = Net()
    assert sum(p.numel() for p in net.parameters()) == 62_006
    assert net.conv1.in_channels == 3  # "modify it to take 3-channel images"


# ----------------------------------------------------------------------------------------------
# C06-C08: the tutorial's two-epoch protocol

# The fast path against the literal DataLoader loop: enough steps to cover many batches and
# momentum's effect, few enough for the default run.
EQUALITY_STEPS = 200


class Recording:
    """A loader that keeps every batch it hands out (preview included), in order."""

    def __init__(self, loader):
        self.loader, self.batches = loader, []

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        batches = iter(self.loader)  # the loader's draws from the RNG happen here, unchanged
        for batch in batches:
            self.batches.append(batch)
            yield batch


@pytest.fixture(scope="module")
def train_tensors(_cifar10_train_split):
    """The training split normalized in one CPU tensor, with its labels (the fast path's)."""
    return data.split_tensors(_cifar10_train_split)


@pytest.mark.claim("C06")
def test_fast_path_gives_the_dataloaders_batches_and_losses(cifar10_train, train_tensors):
    # The literal side is the tutorial's code; the fast side is blitz's fast path as the slow
    # claims train with it: tensor batches and SGD's foreach update. Both must give the same
    # bits: same batches, same losses, same parameters.
    # Both sides are the snapshot's revision: cifar10_train carries the v1 transform
    # (data.tutorial_transform: ToTensor + Normalize), the one normalized_images reproduces. The
    # 2026 revision's v2 transform is not bit for bit the same (C13), so this equality says
    # nothing about a literal run of that revision.
    literal = Recording(train.tutorial_loader(cifar10_train))  # shuffle=True, num_workers=2
    fast = Recording(data.FastLoader(*train_tensors, batch_size=4, shuffle=True))
    with train.cpu_threads(1):
        net, log = train.run_tutorial(literal, max_steps=EQUALITY_STEPS, progress=False)
        fast_net, fast_log = train.run_tutorial(
            fast, max_steps=EQUALITY_STEPS, progress=False, foreach=True
        )
    assert len(log.losses) == EQUALITY_STEPS
    assert len(fast.batches) == len(literal.batches) > EQUALITY_STEPS  # the preview, too
    for (x, y), (fx, fy) in zip(literal.batches, fast.batches):
        assert torch.equal(x, fx) and torch.equal(y, fy)
    assert fast_log.losses == log.losses
    params, fast_params = list(net.parameters()), list(fast_net.parameters())
    assert len(params) == len(fast_params)
    for p, q in zip(params, fast_params):
        assert torch.equal(p, q)


# The loss falls, in the default run: the protocol's first 2,000 steps on the fast path (seed
# 42, the tutorial's order of draws), a few seconds on one CPU thread. The running loss over the
# last 500 of them must be below ln 10 (the untrained net's loss, see FIRST_LOSS_ATOL) by
# SHORT_RUN_MARGIN. Measured on the offline copy, torch 2.14.1 CPU, one thread, seeds 0-49 (seed
# 42 included): the mean of losses 1,501-2,000 is 2.062 on average, standard deviation 0.047,
# from 1.972 to 2.198 (seed 20), i.e. 0.105 to 0.330 below ln 10 (seed 42: 2.004). The same run
# with lr=0 (a net that does not learn; seeds 0-49) gives 2.305 +- 0.002, from 2.300 to 2.310:
# never more than 0.003 below ln 10. The margin, 0.05, lies halfway between the two: the slowest
# of the 50 learning runs is 0.055 inside it, their mean 4 standard deviations; the non-learning
# runs are 0.048 or more outside, 27 of their standard deviations. Fewer steps do not separate
# the two: after 500 steps the learning runs' last 500 losses average 2.302 (at most 0.009 below
# ln 10), after 1,000 steps 2.281, with runs still at 2.301.
SHORT_RUN_STEPS, SHORT_RUN_WINDOW = 2000, 500
SHORT_RUN_MARGIN = 0.05


@pytest.mark.claim("C06")
def test_running_loss_falls_below_ln_10_within_2000_steps(
    device, cifar10_train, train_tensors, claim_report
):
    images, labels = train_tensors
    loader = data.FastLoader(images.to(device), labels.to(device), batch_size=4, shuffle=True)
    with train.cpu_threads(1):  # batches of 4: one thread is fastest
        _, log = train.run_tutorial(
            loader, device=device, max_steps=SHORT_RUN_STEPS, progress=False, foreach=True
        )
    assert len(log.losses) == SHORT_RUN_STEPS
    first = sum(log.losses[:SHORT_RUN_WINDOW]) / SHORT_RUN_WINDOW
    last = sum(log.losses[-SHORT_RUN_WINDOW:]) / SHORT_RUN_WINDOW
    claim_report.note(
        f"seed 42 on {device}, first {SHORT_RUN_STEPS} steps: mean loss {first:.3f} over steps "
        f"1-{SHORT_RUN_WINDOW}, {last:.3f} over the last {SHORT_RUN_WINDOW} (ln 10 = 2.303)"
    )
    assert last < math.log(10) - SHORT_RUN_MARGIN


@st.composite
def logits_and_labels(draw):
    """A batch of 1-8 rows of 10 float32 logits in [-30, 30] (an untrained net's are ~0.1, a
    trained one's a few units) and a label for each row."""
    batch = draw(st.integers(1, 8))
    logits = draw(hnp.arrays(np.float32, (batch, 10), elements=st.floats(-30, 30, width=32)))
    labels = draw(hnp.arrays(np.int64, (batch,), elements=st.integers(0, 9)))
    return logits, labels


@pytest.mark.claim("C06")
@given(batch=logits_and_labels())
def test_cross_entropy_loss_is_minus_log_softmax_at_the_label_averaged(device, batch):
    logits, labels = batch
    criterion = nn.CrossEntropyLoss()  # the tutorial's criterion
    loss = criterion(torch.from_numpy(logits).to(device), torch.from_numpy(labels).to(device))
    assert loss.shape == () and loss.dtype == torch.float32 and loss.device.type == device
    # The definition in NumPy float64: log softmax(z)_y = z_y - log sum_j exp(z_j), with the
    # row's maximum taken out of the exponentials; minus it at each label, averaged over rows.
    z = logits.astype(np.float64)
    shifted = z - z.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    expected = -log_softmax[np.arange(len(labels)), labels].mean()
    # float32 defaults against the float64 value rounded to float32: torch computes in float32
    assert_close(loss.cpu(), torch.tensor(expected, dtype=torch.float32))


# How far the untrained net's first loss is from ln 10 (a uniform prediction over 10 classes):
# PyTorch's default initialization gives logits of about 0.07 (their standard deviation; at
# most 0.17 over 10,000 seeds), so the softmax is close to uniform. For a batch of 4 of random
# normal images and random labels, over seeds 0-9,999 (torch 2.14.1 CPU): loss - ln 10 has mean
# 0.003 and standard deviation 0.037, and is at most 0.161 away; on batches of 4 CIFAR-10
# training images (normalized) it is 0.032 and 0.128. 0.25 is about 7 standard deviations and
# half again the largest of 10,000, while a loss summed over the batch (9.2), in bits (3.3),
# or of probabilities instead of their log (0.1) is far outside.
FIRST_LOSS_ATOL = 0.25


@pytest.mark.claim("C06")
@given(seed=st.integers(0, 2**32 - 1), labels=st.lists(st.integers(0, 9), min_size=4, max_size=4))
def test_untrained_nets_first_loss_is_about_ln_10(device, seed, labels):
    # Random normal images (not CIFAR-10's) so that this runs in the default run without the
    # data: normalized CIFAR-10 pixels lie in [-1, 1], of the same order, and give the same
    # spread of first losses (measured above).
    torch.manual_seed(seed)
    net = Net().to(device)
    inputs = torch.randn(4, 3, 32, 32).to(device)
    optimizer = train.make_optimizer(net)
    # the loss of the first step of the tutorial's loop, computed before its update
    loss = train.train_step(
        net, optimizer, nn.CrossEntropyLoss(), inputs, torch.tensor(labels, device=device)
    )
    assert abs(loss.item() - math.log(10)) <= FIRST_LOSS_ATOL


# The protocol on cuda keeps torch's defaults: cuDNN convolutions in TF32, as the tutorial's own
# training runs for a user who follows "Training on GPU". The slow claims compare it with what the
# tutorial printed, not with the cpu's result, and their tolerances hold for TF32: the protocol
# with TF32 convolutions emulated on the CPU (operands rounded to a 10-bit mantissa, forward and
# backward; seed 42, torch 2.14.1, offline copy, one thread) printed 2.145 1.834 1.666 1.566 1.525
# 1.444 / 1.409 1.371 1.340 1.341 1.319 1.295 -- at most 0.007 from the float32 run, 0.0135 from
# the tutorial's values (TRAJECTORY_ATOL is 0.03) -- and reached 54.90 % (ACCURACY_BAND).
PROTOCOL_NUMERICS = (
    "the tutorial's own training as a user runs it, TF32 convolutions on cuda; the trajectory "
    "tolerance and accuracy band hold for TF32 (emulated: 0.0135 from the printed losses, 54.90 %)"
)
_PROTOCOL_RUNS: dict = {}


@pytest.fixture
def tutorial_protocol(cifar10_train, train_tensors, cifar10_test, claim_report, float32_policy):
    """The tutorial's protocol on ``device``, trained once per session: (log, evaluation).

    Its tests are marked ``tf32_default(PROTOCOL_NUMERICS)``: on cuda it runs as a user's does.
    """

    def run(device):
        if device not in _PROTOCOL_RUNS:
            images, labels = train_tensors
            train_loader = data.FastLoader(
                images.to(device), labels.to(device), batch_size=4, shuffle=True
            )
            with train.cpu_threads(1):  # batches of 4: one thread is fastest
                net, log = train.run_tutorial(
                    train_loader, device=device, progress=False, foreach=True
                )
            test_loader = data.FastLoader(
                *data.split_tensors(cifar10_test, device), batch_size=1000
            )
            _PROTOCOL_RUNS[device] = (
                net,
                log,
                train.evaluate(net, test_loader, device),
                test_loader,
            )
        net, log, evaluation, test_loader = _PROTOCOL_RUNS[device]
        claim_report.note(
            f"seed 42, 2 epochs on {device}: loss "
            + " ".join(f"{loss:.3f}" for loss in log.trajectory)
            + f"; accuracy {evaluation.accuracy:.2f}% (tutorial: {tutorial.TUTORIAL_ACCURACY}%)"
            + ("" if device == "cpu" else f"; float32: {float32_policy.describe()}")
        )
        return net, log, evaluation, test_loader

    return run


@pytest.mark.tf32_default(PROTOCOL_NUMERICS)
@pytest.mark.slow
@pytest.mark.claim("C06")
def test_running_loss_falls_as_the_tutorial_printed(device, tutorial_protocol):
    _, log, _, _ = tutorial_protocol(device)
    assert [(e, i) for e, i, _ in log.checkpoints] == [
        (e, i) for e, i, _ in tutorial.TUTORIAL_LOSSES
    ]
    trajectory = torch.tensor(log.trajectory)
    first_epoch, second_epoch = trajectory[:6], trajectory[6:]
    assert trajectory[-1] < trajectory[0] - 0.5  # from ~2.14 to ~1.3
    assert first_epoch[-1] < first_epoch[0] and second_epoch.mean() < first_epoch.mean()
    printed = torch.tensor([loss for _, _, loss in tutorial.TUTORIAL_LOSSES])
    # the tutorial printed the running loss to 3 decimals
    torch.testing.assert_close(trajectory, printed, atol=TRAJECTORY_ATOL + 5e-4, rtol=0)


@pytest.mark.tf32_default(PROTOCOL_NUMERICS)
@pytest.mark.slow
@pytest.mark.claim("C07")
def test_two_epochs_reach_about_54_percent(device, tutorial_protocol):
    _, _, evaluation, _ = tutorial_protocol(device)
    assert sum(evaluation.total) == 10_000
    low, high = ACCURACY_BAND
    assert low <= evaluation.accuracy <= high
    assert evaluation.accuracy > 4 * CHANCE


def assert_accuracies_in_bands(overall: float, per_class: dict[str, float]) -> None:
    outside = accuracies_outside_bands(overall, per_class)
    assert not outside, f"accuracy (%) outside its band: {'; '.join(outside)}"


def test_per_class_band_factor_is_the_stated_quantile():
    # k for 30 seeds, against the tabulated t(0.9995, 29) = 3.6594 (a check of the bands' rule)
    assert len(SEED_PER_CLASS) == 30
    assert per_class_band_factor() == pytest.approx(3.6594 * math.sqrt(31 / 30), abs=1e-4)


def test_tutorials_printed_per_class_figures_lie_in_the_bands():
    # The bands admit the one draw the tutorial printed (a check of the bands, not of torch):
    # its overall accuracy is the mean of the ten, 54.75 % (it printed the integer part, 54).
    printed = tutorial.TUTORIAL_PER_CLASS
    overall = sum(printed.values()) / len(printed)
    assert math.floor(overall) == tutorial.TUTORIAL_ACCURACY
    assert_accuracies_in_bands(overall, printed)


def test_every_measured_seed_lies_in_the_bands():
    outside = {
        seed: accuracies_outside_bands(sum(figures) / 10, dict(zip(TUTORIAL_CLASSES, figures)))
        for seed, figures in SEED_PER_CLASS.items()
    }
    assert not any(outside.values()), outside


@pytest.mark.tf32_default(PROTOCOL_NUMERICS)
@pytest.mark.slow
@pytest.mark.claim("C08")
def test_per_class_accuracy_for_the_ten_classes(
    device, tutorial_protocol, cifar10_test, claim_report
):
    net, _, evaluation, _ = tutorial_protocol(device)
    per_class = evaluation.per_class
    claim_report.note(
        f"per class on {device} (%): "
        + " ".join(f"{name} {accuracy:.1f}" for name, accuracy in per_class.items())
    )
    assert list(per_class) == list(TUTORIAL_CLASSES)
    assert evaluation.total == [1000] * 10
    # Recounted independently: the tutorial's own per-class loop over its own test DataLoader
    # (the dataset's transform, not the fast path's tensors; batches of 1,000 as evaluate's, so
    # the net computes on the same batches and its predictions are the same bits).
    testloader = DataLoader(cifar10_test, batch_size=1000, shuffle=False, num_workers=2)
    correct_pred = {classname: 0 for classname in TUTORIAL_CLASSES}
    total_pred = {classname: 0 for classname in TUTORIAL_CLASSES}
    with torch.no_grad():
        for images, labels in testloader:
            _, predictions = torch.max(net(images.to(device)), 1)
            for label, prediction in zip(labels.tolist(), predictions.tolist()):
                if label == prediction:
                    correct_pred[TUTORIAL_CLASSES[label]] += 1
                total_pred[TUTORIAL_CLASSES[label]] += 1
    assert list(correct_pred.values()) == evaluation.correct
    assert list(total_pred.values()) == evaluation.total
    for classname, correct_count in correct_pred.items():
        accuracy = 100 * float(correct_count) / total_pred[classname]  # the tutorial's formula
        assert per_class[classname] == accuracy, classname
    assert evaluation.accuracy == 100 * sum(correct_pred.values()) / sum(total_pred.values())
    # The overall accuracy in C07's band, each class within the band the measured seeds justify.
    assert_accuracies_in_bands(evaluation.accuracy, per_class)


# ----------------------------------------------------------------------------------------------
# C09: save and reload


def _first_test_batch(dataset):
    return next(iter(DataLoader(dataset, batch_size=4, shuffle=False)))


@pytest.mark.claim("C09")
def test_saved_state_dict_reloads_with_all_keys_and_same_predictions(cifar10_test, tmp_path):
    images, _ = _first_test_batch(cifar10_test)
    torch.manual_seed(42)
    net = Net()
    path = tmp_path / "cifar_net.pth"
    train.save_state(net, path)  # torch.save(net.state_dict(), PATH)
    reloaded = Net()  # a fresh initialization: different weights until loaded
    assert not torch.equal(reloaded(images), net(images))
    result = train.load_state(reloaded, path)
    assert (result.missing_keys, result.unexpected_keys) == ([], [])
    assert str(result) == "<All keys matched successfully>"  # printed by the tutorial
    assert torch.equal(reloaded(images), net(images))
    assert torch.equal(torch.max(reloaded(images), 1)[1], torch.max(net(images), 1)[1])


UNPICKLED = []


def _record_unpickling(text):
    UNPICKLED.append(text)
    return text


class _ArbitraryObject:
    """Unpickling it would call ``_record_unpickling``: arbitrary code, in a real attack."""

    def __reduce__(self):
        return (_record_unpickling, ("code ran at load",))


@pytest.mark.claim("C09")
def test_loading_refuses_a_checkpoint_holding_an_arbitrary_object(tmp_path):
    net = Net()
    path = tmp_path / "cifar_net.pth"
    torch.save({**net.state_dict(), "payload": _ArbitraryObject()}, path)
    with pytest.raises(pickle.UnpicklingError, match="weights_only"):
        train.load_state(Net(), path)
    assert UNPICKLED == []


# ----------------------------------------------------------------------------------------------
# C10: training on the GPU


def _net_with_buffers():
    """The tutorial's Net inside a module tree that also holds buffers (BatchNorm's)."""
    torch.manual_seed(0)
    return nn.Sequential(Net(), nn.BatchNorm1d(10))


@pytest.mark.claim("C10")
def test_net_to_device_moves_every_parameter_and_buffer(device):
    original = _net_with_buffers()
    expected = {name: t.clone() for name, t in original.state_dict().items()}
    net = original.to(device)  # "net.to(device)"
    assert len(list(net.buffers())) == 3  # running_mean, running_var, num_batches_tracked
    for name, tensor in [*net.named_parameters(), *net.named_buffers()]:
        assert tensor.device.type == device, name
        assert torch.equal(tensor.cpu(), expected[name]), name


@pytest.mark.claim("C10")
def test_to_walks_every_submodule():
    net = _net_with_buffers().to("meta")  # meta: a device without data, present everywhere
    tensors = [*net.parameters(), *net.buffers()]
    assert len(tensors) == 10 + 2 + 3  # Net's, BatchNorm's weight and bias, its buffers
    assert all(t.device.type == "meta" for t in tensors)


# "a RuntimeError about mismatched devices": the documented behaviour, whose wording depends on
# the kernel that notices (torch 2.14.1). A meta input to a cpu net: the meta kernels' "Tensor on
# device cpu is not on the expected device meta!" (torch._prims_common.check_same_device). A cpu
# input to a cuda net takes the CPU convolution, which compares the legacy type names, device
# included: "Input type (torch.FloatTensor) and weight type (torch.cuda.FloatTensor) should be
# the same or input should be a MKLDNN tensor and weight is a dense tensor". Kernels that check
# devices themselves say "Expected all tensors to be on the same device, but found at least two
# devices, cuda:0 and cpu!" (or "..., but got mat1 is on cpu, ..."). Each alternative below is one
# of these wordings, and the type one only with a cpu type for the input and a device's type
# (torch.<device>.<Type>) for the weight. Not matched: a dtype mismatch, which says "type" too
# ("Input type (double) and bias type (float) should be the same", "expected scalar type Float
# but found Double", "mat1 and mat2 must have the same dtype").
DEVICE_MISMATCH = (
    r"Expected all tensors to be on the same device"
    r"|Tensor on device \S+ is not on the expected device \S+!"
    r"|Input type \(torch\.\w+\) and weight type \(torch\.\w+\.\w+\) should be the same"
)


@pytest.mark.claim("C10")
def test_inputs_left_on_another_device_raise(device):
    # On cpu the other device is 'meta'; on an accelerator it is the cpu, where data starts.
    other = "meta" if device == "cpu" else "cpu"
    net = Net().to(device)
    with pytest.raises(RuntimeError, match=DEVICE_MISMATCH):
        net(torch.zeros(4, 3, 32, 32, device=other))
    assert net(torch.zeros(4, 3, 32, 32, device=device)).shape == (4, 10)


@pytest.mark.claim("C10")
def test_training_step_on_device_matches_the_cpu_step(device, cifar10_test):
    if device == "cpu":
        pytest.skip(
            "compares a step on an accelerator against the cpu step: nothing to compare on cpu"
        )
    images, labels = _first_test_batch(cifar10_test)
    steps = {}
    for where in ("cpu", device):
        torch.manual_seed(42)
        net = Net().to(where)
        before = [p.detach().cpu().clone() for p in net.parameters()]
        optimizer = train.make_optimizer(net)
        loss = train.train_step(
            net, optimizer, nn.CrossEntropyLoss(), images.to(where), labels.to(where)
        )
        moved = [p.detach().cpu() - b for p, b in zip(net.parameters(), before)]
        steps[where] = (loss.item(), moved)
    (cpu_loss, cpu_moves), (dev_loss, dev_moves) = steps["cpu"], steps[device]
    # Both sides in full float32 (the suite's TF32 policy, tests/conftest.py); only the order of
    # the sums differs. Against a float64 step on the CPU, the float32 loss is off by 2e-8
    # relative: 1e-5 leaves room for cuDNN's other algorithms. A parameter's update (new - old,
    # lr x grad at the first SGD step) is the difference of two float32 parameters, so it carries
    # their rounding: half an ulp of |p| <= 0.12, up to 4e-4 of conv1's largest update (measured
    # against float64). atol, 1 % of a tensor's largest update, is 12 or more of those ulps.
    assert dev_loss == pytest.approx(cpu_loss, rel=1e-5)
    for cpu_move, dev_move in zip(cpu_moves, dev_moves):
        torch.testing.assert_close(
            dev_move, cpu_move, rtol=1e-3, atol=1e-2 * cpu_move.abs().max().item()
        )


# ----------------------------------------------------------------------------------------------
# C12: data parallelism


@pytest.mark.claim("C12")
def test_data_parallel_step_equals_one_process_over_the_whole_batch(device):
    world_size = 2
    if device == "cpu":
        backend, reference = "gloo", "cpu"
    else:
        if not torch.distributed.is_nccl_available():
            pytest.skip(f"NCCL is not available in torch {torch.__version__}")
        if torch.cuda.device_count() < world_size:
            pytest.skip(
                f"NCCL data parallelism needs >= 2 GPUs; {torch.cuda.device_count()} visible"
            )
        # Like with like: the one-process step runs on the ranks' kind of device (rank 0's),
        # not on the cpu, whose kernels sum in other orders. Both sides are in full float32:
        # the suite's TF32 policy here, passed on to the ranks by data_parallel_step.
        backend, reference = "nccl", f"{device}:0"
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(8, 3, 32, 32, generator=generator)
    labels = torch.randint(0, 10, (8,), generator=generator)
    torch.manual_seed(42)
    state = Net().state_dict()
    # lr 1: the first step moves each parameter by its whole gradient, so the comparison below
    # sees the gradient at full size, far above float32 rounding.
    protocol = train.Protocol(lr=1.0)

    def update(new):
        return {name: new[name] - state[name] for name in state}

    def one_process(x, y):
        return update(ddp.single_process_step(state, x, y, protocol=protocol, device=reference))

    whole_batch, half_batch = one_process(inputs, labels), one_process(inputs[:4], labels[:4])
    ranks = ddp.data_parallel_step(
        state, inputs, labels, world_size=world_size, backend=backend, protocol=protocol
    )
    assert len(ranks) == world_size
    for name in state:
        # the replicas stay identical: same start, same averaged gradients
        assert torch.equal(ranks[0][name], ranks[1][name]), name
        # all-reduce sums the two halves' gradients in another order than one backward over 8
        # images: equal up to float32 rounding (relative 1e-4; the update of a parameter is
        # new - old, whose rounding is relative to the parameter, hence atol 1e-6)
        torch.testing.assert_close(update(ranks[0])[name], whole_batch[name], rtol=1e-4, atol=1e-6)
    # ... while a step on one process's half alone would not match
    assert any(
        not torch.allclose(half_batch[name], whole_batch[name], rtol=1e-2, atol=1e-4)
        for name in state
    )


# ----------------------------------------------------------------------------------------------
# C13 (2026 revision): the transform from torchvision.transforms.v2

# The largest distance between the two pipelines' outputs that C13 allows: one float32 ulp of
# 1.0 (2**-23, machine epsilon). ToTensor divides by 255 and ToDtype(scale=True) multiplies by
# 1/255: the [0, 1] values may land on neighbouring floats (one ulp, at most 2**-24 below 1);
# Normalize's (x - 0.5) / 0.5 is exact on both and doubles the distance.
ONE_ULP_OF_ONE = torch.finfo(torch.float32).eps


def assert_v2_within_one_ulp_of_v1(v1: torch.Tensor, v2: torch.Tensor) -> None:
    """C13 on the two pipelines' outputs for the same pixels: v2's are float32 in [-1, 1], each
    within one ulp of 1.0 of v1's. Bit for bit the same is within: how many values differ is a
    note, not a requirement."""
    assert v2.dtype == v1.dtype == torch.float32 and v2.shape == v1.shape
    assert v2.min() >= -1 and v2.max() <= 1
    torch.testing.assert_close(v2, v1, rtol=0, atol=ONE_ULP_OF_ONE)  # see ONE_ULP_OF_ONE


def v2_difference_note(v1_table: torch.Tensor, v2_table: torch.Tensor, scaled_differ: int,
                       reason: str = "") -> str:  # fmt: skip
    """What C13 reports beside its verdict: how many of the 256 pixel values v2 maps to another
    float32 than v1 (none: bit for bit), and by how much."""
    differ = v2_table != v1_table
    if not differ.any():
        return (
            f"torchvision {torchvision.__version__}: v2 equals v1 bit for bit on all 256 pixel "
            "values"
        )
    return (
        f"torchvision {torchvision.__version__}: v2 equals v1 within one float32 ulp of 1.0, not "
        f"bit for bit: {int(differ.sum())} of the 256 pixel values "
        f"({float(differ.float().mean()):.0%}) map to another float32, by at most "
        f"{float((v2_table - v1_table).abs().max()):.3g}; {scaled_differ} of 256 already differ "
        f"by one ulp in [0, 1]{reason}"
    )


V2_TRANSFORM = (
    "v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True), "
    "v2.Normalize((0.5,)*3, (0.5,)*3)])"
)


def _every_pixel_value() -> np.ndarray:
    """A 16x16 RGB image holding each of the 256 pixel values once per channel (rolled per
    channel, so the channels differ)."""
    values = np.arange(256, dtype=np.uint8).reshape(16, 16)
    return np.stack([np.roll(values, 85 * c) for c in range(3)], axis=-1)


def _plain(t: torch.Tensor) -> torch.Tensor:
    """v2 returns a tv_tensors.Image: compare as a plain tensor."""
    return t.as_subclass(torch.Tensor)


def _both_transforms(images: np.ndarray, v2_transform):
    """The v1 and v2 results for HWC uint8 ``images`` (one image or a batch), stacked."""
    batch = images if images.ndim == 4 else images[None]
    v1_transform = data.tutorial_transform()
    v1 = torch.stack([v1_transform(Image.fromarray(image)) for image in batch])
    v2 = torch.stack([_plain(v2_transform(Image.fromarray(image))) for image in batch])
    return v1, v2


def _pixels(images: np.ndarray) -> torch.Tensor:
    """``images`` (HWC uint8, one or a batch) as an NCHW int64 tensor of pixel values."""
    batch = images if images.ndim == 4 else images[None]
    return torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2).long()


def _one_line(exc: BaseException) -> str:
    """An exception as ``Type: message``, without the file path an ImportError names."""
    return f"{type(exc).__name__}: {str(exc).split(' (/')[0]}"


@pytest.fixture(scope="module")
def v2_transform():
    """The 2026 revision's transform; where this torchvision cannot build it, nothing of C13
    can be compared (test_torchvision_builds_the_v2_transform reports the drift)."""
    try:
        return data.tutorial_transform_v2()
    except (ImportError, AttributeError, TypeError) as exc:
        pytest.skip(
            f"torchvision {torchvision.__version__} cannot build the 2026 revision's v2 "
            f"transform ({_one_line(exc)})"
        )


def v2_lookup_tables(v2_transform) -> tuple[torch.Tensor, torch.Tensor]:
    """What each pixel value 0..255 becomes under v1 and under v2: (v1, v2), 256 floats each."""
    v1, v2 = _both_transforms(_every_pixel_value(), v2_transform)
    pixels = _pixels(_every_pixel_value())
    v1_table, v2_table = torch.empty(256), torch.empty(256)
    v1_table[pixels.flatten()] = v1.flatten()
    v2_table[pixels.flatten()] = v2.flatten()
    return v1_table, v2_table


@pytest.fixture(scope="module")
def v2_lookup(v2_transform):
    """``v2_lookup_tables`` of the v2 transform, once per module."""
    return v2_lookup_tables(v2_transform)


@pytest.mark.claim("C13")
def test_torchvision_builds_the_v2_transform(claim_report):
    try:
        transform = data.tutorial_transform_v2()
    except (ImportError, AttributeError, TypeError) as exc:
        # What users of this torchvision meet when they run the 2026 revision's code.
        claim_report.drift(
            f"the 2026 revision builds its transform as {V2_TRANSFORM}; torchvision "
            f"{torchvision.__version__} (torch {torch.__version__}) cannot: "
            f"{_one_line(exc)}; the snapshot's ToTensor() + Normalize works"
        )
    else:
        image = transform(Image.fromarray(_every_pixel_value()))
        assert isinstance(image, torch.Tensor)
        assert (image.shape, image.dtype) == (torch.Size([3, 16, 16]), torch.float32)


@pytest.mark.claim("C13")
def test_v2_maps_every_pixel_value_within_one_ulp_of_v1(v2_transform, v2_lookup, claim_report):
    from torchvision.transforms import v2

    image = _every_pixel_value()
    # First step: v1's ToTensor and v2's ToImage + ToDtype(scale=True) give [0, 1], the
    # same value or a neighbouring float32 (one ulp) for every pixel value.
    scaled_v1 = transforms.ToTensor()(Image.fromarray(image))
    scaled_v2 = _plain(v2.ToDtype(torch.float32, scale=True)(v2.ToImage()(Image.fromarray(image))))
    assert scaled_v2.dtype == torch.float32 and scaled_v2.shape == scaled_v1.shape
    up = torch.nextafter(scaled_v1, torch.full_like(scaled_v1, 2.0))
    down = torch.nextafter(scaled_v1, torch.full_like(scaled_v1, -1.0))
    assert bool(((scaled_v2 == scaled_v1) | (scaled_v2 == up) | (scaled_v2 == down)).all())
    # The whole pipelines: [-1, 1], both ends exact, every value within one ulp of 1.0 of v1's.
    v1_table, v2_table = v2_lookup
    assert_v2_within_one_ulp_of_v1(v1_table, v2_table)
    assert v2_table[0] == v1_table[0] == -1 and v2_table[255] == v1_table[255] == 1
    assert bool((v2_table[1:] > v2_table[:-1]).all())  # increasing in the pixel value
    # Bit for bit or not is what the note says: both are within the claim.
    scaled_differ = int((scaled_v2 != scaled_v1).sum()) // 3
    reason = ""
    if scaled_differ and torch.equal(scaled_v2, _pixels(image)[0].float().mul(1.0 / 255)):
        reason = " (ToDtype multiplies by 1/255 where ToTensor divides by 255)"
    claim_report.note(v2_difference_note(v1_table, v2_table, scaled_differ, reason))


@st.composite
def rgb_images(draw):
    """Small HWC uint8 RGB images (CIFAR-10's are 32x32); every pixel value can occur."""
    height, width = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    return draw(hnp.arrays(np.uint8, (height, width, 3), elements=st.integers(0, 255)))


@pytest.mark.claim("C13")
@given(image=rgb_images())
def test_v2_output_of_any_image_is_v1_within_one_ulp(v2_transform, v2_lookup, image):
    v1, v2 = _both_transforms(image, v2_transform)
    assert v2.shape == v1.shape == (1, 3, *image.shape[:2])
    assert_v2_within_one_ulp_of_v1(v1, v2)
    # Elementwise: each output is what its pixel value gives, wherever it stands, so the share
    # of differing elements of an image is the share of its pixels on the differing values.
    v1_table, v2_table = v2_lookup
    pixels = _pixels(image)
    assert torch.equal(v1, v1_table[pixels]) and torch.equal(v2, v2_table[pixels])


@pytest.mark.claim("C13")
@settings(max_examples=3)
@given(seed=st.integers(0, 2**32 - 1))
def test_a_batch_of_random_images_is_v1_within_one_ulp(v2_transform, v2_lookup, seed):
    # 200 random images, as the revision's measurement: the differing share is that of their
    # pixels on the differing values (43% of 256 for uniform pixels on torchvision 0.29; none
    # where v2 is v1 bit for bit), each within one ulp.
    images = np.random.default_rng(seed).integers(0, 256, (200, 32, 32, 3), dtype=np.uint8)
    v1, v2 = _both_transforms(images, v2_transform)
    v1_table, v2_table = v2_lookup
    expected_share = (v1_table != v2_table)[_pixels(images)].float().mean()
    assert (v1 != v2).float().mean() == expected_share
    assert_v2_within_one_ulp_of_v1(v1, v2)
    # A literal run of the 2026 revision feeds the net these inputs: its outputs (and so its
    # losses) are the snapshot's up to float32 rounding.
    torch.manual_seed(42)
    net = Net()
    with torch.no_grad():
        out_v1, out_v2 = net(v1), net(v2)
    torch.testing.assert_close(out_v2, out_v1)  # float32 defaults: rounding-sized differences


# ----------------------------------------------------------------------------------------------
# C14 (2026 revision): nn.DataParallel, the "Optional: Data Parallelism" page

# The page's toy example: a Linear model, batches of 30 inputs of size 5.
DP_INPUT_SIZE, DP_OUTPUT_SIZE, DP_BATCH_SIZE = 5, 2, 30


class _RecordingModel(nn.Module):
    """The page's ``Model`` (one Linear layer), recording what each replica is given instead of
    printing it: (device index, batch size). The replicas share the list."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(DP_INPUT_SIZE, DP_OUTPUT_SIZE)
        self.seen = []

    def forward(self, input):
        self.seen.append((input.device.index, input.size(0)))
        return self.fc(input)


def _data_parallel_inputs(device):
    """The page's model and a batch on ``device``; skips where nn.DataParallel has nothing to
    split: on one GPU it calls the module itself with the whole batch, which no test of the
    splitting and gathering can fail on, so C14 has no verdict there."""
    if device != "cuda":
        pytest.skip(f"nn.DataParallel runs on CUDA devices only, not on {device}")
    gpus = torch.cuda.device_count()
    if gpus < 2:
        pytest.skip(
            f"fewer than 2 GPUs: nn.DataParallel splits a batch over 2 or more; {gpus} visible"
        )
    torch.manual_seed(0)
    model = _RecordingModel().to(device)
    return model, torch.randn(DP_BATCH_SIZE, DP_INPUT_SIZE, device=device)


@pytest.mark.claim("C14")
def test_data_parallel_returns_the_modules_outputs(device):
    model, input = _data_parallel_inputs(device)
    expected = model(input)
    model.seen.clear()
    wrapped = nn.DataParallel(model)
    assert wrapped.module is model
    output = wrapped(input)
    # Every input goes through a replica once.
    assert sum(size for _, size in model.seen) == DP_BATCH_SIZE
    assert output.shape == (DP_BATCH_SIZE, DP_OUTPUT_SIZE)
    assert output.device == input.device
    # The same Linear on the same inputs, in slices: the same values up to float32 rounding.
    torch.testing.assert_close(output, expected)


@pytest.mark.claim("C14")
def test_data_parallel_splits_the_batch_over_the_gpus_and_gathers(device):
    model, input = _data_parallel_inputs(device)
    gpus = torch.cuda.device_count()
    expected = model(input)
    model.seen.clear()
    output = nn.DataParallel(model)(input)
    # "input size torch.Size([15, 5])" on each of 2 GPUs, 10 on each of 3, ... : the batch in
    # torch.chunk's slices, one per GPU, each replica on its own GPU.
    slices = [len(part) for part in torch.arange(DP_BATCH_SIZE).chunk(gpus)]
    assert sorted(model.seen) == sorted(zip(range(len(slices)), slices))
    # The outputs gathered on the first GPU, in the batch's order.
    assert output.shape == (DP_BATCH_SIZE, DP_OUTPUT_SIZE)
    assert output.device == torch.device("cuda", 0)
    torch.testing.assert_close(output, expected)  # float32 defaults: per-slice GEMM rounding
