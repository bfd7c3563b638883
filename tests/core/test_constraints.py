"""Declarative checks: what each constraint accepts, and the sentence it refuses with."""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real

import pytest

from core._constraints import Interval, Options, check, describe, validate
from core.errors import UserInputError


@pytest.mark.parametrize(
    ("rule", "good", "bad"),
    [
        (Interval(int, 2, 10), [2, 5, 10], [1, 11, 2.0, True, "3", None]),
        (Interval(int, 0, None, closed="neither"), [1, 10**12], [0, -1, 2.5]),
        (Interval(Real, 0.05, 0.5), [0.05, 0.5, 0.25, 1 / 4], [0.04, 0.51, math.nan, False]),
        (Interval(Real, 0, 1, closed="left"), [0, 0.999], [1, -0.001]),
        (Interval(Real, None, None, finite=True), [-1e300, 0, 3], [math.inf, -math.inf, math.nan]),
        (Options(("nsga2", "tpe")), ["nsga2", "tpe"], ["NSGA2", "cmaes", 1, None]),
        ([Interval(int, 100, None), None], [None, 100, 5000], [99, 100.0]),
    ],
)
def test_each_rule_accepts_and_refuses(rule, good, bad):
    assert all(check(v, rule) for v in good)
    assert not any(check(v, rule) for v in bad)


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        (Interval(int, 2, 10), "a whole number from 2 to 10"),
        (Interval(int, 0, 2**32 - 1), "a whole number from 0 to 4294967295"),
        (Interval(int, 1, None), "a whole number ≥ 1"),
        (Interval(Real, 0, None, closed="neither", unit="seconds"), "a number of seconds > 0"),
        (Interval(Real, None, 1, closed="neither"), "a number < 1"),
        (Interval(Real, None, None, finite=True), "a finite number"),
        ([Interval(int, 100, None), None], "a whole number ≥ 100 or empty"),
        (Options(("a", "b")), "one of a, b"),
    ],
)
def test_rules_describe_themselves(rule, text):
    assert describe(rule) == text


@dataclass
class _Thing:
    folds: int = 3
    sampler: str = "tpe"
    price: float = 1.0


RULES = {
    "folds": Interval(int, 2, 10),
    "sampler": Options(("nsga2", "tpe"), what="sampler"),
    "price": Interval(Real, 0, None, message="a price cannot be negative."),
}


def test_validate_names_the_field_and_what_was_expected():
    validate(_Thing(), RULES, prefix="x.")
    with pytest.raises(UserInputError) as err:
        validate(_Thing(folds=1), RULES, prefix="x.")
    assert str(err.value) == "x.folds: must be a whole number from 2 to 10, got 1." and err.value.field == "x.folds"
    with pytest.raises(UserInputError, match=r"^sampler: unknown sampler 'cmaes'\. Allowed: nsga2, tpe\.$"):
        validate(_Thing(sampler="cmaes"), RULES)
    with pytest.raises(UserInputError, match=r"^price: a price cannot be negative\.$"):
        validate({"folds": 3, "sampler": "tpe", "price": -1}, RULES)
