"""The decision rule of a binary model: positive when the probability reaches the threshold.

Why one function: the rule is applied when tuning, scoring, comparing and explaining; one copy that
wrote ``>`` instead of ``>=`` would make a figure disagree with the model it describes.
"""

from __future__ import annotations

import numpy as np


def decide(proba, threshold: float | np.ndarray) -> np.ndarray:
    """0/1 decisions: 1 where ``proba >= threshold`` (scikit-learn's ``FixedThresholdClassifier`` rule);
    thresholds as a column against scores as a row give one decision row per threshold."""
    return (np.asarray(proba, dtype=float) >= threshold).astype(int)


def cut_points(proba, n: int) -> np.ndarray:
    """Candidate thresholds: ``n`` quantiles of the scores (plus 0.5), each moved to the midpoint of the
    two distinct observed scores around it, so every cut selects some rows and leaves some out.

    Empty for a constant score (no cut separates anything). Tuning the threshold and drawing a
    model's curve of operating points use the same candidates, so the tuned rule is on the curve.
    """
    return cuts_at(proba, np.linspace(0.005, 0.995, n))


def cuts_at(proba, quantiles) -> np.ndarray:
    """The cuts at these quantiles of the scores (plus 0.5), each at the midpoint of the two distinct
    observed scores around it (see :func:`cut_points`)."""
    proba = np.asarray(proba, dtype=float)
    uniq = np.unique(proba)
    if len(uniq) < 2:
        return np.empty(0)
    raw = np.concatenate([np.quantile(proba, np.asarray(quantiles, dtype=float)), [0.5]])
    hi = np.clip(np.searchsorted(uniq, raw, side="right"), 1, len(uniq) - 1)
    return np.unique((uniq[hi - 1] + uniq[hi]) / 2)
