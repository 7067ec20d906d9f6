"""Metrics tests run single-threaded (tiny tensors; see tests/gan/conftest.py)."""

from __future__ import annotations

from tests.gan.conftest import _one_thread  # noqa: F401  (autouse fixture)
