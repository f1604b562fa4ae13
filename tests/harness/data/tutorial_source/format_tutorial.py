# -*- coding: utf-8 -*-
"""
A Tutorial in the Gallery's Format
==================================

The docstring is the first text block.
"""
import math

###############################################################################
# A line of twenty or more ``#`` starts a text block; the comment lines
# that follow it are its text.

x = math.sqrt(16)
print(x)

# %%
# ``# %%`` starts a text block too.

y = x + 1  # a comment inside code stays code

# this comment follows code: it is code too
y

######################################################################
# Two text blocks in a row.

######################################################################
# The second one.

# sphinx_gallery_start_ignore
hidden_setup = 1
# sphinx_gallery_end_ignore
shown = hidden_setup + 1

# %%%%%%INVISIBLE_CODE_BLOCK%%%%%%
del shown
# %%%%%%INVISIBLE_CODE_BLOCK%%%%%%
