"""The loss a game hands to the engine, and state that follows the critic updates (FisherGAN's multiplier).

Most losses are fixed functions (:class:`FixedLoss`). FisherGAN (Mroueh & Sercu 2017) is an augmented
Lagrangian: L_D = -(E y_r - E y) - lam*c + rho/2*c^2 with the constraint c = 1 - (E y_r^2 + E y^2)/2, and after
every critic update the multiplier moves against the constraint, lam <- lam - rho*c (c at that update's critic
outputs, as the official code does with lam's gradient). :class:`FisherMultiplier` keeps lam, gives the engine the
objective with the current lam, and is saved in checkpoints. lam stays a float64 tensor on the device between
checkpoints (a skipped critic update leaves it unchanged, decided on the device): no host synchronisation. Which
losses carry state is a registry (:data:`LOSS_STATES`); every other loss gets :class:`FixedLoss`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

import torch
from torch import Tensor

from dfkd.engine import Objective, StepStats
from dfkd.losses import GAN_LOSSES, AdversarialLoss
from dfkd.losses.gan import fisher_constraint
from dfkd.registry import Registry

CRITIC_UPDATES = ("critic", "one")
"""StepStats kinds that updated the critic."""


class LossState(Protocol):
    def objective(self) -> Objective: ...

    def after_update(self, stats: StepStats) -> bool:
        """Called after every engine update; True when :meth:`objective` changed."""
        ...

    def scalars(self) -> dict[str, Tensor | float]: ...

    def state_dict(self) -> dict[str, object]: ...

    def load_state_dict(self, state: Mapping[str, object]) -> None: ...


class FixedLoss:
    """A loss with its hyper-parameters bound once; no state."""

    def __init__(self, loss: AdversarialLoss, params: Mapping[str, float]) -> None:
        self._objective = loss.objective(**params)

    def objective(self) -> Objective:
        return self._objective

    def after_update(self, stats: StepStats) -> bool:
        return False

    def scalars(self) -> dict[str, Tensor | float]:
        return {}

    def state_dict(self) -> dict[str, object]:
        return {}

    def load_state_dict(self, state: Mapping[str, object]) -> None:
        pass


class FisherMultiplier:
    """FisherGAN's Lagrange multiplier lam (initial ``lam``, default 0) with penalty weight ``rho``."""

    def __init__(self, loss: AdversarialLoss, params: Mapping[str, float]) -> None:
        self.loss = loss
        self.rho = float(params.get("rho", 1e-6))
        self.lam: Tensor | float = float(params.get("lam", 0.0))
        self.constraint: Tensor | float = float("nan")

    def objective(self) -> Objective:
        # Always a float64 tensor (a 0-dim CPU one until the first update puts it on the device): L_D is then
        # computed alike before and after a resume, when lam comes back from the checkpoint as a float.
        lam = self.lam if isinstance(self.lam, Tensor) else torch.tensor(self.lam, dtype=torch.float64)
        return self.loss.objective(lam=lam, rho=self.rho)

    def after_update(self, stats: StepStats) -> bool:
        if stats.kind not in CRITIC_UPDATES:
            return False
        if stats.y_real is None or stats.y_fake is None:
            raise ValueError("FisherGAN needs the critic outputs of each critic update (StepStats.y_real/y_fake)")
        device = stats.y_fake.device
        wide = torch.float64 if device.type != "mps" else torch.float32  # lam moves by rho*c: keep its digits
        lam = torch.as_tensor(self.lam, dtype=wide, device=device)
        old = torch.as_tensor(self.constraint, dtype=wide, device=device)
        constraint = fisher_constraint(stats.y_real.float(), stats.y_fake.float()).to(wide)
        skipped = stats.skip_flag if stats.skip_flag is not None else torch.zeros((), dtype=torch.bool, device=device)
        # New tensors, never updated in place: values handed out by scalars() keep their round's value.
        self.constraint = torch.where(skipped, old, constraint)
        self.lam = torch.where(skipped, lam, lam - self.rho * constraint)
        return True

    def scalars(self) -> dict[str, Tensor | float]:
        return {"fisher_lambda": self.lam, "fisher_constraint": self.constraint}

    def state_dict(self) -> dict[str, object]:
        return {"lam": float(self.lam), "constraint": float(self.constraint)}

    def load_state_dict(self, state: Mapping[str, object]) -> None:
        self.lam = float(state["lam"])  # type: ignore[arg-type]
        self.constraint = float(state["constraint"])  # type: ignore[arg-type]


LossStateFactory = Callable[[AdversarialLoss, Mapping[str, float]], LossState]
LOSS_STATES: Registry[LossStateFactory] = Registry("stateful GAN loss")
LOSS_STATES.add("fisher", FisherMultiplier)


def build_loss_state(name: str, params: Mapping[str, float]) -> LossState:
    """The state object of loss ``name``: its registered stateful form, else :class:`FixedLoss`."""
    factory = LOSS_STATES.get(name) if name in LOSS_STATES else FixedLoss
    return factory(GAN_LOSSES.get(name), params)
