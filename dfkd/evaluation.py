"""Evaluating a classifier checkpoint on a dataset's test split (``dfkd eval``)."""
from __future__ import annotations

from dataclasses import replace

from dfkd.data.eval import evaluate_accuracy
from dfkd.data.loading import load_split
from dfkd.runtime import resolve_device
from dfkd.teachers.load import TeacherLoadError, TeacherRequest, load_teacher
from dfkd.teachers.normalize import Normalizer
from dfkd.teachers.record import TeacherInfo


def evaluate_checkpoint(
    checkpoint: str,
    data: str,
    *,
    root: str = "data",
    download: bool = False,
    arch: str | None = None,
    max_items: int | None = None,
    device: str = "auto",
    batch_size: int = 512,
) -> tuple[float, int, TeacherInfo]:
    """(top-1 accuracy, number of images, checkpoint info). Normalisation: recorded, else the dataset's."""
    images, labels, spec = load_split(data, "test", root=root, download=download, max_items=max_items)
    model, info = load_teacher(TeacherRequest(checkpoint=checkpoint, arch=arch, num_classes=None))
    if info.num_classes != spec.num_classes:
        raise TeacherLoadError(
            f"{checkpoint}: the model has {info.num_classes} classes, {data} has {spec.num_classes}"
        )
    if info.mean is None or info.std is None:
        info = replace(info, mean=spec.mean, std=spec.std)
    target = resolve_device(device)
    normalizer = Normalizer(info.mean, info.std).to(target)  # type: ignore[arg-type]
    accuracy = evaluate_accuracy(model.to(target), images, labels, batch_size=batch_size, normalize=normalizer)
    return accuracy, int(images.shape[0]), info
