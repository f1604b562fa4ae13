"""Probes for the harness tests: called in the child after each cell."""


def names(cell, namespace, stdout):
    """The public names the namespace holds after each cell, and what the cell printed."""
    return {
        "names": sorted(k for k in namespace if not k.startswith("_")),
        "printed": stdout,
        "lineno": cell.lineno,
    }


class Counter:
    """Counts the cells; at the end, says whether the namespace has ``ratio``."""

    name = "counter"

    def __init__(self):
        self.cells = 0

    def __call__(self, cell, namespace, stdout):
        self.cells += 1
        return None  # nothing recorded per cell

    def finish(self, namespace):
        return {"cells": self.cells, "has_ratio": "ratio" in namespace}


def broken(cell, namespace, stdout):
    raise RuntimeError("this probe is broken")


def not_json(cell, namespace, stdout):
    return {1, 2}
