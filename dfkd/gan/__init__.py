"""GAN image synthesis with one- or two-stage adversarial updates.

``dfkd.gan.job.run_gan`` (``dfkd gan RECIPE``) trains; ``dfkd.gan.sample.sample_grid`` (``dfkd sample``) draws
from a checkpoint. The recipe schema is ``dfkd.gan.config.GanRecipe``; recipes live in ``recipes/gan/``.
"""
