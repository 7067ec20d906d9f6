"""dfkd's model zoo, registered with timm so that a recipe can name any network.

Importing this package registers (``@register_model``) the CIFAR ResNets (``cifar_resnet18``, ``cifar_resnet34``),
the WideResNets of ZSKT (``wrn_16_1``, ``wrn_16_2``, ``wrn_40_1``, ``wrn_40_2``), the quick-start ``simple_cnn``,
the data-free KD generators (``dfad_generator``, ``zskt_generator``) and the DCGAN pair (``dcgan_generator``,
``dcgan_critic``). Build any of them -- or any timm model -- with :func:`create_model`. Every classifier here
implements ``forward_with_features(x) -> (logits, block-group outputs)`` (:class:`SupportsFeatures`).
"""

from __future__ import annotations

from . import dcgan, generators, resnet_cifar, simple_cnn, wide_resnet
from ._factory import SupportsFeatures, create_model, latent_size, list_dfkd_models
from .dcgan import CRITIC_NORMS, DCGANCritic, DCGANGenerator, dcgan_init_
from .generators import UpsampleGenerator
from .resnet_cifar import CifarResNet
from .simple_cnn import SimpleCNN
from .wide_resnet import WideResNet

__all__ = [
    "CRITIC_NORMS",
    "CifarResNet",
    "DCGANCritic",
    "DCGANGenerator",
    "SimpleCNN",
    "SupportsFeatures",
    "UpsampleGenerator",
    "WideResNet",
    "create_model",
    "dcgan",
    "dcgan_init_",
    "generators",
    "latent_size",
    "list_dfkd_models",
    "resnet_cifar",
    "simple_cnn",
    "wide_resnet",
]
