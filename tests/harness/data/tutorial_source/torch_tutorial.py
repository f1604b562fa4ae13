# -*- coding: utf-8 -*-
"""
Torch in the Sandbox
====================

Seeded as the tutorial's build seeded its scripts; figures are counted.
"""
import random

import numpy as np
import torch

print(torch.rand(2))
print(f"{random.random():.6f} {np.random.rand():.6f}")

######################################################################
# A figure, shown.

import matplotlib.pyplot as plt

plt.plot([1, 2, 3])
plt.show()
