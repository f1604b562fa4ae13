"""Settings and fixtures shared by the claim tests."""

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from blitz import data as cifar10_data
from blitz import devices
from blitz import settings as blitz_settings

# Property tests: enough examples to find a counterexample, bounded for a fast default run.
# Deadline off: the first call into a torch kernel can take far longer than the rest.
settings.register_profile(
    "default", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough", max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get(blitz_settings.HYPOTHESIS_PROFILE_ENV, "default"))


# ----------------------------------------------------------------------------------------------
# Numerics: the suite's one TF32 policy.
#
# On CUDA torch lets cuDNN compute float32 convolutions in TF32 by default (a 10-bit mantissa;
# see blitz.devices). A test that compares an accelerator's result with the cpu's cannot tell
# that rounding from a defect: emulated on the CPU, TF32 moves the CIFAR Net's outputs by 2-3e-5
# (14 of 40 elements of a batch of 4 miss assert_close's float32 defaults) and the Neural Networks
# script's conv gradients by up to 5e-3, past the printed precision. The claims are about
# the float32 computation, so every test runs in full float32: TF32 off for convolutions and
# matmuls, from the start of the session (fixtures of every scope included) to its end.
#
# A test that keeps torch's defaults on purpose -- what a tutorial user gets, as the tutorial's
# own training on cuda -- is marked ``@pytest.mark.tf32_default("why")``; it runs with the
# settings torch had when the session started, and its tolerance must hold for TF32 (its comment
# says how it was measured or why it holds).


@pytest.fixture(scope="session", autouse=True)
def _full_float32_session():
    """TF32 off for the whole session; yields the settings torch started with (its defaults)."""
    defaults = devices.tf32_settings()
    with devices.tf32(devices.FULL_FLOAT32):
        yield defaults


@pytest.fixture(autouse=True)
def float32_policy(request: pytest.FixtureRequest, _full_float32_session) -> Iterator[devices.TF32]:
    """The TF32 settings this test runs with: full float32, or torch's defaults when marked."""
    marker = request.node.get_closest_marker("tf32_default")
    if marker is None:
        yield devices.tf32_settings()
        return
    if not (marker.args or marker.kwargs.get("reason")):
        pytest.fail("@pytest.mark.tf32_default needs a reason: why this test keeps TF32 on")
    with devices.tf32(_full_float32_session):
        yield _full_float32_session


# ----------------------------------------------------------------------------------------------
# CIFAR-10 ("Training a Classifier"): found once per session, each split read on first use.


@pytest.fixture(scope="session")
def cifar10_source(pytestconfig: pytest.Config) -> cifar10_data.Cifar10Source:
    """The copy of CIFAR-10 the run uses (see ``blitz.data.find_cifar10`` for the order).

    None here and none downloadable: every test that needs it skips with one line saying where
    it looked and how to get it. A corrupt copy is an error naming the file.
    """
    root = cifar10_data.explicit_root(pytestconfig.getoption("blitz_cifar10_root"))
    try:
        return cifar10_data.find_cifar10(
            root, download=not pytestconfig.getoption("blitz_no_download")
        )
    except cifar10_data.CIFAR10NotFound as exc:
        pytest.skip(str(exc))


def _loaded(dataset):
    # Decompress the images now, once, so that DataLoader workers (forked) inherit them instead
    # of each decompressing its own copy.
    dataset.data  # noqa: B018 (a property: reading it decompresses)
    return dataset


@pytest.fixture(scope="session")
def _cifar10_test_split(cifar10_source):
    return _loaded(cifar10_source.dataset(train=False, transform=cifar10_data.tutorial_transform()))


@pytest.fixture(scope="session")
def _cifar10_train_split(cifar10_source):
    # The offline training images take seconds to decompress: only tests that need them pay.
    return _loaded(cifar10_source.dataset(train=True, transform=cifar10_data.tutorial_transform()))


@pytest.fixture
def cifar10(cifar10_source, claim_report) -> cifar10_data.Cifar10Source:
    """The copy of CIFAR-10 in use; the report notes which one, for the claim and the run."""
    claim_report.note(cifar10_source.note)
    claim_report.run_info("cifar10", cifar10_source.description)
    return cifar10_source


@pytest.fixture
def cifar10_test(_cifar10_test_split, cifar10):
    """The 10,000 test images with the tutorial's transform."""
    return _cifar10_test_split


@pytest.fixture
def cifar10_train(_cifar10_train_split, cifar10):
    """The 50,000 training images with the tutorial's transform."""
    return _cifar10_train_split
