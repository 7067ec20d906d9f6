"""Attention transfer: beta * sum over block groups of the mean squared difference of attention maps."""

from __future__ import annotations

import pytest
import torch

from dfkd.distill.attention import attention_map, attention_transfer_loss


def test_loss_sums_the_block_groups_and_scales_by_beta() -> None:
    gen = torch.Generator().manual_seed(0)
    teacher = [torch.randn(2, 4, 8, 8, generator=gen), torch.randn(2, 8, 4, 4, generator=gen)]
    student = [torch.randn(2, 2, 8, 8, generator=gen), torch.randn(2, 6, 4, 4, generator=gen)]
    per_level = [(attention_map(s) - attention_map(t)).pow(2).mean() for t, s in zip(teacher, student, strict=True)]
    loss = attention_transfer_loss(teacher, student, beta=250.0)
    assert torch.allclose(loss, 250.0 * (per_level[0] + per_level[1]))
    assert attention_transfer_loss(teacher, teacher, beta=250.0).item() == 0.0


def test_no_block_groups_is_an_error_not_a_zero_loss() -> None:
    with pytest.raises(ValueError, match="at least one block group"):
        attention_transfer_loss([], [], beta=1.0)
