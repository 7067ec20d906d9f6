"""The host-synchronisation counter counts every value read and cross-device copy, and nothing from torch.optim."""

from __future__ import annotations

import torch

from dfkd.diagnostics import count_host_syncs, explicit_synchronize


def test_every_reading_call_is_counted() -> None:
    t = torch.ones(3)
    s = t.sum()
    with count_host_syncs() as syncs:
        s.item()
        bool(s > 0)
        float(s)
        int(s)
        t.tolist()
        t.numpy()
        t.cpu()
        [0, 1, 2, 3][s.long()]  # __index__
        if s:  # __bool__ through the interpreter's truth test
            pass
        explicit_synchronize()
    assert syncs.calls == {
        "item": 1,
        "__bool__": 2,
        "__float__": 1,
        "__int__": 1,
        "tolist": 1,
        "numpy": 1,
        "cpu": 1,
        "__index__": 1,
        "synchronize": 1,
    }
    assert syncs.total == 10


def test_device_work_is_not_counted_and_methods_are_restored() -> None:
    original = torch.Tensor.item
    with count_host_syncs() as syncs:
        x = torch.randn(4, 4, requires_grad=True)
        y = (x @ x).relu().sum()
        y.backward()
        torch.where(x.grad.isfinite().all(), x, torch.zeros_like(x))
        x.to(torch.float64)  # same device: no copy
    assert syncs.total == 0
    assert torch.Tensor.item is original


def test_optimizer_step_counters_are_excluded() -> None:
    p = torch.nn.Parameter(torch.ones(3))
    opt = torch.optim.Adam([p], lr=0.1, foreach=False)  # reads its host-side step counter with .item()
    p.grad = torch.ones(3)
    with count_host_syncs() as syncs:
        opt.step()
        opt.step()
    assert syncs.total == 0


def test_nested_counters_both_count() -> None:
    t = torch.ones(())
    with count_host_syncs() as outer:
        t.item()
        with count_host_syncs() as inner:
            t.item()
        t.item()
    assert outer.total == 3 and inner.total == 1


def test_a_closure_run_by_an_optimizer_is_user_code_and_counted() -> None:
    p = torch.nn.Parameter(torch.ones(3))
    opt = torch.optim.SGD([p], lr=0.1)

    def closure() -> torch.Tensor:
        loss = (p**2).sum()
        loss.backward()
        loss.item()
        return loss

    with count_host_syncs() as syncs:
        opt.step(closure)
    assert syncs.total == 1
