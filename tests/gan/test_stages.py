"""One stage vs two stages for every variant, in float64, from the same parameters and batch.

* The critic's first update is the same in both stages (same loss, same penalty, same clipping).
* The one-stage generator update is the exact gradient of L_G at the pre-update critic (two backward passes
  as the reference); the two-stage one differs by design (it sees the updated critic).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from dfkd.engine import AdversarialEngine, GradientRecorder, reference_gradients, relative_error
from tests.gan.helpers import VARIANTS, as_double, double_batch, tiny_game

ONE_CRITIC_STEP = "train.critic_steps=1"  # so that the first critic update of a one-stage round is the joint one


def _params(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


@pytest.mark.parametrize("variant", VARIANTS)
def test_first_critic_update_identical_in_both_stages(variant: str, blob_folder: Path) -> None:
    games = {stage: as_double(tiny_game(variant, stage, blob_folder, ONE_CRITIC_STEP)) for stage in ("one", "two")}
    batch = double_batch(games["one"]._draw())
    before = _params(games["one"].critic)
    assert relative_error(before, _params(games["two"].critic)) == 0.0
    for stage, game in games.items():
        torch.manual_seed(7)  # the gradient penalty draws its interpolation weights
        stats = game.engine.one_stage_step(batch) if stage == "one" else game.engine.two_stage_step(batch)[0]
        game._after_update(stats)
        assert not stats.skipped
    one, two = _params(games["one"].critic), _params(games["two"].critic)
    assert relative_error(one, before) > 1e-6  # the critic did move
    assert relative_error(one, two) <= 1e-12
    assert games["one"].loss.scalars() == games["two"].loss.scalars()  # FisherGAN's multiplier too


@pytest.mark.parametrize("variant", VARIANTS)
def test_one_stage_generator_update_is_the_exact_gradient_at_the_pre_update_critic(
    variant: str, blob_folder: Path
) -> None:
    game = as_double(tiny_game(variant, "one", blob_folder, ONE_CRITIC_STEP))
    batch = double_batch(game._draw())
    penalty = game.engine.critic_penalty
    torch.manual_seed(3)
    reference = reference_gradients(game.generator, game.critic, game.engine.objective, batch, penalty)
    recorded_g, recorded_d = GradientRecorder(game.generator.parameters()), GradientRecorder(game.critic.parameters())
    engine = AdversarialEngine(
        game.generator, game.critic, game.engine.objective, recorded_g, recorded_d, critic_penalty=penalty
    )
    torch.manual_seed(3)
    stats = engine.one_stage_step(batch)
    assert not stats.skipped and stats.exact
    assert relative_error(recorded_g.grads, reference.generator) <= 1e-10
    assert relative_error(recorded_d.grads, reference.critic) <= 1e-10


@pytest.mark.parametrize("variant", ["dcgan-sym", "lsgan"])
def test_two_stage_generator_sees_the_updated_critic(variant: str, blob_folder: Path) -> None:
    game = as_double(tiny_game(variant, "two", blob_folder, ONE_CRITIC_STEP))
    batch = double_batch(game._draw())
    before = reference_gradients(game.generator, game.critic, game.engine.objective, batch)
    recorded_g = GradientRecorder(game.generator.parameters())
    engine = AdversarialEngine(game.generator, game.critic, game.engine.objective, recorded_g, game.critic_optimizer)
    engine.two_stage_step(batch)
    after = reference_gradients(game.generator, game.critic, game.engine.objective, batch)
    assert relative_error(recorded_g.grads, after.generator) <= 1e-10
    assert relative_error(recorded_g.grads, before.generator) > 1e-6
