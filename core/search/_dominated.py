"""Multi-fidelity's second step: a trial whose cross-validation shows that none of its operating
points can be on the search front stops there, before the refit, the held-out scoring, the size and
the latency measurement.

Why: on a large table the refit and the measurements are a large part of a trial, and most trials
of a search end up dominated; a plain script that fits once per trial ran several times as many
trials in the same wall time (bench/README.md).

* It applies with at least :data:`core.search._first_fold.MIN_TRAIN_ROWS` training rows, whatever
  the objectives.
* The trial's would-be curve (:func:`core.metrics.operating_points.operating_points` on the
  out-of-fold scores: the same candidates, rounding and group rules the stored curve would have, and
  its own tuned rule) is compared with every finished trial's stored curve; it stops when each of its
  points is beaten, strictly on every objective, by some finished point.
* The figures of the predictions are final after the folds, so on them the comparison is exact and
  needs no margin (unlike the first-fold rule, :mod:`core.search._first_fold`). Net value is taken at
  zero latency cost, its best. The model's own figures (latency, size, fit time:
  :data:`core.search._first_fold.ESTIMATED`) come only after the refit, so they are taken at
  their plausible best from the last fold's model (:func:`core.models.evaluate.fold_estimates`),
  and only when the trial is already beaten on the
  others: a trial that may still reach the front costs nothing more.
* Limits are on objectives, so a point that beats another on every objective meets every limit the
  other meets, now or after the room revises them: the stopped trial could not reach the feasible
  front either.
* A stopped trial is PRUNED like a first-fold stop: no figures, its reason in
  :data:`core.search._first_fold.ATTR_STOPPED`, counted in the budget, never run again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import moocore
import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from core import objectives as obj
from core.metrics.operating_points import Scores, operating_points
from core.models.evaluate import Estimate
from core.search import _first_fold as first_fold
from core.search._first_fold import MIN_TRAIN_ROWS
from core.search._predictions import read_curve
from core.spec import Spec


def applies(spec: Spec, n_train: int) -> bool:
    """Whether the search may stop trials after their folds (see the module docstring)."""
    return n_train >= MIN_TRAIN_ROWS and bool(spec.objective_names)


def losses(curve: Mapping[str, Any] | None, metrics: Mapping[str, Any], names: Sequence[str]) -> np.ndarray:
    """One row of losses (lower is better) per operating point of ``curve`` on search data; a
    threshold-free objective (a ranking such as ROC AUC) takes the trial's one figure on every row,
    and a trial without a curve is its one point. Rows with a missing figure are left out."""
    search = (curve or {}).get("search") or {}
    size = len(next(iter(search.values()))) if search else 1
    cols = []
    for n in names:
        raw = search.get(n) if n in search else metrics.get(n)
        vals = np.asarray([np.nan if v is None else v for v in np.atleast_1d(np.asarray(raw, dtype=object))], float)
        cols.append(np.broadcast_to(vals, (size,)) * obj.get(n).sign)
    L = np.column_stack(cols) if cols else np.empty((size, 0))
    return L[np.isfinite(L).all(axis=1)]


def _finished_front(trials: Sequence[FrozenTrial], names: Sequence[str]) -> np.ndarray:
    """The non-dominated operating points (losses) of every finished trial."""
    rows = [
        losses(read_curve(t.user_attrs), t.user_attrs.get("metrics") or {}, names)
        for t in trials
        if t.state == TrialState.COMPLETE
    ]
    L = np.vstack(rows) if rows else np.empty((0, len(names)))
    return L[moocore.is_nondominated(L, keep_weakly=True)] if len(L) else L


def beaten(mine: np.ndarray, others: np.ndarray) -> bool:
    """Whether every row of ``mine`` has a row of ``others`` lower on every objective (the
    first-fold rule's test with no margin)."""
    return first_fold.beaten(mine, others, np.zeros(mine.shape[1]))


def stopper(spec: Spec, study: optuna.Study) -> Callable[[Scores, float, Mapping[str, float], Estimate], str | None]:
    """The check for :func:`core.models.evaluate.evaluate` after its folds: the reason to stop, or None."""
    names = spec.objective_names
    known = first_fold.predicted(names)
    estimated = len(known) < len(names)

    def check(oof: Scores, tuned: float, metrics: Mapping[str, float], estimate: Estimate) -> str | None:
        trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if not trials:
            return None
        curve = operating_points(
            oof, None, spec.value_model, names, tuned=tuned, group_rules=spec.allow_group_thresholds
        )
        if known and not beaten(losses(curve, metrics, known), _finished_front(trials, known)):
            return None  # may reach the front on the figures known now: nothing more to ask
        if estimated and not beaten(losses(curve, {**metrics, **estimate()}, names), _finished_front(trials, names)):
            return None
        best = ", with its own latency, size and fit time at their plausible best (from a fold's model)"
        return (
            f"stopped after its {spec.validation.cv_folds} cross-validation folds: each of its operating "
            f"points was beaten on every objective by a finished trial's{best if estimated else ''}, so "
            "it could not reach the front; it was not refitted, measured or scored on the held-out part"
        )

    return check
