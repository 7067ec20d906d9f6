"""The quick-start CNN."""

from __future__ import annotations

import time

import pytest
import torch
import torch.nn.functional as F

from dfkd.models import create_model


def test_stages_features_and_logits() -> None:
    torch.manual_seed(0)
    model = create_model("simple_cnn", num_classes=4, width=8, depth=3).eval()
    x = torch.randn(3, 3, 32, 32)
    logits, features = model.forward_with_features(x)
    assert [tuple(f.shape) for f in features] == [(3, 8, 16, 16), (3, 16, 8, 8), (3, 32, 4, 4)]
    torch.testing.assert_close(logits, model(x), rtol=0, atol=0)
    assert logits.shape == (3, 4)


def test_configurable() -> None:
    small = create_model("simple_cnn", width=8, depth=2)
    two_convs = create_model("simple_cnn", width=8, depth=2, convs_per_stage=2)
    assert len(small.stages) == 2
    n_small = sum(p.numel() for p in small.parameters())
    n_two = sum(p.numel() for p in two_convs.parameters())
    assert n_two == n_small + (8 * 8 * 9 + 2 * 8) + (16 * 16 * 9 + 2 * 16)
    assert create_model("simple_cnn", in_chans=1)(torch.randn(2, 1, 32, 32)).shape == (2, 10)
    with pytest.raises(ValueError):
        create_model("simple_cnn", depth=0)


def _conv_macs_per_image(model: torch.nn.Module) -> int:
    macs = 0

    def hook(module: torch.nn.Conv2d, _inp: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        nonlocal macs
        macs += out[0].numel() * module.in_channels * module.kernel_size[0] * module.kernel_size[1]

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        model(torch.randn(1, 3, 32, 32))
    for h in handles:
        h.remove()
    return macs


def test_cheap_enough_for_a_cpu_quick_start() -> None:
    torch.manual_seed(0)
    model = create_model("simple_cnn", width=32)
    # downsampling in the first conv of each stage: ~2.6M multiply-adds per 32x32 image
    assert _conv_macs_per_image(model) < 3_000_000
    # wall clock, single thread (two OpenMP threads slow down ~10x when other processes share the 2 cores);
    # typically ~0.03-0.07 s, the bound is loose so a busy machine does not fail it
    x, y = torch.randn(128, 3, 32, 32), torch.randint(0, 10, (128,))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            F.cross_entropy(model(x), y).backward()
            best = min(best, time.perf_counter() - start)
    finally:
        torch.set_num_threads(threads)
    assert best < 0.25, f"forward+backward of 128 images took {best:.3f} s"
