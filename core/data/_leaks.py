"""Features that alone (almost) determine the target: usually recorded after the outcome.

Why drop them by default: a leak makes every candidate look perfect in the search and useless in
production; the user can keep them (``keep_suspected_leaks``) when they know better.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from core.spec import DataRef


def suspected_leaks(X: pd.DataFrame, y: np.ndarray, numeric: list[str], categorical: list[str]) -> dict[str, str]:
    """Columns that alone (almost) determine the target, with the evidence.

    A numeric column whose single-feature ROC AUC is ≥ 0.995 (or ≤ 0.005), or a categorical one
    whose every category is ≥ 99.5 % one class, is far more likely a leak than a signal.
    """
    leaks = {}
    for col in numeric:
        v = X[col]
        if v.isna().mean() > 0.5:
            continue
        auc = roc_auc_score(y, v.fillna(v.median()))
        if auc >= 0.995 or auc <= 0.005:
            leaks[col] = f"alone it separates the classes (ROC AUC {max(auc, 1 - auc):.3f})"
    for col in categorical:
        c = X[col].fillna("__missing__")
        if c.nunique() > len(c) / 10:
            continue
        rates = pd.Series(y).groupby(c.to_numpy()).mean()
        sizes = c.value_counts()
        purity = sum(sizes[k] * max(r, 1 - r) for k, r in rates.items()) / len(c)
        if purity >= 0.995:
            leaks[col] = f"each of its values maps to one class ({purity:.1%} of rows)"
    return leaks


def drop_suspected_leaks(
    X: pd.DataFrame,
    y: np.ndarray,
    features: tuple[list[str], list[str]],
    ref: DataRef,
    dropped: dict[str, str],
    notes: list[str],
) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Drop each suspected leak into ``dropped``, or keep it with a note when the spec says so."""
    numeric, categorical = features
    for col, why in suspected_leaks(X, y, numeric, categorical).items():
        if ref.keep_suspected_leaks:
            notes.append(
                f"Column {col!r} looks like it leaks the target ({why}); kept because keep_suspected_leaks is on."
            )
        else:
            dropped[col] = f"suspected target leak: {why} (set keep_suspected_leaks to keep it)"
            X = X.drop(columns=col)
            numeric = [c for c in numeric if c != col]
            categorical = [c for c in categorical if c != col]
    return X, numeric, categorical
