"""Loading recipes: YAML files (with ``extends``) plus command-line overrides, validated against a schema.

Resolution order, later wins: the schema's defaults, the ``extends`` chain (base-most first), the recipe
file, the overrides ``a.b.c=value``. Dicts are merged key by key; any other value (lists included) is
replaced whole. YAML is read with a safe loader only (no Python objects are ever constructed); it differs
from ``yaml.safe_load`` in two ways: numbers in scientific notation without a dot (``1e-3``, ``5E4``) are
floats rather than strings, and duplicate keys in one mapping are an error rather than silently dropped.

Every problem is a :class:`RecipeError` that names the file (``<command line>`` for overrides), the dotted
key, and what was expected versus found.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import types
from collections.abc import Iterable, Mapping, Sequence
from enum import Enum
from pathlib import Path, PurePath
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticCustomError

from dfkd.runs.atomic import atomic_write_text

M = TypeVar("M", bound=BaseModel)

COMMAND_LINE = "<command line>"
_EXTENDS = "extends"
Key = tuple[str, ...]


class RecipeError(ValueError):
    """A recipe could not be read, merged or validated; the message names the file, the key and the problem."""


class RecipeConflict(PydanticCustomError):
    """Raised by a section's validator when keys contradict each other; the message names them all, e.g.
    ``RecipeConflict("method=onestage cannot use loss.attention_beta > 0 (...)")``. It is reported as is,
    after the file (or override) that set the validated key."""

    KIND = "recipe_conflict"

    def __new__(cls, message: str) -> RecipeConflict:
        return super().__new__(cls, cls.KIND, message)


class SubkeyError(PydanticCustomError):
    """Raised by the validator of a mapping field about one of its keys, e.g. a model's keyword argument:
    reported as ``key '<field>.<subkey>': expected <expected>, got <value>``, or with ``unknown=True`` (a key
    the mapping does not accept) as ``unknown key '<field>.<subkey>' (<expected>)``."""

    KIND = "subkey_error"

    def __new__(cls, subkey: str, expected: str, value: Any, unknown: bool = False) -> SubkeyError:
        context = {"subkey": subkey, "expected": expected, "value": value, "unknown": unknown}
        return super().__new__(cls, cls.KIND, "{expected}", context)


# --------------------------------------------------------------------------------------------------- YAML


class _RecipeLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` plus YAML 1.2 style floats (``1e-3``) and a duplicate-key check."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_RecipeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)[eE][-+]?[0-9]+$"),
    list("-+.0123456789"),
)


def _parse_yaml(text: str, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_RecipeLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise RecipeError(f"{source}: YAML syntax error{where}: {problem}") from exc


def read_yaml_mapping(path: str | PurePath) -> dict[str, Any]:
    """Read one YAML file whose top level is a mapping (an empty file is an empty mapping); no ``extends``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise RecipeError(f"{path}: cannot read recipe: {reason}") from exc
    data = _parse_yaml(text, str(path))
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RecipeError(f"{path}: expected a mapping of keys at the top level, got {type(data).__name__}")
    return data


# ------------------------------------------------------------------------------------------------ merging


def _deep_merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``: dicts merged recursively, everything else replaced. Returns a new dict."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _deep_merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


def _record_sources(data: Mapping[str, Any], source: str, sources: dict[Key, str], prefix: Key = ()) -> None:
    """Remember which file set each (dotted) key, so validation errors can name the right file."""
    for key, value in data.items():
        here = (*prefix, str(key))
        sources[here] = source
        if isinstance(value, Mapping):
            _record_sources(value, source, sources, here)


