"""Adversarial losses as pure functions in registries.

A loss is ONE pure function ``pair(y_real, y_fake, **params) -> (L_D, L_G)`` of the critic's scalar outputs
(batch means), plus one registry entry declaring whether it is symmetric (L_G = -L_D^f). Adding a loss is
one function and one decorator line::

    @register_gan_loss("hinge", symmetric=False)
    def hinge(y_real, y_fake):
        return F.relu(1 - y_real).mean() + F.relu(1 + y_fake).mean(), -y_fake.mean()
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from torch import Tensor

from dfkd.engine.objective import Objective
from dfkd.registry import Registry

PairFunction = Callable[..., tuple[Tensor, Tensor]]


@dataclass(frozen=True)
class AdversarialLoss:
    """A registered (L_D, L_G) pair with its properties.

    ``needs_real``: the critic loss has a real-data term (GANs) or not (distillation, where the "critic" is
    teacher + student and sees only generated samples). ``generator_uses_real``: L_G reads the real outputs.
    """

    name: str
    pair: PairFunction
    symmetric: bool
    needs_real: bool = True
    generator_uses_real: bool = False

    def objective(self, **params: float | Tensor) -> Objective:
        """The engine objective of this loss with its hyper-parameters bound (numbers, or 0-dim tensors for values
        a stateful loss updates on the device, e.g. FisherGAN's multiplier)."""
        losses = functools.partial(self.pair, **params) if params else self.pair
        return Objective(
            losses=losses,
            symmetric=self.symmetric,
            name=self.name,
            generator_uses_real=self.generator_uses_real,
        )


GAN_LOSSES: Registry[AdversarialLoss] = Registry("GAN loss")
KD_OBJECTIVES: Registry[AdversarialLoss] = Registry("distillation objective")


def _register(
    registry: Registry[AdversarialLoss], name: str, *, symmetric: bool, needs_real: bool, generator_uses_real: bool
) -> Callable[[PairFunction], PairFunction]:
    def decorate(pair: PairFunction) -> PairFunction:
        registry.add(name, AdversarialLoss(name, pair, symmetric, needs_real, generator_uses_real))
        return pair

    return decorate


def register_gan_loss(
    name: str, *, symmetric: bool, generator_uses_real: bool = False
) -> Callable[[PairFunction], PairFunction]:
    return _register(GAN_LOSSES, name, symmetric=symmetric, needs_real=True, generator_uses_real=generator_uses_real)


def register_kd_objective(name: str, *, symmetric: bool) -> Callable[[PairFunction], PairFunction]:
    return _register(KD_OBJECTIVES, name, symmetric=symmetric, needs_real=False, generator_uses_real=False)


def require_real(y_real: Tensor | None, loss: str) -> Tensor:
    if y_real is None:
        raise ValueError(f"the GAN loss {loss!r} needs critic outputs on a real batch")
    return y_real
