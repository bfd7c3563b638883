"""The decision rule of a binary model: positive when the probability reaches the threshold.

Why one function: the rule is applied when tuning, scoring, comparing and explaining; one copy that
wrote ``>`` instead of ``>=`` would make a figure disagree with the model it describes.
"""

from __future__ import annotations

import numpy as np


def decide(proba, threshold: float) -> np.ndarray:
    """0/1 decisions: 1 where ``proba >= threshold`` (scikit-learn's ``FixedThresholdClassifier`` rule)."""
    return (np.asarray(proba, dtype=float) >= threshold).astype(int)
