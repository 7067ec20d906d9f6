"""`DatasetSpec`: what a model needs to know about a dataset without loading it."""

from __future__ import annotations

from dataclasses import dataclass, replace

# ITU-R BT.601 luma weights, used when 3-channel statistics are folded into one channel.
LUMA_WEIGHTS = (0.299, 0.587, 0.114)


@dataclass(frozen=True)
class DatasetSpec:
    """Static description of a dataset.

    ``mean``/``std`` are the per-channel normalisation a teacher trained on this dataset uses; datasets themselves
    yield un-normalised images in [0, 1] (models carry their normalisation).
    """

    name: str
    num_classes: int
    image_size: int
    channels: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    classes: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.mean) != self.channels or len(self.std) != self.channels:
            raise ValueError(
                f"DatasetSpec {self.name!r}: mean and std need {self.channels} values (one per channel), "
                f"got mean={self.mean}, std={self.std}"
            )
        if len(self.classes) != self.num_classes:
            raise ValueError(
                f"DatasetSpec {self.name!r}: num_classes={self.num_classes} but {len(self.classes)} class names given"
            )

    def with_overrides(self, *, image_size: int | None = None, channels: int | None = None) -> DatasetSpec:
        """The spec after resizing to ``image_size`` and/or converting to ``channels`` (1 or 3).

        1 -> 3 channels repeats the statistics; 3 -> 1 uses luma-weighted averages (an approximation for std).
        """
        spec = self if image_size is None else replace(self, image_size=image_size)
        if channels is None or channels == spec.channels:
            return spec
        if (spec.channels, channels) == (1, 3):
            return replace(spec, channels=3, mean=spec.mean * 3, std=spec.std * 3)
        if (spec.channels, channels) == (3, 1):
            mean = sum(w * m for w, m in zip(LUMA_WEIGHTS, spec.mean, strict=True))
            std = sum(w * s for w, s in zip(LUMA_WEIGHTS, spec.std, strict=True))
            return replace(spec, channels=1, mean=(mean,), std=(std,))
        raise ValueError(f"channels: can convert between 1 and 3 channels, got {spec.channels} -> {channels}")
