"""Fairness numbers equal to fairlearn's, from per-group confusion counts that take resample weights.

Why counts rather than fairlearn's ``MetricFrame`` at run time: the paired bootstrap needs every
group metric for a thousand resamples at once, which per-group counts give in one matrix product
(a ``MetricFrame`` per resample took seconds); a plain evaluation is the same call with one row of
ones. Tests assert the values equal fairlearn's ``MetricFrame``, ``.difference()``, ``.ratio()`` and
``.group_min()`` on the same predictions.

Two degenerate cases are defined here rather than left as NaN (a NaN objective would fail the trial):
- a group with no positive rows has no recall; it is left out of worst-group recall (and shows as
  empty in the group table) instead of counting as recall 0, which would blame the model for a
  group it could not get right or wrong; equalized odds uses fairlearn's TPR, 0 for such a group;
- when no group is selected at all, demographic parity holds trivially: the ratio is 1 (fairlearn
  divides 0 by 0), matching the difference of 0.
A group with no rows in a resample has no metrics there (NaN) and is skipped by the gaps.

Every per-group rate is shown with its group size and a Wilson interval (:func:`rate_interval`):
a rate on 11 rows and one on 11,000 read alike otherwise, and the room would argue about noise.
Wilson rather than the normal approximation because it stays inside [0, 1] and is honest at 0 of n.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from core.metrics._weights import safe_div, weight_matrix

GROUP_METRICS = ("selection_rate", "recall", "precision", "accuracy")
#: Each group rate and the rows it is a share of (recall: the group's positives; precision: its selected).
RATE_BASES = {
    "base_rate": "n",
    "selection_rate": "n",
    "recall": "positives",
    "precision": "selected",
    "accuracy": "n",
}
GAP_METRICS = ("dp_diff", "dp_ratio", "eo_diff", "worst_group_recall", "worst_group_accuracy")


def _arrays(y_true, y_pred, groups) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (np.asarray(y_true).astype(int), np.asarray(y_pred).astype(int), np.asarray(groups).astype(str))


def group_counts(W: np.ndarray, y, pred, groups) -> tuple[list[str], dict[str, np.ndarray]]:
    """Group labels (sorted) and per-group weighted confusion counts (m × k each), one row per resample;
    ``pred`` is one decision vector (n) or one per weight row (m × n)."""
    y, pred, groups = _arrays(y, pred, groups)
    labels, inv = np.unique(groups, return_inverse=True)
    G = np.zeros((len(inv), len(labels)))
    G[np.arange(len(inv)), inv] = 1.0
    yb = y.astype(float)[:, None]
    if pred.ndim == 2:  # one decision row per weight row (a threshold curve): fold the decision into W
        sel = W * pred
        tp, fp = sel @ (G * yb), sel @ (G * (1 - yb))
        return [str(g) for g in labels], {"tp": tp, "fp": fp, "fn": W @ (G * yb) - tp, "tn": W @ (G * (1 - yb)) - fp}
    pb = pred.astype(float)[:, None]
    return [str(g) for g in labels], {
        "tp": W @ (G * yb * pb),
        "fp": W @ (G * (1 - yb) * pb),
        "fn": W @ (G * yb * (1 - pb)),
        "tn": W @ (G * (1 - yb) * (1 - pb)),
    }


def group_rates(c: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per-group metrics from confusion counts; see the module docstring for the empty cases."""
    n = c["tp"] + c["fp"] + c["fn"] + c["tn"]
    pos, neg, sel = c["tp"] + c["fn"], c["fp"] + c["tn"], c["tp"] + c["fp"]
    nan_if_empty = np.where(n > 0, 1.0, np.nan)
    return {
        "selection_rate": safe_div(sel, n, np.nan),
        "recall": safe_div(c["tp"], pos, np.nan),
        "precision": safe_div(c["tp"], sel, np.nan),
        "accuracy": safe_div(c["tp"] + c["tn"], n, np.nan),
        "tpr": safe_div(c["tp"], pos) * nan_if_empty,  # fairlearn's: 0 for a group without positives
        "fpr": safe_div(c["fp"], neg) * nan_if_empty,
    }


