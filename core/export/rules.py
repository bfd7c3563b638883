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

from core.data import group_labels, grouping_columns
from core.errors import UserInputError
from core.metrics.operating_points import GROUP_CRITERIA, KIND_GROUP, KIND_THRESHOLD, group_decisions

JOIN = " × "  # how the groups of several sensitive columns are intersected (as core.data does)


def group_values(X: pd.DataFrame, columns: Sequence[str], grouping: Mapping[str, Any] | None = None) -> np.ndarray:
    """Each row's group label, as the study labelled its rows.

    With the study's ``grouping`` (:data:`core.data._sensitive.Grouping`): quantile bins, values in the
    study's spelling, intersected, small groups pooled — the same function that made the study's
    labels. Without one (a bundle exported before groupings were recorded): the raw values as text,
    joined by ``×``, exactly as such bundles always decided."""
    if grouping:
        columns = grouping_columns(grouping)
    missing = [c for c in columns if c not in X.columns]
    if missing:
        names = ", ".join(map(repr, missing))
        raise UserInputError(
            f"This bundle decides with a threshold per group of {names}, so the scored table needs "
            f"that column: add {names} to the table (the rule uses it at decision time).",
            field="data",
        )
    if grouping:
        return group_labels(X, grouping)
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


def serving_rows(model: Any, X: pd.DataFrame, groups: Any, raw: pd.DataFrame | None) -> pd.DataFrame:
    """Rows of the study's own data (prepared features ``X``) as ``model`` reads rows at serving
    time: a group rule gets the raw sensitive column(s) ``raw`` beside them, as ``predict`` adds
    them from the scored table, so the rule's own grouping makes the labels and a grouping that
    did not reproduce the study's labels shows as decisions that differ. Only without raw values
    (``raw`` None) are the columns rebuilt from the study's labels (:func:`with_group_columns`)."""
    if not isinstance(model, GroupThresholdClassifier):
        return X
    columns = list(model.columns)
    if raw is None or any(c not in raw.columns for c in columns):
        return with_group_columns(X, groups, columns)
    X = X.reset_index(drop=True)
    # a sensitive column that is also a feature is read as the feature (predict does the same)
    return X.assign(**{c: raw[c].reset_index(drop=True).to_numpy() for c in columns if c not in X.columns})


class GroupThresholdClassifier(ClassifierMixin, BaseEstimator):
    """A fitted pipeline deciding at a threshold per group of ``columns`` (``default`` for groups
    it does not know). Prefit: ``fit`` is never called; ``features`` go to the pipeline.

    ``grouping`` is how the study made its group labels from raw values (plain dicts, lists, str and
    floats, so skops needs no new trusted type); None labels rows by their raw values, as bundles
    made before it was recorded do (their skops state has no ``grouping``: the class default)."""

    grouping: Mapping[str, Any] | None = None  # a bundle saved before the parameter existed reads None

    def __init__(
        self,
        estimator: Any = None,
        columns: Sequence[str] = (),
        thresholds: Mapping[str, float] | None = None,
        default: float = 0.5,
        features: Sequence[str] = (),
        grouping: Mapping[str, Any] | None = None,
    ) -> None:
        self.estimator = estimator
        self.columns = columns
        self.thresholds = thresholds
        self.default = default
        self.features = features
        self.grouping = grouping

    @property
    def classes_(self) -> np.ndarray:
        return self.estimator.classes_

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.estimator.predict_proba(X[list(self.features)] if self.features else X)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        proba = self.predict_proba(X)[:, 1]
        groups = group_values(X, list(self.columns), self.grouping)
        return group_decisions(proba, groups, dict(self.thresholds or {}), float(self.default))


def threshold_rule(threshold: float) -> dict[str, Any]:
    return {"kind": KIND_THRESHOLD, "threshold": float(threshold)}


def group_rule(
    columns: Sequence[str],
    thresholds: Mapping[str, float],
    default: float,
    grouping: Mapping[str, Any] | None = None,
    *,
    criterion: str | None = None,
) -> dict[str, Any]:
    """A bundle's group rule as plain data (``column`` is the sensitive column, or columns joined;
    ``grouping``, when known, how raw values become the labels ``thresholds`` is keyed by;
    ``criterion``, what the thresholds equalise: a key of ``GROUP_CRITERIA``)."""
    rule: dict[str, Any] = {
        "kind": KIND_GROUP,
        "column": JOIN.join(columns),
        "columns": list(columns),
        "thresholds": {str(k): float(v) for k, v in thresholds.items()},
        "default": float(default),
    }
    if criterion:
        rule["criterion"] = str(criterion)
    return rule | ({"grouping": plain_grouping(grouping)} if grouping else {})


