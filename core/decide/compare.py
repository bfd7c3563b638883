"""Is the complexity worth it? Ensembles versus simple models, with honest statistics.

The principle the room holds: if a simple model does a reasonable job, a more complex one must be
*significantly* better to justify its latency, size and harder deployment. This module answers that
with numbers a statistician would sign:

- **Which two models.** Per-class Pareto fronts (simple / complex / ensemble) of the trials that meet
  the team's hard limits; the default pair is the best complex-or-ensemble trial against the best
  simple one, ranked by the spec's first quality objective on search-time (cross-validated) values,
  never on the test part.
- **Quality, value and fairness differences.** Both models are re-fitted on the same split
  (:func:`core.models.candidate.load`) and scored on the same held-out rows. A *paired* bootstrap resamples
  test rows (the same rows for both models, ≥ 1,000 seeded resamples) and gives a percentile interval
  of the difference challenger − baseline for every metric. Every metric is computed for all
  resamples at once from resample counts with numpy (weighted ROC AUC / average precision / confusion
  counts), so 1,000 resamples of 5,000 rows take about a second for all twelve metrics. Intervals
  are bias-corrected percentile intervals (see :func:`bc_interval`).
- **McNemar's test** on the two models' correct/incorrect decisions: exact binomial when the
  discordant count is small (< 25), chi-square with continuity correction otherwise.
- **Cost ratios.** Latency is measured by :func:`core.models.latency.measure`, both models in alternating
  rounds close in time (these machines are noisy); the ratio of each round gives the spread. Size and
  parameter counts are deterministic; fit time is re-measured when asked.
- **A verdict per objective** and one sentence the room can read aloud.

Orientation: the *challenger* is always the more complex model of the pair (class rank
simple < complex < ensemble, then serialised size), so "+0.004" means the complex model is higher.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, is_dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from threadpoolctl import threadpool_limits

from core import objectives as obj
from core.decide import front as fr
from core.errors import UserInputError
from core.metrics.fairness import fairness_metrics, group_frame
from core.models import latency
from core.spec import Spec, ValueModel

ALPHA = 0.05
N_BOOT = 1000
EXACT_BELOW = 25  # discordant pairs under which McNemar uses the exact binomial test
MIN_ROUND_REPEATS = 20  # single-row calls per model per latency round, at least (the harness minimum)
COST_TOLERANCE = 0.05  # cost ratios within 5 % of 1 are "no difference" even when consistent
UNREPLICATED_TOLERANCE = 0.5  # a single timing per model: only a ratio beyond 1.5× (or 1/1.5) counts
KLASS_RANK = {"simple": 0, "complex": 1, "ensemble": 2}
# what a cascade's routing band can be judged by: money, or a quality metric of the decisions
CASCADE_CRITERIA = ("value_per_1k",) + tuple(n for n, m in obj.REGISTRY.items() if m.group == "quality")
KLASS_NOUN = {"simple": "simple model", "complex": "complex model", "ensemble": "ensemble"}
BETTER, SAME, WORSE = "significantly better", "no significant difference", "significantly worse"
EPS = 1e-15
# metrics the bootstrap covers (quality at each model's own threshold, money, fairness gaps)
BOOT_METRICS = (
    "roc_auc",
    "pr_auc",
    "accuracy",
    "balanced_accuracy",
    "f1",
    "log_loss",
    "value_per_1k",
    "dp_diff",
    "dp_ratio",
    "eo_diff",
    "worst_group_recall",
    "worst_group_accuracy",
)
LATENCY_METRICS = (
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "model_latency_p95_ms",
    "throughput_rps",
    "infra_cost_per_1m",
)
FIXED_METRICS = ("model_size_bytes", "n_parameters")
GROUP_METRICS = ("selection_rate", "recall", "precision", "accuracy")

ProgressFn = Callable[[str, float], None]


# -- choosing the pair ------------------------------------------------------------------------------


def primary_metric(spec: Spec) -> str:
    """The spec's first quality objective (what "better" means first); ROC AUC when it has none."""
    for name in spec.objective_names:
        if obj.get(name).group == "quality":
            return name
    return "roc_auc"


def class_fronts(frame: pd.DataFrame, spec: Spec) -> dict[str, pd.DataFrame]:
    """The Pareto front of each complexity class among trials that meet every hard limit.

    Separate fronts show what each class can reach on its own; overlaying them shows where (if
    anywhere) complexity buys a better trade-off.
    """
    names = spec.objective_names
    out: dict[str, pd.DataFrame] = {}
    if frame.empty:
        return out
    for klass in KLASS_RANK:
        part = frame[frame["family_class"] == klass]
        if len(part):
            f = fr.front(part, names)
            if len(f):
                out[klass] = f
    return out


def best_of_class(frame: pd.DataFrame, spec: Spec, metric: str | None = None) -> dict[str, int]:
    """Trial number of the best feasible trial of each class on ``metric`` (search-time value)."""
    metric = metric or primary_metric(spec)
    sign = obj.get(metric).sign
    out: dict[str, int] = {}
    if frame.empty or metric not in frame:
        return out
    ok = frame[(frame["state"] == "COMPLETE") & frame["feasible"].astype(bool)]
    for klass in KLASS_RANK:
        part = ok[(ok["family_class"] == klass) & np.isfinite(ok[metric].astype(float))]
        if len(part):
            loss = part[metric].astype(float) * sign
            out[klass] = int(part.loc[loss.idxmin(), "number"])
    return out


@dataclass(frozen=True)
class DefaultPair:
    challenger: int | None
    baseline: int | None
    metric: str
    note: str

    @property
    def complete(self) -> bool:
        return self.challenger is not None and self.baseline is not None


def default_pair(frame: pd.DataFrame, spec: Spec) -> DefaultPair:
    """Best ensemble-or-complex trial vs best simple trial under the hard limits.

    When one side is missing the note says why, so the page can tell the room what to search next.
    """
    metric = primary_metric(spec)
    best = best_of_class(frame, spec, metric)
    baseline = best.get("simple")
    rivals = [best[k] for k in ("ensemble", "complex") if k in best]
    challenger = None
    if rivals:
        vals = frame.set_index("number").loc[rivals, metric].astype(float) * obj.get(metric).sign
        challenger = int(vals.idxmin())
    if baseline is None and challenger is None:
        note = "No finished trial meets the hard limits yet."
    elif baseline is None:
        note = "No simple model meets the hard limits: add a simple family or relax a limit."
    elif challenger is None:
        note = "No complex or ensemble model meets the hard limits: there is nothing to weigh."
    else:
        note = f"Best of each side by {obj.get(metric).label} (cross-validated), within the hard limits."
    return DefaultPair(challenger, baseline, metric, note)


def complexity_order(a_klass: str, a_size: float, b_klass: str, b_size: float) -> bool:
    """True when model a is the more complex one (class first, then serialised size)."""
    ka, kb = KLASS_RANK.get(a_klass, 1), KLASS_RANK.get(b_klass, 1)
    return ka > kb or (ka == kb and a_size >= b_size)


