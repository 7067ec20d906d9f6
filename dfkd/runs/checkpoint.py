"""Checkpoint files and the random-number-generator state that makes resumed runs bit-identical.

Checkpoints are always read with ``torch.load(..., weights_only=True)``: a checkpoint can only contain
tensors, numbers, strings, ``None`` and lists / tuples / dicts of those, never arbitrary Python objects, so
loading a file from elsewhere cannot execute code. Everything saved here (RNG states included) keeps to that.

Nothing non-finite is ever written: :func:`save_checkpoint` refuses a state with an inf/NaN in any floating
tensor (weights, BatchNorm statistics, optimiser moments, ...) and leaves the previous file in place, so a
diverged run cannot replace its last good checkpoint or export.
"""

from __future__ import annotations

import random
import re
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePath
from typing import Any

import numpy as np
import torch

from dfkd.engine.safety import NonFiniteError
from dfkd.runs.atomic import atomic_torch_save

# How torch's weights_only unpickler names a refused global: "Unsupported global: GLOBAL os.system was not an
# allowed global by default" and, for blocked modules, "Trying to load unsupported GLOBAL posix.system whose
# module posix is blocked".
_REFUSED_GLOBAL = re.compile(r"unsupported (?:global:\s*)?GLOBAL\s+([\w.]+)", re.IGNORECASE)


class CheckpointError(ValueError):
    """A checkpoint is missing, corrupt, or holds objects that ``weights_only=True`` refuses to load."""


class NonFiniteStateError(NonFiniteError):
    """A state about to be saved holds an inf or NaN; nothing was written."""


def _floating_tensors(state: object, name: str) -> Iterator[tuple[str, torch.Tensor]]:
    if isinstance(state, torch.Tensor):
        if (state.is_floating_point() or state.is_complex()) and state.numel():
            yield name, state
    elif isinstance(state, Mapping):
        for key, value in state.items():
            yield from _floating_tensors(value, f"{name}.{key}" if name else str(key))
    elif isinstance(state, (list, tuple)):
        for index, value in enumerate(state):
            yield from _floating_tensors(value, f"{name}.{index}" if name else str(index))


def non_finite_entries(state: object) -> list[str]:
    """Dotted names of the floating tensors in ``state`` (nested dicts / lists) holding an inf or NaN.

    The test is one reduction on each tensor's own device and ONE host synchronisation per device; only when
    something is not finite are the tensors looked at one by one, to name them.
    """
    found = list(_floating_tensors(state, ""))
    by_device: dict[torch.device, list[torch.Tensor]] = {}
    for _, tensor in found:
        by_device.setdefault(tensor.device, []).append(tensor.detach())
    with torch.no_grad():
        if all(bool(torch.stack([t.isfinite().all() for t in tensors]).all()) for tensors in by_device.values()):
            return []
        return [name for name, tensor in found if not bool(tensor.detach().isfinite().all())]


def check_finite(path: str | PurePath, state: object) -> None:
    """Raise :class:`NonFiniteStateError` (a :class:`~dfkd.engine.NonFiniteError`) naming ``path`` and the
    offending tensors if ``state`` holds an inf or NaN (see :func:`non_finite_entries`)."""
    bad = non_finite_entries(state)
    if bad:
        shown = ", ".join(bad[:5]) + (f" (and {len(bad) - 5} more)" if len(bad) > 5 else "")
        raise NonFiniteStateError(f"{path} not written: non-finite values (inf/NaN) in {shown}")


def save_checkpoint(path: str | PurePath, state: Mapping[str, Any]) -> None:
    """Write ``state`` to ``path`` atomically (the previous file survives a crash mid-write).

    A state with a non-finite floating tensor is refused with :class:`NonFiniteStateError` before anything is
    written (:func:`check_finite`): the previous file stays.
    """
    check_finite(path, state)
    atomic_torch_save(dict(state), path)


def load_checkpoint(path: str | PurePath, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` with ``weights_only=True``.

    Raises :class:`CheckpointError` naming the file when it is missing, unreadable, corrupt or refused.
    """
    file = Path(path)
    if file.is_dir():
        raise CheckpointError(f"{file}: is a directory; expected a checkpoint file")
    if not file.is_file():
        raise CheckpointError(f"{file}: checkpoint not found")
    try:
        state = torch.load(file, map_location=map_location, weights_only=True)
    except OSError as exc:
        raise CheckpointError(f"{file}: cannot read checkpoint: {exc.strerror or exc}") from exc
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, EOFError, ... for bad files
        text = str(exc)
        refused = _REFUSED_GLOBAL.search(text)
        if refused:
            raise CheckpointError(
                f"{file}: refused to load: it contains the Python object {refused.group(1)}, and checkpoints "
                "may hold only tensors, numbers, strings and lists/tuples/dicts of those (weights_only=True)"
            ) from exc
        detail = next((line.strip() for line in text.splitlines() if "error" in line.lower()), type(exc).__name__)
        raise CheckpointError(f"{file}: corrupt, truncated or not a checkpoint ({detail[:200]})") from exc
    if not isinstance(state, dict):
        raise CheckpointError(f"{file}: expected a dict at the top level of the checkpoint, got {type(state).__name__}")
    return state


def _cuda_in_use() -> bool:
    return torch.cuda.is_available() and torch.cuda.is_initialized()


def capture_rng_state() -> dict[str, Any]:
    """The state of Python's ``random``, numpy's global RNG, torch's CPU RNG and every CUDA device's RNG.

    Only tensors, ints, floats, strings and None are used, so the result loads with ``weights_only=True``.
    """
    py_version, py_state, py_gauss = random.getstate()
    np_kind, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    return {
        "python": {
            "version": int(py_version),
            "state": torch.tensor(py_state, dtype=torch.int64),
            "gauss_next": py_gauss,
        },
        "numpy": {
            "kind": str(np_kind),
            "keys": torch.from_numpy(np.asarray(np_keys, dtype=np.int64).copy()),
            "pos": int(np_pos),
            "has_gauss": int(np_has_gauss),
            "cached_gaussian": float(np_gauss),
        },
        "torch": torch.get_rng_state(),
        # Only once CUDA is in use: capturing would otherwise initialise it in CPU-only runs.
        "cuda": list(torch.cuda.get_rng_state_all()) if _cuda_in_use() else [],
    }


def restore_rng_state(state: Mapping[str, Any]) -> None:
    """Put back what :func:`capture_rng_state` returned.

    CUDA states are restored for as many devices as both the state and this machine have (with a warning if
    the counts differ). A state captured before CUDA was in use has no CUDA part; nothing is restored there.
    """
    py = state["python"]
    random.setstate((int(py["version"]), tuple(int(v) for v in py["state"].tolist()), py["gauss_next"]))
    nps = state["numpy"]
    np.random.set_state(
        (
            str(nps["kind"]),
            nps["keys"].numpy().astype(np.uint32),
            int(nps["pos"]),
            int(nps["has_gauss"]),
            float(nps["cached_gaussian"]),
        )
    )
    torch.set_rng_state(state["torch"].cpu())
    cuda_states = list(state.get("cuda", []))
    available = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if cuda_states and len(cuda_states) != available:
        warnings.warn(
            f"RNG state was saved with {len(cuda_states)} CUDA device(s) but {available} are available here: "
            "restoring the first min(saved, available) CUDA generators only; the run will not be bit-identical",
            RuntimeWarning,
            stacklevel=2,
        )
    for device, cuda_state in enumerate(cuda_states[:available]):
        torch.cuda.set_rng_state(cuda_state.cpu(), device)
