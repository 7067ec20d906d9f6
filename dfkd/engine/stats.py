"""What one engine update reports. Values stay tensors on the device: nothing here synchronises with the host,
except the properties documented as reading a value (``skipped``, ``skip_reason``, ``guarded_count``), which are
for tests and interactive use, never for the training loop."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import Tensor

Scalar = Tensor | float
"""A logged value: a 0-dim tensor (on the device) or a Python number."""

SKIP_CAUSES = ("loss", "gradient")
"""Meaning of ``StepStats.skip_cause`` 1, 2 (0: not skipped)."""


@dataclass
class StepStats:
    """Statistics of one update.

    ``kind``: "one" (one-stage joint update), "critic" (critic only), "generator" (generator only).
    ``skip_flag``: 0-dim bool on the device, true when the update was skipped (nothing changed);
    ``skip_cause``: 0-dim int on the device, 0 (not skipped), 1 (non-finite loss or output derivative:
    ``loss_cause`` says which) or 2 (non-finite gradient).
    ``gamma``: per-sample scales at the fake sample (one-stage only); ``guarded``: mask of the samples that
    needed the eps cotangent (see :mod:`dfkd.engine.gamma`); ``exact``: whether this update reproduces the
    two-stage gradients exactly (False for asymmetric objectives on sample-coupling critics).
    ``y_real`` / ``y_fake``: the detached critic outputs at which this update's losses were evaluated (critic
    and one-stage updates), for state that a game updates from them (FisherGAN's multiplier); not logged.
    """

    kind: str
    skip_flag: Tensor | None = None
    skip_cause: Tensor | None = None
    loss_cause: str = "non-finite loss or output derivative"
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
    def skipped(self) -> bool:
        """Whether the update was skipped (reads the flag: one host synchronisation)."""
        return self.skip_flag is not None and bool(self.skip_flag)

    @property
    def skip_reason(self) -> str:
        """Why the update was skipped, "" if it was not (one host synchronisation)."""
        cause = 0 if self.skip_cause is None else int(self.skip_cause)
        return {0: "", 1: self.loss_cause, 2: "non-finite gradient"}.get(cause, "non-finite values")

    @property
    def guarded_count(self) -> int:
        """Number of guarded samples (one host synchronisation)."""
        return 0 if self.guarded is None else int(self.guarded.sum())

    def scalars(self) -> dict[str, Scalar]:
        """Values to log, as device tensors (no synchronisation).

        gamma statistics cover the samples that were not guarded, in updates that were not skipped; they are NaN
        when there are none (a logger leaves NaN out of its means: see :func:`summarize`).
        """
        out: dict[str, Scalar] = {"skipped": 0.0 if self.skip_flag is None else self.skip_flag.to(torch.float32)}
        for name in ("critic_loss", "generator_loss", "generator_aux_loss", "critic_grad_norm", "generator_grad_norm"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.guarded is not None:
            out["guarded"] = self.guarded.sum()
        if self.gamma is not None:
            out.update(_gamma_statistics(self.gamma, self.guarded, self.skip_flag))
        if self.exact is not None:
            out["exact"] = float(self.exact)
        return out


def _gamma_statistics(gamma: Tensor, guarded: Tensor | None, skipped: Tensor | None) -> dict[str, Tensor]:
    usable = torch.ones_like(gamma, dtype=torch.bool) if guarded is None else ~guarded
    if skipped is not None:
        usable = usable & ~skipped
    count = usable.sum()
    nan = torch.full_like(gamma[:1].reshape(()), float("nan"))
    return {
        "gamma_mean": torch.where(usable, gamma, 0).sum() / count,  # 0/0 = NaN when nothing is usable
        "gamma_min": torch.where(count > 0, torch.where(usable, gamma, float("inf")).amin(), nan),
        "gamma_max": torch.where(count > 0, torch.where(usable, gamma, float("-inf")).amax(), nan),
    }


SUMMED = frozenset({"skipped", "guarded"})


def summarize(steps: Iterable[StepStats]) -> dict[str, Scalar]:
    """Combine the scalars of several updates (e.g. the 5 critic updates and 1 generator update of a round):
    ``skipped`` and ``guarded`` are summed, everything else averaged leaving NaN out (NaN when all are NaN).
    Stays on the device: no host synchronisation."""
    collected: dict[str, list[Scalar]] = {}
    for stats in steps:
        for key, value in stats.scalars().items():
            collected.setdefault(key, []).append(value)
    return {key: _combine(values, key in SUMMED) for key, values in collected.items()}


def _combine(values: list[Scalar], summed: bool) -> Scalar:
    if len(values) == 1:
        return values[0]
    tensors = [v for v in values if isinstance(v, Tensor)]
    if not tensors:
        numbers = [float(v) for v in values]
        return sum(numbers) if summed else sum(numbers) / len(numbers)
    reference = tensors[0]
    stacked = torch.stack(
        [
            torch.as_tensor(v, device=reference.device).reshape(()).to(reference.dtype)
            if not isinstance(v, Tensor)
            else v.reshape(())
            for v in values
        ]
    )
    if summed:
        return stacked.sum()
    if not stacked.is_floating_point():
        stacked = stacked.to(torch.float32)
    return stacked.nanmean()
