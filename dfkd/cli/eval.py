"""Top-1 accuracy of a classifier checkpoint on a test split.

CHECKPOINT: a dfkd teacher/student file (e.g. runs/<name>/student_best.pt), or bare weights with --arch.
"""

from __future__ import annotations

import argparse
import sys

import yaml

HELP = "top-1 accuracy of a checkpoint on cifar10, cifar100, mnist, shapes, patterns or an ImageFolder"


def _mapping(text: str) -> dict[str, object]:
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise argparse.ArgumentTypeError(f"expected a mapping such as '{{width: 4}}', got {text!r} ({err})") from err
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a mapping such as '{{width: 4}}', got {text!r}")
    return {str(k): v for k, v in value.items()}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint")
    parser.add_argument(
        "--data", required=True, help="cifar10, cifar100, mnist, shapes, patterns or an ImageFolder path"
    )
    parser.add_argument("--root", default="data", help="where torchvision datasets live (default: data)")
    parser.add_argument("--download", action="store_true", help="download the dataset if absent (needs network)")
    parser.add_argument(
        "--arch",
        help="architecture: a dfkd/timm model name, or package.module:callable (imported: only code you trust); "
        "needed for bare weights, and for a file recording a package.module:callable",
    )
    parser.add_argument(
        "--arch-kwargs",
        type=_mapping,
        metavar="MAPPING",
        help="keyword arguments of --arch, e.g. '{width: 4, depth: 2}'",
    )
    parser.add_argument("--mean", type=float, nargs="+", help="per-channel input mean, when the file records none")
    parser.add_argument("--std", type=float, nargs="+", help="per-channel input std, when the file records none")
    parser.add_argument("--max-items", type=int, default=None, help="evaluate on a random subset of this size")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", type=int, default=512)


def run(args: argparse.Namespace) -> int:
    from dfkd.data.errors import ENABLE_DOWNLOAD, DataNotFoundError
    from dfkd.evaluation import evaluate_checkpoint

    try:
        result = evaluate_checkpoint(
            args.checkpoint,
            args.data,
            root=args.root,
            download=args.download,
            arch=args.arch,
            arch_kwargs=args.arch_kwargs,
            mean=None if args.mean is None else tuple(args.mean),
            std=None if args.std is None else tuple(args.std),
            max_items=args.max_items,
            device=args.device,
            batch_size=args.batch_size,
        )
    except DataNotFoundError as err:  # name this command's flag, not the recipe key
        raise DataNotFoundError(str(err).replace(ENABLE_DOWNLOAD, "pass --download")) from None
    info = result.info
    if result.from_dataset:
        missing = " / ".join(result.from_dataset)
        flags = " / ".join(f"--{key}" for key in result.from_dataset)
        print(
            f"note: {args.checkpoint} does not record its input {missing}: using {args.data}'s (pass {flags} "
            "if the model was trained with other statistics)",
            file=sys.stderr,
        )
    recorded = f" (recorded: {info.accuracy:.4f})" if info.accuracy is not None else ""
    print(
        f"top-1 accuracy {result.accuracy:.4f} on {result.count} {args.data} test images: {args.checkpoint} "
        f"[{info.arch}]{recorded}"
    )
    return 0
