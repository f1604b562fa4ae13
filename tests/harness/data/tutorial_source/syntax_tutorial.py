"""
A Script With a Syntax Error
============================
"""
print("before")

######################################################################
# This cell does not parse.

value = (1,

######################################################################
# The next cell still runs.

print("after")
