"""
Tensors, for blitz's tests
==========================

Written for blitz's tests in the tutorial's format: each cell states one of the tensor claims,
in words and names of its own, so that the probes must find them by their code.
"""

import numpy as np
import torch

######################################################################
# Made from data, a tensor's dtype is inferred.

rows = [[5, 6], [7, 8]]
from_rows = torch.tensor(rows)

######################################################################
# A NumPy array gives a tensor too.

as_array = np.array(rows)
from_array = torch.from_numpy(as_array)

######################################################################
# A tensor like another keeps its shape and dtype, unless told otherwise.

all_ones = torch.ones_like(from_rows)
print(f"like, ones:\n{all_ones}\n")

uniform = torch.rand_like(from_rows, dtype=torch.float)
print(f"like, uniform:\n{uniform}\n")

######################################################################
# A shape is a tuple.

dims = (2, 3)
draw = torch.rand(dims)
filled = torch.ones(dims)
empty = torch.zeros(dims)
print(draw)
print(filled)
print(empty)

######################################################################
# What a tensor knows about itself.

probe_me = torch.rand(2, 5)
print(probe_me.shape, probe_me.dtype)
print(f"lives on {probe_me.device}")

######################################################################
# The device, chosen without naming it.

target = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"
print(f"running on {target}")

######################################################################
# Moved there.

on_target = probe_me.to(target)

######################################################################
# Slices, as in NumPy.

grid = torch.ones(3, 4)
grid[:, 2] = 0
print(grid)

######################################################################
# Joining: ``torch.cat``; ``torch.stack`` adds a dimension instead.

joined = torch.cat([grid, grid], dim=0)
print(joined)

######################################################################
# Products, element by element.

print(grid.mul(grid))
print(grid * grid)

######################################################################
# Matrix products.

print(grid.matmul(grid.T))
print(grid @ grid.T)

######################################################################
# A trailing underscore changes the tensor in place.

print(grid)
grid.add_(2)
print(grid)

######################################################################
# .. note::
#    In-place operations are troublesome when computing derivatives: the history is lost.

######################################################################
# A CPU tensor and its NumPy view share memory.

source = torch.ones(3)
print(f"source: {source}")
view = source.numpy()
print(f"view: {view}")

######################################################################
# A change of one shows in the other.

source.add_(3)
print(f"source: {source}")
print(f"view: {view}")

######################################################################
# The other way round.

backing = np.zeros(3)
shared = torch.from_numpy(backing)
np.add(backing, 2, out=backing)
print(f"shared: {shared}")
print(f"backing: {backing}")
