"""Recipes shipped inside the package (so they work from any install): the quick-start ones."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def packaged_recipe(name: str) -> str:
    """Path of a recipe shipped with the package, e.g. ``packaged_recipe("quickstart")``."""
    path = Path(str(files(__package__).joinpath(f"{name}.yaml")))
    if not path.is_file():
        raise FileNotFoundError(f"no packaged recipe {name!r} ({path})")
    return str(path)
