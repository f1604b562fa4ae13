"""The tutorial's own scripts, as its build ran them.

The catalogue's tests check blitz's transcription of the tutorial; this package reads the
tutorial's own code, from a user's pytorch/tutorials checkout at any revision.

- ``cells``: a script split into text blocks and code cells, by sphinx-gallery's rules;
- ``checkout``: a source ``[LABEL=]PATH``, its five scripts and its label.
"""
