"""Multi-fidelity on large tables: a trial whose first cross-validation fold shows it cannot reach
the front stops there, before the other folds, the refit and the latency measurement.

Why: on a table of tens of thousands of rows a trial is four fits (three folds and the refit) and
most trials end up dominated; a plain script that fits once per trial ran several times as many
trials in the same wall time and its front was the better for it (bench/README.md). The first fold
already says much: every trial's fold 0 is *the same rows* (the folds are seeded by the spec), so
its operating points compare model against model on the same rows, with the same noise.

The rule, kept conservative because a stopped trial is lost to the room:

* It applies only with at least :data:`MIN_TRAIN_ROWS` training rows (below that the folds are
  cheap and one fold's rows too few), only when every objective is a figure of the predictions
  (:data:`PREDICTION_METRICS`) or one of the model's own (:data:`ESTIMATED`: latency, size, fit
  time), with at least one of the first kind, and only once :data:`MIN_FINISHED` finished trials
  carry their first-fold points.
* The model's own figures are unknown until the refit; they are taken at their plausible best from
  the first fold's model (:func:`core.models.evaluate.fold_estimates`: fewer rows never make a model
  larger or slower), measured only for a trial already beaten on the figures of the predictions,
  and a finished trial beats it on them with no margin.
* A trial stops when each of its first-fold operating points that selects between
  :data:`MID_RATES` of the rows is beaten on every objective, by some finished trial's first-fold
  point, by more than ``margin``: the :data:`MARGIN_QUANTILE` quantile, over pairs of finished
  trials, of how far the difference between two trials on the first fold was from their difference
  on all out-of-fold rows. The extreme cut-offs (selecting almost nobody or almost everybody) are
  left out because every model reaches them alike: they can never decide.
* A stopped trial is PRUNED: it shows no figures (every figure the room sees is the full data's),
  records why (:data:`ATTR_STOPPED`), counts in the budget, and its configuration is never run again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from core import objectives as obj
from core.metrics.decision import cut_points
from core.metrics.operating_points import N_CANDIDATES, THRESHOLD_METRICS, Scores, curve_metrics, select, tail_cuts
from core.metrics.quality import quality
from core.models.evaluate import Estimate
from core.spec import Spec

#: a finished trial's first-fold figures: ``points`` (losses of its kept first-fold operating
#: points) and ``tuned`` (losses at its own rule on the first fold), for the rule above
ATTR_FIRST_FOLD = "tradeoff.first_fold"
#: a stopped trial's reason, in words: after its first fold, or after every fold
#: (:mod:`core.search._dominated`); the name is from when only the first fold stopped trials, kept
#: so studies stored then read the same
ATTR_STOPPED = "stopped_after_first_fold"
MIN_TRAIN_ROWS = 5000
MIN_FINISHED = 8
MID_RATES = (0.02, 0.98)
MARGIN_QUANTILE = 0.75
RECENT = 40  # finished trials whose pairs estimate the margin (the newest: the sampler's current region)
#: objectives a first fold's predictions determine: the threshold-dependent ones and the rankings
PREDICTION_METRICS = frozenset(THRESHOLD_METRICS) - {"value_per_1k"} | {"roc_auc", "pr_auc", "log_loss"}
#: objectives only the refit model has (its own figures), estimated from a fold's model
ESTIMATED = frozenset(n for n, m in obj.REGISTRY.items() if m.group in ("latency", "complexity")) | {
    "infra_cost_per_1m"
}


def predicted(names: Sequence[str]) -> list[str]:
    """The objectives among ``names`` that a fold's predictions determine (the rest are :data:`ESTIMATED`)."""
    return [n for n in names if n not in ESTIMATED]


def applies(spec: Spec, n_train: int) -> bool:
    """Whether the search may stop trials after their first fold (see the module docstring)."""
    names = spec.objective_names
    return (
        n_train >= MIN_TRAIN_ROWS
        and bool(predicted(names))
        and all(n in PREDICTION_METRICS or n in ESTIMATED for n in names)
    )


def _losses(metrics: dict[str, np.ndarray], names: Sequence[str], size: int) -> np.ndarray:
    cols = [np.broadcast_to(np.asarray(metrics[n], dtype=float), (size,)) * obj.get(n).sign for n in names]
    return np.column_stack(cols) if cols else np.empty((size, 0))


