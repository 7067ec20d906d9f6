"""Argument types for numeric options, with the same rules as recipe fields (:mod:`dfkd.config.types`).

``parser.add_argument("--batch-size", type=positive_int)`` turns ``--batch-size 0`` into the one-line error
``argument --batch-size: expected an integer >= 1, got '0'``.
"""

from __future__ import annotations

import argparse

from dfkd.config.types import INT64_MAX


def _integer(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < minimum:
        raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}")
    if value > INT64_MAX:
        raise argparse.ArgumentTypeError(f"expected an integer that fits in 64 bits (< 2**63), got {text!r}")
    return value


def positive_int(text: str) -> int:
    """An integer >= 1 (counts, sizes)."""
    return _integer(text, 1)


def non_negative_int(text: str) -> int:
    """An integer >= 0 (seeds, intervals where 0 means 'never')."""
    return _integer(text, 0)
