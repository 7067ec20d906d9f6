"""Train a teacher with supervision (CIFAR through torchvision, any ImageFolder, or the generated shapes and patterns).

The result is a teacher file recording architecture, classes, input size, normalisation, accuracy and a
sha256 of the weights. Without a recipe, trains the quick-start teacher.
"""

from __future__ import annotations

import argparse

from dfkd.cli._recipe_args import add_recipe_arguments, split_recipe_and_overrides

HELP = "supervised training of a teacher (default: the quick-start teacher)"


def configure(parser: argparse.ArgumentParser) -> None:
    add_recipe_arguments(parser, "default: the quick-start teacher on generated patterns")
    parser.add_argument("--force", action="store_true", help="overwrite the teacher file (output=) if it exists")


def run(args: argparse.Namespace) -> int:
    from dfkd.teachers.train import train_teacher

    recipe, overrides = split_recipe_and_overrides(args.items)
    info, _ = train_teacher(recipe, overrides, resume=args.resume, force=args.force)
    return 0 if info is not None else 1
