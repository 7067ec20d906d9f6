"""Errors of the image-quality metrics."""

from __future__ import annotations


class ExtractorWeightsError(FileNotFoundError):
    """The weights of a feature extractor are missing or unusable; the message says where to put them."""
