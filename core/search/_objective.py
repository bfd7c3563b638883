"""The Optuna objective: fit and measure one configuration and store every metric on the trial,
all of them before the values are returned, so a trial is COMPLETE only with all its attributes."""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import optuna
import sqlalchemy as sa
from optuna.trial import TrialState

from core.data import Dataset
from core.models import families as fam
from core.models.evaluate import Evaluation, StoppedEarly, evaluate
from core.search import _dominated as dominated
from core.search import _first_fold as first_fold
from core.search import artifacts
from core.search._errors import db_retry
from core.search._precise import ATTR_LATENCY, may_reach_front
from core.search._predictions import ATTR_CURVE, ATTR_PREDICTIONS, predictions_attr
from core.search._signals import Gate
from core.spec import Spec

ATTR_INTERRUPTED = "interrupted"
ATTR_DUPLICATE = "duplicate_of"


@dataclass
class Current:
    """What this worker knows about the trial it runs, to finish it after a lost connection."""

    number: int | None = None
    values: tuple[float, ...] | None = None
    duplicate_of: int | None = None  # the trial was skipped: that one has its configuration

    def reset(self) -> None:
        self.number, self.values, self.duplicate_of = None, None, None


def _set_attrs(trial: optuna.Trial, attrs: dict[str, Any], url: str | None) -> None:
    """Write user attributes, riding out a database blip (each write is idempotent)."""
    for key, value in attrs.items():
        if url is None:
            trial.set_user_attr(key, value)
        else:
            db_retry(partial(trial.set_user_attr, key, value), url, f"writing trial {trial.number}")


def duplicate_of(trial: optuna.Trial) -> int | None:
    """The trial that already has this trial's configuration: a complete one, or a running one
    that started first (of two workers proposing one configuration at once, the later skips)."""
    params = trial.params
    states = (TrialState.COMPLETE, TrialState.RUNNING, TrialState.PRUNED)
    for t in trial.study.get_trials(deepcopy=False, states=states):
        if t.params != params or (t.state == TrialState.PRUNED and not first_fold.stopped(t)):
            continue
        if t.state != TrialState.RUNNING or t.number < trial.number:
            return t.number
    return None


def _values(spec: Spec, ev: Evaluation) -> tuple[float, ...]:
    values = []
    for o in spec.objectives:
        v = ev.metrics[o.name]
        if v is None or not math.isfinite(v):
            raise ValueError(f"{o.name} is not a finite number ({v}) for this configuration")
        values.append(float(v))
    return tuple(values)


def _measured(spec: Spec, ev: Evaluation) -> dict[str, Any]:
    """What a finished trial stores: every metric (search and test), its rule, groups, timings, its
    curve of operating points and its predictions (:mod:`core.search._predictions`)."""
    extra: dict[str, Any] = {}
    if ev.curve is not None:
        extra[ATTR_CURVE] = ev.curve
    if ev.oof_proba is not None and ev.test_proba is not None:
        extra[ATTR_PREDICTIONS] = predictions_attr(ev.oof_proba, ev.test_proba)
    return {
        "metrics": ev.metrics,
        "test_metrics": ev.test,
        "cv_std": ev.cv_std,
        "threshold": ev.threshold,
        "groups_test": json.loads(ev.groups_test.to_json(orient="records")),
        "constraints": [o.violation(ev.metrics[o.name]) for o in spec.objectives if o.limit is not None] or [-1.0],
        "timings": ev.timings,
        ATTR_LATENCY: ev.latency_info or {"scope": ev.latency_scope},
        **extra,
    }


def _keep_predictions(url: str | None, trial: optuna.Trial, measured: dict[str, Any], ev: Evaluation) -> None:
    """Store the trial's probabilities in the artifacts table instead of a ~53 kB user attribute
    (:mod:`core.search.artifacts`); in memory (no ``url``) or when the write fails they stay an attribute."""
    if url is None or ev.oof_proba is None or ev.test_proba is None:
        return
    try:
        if artifacts.save_predictions(url, trial.study.study_name, trial.number, ev.oof_proba, ev.test_proba):
            measured.pop(ATTR_PREDICTIONS, None)
    except sa.exc.SQLAlchemyError:
        pass


