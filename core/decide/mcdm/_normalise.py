"""Checked inputs and the shared space of every method: direction-aware min-max normalisation.

A ranking on unchecked input is silently wrong, so every method starts here: one table of finite
numbers, a direction per column, weights that are ≥ 0 and sum to 1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from core.errors import UserInputError

_VALID_DIRECTIONS = ("minimize", "maximize")


def check_points(points: pd.DataFrame, directions: Mapping[str, str]) -> pd.DataFrame:
    """Refuse inputs that would give a silently wrong ranking; return the points as floats."""
    if not isinstance(points, pd.DataFrame):
        raise UserInputError("points must be a table of trials (rows) by objectives (columns).")
    if points.empty or len(points.columns) == 0:
        raise UserInputError(
            "There are no trials to choose from; run the search or relax the hard limits first.",
            field="points",
        )
    if not points.index.is_unique:
        raise UserInputError("Each trial may appear only once in the Pareto set.", field="points")
    for col in points.columns:
        if col not in directions:
            raise UserInputError(
                f"No direction for objective {col!r}; say whether it is minimised or maximised.",
                field="directions",
            )
        if directions[col] not in _VALID_DIRECTIONS:
            raise UserInputError(
                f"Direction of {col!r} is {directions[col]!r}; use 'minimize' or 'maximize'.",
                field="directions",
            )
    try:
        values = points.astype(float)
    except (TypeError, ValueError):
        raise UserInputError("Objective values must be numbers.", field="points") from None
    bad = values.columns[~np.isfinite(values.to_numpy()).all(axis=0)]
    if len(bad):
        raise UserInputError(
            f"Objective {bad[0]!r} has missing or infinite values; drop those trials first.",
            field="points",
        )
    return values


def sign(direction: str) -> float:
    """+1 for minimise, -1 for maximise: multiplying turns every objective into a loss."""
    return 1.0 if direction == "minimize" else -1.0


def normalised_weights(points: pd.DataFrame, weights: Mapping[str, float] | None) -> pd.Series:
    """Validate weights and return them aligned to the columns, summing to 1.

    ``None`` or an empty mapping means equal weights. Each error names the objective at fault.
    """
    cols = list(points.columns)
    if not weights:
        return pd.Series(1.0 / len(cols), index=cols)
    out = pd.Series(0.0, index=cols)
    for name, raw in weights.items():
        if name not in out.index:
            raise UserInputError(
                f"Weight given for {name!r}, which is not an objective here. Objectives: {', '.join(map(str, cols))}.",
                field="weights",
            )
        try:
            w = float(raw)
        except (TypeError, ValueError):
            raise UserInputError(f"Weight for {name!r} must be a number, got {raw!r}.", field="weights") from None
        if not np.isfinite(w):
            raise UserInputError(f"Weight for {name!r} must be a finite number.", field="weights")
        if w < 0:
            raise UserInputError(
                f"Weight for {name!r} is negative ({w:g}); weights must be 0 or more "
                "(to prefer the other direction, change the objective's direction instead).",
                field="weights",
            )
        out[name] = w
    total = float(out.sum())
    if total <= 0:
        raise UserInputError(
            f"All weights are zero ({', '.join(map(str, cols))}); give at least one objective a positive weight.",
            field="weights",
        )
    return out / total


def check_weights(objectives: Sequence[str], weights: Mapping[str, float] | None) -> dict[str, float]:
    """Validate weights over ``objectives`` and return them normalised to sum 1.

    Public so a form (or the room store) can refuse bad weights when they are typed, with the same
    message a ranking would give later: negative, non-numeric, all zero, or an unknown objective.
    """
    frame = pd.DataFrame(columns=list(objectives))
    return {str(k): float(v) for k, v in normalised_weights(frame, weights).items()}


def normalise(points: pd.DataFrame, directions: Mapping[str, str]) -> pd.DataFrame:
    """Map every objective to [0, 1] where 0 = best and 1 = worst within the given set.

    Direction-aware min-max scaling: for a minimised objective ``(x - min) / (max - min)``, for a
    maximised one ``(max - x) / (max - min)``. A column that is constant over the set carries no
    trade-off, so it becomes 0 for everyone (no division by zero, no influence on any ranking).

    Why over the given set and not over the metric's bounds: the room compares *these* trials, and
    "worst of what we have" is what a stakeholder gives up when they move along the front.
    """
    values = check_points(points, directions)
    out = pd.DataFrame(index=values.index, columns=values.columns, dtype=float)
    for col in values.columns:
        loss = values[col] * sign(directions[col])
        lo, hi = float(loss.min()), float(loss.max())
        out[col] = 0.0 if hi - lo <= 0 else (loss - lo) / (hi - lo)
    return out


def to_normalised(points: pd.DataFrame, directions: Mapping[str, str], name: str, value: float) -> float:
    """Convert one value in original units into the normalised space of ``points``."""
    loss = points[name].astype(float) * sign(directions[name])
    lo, hi = float(loss.min()), float(loss.max())
    span = hi - lo if hi - lo > 0 else 1.0
    return (value * sign(directions[name]) - lo) / span
