"""Quality of one prediction set: ROC AUC, average precision, accuracy, balanced accuracy, F1, log loss.

Why our own kernels rather than scikit-learn's functions: the paired bootstrap scores a thousand
resamples at once, each a row of draw counts used as ``sample_weight``; these kernels do that in one
matrix product, where scikit-learn would be called a thousand times per metric. A plain evaluation
is the same call with one row of ones. Tests assert every value equals scikit-learn's with the same
weights (ties grouped as scikit-learn groups them, ``zero_division=0`` for F1).
"""

from __future__ import annotations

import numpy as np

from core.metrics._weights import row_dot, safe_div, weight_matrix

QUALITY_METRICS = ("roc_auc", "pr_auc", "accuracy", "balanced_accuracy", "f1", "log_loss")
EPS = 1e-15  # probabilities are clipped to [EPS, 1 − EPS] so log loss stays finite


def ranking_metrics(W: np.ndarray, y: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted ROC AUC and average precision for every row of weights ``W`` (m × n).

    Ties in the score are grouped, exactly as scikit-learn does with ``sample_weight``: a tied
    positive/negative pair counts one half in the AUC, and average precision steps once per
    distinct score. NaN where a row has no positive (or, for the AUC, no negative) weight.
    """
    score = np.asarray(score, dtype=float)
    order = np.argsort(score, kind="mergesort")
    s, yo = score[order], np.asarray(y)[order].astype(float)
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    Wo = W[:, order]
    pos = np.add.reduceat(Wo * yo, starts, axis=1)  # (m, distinct scores), ascending score
    neg = np.add.reduceat(Wo * (1.0 - yo), starts, axis=1)
    P, N = pos.sum(axis=1), neg.sum(axis=1)
    below = np.cumsum(neg, axis=1) - neg
    auc = safe_div((pos * (below + 0.5 * neg)).sum(axis=1), P * N, np.nan)
    # average precision: thresholds from the highest score down
    pos_d, neg_d = pos[:, ::-1], neg[:, ::-1]
    tps, fps = np.cumsum(pos_d, axis=1), np.cumsum(neg_d, axis=1)
    ap = safe_div((pos_d * safe_div(tps, tps + fps)).sum(axis=1), P, np.nan)
    return auc, ap


def confusion(W: np.ndarray, y: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, ...]:
    """Weighted (tp, fp, fn, tn), one value per row of ``W``; ``pred`` is one decision vector (n) or
    one per row (T × n: a threshold curve, with T weight rows or one shared weight row)."""
    yb, pb = np.asarray(y).astype(float), np.asarray(pred).astype(float)
    if pb.ndim == 2:  # one decision row per weight row: the selected weight, then what is left
        sel = W * pb
        tp, fp = sel @ yb, sel @ (1 - yb)
        return tp, fp, W @ yb - tp, W @ (1 - yb) - fp
    return (
        row_dot(W, yb * pb),
        row_dot(W, (1 - yb) * pb),
        row_dot(W, yb * (1 - pb)),
        row_dot(W, (1 - yb) * (1 - pb)),
    )


def _balanced_accuracy(tp, fp, fn, tn) -> np.ndarray:
    """Mean recall over the classes present (as scikit-learn, which drops a class with no weight)."""
    P, N = tp + fn, tn + fp
    present = (P > 0).astype(float) + (N > 0).astype(float)
    return safe_div(safe_div(tp, P) + safe_div(tn, N), present, np.nan)


def decision_quality(W: np.ndarray, y, pred) -> dict[str, np.ndarray]:
    """The quality metrics that depend on the decisions only (accuracy, balanced accuracy, F1), for
    each row of weights ``W`` (m × n); ``pred`` is one decision vector or one row per weight row."""
    tp, fp, fn, tn = confusion(W, np.asarray(y).astype(int), pred)
    return {
        "accuracy": safe_div(tp + tn, W.sum(axis=1), np.nan),
        "balanced_accuracy": _balanced_accuracy(tp, fp, fn, tn),
        "f1": safe_div(2 * tp, 2 * tp + fp + fn),
    }


def quality_arrays(W: np.ndarray, y, proba, pred) -> dict[str, np.ndarray]:
    """Every quality metric for each row of weights ``W`` (m × n): scores ``proba``, decisions ``pred``
    (one vector, or one row per weight row)."""
    y = np.asarray(y).astype(int)
    proba = np.asarray(proba, dtype=float)
    total = W.sum(axis=1)
    auc, ap = ranking_metrics(W, y, proba)
    p = np.clip(proba, EPS, 1 - EPS)
    ll = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    return {
        "roc_auc": auc,
        "pr_auc": ap,
        **decision_quality(W, y, pred),
        "log_loss": safe_div(W @ ll, total, np.nan),
    }


def quality(y, proba, pred, *, sample_weight=None) -> dict[str, float]:
    """Threshold-free (AUCs, log loss) and threshold-based (accuracy, F1…) quality of one prediction set."""
    W = weight_matrix(len(np.asarray(y)), sample_weight)
    return {k: float(v[0]) for k, v in quality_arrays(W[:1], y, proba, pred).items()}
