"""Errors raised when a dataset cannot be found on disk or fetched."""

from __future__ import annotations

ENABLE_DOWNLOAD = "set data.download=true"
"""How a recipe turns downloading on; commands with their own flag replace this phrase in the message."""

FIX_HINT = ENABLE_DOWNLOAD + " (needs network) or place the extracted dataset under {root}"
"""How to fix a missing dataset; formatted with the root directory that was searched."""


class DataNotFoundError(FileNotFoundError):
    """A dataset is not on disk (and was not, or could not be, downloaded).

    The message names the dataset, the directory that was searched and how to fix it.
    """


class DataError(ValueError):
    """Data that cannot be used as it is: an unknown dataset name, an unreadable image file. The message names it
    and what was expected."""
