"""Reports over saved runs: ``python -m blitz.report claims FILE...`` and ``... bench FILE...``.

Each subcommand lives in its own module (``claims``, ``bench``) with ``add_arguments(parser)``,
which sets ``run(args) -> exit code`` as the parser's default. A bad input file raises
``ReportError`` with a message naming the file; the command line prints it and exits 2.
"""


class ReportError(Exception):
    """An input the report cannot use; the message names the file and what is wrong."""
