"""Errors that mean the environment or blitz broke, not the tutorial.

A test that stops on one of these is reported as ``error`` in the claims matrix, never as
``FAILS``: a damaged data copy says nothing about torch's behaviour. Torch-free.
"""


class EnvironmentProblem(Exception):
    """Something a claim's test needs is broken (its data, a device, blitz itself).

    The message names what is broken and how to fix it, in one line.
    """
