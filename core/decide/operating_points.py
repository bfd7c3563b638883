"""The front over (trial, operating point): each trial's stored curve expanded into one row per
decision rule, so the front, hypervolume and knee judge a model *and* a rule.

Why a frame of the same shape as the trials frame: every tool that reads trials (front, limits,
hypervolume, knee) then reads operating points unchanged. A trial stored before curves existed
(or one not complete) keeps its one row: its own tuned rule, so old studies give the front they did.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from core import objectives as obj
from core.decide import front
from core.metrics.operating_points import CRITERION_PARITY, KIND_GROUP
from core.search import with_limits
from core.spec import Objective

POINT = "point"  # index of the rule on its trial's curve; NaN for a trial with one point only
RULE_KIND = "rule_kind"
RULE_CRITERION = "rule_criterion"  # what a group rule equalises (operating_points.GROUP_CRITERIA); None else


def _curve_rows(number: int, curve: Mapping[str, Any]) -> pd.DataFrame:
    """One row per operating point of one trial: its threshold and every per-point metric."""
    cols: dict[str, Any] = {"number": number, POINT: np.arange(len(curve["threshold"]))}
    cols["threshold"] = np.asarray(curve["threshold"], dtype=float)
    for m, values in (curve.get("search") or {}).items():
        cols[m] = np.array([np.nan if v is None else v for v in values], dtype=float)
    for m, values in (curve.get("test") or {}).items():
        cols[obj.TEST_ATTR + m] = np.array([np.nan if v is None else v for v in values], dtype=float)
    kinds = curve.get("kinds")  # per point when the curve holds group rules too
    cols[RULE_KIND] = list(kinds) if isinstance(kinds, list) else curve.get("kind", "threshold")
    criteria = curve.get("group_criteria")
    if isinstance(criteria, list):
        cols[RULE_CRITERION] = list(criteria)
    elif isinstance(kinds, list):  # group rules from before equal-recall rules: parity only
        cols[RULE_CRITERION] = [CRITERION_PARITY if k == KIND_GROUP else None for k in kinds]
    return pd.DataFrame(cols)


def points_frame(
    frame: pd.DataFrame, curves: Mapping[int, Mapping[str, Any] | None], limits: Sequence[Objective] = ()
) -> pd.DataFrame:
    """``frame`` (one row per trial) with each complete trial that has a curve replaced by one row
    per operating point; the hard limits are judged again per point (a rule can break one)."""
    has_curve = frame["number"].map(lambda n: curves.get(int(n)) is not None) & (frame["state"] == "COMPLETE")
    single = frame[~has_curve].assign(**{POINT: np.nan, RULE_KIND: "threshold"})
    numbers = [int(n) for n in frame.loc[has_curve, "number"]]
    if not numbers:
        return with_limits(single.reset_index(drop=True), limits)
    # the tuned rule keeps the trial's own stored row: one stored figure per fact, and the front over
    # points then contains the one-point front exactly (not to within the curve's rounding)
    tuned = {n: int(curves[n].get("tuned", -1)) for n in numbers}  # type: ignore[union-attr]
    own = frame[has_curve].assign(**{POINT: frame.loc[has_curve, "number"].map(tuned).astype(float)})
    own = own.assign(**{RULE_KIND: "threshold"})  # a trial's own tuned rule is always one threshold
    long = pd.concat([_curve_rows(n, curves[n]) for n in numbers], ignore_index=True)  # type: ignore[arg-type]
    long = long[long[POINT] != long["number"].map(tuned)]
    base = frame[has_curve].drop(columns=[c for c in long.columns if c != "number" and c in frame.columns])
    expanded = base.merge(long, on="number", how="inner")
    out = pd.concat([single, own, expanded], ignore_index=True).sort_values(["number", POINT], na_position="first")
    return with_limits(out.reset_index(drop=True), limits)


def knee_position(pf: pd.DataFrame, names: Sequence[str]) -> int | None:
    """Row position of the knee of a front over operating points (rows share trial numbers)."""
    pos = front.knee_index(pf.assign(number=np.arange(len(pf))), names)
    return None if pos is None else int(pos)


__all__ = ["POINT", "RULE_CRITERION", "RULE_KIND", "knee_position", "points_frame"]
