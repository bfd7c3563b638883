"""The room's options: (trial, operating point) pairs, each a fitted model *and* a decision rule,
named by one key every page, the CLI, the room's votes and the bundle share.

Why a key and not the trial number: the same fitted model cut at another threshold is another
option with other accuracy, fairness and value, and the room must be able to vote for, compare and
export exactly that one. The key of a trial's own tuned rule (and of every trial stored before
curves existed) is the bare trial number, ``"12"``, so every old study, room and bundle keeps
reading as it did; another rule of trial 12 is ``"12@3"`` (point 3 of its stored curve).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from core.decide.operating_points import POINT, RULE_CRITERION, RULE_KIND, points_frame
from core.errors import UserInputError
from core.metrics.operating_points import CRITERION_PARITY, GROUP_CRITERIA
from core.search import reader as study_reader
from core.spec import Objective, Spec

OPTION = "option"  # column of the options frame: the key of the row's (trial, operating point)
TUNED = "tuned_rule"  # column: True for the row of the trial's own tuned rule
_KEY = re.compile(r"^\s*#?(\d+)(?:\s*@\s*(\d+))?\s*$")


def option_key(number: int, point: int | float | None = None, tuned: int | None = None) -> str:
    """``"12"`` for trial 12's own rule (``point`` None/NaN or equal to ``tuned``), else ``"12@3"``."""
    if point is None or (isinstance(point, float) and math.isnan(point)) or (tuned is not None and int(point) == tuned):
        return str(int(number))
    return f"{int(number)}@{int(point)}"


def parse_option(key: str | int) -> tuple[int, int | None]:
    """(trial number, point or None) of a key; accepts ``12``, ``"#12"``, ``"12@3"``."""
    if isinstance(key, int):
        return int(key), None
    m = _KEY.match(str(key))
    if m is None:
        raise UserInputError(
            f"{key!r} is not an option: write a trial number (12) or a trial and an operating point (12@3).",
            field="option",
        )
    return int(m.group(1)), None if m.group(2) is None else int(m.group(2))


def _tuned(curves: Mapping[int, Mapping[str, Any] | None], number: int) -> int | None:
    curve = curves.get(int(number))
    return None if not curve else int(curve.get("tuned", -1))


def with_keys(points: pd.DataFrame, curves: Mapping[int, Mapping[str, Any] | None]) -> pd.DataFrame:
    """``points`` (from :func:`points_frame`) with the :data:`OPTION` and :data:`TUNED` columns."""
    keys, tuned_rule = [], []
    for n, p in zip(points["number"], points[POINT] if POINT in points else [None] * len(points), strict=True):
        t = _tuned(curves, int(n))
        key = option_key(int(n), p, t)
        keys.append(key)
        tuned_rule.append("@" not in key)
    return points.assign(**{OPTION: keys, TUNED: tuned_rule})


def options_frame(
    frame: pd.DataFrame, curves: Mapping[int, Mapping[str, Any] | None], limits: Sequence[Objective] = ()
) -> pd.DataFrame:
    """One row per option (trial × operating point), limits judged per row, keyed by :data:`OPTION`."""
    return with_keys(points_frame(frame, curves, limits), curves)


def load_options(url: str | None, study_name: str, spec: Spec | None = None) -> pd.DataFrame:
    """The study's options from storage (the fast trials reader plus every stored curve)."""
    frame = study_reader.read_frame(url, study_name, spec)
    curves = study_reader.read_curves(url, study_name)
    return options_frame(frame, curves, spec.objectives if spec else ())


def find(options: pd.DataFrame, key: str | int) -> pd.Series:
    """The row of one option; a clear error naming the trial when it has no such point."""
    number, point = parse_option(key)
    rows = options[options["number"] == number]
    if rows.empty:
        raise UserInputError(f"This study has no finished trial #{number}.", field="option")
    if point is None:
        own = rows[rows[TUNED]] if TUNED in rows else rows
        return (own if len(own) else rows).iloc[0]
    hit = rows[rows[OPTION] == option_key(number, point)]
    if hit.empty:
        hit = rows[rows[POINT] == point] if POINT in rows else hit
    if hit.empty:
        n = int(rows[POINT].max()) + 1 if POINT in rows and rows[POINT].notna().any() else 1
        raise UserInputError(
            f"Trial #{number} has no operating point {point}: its points are 0 to {n - 1}.", field="option"
        )
    return hit.iloc[0]


def rule_of(curves: Mapping[int, Mapping[str, Any] | None], key: str | int, threshold: float) -> dict[str, Any]:
    """The decision rule of an option as plain data: ``{"kind": "threshold", "threshold": t}``.

    ``threshold`` is the trial's own tuned threshold (used for its own rule and for old trials).
    """
    number, point = parse_option(key)
    curve = curves.get(number)
    if point is None or not curve:
        return {"kind": "threshold", "threshold": float(threshold)}
    kinds = curve.get("kinds")
    kind = kinds[point] if isinstance(kinds, list) else curve.get("kind", "threshold")
    rule: dict[str, Any] = {"kind": kind, "threshold": float(curve["threshold"][point])}
    groups = curve.get("group_thresholds")
    if isinstance(groups, list) and groups[point] is not None:
        rule["group_thresholds"] = groups[point]
        rule["criterion"] = criterion_of(curve, point)
    return rule


def criterion_of(curve: Mapping[str, Any], point: int) -> str:
    """What a group point equalises (curves from before equal-recall rules hold parity rules only)."""
    criteria = curve.get("group_criteria")
    found = criteria[point] if isinstance(criteria, list) and point < len(criteria) else None
    return str(found or CRITERION_PARITY)


def label(row: Mapping[str, Any]) -> str:
    """Plain words for an option: ``#12`` (its own rule) or ``#12 at threshold 0.41``."""
    key = str(row.get(OPTION, int(row["number"])))
    if "@" not in key:
        return f"#{int(row['number'])}"
    kind = row.get(RULE_KIND, "threshold")
    if kind == "group_thresholds":
        aim = GROUP_CRITERIA.get(str(row.get(RULE_CRITERION) or CRITERION_PARITY), "")
        return f"#{int(row['number'])} with group thresholds for {aim} (rule {key.split('@')[1]})"
    return f"#{int(row['number'])} at threshold {float(row['threshold']):.2f}"


__all__ = [
    "OPTION",
    "TUNED",
    "find",
    "label",
    "load_options",
    "option_key",
    "options_frame",
    "parse_option",
    "rule_of",
    "with_keys",
]
