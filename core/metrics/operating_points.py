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

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import moocore
import numpy as np

from core import objectives as obj
from core._json import jsonable
from core.metrics.decision import cut_points, decide
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
DIGITS = 6
KIND_THRESHOLD = "threshold"


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
    ones = np.ones((1, P.shape[1]))  # one weight row shared by every decision row
    out = _quality(s, P)
    out.update(fairness_arrays(ones, s.y, P, np.asarray(s.groups)))
    value = value_arrays(ones, s.y, P, vm, tp_values=s.tp_values, mean_latency_ms=mean_latency_ms)
    out["value_per_1k"] = value["net_per_1k"]
    return out


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
) -> dict[str, Any]:
    """A trial's compact curve as plain JSON: ``threshold`` (ascending), ``search`` and ``test``
    (metric → one value per threshold, NaN as null) and ``tuned`` (the index of the trial's own rule).

    Anchors: the tuned rule (so the curve contains the trial's one-point figures and a front over
    operating points can only be as good or better), and the lowest and highest cut.
    """
    thresholds = np.unique(np.concatenate([cut_points(search.proba, n_candidates), [tuned]]))
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
    return curve


__all__ = [
    "KIND_THRESHOLD",
    "MAX_POINTS",
    "THRESHOLD_METRICS",
    "Scores",
    "curve_metrics",
    "operating_points",
    "select",
]
