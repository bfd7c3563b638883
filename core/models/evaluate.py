"""Fit, cross-validate and test one configuration, measuring every metric in the catalogue.

The order matters for honesty: the threshold is tuned on out-of-fold predictions of the training
part; the search-time metrics (what the sampler optimises) come from those same out-of-fold
predictions; the held-out test part is scored once, with the threshold fixed, and only reported.
Each evaluation also brings the model's curve of operating points (other thresholds, chosen on
the same out-of-fold scores, applied to the test ones), at no extra fitting cost.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from core import objectives as obj
from core.data import Dataset, build_preprocessor, cv_folds
from core.metrics import (
    decide,
    fairness_metrics,
    fairness_report,
    infra_cost_per_1m,
    quality,
    tune_threshold,
    value_per_1k,
)
from core.metrics.operating_points import Scores, operating_points
from core.models import families as fam
from core.models import latency, served
from core.models import onnx_convert as oc
from core.spec import Spec


@dataclass
class Evaluation:
    family: str
    params: dict[str, Any]
    metrics: dict[str, float]
    cv_std: dict[str, float]
    test: dict[str, float]
    threshold: float
    groups_test: pd.DataFrame
    latency: latency.LatencyReport
    pipeline: Pipeline | None = None
    test_proba: np.ndarray | None = None
    oof_proba: np.ndarray | None = None
    timings: dict[str, float] = field(default_factory=dict)
    curve: dict[str, Any] | None = None  # the operating points (core.metrics.operating_points)
    latency_scope: str = "precise"  # "screening": only the cheap measurement (see evaluate)
    latency_info: dict[str, Any] = field(default_factory=dict)  # scope, served path, both paths' p95
    # the skops bytes of ``pipeline`` when it is kept: the size measurement already made them, and
    # making them again to store the model cost as much
    model_bytes: bytes | None = None
    first_fold: Scores | None = None  # the first CV fold's scores (the search's first-fold figures)


def make_pipeline(family: str, params: dict[str, Any], ds: Dataset, seed: int) -> Pipeline:
    f = fam.get(family)
    return Pipeline(
        [("prep", build_preprocessor(ds.numeric, ds.categorical, scale=f.scale)), ("model", f.build(params, seed))]
    )


def serialized_size(pipeline: Pipeline) -> int:
    """Bytes of the skops file we would ship (the same format the export uses)."""
    return len(skops_bytes(pipeline))


def skops_bytes(pipeline: Pipeline) -> bytes:
    """The skops file of a fitted pipeline (never pickle): what the export ships and the search keeps."""
    import skops.io as sio

    return sio.dumps(pipeline)


class StoppedEarly(Exception):
    """A multi-fidelity check (after the first fold, or after every fold) said the configuration
    cannot reach the front (the reason is the message)."""


def _fold_scores(train: Dataset, rows: np.ndarray, proba: np.ndarray) -> Scores:
    value = None if train.value is None else np.asarray(train.value)[rows]
    return Scores(np.asarray(train.y)[rows], proba, np.asarray(train.groups, dtype=object)[rows], value)


@dataclass(frozen=True)
class Folds:
    """What cross-validation leaves: out-of-fold probabilities of the training part, the fold of
    every row, the first fold's scores, and the last fold's model with its fit seconds (a model of
    the same configuration on fewer rows, for :func:`fold_estimates`)."""

    oof: np.ndarray
    fold_ids: np.ndarray
    first: Scores
    last_model: Pipeline
    last_fit_s: float


Estimate = Callable[[], dict[str, float]]


def _out_of_fold(
    pipe: Pipeline,
    train: Dataset,
    spec: Spec,
    after_first: Callable[[Scores, Estimate], str | None] | None = None,
    estimate_of: Callable[[Pipeline, float], dict[str, float]] | None = None,
) -> Folds:
    """Cross-validate ``pipe`` on the training part; ``after_first(scores, estimate)`` may stop the
    evaluation after the first fold (:class:`StoppedEarly`), ``estimate()`` being ``estimate_of``
    that fold's model and fit seconds."""
    oof = np.zeros(len(train.y))
    fold_ids = np.zeros(len(train.y), dtype=int)
    first: Scores | None = None
    for k, (a, b) in enumerate(cv_folds(spec.validation.cv_folds, spec.seed, train.y, train.entity)):
        t0 = time.perf_counter()
        model = clone(pipe).fit(train.X.iloc[a], train.y[a])
        fit_s = time.perf_counter() - t0
        oof[b] = model.predict_proba(train.X.iloc[b])[:, 1]
        fold_ids[b] = k
        if k == 0:
            first = _fold_scores(train, b, oof[b])
            estimate = partial(estimate_of, model, fit_s) if estimate_of is not None else dict
            reason = None if after_first is None else after_first(first, estimate)
            if reason:
                raise StoppedEarly(reason)
    assert first is not None
    return Folds(oof, fold_ids, first, model, fit_s)


