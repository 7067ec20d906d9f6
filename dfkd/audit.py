"""Exactness audit: one-stage updates against exact two-backward references, loss by loss.

For each loss and critic the audit builds a small generator and critic, places the critic's outputs on the
fake batch in the range where the loss is hazardous (:data:`HAZARD_RANGES`), runs one one-stage step with
gradient-recording optimisers and compares both networks' gradients with
:func:`dfkd.engine.reference_gradients`. A case is expected to be exact when the objective is symmetric or
the critic treats samples independently.

GAN rows use the DCGAN generator and critic (GroupNorm = per-sample, BatchNorm = coupled). Distillation rows
(``kd/<objective>``) use a teacher + student critic whose student has train-mode BatchNorm ("student-bn") or
GroupNorm ("student-gn").
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

from dfkd.distill.critic import DiscrepancyCritic
from dfkd.engine import (
    AdversarialBatch,
    AdversarialEngine,
    CouplingWarning,
    GradientRecorder,
    coupling_layers,
    reference_gradients,
    relative_error,
)
from dfkd.losses import DISCREPANCIES, GAN_LOSSES, KD_OBJECTIVES, AdversarialLoss
from dfkd.models import create_model, latent_size

# Output range of the critic on the fake batch, chosen to exercise each loss's numerical hazards.
HAZARD_RANGES: dict[str, tuple[float, float]] = {
    "minimax": (-30.0, 30.0),  # saturated logits both ways
    "nonsaturating": (-60.0, 60.0),  # sigma(-60) ~ 1e-26: gamma = -e^60 would overflow float32
    "wgan": (-2.0, 2.0),
    "lsgan": (0.0, 1.0),  # y = 0: dL_D/dy = 0 (gamma pole); y = 1: dL_G/dy = 0
    "hinge": (-3.0, 1.0),  # about half the batch in the dead zone y <= -1
    "relativistic": (-40.0, 40.0),  # saturated pairwise differences
    "relativistic_average": (-10.0, 10.0),
    "fisher": (-3.0, 3.0),  # with LOSS_PARAMS, 1 + (lam - rho c) y crosses 0 (dead) and -1 (gamma = 1)
    "bgan": (-30.0, 30.0),
    "kd/adversarial": (0.0, 4.0),
    "kd/log_adversarial": (0.0, 4.0),
}
LOSS_PARAMS: dict[str, dict[str, float]] = {"fisher": {"lam": 0.5, "rho": 0.1}}
TOLERANCE: dict[str, float] = {"float64": 1e-10, "float32": 1e-4}
GAN_CRITICS = ("gn", "bn")
KD_CRITICS = ("student-gn", "student-bn")


@dataclass(frozen=True)
class AuditRow:
    loss: str
    critic: str
    dtype: str
    rel_err_critic: float
    rel_err_generator: float
    exact_expected: bool
    guarded: int
    y_low: float
    y_high: float
    tolerance: float

    @property
    def passed(self) -> bool:
        return not self.exact_expected or max(self.rel_err_critic, self.rel_err_generator) <= self.tolerance


class _CalibratedCritic(nn.Module):
    """critic(x) * scale + shift with fixed buffers, to place the outputs in a chosen range."""

    scale: Tensor
    shift: Tensor

    def __init__(self, critic: nn.Module) -> None:
        super().__init__()
        self.critic = critic
        self.register_buffer("scale", torch.ones(()))
        self.register_buffer("shift", torch.zeros(()))

    def forward(self, x: Tensor) -> Tensor:
        return self.critic(x) * self.scale + self.shift

    @torch.no_grad()
    def calibrate(self, x: Tensor, low: float, high: float) -> None:
        self.scale.fill_(1.0)
        self.shift.fill_(0.0)
        snapshot = [b.clone() for b in self.critic.buffers()]
        y = self.forward(x)
        for buf, saved in zip(self.critic.buffers(), snapshot, strict=True):
            buf.copy_(saved)  # calibration must not move running statistics
        scale = (high - low) / (y.max() - y.min()).clamp_min(1e-12)
        self.scale.fill_(float(scale))
        self.shift.fill_(float(low - y.min() * scale))


def _swap_batchnorm_for_groupnorm(module: nn.Module) -> nn.Module:
    for name, child in module.named_children():
        if isinstance(child, nn.BatchNorm2d):
            setattr(module, name, nn.GroupNorm(min(4, child.num_features), child.num_features))
        else:
            _swap_batchnorm_for_groupnorm(child)
    return module


def _gan_case(critic_norm: str, seed: int) -> tuple[nn.Module, nn.Module, int]:
    torch.manual_seed(seed)
    generator = create_model("dcgan_generator", nz=16, ngf=8, resolution=16)
    critic = create_model("dcgan_critic", ndf=8, resolution=16, norm=critic_norm)
    return generator, critic, 16


def _kd_case(student_kind: str, seed: int) -> tuple[nn.Module, nn.Module, int]:
    torch.manual_seed(seed)
    generator = create_model("dfad_generator", nz=16, ngf=8, img_size=16)
    teacher = create_model("simple_cnn", num_classes=10, width=8, depth=2)
    student = create_model("simple_cnn", num_classes=10, width=8, depth=2)
    if student_kind == "student-gn":
        student = _swap_batchnorm_for_groupnorm(student)
    return generator, DiscrepancyCritic(teacher, student, DISCREPANCIES.get("l1")), 16


def _audit_one(
    loss_id: str, spec: AdversarialLoss, critic_name: str, dtype: torch.dtype, batch_size: int, seed: int
) -> AuditRow:
    build = _kd_case if loss_id.startswith("kd/") else _gan_case
    generator, critic, size = build(critic_name, seed)
    generator, critic = generator.to(dtype), _CalibratedCritic(critic).to(dtype)
    generator.train()
    critic.train()
    torch.manual_seed(seed + 1)
    z = torch.randn(batch_size, latent_size(generator), dtype=dtype)
    real = torch.rand(batch_size, 3, size, size, dtype=dtype) * 2 - 1 if spec.needs_real else None
    batch = AdversarialBatch(z=z, real=real)
    low, high = HAZARD_RANGES[loss_id]
    gen_buffers = [b.clone() for b in generator.buffers()]
    with torch.no_grad():
        critic.calibrate(generator(z), low, high)
    for buf, saved in zip(generator.buffers(), gen_buffers, strict=True):
        buf.copy_(saved)
    objective = spec.objective(**LOSS_PARAMS.get(spec.name, {}))
    reference = reference_gradients(generator, critic, objective, batch)
    gen_rec, critic_rec = (
        GradientRecorder(generator.parameters()),
        GradientRecorder([p for p in critic.parameters() if p.requires_grad]),
    )
    engine = AdversarialEngine(generator, critic, objective, gen_rec, critic_rec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CouplingWarning)
        stats = engine.one_stage_step(batch)
    exact_expected = spec.symmetric or not coupling_layers(critic)
    dtype_name = str(dtype).removeprefix("torch.")
    return AuditRow(
        loss=loss_id,
        critic=critic_name,
        dtype=dtype_name,
        rel_err_critic=relative_error(critic_rec.grads, reference.critic),
        rel_err_generator=relative_error(gen_rec.grads, reference.generator),
        exact_expected=exact_expected,
        guarded=stats.guarded_count,
        y_low=low,
        y_high=high,
        tolerance=TOLERANCE.get(dtype_name, 1e-4),
    )


def audit_losses() -> dict[str, AdversarialLoss]:
    """Every loss the audit knows: GAN losses by name, distillation objectives as ``kd/<name>``."""
    losses = {name: GAN_LOSSES.get(name) for name in GAN_LOSSES.names()}
    losses.update({f"kd/{name}": KD_OBJECTIVES.get(name) for name in KD_OBJECTIVES.names()})
    return losses


def run_audit(
    losses: Sequence[str] | None = None,
    critics: Sequence[str] | None = None,
    dtypes: Sequence[str] = ("float64",),
    batch_size: int = 32,
    seed: int = 0,
) -> list[AuditRow]:
    """Audit the given losses (default: all) on the given critics (default: GroupNorm and BatchNorm)."""
    catalog = audit_losses()
    unknown = [name for name in losses or () if name not in catalog]
    if unknown:
        raise ValueError(f"unknown loss(es) {unknown}; expected some of: {', '.join(catalog)}")
    rows = []
    for loss_id in losses or list(catalog):
        kd = loss_id.startswith("kd/")
        for critic_name in critics or (KD_CRITICS if kd else GAN_CRITICS):
            if kd and not critic_name.startswith("student-"):
                critic_name = f"student-{critic_name}"
            valid = KD_CRITICS if kd else GAN_CRITICS
            if critic_name not in valid:
                raise ValueError(f"unknown critic {critic_name!r} for {loss_id}; expected one of {valid}")
            for dtype_name in dtypes:
                dtype = getattr(torch, dtype_name, None)
                if not isinstance(dtype, torch.dtype):
                    raise ValueError(f"unknown dtype {dtype_name!r}; expected float64 or float32")
                rows.append(_audit_one(loss_id, catalog[loss_id], critic_name, dtype, batch_size, seed))
    return rows


def format_table(rows: Sequence[AuditRow]) -> str:
    header = (
        f"{'loss':<22} {'critic':<11} {'dtype':<8} {'rel_err_critic':>14} {'rel_err_gen':>12} {'guarded':>7}"
        "  exact?  result"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        verdict = ("PASS" if r.passed else "FAIL") if r.exact_expected else "inexact (expected)"
        lines.append(
            f"{r.loss:<22} {r.critic:<11} {r.dtype:<8} {r.rel_err_critic:>14.2e} {r.rel_err_generator:>12.2e} "
            f"{r.guarded:>7}  {'yes' if r.exact_expected else 'no':<6}  {verdict}"
        )
    return "\n".join(lines)


def rows_to_json(rows: Sequence[AuditRow]) -> str:
    return json.dumps([asdict(r) for r in rows], indent=2)
