"""The generator and critic of a GAN recipe, and the generator's description stored with checkpoints."""

from __future__ import annotations

from typing import Any

from torch import nn

from dfkd.gan.config import GanModelSection
from dfkd.models import create_model

GENERATOR_ARCH = "dcgan_generator"
CRITIC_ARCH = "dcgan_critic"


def generator_spec(model: GanModelSection, channels: int, num_classes: int) -> dict[str, Any]:
    """``{"arch", "kwargs"}`` of the generator: enough to rebuild it from a checkpoint (``dfkd sample``)."""
    kwargs = {
        "nz": model.nz,
        "ngf": model.ngf,
        "resolution": model.resolution,
        "channels": channels,
        "num_classes": num_classes if model.conditional else 0,
    }
    return {"arch": GENERATOR_ARCH, "kwargs": kwargs}


def build_networks(model: GanModelSection, channels: int, num_classes: int) -> tuple[nn.Module, nn.Module]:
    """DCGAN generator and critic (N(0, 0.02) init inside), conditional when ``model.conditional``."""
    spec = generator_spec(model, channels, num_classes)
    generator = create_model(spec["arch"], **spec["kwargs"])
    critic = create_model(
        CRITIC_ARCH,
        ndf=model.ndf,
        resolution=model.resolution,
        channels=channels,
        norm=model.norm,
        num_classes=spec["kwargs"]["num_classes"],
    )
    return generator, critic
