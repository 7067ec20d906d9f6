"""Write a grid of images sampled from a `dfkd gan` checkpoint (a run's checkpoints/last.pt or best.pt, or the
run directory itself)."""

from __future__ import annotations

import argparse
from pathlib import Path

from dfkd.cli._arg_types import non_negative_int, positive_int
from dfkd.cli._errors import CommandLineError

HELP = "write an image grid from a GAN checkpoint"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "checkpoint", metavar="CHECKPOINT", help="runs/<name>/checkpoints/last.pt (or best.pt, or runs/<name>)"
    )
    parser.add_argument("--n", type=positive_int, default=64, help="number of images (default 64)")
    parser.add_argument("--out", default="grid.png", help="PNG file to write (default grid.png)")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="seed of the latent codes (default 0)")
    parser.add_argument("--nrow", type=positive_int, default=None, help="images per row (default: a square grid)")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, ...")


def run(args: argparse.Namespace) -> int:
    from dfkd.gan.sample import sample_grid
    from dfkd.runs.launch import unwritable_reason
    from dfkd.runtime import resolve_device

    device = resolve_device(args.device, option="--device")
    out = Path(args.out)
    reason = unwritable_reason(out.parent)
    if reason is not None:
        raise CommandLineError(f"--out {out}: cannot write it: {reason}")
    path = sample_grid(args.checkpoint, out, n=args.n, seed=args.seed, device=str(device), nrow=args.nrow)
    print(f"wrote {args.n} samples to {path}")
    return 0
