"""Quality kernels equal scikit-learn's, with and without sample weights; the decision rule is ``>=``."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    f1_score,
    log_loss,
    roc_auc_score,
)

from core.metrics import QUALITY_METRICS, decide, quality, quality_arrays

SKLEARN = {
    "roc_auc": lambda y, p, d, w: roc_auc_score(y, p, sample_weight=w),
    "pr_auc": lambda y, p, d, w: average_precision_score(y, p, sample_weight=w),
    "accuracy": lambda y, p, d, w: accuracy_score(y, d, sample_weight=w),
    "balanced_accuracy": lambda y, p, d, w: balanced_accuracy_score(y, d, sample_weight=w),
    "f1": lambda y, p, d, w: f1_score(y, d, sample_weight=w, zero_division=0),
    "log_loss": lambda y, p, d, w: log_loss(y, p, sample_weight=w, labels=[0, 1]),
}


def _data(n: int = 400, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p = np.round(np.clip(0.3 * y + 0.7 * rng.random(n), 0, 1), 2)  # rounded: many ties
    return y, p, decide(p, 0.5)


def test_decide_is_proba_at_or_above_the_threshold():
    assert decide([0.2, 0.5, 0.7], 0.5).tolist() == [0, 1, 1]
    assert decide(np.array([0.5]), 0.51).tolist() == [0]


@pytest.mark.parametrize("seed", [0, 1])
def test_unweighted_equals_sklearn(seed):
    y, p, d = _data(seed=seed)
    q = quality(y, p, d)
    assert set(q) == set(QUALITY_METRICS)
    for m in QUALITY_METRICS:
        assert q[m] == pytest.approx(SKLEARN[m](y, p, d, None), abs=1e-12), m


def test_unit_weights_are_unweighted_and_integer_weights_repeat_rows():
    y, p, d = _data(n=300, seed=2)
    assert quality(y, p, d, sample_weight=np.ones(len(y))) == pytest.approx(quality(y, p, d), abs=1e-12)
    w = np.random.default_rng(5).integers(0, 4, len(y))
    rows = np.repeat(np.arange(len(y)), w)
    weighted = quality(y, p, d, sample_weight=w)
    repeated = quality(y[rows], p[rows], d[rows])
    for m in QUALITY_METRICS:
        assert weighted[m] == pytest.approx(repeated[m], abs=1e-12), m
        assert weighted[m] == pytest.approx(SKLEARN[m](y, p, d, w), abs=1e-9), m


def test_rows_of_weights_are_scored_at_once():
    y, p, d = _data(n=200, seed=3)
    W = np.random.default_rng(1).integers(0, 3, (4, len(y))).astype(float)
    arrays = quality_arrays(W, y, p, d)
    for i, w in enumerate(W):
        for m in QUALITY_METRICS:
            assert arrays[m][i] == pytest.approx(quality(y, p, d, sample_weight=w)[m], abs=1e-12), m


def test_one_class_present_averages_the_present_class_like_sklearn():
    y = np.array([1, 1, 1, 1])
    d = np.array([1, 0, 1, 1])
    p = np.array([0.9, 0.2, 0.8, 0.7])
    q = quality(y, p, d)
    assert q["balanced_accuracy"] == pytest.approx(0.75)
    assert np.isnan(q["roc_auc"])  # undefined without negatives (scikit-learn raises)
