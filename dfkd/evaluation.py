"""Evaluating a classifier checkpoint on a dataset's test split (``dfkd eval``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from dfkd.data.datasets import dataset_spec, is_image_folder
from dfkd.data.eval import evaluate_accuracy
from dfkd.data.loading import load_split
from dfkd.runtime import resolve_device
from dfkd.teachers.ensure import match_input_size
from dfkd.teachers.load import OptionNames, TeacherRequest, load_teacher
from dfkd.teachers.normalize import Normalizer
from dfkd.teachers.record import TeacherInfo

EVAL_OPTIONS = OptionNames(
    arch="--arch", arch_kwargs="--arch-kwargs", num_classes="--data", mean="--mean", std="--std", data="--data"
)
"""How ``dfkd eval``'s errors name what the user sets: its own flags."""


@dataclass(frozen=True)
class CheckpointEvaluation:
    accuracy: float  # top-1, in [0, 1]
    count: int  # number of test images
    info: TeacherInfo  # the checkpoint's info, with the normalisation and input size used
    from_dataset: tuple[str, ...]  # which of "mean", "std" neither the file nor the caller gave: the dataset's


def evaluate_checkpoint(
    checkpoint: str,
    data: str,
    *,
    root: str = "data",
    download: bool = False,
    arch: str | None = None,
    arch_kwargs: Mapping[str, object] | None = None,
    mean: tuple[float, ...] | None = None,
    std: tuple[float, ...] | None = None,
    max_items: int | None = None,
    device: str = "auto",
    batch_size: int = 512,
) -> CheckpointEvaluation:
    """Top-1 accuracy of a checkpoint on the test split of ``data``.

    The checkpoint's classes must be the dataset's. Normalisation: the recorded one, else ``mean``/``std``, else
    the dataset's (reported in ``from_dataset``). An image folder is resized to the input size the checkpoint
    records; any other dataset must match it.
    """
    classes = dataset_spec(data, root=root).num_classes
    request = TeacherRequest(
        checkpoint, arch=arch, arch_kwargs=arch_kwargs, num_classes=classes, mean=mean, std=std, options=EVAL_OPTIONS
    )
    model, info = load_teacher(request)
    recorded = info.input_size
    square = recorded is not None and recorded[1] == recorded[2]
    size = recorded[2] if recorded is not None and square and is_image_folder(data) else None
    images, labels, spec = load_split(data, "test", root=root, download=download, max_items=max_items, image_size=size)
    info = match_input_size(info, spec, checkpoint, EVAL_OPTIONS)
    from_dataset = tuple(key for key in ("mean", "std") if getattr(info, key) is None)
    mean, std = info.mean or spec.mean, info.std or spec.std
    info = replace(info, mean=mean, std=std)
    target = resolve_device(device)
    normalizer = Normalizer(mean, std).to(target)
    accuracy = evaluate_accuracy(model.to(target), images, labels, batch_size=batch_size, normalize=normalizer)
    return CheckpointEvaluation(accuracy, int(images.shape[0]), info, from_dataset)
