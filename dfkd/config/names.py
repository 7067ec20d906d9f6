"""Recipe fields that name something in a registry: datasets, models, devices.

Each is a ``str`` checked when the recipe is validated, so a typo is reported with its key before anything
is loaded or any run directory exists. The registries are imported only when a value is checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator

from dfkd.config.load import SubkeyError


def _dataset(name: str) -> str:
    from dfkd.data.datasets import DATASETS, check_dataset_name

    try:
        check_dataset_name(name)
    except ValueError:
        raise ValueError(f"one of {', '.join(sorted(DATASETS))} or the path of an image-folder directory") from None
    return name


def _model(name: str) -> str:
    from dfkd.models._factory import UnknownModelError, check_model_name, list_dfkd_models

    try:
        check_model_name(name)
    except UnknownModelError as err:
        hint = f" (did you mean {' or '.join(repr(c) for c in err.close)}?)" if err.close else ""
        raise ValueError(f"a dfkd model ({', '.join(list_dfkd_models())}) or a timm model name{hint}") from None
    return name


def _architecture(name: str) -> str:
    if ":" in name:  # package.module:callable, imported only when the model is built
        module, _, attr = name.partition(":")
        if not module or not attr:
            raise ValueError("a model name or package.module:callable")
        return name
    return _model(name)


def _device(name: str) -> str:
    import torch

    if name == "auto":
        return name
    try:
        torch.device(name)
    except (RuntimeError, ValueError):
        raise ValueError("auto, cpu, cuda, cuda:<index>, mps or another torch device") from None
    return name


DatasetName = Annotated[str, AfterValidator(_dataset)]
"""A registered dataset (cifar10, shapes, ...) or the path of an image-folder directory."""

ModelName = Annotated[str, AfterValidator(_model)]
"""A dfkd or timm model name."""

Architecture = Annotated[str, AfterValidator(_architecture)]
"""A model name, or ``package.module:callable`` naming a function that returns an ``nn.Module``."""

DeviceName = Annotated[str, AfterValidator(_device)]
"""``auto`` or a torch device string; whether the device exists is checked when the run starts."""


def model_kwargs(arch: str | None, kwargs: dict[str, Any], reserved: Mapping[str, str] = {}) -> dict[str, Any]:
    """The keyword arguments of the model ``arch`` (None: its name was invalid, that error is reported), checked
    against its constructor: arguments it does not take and values of the wrong type (``width: abc``) are refused
    here, not when the model is built. ``reserved`` maps the arguments the job sets itself to where they come
    from (e.g. ``{"num_classes": "the teacher"}``); giving one is refused too."""
    from dfkd.models._factory import ModelArgumentError, check_model_kwargs

    for key, origin in reserved.items():
        if key in kwargs:
            raise SubkeyError(key, f"no value ({arch or 'the model'} gets its {key} from {origin})", kwargs[key])
    if arch is not None:
        try:
            check_model_kwargs(arch, kwargs)
        except ModelArgumentError as err:
            if err.argument is None:
                raise ValueError(str(err)) from None
            if err.unknown:
                raise SubkeyError(err.argument, err.expected, err.value, True) from None
            raise SubkeyError(err.argument, f"{err.expected} ({arch}'s '{err.argument}')", err.value) from None
    return kwargs
