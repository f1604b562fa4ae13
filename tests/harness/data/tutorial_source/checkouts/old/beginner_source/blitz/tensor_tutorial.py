"""
Old Tensors, for blitz's tests
==============================

Written for blitz's tests in the format of an older revision: most tensor claims are left out,
one prints other numbers than the golden, and one cell raises.
"""

from __future__ import print_function

import torch

###############################################################
# A matrix of zeros.

x = torch.zeros(5, 3)
print(x.size())

###############################################################
# A random tensor like another, its dtype overridden; shown upside down.

base = torch.zeros(2, 2, dtype=torch.long)
spread = torch.rand_like(base, dtype=torch.float)
spread = spread.flip(0)
print(spread)

###############################################################
# In place: the underscore.

y = torch.ones(5, 3)
y.add_(x)
print(y)

###############################################################
# NumPy-like indexing.

print(y[:, 1])

###############################################################
# Joining, called the wrong way.

joined = torch.cat(x, x)

###############################################################
# Converting to NumPy.

a = torch.ones(4)
b = a.numpy()

###############################################################
# The array follows.

a.add_(1)
print(b)
