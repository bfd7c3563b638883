"""Fit, cross-validate and test one configuration, measuring every metric in the catalogue.

The order matters for honesty: the threshold is tuned on out-of-fold predictions of the training
part; the search-time metrics (what the sampler optimises) come from those same out-of-fold
predictions; the held-out test part is scored once, with the threshold fixed, and only reported.
Each evaluation also brings the model's curve of operating points (other thresholds, chosen on
the same out-of-fold scores, applied to the test ones), at no extra fitting cost.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from core.data import Dataset, build_preprocessor, cv_folds
from core.metrics import decide, fairness_metrics, fairness_report, quality, tune_threshold, value_per_1k
from core.metrics.operating_points import Scores, operating_points
from core.models import families as fam
from core.models import latency
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


def make_pipeline(family: str, params: dict[str, Any], ds: Dataset, seed: int) -> Pipeline:
    f = fam.get(family)
    return Pipeline(
        [("prep", build_preprocessor(ds.numeric, ds.categorical, scale=f.scale)), ("model", f.build(params, seed))]
    )


def serialized_size(pipeline: Pipeline) -> int:
    """Bytes of the skops file we would ship (the same format the export uses)."""
    import skops.io as sio

    return len(sio.dumps(pipeline))


def _out_of_fold(pipe: Pipeline, train: Dataset, spec: Spec) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold probabilities of the training part and the fold of every row."""
    oof = np.zeros(len(train.y))
    fold_ids = np.zeros(len(train.y), dtype=int)
    for k, (a, b) in enumerate(cv_folds(spec.validation.cv_folds, spec.seed, train.y, train.entity)):
        model = clone(pipe).fit(train.X.iloc[a], train.y[a])
        oof[b] = model.predict_proba(train.X.iloc[b])[:, 1]
        fold_ids[b] = k
    return oof, fold_ids


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
    )


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
) -> Evaluation:
    """All metrics for one configuration; see the module docstring for what is measured where.

    Fits run with one BLAS/OpenMP thread: parallelism comes from running several trials at once,
    and on a small machine oversubscribed threads made a 20-iteration boosting fit ~30× slower
    with identical results.
    """
    t_start = time.perf_counter()
    train, test = ds.subset(train_idx), ds.subset(test_idx)
    pipe = make_pipeline(family, params, ds, spec.seed)
    oof, fold_ids = _out_of_fold(pipe, train, spec)
    t_cv = time.perf_counter()
    vm = spec.value_model
    threshold = tune_threshold(train.y, oof, vm, train.value)
    oof_pred = decide(oof, threshold)
    metrics, cv_std = _cv_quality(train.y, oof, oof_pred, fold_ids, spec.validation.cv_folds)
    metrics.update(fairness_metrics(train.y, oof_pred, train.groups))

    t0 = time.perf_counter()
    pipe.fit(train.X, train.y)
    fit_time = time.perf_counter() - t0
    test_proba = pipe.predict_proba(test.X)[:, 1]
    test_pred = decide(test_proba, threshold)
    test_metrics = quality(test.y, test_proba, test_pred)
    test_gaps, groups_test = fairness_report(test.y, test_pred, test.groups)
    test_metrics.update(test_gaps)
    t_fit = time.perf_counter()

    lat = latency.measure(pipe, test.X, repeats=spec.validation.latency_repeats)
    t_lat = time.perf_counter()
    metrics.update(lat.as_metrics())
    cv_value = value_per_1k(train.y, oof_pred, vm, tp_values=train.value, mean_latency_ms=lat.mean_ms)
    test_value = value_per_1k(test.y, test_pred, vm, tp_values=test.value, mean_latency_ms=lat.mean_ms)
    metrics["value_per_1k"] = cv_value.net_per_1k
    metrics["infra_cost_per_1m"] = cv_value.infra_cost_per_1m
    metrics["gross_value_per_1k"] = cv_value.gross_per_1k
    metrics["latency_penalty_per_1k"] = cv_value.latency_penalty_per_1k
    test_metrics["value_per_1k"] = test_value.net_per_1k
    metrics["model_size_bytes"] = float(serialized_size(pipe))
    metrics["fit_time_s"] = fit_time
    metrics["n_parameters"] = float(fam.count_parameters(pipe))
    curve = _curve(spec, train, test, (oof, fold_ids, test_proba), threshold, lat.mean_ms)
    t_end = time.perf_counter()
    timings = {
        "cv_s": t_cv - t_start,
        "fit_test_s": t_fit - t0,
        "latency_s": t_lat - t_fit,
        "size_s": t_end - t_lat,
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
        pipeline=pipe if keep_model else None,
        test_proba=test_proba,
        oof_proba=oof,
        timings=timings,
        curve=curve,
    )