def _keep_model(url: str | None, trial: optuna.Trial, ev: Evaluation) -> None:
    """Store the fitted pipeline of a trial that may reach the front (evaluate keeps it only for
    those), so Export reads it instead of fitting again; a model the database will not take (too
    large for it) is simply not kept: Export then re-fits it, as it always did."""
    if url is None or ev.pipeline is None:
        return
    try:
        artifacts.save_model(url, trial.study.study_name, trial.number, ev.pipeline, ev.model_bytes)
    except sa.exc.SQLAlchemyError:
        pass


def make_objective(
    spec: Spec,
    ds: Dataset,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
    *,
    url: str | None = None,
    gate: Gate | None = None,
    current: Current | None = None,
    on_start: Callable[[int], None] | None = None,
) -> Callable[[optuna.Trial], tuple[float, ...]]:
    """The Optuna objective: fit and measure one configuration, store every metric.

    Every metric is written before the values are returned, so a trial is COMPLETE only with all
    its attributes. With a ``gate``, a Ctrl-C/SIGTERM can only interrupt the fit itself. A
    configuration the study already has (a warm-start one sampled again, say) is not fitted again:
    the trial is pruned with the user attribute ``duplicate_of`` and does not count. On a large table
    a trial whose first CV fold shows it cannot reach the front stops there, and one whose folds show
    it stops before the refit (pruned, counted, with its reason: :mod:`core.search._first_fold`,
    :mod:`core.search._dominated`).
    """

    multi_fidelity = first_fold.applies(spec, len(train_idx))
    after_cv = dominated.applies(spec, len(train_idx))

    def objective(trial: optuna.Trial) -> tuple[float, ...]:
        if current is not None:
            current.reset()
            current.number = trial.number
        if on_start is not None:
            on_start(trial.number)
        family, params = fam.suggest(trial, spec.families)
        _set_attrs(trial, {"family": family, "family_class": fam.get(family).klass}, url)
        same = duplicate_of(trial)
        if same is not None:  # no configuration is evaluated twice in a study
            _set_attrs(trial, {ATTR_DUPLICATE: same}, url)
            if current is not None:
                current.duplicate_of = same
            raise optuna.TrialPruned(f"the configuration of trial {same}: not evaluated twice")
        try:
            with gate.opened() if gate is not None else contextlib.nullcontext():
                ev = evaluate(
                    family,
                    params,
                    ds,
                    train_idx,
                    test_idx,
                    spec,
                    precise_if=may_reach_front(spec, trial.study),
                    after_first_fold=first_fold.stopper(spec, trial.study) if multi_fidelity else None,
                    after_cv=dominated.stopper(spec, trial.study) if after_cv else None,
                )
        except StoppedEarly as exc:  # multi-fidelity: no figures, counted, never run again
            _set_attrs(trial, {first_fold.ATTR_STOPPED: str(exc)}, url)
            raise optuna.TrialPruned(str(exc)) from None
        except KeyboardInterrupt as exc:
            why = str(exc) or "SIGINT"
            error = f"interrupted by {why}: abandoned, not counted in the budget"
            _set_attrs(trial, {ATTR_INTERRUPTED: True, "error": error}, url)
            raise
        except Exception as exc:
            _set_attrs(trial, {"error": f"{type(exc).__name__}: {exc}"[:2000]}, url)
            raise
        values = _values(spec, ev)
        measured = _measured(spec, ev)
        if multi_fidelity and ev.first_fold is not None:
            measured[first_fold.ATTR_FIRST_FOLD] = first_fold.summary(spec, ev.first_fold, ev.threshold)
        _keep_predictions(url, trial, measured, ev)
        _set_attrs(trial, measured, url)
        _keep_model(url, trial, ev)
        if current is not None:
            current.values = values
        return values

    return objective
