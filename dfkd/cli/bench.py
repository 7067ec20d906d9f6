"""Benchmark one-stage against two-stage training, side by side in one process, and print the ratios.

`dfkd bench distill [RECIPE] [key=value ...]` times rounds of the recipe with method=onestage and method=dfad
(default recipe: the quick-start); `dfkd bench gan RECIPE [key=value ...]` times train.stage=one and two. Rounds
are timed in interleaved blocks; compare the ratios, not the absolute times. Beside each measured speed-up the
report gives the one predicted from the measured cost of each network pass (the paper's Eq. 17 analysis), each
contender's overhead over a minimal hand-written loop on the same networks, and its host synchronisations per
round. `--json` prints one JSON object per contender pair instead. Weights do not affect the cost: a missing
teacher checkpoint is replaced by a random teacher of the same architecture, so no data or training is needed
for distillation (GAN recipes still load their real images, e.g. data.name=patterns for generated ones).
"""

from __future__ import annotations

import argparse
import sys

from dfkd.cli._recipe_args import split_recipe_and_overrides

HELP = "time one-stage vs two-stage rounds side by side and print the ratios"


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("mode", choices=["distill", "gan"])
    parser.add_argument("items", nargs="*", metavar="[RECIPE] [key=value ...]")
    parser.add_argument(
        "--compare",
        type=_csv,
        default=None,
        help="distill: methods (default onestage,dfad); gan: stages (default one,two)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds per timed block (default 3)")
    parser.add_argument("--repeats", type=int, default=12, help="timed blocks per contender (default 12)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed rounds per contender first (default 2)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per contender pair")


def _check_counts(args: argparse.Namespace) -> None:
    for name, low in (("rounds", 1), ("repeats", 1), ("warmup", 0)):
        value = getattr(args, name)
        if value < low:
            raise SystemExit(f"dfkd bench: error: --{name}: expected an integer >= {low}, got {value}")


def run(args: argparse.Namespace) -> int:
    from dfkd.benchmark import distill_contenders, gan_contenders, run_benchmark
    from dfkd.recipes import packaged_recipe

    _check_counts(args)
    recipe, overrides = split_recipe_and_overrides(args.items)
    if args.mode == "distill":
        compare = args.compare or ["onestage", "dfad"]
        contenders, device = distill_contenders(recipe or packaged_recipe("quickstart"), overrides, compare)
    else:
        if recipe is None:
            raise SystemExit("dfkd bench gan: error: give a recipe, e.g. recipes/gan/cifar10/dcgan-asym-one.yaml")
        compare = args.compare or ["one", "two"]
        contenders, device = gan_contenders(recipe, overrides, compare)
    print(
        f"timing {', '.join(c.name for c in contenders)} and their hand-written loops on {device}: {args.repeats} "
        f"interleaved blocks of {args.rounds} rounds each (after {args.warmup} warm-up rounds)",
        file=sys.stderr if args.json else sys.stdout,
        flush=True,
    )
    report = run_benchmark(contenders, rounds=args.rounds, repeats=args.repeats, warmup=args.warmup, device=device)
    print(report.to_json_lines() if args.json else report.format())
    return 0
