"""Measure how exactly one-stage updates reproduce the two-stage gradients, loss by loss.

Prints, for every loss and critic, the relative error of the one-stage gradients of the critic and the
generator against two exact backward passes at the same parameters. Cases expected to be exact (symmetric
losses, or per-sample critics) must be within the dtype's tolerance (1e-10 in float64); cases with a
sample-coupling critic and an asymmetric loss are reported with their error. Exit status 1 if an
exact-expected case is not exact.
"""

from __future__ import annotations

import argparse
import sys

from dfkd.cli._arg_types import non_negative_int, positive_int

HELP = "one-stage vs exact two-stage gradients for every loss (exit 1 if an exact case is not)"


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--losses", type=_csv, default=None, help="comma-separated losses (default: all)")
    parser.add_argument(
        "--critics", type=_csv, default=None, help="comma-separated critics: gn,bn (GAN) / student-gn,student-bn (KD)"
    )
    parser.add_argument("--dtype", type=_csv, default=["float64"], help="float64 (default) and/or float32")
    parser.add_argument("--batch-size", type=positive_int, default=32, help="samples per batch (default 32)")
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")


def run(args: argparse.Namespace) -> int:
    from dfkd.audit import format_table, rows_to_json, run_audit

    try:
        rows = run_audit(args.losses, args.critics, args.dtype, batch_size=args.batch_size, seed=args.seed)
    except ValueError as err:
        print(f"dfkd audit: {err}", file=sys.stderr)
        return 2
    print(rows_to_json(rows) if args.json else format_table(rows))
    failed = [r for r in rows if not r.passed]
    if failed and not args.json:
        print(f"\n{len(failed)} exact-expected case(s) exceeded their tolerance", file=sys.stderr)
    return 1 if failed else 0
