"""The cost of each network pass, and the round costs it predicts (the paper's Section 3.3, Eq. 10-17).

A round is made of a few kinds of pass through the generator G and the critic D. Each kind is timed alone, on
the game's own networks and batch (:func:`measure_pass_costs`); a round's predicted cost is the sum over its
passes (:data:`ROUND_PLANS`). For a GAN with one critic update per round (r = 1 real batch)::

    two-stage, reusing G's forward:  G_fb + 2 D_p + D_i     (the paper's 4T^g + 8T^d, less one G forward)
    one-stage:                       G_fb + D_p + D_pi      (the paper's 3T^g + 6T^d, Eq. 16)

With the paper's unit costs (forward = backward = parameter gradients = T, Eq. 10-12) G_fb = 3T^g, D_p = D_pi =
3T^d, D_i = 2T^d, so the predicted speed-up is (3T^g + 8T^d) / (3T^g + 6T^d), Eq. 17 with the generator forward
reused. The prediction counts network passes only (not loss terms, optimiser steps or bookkeeping): the measured
ratio approaches it when the networks dominate the round.

Units (each timed as one forward plus its backward, so that "backward" is measured with its own graph; the
forwards run under the game's autocast, as the engine's do):

* ``G_ng``: generator forward without gradient (critic-only updates draw detached fakes);
* ``G_fb``: generator forward with a graph, then backward to its parameters;
* ``D_p``: critic forward on a detached batch, backward to the critic's parameters;
* ``D_i``: critic forward, backward to its input only (the generator update's pass through the critic);
* ``D_pi``: critic forward, backward to parameters and input (the one-stage joint update's fake batch);
* ``D_ng``: critic forward without gradient (relativistic losses re-score the real batch).
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from dfkd.diagnostics.host_syncs import explicit_synchronize
from dfkd.engine import AdversarialBatch, Objective
from dfkd.engine.safety import BufferSnapshot
from dfkd.registry import Registry

UNITS = ("G_ng", "G_fb", "D_p", "D_i", "D_pi", "D_ng")


@dataclass
class BenchModules:
    """What a benchmark needs of a game: its networks, optimisers, objective, batches, round shape and precision.

    ``autocast_dtype`` is the engine's (None: full precision; float16 or bfloat16: the network forwards run under
    autocast, and float16 gradients go through ``scaler``, a GradScaler shared by both optimisers, as in the
    engine)."""

    generator: nn.Module
    critic: nn.Module
    generator_optimizer: torch.optim.Optimizer
    critic_optimizer: torch.optim.Optimizer
    objective: Objective
    critic_penalty: Callable[..., Tensor] | None
    draw: Callable[[], AdversarialBatch]
    critic_steps: int
    autocast_dtype: torch.dtype | None = None
    scaler: torch.amp.GradScaler = field(init=False)

    def __post_init__(self) -> None:
        self.scaler = torch.amp.GradScaler(self.device_type, enabled=self.autocast_dtype == torch.float16)

    @property
    def device_type(self) -> str:
        return next(iter(self.generator.parameters())).device.type

    @property
    def generator_params(self) -> list[nn.Parameter]:
        return [p for p in self.generator.parameters() if p.requires_grad]

    @property
    def critic_params(self) -> list[nn.Parameter]:
        return [p for p in self.critic.parameters() if p.requires_grad]

    def autocast(self) -> AbstractContextManager[None]:
        """The run's autocast, for network forwards (losses and penalties run outside it, as in the engine)."""
        if self.autocast_dtype is None:
            return nullcontext()
        return torch.autocast(self.device_type, dtype=self.autocast_dtype)

    def generate(self, batch: AdversarialBatch) -> Tensor:
        return self.generator(batch.z) if batch.fake_labels is None else self.generator(batch.z, batch.fake_labels)

    def score(self, x: Tensor, labels: Tensor | None) -> tuple[Tensor, object]:
        """The critic's per-sample scores (and auxiliary outputs, None when it has none)."""
        out = self.critic(x) if labels is None else self.critic(x, labels)
        scores, aux = out if isinstance(out, tuple) else (out, None)
        return scores.reshape(-1), aux


def _grad(outputs: Tensor, inputs: Sequence[Tensor]) -> None:
    torch.autograd.grad(outputs, inputs, torch.ones_like(outputs), allow_unused=True)


