"""Fairness numbers through fairlearn, so they equal what an auditor computes with the same library.

Two degenerate cases are defined here rather than left as NaN (a NaN objective would fail the trial):
- a group with no positive rows has no recall; it is left out of worst-group recall (and shows as
  empty in the group table) instead of counting as recall 0, which would blame the model for a
  group it could not get right or wrong;
- when no group is selected at all, demographic parity holds trivially: the ratio is 1 (fairlearn
  divides 0 by 0), matching the difference of 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from fairlearn.metrics import (MetricFrame, demographic_parity_difference, demographic_parity_ratio,
                               equalized_odds_difference, selection_rate)
from sklearn.metrics import accuracy_score, precision_score, recall_score


def _recall(y, p):
    return recall_score(y, p, zero_division=np.nan)


def _precision(y, p):
    return precision_score(y, p, zero_division=np.nan)


def group_frame(y_true, y_pred, groups) -> MetricFrame:
    """Per-group metrics at the decision threshold (predictions are 0/1)."""
    return MetricFrame(
        metrics={"selection_rate": selection_rate, "recall": _recall, "precision": _precision,
                 "accuracy": accuracy_score},
        y_true=np.asarray(y_true), y_pred=np.asarray(y_pred), sensitive_features=np.asarray(groups))


def fairness_metrics(y_true, y_pred, groups) -> dict[str, float]:
    """The gap metrics the catalogue offers; with a single group every gap is 0 by definition."""
    y_true, y_pred, groups = np.asarray(y_true), np.asarray(y_pred), np.asarray(groups)
    frame = group_frame(y_true, y_pred, groups)
    by = frame.by_group
    out = {
        "dp_diff": float(demographic_parity_difference(y_true, y_pred, sensitive_features=groups)),
        "dp_ratio": float(demographic_parity_ratio(y_true, y_pred, sensitive_features=groups)),
        "eo_diff": float(equalized_odds_difference(y_true, y_pred, sensitive_features=groups)),
        "worst_group_recall": float(by["recall"].min()),
        "worst_group_accuracy": float(by["accuracy"].min()),
    }
    if np.isnan(out["dp_ratio"]) and float(by["selection_rate"].max()) == 0.0:
        out["dp_ratio"] = 1.0
    if np.isnan(out["worst_group_recall"]):  # no group has a positive row
        out["worst_group_recall"] = 0.0
    return {k: (0.0 if np.isnan(v) and k.endswith("diff") else v) for k, v in out.items()}


def group_table(y_true, y_pred, groups) -> pd.DataFrame:
    """One row per group: size, base rate and the per-group metrics, for tables and bar charts."""
    y_true, groups = np.asarray(y_true), np.asarray(groups)
    by = group_frame(y_true, y_pred, groups).by_group.reset_index()
    by.columns = ["group", *by.columns[1:]]
    stats = pd.DataFrame({"group": groups, "y": y_true}).groupby("group")["y"].agg(n="size", base_rate="mean")
    return stats.reset_index().merge(by, on="group")