def fold_points(spec: Spec, s: Scores, tuned: float | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Losses of the first fold's non-dominated operating points that select within :data:`MID_RATES`,
    and (with ``tuned``) the losses at that threshold, on the :func:`predicted` objectives."""
    names = predicted(spec.objective_names)
    proba = np.asarray(s.proba, dtype=float)
    cuts = np.unique(np.concatenate([cut_points(proba, N_CANDIDATES), tail_cuts(proba)]))
    extra = [] if tuned is None else [float(tuned)]
    thresholds = np.concatenate([cuts, extra])
    m = curve_metrics(thresholds, s, spec.value_model)
    threshold_free = [n for n in names if n not in m]  # the rankings: one value for every cut
    if threshold_free:
        ranking = quality(s.y, proba, (proba >= 0.5).astype(int))
        m.update({k: np.asarray(ranking[k]) for k in threshold_free})
    L = _losses(m, names, len(thresholds))
    rate = (proba[None, :] >= thresholds[:, None]).mean(axis=1)
    mid = np.flatnonzero((rate >= MID_RATES[0]) & (rate <= MID_RATES[1]) & np.isfinite(L).all(axis=1))
    mid = mid[mid < len(cuts)]
    keep = mid[select({n: v[mid] for n, v in m.items() if np.ndim(v)}, names, [], 25)] if len(mid) else mid
    if len(mid) and not len(keep):  # rankings alone (ROC AUC): every cut is the same point
        keep = mid[:1]
    return L[keep], (L[-1] if tuned is not None else None)


def summary(spec: Spec, s: Scores, tuned: float) -> dict[str, Any]:
    """What a finished trial stores for the rule (:data:`ATTR_FIRST_FOLD`)."""
    points, at_tuned = fold_points(spec, s, tuned)
    tuned_losses = [] if at_tuned is None else np.round(at_tuned, 6).tolist()
    return {"points": np.round(points, 6).tolist(), "tuned": tuned_losses}


def _finished(trials: Sequence[FrozenTrial], names: Sequence[str]) -> list[tuple[np.ndarray, ...]]:
    """(first-fold points, first-fold tuned losses, all-rows tuned losses, losses on the
    :data:`ESTIMATED` objectives) of each finished trial; ``names`` are the objectives."""
    known, own = predicted(names), [n for n in names if n in ESTIMATED]
    out: list[tuple[np.ndarray, ...]] = []
    for t in trials:
        ff, metrics = t.user_attrs.get(ATTR_FIRST_FOLD), t.user_attrs.get("metrics") or {}
        if t.state != TrialState.COMPLETE or not ff or any(metrics.get(n) is None for n in names):
            continue
        pooled = np.array([float(metrics[n]) * obj.get(n).sign for n in known])
        points = np.asarray(ff["points"], dtype=float).reshape(-1, len(known))
        figures = np.array([float(metrics[n]) * obj.get(n).sign for n in own])
        out.append((points, np.asarray(ff["tuned"], dtype=float), pooled, figures))
    return out


def margin(finished: list[tuple[np.ndarray, ...]]) -> np.ndarray:
    """Per objective: how far a difference between two trials on the first fold may be from their
    difference on every out-of-fold row (the :data:`MARGIN_QUANTILE` quantile over pairs)."""
    recent = finished[-RECENT:]
    errs = [
        np.abs((a[1] - b[1]) - (a[2] - b[2]))
        for i, a in enumerate(recent)
        for b in recent[i + 1 :]
        if np.isfinite(a[1]).all() and np.isfinite(b[1]).all()
    ]
    if not errs:
        return np.full(len(finished[0][2]) if finished else 0, np.inf)
    return np.quantile(np.vstack(errs), MARGIN_QUANTILE, axis=0)


def beaten(mine: np.ndarray, others: np.ndarray, by: np.ndarray) -> bool:
    """Whether every row of ``mine`` (losses) has a row of ``others`` lower by more than ``by`` everywhere."""
    if len(mine) == 0 or len(others) == 0:
        return False
    better = np.all(others[None, :, :] < mine[:, None, :] - by[None, None, :], axis=2)
    return bool(better.any(axis=1).all())


def _with_own(finished: list[tuple[np.ndarray, ...]]) -> np.ndarray:
    """Every finished first-fold point beside its trial's :data:`ESTIMATED` figures."""
    return np.vstack([np.hstack([f[0], np.broadcast_to(f[3], (len(f[0]), len(f[3])))]) for f in finished])


def stopper(spec: Spec, study: optuna.Study) -> Callable[[Scores, Estimate], str | None]:
    """The first-fold check for :func:`core.models.evaluate.evaluate`: the reason to stop, or None;
    ``estimate()`` gives the first fold's model's own figures at their plausible best."""
    names = spec.objective_names
    own = [n for n in names if n in ESTIMATED]

    def check(s: Scores, estimate: Estimate) -> str | None:
        finished = _finished(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)), names)
        if len(finished) < MIN_FINISHED:
            return None
        by = margin(finished)
        mine, _ = fold_points(spec, s)
        others = np.vstack([f[0] for f in finished])
        if not np.isfinite(by).all() or not beaten(mine, others, by):
            return None
        if own:  # beaten on the predictions: is it beaten on its own figures at their best too?
            est = estimate()
            mine_own = np.array([float(est.get(n, np.nan)) * obj.get(n).sign for n in own])
            mine = np.hstack([mine, np.broadcast_to(mine_own, (len(mine), len(own)))])
            if not beaten(mine, _with_own(finished), np.concatenate([by, np.zeros(len(own))])):
                return None
        known = predicted(names)
        best = f"; its {', '.join(own)} at their plausible best (its first fold's model)" if own else ""
        return (
            f"stopped after the first of {spec.validation.cv_folds} folds: on those rows each of its "
            f"operating points was beaten on every objective by a finished trial's, by more than a "
            f"first fold's usual error ({', '.join(f'{n} {b:.3g}' for n, b in zip(known, by, strict=True))}){best}"
        )

    return check


def stopped(t: FrozenTrial) -> bool:
    """Whether the trial was stopped after its first fold (it has no figures)."""
    return t.state == TrialState.PRUNED and ATTR_STOPPED in t.user_attrs
