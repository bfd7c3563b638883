"""Declarative checks for value objects, in the manner of scikit-learn's ``_param_validation``.

A frozen dataclass states what each field may hold (``Interval(int, 2, 10)``, ``Options({...})``)
instead of spelling out ``isinstance`` and range tests by hand; the constraint both checks the value
and describes itself, so every rejection reads the same way: "field: must be <what>, got <value>."
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from numbers import Real
from typing import Any, Literal

from core.errors import UserInputError

Closed = Literal["both", "left", "right", "neither"]


@dataclass(frozen=True)
class Interval:
    """A number of ``kind`` (``int`` = a whole number, never a bool; ``Real`` = any number) in a range.

    ``None`` for a bound leaves that side open. ``unit`` reads into the description ("a number of
    seconds > 0"); ``finite`` refuses inf/NaN; ``message`` replaces the generic sentence where the
    field needs its own explanation (``{value}`` is the rejected value).
    """

    kind: type
    left: float | None
    right: float | None
    closed: Closed = "both"
    unit: str = ""
    finite: bool = False
    message: str = ""

    def is_satisfied_by(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, int if self.kind is int else Real):
            return False
        value = float(value) if self.kind is not int else value
        if self.finite and not math.isfinite(value):
            return False
        left_ok = self.left is None or (value >= self.left if self.closed in ("both", "left") else value > self.left)
        right_ok = self.right is None or (
            value <= self.right if self.closed in ("both", "right") else value < self.right
        )
        return bool(left_ok and right_ok)

    def _num(self, bound: float) -> str:
        return str(int(bound)) if self.kind is int else f"{bound:g}"

    def describe(self) -> str:
        noun = "a whole number" if self.kind is int else ("a finite number" if self.finite else "a number")
        if self.unit:
            noun = f"{noun} of {self.unit}"
        if self.left is not None and self.right is not None and self.closed == "both":
            return f"{noun} from {self._num(self.left)} to {self._num(self.right)}"
        parts = []
        if self.left is not None:
            parts.append(f"{'≥' if self.closed in ('both', 'left') else '>'} {self._num(self.left)}")
        if self.right is not None:
            parts.append(f"{'≤' if self.closed in ('both', 'right') else '<'} {self._num(self.right)}")
        return " ".join([noun, " and ".join(parts)]).strip()


@dataclass(frozen=True)
class Options:
    """One of a fixed set of values; ``what`` names the kind ("sampler") for the "unknown …" message."""

    allowed: tuple[Any, ...]
    what: str = ""

    def __init__(self, allowed: Iterable[Any], what: str = "") -> None:
        object.__setattr__(self, "allowed", tuple(allowed))
        object.__setattr__(self, "what", what)

    @property
    def message(self) -> str:
        return f"unknown {self.what} {{value!r}}. Allowed: {{allowed}}." if self.what else ""

    def is_satisfied_by(self, value: Any) -> bool:
        return any(type(value) is type(a) and value == a for a in self.allowed)

    def describe(self) -> str:
        return f"one of {', '.join(map(str, self.allowed))}"


Constraint = Interval | Options
# a field's rule: one constraint, or a list of which any may hold (``None`` in it allows "empty")
Rule = Constraint | list[Constraint | None]


def _as_list(rule: Rule) -> list[Constraint | None]:
    return list(rule) if isinstance(rule, list) else [rule]


def describe(rule: Rule) -> str:
    """What a rule accepts, in words: "a whole number ≥ 100 or empty"."""
    return " or ".join("empty" if c is None else c.describe() for c in _as_list(rule))


def check(value: Any, rule: Rule) -> bool:
    """Whether ``value`` satisfies ``rule``."""
    return any(value is None if c is None else c.is_satisfied_by(value) for c in _as_list(rule))


def _message(value: Any, rule: Rule) -> str:
    custom = next((c for c in _as_list(rule) if c is not None and c.message), None)
    if custom is None:
        return f"must be {describe(rule)}, got {value!r}."
    allowed = ", ".join(map(str, custom.allowed)) if isinstance(custom, Options) else ""
    return custom.message.format(value=value, allowed=allowed)


def validate(obj: Any, rules: Mapping[str, Rule], *, prefix: str = "") -> None:
    """Check each named attribute of ``obj`` (or key, for a mapping); raise on the first that fails.

    The error's ``field`` is ``prefix + name`` so a UI can show it beside the right widget.
    """
    for name, rule in rules.items():
        value = obj[name] if isinstance(obj, Mapping) else getattr(obj, name)
        if not check(value, rule):
            where = f"{prefix}{name}"
            raise UserInputError(f"{where}: {_message(value, rule)}", field=where)


__all__ = ["Interval", "Options", "Rule", "check", "describe", "validate"]