def _nanrange(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ok = np.isfinite(a).any(axis=1)
    lo, hi = np.full(len(a), np.nan), np.full(len(a), np.nan)
    lo[ok], hi[ok] = np.nanmin(a[ok], axis=1), np.nanmax(a[ok], axis=1)
    return lo, hi


def gap_metrics(rates: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Between-groups aggregates (fairlearn's max − min, min / max, group minimum), one per resample."""
    sel_lo, sel_hi = _nanrange(rates["selection_rate"])
    tpr_lo, tpr_hi = _nanrange(rates["tpr"])
    fpr_lo, fpr_hi = _nanrange(rates["fpr"])
    rec_lo, _ = _nanrange(rates["recall"])
    acc_lo, _ = _nanrange(rates["accuracy"])
    nobody = sel_hi == 0  # nobody selected: parity
    return {
        "dp_diff": sel_hi - sel_lo,
        "dp_ratio": np.where(nobody, 1.0, safe_div(sel_lo, sel_hi, np.nan)),
        "eo_diff": np.fmax(tpr_hi - tpr_lo, fpr_hi - fpr_lo),
        # no group with a positive row: no recall to be worst at
        "worst_group_recall": np.where(np.isnan(rec_lo) & np.isfinite(acc_lo), 0.0, rec_lo),
        "worst_group_accuracy": acc_lo,
    }


def fairness_arrays(W: np.ndarray, y, pred, groups) -> dict[str, np.ndarray]:
    """The gap metrics for each row of weights ``W`` (m × n)."""
    _, counts = group_counts(W, y, pred, groups)
    return gap_metrics(group_rates(counts))


def fairness_metrics(y_true, y_pred, groups, *, sample_weight=None) -> dict[str, float]:
    """The gap metrics the catalogue offers; with a single group every gap is 0 by definition."""
    W = weight_matrix(len(np.asarray(y_true)), sample_weight)[:1]
    return {k: float(v[0]) for k, v in fairness_arrays(W, y_true, y_pred, groups).items()}


def _table(y_true, groups, labels: list[str], rates: dict[str, np.ndarray]) -> pd.DataFrame:
    stats = pd.DataFrame({"group": groups, "y": y_true}).groupby("group")["y"].agg(n="size", base_rate="mean")
    by = pd.DataFrame({m: rates[m][0] for m in GROUP_METRICS}, index=pd.Index(labels, name="group"))
    return stats.join(by).reset_index()


def fairness_report(y_true, y_pred, groups) -> tuple[dict[str, float], pd.DataFrame]:
    """:func:`fairness_metrics` and :func:`group_table` from one set of counts (one pass)."""
    y_true, y_pred, groups = _arrays(y_true, y_pred, groups)
    labels, counts = group_counts(np.ones((1, len(y_true))), y_true, y_pred, groups)
    rates = group_rates(counts)
    gaps = {k: float(v[0]) for k, v in gap_metrics(rates).items()}
    return gaps, _table(y_true, groups, labels, rates)


def rate_interval(successes, n, *, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of ``successes`` of ``n`` (arrays or scalars); NaN where ``n`` is 0."""
    k, m = np.asarray(successes, dtype=float), np.asarray(n, dtype=float)
    z = float(norm.ppf(0.5 + confidence / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / m
        denom = 1 + z**2 / m
        centre = (p + z**2 / (2 * m)) / denom
        half = z * np.sqrt(p * (1 - p) / m + z**2 / (4 * m**2)) / denom
    empty = m <= 0
    low, high = (
        np.where(empty, np.nan, np.clip(centre - half, 0, 1)),
        np.where(empty, np.nan, np.clip(centre + half, 0, 1)),
    )
    return low, high


def small_group_note(n: float, min_rows: int | None) -> str:
    """The flag shown beside a group's numbers when it has fewer rows than the spec's minimum."""
    if min_rows is None or not np.isfinite(n) or n >= min_rows:
        return ""
    return f"only {int(n):,} rows: too few to judge"


def rate_text(value, low=None, high=None) -> str:
    """A group rate as every table prints it: ``0.636 (0.354–0.848)``; '–' when there is no rate."""
    if value is None or value != value:
        return "–"
    if low is None or high is None or low != low or high != high:
        return f"{value:.3f}"
    return f"{value:.3f} ({low:.3f}–{high:.3f})"


def with_intervals(table: pd.DataFrame, *, min_rows: int | None = None) -> pd.DataFrame:
    """A group table (group, n, base_rate and rates) with ``<rate>_low``/``<rate>_high`` Wilson
    intervals and a ``note`` flagging groups under ``min_rows`` (``spec.data.min_group_rows``).

    Works from the stored columns alone, so trials stored before intervals existed show them too.
    """
    out = table.copy()
    if out.empty or "n" not in out:
        return out
    n = out["n"].astype(float).to_numpy()
    bases = {"n": n}
    if "base_rate" in out:
        bases["positives"] = np.round(n * out["base_rate"].astype(float).to_numpy())
    if "selection_rate" in out:
        bases["selected"] = np.round(n * out["selection_rate"].astype(float).to_numpy())
    for rate, base in RATE_BASES.items():
        if rate not in out or base not in bases:
            continue
        values = out[rate].astype(float).to_numpy()
        out[f"{rate}_low"], out[f"{rate}_high"] = rate_interval(np.round(values * bases[base]), bases[base])
    out["note"] = [small_group_note(v, min_rows) for v in n]
    return out


def group_table(y_true, y_pred, groups, *, min_rows: int | None = None) -> pd.DataFrame:
    """One row per group: size, base rate and the per-group metrics with their Wilson intervals and
    the small-group flag (see :func:`with_intervals`), for tables and bar charts."""
    return with_intervals(fairness_report(y_true, y_pred, groups)[1], min_rows=min_rows)
