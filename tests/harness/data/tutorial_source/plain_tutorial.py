"""
Plain Python, Cell by Cell
==========================

No torch here: a run of this script needs only Python.
"""
from __future__ import annotations

import sys
import warnings


def ratio(a, b):
    return a / b


print("first cell")
print("to stderr", file=sys.stderr)

######################################################################
# A cell that raises: the error names this file's line, and the next
# cell still runs.

print("before the error")
ratio(1, 0)
print("not reached")

######################################################################
# The namespace carries on.

print("after the error:", ratio(6, 3))
print("name:", __name__)


def typed(x: NotDefinedAnywhere):  # noqa: F821 (a string: the __future__ import holds)
    pass


print("annotations:", typed.__annotations__)

######################################################################
# A download attempt fails at once.

import urllib.request

urllib.request.urlopen("https://download.pytorch.org/tutorial/hymenoptera_data.zip", timeout=60)

######################################################################
# Warnings are counted per cell.

for _ in range(3):
    warnings.warn("a tutorial warning", UserWarning)
warnings.warn("old API", DeprecationWarning)

######################################################################
# A last bare expression is shown after the printed output.

print("a printed line")
{"answer": 42}

######################################################################
# Leaving early is recorded too; the next cell runs.

sys.exit("the script asked to stop")

######################################################################
# ``input()`` has no console.

input("continue? ")

# %%
# The last cell.

print("last cell")
