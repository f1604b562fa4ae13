"""blitz's settings that live outside the command line: the environment variables' names, and
the defaults the options share with the library. Pytest-free and torch-free: the library
(``blitz.devices``, ``blitz.data``, ``python -m blitz.train`` and its data-parallel workers)
reads them without loading pytest.
"""

SLOW_ENV = "BLITZ_RUN_SLOW"  # 1: run the slow claims too (--run-slow)
DATA_ROOT_ENV = "BLITZ_DATA_ROOT"  # the CIFAR-10 root (--cifar10-root)
DEVICES_ENV = "BLITZ_DEVICES"  # the devices of a run, comma-separated (--device)
HYPOTHESIS_PROFILE_ENV = "BLITZ_HYPOTHESIS_PROFILE"  # "thorough": ten times the examples
