"""``python -m blitz.report {claims,bench} FILE...``: the cross-version claims matrix and the
benchmark speedup report."""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    from blitz.report import bench, claims

    parser = argparse.ArgumentParser(
        prog="python -m blitz.report",
        description="Reports over saved blitz runs.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{claims,bench}")
    claims.add_arguments(
        commands.add_parser(
            "claims",
            help="merge --claims-json files into one matrix: claim x torch version (x device)",
        )
    )
    bench.add_arguments(
        commands.add_parser(
            "bench",
            help="GPU/CPU speedup per configuration from pytest-benchmark JSON files",
        )
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    from blitz.report import ReportError

    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except ReportError as exc:
        print(f"python -m blitz.report {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
