"""A small name -> object registry used for losses, discrepancies and other pluggable parts.

Adding an entry is one decorator line; looking up an unknown name gives an error that lists what exists.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class UnknownNameError(KeyError):
    """A registry lookup of a name that is not registered (printed without KeyError's quotes)."""

    def __str__(self) -> str:
        return str(self.args[0])


class Registry(Generic[T]):
    """Maps names to objects of one kind (``kind`` appears in error messages)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def add(self, name: str, obj: T) -> T:
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = obj
        return obj

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form of :meth:`add`."""

        def decorate(obj: T) -> T:
            return self.add(name, obj)

        return decorate

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            close = difflib.get_close_matches(name, self._entries, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise UnknownNameError(
                f"unknown {self.kind} {name!r}; expected one of: {', '.join(sorted(self._entries))}.{hint}"
            ) from None

    def names(self) -> list[str]:
        return sorted(self._entries)

    def validate(self, name: str) -> str:
        """``name`` if registered, else ValueError("one of ...") -- for recipe validators, which prefix the key."""
        if name not in self._entries:
            raise ValueError(f"one of {', '.join(self.names())}")
        return name

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._entries))

    def __len__(self) -> int:
        return len(self._entries)
