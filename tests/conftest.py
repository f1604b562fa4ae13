"""Settings and fixtures shared by the claim tests."""

import os

import pytest
from hypothesis import HealthCheck, settings

from blitz import data as cifar10_data

# Property tests: enough examples to find a counterexample, bounded for a fast default run.
# Deadline off: the first call into a torch kernel can take far longer than the rest.
settings.register_profile(
    "default", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough", max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("BLITZ_HYPOTHESIS_PROFILE", "default"))


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
    dataset.data
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
    claim_report.run_info("cifar10", cifar10_source.copy)
    return cifar10_source


@pytest.fixture
def cifar10_test(_cifar10_test_split, cifar10):
    """The 10,000 test images with the tutorial's transform."""
    return _cifar10_test_split


@pytest.fixture
def cifar10_train(_cifar10_train_split, cifar10):
    """The 50,000 training images with the tutorial's transform."""
    return _cifar10_train_split
