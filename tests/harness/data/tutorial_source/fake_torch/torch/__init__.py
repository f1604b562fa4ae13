"""A stand-in for torch that only records its seed: the harness tests' fast child runs."""

seeds = []


def manual_seed(seed):
    seeds.append(seed)
