"""Every recipe under recipes/gan loads and validates; the variants cover the paper's list in both stages."""

from __future__ import annotations

from pathlib import Path

import pytest

from dfkd.config.load import RecipeError, load_recipe
from dfkd.gan.config import GanRecipe
from tests.gan.helpers import RECIPES, VARIANTS, recipe_path

ALL = sorted(RECIPES.rglob("*.yaml"))
PAPER_VARIANTS = {"dcgan-sym", "dcgan-asym", "cgan", "wgan", "lsgan", "geogan", "relgan", "fishergan", "bgan", "sngan"}


@pytest.mark.parametrize("path", ALL, ids=[str(p.relative_to(RECIPES)) for p in ALL])
def test_recipe_loads(path: Path) -> None:
    recipe = load_recipe(GanRecipe, path)
    if path.stem != "base":
        assert recipe.run.name == f"{path.parent.name}-{path.stem}"
        assert recipe.train.stage == path.stem.rsplit("-", 1)[1]


def test_every_variant_in_both_stages_on_both_datasets() -> None:
    assert PAPER_VARIANTS <= set(VARIANTS)
    for dataset, resolution in (("cifar10", 32), ("celeba64", 64)):
        for variant in VARIANTS:
            for stage in ("one", "two"):
                recipe = load_recipe(GanRecipe, recipe_path(variant, stage, dataset))
                assert recipe.model.resolution == resolution


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        ("dcgan-sym", {"loss": "minimax", "norm": "gn", "critic_steps": 1}),
        ("dcgan-asym", {"loss": "nonsaturating", "norm": "gn", "critic_steps": 1}),
        ("wgan", {"loss": "wgan", "clip": 0.01, "critic_steps": 5, "optim": "rmsprop"}),
        ("wgan-gp", {"loss": "wgan", "penalty": "gp", "critic_steps": 5}),
        ("sngan", {"loss": "hinge", "norm": "sn"}),
        ("fishergan", {"loss": "fisher", "critic_steps": 2}),
        ("cgan", {"loss": "minimax", "conditional": True}),
    ],
)
def test_official_settings(variant: str, expected: dict[str, object]) -> None:
    r = load_recipe(GanRecipe, recipe_path(variant))
    seen = {
        "loss": r.loss.name, "norm": r.model.norm, "critic_steps": r.train.critic_steps, "clip": r.loss.clip,
        "penalty": r.loss.penalty, "optim": r.optim.critic.name, "conditional": r.model.conditional,
    }  # fmt: skip
    assert {k: seen[k] for k in expected} == expected
    assert r.train.batch_size == 128 and r.model.nz == 100


def test_unknown_loss_and_bad_params_name_the_key() -> None:
    with pytest.raises(RecipeError, match="loss.name"):
        load_recipe(GanRecipe, recipe_path("lsgan"), ["loss.name=lsgan2"])
    with pytest.raises(RecipeError, match="rho"):
        load_recipe(GanRecipe, recipe_path("lsgan"), ["loss.params={rho: 1.0}"])
    with pytest.raises(RecipeError, match="penalty"):
        load_recipe(GanRecipe, recipe_path("lsgan"), ["loss.penalty=gradient"])
    with pytest.raises(RecipeError, match="resolution"):
        load_recipe(GanRecipe, recipe_path("lsgan"), ["model.resolution=48"])
