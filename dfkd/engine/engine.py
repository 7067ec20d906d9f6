"""The adversarial engine: one-stage and two-stage updates of a generator and a critic.

The engine knows nothing about GANs or distillation. It is given a generator ``G(z[, labels])``, a critic
``D(x[, labels])`` returning one scalar per sample (optionally ``(scores, aux)``), an :class:`Objective`
and two optimisers, and performs one of four updates:

* :meth:`AdversarialEngine.one_stage_step` -- Algorithm 1 of the paper: one generator forward, critic forwards
  on the real and fake batches, ONE backward, both optimisers step. The gradient of L_D arriving at the fake
  sample is multiplied by -1 (symmetric objectives) or gamma_i (Eq. 7) on its way into the generator.
* :meth:`AdversarialEngine.two_stage_step` -- the conventional alternation built from the same parts: the
  critic is updated on the detached fakes, then the generator against the *updated* critic, reusing the
  same generator forward.
* :meth:`AdversarialEngine.critic_step` / :meth:`AdversarialEngine.generator_step` -- the two halves alone,
  for schedules such as k critic steps per generator step (:mod:`dfkd.engine.schedule`).

Every update checks losses, output derivatives and gradients for non-finite values and skips (restoring
buffers) rather than letting them reach a parameter. The check, the masked optimiser step and the restore all
happen on the device: an update never makes the host wait for the accelerator (see :mod:`dfkd.engine.safety`),
except that by default the engine reads its skip counter after each update to raise
:class:`~dfkd.engine.safety.NonFiniteError` at once; training loops set ``EngineConfig(skip_check="caller")`` and
call :meth:`AdversarialEngine.check_skips` when they synchronise anyway (when they log).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from dfkd.engine.coupling import CouplingError, CouplingWarning, coupling_layers, describe_exactness
from dfkd.engine.derivatives import any_nonfinite, output_derivatives
from dfkd.engine.gamma import RouteScales, asymmetric_scales, symmetric_scales
from dfkd.engine.objective import AdversarialBatch, Objective
from dfkd.engine.routing import GradientRouter
from dfkd.engine.safety import BufferSnapshot, SkipCounter, clip_to, masked_step, total_grad_norm
from dfkd.engine.stats import StepStats

KINDS = ("one", "critic", "generator")
LOSS_CAUSES = {
    "one": "non-finite loss or output derivative",
    "critic": "non-finite critic loss or output derivative",
    "generator": "non-finite generator loss or output derivative",
}
GRADIENT_CAUSE = "non-finite gradient"
SKIP_CAUSES = tuple(f"{kind} update: {cause}" for kind in KINDS for cause in (LOSS_CAUSES[kind], GRADIENT_CAUSE))
"""The skip counter's cause codes (1-based): for each update kind, a non-finite loss, then a non-finite gradient."""

CriticPenalty = Callable[[nn.Module, AdversarialBatch, Tensor], Tensor]
"""``penalty(critic, batch, fake_detached) -> scalar`` added to L_D with its own critic forward (e.g. WGAN-GP,
R1). It sees only detached fakes, so gradient routing never sends it to the generator."""


@dataclass(frozen=True)
class EngineConfig:
    """Numerical policy of the engine.

    ``autocast_dtype``: None (full precision), torch.float16 (with one GradScaler for both optimisers) or
    torch.bfloat16. ``coupling``: what to do when an asymmetric one-stage step meets a critic whose layers
    couple samples (warn once, raise, or ignore). ``max_consecutive_skips``: consecutive non-finite steps
    tolerated before :class:`~dfkd.engine.safety.NonFiniteError`. ``skip_check``: when that limit is checked --
    after every update ("update", one host synchronisation each) or only when the caller calls
    :meth:`AdversarialEngine.check_skips` ("caller": the engine itself never synchronises). ``*_clip_norm``:
    optional gradient-norm clipping per network.
    """

    autocast_dtype: torch.dtype | None = None
    coupling: Literal["warn", "error", "ignore"] = "warn"
    max_consecutive_skips: int = 20
    skip_check: Literal["update", "caller"] = "update"
    critic_clip_norm: float | None = None
    generator_clip_norm: float | None = None


Restore = Callable[[Tensor | None], None]
"""Restores snapshotted buffers where the given 0-dim skip flag is true (on the device); None: keep them."""


