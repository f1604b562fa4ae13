"""The protocol step: ``python -m blitz.train`` as a user runs it, its results also as JSON.

``python -m blitz.reference.protocol RESULT_JSON [blitz.train's arguments]`` runs
``blitz.train.main`` with those arguments, unchanged: the log is the one a user sees. It also
records, for each seed, what ``run_tutorial`` measured (steps, seconds) and what ``evaluate``
found (accuracy), and writes them to RESULT_JSON when it ends, however it ends (an interrupted
run writes the seeds that finished), so that the run reads numbers rather than the log's text::

    {"exit_status": 0, "argv": [...], "runs": [{"seed": 42, "steps": 25000,
     "seconds": 61.2, "ms_per_step": 2.45, "accuracy": 55.08, "images": 10000}]}
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print("usage: python -m blitz.reference.protocol RESULT_JSON [ARGS...]", file=sys.stderr)
        return 2
    path, train_argv = Path(argv[0]), argv[1:]

    from blitz import train

    trained, evaluated = [], []

    def recorded(function, into):
        @functools.wraps(function)
        def call(*args, **kwargs):
            result = function(*args, **kwargs)
            into.append((kwargs, result))
            return result

        return call

    status = None
    original = train.run_tutorial, train.evaluate
    train.run_tutorial = recorded(train.run_tutorial, trained)
    train.evaluate = recorded(train.evaluate, evaluated)
    try:
        status = train.main(train_argv)
    except SystemExit as exc:  # argparse's errors
        status = exc.code if isinstance(exc.code, int) else 1
        raise
    finally:
        train.run_tutorial, train.evaluate = original
        write(path, status, train_argv, trained, evaluated)
    return status


def write(path: Path, status, argv, trained, evaluated) -> None:
    runs = []
    for (kwargs, (_, log)), (_, evaluation) in zip(trained, evaluated):
        steps = len(log.losses)
        runs.append(
            {
                "seed": getattr(kwargs.get("protocol"), "seed", None),
                "steps": steps,
                "seconds": log.seconds,
                "ms_per_step": 1000 * log.seconds / steps if steps else None,
                "accuracy": evaluation.accuracy,
                "images": sum(evaluation.total),
            }
        )
    document = {"exit_status": status, "argv": list(argv), "runs": runs}
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