def with_grouping(rule: Mapping[str, Any], grouping: Mapping[str, Any] | None) -> dict[str, Any]:
    """``rule`` carrying the study's ``grouping`` when it is a group rule (a threshold rule reads no group)."""
    if rule.get("kind") != KIND_GROUP or not grouping:
        return dict(rule)
    return {**rule, "grouping": plain_grouping(grouping)}


def without_grouping(rule: Mapping[str, Any]) -> dict[str, Any]:
    """``rule`` without its grouping: the part a curve point names (``chosen.find_point`` compares it)."""
    return {k: v for k, v in rule.items() if k != "grouping"}


def plain_grouping(grouping: Mapping[str, Any]) -> dict[str, Any]:
    """``grouping`` as JSON would give it back (lists, str, float), so config.json, the skops state
    and a re-derived grouping compare equal."""
    import json

    return dict(json.loads(json.dumps(grouping)))


def with_rule(pipeline: Any, rule: Mapping[str, Any], features: Sequence[str] = ()) -> Any:
    """The fitted pipeline wrapped with ``rule``: scikit-learn's fixed threshold, or our group rule."""
    if rule.get("kind", KIND_THRESHOLD) == KIND_THRESHOLD:
        return FixedThresholdClassifier(pipeline, threshold=float(rule["threshold"]), response_method="predict_proba")
    columns = list(rule.get("columns") or [rule["column"]])
    grouping = plain_grouping(rule["grouping"]) if rule.get("grouping") else None
    return GroupThresholdClassifier(
        pipeline, columns, dict(rule["thresholds"]), float(rule["default"]), list(features), grouping
    )


def rule_description(rule: Mapping[str, Any]) -> str:
    """The rule in plain words, for the bundle, decision.md and the model card."""
    if rule.get("kind", KIND_THRESHOLD) == KIND_THRESHOLD:
        return f"One threshold for everyone: positive when the score is at least {float(rule['threshold']):.3f}."
    col = rule.get("column") or JOIN.join(rule.get("columns") or [])
    aim = GROUP_CRITERIA.get(str(rule.get("criterion") or ""))
    return (
        f"A threshold per group of {col}{f', chosen for {aim}' if aim else ''} — uses {col} at decision "
        f"time (unlawful in some settings); groups it does not know are decided at {float(rule['default']):.3f}."
        + grouping_words(rule.get("grouping"))
    )


def grouping_words(grouping: Mapping[str, Any] | None) -> str:
    """How the rule labels a row's group, in words (empty without a recorded grouping): a numeric
    column cut into the study's quantile bins, small groups pooled into one; a reader applying the
    thresholds by hand must label rows the same way."""
    if not grouping:
        return ""
    parts = []
    for c in grouping.get("columns") or []:
        bins = c.get("bins")
        if bins:
            edges = ", ".join(f"{float(b):g}" for b in bins[1:-1])
            parts.append(f"{c['column']} is cut into the study's {len(bins) - 1} quantile bins (edges {edges})")
    pooled = sorted(set((grouping.get("pooled") or {}).values()))
    if pooled:
        n = len(grouping["pooled"])
        parts.append(f"{n} small group{'s' if n != 1 else ''} pooled into {', '.join(repr(p) for p in pooled)}")
    return f" Groups as the study made them: {'; '.join(parts)}." if parts else ""


#: the type skops must be told to trust for a group-rule bundle (see core.export.safety)
TRUSTED_TYPE = f"{GroupThresholdClassifier.__module__}.{GroupThresholdClassifier.__qualname__}"

__all__ = [
    "KIND_GROUP",
    "KIND_THRESHOLD",
    "TRUSTED_TYPE",
    "GroupThresholdClassifier",
    "group_rule",
    "group_values",
    "grouping_words",
    "rule_description",
    "serving_rows",
    "plain_grouping",
    "threshold_rule",
    "with_group_columns",
    "with_grouping",
    "with_rule",
    "without_grouping",
]
