"""
What the Seeding Did
====================
"""
import random

import torch

print("torch seeds:", torch.seeds, f"random: {random.random():.6f}")
