"""Which critic layers couple the samples of a batch, and therefore break per-sample gamma.

Eq. 7 assumes y_i depends on x_i alone. Layers that normalise with batch statistics (train-mode BatchNorm,
BatchNorm without running statistics, SyncBatchNorm) violate it; symmetric objectives stay exact anyway (the
gradient reversal needs no per-sample decomposition), asymmetric ones become approximate.
GroupNorm, LayerNorm, InstanceNorm, eval-mode BatchNorm, convolutions, linear layers, activations and
pooling are per-sample.

Projects with other coupling layers (minibatch-stddev, batch attention) register them with
:func:`register_coupling_layer`.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

CouplingTest = Callable[[nn.Module], bool]

_COUPLING_TESTS: list[tuple[type[nn.Module], CouplingTest]] = []


def register_coupling_layer(layer_type: type[nn.Module], couples: CouplingTest = lambda m: True) -> None:
    """Declare that modules of ``layer_type`` couple samples whenever ``couples(module)`` is true."""
    _COUPLING_TESTS.append((layer_type, couples))


def _batchnorm_couples(module: nn.Module) -> bool:
    assert isinstance(module, _BatchNorm)
    return module.training or not module.track_running_stats


register_coupling_layer(_BatchNorm, _batchnorm_couples)


class CouplingError(RuntimeError):
    """An asymmetric one-stage step was asked of a critic that couples samples, with coupling='error'."""


class CouplingWarning(UserWarning):
    """An asymmetric one-stage step runs on a critic that couples samples: gamma is approximate."""


def coupling_layers(module: nn.Module) -> list[str]:
    """Qualified names of the submodules that currently couple samples (empty when per-sample exact)."""
    found = []
    for name, sub in module.named_modules():
        if any(isinstance(sub, kind) and couples(sub) for kind, couples in _COUPLING_TESTS):
            found.append(name or type(sub).__name__)
    return found


def describe_exactness(symmetric: bool, coupled: list[str]) -> str:
    """One line for logs and reports."""
    if symmetric:
        return "exact (symmetric objective: gradient reversal needs no per-sample decomposition)"
    if not coupled:
        return "exact (asymmetric objective, per-sample critic)"
    shown = ", ".join(coupled[:3]) + (f" and {len(coupled) - 3} more" if len(coupled) > 3 else "")
    return f"approximate (asymmetric objective, critic couples samples in: {shown})"
