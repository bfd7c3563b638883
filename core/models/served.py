"""The latency of the path a team will serve: ONNX Runtime for a family that converts, else scikit-learn.

Why: one-row scikit-learn prediction is mostly pandas and preprocessing overhead (~4 ms here for
almost every model), while the same pipeline in onnxruntime, fed one request's values as a service
receives them, answers in tens of microseconds and separates the models. A room deciding on latency
acts on the figure of what it will run, so the headline ``latency_*`` figures are the served path's,
measured with the same harness and normalisation (:func:`core.models.latency.measure`); the other
path's p95 is kept as information (``sklearn_latency_p95_ms`` / ``onnx_latency_p95_ms``), from a
screening measurement when ONNX is served (``sklearn_scope``), and only for a trial that may reach
the front: it judges nothing, and timing the pandas path costs more than the whole ONNX measurement.

An ONNX path counts only when its probabilities match the pipeline's (the export's parity rule); a
family that does not convert, or whose conversion fails or disagrees, is served by scikit-learn and
the reason is stored with the trial.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd

from core.models import latency
from core.models import onnx_convert as oc

ONNX, SKLEARN = "onnx", "sklearn"
PARITY_ROWS = 200  # held-out rows the ONNX path must match the pipeline on before it is timed
NO_SKLEARN = {"sklearn_p95_ms": None, "sklearn_p50_ms": None}  # the scikit-learn path was not timed


def info(path: str, sk: latency.LatencyReport, onnx: latency.LatencyReport | None, reason: str) -> dict[str, Any]:
    """What a trial stores about its latency figure besides its scope (``tradeoff.latency``)."""
    return {
        "path": path,
        "sklearn_p95_ms": sk.p95_ms,
        "onnx_p95_ms": None if onnx is None else onnx.p95_ms,
        # p50 too, so an export of the kept model states both paths from what the search measured
        "sklearn_p50_ms": sk.p50_ms,
        "onnx_p50_ms": None if onnx is None else onnx.p50_ms,
        "reason": reason,
    }


def path_of(
    pipeline: Any, family: str, X: pd.DataFrame, numeric: list[str], categorical: list[str]
) -> tuple[Any | None, str]:
    """The ONNX predictor the team would serve (None: scikit-learn) and why."""
    if not oc.exportable(family):
        return None, "this family has no ONNX converter: served by scikit-learn"
    return oc.served(pipeline, X.iloc[:PARITY_ROWS], numeric, categorical)


def screen(pipeline: Any, path: tuple[Any | None, str], X: pd.DataFrame) -> tuple[latency.LatencyReport, dict]:
    """A screening figure of the served path only (:func:`core.models.latency.screen`)."""
    predictor, reason = path
    if predictor is None:
        sk = latency.screen(pipeline, X)
        return sk, info(SKLEARN, sk, None, reason)
    onnx = replace(latency.screen(predictor, X, estimator_of=pipeline), path=ONNX)
    return onnx, {**info(ONNX, onnx, onnx, reason), **NO_SKLEARN}


def measure(
    pipeline: Any, path: tuple[Any | None, str], X: pd.DataFrame, *, repeats: int
) -> tuple[latency.LatencyReport, dict[str, Any]]:
    """The served path's precise report and the trial's latency information (see the module docstring)."""
    predictor, reason = path
    if predictor is None:
        sk = latency.measure(pipeline, X, repeats=repeats)
        return sk, info(SKLEARN, sk, None, reason)
    return onnx_info(pipeline, measure_onnx(predictor, pipeline, X, repeats=repeats), reason, X, other=True)


def measure_onnx(
    predictor: Any, pipeline: Any, X: pd.DataFrame, *, repeats: int, model_repeats: int | None = None
) -> latency.LatencyReport:
    """The precise figure of an ONNX path: requests one at a time (:class:`OnnxPredictor`); the
    estimator-alone figure is timed on scikit-learn's estimator (the graph is one call, with no
    estimator to time apart), with ``model_repeats`` calls."""
    report = latency.measure(predictor, X, repeats=repeats, estimator_of=pipeline, model_repeats=model_repeats)
    return replace(report, path=ONNX)


def onnx_info(
    pipeline: Any, onnx: latency.LatencyReport, reason: str, X: pd.DataFrame, *, other: bool
) -> tuple[latency.LatencyReport, dict[str, Any]]:
    """The report and latency information of an ONNX-served trial: with ``other``, the scikit-learn
    path's screening figure beside it (information; a trial that cannot reach the front skips it,
    since it costs more than the whole ONNX measurement and informs nobody)."""
    if not other:
        return onnx, {**info(ONNX, onnx, onnx, reason), **NO_SKLEARN}
    sk = latency.screen(pipeline, X, calls_only=True)
    return onnx, {**info(ONNX, sk, onnx, reason), "sklearn_scope": latency.SCREENING}


def other_metrics(lat_info: dict[str, Any]) -> dict[str, float]:
    """Both paths' p95 as metrics (NaN where a path was not measured), for tables beside the headline."""
    nan = float("nan")
    sk, ox = lat_info.get("sklearn_p95_ms"), lat_info.get("onnx_p95_ms")
    return {
        "sklearn_latency_p95_ms": nan if sk is None else float(sk),
        "onnx_latency_p95_ms": nan if ox is None else float(ox),
    }
