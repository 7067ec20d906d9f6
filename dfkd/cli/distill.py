"""Distil a teacher into a student without the teacher's data (one-stage, DFAD or ZSKT).

Without a recipe, runs the quick-start: a small teacher trained on first use on generated patterns (cached in
checkpoints/), one-stage distillation into a smaller student, then as many student updates on fixed noise
inputs as a control.
"""

from __future__ import annotations

import argparse

from dfkd.cli._errors import CommandLineError
from dfkd.cli._recipe_args import add_recipe_arguments, split_recipe_and_overrides

HELP = "data-free distillation of a teacher into a student (default: the quick-start)"


def configure(parser: argparse.ArgumentParser) -> None:
    add_recipe_arguments(parser, "default: the built-in quick-start")


def run(args: argparse.Namespace) -> int:
    from dfkd.distill.job import format_report, run_distill_with_baseline

    recipe, overrides = split_recipe_and_overrides(args.items)
    if args.resume and recipe:
        raise CommandLineError("--resume reads the run's own recipe.yaml; give only key=value overrides")
    summary, baseline = run_distill_with_baseline(recipe, overrides, resume=args.resume)
    print(format_report(summary, baseline))
    print(f"\nrun directory: {summary['run_dir']}")
    return 0
