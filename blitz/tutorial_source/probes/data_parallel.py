"""The claims that data_parallel_tutorial.py states: none that a CPU run can check, so no probe.

The page ("Optional: Data Parallelism") is about ``nn.DataParallel`` splitting a batch over
several GPUs and gathering the outputs: the catalogue's C14, a claim about a GPU, which the
tutorial-source run (on this machine's cpu) gives no verdict (``verdicts.ACCELERATOR``). On a
CPU the page's model runs unwrapped (its ``torch.cuda.device_count() > 1`` guard is false) and
prints its input and output sizes, batch by batch: a demonstration, not a claim of the
catalogue, so its output stays unread (``verdicts.printed_unchecked`` lists it). C12 (DDP) is
not stated here either: the page wraps the model in ``nn.DataParallel``, not
``DistributedDataParallel`` (``probes.cifar10_saving`` looks for that).
"""

from __future__ import annotations