def _read_chain(path: Path, sources: dict[Key, str], stack: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read ``path`` and, recursively, the files it ``extends``; returns the merged mapping."""
    stack = (*stack, path.resolve())
    data = read_yaml_mapping(path)
    parent = data.pop(_EXTENDS, None)
    merged: dict[str, Any] = {}
    if parent is not None:
        if not isinstance(parent, str) or not parent:
            raise RecipeError(f"{path}: key '{_EXTENDS}': expected a path to another recipe, got {parent!r}")
        parent_path = path.parent / parent
        if parent_path.resolve() in stack:
            cycle = " -> ".join(str(p) for p in (*stack, parent_path.resolve()))
            raise RecipeError(f"{path}: key '{_EXTENDS}': recipes extend each other in a cycle: {cycle}")
        merged = _read_chain(parent_path, sources, stack)
    _record_sources(data, str(path), sources)
    return _deep_merge(merged, data)


# ---------------------------------------------------------------------------------------------- schema walk


def _nested_model(annotation: Any) -> type[BaseModel] | Literal[True] | None:
    """The section type of a field: a model class, ``True`` for open mappings (dict / Any), ``None`` for leaves."""
    if annotation is Any:
        return True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = get_origin(annotation)
    if origin in (dict, Mapping) or annotation is dict:
        return True
    if origin is Union or origin is types.UnionType:
        found = [m for m in (_nested_model(a) for a in get_args(annotation)) if m is not None]
        if len(found) == 1:
            return found[0]
        return True if found else None
    return None


def _section_at(schema: type[BaseModel], parts: Sequence[object]) -> type[BaseModel] | None:
    """The section model reached by following ``parts`` from ``schema``; None if not a known section."""
    current: type[BaseModel] | Literal[True] | None = schema
    for part in parts:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(str(part))
        if field is None:
            return None
        current = _nested_model(field.annotation)
    return current if isinstance(current, type) else None


def _unknown_key_message(key: str, section: type[BaseModel] | None, dotted: str) -> str:
    if section is None:
        return f"unknown key '{dotted}'"
    allowed = list(section.model_fields)
    message = f"unknown key '{dotted}' (expected one of: {', '.join(allowed)})"
    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        message += f"; did you mean '{close[0]}'?"
    return message


def _check_override_key(schema: type[BaseModel], parts: Sequence[str], override: str) -> None:
    """Reject an override whose key is not in the schema (open mappings accept any sub-key)."""
    current: type[BaseModel] | Literal[True] | None = schema
    for depth, part in enumerate(parts):
        dotted = ".".join(parts[: depth + 1])
        if current is True:
            return
        if current is None:
            raise RecipeError(
                f"{COMMAND_LINE}: override '{override}': key '{'.'.join(parts[:depth])}' is a value, "
                f"not a section, so it has no key '{part}'"
            )
        field = current.model_fields.get(part)
        if field is None:
            raise RecipeError(f"{COMMAND_LINE}: override '{override}': {_unknown_key_message(part, current, dotted)}")
        current = _nested_model(field.annotation)


# ------------------------------------------------------------------------------------------------ overrides


def _apply_override(
    data: dict[str, Any], override: str, schema: type[BaseModel], sources: dict[Key, str]
) -> dict[str, Any]:
    """``data`` with one ``dotted.key=value`` override applied (a new dict; ``data`` is not changed)."""
    key, sep, raw = override.partition("=")
    key = key.strip()
    parts = key.split(".")
    if not sep or not key or any(not p for p in parts):
        raise RecipeError(
            f"{COMMAND_LINE}: override '{override}': expected 'dotted.key=value' (e.g. student.optimizer.lr=1e-3)"
        )
    _check_override_key(schema, parts, override)
    try:
        value = _parse_yaml(raw, COMMAND_LINE) if raw.strip() else None
    except RecipeError:
        value = raw  # not valid YAML on its own (e.g. "a: b"): take the text literally
    out = dict(data)
    cursor = out
    for part in parts[:-1]:  # copy the path down to the leaf, creating sections that the files left out
        child = cursor.get(part)
        child = dict(child) if isinstance(child, Mapping) else {}
        cursor[part] = child
        cursor = child
    cursor[parts[-1]] = value  # replaced, not merged: ``a.b={x: 1}`` sets a.b to exactly that mapping
    label = f"{COMMAND_LINE}: override '{override}'"
    for depth in range(1, len(parts)):  # sections the override created (not set by any file)
        sources.setdefault(tuple(parts[:depth]), label)
    sources[tuple(parts)] = label
    if isinstance(value, Mapping):
        _record_sources(value, label, sources, tuple(parts))
    return out


# ----------------------------------------------------------------------------------------------- validation


def _dotted(loc: Sequence[object]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


_BOUNDS = {
    "greater_than": ("gt", ">"),
    "greater_than_equal": ("ge", ">="),
    "less_than": ("lt", "<"),
    "less_than_equal": ("le", "<="),
}


def _bound(error: Mapping[str, Any]) -> str | None:
    """``a number > 0`` / ``an integer >= 1`` for a violated bound (the bound's type tells which)."""
    if error["type"] not in _BOUNDS:
        return None
    key, symbol = _BOUNDS[error["type"]]
    limit = (error.get("ctx") or {}).get(key)
    if isinstance(limit, float):
        return f"a number {symbol} {limit:g}"
    return f"an integer {symbol} {limit}" if isinstance(limit, int) else None


def _expected(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    bound = _bound(error)
    if bound is not None:
        return bound
    if kind == "finite_number":
        return "a finite number (not .nan or .inf)"
    if kind.startswith("float_"):
        return "a number"
    if kind.startswith("int_"):
        return "an integer"
    if kind.startswith("bool_"):
        return "true or false"
    if kind.startswith("string_"):
        return "a string"
    if kind == "literal_error":
        return f"one of {ctx.get('expected', '?')}"
    if kind in ("list_type", "tuple_type", "set_type"):
        return "a list"
    if kind in ("dict_type", "model_type", "model_attributes_type", "mapping_type"):
        return "a mapping of keys"
    if kind == "missing":
        return "a value (this key is required)"
    return str(error.get("msg", kind)).removeprefix("Input should be ").removeprefix("Value error, ")


def _found(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _source_of(loc: Sequence[object], sources: Mapping[Key, str], default: str) -> str:
    parts: list[str] = []
    best = default
    for part in loc:
        if isinstance(part, int):
            break
        parts.append(str(part))
        best = sources.get(tuple(parts), best)
    return best


def _to_recipe_error(
    exc: ValidationError, schema: type[BaseModel], sources: Mapping[Key, str], default: str
) -> RecipeError:
    """One line: ``<source>: key '<dotted>': expected <what>, got <value>``, several problems joined by ``; ``.

    A cross-key rule of a section (see :class:`RecipeConflict`) reads ``<source>: <its message>``.
    """
    lines = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        unknown_subkey = False
        if error["type"] == SubkeyError.KIND:
            ctx = error["ctx"]
            loc = (*loc, str(ctx["subkey"]))
            error = {**error, "loc": loc, "input": ctx["value"], "msg": ctx["expected"]}
            unknown_subkey = bool(ctx["unknown"])
        source = _source_of(loc, sources, default)
        dotted = _dotted(loc)
        if unknown_subkey:
            lines.append(f"{source}: unknown key '{dotted}' ({error['msg']})")
        elif error["type"] == RecipeConflict.KIND:
            lines.append(f"{source}: {error['msg']}")
        elif error["type"] == "extra_forbidden":
            lines.append(f"{source}: {_unknown_key_message(str(loc[-1]), _section_at(schema, loc[:-1]), dotted)}")
        elif error["type"] == "missing":
            lines.append(f"{source}: key '{dotted}': expected {_expected(error)}")
        else:
            lines.append(f"{source}: key '{dotted}': expected {_expected(error)}, got {_found(error.get('input'))}")
    return RecipeError("; ".join(lines))


# -------------------------------------------------------------------------------------------------- public


def load_recipe(schema: type[M], path: str | PurePath | None, overrides: Sequence[str] = ()) -> M:
    """Defaults of ``schema``, then the recipe at ``path`` (and what it ``extends``), then ``overrides``.

    ``overrides`` are ``dotted.key=value`` strings; the value is parsed as YAML (``lr=1e-3``, ``flag=true``,
    ``milestones=[100,200]``; text that is not valid YAML on its own is taken literally).
    Raises :class:`RecipeError` naming the file or override, the key, and what was expected.
    """
    sources: dict[Key, str] = {}
    data = _read_chain(Path(path), sources) if path is not None else {}
    for override in overrides:
        data = _apply_override(data, override, schema, sources)
    default = str(path) if path is not None else COMMAND_LINE
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise _to_recipe_error(exc, schema, sources, default) from None


def recipe_to_dict(cfg: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    """The recipe as plain YAML/JSON types (dicts, lists, str, int, float, bool, None)."""
    data = cfg.model_dump(mode="python") if isinstance(cfg, BaseModel) else cfg
    return _plain(data)


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return _plain(value.model_dump(mode="python"))
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(_plain(v) for v in value)
    if isinstance(value, Enum):
        return _plain(value.value)
    if isinstance(value, PurePath):
        return str(value)
    return value


def dump_recipe(cfg: BaseModel, path: str | PurePath) -> None:
    """Write the resolved recipe as YAML (atomically); :func:`load_recipe` reads it back to an equal object."""
    text = yaml.safe_dump(recipe_to_dict(cfg), sort_keys=False, default_flow_style=False, allow_unicode=True)
    atomic_write_text(path, text)


def _drop_key(data: dict[str, Any], dotted: str) -> None:
    *parents, leaf = dotted.split(".")
    node: object = data
    for part in parents:
        if not isinstance(node, dict):
            return
        node = node.get(part)
    if isinstance(node, dict):
        node.pop(leaf, None)


def recipe_hash(cfg: BaseModel | Mapping[str, Any], *, ignore: Iterable[str] = ()) -> str:
    """A stable 16-hex-digit sha256 of the resolved recipe, leaving out the dotted keys in ``ignore``."""
    data = recipe_to_dict(cfg)
    for dotted in ignore:
        _drop_key(data, dotted)
    blob = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]