def _best_latency(model: Pipeline, family: str, ds: Dataset, X: pd.DataFrame) -> dict[str, float]:
    """The better, figure by figure, of both paths' optimistic screening latency (see :func:`fold_estimates`)."""
    reports = [latency.screen(model, X)]
    if oc.exportable(family):
        graph, _ = oc.served(model, X.iloc[: served.PARITY_ROWS], ds.numeric, ds.categorical, tolerance=math.inf)
        if graph is not None:
            reports.append(latency.screen(graph, X, estimator_of=model))
    figures = [latency.optimistic(r, SCREEN_ALLOWANCE).as_metrics() for r in reports]
    out = {}
    for k in figures[0]:
        values = [f[k] for f in figures if np.isfinite(f[k])] or [math.nan]
        maximise = k in obj.REGISTRY and obj.get(k).direction == "maximize"
        out[k] = max(values) if maximise else min(values)
    return out


def fold_estimates(
    model: Pipeline, fit_s: float, *, family: str, ds: Dataset, X: pd.DataFrame, vm: Any
) -> dict[str, float]:
    """The refit model's figures at their plausible best, from a fold's ``model`` (fitted in
    ``fit_s`` seconds): its size, parameter count and fit time, and a screening latency on its served
    path made optimistic by :data:`SCREEN_ALLOWANCE` (with the infra cost that follows from it).

    Why a fold's model bounds the refit one: it is the same configuration fitted on fewer rows, so
    the families whose size grows with the data (trees, forests, boosting, k-NN) are smaller and no
    slower there, and the others the same; the allowance covers the noise of the screening and of
    the fold's one fit time. Which path
    the refit will be served by is not known yet (the ONNX parity check is data-dependent: a tree
    split on a float32-rounded coordinate can pass on one fit and fail on another), so both paths
    are screened, the ONNX graph whatever its parity, and each figure is the better of the two.
    Used only to ask whether a trial could still reach the front (:mod:`core.search._dominated`),
    never shown.
    """
    out = _best_latency(model, family, ds, X)
    out["infra_cost_per_1m"] = infra_cost_per_1m(out["latency_mean_ms"], vm)
    out["model_size_bytes"] = float(len(skops_bytes(model)))
    out["n_parameters"] = float(fam.count_parameters(model))
    out["fit_time_s"] = fit_s * SCREEN_ALLOWANCE  # one timing of a smaller fit: noisy too
    return out


