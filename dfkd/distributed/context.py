"""The process group of a ``torchrun`` launch: set up from the environment, and who is who in it.

``torchrun`` starts one process per device and tells each its place through environment variables
(``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``, ``MASTER_ADDR``/``MASTER_PORT``). :func:`process_group_from_env`
joins that group when ``WORLD_SIZE`` > 1 and does nothing otherwise, so a plain ``dfkd ...`` runs exactly as
before (no process group, bit-identical results). Backends: NCCL for CUDA tensors and Gloo for CPU tensors
(``"cpu:gloo,cuda:nccl"`` on a machine with CUDA, Gloo alone without). Small control messages (a stop flag,
the run name, evaluation results, per-rank RNG states) always travel on a separate Gloo group, so they never
touch the accelerator.

Processes other than rank 0 get no progress bar and a silent ``stdout`` (their banners would repeat rank
0's); errors still reach ``stderr``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import torch
import torch.distributed as dist

_control_group: dist.ProcessGroup | None = None


def active() -> bool:
    """Whether this process is one of several in an initialised process group."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def world_size() -> int:
    return dist.get_world_size() if active() else 1


def rank() -> int:
    return dist.get_rank() if active() else 0


def is_main() -> bool:
    """Rank 0 (or the only process): the one that writes the run directory and prints."""
    return rank() == 0


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0")) if active() else 0


def control_group() -> dist.ProcessGroup | None:
    """The Gloo group for control messages (None: the default group, when that is Gloo already)."""
    global _control_group
    if _control_group is None and dist.get_backend() != "gloo":
        _control_group = dist.new_group(backend="gloo")  # type: ignore[assignment]  # every rank, same point
    return _control_group


def local_device(device: torch.device) -> torch.device:
    """The device of this process: a CUDA device becomes ``cuda:LOCAL_RANK`` under torchrun."""
    if not active() or device.type != "cuda":
        return device
    local = torch.device("cuda", local_rank())
    torch.cuda.set_device(local)
    return local


def _backend() -> str:
    return "cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo"


@contextlib.contextmanager
def process_group_from_env() -> Iterator[None]:
    """Join the torchrun process group for the duration of the block (nothing to do without one)."""
    if int(os.environ.get("WORLD_SIZE", "1") or 1) <= 1 or dist.is_initialized():
        yield
        return
    global _control_group
    if torch.cuda.is_available() and torch.cuda.device_count() > int(os.environ.get("LOCAL_RANK", "0")):
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend=_backend())
    control_group()  # created now, by every rank at the same point
    try:
        with contextlib.ExitStack() as stack:
            if not is_main():
                os.environ["DFKD_NO_PROGRESS"] = "1"
                stack.enter_context(contextlib.redirect_stdout(stack.enter_context(open(os.devnull, "w"))))
            yield
    finally:
        _control_group = None
        dist.destroy_process_group()
