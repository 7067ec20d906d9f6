"""The one-stage adversarial engine (knows nothing about GANs or distillation).

Typical use::

    engine = AdversarialEngine(G, D, objective, opt_G, opt_D)
    stats = engine.one_stage_step(AdversarialBatch(z=z, real=x))
"""

from dfkd.engine.coupling import (
    CouplingError,
    CouplingWarning,
    coupling_layers,
    describe_exactness,
    register_coupling_layer,
)
from dfkd.engine.engine import AdversarialEngine, CriticPenalty, EngineConfig
from dfkd.engine.gamma import RouteScales, asymmetric_scales, symmetric_scales
from dfkd.engine.objective import AdversarialBatch, Objective
from dfkd.engine.reference import GradientRecorder, ReferenceGradients, reference_gradients, relative_error
from dfkd.engine.routing import GradientRouter
from dfkd.engine.safety import NonFiniteError
from dfkd.engine.schedule import one_stage_round, two_stage_round
from dfkd.engine.stats import StepStats, summarize

__all__ = [
    "AdversarialBatch",
    "AdversarialEngine",
    "CouplingError",
    "CouplingWarning",
    "CriticPenalty",
    "EngineConfig",
    "GradientRecorder",
    "GradientRouter",
    "NonFiniteError",
    "Objective",
    "ReferenceGradients",
    "RouteScales",
    "StepStats",
    "asymmetric_scales",
    "coupling_layers",
    "describe_exactness",
    "one_stage_round",
    "reference_gradients",
    "register_coupling_layer",
    "relative_error",
    "summarize",
    "symmetric_scales",
    "two_stage_round",
]
