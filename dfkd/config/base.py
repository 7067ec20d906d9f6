"""The base class of every recipe section.

A recipe is a tree of :class:`Section` models: each field has a type and a default, choices are
``Literal[...]``, nested sections are fields whose type is another :class:`Section`. Unknown keys are rejected
(``extra="forbid"``) and assignments are validated, so a recipe object is always well formed.

Example::

    class OptimSection(Section):
        name: Literal["sgd", "adam"] = "sgd"
        lr: float = 0.1

    class Recipe(Section):
        optim: OptimSection = OptimSection()
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A recipe section: typed fields with defaults, unknown keys forbidden, assignments validated."""

    # protected_namespaces=() lets recipes use field names such as ``model_name`` without pydantic warnings.
    model_config = ConfigDict(extra="forbid", validate_assignment=True, protected_namespaces=())
