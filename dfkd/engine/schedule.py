"""Rounds made of engine updates: k critic updates per generator update, in one or two stages.

``on_step(stats)``, when given, is called after each engine update returns, in order, before the next update
draws its batch (for a joint two-stage step, after both of its halves). Games use it for state that must follow
every critic update, such as FisherGAN's Lagrange multiplier.
"""

from __future__ import annotations

from collections.abc import Callable

from dfkd.engine.engine import AdversarialEngine
from dfkd.engine.objective import AdversarialBatch
from dfkd.engine.stats import StepStats

DrawBatch = Callable[[], AdversarialBatch]
StepCallback = Callable[[StepStats], None]


def _check_steps(critic_steps: int) -> None:
    if critic_steps < 1:
        raise ValueError(f"critic_steps must be >= 1, got {critic_steps}")


def _report(stats: list[StepStats], on_step: StepCallback | None) -> list[StepStats]:
    if on_step is not None:
        for item in stats:
            on_step(item)
    return stats


def one_stage_round(
    engine: AdversarialEngine, draw: DrawBatch, critic_steps: int = 1, on_step: StepCallback | None = None
) -> list[StepStats]:
    """``critic_steps - 1`` critic-only updates on detached fakes, then one joint one-stage update."""
    _check_steps(critic_steps)
    stats: list[StepStats] = []
    for _ in range(critic_steps - 1):
        stats += _report([engine.critic_step(draw())], on_step)
    stats += _report([engine.one_stage_step(draw())], on_step)
    return stats


def two_stage_round(
    engine: AdversarialEngine,
    draw: DrawBatch,
    critic_steps: int = 1,
    reuse_fake: bool = True,
    on_step: StepCallback | None = None,
) -> list[StepStats]:
    """``critic_steps`` critic updates, then one generator update against the updated critic.

    With ``reuse_fake`` (the usual GAN loop) the last critic update and the generator update share one
    generator forward; without it (DFAD) the generator update draws a fresh batch.
    """
    _check_steps(critic_steps)
    stats: list[StepStats] = []
    if reuse_fake:
        for _ in range(critic_steps - 1):
            stats += _report([engine.critic_step(draw())], on_step)
        stats += _report(list(engine.two_stage_step(draw())), on_step)
        return stats
    for _ in range(critic_steps):
        stats += _report([engine.critic_step(draw())], on_step)
    stats += _report([engine.generator_step(draw())], on_step)
    return stats