def _unit_passes(m: BenchModules, batch: AdversarialBatch) -> dict[str, Callable[[], None]]:
    """The unit passes, their forwards under the run's autocast."""
    with torch.no_grad(), m.autocast():
        fake = m.generate(batch)
    labels = batch.fake_labels

    def critic_grad(inputs_grad: bool, params: bool) -> None:
        x = fake.detach().requires_grad_(inputs_grad)
        with m.autocast():
            scores = m.score(x, labels)[0]
        _grad(scores, [*(m.critic_params if params else []), *([x] if inputs_grad else [])])

    def g_ng() -> None:
        with torch.no_grad(), m.autocast():
            m.generate(batch)

    def g_fb() -> None:
        with m.autocast():
            out = m.generate(batch)
        _grad(out, m.generator_params)

    def d_ng() -> None:
        with torch.no_grad(), m.autocast():
            m.score(fake, labels)

    return {
        "G_ng": g_ng,
        "G_fb": g_fb,
        "D_p": lambda: critic_grad(inputs_grad=False, params=True),
        "D_i": lambda: critic_grad(inputs_grad=True, params=False),
        "D_pi": lambda: critic_grad(inputs_grad=True, params=True),
        "D_ng": d_ng,
    }


def measure_pass_costs(
    modules: BenchModules,
    *,
    repeats: int = 5,
    device: torch.device | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, float]:
    """Median seconds of each unit pass (see the module docstring), timed in rotating order on one drawn batch.

    Parameters, gradients and buffers are left as they were (running statistics are restored)."""
    batch = modules.draw()
    snapshot = BufferSnapshot([modules.generator, modules.critic])
    snapshot.take()
    passes = _unit_passes(modules, batch)
    samples: dict[str, list[float]] = {name: [] for name in UNITS}
    for name in UNITS:  # warm-up
        passes[name]()
    for repeat in range(repeats):
        order = UNITS[repeat % len(UNITS) :] + UNITS[: repeat % len(UNITS)]
        for name in order:
            explicit_synchronize(device)
            start = clock()
            passes[name]()
            explicit_synchronize(device)
            samples[name].append(clock() - start)
    snapshot.restore()
    return {name: statistics.median(values) for name, values in samples.items()}


# ------------------------------------------------------------------------------------------ round plans
@dataclass(frozen=True)
class RoundShape:
    """``critic_steps`` critic updates per generator update; ``real``: the critic also scores a real batch;
    ``generator_uses_real``: the generator update re-scores the real batch (without gradient)."""

    critic_steps: int
    real: bool
    generator_uses_real: bool = False


def critic_only(shape: RoundShape) -> Counter[str]:
    return Counter({"G_ng": 1, "D_p": 1 + shape.real})


def joint_one_stage(shape: RoundShape) -> Counter[str]:
    return Counter({"G_fb": 1, "D_p": int(shape.real), "D_pi": 1})


def two_stage_step(shape: RoundShape) -> Counter[str]:
    """Critic update on the detached fakes, then the generator update on the same generator forward."""
    return Counter({"G_fb": 1, "D_p": 1 + shape.real, "D_i": 1, "D_ng": int(shape.real and shape.generator_uses_real)})


def generator_only(shape: RoundShape) -> Counter[str]:
    return Counter({"G_fb": 1, "D_i": 1, "D_ng": int(shape.real and shape.generator_uses_real)})


RoundPlan = Callable[[RoundShape], Counter[str]]
ROUND_PLANS: Registry[RoundPlan] = Registry("round plan")
ROUND_PLANS.add("one-stage", lambda s: sum([critic_only(s)] * (s.critic_steps - 1), Counter()) + joint_one_stage(s))
ROUND_PLANS.add("two-stage", lambda s: sum([critic_only(s)] * (s.critic_steps - 1), Counter()) + two_stage_step(s))
ROUND_PLANS.add("fresh-two-stage", lambda s: sum([critic_only(s)] * s.critic_steps, Counter()) + generator_only(s))
"""Passes per round: "one-stage" (k-1 critic-only updates, one joint update), "two-stage" (k-1 critic-only
updates, then critic and generator on one generator forward) and "fresh-two-stage" (DFAD: k critic-only updates,
then a generator update on a fresh batch)."""


def predicted_round_cost(plan: str, shape: RoundShape, costs: dict[str, float]) -> float:
    """Seconds per round predicted from the unit costs: the sum over the plan's passes."""
    return sum(count * costs[unit] for unit, count in ROUND_PLANS.get(plan)(shape).items())
