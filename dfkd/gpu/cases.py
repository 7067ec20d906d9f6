"""The rounds the GPU check runs: every distillation method and every GAN variant, in every precision."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from dfkd.benchmark import Contender, distill_contenders, gan_contenders
from dfkd.distill.methods import METHODS
from dfkd.gpu.profiles import CheckProfile, gan_recipes, method_recipe

Build = Callable[[], tuple[Contender, torch.device]]


@dataclass(frozen=True)
class RoundCase:
    """One training round to build and run: ``kind`` distill (``name`` = method) or gan (``name`` = recipe)."""

    kind: str
    name: str
    precision: str
    build: Build


def _distill(method: str, overrides: list[str]) -> Build:
    recipe, extra = method_recipe(method)

    def build() -> tuple[Contender, torch.device]:
        contenders, device = distill_contenders(recipe, [*overrides, *extra], [method])
        return contenders[0], device

    return build


def _gan(recipe: Path, overrides: list[str]) -> Build:
    stage = recipe.stem.rsplit("-", 1)[1]  # "...-one" / "...-two"

    def build() -> tuple[Contender, torch.device]:
        contenders, device = gan_contenders(str(recipe), overrides, [stage])
        return contenders[0], device

    return build


def round_cases(profile: CheckProfile, images: Path) -> list[RoundCase]:
    """Distillation methods (:data:`dfkd.distill.methods.METHODS`) and GAN recipes, per precision; the GAN
    rounds train on the image folder ``images``."""
    cases = []
    for precision in profile.precisions:
        common = [f"run.precision={precision}"]
        for method in METHODS.names():
            overrides = [*profile.distill_overrides, *common]
            cases.append(RoundCase("distill", method, precision, _distill(method, overrides)))
        gan_overrides = [*profile.gan_overrides, f"data.name={images}", *common]
        for recipe in gan_recipes():
            cases.append(RoundCase("gan", recipe.stem, precision, _gan(recipe, gan_overrides)))
    return cases
