"""Counting host synchronisations: the calls that make the host wait for the accelerator.

A training loop keeps an accelerator busy only while the host queues work ahead of it. Every call that reads a
tensor's value on the host (``item``, ``bool``, ``float``, ``int``, ``__index__``, ``tolist``, ``numpy``,
``cpu``), every copy between the host and the device (``to``/``cuda`` across devices, except non-blocking
host-to-device copies) and every explicit :func:`explicit_synchronize` waits until the device has finished all
queued work. :class:`HostSyncCounter` counts such calls made from Python while it is active.

It counts **calls**, not waits: on a CPU-only machine nothing blocks, yet the count is the number of
synchronisations the same code makes on a GPU. That is what makes the count testable in CI.

Calls made from inside ``torch.optim`` are not counted: non-fused optimisers keep their step counters on the host
and read them each step (``torch.optim``'s own affair, and no wait for the device when the counter is a CPU
tensor). The counter works by wrapping those ``torch.Tensor`` methods while active (nothing else is slowed down);
counters may be nested and each sees every call made while it is active.
"""

from __future__ import annotations

import collections
import functools
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import torch

# Tensor methods that read a value on the host (always a synchronisation for a device tensor).
READ_METHODS: tuple[str, ...] = ("item", "tolist", "numpy", "cpu", "__bool__", "__float__", "__int__", "__index__")
# Tensor methods that copy between devices (a synchronisation when they cross devices).
COPY_METHODS: tuple[str, ...] = ("to", "cuda")

_TORCH_DIR = os.path.join(os.path.dirname(torch.__file__), "")
_OPTIM_DIR = os.path.join(os.path.dirname(torch.optim.__file__), "")
_lock = threading.Lock()
_active: list[HostSyncCounter] = []
_originals: dict[str, Callable[..., Any]] = {}


def _called_from_optimizer(frame: FrameType | None) -> bool:
    """Whether the call comes from torch.optim: the frames inside torch that lead to it include one of
    torch.optim's (a closure passed to ``optimizer.step`` is user code again, and counted)."""
    while frame is not None and frame.f_code.co_filename.startswith(_TORCH_DIR):
        if frame.f_code.co_filename.startswith(_OPTIM_DIR):
            return True
        frame = frame.f_back
    return False


def _record(what: str) -> None:
    if not _active or _called_from_optimizer(sys._getframe(2)):
        return
    for counter in list(_active):
        counter.calls[what] += 1


def _reading(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def wrapper(self: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        _record(name)
        return original(self, *args, **kwargs)

    return wrapper


def _copying(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def wrapper(self: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        out = original(self, *args, **kwargs)
        if isinstance(out, torch.Tensor) and out.device != self.device:
            host_to_device = self.device.type == "cpu"
            if not (host_to_device and kwargs.get("non_blocking", False)):
                _record(name)
        return out

    return wrapper


def _install() -> None:
    for name in READ_METHODS:
        _originals[name] = getattr(torch.Tensor, name)
        setattr(torch.Tensor, name, _reading(name, _originals[name]))
    for name in COPY_METHODS:
        _originals[name] = getattr(torch.Tensor, name)
        setattr(torch.Tensor, name, _copying(name, _originals[name]))


def _uninstall() -> None:
    for name, original in _originals.items():
        setattr(torch.Tensor, name, original)
    _originals.clear()


class HostSyncCounter:
    """Counts host synchronisations while active (a context manager); ``total`` and ``calls`` by method."""

    def __init__(self) -> None:
        self.calls: collections.Counter[str] = collections.Counter()

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    def reset(self) -> None:
        self.calls.clear()

    def __enter__(self) -> HostSyncCounter:
        with _lock:
            if not _active:
                _install()
            _active.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        with _lock:
            _active.remove(self)
            if not _active:
                _uninstall()


@contextmanager
def count_host_syncs() -> Iterator[HostSyncCounter]:
    """``with count_host_syncs() as syncs: ...; syncs.total``"""
    with HostSyncCounter() as counter:
        yield counter


def explicit_synchronize(device: torch.device | str | None = None) -> None:
    """Wait for all work queued on ``device`` (default: every accelerator in use); counted as one synchronisation.

    Counted even on the CPU, where it waits for nothing: it marks a point where the loop would wait on a GPU.
    """
    _record("synchronize")
    kind = torch.device(device).type if device is not None else None
    if kind in (None, "cuda") and torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize(device if kind == "cuda" else None)
    if kind in (None, "mps") and torch.backends.mps.is_available():
        torch.mps.synchronize()
