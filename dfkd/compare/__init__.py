"""Comparing methods or recipes fairly: same teacher, same budget, several seeds, one summary (``dfkd compare``).

:func:`run_compare` runs each contender x seed as a normal distillation run under ``<root>/<name>/`` and writes
``results.json``, ``table.md`` and accuracy-vs-time / accuracy-vs-images plots there.
"""

from dfkd.compare.runner import run_compare
from dfkd.compare.spec import FRACTIONS, Budget, CompareError, CompareSpec, parse_budget, parse_seeds

__all__ = ["FRACTIONS", "Budget", "CompareError", "CompareSpec", "parse_budget", "parse_seeds", "run_compare"]
