"""Constrained value types for recipe fields, declared once and used by every section.

Every number a recipe reads goes through one of these types, so a bad value is refused when the recipe is
validated -- before any run directory exists -- rather than deep inside training:

* integers are real integers: ``true``/``false`` are refused (Python counts ``bool`` as ``int``, a recipe must
  not), integral floats such as ``3e3`` are accepted, and the value must fit in 64 bits (torch's limit);
* floats are finite: ``.nan``, ``.inf`` and ``-.inf`` are refused everywhere; ``true``/``false`` are refused.

Example::

    class OptimizerSection(Section):
        lr: PositiveFloat = 1e-3
        betas: tuple[UnitInterval, UnitInterval] = (0.9, 0.999)
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _refuse_bool_as_int(value: Any) -> Any:
    """true/false and NaN/inf are not integers (pydantic would read them as 1/0, or as non-finite numbers)."""
    if isinstance(value, bool) or (isinstance(value, float) and not math.isfinite(value)):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


def _refuse_bool_as_float(value: Any) -> Any:
    if isinstance(value, bool):
        raise PydanticCustomError("float_type", "Input should be a valid number")
    return value


def _fits_64_bits(value: int) -> int:
    if not INT64_MIN <= value <= INT64_MAX:
        raise PydanticCustomError("integer_range", "an integer that fits in 64 bits (|value| < 2**63)")
    return value


Int = Annotated[int, BeforeValidator(_refuse_bool_as_int), AfterValidator(_fits_64_bits)]
"""An integer (not a bool) that fits in 64 bits."""

PositiveInt = Annotated[Int, Field(ge=1)]
NonNegativeInt = Annotated[Int, Field(ge=0)]

FiniteFloat = Annotated[float, BeforeValidator(_refuse_bool_as_float), Field(allow_inf_nan=False)]
"""A finite float (not NaN, not +-inf, not a bool); integers are accepted."""

PositiveFloat = Annotated[FiniteFloat, Field(gt=0.0)]
NonNegativeFloat = Annotated[FiniteFloat, Field(ge=0.0)]

UnitInterval = Annotated[FiniteFloat, Field(ge=0.0, lt=1.0)]
"""A number in [0, 1): Adam's betas, SGD's momentum (1 would never forget a gradient)."""

Seed = Annotated[Int, Field(ge=0)]
"""A random seed: a non-negative 64-bit integer (what torch.manual_seed accepts)."""
