"""Value: what a model's decisions are worth per 1,000 requests, net of latency and compute.

Decisions are priced with a value matrix (TP/FP/FN/TN) or, when the table has one, a per-row value
column that replaces the TP value (in the ad marketplace: the advertiser's fee on conversion).
The threshold is tuned on validation (out-of-fold) predictions to maximise that value; the held-out
test part is only scored with it.

Where every default comes from (each one the team can change in the spec's ``value_model``):

- Without a value column: the ±1 matrix, a correct "yes" +1, a wrong "yes" −1, a "no" 0. A
  symmetric utility (threshold ≈ 0.5) that ranks decisions without claiming a price, so its
  figures are "utility units", not € (``ValueModel.money`` is off), until the team sets a matrix.
- With a value column: a true positive earns its row's value (money), and a false positive costs
  the slot's opportunity cost, what an average shown item earns there (base rate × mean value).
- Latency penalty (``ValueModel.latency_penalty``; on by default only with a value column, since
  it prices lost conversions): 0.2 % of conversions per +100 ms, the low end of Google's 0.2–0.6 %
  fewer searches for 100–400 ms of added latency (Brutlag, "Speed Matters for Google Web Search",
  2009) and of Booking.com's ~0.5 % less conversion for +30 % latency (Bernardi et al., "150
  Successful Machine Learning Models: 6 Lessons Learned at Booking.com", KDD 2019). The model's mean
  single-row latency is treated as added to the request path; the penalty removes that share of
  the true-positive revenue.
- Infra cost: one prediction costs its single-thread CPU time, mean latency × price per vCPU-hour
  (default €0.05, the order of an on-demand cloud vCPU). It is subtracted from utility units too,
  where it is negligible (about 0.0001 per 1,000 requests at 4 ms).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from core.metrics._weights import row_dot, safe_div, weight_matrix
from core.metrics.decision import cut_points
from core.objectives import MetricDef
from core.spec import ValueModel


def row_values(
    y_true: np.ndarray, y_pred: np.ndarray, vm: ValueModel, tp_values: np.ndarray | None = None
) -> np.ndarray:
    """Realised value of each decision."""
    y_true, y_pred = np.asarray(y_true).astype(bool), np.asarray(y_pred).astype(bool)
    tp = vm.value_tp if tp_values is None else np.asarray(tp_values, dtype=float)
    return np.where(y_pred, np.where(y_true, tp, vm.value_fp), np.where(y_true, vm.value_fn, vm.value_tn))


def tune_threshold(
    y_true: np.ndarray,
    proba: np.ndarray,
    vm: ValueModel,
    tp_values: np.ndarray | None = None,
    *,
    n_candidates: int = 199,
) -> float:
    """The probability cut-off that maximises total value on validation predictions.

    Candidates are quantiles of the predicted probabilities (plus 0.5), each moved to the midpoint
    between the two distinct observed scores around it, so the search is cheap and the cut always
    lies strictly between two observed scores: some rows are selected and some are not. Ties go to
    the threshold closest to 0.5.

    Why never "everyone" (or "no one"): trees and k-NN give many rows exactly 0; a cut at 0 selects
    every row, which on the demo was the value-optimal *decision* for 17 % of trials (showing every
    ad earns more than the slots it wastes). Such a model decides nothing, yet scored a perfect
    demographic parity difference of 0 and crowded the fair end of the Pareto front. A model is
    judged by the best decision it can actually make.
    """
    proba = np.asarray(proba, dtype=float)
    cands = cut_points(proba, n_candidates)
    if len(cands) == 0:  # a constant model: no cut separates anything
        return 0.5
    y = np.asarray(y_true).astype(bool)
    tp = np.full(len(y), vm.value_tp) if tp_values is None else np.asarray(tp_values, dtype=float)
    # value if predicted positive vs negative, per row; total(t) = sum over rows of the chosen branch
    pos_val = np.where(y, tp, vm.value_fp)
    neg_val = np.where(y, vm.value_fn, vm.value_tn)
    order = np.argsort(proba)
    p_sorted, gain_sorted = proba[order], (pos_val - neg_val)[order]
    suffix = np.concatenate([np.cumsum(gain_sorted[::-1])[::-1], [0.0]])
    idx = np.searchsorted(p_sorted, cands, side="left")  # rows with proba >= t are positive
    totals = neg_val.sum() + suffix[idx]
    best = totals.max()
    winners = cands[np.isclose(totals, best, rtol=0, atol=1e-9 * max(1.0, abs(best)))]
    return float(winners[np.argmin(np.abs(winners - 0.5))])


@dataclass(frozen=True)
class ValueBreakdown:
    gross_per_1k: float
    tp_revenue_per_1k: float
    latency_penalty_per_1k: float
    infra_cost_per_1k: float
    net_per_1k: float
    infra_cost_per_1m: float


def infra_cost_per_1m(mean_latency_ms: float, vm: ValueModel) -> float:
    """A million predictions at ``mean_latency_ms`` of single-thread CPU each, at the vCPU-hour price."""
    return 1e6 * (mean_latency_ms / 1000.0) * vm.vcpu_hour_price / 3600.0


def value_arrays(
    W: np.ndarray, y_true, y_pred, vm: ValueModel, *, tp_values=None, mean_latency_ms: float = 0.0
) -> dict[str, np.ndarray]:
    """Every term of the value per 1,000 requests for each row of weights ``W`` (m × n).

    The paired bootstrap passes resample counts; :func:`value_per_1k` passes one row of ones; a
    threshold curve passes one ``y_pred`` row per weight row.
    """
    vals = row_values(y_true, y_pred, vm, tp_values)
    tp_mask = (np.asarray(y_true).astype(bool) & np.asarray(y_pred).astype(bool)).astype(float)
    total = W.sum(axis=1)
    gross = 1000.0 * safe_div(row_dot(W, vals), total, np.nan)
    tp_rev = 1000.0 * safe_div(row_dot(W, vals * tp_mask), total)
    loss_share = min(1.0, vm.conversion_loss_per_100ms * mean_latency_ms / 100.0) if vm.latency_penalty else 0.0
    penalty = np.maximum(tp_rev, 0.0) * loss_share
    infra_1m = np.full(len(W), infra_cost_per_1m(mean_latency_ms, vm))
    infra_1k = infra_1m / 1000.0
    return {
        "gross_per_1k": gross,
        "tp_revenue_per_1k": tp_rev,
        "latency_penalty_per_1k": penalty,
        "infra_cost_per_1k": infra_1k,
        "net_per_1k": gross - penalty - infra_1k,
        "infra_cost_per_1m": infra_1m,
    }


def value_per_1k(
    y_true, y_pred, vm: ValueModel, *, tp_values=None, mean_latency_ms: float = 0.0, sample_weight=None
) -> ValueBreakdown:
    """Expected net value per 1,000 requests; see the module docstring for each term's source."""
    W = weight_matrix(len(np.asarray(y_true)), sample_weight)[:1]
    terms = value_arrays(W, y_true, y_pred, vm, tp_values=tp_values, mean_latency_ms=mean_latency_ms)
    return ValueBreakdown(**{k: float(v[0]) for k, v in terms.items()})


def default_value_model(ds) -> ValueModel:
    """Defaults that make the value objective meaningful for this table (sources: module docstring).

    Without a value column: the ±1 utility matrix, no money, no latency penalty. With one, a false
    positive costs the slot's opportunity cost, so the tuned threshold trades fee against wasted
    slots, and the figures are money with the latency penalty on.
    """
    if ds.value is None:
        return ValueModel()
    opportunity = float(np.round(ds.y.mean() * np.mean(ds.value), 2))
    return ValueModel(value_tp=0.0, value_fp=-max(opportunity, 0.01), money=True, latency_penalty=True)


def display_metric(metric: MetricDef, vm: ValueModel) -> MetricDef:
    """``metric`` as this value model's figures read: net value in utility units unless it is money.

    The registry states net value in € (what a priced model gives); a page or table showing a
    spec's figures passes its metric definitions through here so unpriced value never reads as €.
    Infra cost stays in €: the vCPU price is money whatever the matrix.
    """
    if vm.money or metric.name != "value_per_1k":
        return metric
    return replace(metric, unit=metric.unit.replace("€", vm.unit, 1))
