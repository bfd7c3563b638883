"""Row weights as a matrix, and division that names its empty case: the shape every kernel shares.

Why a matrix: the paired bootstrap scores a model on a thousand resamples at once, each one a row of
draw counts (m × n); a plain evaluation is the same call with one row of ones, so the search and
Compare compute every metric with the same code.
"""

from __future__ import annotations

import numpy as np


def weight_matrix(n: int, sample_weight=None) -> np.ndarray:
    """``sample_weight`` as an (m × n) float matrix: None is one row of ones, a vector is one row."""
    if sample_weight is None:
        return np.ones((1, n))
    w = np.asarray(sample_weight, dtype=float)
    if w.ndim == 1:
        w = w[None, :]
    if w.ndim != 2 or w.shape[1] != n:
        raise ValueError(f"sample_weight must have {n} columns (one per row), got shape {w.shape}.")
    return w


def safe_div(num, den, empty: float = 0.0) -> np.ndarray:
    """num / den element-wise, ``empty`` where den is 0 (scikit-learn's ``zero_division``)."""
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    out = np.full(np.broadcast(num, den).shape, empty, dtype=float)
    np.divide(num, den, out=out, where=den != 0)
    return out


def row_dot(W: np.ndarray, a: np.ndarray) -> np.ndarray:
    """One weighted sum per row: ``W @ a`` for one vector ``a`` (n), the row-wise product
    for one ``a`` row per weight row (m × n, or one weight row for all), as for a threshold curve."""
    a = np.asarray(a, dtype=float)
    return W @ a if a.ndim == 1 else (W * a).sum(axis=1)
