"""Shared argument handling: ``[RECIPE] [key=value ...] [--resume RUN_DIR]``."""

from __future__ import annotations

import argparse


def add_recipe_arguments(parser: argparse.ArgumentParser, default_help: str) -> None:
    parser.add_argument(
        "items",
        nargs="*",
        metavar="[RECIPE] [key=value ...]",
        help=f"a YAML recipe, then overrides such as steps=20 run.device=cpu ({default_help})",
    )
    parser.add_argument("--resume", metavar="RUN_DIR", help="continue runs/<name> from its last checkpoint")


def split_recipe_and_overrides(items: list[str]) -> tuple[str | None, list[str]]:
    """The first item without '=' is the recipe; the rest are overrides."""
    if items and "=" not in items[0]:
        return items[0], items[1:]
    return None, list(items)