def _cv_quality(
    y: np.ndarray, oof: np.ndarray, pred: np.ndarray, fold_ids: np.ndarray, n_folds: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Mean and spread over the folds of each quality metric (the search optimises the mean)."""
    per_fold = [quality(y[fold_ids == k], oof[fold_ids == k], pred[fold_ids == k]) for k in range(n_folds)]
    mean = {m: float(np.mean([f[m] for f in per_fold])) for m in per_fold[0]}
    std = {m: float(np.std([f[m] for f in per_fold], ddof=1)) for m in per_fold[0]}
    return mean, std


def _curve(
    spec: Spec, train: Dataset, test: Dataset, scores: tuple[np.ndarray, ...], threshold: float, latency_ms: float
) -> dict[str, Any]:
    """The trial's operating points: rules chosen on the out-of-fold scores, applied to the test ones."""
    oof, fold_ids, test_proba = scores
    return operating_points(
        Scores(train.y, oof, train.groups, train.value, fold_ids),
        Scores(test.y, test_proba, test.groups, test.value),
        spec.value_model,
        spec.objective_names,
        tuned=threshold,
        mean_latency_ms=latency_ms,
        group_rules=spec.allow_group_thresholds,
    )


def _refit_and_test(
    pipe: Pipeline, train: Dataset, test: Dataset, threshold: float
) -> tuple[float, np.ndarray, np.ndarray, dict[str, float], pd.DataFrame]:
    """Fit on the whole training part and score the held-out part once, at the tuned threshold:
    (fit seconds, test probabilities, test decisions, test metrics, per-group test table)."""
    t0 = time.perf_counter()
    pipe.fit(train.X, train.y)
    fit_time = time.perf_counter() - t0
    test_proba = pipe.predict_proba(test.X)[:, 1]
    test_pred = decide(test_proba, threshold)
    test_metrics = quality(test.y, test_proba, test_pred)
    test_gaps, groups_test = fairness_report(test.y, test_pred, test.groups)
    test_metrics.update(test_gaps)
    return fit_time, test_proba, test_pred, test_metrics, groups_test


def _latency_metrics(
    metrics: dict[str, float], test_metrics: dict[str, float], lat: latency.LatencyReport, parts: tuple
) -> None:
    """The figures that depend on the measured latency: the latency metrics and net value (its
    latency penalty and infra cost), on both parts."""
    spec, train, test, oof_pred, test_pred = parts[:5]
    vm = spec.value_model
    metrics.update(lat.as_metrics())
    cv_value = value_per_1k(train.y, oof_pred, vm, tp_values=train.value, mean_latency_ms=lat.mean_ms)
    test_value = value_per_1k(test.y, test_pred, vm, tp_values=test.value, mean_latency_ms=lat.mean_ms)
    metrics["value_per_1k"] = cv_value.net_per_1k
    metrics["infra_cost_per_1m"] = cv_value.infra_cost_per_1m
    metrics["gross_value_per_1k"] = cv_value.gross_per_1k
    metrics["latency_penalty_per_1k"] = cv_value.latency_penalty_per_1k
    test_metrics["value_per_1k"] = test_value.net_per_1k


def _measure_latency(
    pipe: Pipeline,
    ev_of: tuple[str, Dataset],
    metrics: dict[str, float],
    test_metrics: dict[str, float],
    parts: tuple,
    precise_if: Callable[[dict[str, float]], bool] | None,
) -> tuple[latency.LatencyReport, dict[str, Any], bool]:
    """The served path's latency (see :func:`evaluate`); returns the stored report, the
    ``tradeoff.latency`` information and whether the trial may reach the front."""
    (family, ds), spec, test = ev_of, parts[0], parts[2]
    path = (
        (None, "measured on the scikit-learn path, as the trial it repeats")
        if parts[-1] == served.SKLEARN
        else served.path_of(pipe, family, test.X, ds.numeric, ds.categorical)
    )
    repeats = spec.validation.latency_repeats
    screening = latency.mode() == latency.SCREEN and not latency_judged(spec)
    if precise_if is not None and screening and not precise_if(metrics):
        # dominated whatever its latency (latency_judged): the screening figure is all it needs
        lat, lat_info = served.screen(pipe, path, test.X)
        _latency_metrics(metrics, test_metrics, lat, parts)
        metrics.update(served.other_metrics(lat_info))
        return lat, {"scope": latency.SCREENING, **lat_info}, False
    if path[0] is not None:  # ONNX: the precise harness costs a fraction of a second
        # the estimator-alone figure (scikit-learn's) can cost more than the ONNX measurement: with
        # every call only when the team judges on it, else with few (every metric for every trial)
        judged = MODEL_ONLY in spec.objective_names or precise_if is None
        few = None if judged else latency.SCREEN_REPEATS
        lat = served.measure_onnx(path[0], pipe, test.X, repeats=repeats, model_repeats=few)
        _latency_metrics(metrics, test_metrics, lat, parts)
        hopeful = precise_if is None or precise_if(metrics)
        lat, lat_info = served.onnx_info(pipe, lat, path[1], test.X, other=hopeful)
        metrics.update(lat.as_metrics())
        metrics.update(served.other_metrics(lat_info))
        return lat, {"scope": latency.PRECISE, **lat_info}, hopeful
    if precise_if is not None and latency.mode() == latency.SCREEN:
        lat, lat_info = served.screen(pipe, path, test.X)
        _latency_metrics(metrics, test_metrics, lat, parts)
        at_best = dict(metrics)
        _latency_metrics(at_best, {}, latency.optimistic(lat, SCREEN_ALLOWANCE), parts)
        if not precise_if(at_best):
            metrics.update(served.other_metrics(lat_info))
            return lat, {"scope": latency.SCREENING, **lat_info}, False
    lat, lat_info = served.measure(pipe, path, test.X, repeats=repeats)
    _latency_metrics(metrics, test_metrics, lat, parts)
    metrics.update(served.other_metrics(lat_info))
    return lat, {"scope": latency.PRECISE, **lat_info}, True


MODEL_ONLY = "model_latency_p95_ms"
#: objective groups whose figures depend on the measured latency (net value has a latency penalty)
LATENCY_GROUPS = frozenset({"latency", "value"})


def latency_judged(spec: Spec) -> bool:
    """Whether an objective (limits are on objectives) depends on the measured latency.

    Why it matters: when none does, whether a trial may reach the front is known before its latency
    is measured, so a dominated trial gets the screening figure on its served path and nothing more.
    An ONNX path is otherwise always timed precisely because that is cheap, but not for every model:
    a k-NN graph scans the training rows on each request, and on a 15,000-row table its latency took
    more of a short search than any family's fits (bench/README.md).
    """
    return any(obj.get(n).group in LATENCY_GROUPS for n in spec.objective_names)


#: the optimistic allowance on a screening latency when asking "may this reach the front?": a
#: trial is measured precisely unless it is dominated even with its latency 15 % better than screened
#: (the screening p95 fell below the precise one by at most ~11 % on the bench: bench/README.md)
SCREEN_ALLOWANCE = 0.85


@threadpool_limits.wrap(limits=1)
def evaluate(
    family: str,
    params: dict[str, Any],
    ds: Dataset,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
    spec: Spec,
    *,
    keep_model: bool = False,
    precise_if: Callable[[dict[str, float]], bool] | None = None,
    latency_path: str | None = None,
    after_first_fold: Callable[[Scores, Estimate], str | None] | None = None,
    after_cv: Callable[[Scores, float, dict[str, float], Estimate], str | None] | None = None,
) -> Evaluation:
    """All metrics for one configuration; see the module docstring for what is measured where.

    Latency, on the served path (:mod:`core.models.served`: ONNX Runtime when the family converts
    and matches, so the conversion happens for every trial). When no objective depends on latency
    (:func:`latency_judged`) a trial that ``precise_if`` says cannot reach the front is only
    screened, whatever its path. Otherwise an ONNX-served trial always gets the
    precise harness: one request at a time costs tens of microseconds, so 200 calls and their
    reference calls take a fraction of a second. ``precise_if(metrics)`` (the search: "may this
    reach the front?") then decides only whether the scikit-learn path is also timed (information)
    and the fitted pipeline kept. A trial served by scikit-learn (no converter, or a conversion that
    fails or disagrees) is first screened (:func:`core.models.latency.screen`, the same
    normalisation with few calls) and measured precisely only when ``precise_if`` holds at the
    screening latency's plausible best (:data:`SCREEN_ALLOWANCE`): there the harness costs seconds,
    spent to learn that a clearly dominated model is clearly dominated. Without ``precise_if`` (a
    re-fit for Compare, Export or reproduce) every figure is precise.
    ``Evaluation.latency_scope``/``latency_info`` say which figure is stored.
    ``latency_path="sklearn"`` times the scikit-learn path whatever the family: a re-fit of a trial
    measured that way (every trial from before the served path was measured) compares like with like.

    ``after_first_fold(scores, estimate)``: asked after the first CV fold (the search's
    multi-fidelity check, :mod:`core.search._first_fold`); a reason raises :class:`StoppedEarly`
    before any other fit. ``after_cv(oof scores, tuned threshold, search metrics, estimate)``: asked
    once every fold is done (:mod:`core.search._dominated`); a reason raises :class:`StoppedEarly`
    before the refit. ``estimate()`` gives :func:`fold_estimates` of that fold's model.

    Fits run with one BLAS/OpenMP thread: parallelism comes from running several trials at once,
    and on a small machine oversubscribed threads made a 20-iteration boosting fit ~30× slower
    with identical results.
    """
    t_start = time.perf_counter()
    train, test = ds.subset(train_idx), ds.subset(test_idx)
    pipe = make_pipeline(family, params, ds, spec.seed)
    estimate_of = partial(fold_estimates, family=family, ds=ds, X=test.X, vm=spec.value_model)
    folds = _out_of_fold(pipe, train, spec, after_first_fold, estimate_of)
    oof, fold_ids = folds.oof, folds.fold_ids
    t_cv = time.perf_counter()
    vm = spec.value_model
    threshold = tune_threshold(train.y, oof, vm, train.value)
    oof_pred = decide(oof, threshold)
    metrics, cv_std = _cv_quality(train.y, oof, oof_pred, fold_ids, spec.validation.cv_folds)
    metrics.update(fairness_metrics(train.y, oof_pred, train.groups))
    if after_cv is not None:
        estimate = partial(estimate_of, folds.last_model, folds.last_fit_s)
        reason = after_cv(Scores(train.y, oof, train.groups, train.value, fold_ids), threshold, metrics, estimate)
        if reason:
            raise StoppedEarly(reason)

    t0 = time.perf_counter()
    fit_time, test_proba, test_pred, test_metrics, groups_test = _refit_and_test(pipe, train, test, threshold)
    t_fit = time.perf_counter()

    parts = (spec, train, test, oof_pred, test_pred, latency_path)
    packed = skops_bytes(pipe)
    metrics["model_size_bytes"] = float(len(packed))
    metrics["fit_time_s"] = fit_time
    metrics["n_parameters"] = float(fam.count_parameters(pipe))
    t_size = time.perf_counter()
    lat, lat_info, hopeful = _measure_latency(pipe, (family, ds), metrics, test_metrics, parts, precise_if)
    t_lat = time.perf_counter()
    curve = _curve(spec, train, test, (oof, fold_ids, test_proba), threshold, lat.mean_ms)
    t_end = time.perf_counter()
    kept = keep_model or (precise_if is not None and hopeful)
    timings = {
        "cv_s": t_cv - t_start,
        "fit_test_s": t_fit - t0,
        "size_s": t_size - t_fit,
        "latency_s": t_lat - t_size,
        "curve_s": t_end - t_lat,
        "total_s": t_end - t_start,
    }
    return Evaluation(
        family,
        params,
        metrics,
        cv_std,
        test_metrics,
        threshold,
        groups_test,
        lat,
        pipeline=pipe if kept else None,
        test_proba=test_proba,
        oof_proba=oof,
        timings=timings,
        curve=curve,
        latency_scope=lat_info["scope"],
        latency_info=lat_info,
        model_bytes=packed if kept else None,
        first_fold=folds.first,
    )
