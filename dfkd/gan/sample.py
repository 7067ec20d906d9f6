"""``dfkd sample``: rebuild a GAN generator from a checkpoint and write an image grid."""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torchvision.utils import save_image

from dfkd.models import create_model, latent_size
from dfkd.runs.checkpoint import CheckpointError, load_checkpoint


def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint file, or a run directory (then its ``checkpoints/last.pt``)."""
    path = Path(path)
    return path / "checkpoints" / "last.pt" if path.is_dir() else path


def load_generator(checkpoint: str | Path, device: str | torch.device = "cpu") -> torch.nn.Module:
    """The generator of a ``dfkd gan`` checkpoint, in eval mode."""
    file = resolve_checkpoint(checkpoint)
    state = load_checkpoint(file, map_location=device)
    spec = state.get("meta", {}).get("generator")
    weights = state.get("game", {}).get("generator")
    if not isinstance(spec, dict) or weights is None:
        raise CheckpointError(f"{file}: not a `dfkd gan` checkpoint (no meta.generator / game.generator)")
    generator = create_model(spec["arch"], **spec["kwargs"])
    generator.load_state_dict(weights)
    return generator.to(device).eval()


@torch.no_grad()
def sample_grid(
    checkpoint: str | Path, out: str | Path, n: int = 64, seed: int = 0, device: str = "cpu", nrow: int | None = None
) -> Path:
    """Write ``n`` samples (z ~ N(0, I) from ``seed``; labels cycling through the classes if conditional) as a PNG
    grid; returns its path."""
    if n < 1:
        raise ValueError(f"--n must be >= 1, got {n}")
    generator = load_generator(checkpoint, device)
    rng = torch.Generator().manual_seed(seed)
    z = torch.randn(n, latent_size(generator), generator=rng).to(device)
    num_classes = int(getattr(generator, "num_classes", 0))
    images = generator(z) if not num_classes else generator(z, torch.arange(n, device=device) % num_classes)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_image(images.float().cpu(), out, nrow=nrow or math.ceil(math.sqrt(n)), normalize=True, value_range=(-1, 1))
    return out
