"""Image-folder datasets: ``<path>/<class>/*.png`` or ``<path>/<split>/<class>/*.png`` through torchvision."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from torchvision.datasets import ImageFolder
from torchvision.datasets.folder import IMG_EXTENSIONS

from dfkd.data.errors import DataError, DataNotFoundError
from dfkd.data.sources import SPLITS, DatasetRequest, Split
from dfkd.data.spec import DatasetSpec

LAYOUT = "<path>/<class>/*.png or <path>/<split>/<class>/*.png (split = train or test)"

# Image folders carry no statistics of their own: teachers trained on them use the ImageNet normalisation.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _not_found(path: Path, problem: str) -> DataNotFoundError:
    return DataNotFoundError(f"image folder {path.absolute()}: {problem}; expected the layout {LAYOUT}")


def split_directory(path: Path, split: Split) -> Path:
    """``<path>/<split>`` if it exists, else ``path`` itself (which then must not hold other split folders)."""
    if not path.is_dir():
        raise _not_found(path, "directory does not exist")
    candidate = path / split
    if candidate.is_dir():
        return candidate
    others = [name for name in SPLITS if (path / name).is_dir()]
    if others:
        raise _not_found(path, f"has split folder(s) {others} but no {split!r} folder")
    return path


def class_names(directory: Path) -> list[str]:
    """Sorted class sub-folder names (torchvision's ImageFolder order); error if there are none."""
    names = sorted(entry.name for entry in directory.iterdir() if entry.is_dir() and not entry.name.startswith("."))
    if not names:
        raise _not_found(directory, "contains no class sub-folders")
    return names


def _unreadable(file: object, err: Exception) -> DataError:
    return DataError(f"{file}: cannot read this image ({err}); the file is corrupt or truncated: replace or remove it")


def load_rgb(path: str) -> Image.Image:
    """One image file as RGB; a file PIL cannot decode (corrupt, truncated, not an image) is a :class:`DataError`
    naming it."""
    try:
        with open(path, "rb") as handle:
            return Image.open(handle).convert("RGB")
    except Exception as err:  # PIL raises OSError, SyntaxError, ValueError, DecompressionBombError, ...
        raise _unreadable(path, err) from err


def build_image_folder(path: Path, request: DatasetRequest) -> ImageFolder:
    """ImageFolder over the split directory; images are loaded as RGB and passed through ``request.transform``."""
    directory = split_directory(path, request.split)
    class_names(directory)
    try:
        return ImageFolder(str(directory), transform=request.transform, loader=load_rgb)
    except FileNotFoundError as err:  # torchvision: a class folder without any readable image file
        raise _not_found(directory, str(err)) from err


def _first_image_size(directory: Path) -> int:
    for name in class_names(directory):
        for file in sorted((directory / name).iterdir()):
            if file.suffix.lower() in IMG_EXTENSIONS:
                try:
                    with Image.open(file) as image:
                        return min(image.size)
                except Exception as err:  # as in load_rgb
                    raise _unreadable(file, err) from err
    raise _not_found(directory, f"no image files ({', '.join(IMG_EXTENSIONS)}) in its class folders")


def folder_spec(path: Path, image_size: int | None = None) -> DatasetSpec:
    """Spec of an image folder: classes from the train split (or the folder itself), 3 channels, ImageNet stats.

    Without ``image_size`` the shorter side of the first image is reported: the size every image of the folder is
    resized (shorter side) and center-cropped to when the dataset is built without ``image_size``.
    """
    directory = split_directory(path, "train") if (path / "train").is_dir() else split_directory(path, "test")
    classes = tuple(class_names(directory))
    size = image_size if image_size is not None else _first_image_size(directory)
    return DatasetSpec(
        name=str(path), num_classes=len(classes), image_size=size, channels=3,
        mean=IMAGENET_MEAN, std=IMAGENET_STD, classes=classes,
    )  # fmt: skip
