"""
A Script Whose Process Dies
===========================
"""
import os

print("started")

######################################################################
# The process ends here, without Python's exit.

os._exit(7)

######################################################################
# Never reached.

print("never")
