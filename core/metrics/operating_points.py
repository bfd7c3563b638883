"""A fitted model's curve of operating points: the threshold rules it offers, each with every
threshold-dependent metric on the search data and on the held-out test part.

Why: a trial fits one model but its scores support every cut-off; judging it at one tuned threshold
showed the room a narrow slice of the trade-offs (a fairness range of 0.14–0.20 where the same
models, cut elsewhere, reach much further) at no extra fitting cost. Rules are chosen on the search
(out-of-fold) scores only and then applied unchanged to the held-out scores. The curve is kept small
(the rules non-dominated on search data for the spec's threshold-dependent objectives, plus anchors)
so 10,000-trial studies stay fast. The metrics come from the same kernels as a single evaluation,
fed one decision row per threshold, so a point's figures equal what :func:`quality` &c. would say.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import moocore
import numpy as np

from core import objectives as obj
from core._json import jsonable
from core.metrics.decision import cut_points, cuts_at, decide
from core.metrics.fairness import fairness_arrays
from core.metrics.quality import decision_quality
from core.metrics.value import value_arrays
from core.spec import ValueModel

#: the metrics that change with the decision rule, and so are stored per operating point
THRESHOLD_METRICS = (
    "accuracy",
    "balanced_accuracy",
    "f1",
    "value_per_1k",
    "dp_diff",
    "dp_ratio",
    "eo_diff",
    "worst_group_recall",
    "worst_group_accuracy",
)
QUALITY_AT_THRESHOLD = ("accuracy", "balanced_accuracy", "f1")
MAX_POINTS = 25
N_CANDIDATES = 64
N_TAIL, TAIL_LOWEST = 16, 0.002  # the log-spaced candidates near each end (see tail_cuts)
DIGITS = 6
KIND_THRESHOLD = "threshold"
KIND_GROUP = "group_thresholds"
#: group rules per trial and criterion: targets as multiples of the tuned rule's overall rate
GROUP_RATE_FACTORS = (0.5, 0.75, 1.0, 1.5, 2.0)
#: what a group rule equalises across groups, in plain words (registry: every list derives from it).
#: Equal recall is the deterministic part of equalised odds (Hardt et al.'s equal opportunity):
#: equalising both recall and false-positive rate needs randomised rules, which a bundle cannot apply
#: bit for bit.
CRITERION_PARITY, CRITERION_OPPORTUNITY = "selection_rate", "recall"
GROUP_CRITERIA = {
    CRITERION_PARITY: "equal selection rates (demographic parity)",
    CRITERION_OPPORTUNITY: "equal recall (equal opportunity)",
}


@dataclass(frozen=True)
class Scores:
    """One part's scores: labels, probabilities, sensitive groups, per-row TP value and, for
    out-of-fold scores, the fold of each row (quality is then the mean over folds, as the search's)."""

    y: np.ndarray
    proba: np.ndarray
    groups: Any
    tp_values: np.ndarray | None = None
    folds: np.ndarray | None = None


def _quality(s: Scores, P: np.ndarray) -> dict[str, np.ndarray]:
    """Accuracy, balanced accuracy and F1 per threshold (row of ``P``): pooled, or the mean over folds."""
    if s.folds is None:
        return decision_quality(np.ones((1, P.shape[1])), s.y, P)
    # one weight row (the fold's rows) shared by every decision row
    per_fold = [decision_quality((s.folds == k)[None, :] * 1.0, s.y, P) for k in np.unique(s.folds)]
    return {m: np.mean([f[m] for f in per_fold], axis=0) for m in QUALITY_AT_THRESHOLD}


def curve_metrics(
    thresholds: np.ndarray, s: Scores, vm: ValueModel, *, mean_latency_ms: float = 0.0
) -> dict[str, np.ndarray]:
    """Every threshold-dependent metric (:data:`THRESHOLD_METRICS`) at each threshold, one array each."""
    thresholds = np.asarray(thresholds, dtype=float)
    P = decide(np.asarray(s.proba, dtype=float)[None, :], thresholds[:, None]).astype(float)  # (T, n) decisions
    return decision_metrics(P, s, vm, mean_latency_ms=mean_latency_ms)


def decision_metrics(
    P: np.ndarray, s: Scores, vm: ValueModel, *, mean_latency_ms: float = 0.0
) -> dict[str, np.ndarray]:
    """:func:`curve_metrics` for any decision rows ``P`` (rules × rows of 0/1): group rules share the kernels."""
    ones = np.ones((1, P.shape[1]))  # one weight row shared by every decision row
    out = _quality(s, P)
    out.update(fairness_arrays(ones, s.y, P, np.asarray(s.groups)))
    value = value_arrays(ones, s.y, P, vm, tp_values=s.tp_values, mean_latency_ms=mean_latency_ms)
    out["value_per_1k"] = value["net_per_1k"]
    return out


def group_label(value: Any) -> str:
    """A group value as a rule keys it: stripped text, whole numbers without ``.0`` (a column read
    as floats at scoring time still finds the group it had as integers in training)."""
    text = str(value).strip()
    try:
        num = float(text)
    except ValueError:
        return text
    return str(int(num)) if num.is_integer() else text


def group_decisions(proba: Any, groups: Any, thresholds: Mapping[str, float], default: float) -> np.ndarray:
    """0/1 decisions of a group rule: ``proba >= thresholds[group]``, ``default`` for a group the
    rule does not know. The one kernel the curve, the bundle and ``reproduce`` apply (bit for bit)."""
    labels = [group_label(g) for g in np.asarray(groups, dtype=object)]
    thr = np.array([float(thresholds.get(g, default)) for g in labels], dtype=float)
    return decide(proba, thr)


def _rate_cut(scores: np.ndarray, rate: float) -> float:
    """A threshold selecting ``rate`` of ``scores`` (as near as ties allow; never none or all of them):
    the midpoint between the k-th and (k+1)-th highest score, k = round(rate × n)."""
    desc = np.sort(np.asarray(scores, dtype=float))[::-1]
    k = int(np.clip(round(rate * len(desc)), 1, max(len(desc) - 1, 1)))
    if len(desc) < 2:
        return float(desc[0]) if len(desc) else 0.5
    return float((desc[k - 1] + desc[k]) / 2)


def parity_thresholds(proba: Any, groups: Any, rate: float) -> tuple[dict[str, float], float]:
    """Per-group thresholds giving every group the same selection rate ``rate`` (demographic
    parity), and the pooled threshold at that rate for groups the rule does not know.

    Why a per-group quantile and not fairlearn's ThresholdOptimizer: its rules randomise between
    two thresholds, and a bundle must decide the same row the same way every time.
    """
    proba = np.asarray(proba, dtype=float)
    labels = np.array([group_label(g) for g in np.asarray(groups, dtype=object)], dtype=object)
    cuts = {str(g): round(_rate_cut(proba[labels == g], rate), DIGITS) for g in sorted(set(labels))}
    return cuts, round(_rate_cut(proba, rate), DIGITS)


def opportunity_thresholds(proba: Any, y: Any, groups: Any, recall: float) -> tuple[dict[str, float], float]:
    """Per-group thresholds giving every group the same recall ``recall`` (equal opportunity): the
    cut selecting that share of each group's positives, and the pooled one for unknown groups. A
    group without positives in the search data keeps the pooled threshold."""
    proba, y = np.asarray(proba, dtype=float), np.asarray(y)
    labels = np.array([group_label(g) for g in np.asarray(groups, dtype=object)], dtype=object)
    positive = y == 1
    pooled = round(_rate_cut(proba[positive], recall), DIGITS) if positive.any() else 0.5
    cuts = {}
    for g in sorted(set(labels)):
        mine = proba[(labels == g) & positive]
        cuts[str(g)] = round(_rate_cut(mine, recall), DIGITS) if len(mine) >= 2 else pooled
    return cuts, pooled


def _group_rules(search: Scores, tuned: float) -> list[tuple[dict[str, float], float, str]]:
    """A few rules per criterion around the tuned rule's overall selection rate and recall (see
    :data:`GROUP_RATE_FACTORS`): (thresholds per group, threshold for unknown groups, criterion)."""
    if len(set(np.asarray(search.groups, dtype=object).tolist())) < 2:
        return []
    chosen = decide(search.proba, tuned)

    def targets(base: float) -> list[float]:
        return sorted({round(float(np.clip(base * f, 0.02, 0.98)), 4) for f in GROUP_RATE_FACTORS})

    out = [(*parity_thresholds(search.proba, search.groups, r), CRITERION_PARITY) for r in targets(chosen.mean())]
    positive = np.asarray(search.y) == 1
    if positive.sum() >= 2:
        recall = float(chosen[positive].mean())
        out += [
            (*opportunity_thresholds(search.proba, search.y, search.groups, r), CRITERION_OPPORTUNITY)
            for r in targets(recall)
        ]
    return out


def _group_points(rules: list[tuple[dict[str, float], float, str]], s: Scores, vm: ValueModel, lat: float) -> dict:
    P = np.vstack([group_decisions(s.proba, s.groups, cuts, d) for cuts, d, _c in rules]).astype(float)
    return decision_metrics(P, s, vm, mean_latency_ms=lat)


def _nondominated(metrics: dict[str, np.ndarray], names: Sequence[str]) -> np.ndarray:
    """Indices of the thresholds non-dominated on ``names`` (all of them when none is given)."""
    size = len(next(iter(metrics.values())))
    if not names:
        return np.arange(size)
    L = np.column_stack([metrics[n] * obj.get(n).sign for n in names])
    ok = np.flatnonzero(np.isfinite(L).all(axis=1))
    if len(ok) == 0:
        return ok
    return ok[moocore.is_nondominated(L[ok], keep_weakly=True)]


def select(metrics: dict[str, np.ndarray], objectives: Sequence[str], anchors: Sequence[int], cap: int) -> np.ndarray:
    """The kept points (sorted indices): the non-dominated ones for the threshold-dependent
    ``objectives``, thinned evenly to ``cap`` with every anchor kept."""
    names = [n for n in objectives if n in THRESHOLD_METRICS]
    front = _nondominated(metrics, names) if names else np.empty(0, dtype=int)
    kept = np.unique(np.asarray(anchors, dtype=int))
    room = max(cap - len(kept), 0)
    rest = np.setdiff1d(front, kept)
    if len(rest) > room:
        rest = rest[np.unique(np.linspace(0, len(rest) - 1, room).round().astype(int))] if room else rest[:0]
    return np.union1d(kept, rest).astype(int)


def _rounded(metrics: dict[str, np.ndarray], keep: np.ndarray) -> dict[str, list]:
    return {m: jsonable(np.round(np.asarray(v, dtype=float)[keep], DIGITS)) for m, v in metrics.items()}


def tail_cuts(proba: Any) -> np.ndarray:
    """Extra candidate cuts where few rows are selected or left out (selection rates from 0.2 % to
    half, log-spaced, from both ends). Why: evenly spaced quantiles step the selection rate by 1.6 %,
    and near the extremes that step is the whole gap between "nobody selected" (no disparity, no
    skill) and the first useful rule: with a rare positive class the front over operating points
    had a hole there that a plain search's random thresholds filled (bench/README.md)."""
    rates = np.geomspace(TAIL_LOWEST, 0.5, N_TAIL)
    return cuts_at(proba, np.concatenate([rates, 1.0 - rates]))


def operating_points(
    search: Scores,
    test: Scores | None,
    vm: ValueModel,
    objectives: Sequence[str],
    *,
    tuned: float,
    mean_latency_ms: float = 0.0,
    n_candidates: int = N_CANDIDATES,
    cap: int = MAX_POINTS,
    group_rules: bool = False,
) -> dict[str, Any]:
    """A trial's compact curve as plain JSON: ``threshold`` (ascending), ``search`` and ``test``
    (metric → one value per threshold, NaN as null) and ``tuned`` (the index of the trial's own rule).

    Anchors: the tuned rule (so the curve contains the trial's one-point figures and a front over
    operating points can only be as good or better), and the lowest and highest cut. With
    ``group_rules`` (the spec's ``allow_group_thresholds``) a few rules per criterion of
    :data:`GROUP_CRITERIA` follow the threshold points, and the curve gains per-point ``kinds``,
    ``group_thresholds`` and ``group_criteria`` (a group point's ``threshold`` is its threshold for
    groups it does not know).
    """
    thresholds = np.unique(np.concatenate([cut_points(search.proba, n_candidates), tail_cuts(search.proba), [tuned]]))
    on_search = curve_metrics(thresholds, search, vm, mean_latency_ms=mean_latency_ms)
    tuned_at = int(np.flatnonzero(thresholds == tuned)[0])
    keep = select(on_search, objectives, [tuned_at, 0, len(thresholds) - 1], cap)
    curve: dict[str, Any] = {
        "kind": KIND_THRESHOLD,
        "threshold": jsonable(np.round(thresholds[keep], DIGITS)),
        "tuned": int(np.flatnonzero(keep == tuned_at)[0]),
        "search": _rounded(on_search, keep),
        "test": {},
    }
    if test is not None:
        on_test = curve_metrics(thresholds[keep], test, vm, mean_latency_ms=mean_latency_ms)
        curve["test"] = _rounded(on_test, np.arange(len(keep)))
    if group_rules:
        _append_group_points(curve, search, test, vm, tuned, mean_latency_ms)
    return curve


def _append_group_points(
    curve: dict[str, Any], search: Scores, test: Scores | None, vm: ValueModel, tuned: float, lat: float
) -> None:
    """Add the group rules to ``curve`` as extra points (chosen on search scores, applied to test)."""
    rules = _group_rules(search, tuned)
    n = len(curve["threshold"])
    curve["kinds"] = [KIND_THRESHOLD] * n + [KIND_GROUP] * len(rules)
    curve["group_thresholds"] = [None] * n + [dict(cuts) for cuts, _d, _c in rules]
    curve["group_criteria"] = [None] * n + [c for _cuts, _d, c in rules]
    if not rules:
        return
    curve["threshold"] = curve["threshold"] + [float(d) for _c, d, _k in rules]
    parts = [("search", search)] + ([("test", test)] if test is not None and curve["test"] else [])
    for part, scores in parts:
        extra = _rounded(_group_points(rules, scores, vm, lat), np.arange(len(rules)))
        curve[part] = {m: curve[part][m] + extra[m] for m in curve[part]}


__all__ = [
    "CRITERION_OPPORTUNITY",
    "CRITERION_PARITY",
    "GROUP_CRITERIA",
    "KIND_GROUP",
    "KIND_THRESHOLD",
    "MAX_POINTS",
    "THRESHOLD_METRICS",
    "Scores",
    "curve_metrics",
    "decision_metrics",
    "group_decisions",
    "group_label",
    "operating_points",
    "opportunity_thresholds",
    "parity_thresholds",
    "select",
]
