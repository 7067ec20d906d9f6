"""Top-1 accuracy of a classifier checkpoint on a test split.

CHECKPOINT: a dfkd teacher/student file (e.g. runs/<name>/student_best.pt), or bare weights with --arch.
"""
from __future__ import annotations

import argparse

HELP = "top-1 accuracy of a checkpoint on cifar10, cifar100, mnist, shapes, patterns or an ImageFolder"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint")
    parser.add_argument(
        "--data", required=True, help="cifar10, cifar100, mnist, shapes, patterns or an ImageFolder path"
    )
    parser.add_argument("--root", default="data", help="where torchvision datasets live (default: data)")
    parser.add_argument("--download", action="store_true", help="download the dataset if absent (needs network)")
    parser.add_argument("--arch", help="architecture of bare weights (dfkd/timm name or package.module:callable)")
    parser.add_argument("--max-items", type=int, default=None, help="evaluate on a random subset of this size")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", type=int, default=512)


def run(args: argparse.Namespace) -> int:
    from dfkd.data.errors import ENABLE_DOWNLOAD, DataNotFoundError
    from dfkd.evaluation import evaluate_checkpoint

    try:
        accuracy, count, info = evaluate_checkpoint(
            args.checkpoint,
            args.data,
            root=args.root,
            download=args.download,
            arch=args.arch,
            max_items=args.max_items,
            device=args.device,
            batch_size=args.batch_size,
        )
    except DataNotFoundError as err:  # name this command's flag, not the recipe key
        raise DataNotFoundError(str(err).replace(ENABLE_DOWNLOAD, "pass --download")) from None
    recorded = f" (recorded: {info.accuracy:.4f})" if info.accuracy is not None else ""
    print(f"top-1 accuracy {accuracy:.4f} on {count} {args.data} test images: {args.checkpoint} [{info.arch}]{recorded}")
    return 0
