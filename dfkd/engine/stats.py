"""What one engine step reports. Values stay tensors until a logger asks for floats (no per-step syncs)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from torch import Tensor


@dataclass
class StepStats:
    """Statistics of one update.

    ``kind``: "one" (one-stage joint update), "critic" (critic only), "generator" (generator only).
    ``gamma``: per-sample scales at the fake sample (one-stage only); ``guarded``: mask of the samples that
    needed the eps cotangent (see :mod:`dfkd.engine.gamma`); ``exact``: whether this update reproduces the
    two-stage gradients exactly (False for asymmetric objectives on sample-coupling critics).
    ``y_real`` / ``y_fake``: the detached critic outputs at which this update's losses were evaluated (critic
    and one-stage updates), for state that a game updates from them (FisherGAN's multiplier); not logged.
    """

    kind: str
    skipped: bool = False
    skip_reason: str = ""
    critic_loss: Tensor | None = None
    generator_loss: Tensor | None = None
    generator_aux_loss: Tensor | None = None
    critic_grad_norm: Tensor | None = None
    generator_grad_norm: Tensor | None = None
    gamma: Tensor | None = None
    guarded: Tensor | None = None
    exact: bool | None = None
    y_real: Tensor | None = None
    y_fake: Tensor | None = None

    @property
    def guarded_count(self) -> int:
        return 0 if self.guarded is None else int(self.guarded.sum())

    def scalars(self) -> dict[str, float]:
        """Flat float dictionary for logging; gamma statistics exclude guarded samples."""
        out: dict[str, float] = {"skipped": float(self.skipped)}
        for name in ("critic_loss", "generator_loss", "generator_aux_loss", "critic_grad_norm", "generator_grad_norm"):
            value = getattr(self, name)
            if value is not None:
                out[name] = float(value)
        if self.guarded is not None:
            out["guarded"] = float(self.guarded_count)
        if self.gamma is not None and not self.skipped:
            usable = self.gamma if self.guarded is None else self.gamma[~self.guarded]
            if usable.numel():
                out["gamma_mean"] = float(usable.mean())
                out["gamma_min"] = float(usable.min())
                out["gamma_max"] = float(usable.max())
        if self.exact is not None:
            out["exact"] = float(self.exact)
        return out


def summarize(steps: Iterable[StepStats]) -> dict[str, float]:
    """Average the scalars of several updates (e.g. the 5 critic steps and 1 generator step of a round);
    ``skipped`` and ``guarded`` are summed."""
    totals: dict[str, float] = {}
    counts: dict[str, int] = {}
    for stats in steps:
        for key, value in stats.scalars().items():
            totals[key] = totals.get(key, 0.0) + value
            counts[key] = counts.get(key, 0) + 1
    summed = {"skipped", "guarded"}
    return {k: (v if k in summed else v / counts[k]) for k, v in totals.items()}