# -- vectorised, weighted metrics -------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    """What both models are judged against: the test labels, sensitive groups and value model."""

    y: np.ndarray
    groups: np.ndarray | None = None
    tp_values: np.ndarray | None = None
    value_model: ValueModel = field(default_factory=ValueModel)
    # panel data: the entity (0..k-1) of every test row; the bootstrap then resamples entities
    clusters: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.y)

    @property
    def n_clusters(self) -> int:
        return 0 if self.clusters is None else int(np.max(self.clusters)) + 1


@dataclass(frozen=True)
class Scored:
    """One model's output on the test rows, at its own tuned threshold."""

    proba: np.ndarray
    threshold: float
    mean_latency_ms: float = 0.0

    @property
    def pred(self) -> np.ndarray:
        return (np.asarray(self.proba) >= self.threshold).astype(int)


def resample_counts(
    n: int, n_boot: int, seed: int, *, clusters: np.ndarray | None = None, max_cells: int = 2_000_000
) -> Iterator[np.ndarray]:
    """Bootstrap resamples of ``n`` rows as count matrices (how often each row was drawn), in chunks.

    Counts rather than index lists turn every metric into a weighted sum (a matrix product), which
    numpy does for all resamples at once. Chunks keep memory bounded for large test sets; the
    random stream depends only on (n, n_boot, seed), so results repeat exactly.

    With ``clusters`` (the entity 0..k-1 of each row) whole entities are drawn and each row counts
    as often as its entity (the cluster bootstrap): the rows of one person are not independent
    evidence, and resampling them one by one would make every interval too narrow.
    """
    rng = np.random.default_rng(seed)
    k = n if clusters is None else int(np.max(clusters)) + 1
    chunk = max(1, min(n_boot, max_cells // max(n, 1)))
    done = 0
    while done < n_boot:
        m = min(chunk, n_boot - done)
        idx = rng.integers(0, k, size=(m, k))
        flat = (idx + (np.arange(m) * k)[:, None]).ravel()
        counts = np.bincount(flat, minlength=m * k).reshape(m, k).astype(float)
        yield counts if clusters is None else counts[:, clusters]
        done += m


def _div(num: np.ndarray, den: np.ndarray, empty: float = 0.0) -> np.ndarray:
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    out = np.full(np.broadcast(num, den).shape, empty, dtype=float)
    np.divide(num, den, out=out, where=den != 0)
    return out


def ranking_metrics(W: np.ndarray, y: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted ROC AUC and average precision for every row of weights ``W`` (m × n).

    Ties in the score are grouped, exactly as scikit-learn does with ``sample_weight``: a tied
    positive/negative pair counts one half in the AUC, and average precision steps once per
    distinct score.
    """
    order = np.argsort(score, kind="mergesort")
    s, yo = score[order], y[order].astype(float)
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    Wo = W[:, order]
    pos = np.add.reduceat(Wo * yo, starts, axis=1)  # (m, groups), ascending score
    neg = np.add.reduceat(Wo * (1.0 - yo), starts, axis=1)
    P, N = pos.sum(axis=1), neg.sum(axis=1)
    below = np.cumsum(neg, axis=1) - neg
    auc = _div((pos * (below + 0.5 * neg)).sum(axis=1), P * N, np.nan)
    # average precision: thresholds from the highest score down
    pos_d, neg_d = pos[:, ::-1], neg[:, ::-1]
    tps, fps = np.cumsum(pos_d, axis=1), np.cumsum(neg_d, axis=1)
    ap = _div((pos_d * _div(tps, tps + fps)).sum(axis=1), P, np.nan)
    return auc, ap


def _confusion(W: np.ndarray, y: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, ...]:
    yb, pb = y.astype(float), pred.astype(float)
    return (W @ (yb * pb), W @ ((1 - yb) * pb), W @ (yb * (1 - pb)), W @ ((1 - yb) * (1 - pb)))


def group_counts(
    W: np.ndarray, y: np.ndarray, pred: np.ndarray, groups: np.ndarray
) -> tuple[list[str], dict[str, np.ndarray]]:
    """Per-group confusion counts (m × k each) for every resample."""
    labels, inv = np.unique(np.asarray(groups).astype(str), return_inverse=True)
    G = np.zeros((len(inv), len(labels)))
    G[np.arange(len(inv)), inv] = 1.0
    yb, pb = y.astype(float)[:, None], pred.astype(float)[:, None]
    return list(labels), {
        "tp": W @ (G * yb * pb),
        "fp": W @ (G * (1 - yb) * pb),
        "fn": W @ (G * yb * (1 - pb)),
        "tn": W @ (G * (1 - yb) * (1 - pb)),
    }


def group_rates(c: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """fairlearn's per-group metrics (scikit-learn ``zero_division=0``) from confusion counts.

    An empty group in a resample gives NaN, which the gap metrics skip.
    """
    n = c["tp"] + c["fp"] + c["fn"] + c["tn"]
    nan_if_empty = np.where(n > 0, 1.0, np.nan)
    return {
        "selection_rate": _div(c["tp"] + c["fp"], n, np.nan),
        "recall": _div(c["tp"], c["tp"] + c["fn"]) * nan_if_empty,
        "precision": _div(c["tp"], c["tp"] + c["fp"]) * nan_if_empty,
        "accuracy": _div(c["tp"] + c["tn"], n, np.nan),
        "fpr": _div(c["fp"], c["fp"] + c["tn"]) * nan_if_empty,
    }


def _nanrange(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ok = np.isfinite(a).any(axis=1)
    lo = np.full(len(a), np.nan)
    hi = np.full(len(a), np.nan)
    lo[ok], hi[ok] = np.nanmin(a[ok], axis=1), np.nanmax(a[ok], axis=1)
    return lo, hi


def gap_metrics(rates: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The catalogue's fairness gaps (as :func:`core.metrics.fairness.fairness_metrics`) per resample."""
    sel_lo, sel_hi = _nanrange(rates["selection_rate"])
    tpr_lo, tpr_hi = _nanrange(rates["recall"])
    fpr_lo, fpr_hi = _nanrange(rates["fpr"])
    acc_lo, _ = _nanrange(rates["accuracy"])
    return {
        "dp_diff": sel_hi - sel_lo,
        "dp_ratio": _div(sel_lo, sel_hi, np.nan),
        "eo_diff": np.fmax(tpr_hi - tpr_lo, fpr_hi - fpr_lo),
        "worst_group_recall": tpr_lo,
        "worst_group_accuracy": acc_lo,
    }


def metric_arrays(W: np.ndarray, ctx: Context, model: Scored) -> dict[str, np.ndarray]:
    """Every bootstrap metric of one model for each row of resample weights ``W`` (m × n).

    With ``W`` a single row of ones these are the ordinary point values (tests check them against
    scikit-learn and fairlearn).
    """
    y, proba, pred = ctx.y, np.asarray(model.proba, dtype=float), model.pred
    total = W.sum(axis=1)
    auc, ap = ranking_metrics(W, y, proba)
    tp, fp, fn, tn = _confusion(W, y, pred)
    p = np.clip(proba, EPS, 1 - EPS)
    ll = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    out = {
        "roc_auc": auc,
        "pr_auc": ap,
        "accuracy": (tp + tn) / total,
        "balanced_accuracy": 0.5 * (_div(tp, tp + fn) + _div(tn, tn + fp)),
        "f1": _div(2 * tp, 2 * tp + fp + fn),
        "log_loss": (W @ ll) / total,
    }
    out["value_per_1k"] = _value_arrays(W, ctx, pred, model.mean_latency_ms)
    if ctx.groups is not None:
        _, counts = group_counts(W, y, pred, ctx.groups)
        out.update(gap_metrics(group_rates(counts)))
    return out


def _value_arrays(W: np.ndarray, ctx: Context, pred: np.ndarray, mean_latency_ms: float) -> np.ndarray:
    """Net value per 1,000 requests per resample, term by term as :func:`core.metrics.value.value_per_1k`."""
    from core.metrics.value import row_values

    vm = ctx.value_model
    vals = row_values(ctx.y, pred, vm, ctx.tp_values)
    tp_mask = (ctx.y.astype(bool) & pred.astype(bool)).astype(float)
    total = W.sum(axis=1)
    gross = 1000.0 * (W @ vals) / total
    tp_rev = 1000.0 * (W @ (vals * tp_mask)) / total
    loss_share = min(1.0, vm.conversion_loss_per_100ms * mean_latency_ms / 100.0)
    infra_1k = (mean_latency_ms / 1000.0) * vm.vcpu_hour_price / 3600.0 * 1000.0
    return gross - np.maximum(tp_rev, 0.0) * loss_share - infra_1k


# -- paired bootstrap -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    """challenger − baseline for one metric, with a paired-bootstrap percentile interval."""

    metric: str
    label: str
    unit: str
    direction: str
    challenger: float
    baseline: float
    diff: float
    low: float
    high: float
    p_value: float
    verdict: str


def bc_interval(boot: np.ndarray, point: float, alpha: float = ALPHA) -> tuple[float, float]:
    """Bias-corrected percentile interval (Efron 1987) of a bootstrap distribution.

    Why not the plain percentile interval: gap metrics (max − min over groups, worst group) are
    biased in resamples — a resample's largest gap is larger on average than the observed one — so
    the plain percentile interval sits to one side of the point and can call a difference
    significant when it is not. The correction shifts the quantiles by how far the bootstrap median
    is from the point estimate; for unbiased metrics (AUC, accuracy) it is the percentile interval.
    A degenerate distribution (identical models) gives [point, point].
    """
    boot = np.asarray(boot, dtype=float)
    boot = boot[np.isfinite(boot)]
    if len(boot) == 0 or not np.isfinite(point):
        return float("nan"), float("nan")
    if np.ptp(boot) == 0:
        return float(boot[0]), float(boot[0])
    b = len(boot)
    p0 = float(np.mean(boot < point) + 0.5 * np.mean(boot == point))
    p0 = min(max(p0, 1 / (b + 1)), b / (b + 1))
    z0, z = stats.norm.ppf(p0), stats.norm.ppf(1 - alpha / 2)
    lo_q, hi_q = stats.norm.cdf(2 * z0 - z), stats.norm.cdf(2 * z0 + z)
    low, high = np.quantile(boot, [lo_q, hi_q])
    return float(low), float(high)


def verdict_from_interval(low: float, high: float, direction: str) -> str:
    """Better/worse only when the whole interval lies on one side of zero (in the good direction)."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return SAME
    good_up = direction == "maximize"
    if low > 0:
        return BETTER if good_up else WORSE
    if high < 0:
        return WORSE if good_up else BETTER
    return SAME


def paired_bootstrap(
    ctx: Context,
    challenger: Scored,
    baseline: Scored,
    *,
    n_boot: int = N_BOOT,
    seed: int = 0,
    alpha: float = ALPHA,
    metrics: Sequence[str] | None = None,
) -> tuple[Difference, ...]:
    """Bias-corrected percentile intervals of challenger − baseline on the same resampled test rows.

    Pairing matters: both models see the same resample, so the row-to-row noise they share cancels
    and the interval is much narrower (and honest) compared with two independent intervals.
    """
    if n_boot < 100:
        raise UserInputError(f"n_boot must be at least 100 for a percentile interval, got {n_boot}.", field="n_boot")
    if not 0 < alpha < 0.5:
        raise UserInputError(f"alpha must be between 0 and 0.5 (e.g. 0.05), got {alpha}.", field="alpha")
    ones = np.ones((1, ctx.n))
    point_c, point_b = metric_arrays(ones, ctx, challenger), metric_arrays(ones, ctx, baseline)
    names = [m for m in (metrics or BOOT_METRICS) if m in point_c]
    diffs: dict[str, list[np.ndarray]] = {m: [] for m in names}
    for W in resample_counts(ctx.n, n_boot, seed, clusters=ctx.clusters):
        a, b = metric_arrays(W, ctx, challenger), metric_arrays(W, ctx, baseline)
        for m in names:
            diffs[m].append(a[m] - b[m])
    out = []
    for m in names:
        d = np.concatenate(diffs[m])
        d = d[np.isfinite(d)]
        md = obj.get(m)
        c, b = float(point_c[m][0]), float(point_b[m][0])
        low, high = bc_interval(d, c - b, alpha)
        # two-sided bootstrap p-value: how often the resampled difference lands on the other side of 0
        p = float(min(1.0, 2 * min(np.mean(d <= 0), np.mean(d >= 0)))) if len(d) else float("nan")
        out.append(
            Difference(
                m,
                md.label,
                md.unit,
                md.direction,
                c,
                b,
                c - b,
                low,
                high,
                p,
                verdict_from_interval(low, high, md.direction),
            )
        )
    return tuple(out)


# -- McNemar ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class McNemar:
    """McNemar's test on paired decisions: b = only the challenger right, c = only the baseline right."""

    both_right: int
    only_challenger_right: int
    only_baseline_right: int
    both_wrong: int
    statistic: float
    p_value: float
    method: str

    def significant(self, alpha: float = ALPHA) -> bool:
        return self.p_value < alpha


def mcnemar_table(
    b: int, c: int, *, both_right: int = 0, both_wrong: int = 0, exact_below: int = EXACT_BELOW
) -> McNemar:
    """McNemar's test from the discordant counts.

    Exact two-sided binomial test (b of b + c at p = ½) when b + c < ``exact_below``, where the
    chi-square approximation is poor; otherwise χ² = (|b − c| − 1)² / (b + c) with Edwards'
    continuity correction on 1 degree of freedom.
    """
    b, c = int(b), int(c)
    n = b + c
    if n == 0:
        return McNemar(both_right, b, c, both_wrong, 0.0, 1.0, "no discordant pairs")
    if n < exact_below:
        p = float(stats.binomtest(b, n, 0.5, alternative="two-sided").pvalue)
        return McNemar(both_right, b, c, both_wrong, float(min(b, c)), min(1.0, p), "exact binomial")
    chi2 = (abs(b - c) - 1) ** 2 / n
    return McNemar(
        both_right, b, c, both_wrong, float(chi2), float(stats.chi2.sf(chi2, 1)), "chi-square, continuity-corrected"
    )


def mcnemar(
    y: np.ndarray, pred_challenger: np.ndarray, pred_baseline: np.ndarray, *, clustered: bool = False
) -> McNemar:
    """McNemar's test on two models' test decisions (each at its own threshold).

    It takes rows as independent; ``clustered`` (panel data) says so in ``method``, because the
    rows of one entity are not, and the p-value is then optimistic (the bootstrap is not).
    """
    y = np.asarray(y)
    ra, rb = np.asarray(pred_challenger) == y, np.asarray(pred_baseline) == y
    mc = mcnemar_table(
        int((ra & ~rb).sum()), int((~ra & rb).sum()), both_right=int((ra & rb).sum()), both_wrong=int((~ra & ~rb).sum())
    )
    if clustered:
        mc = replace(
            mc,
            method=mc.method + "; rows taken as independent, which the rows of one "
            "entity are not: optimistic, trust the intervals",
        )
    return mc


# -- cost ratios ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ratio:
    """challenger / baseline for a cost, with the spread over interleaved measurement rounds."""

    metric: str
    label: str
    direction: str
    challenger: float
    baseline: float
    ratio: float
    low: float
    high: float
    rounds: int
    verdict: str
    note: str = ""


def ratio_verdict(low: float, high: float, direction: str, tol: float = COST_TOLERANCE) -> str:
    """Better/worse when every round agrees and the gap exceeds ``tol`` (timing noise is real)."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return SAME
    lower_is_better = direction == "minimize"
    if high < 1 - tol:
        return BETTER if lower_is_better else WORSE
    if low > 1 + tol:
        return WORSE if lower_is_better else BETTER
    return SAME


def measure_pair(
    pipe_a, pipe_b, X: pd.DataFrame, *, rounds: int = 3, repeats: int = 200
) -> tuple[list[latency.LatencyReport], list[latency.LatencyReport]]:
    """Latency of two pipelines in alternating rounds (a b, b a, a b …), close together in time."""
    ra, rb = [], []
    for r in range(rounds):
        order = [(pipe_a, ra), (pipe_b, rb)] if r % 2 == 0 else [(pipe_b, rb), (pipe_a, ra)]
        for pipe, out in order:
            out.append(latency.measure(pipe, X, repeats=repeats))
    return ra, rb


def _ratio_row(
    metric: str, a: Sequence[float], b: Sequence[float], note: str = "", *, tol: float = COST_TOLERANCE
) -> Ratio:
    md = obj.get(metric)
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    r = _div(a, b, np.nan)
    r = r[np.isfinite(r)]
    ratio = float(np.median(r)) if len(r) else float("nan")
    low, high = (float(r.min()), float(r.max())) if len(r) else (float("nan"),) * 2
    return Ratio(
        metric,
        md.label,
        md.direction,
        float(np.median(a)),
        float(np.median(b)),
        ratio,
        low,
        high,
        len(r),
        ratio_verdict(low, high, md.direction, tol),
        note,
    )


def cost_ratios(
    lat_a: Sequence[latency.LatencyReport],
    lat_b: Sequence[latency.LatencyReport],
    fixed_a: dict[str, float],
    fixed_b: dict[str, float],
    fit_a: Sequence[float],
    fit_b: Sequence[float],
    vm: ValueModel,
) -> tuple[Ratio, ...]:
    """Latency, infra cost, size, parameters and fit time as challenger/baseline ratios."""
    rows = []
    for m in LATENCY_METRICS:
        if m == "infra_cost_per_1m":
            price = vm.vcpu_hour_price / 3600.0 * 1e6 / 1000.0
            a = [x.mean_ms * price for x in lat_a]
            b = [x.mean_ms * price for x in lat_b]
        else:
            a = [x.as_metrics()[m] for x in lat_a]
            b = [x.as_metrics()[m] for x in lat_b]
        rows.append(_ratio_row(m, a, b, f"{len(lat_a)} interleaved rounds; spread = min–max ratio"))
    for m in FIXED_METRICS:
        rows.append(
            _ratio_row(
                m, [fixed_a.get(m, np.nan)], [fixed_b.get(m, np.nan)], "deterministic property of the fitted pipeline"
            )
        )
    n = min(len(fit_a), len(fit_b))
    # one unreplicated timing each: only a gap beyond 1.5× counts (fit times of one model vary that much)
    rows.append(
        _ratio_row(
            "fit_time_s",
            fit_a[:n],
            fit_b[:n],
            f"{n} fit{'s' if n != 1 else ''} each" + ("" if n > 1 else "; no spread, 1.5× needed"),
            tol=COST_TOLERANCE if n > 1 else UNREPLICATED_TOLERANCE,
        )
    )
    return tuple(rows)


# -- the comparison ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CandidateInfo:
    """What the report needs to name and describe one re-fitted trial."""

    number: int
    family: str
    label: str
    klass: str
    threshold: float
    test: dict[str, float]
    size_bytes: float
    n_parameters: float
    fit_time_s: float
    latency_p95_ms: float
    latency_mean_ms: float
    model_latency_p95_ms: float

    @property
    def noun(self) -> str:
        return KLASS_NOUN.get(self.klass, "model")


@dataclass(frozen=True)
class ObjectiveVerdict:
    name: str
    label: str
    verdict: str
    source: str  # "bootstrap" or "ratio"
    text: str


@dataclass(frozen=True)
class Comparison:
    """Everything the room needs to say whether the challenger's complexity pays, JSON-able."""

    challenger: CandidateInfo
    baseline: CandidateInfo
    primary: str
    alpha: float
    n_boot: int
    seed: int
    n_test: int
    differences: tuple[Difference, ...]
    ratios: tuple[Ratio, ...]
    mcnemar: McNemar
    objectives: tuple[ObjectiveVerdict, ...]
    sentence: str
    n_entities: int = 0  # > 0: the bootstrap resampled this many entities (panel data), not rows

    def difference(self, metric: str) -> Difference | None:
        return next((d for d in self.differences if d.metric == metric), None)

    def ratio(self, metric: str) -> Ratio | None:
        return next((r for r in self.ratios if r.metric == metric), None)

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)


def _fmt_num(v: float, unit: str) -> str:
    if unit.startswith("€"):
        s = f"€{abs(v):,.2f}"
        return ("+" if v >= 0 else "−") + s
    s = f"{v:+.3f}" if abs(v) >= 0.0005 or v == 0 else f"{v:+.4f}"
    return s.replace("-", "−")


def _fmt_bound(v: float, unit: str) -> str:
    if unit.startswith("€"):
        return ("−" if v < 0 else "") + f"€{abs(v):,.2f}"
    return (f"{v:.3f}" if abs(v) >= 0.0005 or v == 0 else f"{v:.4f}").replace("-", "−")


def _fmt_ratio(r: float) -> str:
    if not np.isfinite(r):
        return "?×"
    return f"{r:.0f}×" if r >= 10 else f"{r:.1f}×" if r >= 0.1 else f"{r:.2f}×"


def describe_difference(d: Difference) -> str:
    """'+0.004 ROC AUC [−0.001, 0.009]'."""
    label = "AUC" if d.metric == "roc_auc" else d.label
    return f"{_fmt_num(d.diff, d.unit)} {label} [{_fmt_bound(d.low, d.unit)}, {_fmt_bound(d.high, d.unit)}]"


def objective_verdicts(
    spec: Spec, diffs: Sequence[Difference], ratios: Sequence[Ratio]
) -> tuple[ObjectiveVerdict, ...]:
    """One verdict per spec objective, from the bootstrap or the measured ratio."""
    by_d = {d.metric: d for d in diffs}
    by_r = {r.metric: r for r in ratios}
    out = []
    for name in spec.objective_names:
        md = obj.get(name)
        if name in by_d:
            d = by_d[name]
            out.append(ObjectiveVerdict(name, md.label, d.verdict, "bootstrap", describe_difference(d)))
        elif name in by_r:
            r = by_r[name]
            out.append(
                ObjectiveVerdict(
                    name,
                    md.label,
                    r.verdict,
                    "ratio",
                    f"{_fmt_ratio(r.ratio)} [{_fmt_ratio(r.low)}, {_fmt_ratio(r.high)}]",
                )
            )
        else:
            out.append(ObjectiveVerdict(name, md.label, SAME, "not compared", "not measured here"))
    return tuple(out)


def verdict_sentence(
    challenger: CandidateInfo,
    baseline: CandidateInfo,
    primary: Difference,
    value: Difference | None,
    lat: Ratio | None,
    size: Ratio | None,
    alpha: float,
) -> str:
    """One sentence the room can read aloud, e.g. "The ensemble is +0.004 AUC [−0.001, 0.009], not
    significant, at 3.1× p95 latency and 14× size: the simple model is the defensible choice"."""
    same_class = challenger.klass == baseline.klass
    who = challenger.label if same_class else f"The {challenger.noun}"
    other = baseline.label if same_class else f"the {baseline.noun}"
    sig = {
        BETTER: f"significantly better (α = {alpha:g})",
        WORSE: f"significantly worse (α = {alpha:g})",
        SAME: "not significant",
    }[primary.verdict]
    costs = []
    if lat is not None and np.isfinite(lat.ratio):
        costs.append(f"{_fmt_ratio(lat.ratio)} p95 latency")
    if size is not None and np.isfinite(size.ratio):
        costs.append(f"{_fmt_ratio(size.ratio)} size")
    at = f", at {' and '.join(costs)}" if costs else ""
    if primary.verdict == BETTER and value is not None and value.verdict == WORSE:
        end = (
            f"the quality gain is real but it earns less per 1,000 requests "
            f"({describe_difference(value)}): {other} is the defensible choice"
        )
    elif primary.verdict == BETTER:
        end = (
            "the gain is real: it is the stronger choice if the room accepts its costs"
            if same_class
            else f"the gain is real: the {challenger.noun} earns its complexity if the room accepts its costs"
        )
    else:
        end = f"{other} is the defensible choice"
    return f"{who} is {describe_difference(primary)}, {sig}{at}: {end}."


def compare(
    challenger,
    baseline,
    *,
    n_boot: int = N_BOOT,
    alpha: float = ALPHA,
    seed: int | None = None,
    latency_rounds: int = 3,
    latency_repeats: int | None = None,
    fit_repeats: int = 0,
    on_progress: ProgressFn | None = None,
) -> Comparison:
    """Compare two re-fitted candidates (:class:`core.models.candidate.Candidate`) on the same test rows.

    The pair is re-oriented so the challenger is the more complex model. ``fit_repeats`` extra fits of
    each model (interleaved) give fit time a spread; 0 uses the one fit the re-fit already timed.
    Net value prices each model's latency with its median mean latency over the rounds, so its
    interval covers the sampling of test rows, not timing noise (the cost ratios show that).
    """
    a, b = challenger, baseline
    _check_same_split(a, b)
    size_a, size_b = a.evaluation.metrics["model_size_bytes"], b.evaluation.metrics["model_size_bytes"]
    if not complexity_order(a.klass, size_a, b.klass, size_b):
        a, b = b, a
    spec = a.spec
    seed = spec.seed if seed is None else seed
    progress = on_progress or (lambda msg, frac: None)
    test = a.dataset.subset(a.test_idx)
    progress("Timing both models in alternating rounds", 0.1)
    # the spec's timing budget split over the rounds: the same number of calls as one measurement
    repeats = latency_repeats or max(MIN_ROUND_REPEATS, spec.validation.latency_repeats // max(latency_rounds, 1))
    lat_a, lat_b = measure_pair(a.pipeline, b.pipeline, test.X, rounds=latency_rounds, repeats=repeats)
    fit_a, fit_b = [a.evaluation.metrics["fit_time_s"]], [b.evaluation.metrics["fit_time_s"]]
    if fit_repeats:
        progress("Re-timing fits", 0.4)
        extra_a, extra_b = refit_times(a, b, fit_repeats)
        fit_a += extra_a
        fit_b += extra_b
    progress(f"Paired bootstrap ({n_boot:,} resamples)", 0.6)
    ctx = context_of(a)
    mean_a = float(np.median([x.mean_ms for x in lat_a]))
    mean_b = float(np.median([x.mean_ms for x in lat_b]))
    sa = Scored(a.evaluation.test_proba, a.threshold, mean_a)
    sb = Scored(b.evaluation.test_proba, b.threshold, mean_b)
    diffs = paired_bootstrap(ctx, sa, sb, n_boot=n_boot, seed=seed, alpha=alpha)
    mc = mcnemar(ctx.y, sa.pred, sb.pred, clustered=ctx.clusters is not None)
    fixed = lambda c: {m: c.evaluation.metrics[m] for m in FIXED_METRICS}  # noqa: E731
    ratios = cost_ratios(lat_a, lat_b, fixed(a), fixed(b), fit_a, fit_b, spec.value_model)
    primary = primary_metric(spec)
    by_d = {d.metric: d for d in diffs}
    by_r = {r.metric: r for r in ratios}
    info_a, info_b = candidate_info(a, lat_a), candidate_info(b, lat_b)
    sentence = verdict_sentence(
        info_a,
        info_b,
        by_d[primary],
        by_d.get("value_per_1k"),
        by_r.get("latency_p95_ms"),
        by_r.get("model_size_bytes"),
        alpha,
    )
    progress("Done", 1.0)
    return Comparison(
        info_a,
        info_b,
        primary,
        alpha,
        n_boot,
        seed,
        ctx.n,
        diffs,
        ratios,
        mc,
        objective_verdicts(spec, diffs, ratios),
        sentence,
        ctx.n_clusters,
    )


def _check_same_split(a, b) -> None:
    if a.dataset.fingerprint != b.dataset.fingerprint or not np.array_equal(a.test_idx, b.test_idx):
        raise UserInputError(
            "The two candidates were not evaluated on the same data and test rows; compare trials of one study.",
            field="candidates",
        )


def context_of(cand) -> Context:
    test = cand.dataset.subset(cand.test_idx)
    clusters = None if test.entity is None else pd.factorize(test.entity)[0]
    return Context(
        y=np.asarray(test.y),
        groups=np.asarray(test.groups).astype(str),
        tp_values=test.value,
        value_model=cand.spec.value_model,
        clusters=clusters,
    )


def candidate_info(cand, lat: Sequence[latency.LatencyReport] = ()) -> CandidateInfo:
    """Name, class, test metrics and costs; latency is the median over ``lat`` rounds when given."""
    m = cand.evaluation.metrics
    reports = list(lat) or [cand.evaluation.latency]
    med = lambda attr: float(np.median([getattr(x, attr) for x in reports]))  # noqa: E731
    return CandidateInfo(
        int(cand.number),
        cand.family,
        cand.label,
        cand.klass,
        float(cand.threshold),
        {k: float(v) for k, v in cand.evaluation.test.items()},
        float(m["model_size_bytes"]),
        float(m["n_parameters"]),
        float(m["fit_time_s"]),
        med("p95_ms"),
        med("mean_ms"),
        med("model_p95_ms"),
    )


def refit_times(a, b, repeats: int) -> tuple[list[float], list[float]]:
    """Fit each pipeline ``repeats`` more times on the training part, alternating a/b."""
    from sklearn.base import clone

    train = a.dataset.subset(a.train_idx)
    out_a, out_b = [], []
    for r in range(repeats):
        for cand, out in [(a, out_a), (b, out_b)] if r % 2 == 0 else [(b, out_b), (a, out_a)]:
            t0 = time.perf_counter()
            clone(cand.pipeline).fit(train.X, train.y)
            out.append(time.perf_counter() - t0)
    return out_a, out_b


# -- fairness detail --------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupStat:
    group: str
    n: int
    metric: str
    value: float
    low: float
    high: float


@dataclass(frozen=True)
class Interval:
    metric: str
    label: str
    value: float
    low: float
    high: float


@dataclass(frozen=True)
class FairnessDetail:
    """Per-group metrics (fairlearn ``MetricFrame`` values) and gap metrics, with bootstrap intervals."""

    label: str
    alpha: float
    n_boot: int
    groups: tuple[GroupStat, ...]
    gaps: tuple[Interval, ...]

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(g) for g in self.groups])

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)


