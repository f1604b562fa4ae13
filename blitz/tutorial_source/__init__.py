"""The tutorial's own scripts, run as its build ran them: cells, the sandboxed run, the results.

The catalogue's tests check blitz's transcription of the tutorial; this package runs the
tutorial's own code, from a user's pytorch/tutorials checkout at any revision, so that each
claim can be judged from what that revision's code really does.

- ``cells``: a script split into text blocks and code cells, by sphinx-gallery's rules;
- ``checkout``: a source ``[LABEL=]PATH``, its five scripts and its label;
- ``runner``: each script in its own process and temporary folder (``run_source``,
  ``run_script``, ``RunOptions``);
- ``child``: the child process: one namespace, cell by cell, seeded, per-cell capture, probes;
- ``sandbox``: no network, CIFAR-10 and pretrained weights served locally, Agg figures;
- ``result``: what a run gives (``SourceRun``, ``ScriptRun``, ``CellResult``) and its JSON.

All of it is torch-free on this side; only the child imports torch (the scripts do).
"""
