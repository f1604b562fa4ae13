"""The GPU reference run: ``python -m blitz.reference OUTDIR [--rehearse]`` (docs/gpu-reference.md).

Every claim on cpu and cuda, the benchmark grid (claim C11), the tutorial's protocol on cuda,
then the reports, from an uninstalled working tree (``PYTHONPATH=.``) with ``python3`` alone.
Each step is a subprocess with a time limit; the run reads each step's JSON, never its text.

- ``cli``: the command line, the order of the steps, the summary.
- ``plan``: the two modes (``GPU``, ``REHEARSAL``), the steps' argv and environment, and what
  each step's outputs say (``claims.json``, ``bench.json``, the verdict on C11, ...).
- ``runner``: a step as a subprocess: its log, its limit (SIGINT, then SIGKILL), its outcome.
- ``env``, ``protocol``, ``report``: the steps that are blitz's own programs
  (``python -m blitz.reference.env``, ...).

Everything but ``env`` and ``protocol`` is torch-free.
"""
