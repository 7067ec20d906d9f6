"""Write a grid of images sampled from a `dfkd gan` checkpoint (a run's checkpoints/last.pt or best.pt, or the
run directory itself)."""
from __future__ import annotations

import argparse
import sys

HELP = "write an image grid from a GAN checkpoint"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "checkpoint", metavar="CHECKPOINT", help="runs/<name>/checkpoints/last.pt (or best.pt, or runs/<name>)"
    )
    parser.add_argument("--n", type=int, default=64, help="number of images (default 64)")
    parser.add_argument("--out", default="grid.png", help="PNG file to write (default grid.png)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the latent codes (default 0)")
    parser.add_argument("--nrow", type=int, default=None, help="images per row (default: a square grid)")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, ...")


def run(args: argparse.Namespace) -> int:
    from dfkd.gan.sample import sample_grid
    from dfkd.runs.checkpoint import CheckpointError

    try:
        path = sample_grid(args.checkpoint, args.out, n=args.n, seed=args.seed, device=args.device, nrow=args.nrow)
    except (CheckpointError, ValueError) as err:
        print(f"dfkd sample: {err}", file=sys.stderr)
        return 2
    print(f"wrote {args.n} samples to {path}")
    return 0
