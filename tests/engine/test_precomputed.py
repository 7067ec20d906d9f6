"""A critic-only step can hand the critic a side input computed before (``precomputed``) with a given fake
batch; the engine passes it on untouched and otherwise calls the critic exactly as before."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from dfkd.engine import AdversarialBatch, AdversarialEngine
from dfkd.losses import GAN_LOSSES
from tests.engine.helpers import TinyCritic, TinyGenerator


class RecordingCritic(TinyCritic):
    """Records the ``precomputed`` keyword of every call (absent: the string "absent")."""

    def __init__(self) -> None:
        super().__init__("gn")
        self.received: list[object] = []

    def forward(self, x: Tensor, **kwargs: object) -> Tensor:  # type: ignore[override]
        self.received.append(kwargs.get("precomputed", "absent"))
        return super().forward(x)


def _engine(critic: torch.nn.Module) -> AdversarialEngine:
    torch.manual_seed(0)
    generator = TinyGenerator()
    return AdversarialEngine(
        generator,
        critic,
        GAN_LOSSES.get("nonsaturating").objective(),
        torch.optim.SGD(generator.parameters(), lr=0.01),
        torch.optim.SGD(critic.parameters(), lr=0.01),
    )


def test_precomputed_reaches_the_critic_with_the_fake_batch_only() -> None:
    critic = RecordingCritic()
    engine = _engine(critic)
    batch = AdversarialBatch(z=torch.randn(4, 4), real=torch.rand(4, 3, 8, 8))
    side = object()
    stats = engine.critic_step(batch, fake=torch.rand(4, 3, 8, 8), precomputed=side)
    assert not stats.skipped
    assert critic.received == ["absent", side]  # the real batch first, then the fakes with their side input


def test_without_precomputed_the_critic_is_called_as_before() -> None:
    critic = RecordingCritic()
    engine = _engine(critic)
    batch = AdversarialBatch(z=torch.randn(4, 4), real=torch.rand(4, 3, 8, 8))
    engine.critic_step(batch)
    engine.critic_step(batch, fake=torch.rand(4, 3, 8, 8))
    engine.generator_step(batch)
    engine.one_stage_step(batch)
    assert critic.received == ["absent"] * 7  # 2 + 2 + 1 (L_G ignores the real batch) + 2


def test_precomputed_without_its_fake_batch_is_refused() -> None:
    engine = _engine(TinyCritic("gn"))
    with pytest.raises(ValueError, match="precomputed"):
        engine.critic_step(AdversarialBatch(z=torch.randn(4, 4)), precomputed=object())
