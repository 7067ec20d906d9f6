"""What the engine optimises: an objective over critic outputs, and one step's inputs.

The engine sees the critic as a function x -> y with one scalar y_i per sample. For a GAN the critic is the
discriminator; for data-free distillation it is teacher + student + a per-sample discrepancy. The objective
supplies the two losses of Eq. 4 of the paper as one pure function of those outputs::

    losses(y_real, y_fake) -> (L_D, L_G)      L_D = L_D^r(y_real) + L_D^f(y_fake),  L_G = L_G(y_fake[, y_real])

``y_real`` is None when there is no real batch (distillation). Both values are scalars (batch means). Only
their derivatives with respect to the outputs matter to the engine: dL_D/dy (real and fake) reaches the
critic, dL_G/dy_fake the generator. L_G's dependence on real outputs (relativistic losses) is never
differentiated, so it cannot flow into the critic. Losses that couple samples inside the loss (relativistic,
FisherGAN's batch moments) are handled exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import Tensor

LossPair = Callable[[Tensor | None, Tensor], tuple[Tensor, Tensor]]
CriticAuxLoss = Callable[[object, object | None], Tensor]
GeneratorAuxLoss = Callable[[object], Tensor]
GeneratorOutputLoss = Callable[[Tensor], Tensor]


@dataclass(frozen=True)
class Objective:
    """The pair (L_D, L_G) over critic outputs.

    ``symmetric`` declares L_G = -L_D^f (Section 3.1.2): the engine then reverses the gradient at the fake
    sample (gamma = -1), which is exact whatever the critic does with the batch. Otherwise gamma_i is computed
    per sample (Eq. 7), which is exact only for critics that treat samples independently.

    ``generator_uses_real``: L_G reads the real outputs (relativistic losses); a generator-only step then
    scores the real batch too (without gradient).

    ``critic_aux_loss(aux_fake, aux_real)`` is an optional critic-only term computed from auxiliary outputs of
    the same critic forward (the critic returns ``(y, aux)``), e.g. attention transfer on student features.
    It depends on the fake sample's features, so one backward cannot hide it from the generator: the engine
    accepts it only in critic-only steps.

    ``generator_aux_loss(aux_fake)`` is an optional generator-only term (a prior such as matching the
    teacher's BatchNorm statistics) computed from auxiliary outputs of the critic forward on the fakes. It
    must not depend on trainable critic parameters (e.g. teacher-only features). The generator minimises
    L_G + generator_aux_loss. In a one-stage step it joins the single backward with the sign the gradient
    reversal needs (-1), so it reaches the generator exactly and the critic not at all; this requires a
    symmetric objective (a per-sample gamma would rescale it).

    ``generator_output_loss(fake)`` is an optional generator-only term on the generated samples themselves
    (an image prior such as total variation). It is taken on the generator's output before the router, so
    its gradient reaches the generator directly, in one-stage and two-stage steps alike, with any objective.
    """

    losses: LossPair
    symmetric: bool
    name: str = "objective"
    generator_uses_real: bool = False
    critic_aux_loss: CriticAuxLoss | None = None
    generator_aux_loss: GeneratorAuxLoss | None = None
    generator_output_loss: GeneratorOutputLoss | None = None


@dataclass
class AdversarialBatch:
    """Inputs of one step: latent codes, an optional real batch, optional class labels (conditional models)."""

    z: Tensor
    real: Tensor | None = None
    fake_labels: Tensor | None = None
    real_labels: Tensor | None = None

    @property
    def size(self) -> int:
        return int(self.z.shape[0])
