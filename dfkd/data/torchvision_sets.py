"""CIFAR-10, CIFAR-100 and MNIST through torchvision, with missing-data errors that say how to fix them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from torch.utils.data import Dataset
from torchvision import datasets as tvd

from dfkd.data.errors import FIX_HINT, DataNotFoundError
from dfkd.data.sources import DatasetFactory, DatasetRequest, RegisteredDataset
from dfkd.data.spec import DatasetSpec

_MAX_CAUSE_CHARS = 200

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CIFAR100_CLASSES = (
    "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
    "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
    "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur",
    "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard",
    "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain",
    "mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
    "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket",
    "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider",
    "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone", "television", "tiger",
    "tractor",
    "train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
)  # fmt: skip

# Normalisation used by the usual pretrained DFKD teachers (DAFL/DFAD/CMI lineage) -- keep it so their
# checkpoints work unchanged. CIFAR-10's std is the historical per-image value, not the population std.
CIFAR10_SPEC = DatasetSpec(
    name="cifar10", num_classes=10, image_size=32, channels=3,
    mean=(0.4914, 0.4822, 0.4465), std=(0.2023, 0.1994, 0.2010), classes=CIFAR10_CLASSES,
)  # fmt: skip
CIFAR100_SPEC = DatasetSpec(
    name="cifar100", num_classes=100, image_size=32, channels=3,
    mean=(0.5071, 0.4867, 0.4408), std=(0.2675, 0.2565, 0.2761), classes=CIFAR100_CLASSES,
)  # fmt: skip
MNIST_SPEC = DatasetSpec(
    name="mnist", num_classes=10, image_size=28, channels=1,
    mean=(0.1307,), std=(0.3081,), classes=tuple(tvd.MNIST.classes),
)  # fmt: skip


def _brief(err: BaseException) -> str:
    text = " ".join(str(err).split())
    if len(text) > _MAX_CAUSE_CHARS:
        text = text[: _MAX_CAUSE_CHARS - 3] + "..."
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def open_torchvision(name: str, build: Callable[[], Dataset], root: Path, data_dir: str, download: bool) -> Dataset:
    """Call ``build()`` and turn "not found" and download failures into :class:`DataNotFoundError`.

    Without ``download``, torchvision signals missing or corrupted files with ``RuntimeError``. With ``download``,
    any failure (no network, bad archive, ...) is reported, chained to the original error.
    """
    where = root.absolute()
    hint = FIX_HINT.format(root=where)
    if not download:
        try:
            return build()
        except RuntimeError as err:
            raise DataNotFoundError(
                f"dataset {name!r} not found in root directory {where} (expected {where / data_dir}; "
                f"torchvision said: {_brief(err)}); download is off: {hint}"
            ) from err
    try:
        return build()
    except Exception as err:  # any download failure becomes one actionable error
        raise DataNotFoundError(
            f"dataset {name!r}: download into root directory {where} failed ({_brief(err)}); {hint}"
        ) from err


def _factory(name: str, dataset_cls: Callable[..., Dataset], data_dir: str) -> DatasetFactory:
    def build(request: DatasetRequest) -> Dataset:
        return open_torchvision(
            name,
            lambda: dataset_cls(
                str(request.root),
                train=request.split == "train",
                transform=request.transform,
                download=request.download,
            ),  # fmt: skip
            request.root,
            data_dir,
            request.download,
        )

    return build


TORCHVISION_DATASETS: dict[str, RegisteredDataset] = {
    "cifar10": RegisteredDataset(CIFAR10_SPEC, _factory("cifar10", tvd.CIFAR10, tvd.CIFAR10.base_folder)),
    "cifar100": RegisteredDataset(CIFAR100_SPEC, _factory("cifar100", tvd.CIFAR100, tvd.CIFAR100.base_folder)),
    "mnist": RegisteredDataset(MNIST_SPEC, _factory("mnist", tvd.MNIST, "MNIST/raw"), hflip=False),
}
