"""One-stage distillation gradients equal two exact backward passes (float64), for the symmetric KD objectives
even with the student's train-mode BatchNorm; generator priors join the backward exactly."""

from __future__ import annotations

import functools
import warnings

import pytest
import torch

from dfkd.distill.critic import DiscrepancyCritic
from dfkd.distill.priors import image_prior, teacher_prior
from dfkd.engine import (
    AdversarialBatch,
    AdversarialEngine,
    CouplingWarning,
    GradientRecorder,
    reference_gradients,
    relative_error,
)
from dfkd.engine.objective import Objective
from dfkd.losses import DISCREPANCIES, KD_OBJECTIVES
from dfkd.models import create_model

F64 = torch.float64


def _setup(discrepancy: str, student_norm: str = "bn"):
    torch.manual_seed(0)
    generator = create_model("dfad_generator", nz=8, ngf=4, img_size=16).to(F64)
    teacher = create_model("simple_cnn", num_classes=10, width=4, depth=2).to(F64)
    student = create_model("simple_cnn", num_classes=10, width=4, depth=2).to(F64)
    if student_norm == "gn":
        for module in list(student.modules()):
            for child_name, child in list(module.named_children()):
                if isinstance(child, torch.nn.BatchNorm2d):
                    setattr(module, child_name, torch.nn.GroupNorm(2, child.num_features).to(F64))
    fn = DISCREPANCIES.get(discrepancy)
    if discrepancy == "kl":
        fn = functools.partial(fn, temperature=2.0)
    critic = DiscrepancyCritic(teacher, student, fn, bn_statistics=True, aux=True)
    critic.train()
    return generator, critic


def _compare(generator, critic, objective: Objective) -> tuple[float, float]:
    batch = AdversarialBatch(z=torch.randn(16, 8, dtype=F64))
    reference = reference_gradients(generator, critic, objective, batch)
    rec_g = GradientRecorder(generator.parameters())
    rec_s = GradientRecorder([p for p in critic.parameters() if p.requires_grad])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CouplingWarning)
        AdversarialEngine(generator, critic, objective, rec_g, rec_s).one_stage_step(batch)
    return relative_error(rec_s.grads, reference.critic), relative_error(rec_g.grads, reference.generator)


@pytest.mark.parametrize("discrepancy", ["l1", "kl"])
def test_symmetric_kd_exact_with_train_mode_batchnorm_student(discrepancy: str) -> None:
    generator, critic = _setup(discrepancy, "bn")
    student_err, generator_err = _compare(generator, critic, KD_OBJECTIVES.get("adversarial").objective())
    assert student_err <= 1e-10 and generator_err <= 1e-10


def test_generator_priors_fold_into_the_single_backward_exactly() -> None:
    generator, critic = _setup("l1", "bn")
    objective = KD_OBJECTIVES.get("adversarial").objective()
    from dataclasses import replace

    priors = {"bn": 1.0, "balance": 5.0, "tv": 0.5}
    objective = replace(objective, generator_aux_loss=teacher_prior(priors), generator_output_loss=image_prior(priors))
    student_err, generator_err = _compare(generator, critic, objective)
    assert student_err <= 1e-10 and generator_err <= 1e-10


def test_asymmetric_kd_pair_exact_with_per_sample_student_and_not_with_batchnorm() -> None:
    objective = KD_OBJECTIVES.get("log_adversarial").objective()
    generator, critic = _setup("l1", "gn")
    assert max(_compare(generator, critic, objective)) <= 1e-10
    generator, critic = _setup("l1", "bn")
    student_err, generator_err = _compare(generator, critic, objective)
    assert student_err <= 1e-10 and generator_err > 1e-4


def test_priors_with_an_asymmetric_objective_are_refused_in_one_stage() -> None:
    from dataclasses import replace

    generator, critic = _setup("l1", "gn")
    asymmetric = KD_OBJECTIVES.get("log_adversarial").objective()
    objective = replace(asymmetric, generator_aux_loss=teacher_prior({"balance": 1.0}))
    engine = AdversarialEngine(
        generator,
        critic,
        objective,
        torch.optim.SGD(generator.parameters(), 0.1),
        torch.optim.SGD(critic.student.parameters(), 0.1),
    )
    with pytest.raises(ValueError, match="symmetric"):
        engine.one_stage_step(AdversarialBatch(z=torch.randn(4, 8, dtype=F64)))
