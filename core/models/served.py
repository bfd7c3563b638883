"""The latency of the path a team will serve: ONNX Runtime for a family that converts, else scikit-learn.

Why: one-row scikit-learn prediction is mostly pandas and preprocessing overhead (~4 ms here for
almost every model), while the same pipeline in onnxruntime answers in tens of microseconds and
separates the models. A room deciding on latency acts on the figure of what it will run, so the
precise measurement times both paths with the same harness (:func:`core.models.latency.measure`,
same normalisation) and the headline ``latency_*`` figures are the served path's; the other path's
p95 is kept as information (``sklearn_latency_p95_ms`` / ``onnx_latency_p95_ms``), from a screening
measurement when ONNX is served (``sklearn_scope``): it judges nothing, and the precise harness on
the pandas path would cost more than the rest of the trial.

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


def info(path: str, sk: latency.LatencyReport, onnx: latency.LatencyReport | None, reason: str) -> dict[str, Any]:
    """What a trial stores about its latency figure besides its scope (``tradeoff.latency``)."""
    return {
        "path": path,
        "sklearn_p95_ms": sk.p95_ms,
        "onnx_p95_ms": None if onnx is None else onnx.p95_ms,
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
    onnx = replace(latency.screen(predictor, X), path=ONNX)
    return onnx, {**info(ONNX, onnx, onnx, reason), "sklearn_p95_ms": None}


def measure(
    pipeline: Any, path: tuple[Any | None, str], X: pd.DataFrame, *, repeats: int
) -> tuple[latency.LatencyReport, dict[str, Any]]:
    """The served path's precise report and the trial's latency information (see the module docstring)."""
    predictor, reason = path
    if predictor is None:
        sk = latency.measure(pipeline, X, repeats=repeats)
        return sk, info(SKLEARN, sk, None, reason)
    onnx = latency.measure(predictor, X, repeats=repeats)
    sk = latency.screen(pipeline, X)  # information only: the screening figure is enough, and cheap
    # the estimator-alone figure has no ONNX counterpart (the graph is one call): keep scikit-learn's
    return _with_model(onnx, sk), {**info(ONNX, sk, onnx, reason), "sklearn_scope": latency.SCREENING}


def _with_model(onnx: latency.LatencyReport, sk: latency.LatencyReport) -> latency.LatencyReport:
    return replace(onnx, model_p50_ms=sk.model_p50_ms, model_p95_ms=sk.model_p95_ms, path=ONNX)


def other_metrics(lat_info: dict[str, Any]) -> dict[str, float]:
    """Both paths' p95 as metrics (NaN where a path was not measured), for tables beside the headline."""
    nan = float("nan")
    sk, ox = lat_info.get("sklearn_p95_ms"), lat_info.get("onnx_p95_ms")
    return {
        "sklearn_latency_p95_ms": nan if sk is None else float(sk),
        "onnx_latency_p95_ms": nan if ox is None else float(ox),
    }
