"""Train a GAN (DCGAN networks) with one-stage or two-stage adversarial updates, e.g. `dfkd gan
recipes/gan/cifar10/lsgan-one.yaml train.steps=300 fid.extractor=timm:resnet18`. FID/KID use torch-fidelity's
Inception-v3 weights (offline: fid.weights=PATH); fid.enabled=false trains without evaluation. See docs/gan.md."""

from __future__ import annotations

import argparse

from dfkd.cli._errors import CommandLineError
from dfkd.cli._recipe_args import add_recipe_arguments, split_recipe_and_overrides

HELP = "train a GAN in one or two stages (DCGAN, WGAN, LSGAN, hinge, RelGAN, FisherGAN, BGAN, SNGAN, CGAN)"


def configure(parser: argparse.ArgumentParser) -> None:
    add_recipe_arguments(parser, "e.g. recipes/gan/cifar10/lsgan-one.yaml")


def run(args: argparse.Namespace) -> int:
    from dfkd.gan.job import format_summary, run_gan

    recipe, overrides = split_recipe_and_overrides(args.items)
    if args.resume and recipe:
        raise CommandLineError("--resume reads the run's own recipe.yaml; give only key=value overrides")
    if not args.resume and recipe is None:
        raise CommandLineError("give a recipe, e.g. recipes/gan/cifar10/lsgan-one.yaml (or --resume RUN_DIR)")
    summary = run_gan(recipe, overrides, resume=args.resume)
    print(format_summary(summary))
    return 0
