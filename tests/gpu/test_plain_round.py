"""The engine-overhead yardstick computes the same update as the engine's one-stage round."""
from __future__ import annotations

import copy

import pytest
import torch

from dfkd.config.load import load_recipe
from dfkd.distill.config import DistillRecipe
from dfkd.distill.game import DistillGame
from dfkd.gpu.plain_round import PlainOneStageRound
from dfkd.gpu.profiles import RECIPES
from dfkd.gpu.throughput import engine_round
from dfkd.models import create_model
from dfkd.teachers.record import TeacherInfo

TINY = ["teacher.arch=simple_cnn", "student.arch=simple_cnn", "student.kwargs={width: 4, depth: 2}",
        "generator.kwargs={nz: 8, ngf: 4}", "batch_size=8", "student_steps=3", "run.device=cpu"]  # fmt: skip


def _game(overrides: list[str], teacher: torch.nn.Module) -> DistillGame:
    recipe = load_recipe(DistillRecipe, RECIPES / "cifar10" / "onestage.yaml", [*TINY, *overrides])
    info = TeacherInfo("simple_cnn", 10, (3, 32, 32), (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
    torch.manual_seed(0)
    images = torch.zeros(4, 3, 32, 32, dtype=torch.uint8)
    return DistillGame(recipe, torch.device("cpu"), copy.deepcopy(teacher), info, images, torch.zeros(4).long())


def test_plain_round_matches_the_engine_round() -> None:
    torch.manual_seed(1)
    teacher = create_model("simple_cnn", num_classes=10, width=4, depth=2)
    engine_game, plain_game = _game([], teacher), _game([], teacher)
    initial = {k: v.clone() for k, v in engine_game.generator.state_dict().items()}
    for step in (1, 2):
        engine_round(engine_game).round(step)
        PlainOneStageRound(plain_game)(step)
    for network in ("student", "generator"):
        ours, theirs = getattr(plain_game, network).state_dict(), getattr(engine_game, network).state_dict()
        for name, value in theirs.items():
            torch.testing.assert_close(ours[name], value, rtol=1e-4, atol=1e-6, msg=f"{network}.{name}")
    generator = engine_game.generator.state_dict()
    assert any(not torch.equal(value, initial[name]) for name, value in generator.items())  # G did learn


@pytest.mark.parametrize("override", ["method=dfad", "loss.discrepancy=kl", "loss.priors={bn: 1.0}"])
def test_plain_round_refuses_other_settings(override: str) -> None:
    teacher = create_model("simple_cnn", num_classes=10, width=4, depth=2)
    with pytest.raises(ValueError, match="PlainOneStageRound reproduces method=onestage"):
        PlainOneStageRound(_game([override], teacher))
