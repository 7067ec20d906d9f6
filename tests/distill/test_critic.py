"""The teacher + student critic: per-sample discrepancy, frozen teacher, precomputed teacher passes, BN statistics."""

from __future__ import annotations

import pytest
import torch

from dfkd.distill.critic import DiscrepancyCritic, KDAux
from dfkd.distill.teacher_pass import FrozenTeacher, TeacherPass, running_stat_batchnorms
from dfkd.losses import DISCREPANCIES
from dfkd.models import create_model


def _critic(**kwargs: bool) -> DiscrepancyCritic:
    torch.manual_seed(0)
    teacher = create_model("simple_cnn", num_classes=10, width=4, depth=2)
    student = create_model("simple_cnn", num_classes=10, width=4, depth=2)
    return DiscrepancyCritic(teacher, student, DISCREPANCIES.get("l1"), **kwargs)


def test_one_discrepancy_per_sample_and_teacher_frozen() -> None:
    critic = _critic()
    critic.train()
    assert not critic.teacher.training and critic.student.training
    assert all(not p.requires_grad for p in critic.teacher.parameters())
    x = torch.randn(5, 3, 32, 32, requires_grad=True)
    d = critic(x)
    assert d.shape == (5,) and (d >= 0).all()
    d.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0  # gradient reaches the input through both networks
    assert all(p.grad is None for p in critic.teacher.parameters())


def test_l1_discrepancy_is_dfads_loss_per_sample() -> None:
    t, s = torch.randn(4, 10), torch.randn(4, 10)
    torch.testing.assert_close(DISCREPANCIES.get("l1")(t, s).mean(), (s - t).abs().mean())


@pytest.mark.filterwarnings("ignore:reduction")
def test_kl_discrepancy_matches_zskt_reduction() -> None:
    t, s = torch.randn(4, 10), torch.randn(4, 10)
    zskt = torch.nn.functional.kl_div(s.log_softmax(1), t.softmax(1), reduction="mean")
    torch.testing.assert_close(DISCREPANCIES.get("kl")(t, s).mean(), zskt)


def test_a_precomputed_teacher_pass_replaces_the_teacher_forward() -> None:
    critic = _critic(features=True)
    calls = []
    critic.teacher.register_forward_hook(lambda *a: calls.append(1))
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        teacher = critic.teacher(x)
        fresh, fresh_aux = critic(x)
    assert len(calls) == 2
    reused, reused_aux = critic(x, precomputed=teacher)
    assert len(calls) == 2  # no teacher forward for the precomputed pass
    assert torch.equal(reused, fresh) and torch.equal(reused_aux.teacher_logits, fresh_aux.teacher_logits)
    assert all(torch.equal(a, b) for a, b in zip(reused_aux.teacher_features, fresh_aux.teacher_features, strict=True))


def test_a_precomputed_pass_without_the_features_attention_needs_is_refused() -> None:
    critic = _critic(features=True)
    x = torch.randn(2, 3, 32, 32)
    with pytest.raises(ValueError, match="features"):
        critic(x, precomputed=TeacherPass(torch.randn(2, 10)))


def test_the_teacher_pass_records_bn_inputs_only_during_its_own_forward() -> None:
    teacher = FrozenTeacher(create_model("simple_cnn", num_classes=10, width=4, depth=2), bn_statistics=True)
    layers = running_stat_batchnorms(teacher.network)
    x = torch.randn(4, 3, 32, 32)
    recorded = teacher(x)
    assert recorded.bn is not None and len(recorded.bn) == len(layers)
    assert all(not layer._forward_hooks for layer in layers)  # nothing left on the modules
    skipped = teacher(x, bn_statistics=False)
    assert skipped.bn is None and torch.equal(skipped.logits, recorded.logits)
    teacher.network(x)  # a plain forward of the network records nowhere
    assert len(recorded.bn) == len(layers)


def test_a_frozen_teacher_stays_frozen() -> None:
    teacher = FrozenTeacher(create_model("simple_cnn", num_classes=10, width=4, depth=2))
    teacher.train()
    assert not teacher.training and not teacher.network.training
    assert all(not p.requires_grad for p in teacher.parameters())
    with pytest.raises(ValueError, match="BatchNorm"):
        FrozenTeacher(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2)), bn_statistics=True)


def test_bn_statistics_and_features_in_aux() -> None:
    critic = _critic(features=True, bn_statistics=True)
    d, aux = critic(torch.randn(6, 3, 32, 32))
    assert isinstance(aux, KDAux) and d.shape == (6,)
    assert aux.teacher_features is not None and aux.student_features is not None
    batchnorms = sum(isinstance(m, torch.nn.BatchNorm2d) for m in critic.teacher.modules())
    assert aux.teacher_bn and len(aux.teacher_bn) == batchnorms
    mean, var = aux.teacher_bn[0].batch_moments()
    assert mean.shape == aux.teacher_bn[0].running_mean.shape and (var >= 0).all()
