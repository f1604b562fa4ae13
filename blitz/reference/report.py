"""The report step: ``python -m blitz.reference.report OUTDIR [BENCH_JSON...]``.

Runs ``python -m blitz.report bench OUTDIR/bench.json [BENCH_JSON...] --plot
OUTDIR/speedup.png`` (the speedup tables and the verdict on C11), then ``python -m blitz.report
claims OUTDIR/claims.json --markdown OUTDIR/claims.md``, in one process: the second runs
whatever the first did. The exit status is the claims report's where it failed, else the bench
report's.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path


def _report(argv: list[str]) -> int:
    from blitz.report.__main__ import main

    try:
        return main(argv)
    except SystemExit as exc:  # a usage error: argparse has said why
        return exc.code if isinstance(exc.code, int) else 2
    except Exception:  # noqa: BLE001 - the other report still runs; the trace is in the log
        traceback.print_exc()
        return 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print("usage: python -m blitz.reference.report OUTDIR [BENCH_JSON...]", file=sys.stderr)
        return 2
    out, extra = Path(argv[0]), argv[1:]
    bench = _report(["bench", str(out / "bench.json"), *extra, "--plot", str(out / "speedup.png")])
    print()
    claims = _report(["claims", str(out / "claims.json"), "--markdown", str(out / "claims.md")])
    return claims or bench


if __name__ == "__main__":
    sys.exit(main())