def _nonfinite_or_false(value: Tensor | None) -> Tensor | bool:
    return False if value is None else any_nonfinite(value)


def _detached(output: Tensor | None) -> Tensor | None:
    return None if output is None else output.detach()


def _total(*terms: Tensor | None) -> Tensor | None:
    """Sum of the given generator-only terms (detached), None when there are none."""
    present = [t.detach() for t in terms if t is not None]
    return sum(present[1:], present[0]) if present else None


class AdversarialEngine:
    """One-stage and two-stage adversarial updates over a generator and a critic."""

    def __init__(
        self,
        generator: nn.Module,
        critic: nn.Module,
        objective: Objective,
        generator_optimizer: torch.optim.Optimizer,
        critic_optimizer: torch.optim.Optimizer,
        config: EngineConfig = EngineConfig(),
        critic_penalty: CriticPenalty | None = None,
    ) -> None:
        self.generator = generator
        self.critic = critic
        self.objective = objective
        self.generator_optimizer = generator_optimizer
        self.critic_optimizer = critic_optimizer
        self.config = config
        self.critic_penalty = critic_penalty
        self.generator_params = [p for p in generator.parameters() if p.requires_grad]
        self.critic_params = [p for p in critic.parameters() if p.requires_grad]
        if not self.generator_params:
            raise ValueError("the generator has no trainable parameters")
        self.device_type = self.generator_params[0].device.type
        if config.autocast_dtype not in (None, torch.float16, torch.bfloat16):
            raise ValueError(f"autocast_dtype must be None, float16 or bfloat16, got {config.autocast_dtype}")
        self.scaler = torch.amp.GradScaler(self.device_type, enabled=config.autocast_dtype == torch.float16)
        if config.skip_check not in ("update", "caller"):
            raise ValueError(f"skip_check must be 'update' or 'caller', got {config.skip_check!r}")
        self.skips = SkipCounter(config.max_consecutive_skips, SKIP_CAUSES)
        self._generator_buffers = BufferSnapshot([generator])
        self._critic_buffers = BufferSnapshot([critic])
        self._coupling_reported = False

    # ------------------------------------------------------------------ exactness
    def exactness(self) -> str:
        """Whether one-stage updates are exact for the current objective and critic, in words."""
        return describe_exactness(self.objective.symmetric, coupling_layers(self.critic))

    def _one_stage_exact(self) -> bool:
        if self.objective.symmetric:
            return True
        coupled = coupling_layers(self.critic)
        if not coupled:
            return True
        if self.config.coupling == "error":
            raise CouplingError(
                f"one-stage training with the asymmetric objective {self.objective.name!r} is not exact: "
                f"{describe_exactness(False, coupled)}. Use GroupNorm/LayerNorm or eval-mode BatchNorm in the "
                f"critic, a symmetric objective, two-stage training, or set coupling='warn'."
            )
        if self.config.coupling == "warn" and not self._coupling_reported:
            warnings.warn(
                f"one-stage gamma for {self.objective.name!r} is approximate: {describe_exactness(False, coupled)}",
                CouplingWarning,
                stacklevel=3,
            )
        self._coupling_reported = True
        return False

    # ------------------------------------------------------------------ public updates
    def one_stage_step(self, batch: AdversarialBatch) -> StepStats:
        """Algorithm 1: update generator and critic from one forward and one backward pass."""
        if self.objective.critic_aux_loss is not None:
            raise ValueError(
                f"objective {self.objective.name!r} has a critic-only auxiliary term on fake features; one "
                "backward cannot hide it from the generator. Use two-stage updates for it."
            )
        if self.objective.generator_aux_loss is not None and not self.objective.symmetric:
            raise ValueError(
                f"objective {self.objective.name!r}: a generator-only term can join the one-stage backward only "
                "with a symmetric objective (gamma = -1); use two-stage updates or a symmetric objective"
            )
        exact = self._one_stage_exact()
        self._zero_grads(critic=True, generator=True)
        with self._snapshots(generator=True, critic=True) as restore:
            router = GradientRouter()
            with self._autocast():
                fake = self._generate(batch)
                y_real, _ = self._score_real(batch)
                y_fake, aux_fake = self._score(router.attach(fake), batch.fake_labels)
                prior = self._generator_aux(aux_fake)
                output_prior = self._generator_output_prior(fake)
            d = output_derivatives(self.objective, y_real, y_fake)
            stats = StepStats("one", critic_loss=d.critic_loss, generator_loss=d.generator_loss, exact=exact)
            stats.generator_aux_loss = _total(prior, output_prior)
            stats.y_real, stats.y_fake = _detached(y_real), _detached(y_fake)
            bad_loss = d.critic_nonfinite() | d.generator_nonfinite() | _nonfinite_or_false(stats.generator_aux_loss)
            scales = self._route_scales(d.d_critic_fake, d.d_generator_fake, y_fake.dtype, per_sample=exact)
            router.set_scale(scales.gamma)
            stats.gamma, stats.guarded = scales.gamma, scales.guarded
            outputs, cotangents = [y_fake], [scales.cotangent]
            if y_real is not None:
                assert d.d_critic_real is not None
                outputs.append(y_real)
                cotangents.append(d.d_critic_real)
            extra = self._penalty_terms(batch, fake.detach())
            if prior is not None:
                extra.append(-prior)  # the router's -1 turns it into +prior for the generator
            if output_prior is not None:
                extra.append(output_prior)  # taken before the router: reaches the generator as is
            self._backward(outputs, cotangents, extra)
            return self._apply(stats, bad_loss, critic=True, generator=True, restore=restore)

    def two_stage_step(self, batch: AdversarialBatch) -> tuple[StepStats, StepStats]:
        """Critic update on detached fakes, then generator update against the updated critic (same G forward)."""
        with self._snapshots(generator=True, critic=False) as restore_generator:
            with self._autocast():
                fake = self._generate(batch)
            critic_stats = self._critic_update(batch, fake.detach())
            generator_stats = self._generator_update(batch, fake, restore_generator)
        return critic_stats, generator_stats

    def critic_step(
        self, batch: AdversarialBatch, fake: Tensor | None = None, precomputed: object | None = None
    ) -> StepStats:
        """Critic-only update on freshly generated, detached fakes (or on the given ``fake`` inputs).

        ``precomputed`` (only with ``fake``): a side input the critic receives with that fake batch, as the
        keyword ``precomputed`` -- values it would otherwise compute from the batch itself (e.g. the outputs
        of a frozen network, reused over several steps). The engine only passes it on."""
        if fake is not None:
            return self._critic_update(batch, fake.detach(), precomputed)
        if precomputed is not None:
            raise ValueError("critic_step: `precomputed` belongs to a given fake batch; pass `fake` too")
        with self._snapshots(generator=True, critic=False) as restore_generator:
            fake = self.generate(batch)
            stats = self._critic_update(batch, fake)
            restore_generator(stats.skip_flag)
            return stats

    def generate(self, batch: AdversarialBatch) -> Tensor:
        """The generator's output for ``batch`` without gradient (under the engine's autocast)."""
        with torch.no_grad(), self._autocast():
            return self._generate(batch)

    def generator_step(self, batch: AdversarialBatch) -> StepStats:
        """Generator-only update against the current critic."""
        with self._snapshots(generator=True, critic=False) as restore_generator:
            with self._autocast():
                fake = self._generate(batch)
            return self._generator_update(batch, fake, restore_generator)

    # ------------------------------------------------------------------ halves
    def _critic_update(self, batch: AdversarialBatch, fake: Tensor, precomputed: object | None = None) -> StepStats:
        self._zero_grads(critic=True, generator=False)
        with self._snapshots(generator=False, critic=True) as restore:
            with self._autocast():
                y_real, aux_real = self._score_real(batch)
                y_fake, aux_fake = self._score(fake, batch.fake_labels, precomputed)
            d = output_derivatives(self.objective, y_real, y_fake)
            extra = self._penalty_terms(batch, fake)
            if self.objective.critic_aux_loss is not None:
                extra.append(self.objective.critic_aux_loss(aux_fake, aux_real))
            total = d.critic_loss + sum(e.detach().to(d.critic_loss.dtype) for e in extra)
            stats = StepStats("critic", critic_loss=total, loss_cause=LOSS_CAUSES["critic"])
            stats.y_real, stats.y_fake = _detached(y_real), _detached(y_fake)
            bad_loss = d.critic_nonfinite() | any_nonfinite(total)
            outputs, cotangents = [y_fake], [d.d_critic_fake]
            if y_real is not None:
                assert d.d_critic_real is not None
                outputs.append(y_real)
                cotangents.append(d.d_critic_real)
            self._backward(outputs, cotangents, extra)
            return self._apply(stats, bad_loss, critic=True, generator=False, restore=restore)

    def _generator_update(self, batch: AdversarialBatch, fake: Tensor, restore_generator: Restore) -> StepStats:
        self._zero_grads(critic=False, generator=True)
        with self._snapshots(generator=False, critic=True) as restore_critic:

            def restore(where: Tensor | None) -> None:
                restore_critic(where)
                restore_generator(where)

            with self._autocast(), self._critic_no_sync():
                y_fake, aux_fake = self._score(fake, batch.fake_labels)
                prior = self._generator_aux(aux_fake)
                output_prior = self._generator_output_prior(fake)
                y_real = None
                if batch.real is not None:
                    if self.objective.generator_uses_real:
                        with torch.no_grad():
                            y_real, _ = self._score_real(batch)
                    else:  # L_G ignores it; a placeholder saves the critic forward on the real batch
                        y_real = torch.zeros_like(y_fake.detach())
            d = output_derivatives(self.objective, y_real, y_fake)
            stats = StepStats("generator", generator_loss=d.generator_loss, loss_cause=LOSS_CAUSES["generator"])
            stats.generator_aux_loss = _total(prior, output_prior)
            bad_loss = d.generator_nonfinite() | _nonfinite_or_false(stats.generator_aux_loss)
            extra = [term for term in (prior, output_prior) if term is not None]
            self._backward([y_fake], [d.d_generator_fake], extra, inputs=self.generator_params)
            return self._apply(stats, bad_loss, critic=False, generator=True, restore=restore)

    # ------------------------------------------------------------------ plumbing
    def _route_scales(
        self, d_critic_fake: Tensor, d_generator_fake: Tensor, output_dtype: torch.dtype, *, per_sample: bool
    ) -> RouteScales:
        if self.objective.symmetric:
            return symmetric_scales(d_critic_fake)
        compute_dtype = self.config.autocast_dtype or output_dtype
        return asymmetric_scales(d_critic_fake, d_generator_fake, compute_dtype, per_sample_critic=per_sample)

    def _generate(self, batch: AdversarialBatch) -> Tensor:
        if batch.fake_labels is None:
            return self.generator(batch.z)
        return self.generator(batch.z, batch.fake_labels)

    def _score(self, x: Tensor, labels: Tensor | None, precomputed: object | None = None) -> tuple[Tensor, object]:
        args = (x,) if labels is None else (x, labels)
        out = self.critic(*args) if precomputed is None else self.critic(*args, precomputed=precomputed)
        scores, aux = out if isinstance(out, tuple) else (out, None)
        if scores.numel() != x.shape[0]:
            raise ValueError(
                f"the critic must return one scalar per sample: got shape {tuple(scores.shape)} for a batch "
                f"of {x.shape[0]}"
            )
        return scores.reshape(-1), aux

    def _score_real(self, batch: AdversarialBatch) -> tuple[Tensor | None, object]:
        if batch.real is None:
            return None, None
        return self._score(batch.real, batch.real_labels)

    def _generator_aux(self, aux_fake: object) -> Tensor | None:
        term = self.objective.generator_aux_loss
        return None if term is None else term(aux_fake)

    def _generator_output_prior(self, fake: Tensor) -> Tensor | None:
        term = self.objective.generator_output_loss
        return None if term is None else term(fake)

    def _penalty_terms(self, batch: AdversarialBatch, fake_detached: Tensor) -> list[Tensor]:
        if self.critic_penalty is None:
            return []
        # Penalties run in the critic's own precision: input-gradient norms are fragile in half precision.
        dtype = self.critic_params[0].dtype if self.critic_params else fake_detached.dtype
        with torch.autocast(self.device_type, enabled=False):
            return [self.critic_penalty(self.critic, batch, fake_detached.to(dtype))]

    def _backward(
        self,
        outputs: Sequence[Tensor],
        cotangents: Sequence[Tensor],
        scalar_losses: Sequence[Tensor],
        inputs: Sequence[Tensor] | None = None,
    ) -> None:
        """The single backward: critic outputs with explicit cotangents, plus scalar terms with cotangent 1."""
        tensors = list(outputs) + list(scalar_losses)
        grads = [self.scaler.scale(c).to(o.dtype) for o, c in zip(outputs, cotangents, strict=True)]
        grads += [self.scaler.scale(torch.ones_like(s)) for s in scalar_losses]
        torch.autograd.backward(tensors, grads, inputs=list(inputs) if inputs is not None else None)

    def _apply(
        self, stats: StepStats, bad_loss: Tensor, *, critic: bool, generator: bool, restore: Restore
    ) -> StepStats:
        """Unscale, check, clip and step the optimisers of the updated networks -- or skip, decided on the device.

        The update is skipped when ``bad_loss`` (a non-finite loss or output derivative) or a gradient norm is not
        finite: the optimisers are masked (:func:`~dfkd.engine.safety.masked_step`), buffers restored.
        """
        optimizers = ([self.critic_optimizer] if critic else []) + ([self.generator_optimizer] if generator else [])
        for optimizer in optimizers:
            self.scaler.unscale_(optimizer)  # records inf/nan for the scaler's update, on the device
        clips: list[tuple[list[nn.Parameter], float | None, Tensor]] = []  # (params, max norm, gradient norm)
        if critic:
            stats.critic_grad_norm = norm = total_grad_norm(self.critic_params)
            clips.append((self.critic_params, self.config.critic_clip_norm, norm))
        if generator:
            stats.generator_grad_norm = norm = total_grad_norm(self.generator_params)
            clips.append((self.generator_params, self.config.generator_clip_norm, norm))
        bad_gradient = any_nonfinite(*(norm for _, _, norm in clips))
        skip = bad_loss | bad_gradient
        for params, max_norm, norm in clips:
            clip_to(params, max_norm, norm)
        for optimizer in optimizers:
            masked_step(optimizer, skip)
        self.scaler.update()
        restore(skip)
        cause = torch.where(bad_loss, 1, torch.where(bad_gradient, 2, 0))
        stats.skip_flag, stats.skip_cause = skip, cause
        self.skips.record(skip, cause + 2 * KINDS.index(stats.kind))
        if self.config.skip_check == "update":
            self.skips.check()
        return stats

    def check_skips(self) -> None:
        """Raise :class:`~dfkd.engine.safety.NonFiniteError` if ``max_consecutive_skips`` updates in a row were
        skipped since the last check (one host synchronisation; see ``EngineConfig.skip_check``)."""
        self.skips.check()

    def _zero_grads(self, *, critic: bool, generator: bool) -> None:
        if critic:
            self.critic_optimizer.zero_grad(set_to_none=True)
        if generator:
            self.generator_optimizer.zero_grad(set_to_none=True)

    @contextlib.contextmanager
    def _snapshots(self, *, generator: bool, critic: bool) -> Iterator[Restore]:
        """Snapshot buffers; yields ``restore(where)``, which puts them back where the skip flag ``where`` is set."""
        taken = ([self._generator_buffers] if generator else []) + ([self._critic_buffers] if critic else [])
        for snapshot in taken:
            snapshot.take()

        def restore(where: Tensor | None) -> None:
            if where is None:
                return
            for snapshot in taken:
                snapshot.restore(where)

        yield restore

    def _autocast(self) -> contextlib.AbstractContextManager[None]:
        dtype = self.config.autocast_dtype
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=dtype)

    def _critic_no_sync(self) -> contextlib.AbstractContextManager[None]:
        """Under DistributedDataParallel, a generator-only backward must not wait for critic gradients."""
        no_sync = getattr(self.critic, "no_sync", None)
        return no_sync() if callable(no_sync) else contextlib.nullcontext()

    # ------------------------------------------------------------------ checkpointing
    def state_dict(self) -> dict[str, object]:
        return {"scaler": self.scaler.state_dict(), "skips": self.skips.state_dict()}

    def load_state_dict(self, state: dict[str, object]) -> None:
        self.scaler.load_state_dict(state["scaler"])  # type: ignore[arg-type]
        self.skips.load_state_dict(state["skips"])  # type: ignore[arg-type]
