"""Loads the blitz plugin: the device parametrization, the claim marker and the claims matrix."""

pytest_plugins = ["blitz.plugin"]