def fairness_detail(
    y,
    pred,
    groups,
    *,
    label: str = "",
    n_boot: int = N_BOOT,
    seed: int = 0,
    alpha: float = ALPHA,
    clusters: np.ndarray | None = None,
) -> FairnessDetail:
    """Per-group selection rate, recall, precision and accuracy, and the gap metrics, with intervals.

    Point values come from fairlearn (the numbers an auditor would compute with the same library);
    the intervals resample test rows (all groups together, so group sizes vary as in a new sample),
    or whole entities with ``clusters`` (see :func:`resample_counts`).
    """
    y, pred = np.asarray(y).astype(int), np.asarray(pred).astype(int)
    groups = np.asarray(groups).astype(str)
    mf = group_frame(y, pred, groups).by_group
    gaps_point = fairness_metrics(y, pred, groups)
    labels, _ = group_counts(np.ones((1, len(y))), y, pred, groups)
    per_group: dict[str, list[np.ndarray]] = {m: [] for m in GROUP_METRICS}
    per_gap: dict[str, list[np.ndarray]] = {m: [] for m in gaps_point}
    for W in resample_counts(len(y), n_boot, seed, clusters=clusters):
        _, counts = group_counts(W, y, pred, groups)
        rates = group_rates(counts)
        for m in GROUP_METRICS:
            per_group[m].append(rates[m])
        gaps = gap_metrics(rates)
        for m in per_gap:
            per_gap[m].append(gaps[m])
    sizes = pd.Series(groups).value_counts()
    rows = []
    for m in GROUP_METRICS:
        arr = np.concatenate(per_group[m])
        for j, g in enumerate(labels):
            col = arr[:, j]
            value = float(mf.loc[g, m])
            low, high = bc_interval(col, value, alpha)
            rows.append(GroupStat(g, int(sizes[g]), m, value, low, high))
    gaps = []
    for m, v in gaps_point.items():
        low, high = bc_interval(np.concatenate(per_gap[m]), float(v), alpha)
        gaps.append(Interval(m, obj.get(m).label, float(v), low, high))
    return FairnessDetail(label, alpha, n_boot, tuple(rows), tuple(gaps))


