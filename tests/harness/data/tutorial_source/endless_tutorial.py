"""
A Script That Never Ends
========================
"""
print("started")

######################################################################
# This cell loops until the runner's time limit.

while True:
    pass
