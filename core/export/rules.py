"""The decision rule a bundle carries, as data and as an estimator: one threshold for everyone, or
a threshold per group of the sensitive column.

Why an estimator of our own for group rules: the rule must live inside ``model.skops`` so whoever
scores with the bundle applies exactly the rule the room chose, and it must be deterministic (no
randomised thresholds) so ``reproduce`` can recompute every decision bit for bit. It applies the
same kernel (:func:`core.metrics.operating_points.group_decisions`) the curve was scored with.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import FixedThresholdClassifier

from core.errors import UserInputError
from core.metrics.operating_points import KIND_GROUP, KIND_THRESHOLD, group_decisions

JOIN = " × "  # how the groups of several sensitive columns are intersected (as core.data does)


def group_values(X: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """Each row's group: the sensitive column's value, or the columns' values joined by ``×``."""
    missing = [c for c in columns if c not in X.columns]
    if missing:
        names = ", ".join(map(repr, missing))
        raise UserInputError(
            f"This bundle decides with a threshold per group of {names}, so the scored table needs "
            f"that column: add {names} to the table (the rule uses it at decision time).",
            field="data",
        )
    parts = [X[c].astype(object).where(X[c].notna(), "missing").astype(str).str.strip() for c in columns]
    return np.array([JOIN.join(t) for t in zip(*parts, strict=True)], dtype=object)


def with_group_columns(X: pd.DataFrame, groups: Any, columns: Sequence[str]) -> pd.DataFrame:
    """``X`` with the sensitive ``columns`` rebuilt from the study's group labels (``a × b`` split back
    into its columns), so a group rule can decide rows of the study's own data, whose prepared
    features no longer hold the sensitive columns (export's group table, ``reproduce``)."""
    labels = [str(g) for g in np.asarray(groups, dtype=object)]
    parts = [g.split(JOIN) if len(columns) > 1 else [g] for g in labels]
    if any(len(p) != len(columns) for p in parts):  # a pooled label names no single value of each column
        parts = [p if len(p) == len(columns) else [JOIN.join(p)] * len(columns) for p in parts]
    return X.reset_index(drop=True).assign(**{c: [p[i] for p in parts] for i, c in enumerate(columns)})


class GroupThresholdClassifier(ClassifierMixin, BaseEstimator):
    """A fitted pipeline deciding at a threshold per group of ``columns`` (``default`` for groups
    it does not know). Prefit: ``fit`` is never called; ``features`` go to the pipeline."""

    def __init__(
        self,
        estimator: Any = None,
        columns: Sequence[str] = (),
        thresholds: Mapping[str, float] | None = None,
        default: float = 0.5,
        features: Sequence[str] = (),
    ) -> None:
        self.estimator = estimator
        self.columns = columns
        self.thresholds = thresholds
        self.default = default
        self.features = features

    @property
    def classes_(self) -> np.ndarray:
        return self.estimator.classes_

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.estimator.predict_proba(X[list(self.features)] if self.features else X)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        proba = self.predict_proba(X)[:, 1]
        groups = group_values(X, list(self.columns))
        return group_decisions(proba, groups, dict(self.thresholds or {}), float(self.default))


def threshold_rule(threshold: float) -> dict[str, Any]:
    return {"kind": KIND_THRESHOLD, "threshold": float(threshold)}


def group_rule(columns: Sequence[str], thresholds: Mapping[str, float], default: float) -> dict[str, Any]:
    """A bundle's group rule as plain data (``column`` is the sensitive column, or columns joined)."""
    return {
        "kind": KIND_GROUP,
        "column": JOIN.join(columns),
        "columns": list(columns),
        "thresholds": {str(k): float(v) for k, v in thresholds.items()},
        "default": float(default),
    }


def with_rule(pipeline: Any, rule: Mapping[str, Any], features: Sequence[str] = ()) -> Any:
    """The fitted pipeline wrapped with ``rule``: scikit-learn's fixed threshold, or our group rule."""
    if rule.get("kind", KIND_THRESHOLD) == KIND_THRESHOLD:
        return FixedThresholdClassifier(pipeline, threshold=float(rule["threshold"]), response_method="predict_proba")
    columns = list(rule.get("columns") or [rule["column"]])
    return GroupThresholdClassifier(pipeline, columns, dict(rule["thresholds"]), float(rule["default"]), list(features))


def rule_description(rule: Mapping[str, Any]) -> str:
    """The rule in plain words, for the bundle, decision.md and the model card."""
    if rule.get("kind", KIND_THRESHOLD) == KIND_THRESHOLD:
        return f"One threshold for everyone: positive when the score is at least {float(rule['threshold']):.3f}."
    col = rule.get("column") or JOIN.join(rule.get("columns") or [])
    return (
        f"A threshold per group of {col} — uses {col} at decision time (unlawful in some settings); "
        f"groups it does not know are decided at {float(rule['default']):.3f}."
    )


#: the type skops must be told to trust for a group-rule bundle (see core.export.safety)
TRUSTED_TYPE = f"{GroupThresholdClassifier.__module__}.{GroupThresholdClassifier.__qualname__}"

__all__ = [
    "KIND_GROUP",
    "KIND_THRESHOLD",
    "TRUSTED_TYPE",
    "GroupThresholdClassifier",
    "group_rule",
    "group_values",
    "rule_description",
    "threshold_rule",
    "with_group_columns",
    "with_rule",
]
