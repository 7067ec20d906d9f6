"""Building tiny GAN games from the real recipes, for the tests."""

from __future__ import annotations

from pathlib import Path

import torch

from dfkd.config.load import load_recipe
from dfkd.engine import AdversarialBatch
from dfkd.gan.config import GanRecipe
from dfkd.gan.game import GanGame
from dfkd.gan.job import build_game
from tests.gan.conftest import TINY

RECIPES = Path(__file__).resolve().parents[2] / "recipes" / "gan"
VARIANTS = sorted(p.name.removesuffix("-one.yaml") for p in (RECIPES / "cifar10").glob("*-one.yaml"))


def recipe_path(variant: str, stage: str = "one", dataset: str = "cifar10") -> Path:
    return RECIPES / dataset / f"{variant}-{stage}.yaml"


def tiny_overrides(folder: Path, *extra: str) -> list[str]:
    return [*TINY, f"data.name={folder}", *extra]


def tiny_game(variant: str, stage: str, folder: Path, *extra: str) -> GanGame:
    """The variant's cifar10 recipe shrunk by :data:`TINY`, on the blob folder, built as ``dfkd gan`` builds it."""
    recipe = load_recipe(GanRecipe, recipe_path(variant, stage), tiny_overrides(folder, *extra))
    torch.manual_seed(recipe.run.seed)
    return build_game(recipe, torch.device("cpu")).game


def as_double(game: GanGame) -> GanGame:
    """Networks in float64 in place (the optimisers and the engine keep the same Parameter objects)."""
    game.generator.double()
    game.critic.double()
    return game


def double_batch(batch: AdversarialBatch) -> AdversarialBatch:
    real = None if batch.real is None else batch.real.double()
    return AdversarialBatch(z=batch.z.double(), real=real, fake_labels=batch.fake_labels, real_labels=batch.real_labels)
