"""Reports over saved runs: ``python -m blitz.report claims FILE...`` and ``... bench FILE...``.

Each subcommand lives in its own module (``claims``, ``bench``) with ``add_arguments(parser)``,
which sets ``run(args) -> exit code`` as the parser's default. A bad input file raises
``ReportError`` with a message naming the file; the command line prints it and exits 2.
"""

from pathlib import Path


class ReportError(Exception):
    """An input the report cannot use; the message names the file and what is wrong."""


def expand(names: list[str], what: str = "") -> list[Path]:
    """The files named, a directory standing for every ``*.json`` file under it (sorted).

    ``what`` names the files expected (``"claims"``) in the error for an empty directory.
    """
    paths: list[Path] = []
    for name in names:
        path = Path(name)
        if path.is_dir():
            found = sorted(path.rglob("*.json"))
            if not found:
                kind = f"{what} files" if what else "files"
                raise ReportError(f"{path}: a directory with no *.json {kind} in it")
            paths.extend(found)
        elif path.exists():
            paths.append(path)
        else:
            raise ReportError(f"{path}: no such file")
    return paths
