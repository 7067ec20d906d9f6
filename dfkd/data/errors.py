"""Errors raised when a dataset cannot be found on disk or fetched."""
from __future__ import annotations

FIX_HINT = "set data.download=true (needs network) or place the extracted dataset under {root}"
"""How to fix a missing dataset; formatted with the root directory that was searched."""


class DataNotFoundError(FileNotFoundError):
    """A dataset is not on disk (and was not, or could not be, downloaded).

    The message names the dataset, the directory that was searched and how to fix it.
    """