def candidate_fairness(cand, *, n_boot: int = N_BOOT, seed: int | None = None, alpha: float = ALPHA) -> FairnessDetail:
    ctx = context_of(cand)
    pred = (cand.evaluation.test_proba >= cand.threshold).astype(int)
    return fairness_detail(
        ctx.y,
        pred,
        ctx.groups,
        label=cand.label,
        n_boot=n_boot,
        seed=cand.spec.seed if seed is None else seed,
        alpha=alpha,
        clusters=ctx.clusters,
    )


# -- cascade ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CascadeResult:
    """Simple model answers when confident, complex model otherwise; beside both parents.

    ``band`` is the half-width around the simple model's own threshold inside which it defers:
    rows with |p − threshold| ≤ band go to the complex model. The band was chosen on training-part
    predictions (``chosen_on``), never on the test part.
    """

    simple: str
    complex: str
    band: float
    t_lo: float
    t_hi: float
    criterion: str
    keep: float
    chosen_on: str
    share_routed_train: float
    share_routed_test: float
    rows: tuple[dict, ...]  # one per model: name, every quality metric, value, latency, share
    curve: tuple[dict, ...]  # training-part criterion per routed share
    gain_kept: float
    summary: str

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)


def cascade_predict(
    p_simple: np.ndarray, p_complex: np.ndarray, thr_simple: float, thr_complex: float, band: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decisions, scores and routing mask of the cascade for a given band."""
    p_simple, p_complex = np.asarray(p_simple, dtype=float), np.asarray(p_complex, dtype=float)
    routed = np.abs(p_simple - thr_simple) <= band if band >= 0 else np.zeros(len(p_simple), bool)
    pred = np.where(routed, p_complex >= thr_complex, p_simple >= thr_simple).astype(int)
    score = np.where(routed, p_complex, p_simple)
    return pred, score, routed


def _criterion(y, pred, score, tp_values, vm: ValueModel, criterion: str, mean_ms: float) -> float:
    from core.metrics.value import value_per_1k
    from core.models.evaluate import quality

    if criterion == "value_per_1k":
        return value_per_1k(y, pred, vm, tp_values=tp_values, mean_latency_ms=mean_ms).net_per_1k
    return quality(y, score, pred)[criterion]


def choose_band(
    y,
    p_simple,
    p_complex,
    thr_simple: float,
    thr_complex: float,
    *,
    tp_values=None,
    vm: ValueModel = ValueModel(),
    criterion: str = "value_per_1k",
    keep: float = 0.9,
    shares: Sequence[float] = tuple(np.linspace(0, 1, 21)),
    mean_simple_ms: float = 0.0,
    mean_complex_ms: float = 0.0,
) -> tuple[float, float, list[dict]]:
    """The narrowest band that keeps ``keep`` of the complex model's gain on training-part predictions.

    Returns (band, routed share, curve). When the complex model is not better than the simple one
    there, nothing is routed. Candidate bands are quantiles of |p − threshold|, i.e. routed shares.
    """
    y = np.asarray(y)
    dist = np.abs(np.asarray(p_simple, dtype=float) - thr_simple)
    sign = obj.get(criterion).sign
    curve, bands = [], []
    for s in shares:
        band = -1.0 if s <= 0 else (np.inf if s >= 1 else float(np.quantile(dist, s)))
        pred, score, routed = cascade_predict(p_simple, p_complex, thr_simple, thr_complex, band)
        share = float(routed.mean())
        mean_ms = mean_simple_ms + share * mean_complex_ms
        val = _criterion(y, pred, score, tp_values, vm, criterion, mean_ms)
        curve.append({"target_share": float(s), "share_routed": share, "value": float(val)})
        bands.append(band)
    base = curve[0]["value"]
    full = _criterion(
        y,
        (np.asarray(p_complex) >= thr_complex).astype(int),
        np.asarray(p_complex),
        tp_values,
        vm,
        criterion,
        mean_simple_ms + mean_complex_ms,
    )
    gain = (full - base) * -sign  # positive when the complex model is better
    if not gain > 0:
        return -1.0, 0.0, curve
    for c, band in zip(curve, bands):
        if (c["value"] - base) * -sign >= keep * gain:
            return band, c["share_routed"], curve
    return np.inf, 1.0, curve


def training_predictions(simple, complex_) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, str]:
    """(y, p_simple, p_complex, tp_values, where) on the training part, never the test part.

    Uses the out-of-fold predictions the evaluation kept when available (``Evaluation.oof_proba``);
    otherwise fits both pipelines on 75 % of the training part and predicts the other 25 %.
    """
    oof_s = getattr(simple.evaluation, "oof_proba", None)
    oof_c = getattr(complex_.evaluation, "oof_proba", None)
    train = simple.dataset.subset(simple.train_idx)
    if oof_s is not None and oof_c is not None:
        return np.asarray(train.y), np.asarray(oof_s), np.asarray(oof_c), train.value, "out-of-fold"
    from sklearn.base import clone

    from core.data import holdout

    fit_i, val_i = holdout(train, np.arange(len(train.y)), 0.25, simple.spec.seed)
    probs = []
    for cand in (simple, complex_):
        model = clone(cand.pipeline).fit(train.X.iloc[fit_i], train.y[fit_i])
        probs.append(model.predict_proba(train.X.iloc[val_i])[:, 1])
    tp = None if train.value is None else train.value[val_i]
    return np.asarray(train.y[val_i]), probs[0], probs[1], tp, "validation slice (25 % of training part)"


def _check_cascade_settings(criterion: str, keep: float) -> None:
    if criterion not in CASCADE_CRITERIA:
        raise UserInputError(
            f"The cascade criterion must be value_per_1k or a quality metric "
            f"({', '.join(CASCADE_CRITERIA[1:])}), got {criterion!r}.",
            field="criterion",
        )
    if not 0 < keep <= 1:
        raise UserInputError(
            f"keep is the share of the complex model's gain to keep, in (0, 1]; got {keep}.", field="keep"
        )


def cascade(
    simple,
    complex_,
    *,
    simple_info: CandidateInfo | None = None,
    complex_info: CandidateInfo | None = None,
    criterion: str = "value_per_1k",
    keep: float = 0.9,
) -> CascadeResult:
    """Evaluate the cascade "simple when confident, else complex" on the test part.

    Latency is *expected* latency: every request pays the simple model, the routed share also pays
    the complex one (mean, and as the same approximation p95 and model-only p95). Pass the
    ``CandidateInfo`` of an interleaved comparison so both parents' latency was measured together.
    """
    from core.metrics.value import value_per_1k
    from core.models.evaluate import quality

    _check_cascade_settings(criterion, keep)
    inf_s = simple_info or candidate_info(simple)
    inf_c = complex_info or candidate_info(complex_)
    vm = simple.spec.value_model
    y_tr, ps_tr, pc_tr, tp_tr, where = training_predictions(simple, complex_)
    band, share_tr, curve = choose_band(
        y_tr,
        ps_tr,
        pc_tr,
        simple.threshold,
        complex_.threshold,
        tp_values=tp_tr,
        vm=vm,
        criterion=criterion,
        keep=keep,
        mean_simple_ms=inf_s.latency_mean_ms,
        mean_complex_ms=inf_c.latency_mean_ms,
    )
    ctx = context_of(simple)
    ps, pc = simple.evaluation.test_proba, complex_.evaluation.test_proba
    pred, score, routed = cascade_predict(ps, pc, simple.threshold, complex_.threshold, band)
    share = float(routed.mean())
    rows = []
    expected = lambda attr: getattr(inf_s, attr) + share * getattr(inf_c, attr)  # noqa: E731
    lat_attrs = ("latency_mean_ms", "latency_p95_ms", "model_latency_p95_ms")
    for name, p, sc, lat, sh in (
        (simple.label, (ps >= simple.threshold).astype(int), ps, {a: getattr(inf_s, a) for a in lat_attrs}, 0.0),
        ("Cascade", pred, score, {a: expected(a) for a in lat_attrs}, share),
        (complex_.label, (pc >= complex_.threshold).astype(int), pc, {a: getattr(inf_c, a) for a in lat_attrs}, 1.0),
    ):
        row = {"model": name, **quality(ctx.y, sc, p)}
        row["value_per_1k"] = value_per_1k(
            ctx.y, p, vm, tp_values=ctx.tp_values, mean_latency_ms=lat["latency_mean_ms"]
        ).net_per_1k
        row.update(lat)
        row["share_routed"] = sh
        rows.append(row)
    s_val, c_val, k_val = (rows[0][criterion], rows[2][criterion], rows[1][criterion])
    gap = c_val - s_val
    # nothing routed means nothing kept or lost: the share is undefined, not 0 %
    gain_kept = float((k_val - s_val) / gap) if abs(gap) > 1e-12 and band >= 0 else float("nan")
    lat_ratio = _div(rows[1]["latency_mean_ms"], rows[2]["latency_mean_ms"], np.nan).item()
    model_ratio = _div(rows[1]["model_latency_p95_ms"], rows[2]["model_latency_p95_ms"], np.nan).item()
    md = obj.get(criterion)
    if band < 0:
        summary = (
            f"On the training part the complex model was not better on {md.label}, so the cascade "
            f"routes nothing: it is the simple model."
        )
    else:
        kept = f"{gain_kept:.0%}" if np.isfinite(gain_kept) else "–"
        summary = (
            f"Routing {share:.0%} of test requests to {complex_.label} keeps {kept} of its "
            f"{md.label} gain at {lat_ratio:.0%} of its mean pipeline latency "
            f"({model_ratio:.0%} of its model-only p95)."
        )
    return CascadeResult(
        simple.label,
        complex_.label,
        float(band),
        float(simple.threshold - band),
        float(simple.threshold + band),
        criterion,
        keep,
        where,
        share_tr,
        share,
        tuple(rows),
        tuple(curve),
        gain_kept,
        summary,
    )


# -- the whole report -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    """A comparison of each challenger against the baseline, fairness detail for every candidate, an
    optional cascade and explanations: what the Compare page shows and the export bundle stores."""

    study: str
    primary: str
    baseline: int
    candidates: tuple[CandidateInfo, ...]
    comparisons: tuple[Comparison, ...]
    fairness: tuple[FairnessDetail, ...]
    cascade: CascadeResult | None
    explanations: tuple[Any, ...]
    timings: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)


def load_candidates(
    url: str | None, study_name: str, numbers: Sequence[int], on_progress: ProgressFn | None = None
) -> list:
    """Re-fit trials of one study on their split, loading the data once for all of them.

    Fits run with one BLAS/OpenMP thread: on a busy 2-core machine a threaded histogram-boosting
    fit was 8× slower than a single-threaded one (oversubscription), with identical results.
    """
    from core import search
    from core.data import load_dataset
    from core.models import candidate as cand_mod

    progress = on_progress or (lambda msg, frac: None)
    spec = search.load_spec(search.open_study(url, study_name))
    with threadpool_limits(limits=1):
        ds = load_dataset(spec.data)
        out = []
        for i, n in enumerate(numbers):
            progress(f"Re-fitting trial #{n}", i / max(len(numbers), 1))
            out.append(cand_mod.load(url, study_name, int(n), dataset=ds))
    return out


def report(
    cands: Sequence,
    *,
    baseline: int | None = None,
    n_boot: int = N_BOOT,
    alpha: float = ALPHA,
    seed: int | None = None,
    latency_rounds: int = 3,
    fit_repeats: int = 0,
    with_cascade: bool = True,
    with_explain: bool = True,
    on_progress: ProgressFn | None = None,
    cascade_criterion: str = "value_per_1k",
    cascade_keep: float = 0.9,
) -> Report:
    """Compare each re-fitted candidate with the baseline; fairness detail, cascade, explanations.

    ``baseline`` (a trial number) defaults to the simplest candidate. The cascade pairs the baseline
    with the first challenger of another class; its band keeps ``cascade_keep`` of the complex
    model's gain on ``cascade_criterion`` (see :func:`cascade`).
    """
    if len(cands) < 2:
        raise UserInputError("Pick at least two trials to compare.", field="candidates")
    _check_cascade_settings(cascade_criterion, cascade_keep)  # before minutes of work, not after
    progress = on_progress or (lambda msg, frac: None)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if baseline is None:
        base = min(cands, key=lambda c: (KLASS_RANK.get(c.klass, 1), c.evaluation.metrics["model_size_bytes"]))
    else:
        base = next((c for c in cands if c.number == baseline), None)
        if base is None:
            raise UserInputError(
                f"The baseline #{baseline} is not among the candidates {', '.join(f'#{c.number}' for c in cands)}.",
                field="baseline",
            )
    spec = base.spec
    primary = primary_metric(spec)
    others = [c for c in cands if c is not base]
    comps: list[Comparison] = []
    infos: dict[int, CandidateInfo] = {}
    with threadpool_limits(limits=1):
        for i, c in enumerate(others):
            progress(f"Comparing #{c.number} with #{base.number}", 0.6 * i / len(others))
            comp = compare(
                c, base, n_boot=n_boot, alpha=alpha, seed=seed, latency_rounds=latency_rounds, fit_repeats=fit_repeats
            )
            comps.append(comp)
            for info in (comp.challenger, comp.baseline):
                infos.setdefault(info.number, info)
        timings["compare_s"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        progress("Fairness detail per group", 0.6)
        fair = tuple(candidate_fairness(c, n_boot=n_boot, seed=seed, alpha=alpha) for c in cands)
        timings["fairness_s"] = time.perf_counter() - t1
        casc = None
        pair = next(((base, c) for c in others if c.klass != base.klass), None)
        if with_cascade and pair is not None:
            t2 = time.perf_counter()
            progress("Cascade: simple when confident, complex otherwise", 0.7)
            s, c = sorted(pair, key=lambda x: KLASS_RANK.get(x.klass, 1))
            casc = cascade(
                s,
                c,
                simple_info=infos.get(s.number),
                complex_info=infos.get(c.number),
                criterion=cascade_criterion,
                keep=cascade_keep,
            )
            timings["cascade_s"] = time.perf_counter() - t2
        expl: tuple = ()
        if with_explain:
            from core.decide import explain

            t3 = time.perf_counter()
            progress("Permutation importance and partial dependence", 0.8)
            expl = tuple(explain.explain(c, scoring=primary) for c in cands)
            timings["explain_s"] = time.perf_counter() - t3
    timings["total_s"] = time.perf_counter() - t0
    progress("Done", 1.0)
    return Report(
        base.study_name,
        primary,
        int(base.number),
        tuple(infos.get(c.number) or candidate_info(c) for c in cands),
        tuple(comps),
        fair,
        casc,
        expl,
        timings,
    )


def run(
    url: str | None,
    study_name: str,
    numbers: Sequence[int],
    *,
    baseline: int | None = None,
    on_progress: ProgressFn | None = None,
    **options: Any,
) -> Report:
    """Re-fit the chosen trials and build the :class:`Report` (options as :func:`report`)."""
    numbers = list(dict.fromkeys(int(n) for n in numbers))
    if baseline is not None and int(baseline) not in numbers:
        numbers.append(int(baseline))
    if len(numbers) < 2:
        raise UserInputError("Pick at least two trials to compare.", field="candidates")
    progress = on_progress or (lambda msg, frac: None)
    t0 = time.perf_counter()
    cands = load_candidates(url, study_name, numbers, lambda m, f: progress(m, 0.5 * f))
    refit_s = time.perf_counter() - t0
    rep = report(cands, baseline=baseline, on_progress=lambda m, f: progress(m, 0.5 + 0.5 * f), **options)
    return replace(rep, timings={"refit_s": refit_s, **rep.timings, "total_s": refit_s + rep.timings["total_s"]})


# -- JSON -------------------------------------------------------------------------------------------


def jsonable(x: Any) -> Any:
    """Dataclasses, numpy scalars/arrays and NaN/inf made JSON-safe (NaN and inf become None)."""
    if is_dataclass(x) and not isinstance(x, type):
        return {f: jsonable(getattr(x, f)) for f in x.__dataclass_fields__}
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return [jsonable(v) for v in x.tolist()]
    if isinstance(x, (np.bool_, bool)):
        return bool(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        v = float(x)
        return v if math.isfinite(v) else None
    return x
