"""A probe whose ``start`` lets the child's data layer read a tiny offline copy of CIFAR-10.

blitz.data checks that an offline copy holds 50,000 and 10,000 images; the harness tests write
24 and 12 (``SMALL``), as tests/harness/test_data.py does in its own process.
"""

SMALL = {"train": 24, "test": 12}


class SmallCopy:
    name = "small-copy"

    def start(self, namespace):
        from blitz import data

        data.SPLIT_SIZES.update(SMALL)

    def __call__(self, cell, namespace, stdout):
        return None
