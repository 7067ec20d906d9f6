"""dfkd: data-free knowledge distillation and GAN training with one-stage adversarial updates.

The package is layered:

* :mod:`dfkd.engine`  -- one-stage / two-stage adversarial steps (gradient routing, gamma); knows nothing
  about GANs or distillation.
* :mod:`dfkd.losses`  -- adversarial losses and distillation discrepancies as small pure functions in registries.
* :mod:`dfkd.models`  -- networks registered with timm so recipes can name them.
* :mod:`dfkd.distill`, :mod:`dfkd.gan` -- thin "games" over the engine.
* :mod:`dfkd.config`, :mod:`dfkd.runs` -- recipes, run directories, checkpoints, the training session.
"""

__version__ = "0.1.0"
