"""Export a fitted pipeline to ONNX, prove it predicts the same, and time it beside scikit-learn.

Why ONNX at all: one-row ``predict_proba`` of a scikit-learn pipeline costs ~4 ms, almost all of it
pandas/preprocessing overhead; the same pipeline in onnxruntime answers in tens of microseconds.
A team choosing on latency should know both numbers.

Why the parity check is not optional: a converter that runs without error can still compute
something else. The exported model is kept only when its probabilities match the pipeline's within
:data:`TOLERANCE` on at least :data:`MIN_ROWS` held-out rows; otherwise the family is reported as
not exportable, with the measured difference and the reason.

What we learned making it work (skl2onnx 1.20, onnxmltools 1.16, scikit-learn 1.9, XGBoost 3.2):

- Inputs: the pipeline takes a DataFrame, so the ONNX graph gets one input per column
  (``FloatTensorType([None, 1])`` for numeric, ``StringTensorType([None, 1])`` for categorical).
  A missing numeric value is NaN; a missing categorical value is the empty string ``""``.
  skl2onnx renames a column such as ``page quality`` to ``page_quality``: the feed is keyed by the
  graph's own input names, taken in column order, and the result lists both (``inputs``).
- Rare categories: skl2onnx refuses a one-hot encoder with infrequent categories, and its graph for
  an unseen category fails instead of counting it as infrequent. The copy we convert maps rare and
  unseen values to one label first (:mod:`core.export._onnx_steps`); the shipped pipeline is untouched.
- Gaussian naive Bayes: with a near-constant one-hot column its log-likelihoods are ~-5e10 and only
  their difference matters, which float32 loses; the copy we convert computes it in float64.
- The categorical ``SimpleImputer`` has ``missing_values=np.nan``, which skl2onnx refuses for string
  columns; the copy we convert uses ``""`` instead (matching the input convention above).
- skl2onnx 1.20 builds HistGradientBoosting leaves with a Python ``False`` in an integer attribute
  list; onnx refuses the mixed list. We cast that flag to ``int`` while converting.
- XGBoost: onnxmltools' ``convert_xgboost`` registered into skl2onnx with the *classifier* shape
  calculator, and ``zipmap`` off, matches to ~2e-7 here (we could not reproduce the "off by up to
  0.5" seen in an earlier probe). The likely cause of such errors is ``base_score``: XGBoost ≥ 2
  estimates it from the data (the positive rate) and XGBoost 3 stores it as the string
  ``"[2.6E-1]"``; a converter that does not parse it falls back to 0.5 (margin 0), shifting every
  probability. onnxmltools 1.16 parses it; the parity check guards against a regression.
- Soft voting needs ``flatten_transform=False`` (our family sets it).
- Voting/stacking used to scale features *before* their tree members. ONNX computes the scaler in
  float32; HistGradientBoosting split thresholds can equal a data value exactly, so a scaled value
  off by one float32 ulp landed on the other side of a split (differences ~1e-2). The families now
  scale only inside their logistic-regression member, and both match to ~1e-7; the parity check
  still has the last word for every export.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import FixedThresholdClassifier

from core import catalog
from core.models import latency as latency_mod
from core.models.onnx_convert import (
    OUTPUT,
    SUPPORT,
    TARGET_OPSET,
    NotExportable,
    OnnxPredictor,
    convert,
    initial_types,
    input_names,
    onnx_inputs,
    predict_proba,
    session,
)

TOLERANCE = 1e-5
MIN_ROWS = 200
# where the two latency figures of an export come from: timed by the export itself, or the search's
# own measurements of this very model (the kept one), which every page already shows
MEASURED_NOW, MEASURED_BY_SEARCH = "now", "search"

__all__ = [
    "MEASURED_BY_SEARCH",
    "MEASURED_NOW",
    "MIN_ROWS",
    "OUTPUT",
    "SUPPORT",
    "TARGET_OPSET",
    "TOLERANCE",
    "NotExportable",
    "OnnxExport",
    "compare_latency",
    "convert",
    "export",
    "exportability",
    "initial_types",
    "input_names",
    "latency_summary",
    "onnx_inputs",
    "predict_proba",
    "serving_sentence",
    "session",
]


@dataclass
class OnnxExport:
    """The outcome of one export attempt; ``model`` is the ONNX bytes when ``exported``.

    The graph computes probabilities only; ``threshold`` is the decision rule that goes with them
    (positive when P(positive) ≥ it), stated here because ONNX consumers apply it themselves.
    """

    family: str
    exported: bool
    reason: str
    max_abs_diff: float | None = None
    n_rows_checked: int = 0
    tolerance: float = TOLERANCE
    onnx_latency: dict[str, float] | None = None
    sklearn_latency: dict[str, float] | None = None
    inputs: list[dict[str, str]] = field(default_factory=list)
    opset: dict[str, int] = field(default_factory=lambda: dict(TARGET_OPSET))
    model: bytes | None = None
    threshold: float | None = None
    latency_scope: str = MEASURED_NOW

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary (without the model bytes) for config.json and the report."""
        d = asdict(self)
        d.pop("model")
        d["speedup_p50"] = (
            self.sklearn_latency["p50_ms"] / self.onnx_latency["p50_ms"]
            if self.onnx_latency and self.sklearn_latency and self.onnx_latency["p50_ms"] > 0
            else None
        )
        d["input_convention"] = (
            "one input per column (names in 'inputs'), shape [n, 1]: numeric as float32 (NaN = "
            'missing), categorical as string ("" = missing); output '
            f"{OUTPUT!r} is [n, 2] with P(positive) in column 1"
            + (f"; predict positive when it is ≥ {self.threshold!r}" if self.threshold is not None else "")
        )
        return d


def exportability() -> pd.DataFrame:
    """One row per family: whether it is expected to export, and why (for the Export page)."""
    rows = [
        {"family": name, "label": info.label, "exportable": SUPPORT[name][0], "note": SUPPORT[name][1]}
        for name, info in catalog.FAMILIES.items()
        if name in SUPPORT
    ]
    return pd.DataFrame(rows)


# -- latency ----------------------------------------------------------------------------------------


def latency_summary(report: latency_mod.LatencyReport) -> dict[str, float]:
    return {
        "p50_ms": report.p50_ms,
        "p95_ms": report.p95_ms,
        "p99_ms": report.p99_ms,
        "mean_ms": report.mean_ms,
        "cv": report.cv,
        "n_calls": report.n_calls,
        "wall_p50_ms": report.wall_p50_ms,
        "wall_p95_ms": report.wall_p95_ms,
    }


def compare_latency(
    pipeline: Any,
    sess: Any,
    X: pd.DataFrame,
    numeric: list[str],
    categorical: list[str],
    *,
    repeats: int = 200,
    rounds: int = 2,
) -> tuple[dict[str, float], dict[str, float]]:
    """Single-row latency of scikit-learn and of onnxruntime, "re-measured now" on this machine.

    Why the search's harness (:func:`core.models.latency.measure`: thread CPU time normalised by the
    reference pipeline, every call in the percentiles): so these two figures read in the same unit
    as the latency the search stored and every page shows, and a ratio between them is honest.
    Measured in alternating rounds (sk, onnx, onnx, sk …) on the same rows: only figures taken close
    together in time compare. Each figure is the median over the rounds.
    """
    onnx = OnnxPredictor(sess, numeric, categorical)
    per = max(repeats // (2 * rounds), 20)  # both paths share the budget of one measurement
    sk: list[latency_mod.LatencyReport] = []
    ox: list[latency_mod.LatencyReport] = []
    for r in range(rounds):
        order = [(pipeline, sk), (onnx, ox)] if r % 2 == 0 else [(onnx, ox), (pipeline, sk)]
        for model, out in order:
            out.append(latency_mod.measure(model, X, repeats=per, batch_rows=200))

    def median(reports: list[latency_mod.LatencyReport]) -> dict[str, float]:
        rows = [latency_summary(x) for x in reports]
        return {k: float(np.median([row[k] for row in rows])) for k in rows[0]}

    return median(sk), median(ox)


def serving_sentence(onnx: dict[str, Any], stored_p95_ms: float | None = None) -> str:
    """The ONNX outcome in one plain sentence (CLI, Export page, decision.md, report): exported with
    both latencies and where they were measured (re-measured now, or the search's own measurements
    of this model), beside the search's stored figure when given."""
    if not onnx.get("exported"):
        return f"No ONNX model: {onnx.get('reason') or 'not attempted'}."
    sk, ox = onnx.get("sklearn_latency") or {}, onnx.get("onnx_latency") or {}
    nan = float("nan")
    by_search = onnx.get("latency_scope") == MEASURED_BY_SEARCH
    where = (
        "Measured by the search for this very model with its harness (onnxruntime precisely, scikit-learn "
        "as a screening figure)"
        if by_search
        else "Re-measured now on this machine with the search's harness"
    )
    text = (
        f"model.onnx exported ({onnx.get('reason', '')}). {where}: single-row p50 scikit-learn "
        f"{sk.get('p50_ms', nan):.3f} ms, onnxruntime "
        f"{ox.get('p50_ms', nan):.3f} ms (p95 {sk.get('p95_ms', nan):.3f} vs {ox.get('p95_ms', nan):.3f} ms)."
    )
    if by_search:
        return (
            text + " The onnxruntime figure is the trial's stored one, the one every page shows and the limits judged."
        )
    if stored_p95_ms is not None and stored_p95_ms == stored_p95_ms:
        text += (
            f" The search's stored figure for this trial, the one every page shows and the limits judged: "
            f"p95 {stored_p95_ms:.3f} ms."
        )
    return text


# -- the whole export -------------------------------------------------------------------------------


def export(
    pipeline: Any,
    family: str,
    X_check: pd.DataFrame,
    numeric: list[str],
    categorical: list[str],
    *,
    tolerance: float = TOLERANCE,
    min_rows: int = MIN_ROWS,
    latency_repeats: int = 200,
    threshold: float | None = None,
    measured: tuple[dict[str, float], dict[str, float]] | None = None,
) -> OnnxExport:
    """Convert, check parity on ``X_check`` (≥ ``min_rows`` rows, held-out data), time both paths.

    ``measured`` is (scikit-learn, onnxruntime) latency the search already took of this very fitted
    model: stated instead of timing both paths again (the export's slowest step, and a second figure
    for one fact); the result says which (``latency_scope``).

    A pipeline wrapped with its decision rule (``FixedThresholdClassifier``) is converted without
    the wrapper, and its threshold is stated in the result. Never raises for a model that cannot be
    exported: the result says why, so the bundle can list it. ``X_check`` smaller than ``min_rows``
    is a programming error (the check would prove little).
    """
    if len(X_check) < min_rows:
        raise ValueError(f"parity check needs at least {min_rows} rows, got {len(X_check)}")
    if isinstance(pipeline, FixedThresholdClassifier):
        threshold = float(pipeline.threshold) if threshold is None else threshold
        pipeline = pipeline.estimator
    result = OnnxExport(family=family, exported=False, reason="", tolerance=tolerance, threshold=threshold)
    result.inputs = _inputs(numeric, categorical, [*numeric, *categorical])
    try:
        model = convert(pipeline, numeric, categorical)
        sess = session(model)
        result.inputs = _inputs(numeric, categorical, input_names(sess))
        got = predict_proba(sess, X_check, numeric, categorical)
    except NotExportable as exc:
        result.reason = str(exc)
        return result
    except Exception as exc:  # onnxruntime refusing the graph is also a reason, not a crash
        result.reason = (
            f"onnxruntime could not run the converted model: {type(exc).__name__}: "
            f"{str(exc).splitlines()[0][:300] if str(exc) else ''}"
        )
        return result
    if not _parity(result, got, pipeline.predict_proba(X_check)[:, 1]):
        return result
    if measured is not None:
        result.sklearn_latency, result.onnx_latency = dict(measured[0]), dict(measured[1])
        result.latency_scope = MEASURED_BY_SEARCH
    else:
        result.sklearn_latency, result.onnx_latency = compare_latency(
            pipeline, sess, X_check, numeric, categorical, repeats=latency_repeats
        )
    result.exported = True
    result.model = model
    return result


def _inputs(numeric: list[str], categorical: list[str], names: list[str]) -> list[dict[str, str]]:
    """What a consumer feeds: each graph input's name, the column it carries, and its type."""
    types = ["float32"] * len(numeric) + ["string"] * len(categorical)
    return [{"name": n, "column": c, "type": t} for n, c, t in zip(names, [*numeric, *categorical], types, strict=True)]


def _parity(result: OnnxExport, got: np.ndarray, want: np.ndarray) -> bool:
    """Record the largest probability difference and the reason; True when within tolerance."""
    diff = float(np.max(np.abs(got.astype(np.float64) - want))) if len(want) else 0.0
    result.max_abs_diff, result.n_rows_checked, tol = diff, int(len(want)), result.tolerance
    if np.isfinite(diff) and diff <= tol:
        result.reason = f"parity within {tol:g} (max abs diff {diff:.2e} on {len(want)} rows)"
        return True
    status, note = SUPPORT.get(result.family, ("yes", ""))
    result.reason = (
        f"parity check failed: ONNX probabilities differ from scikit-learn's by up to "
        f"{diff:.2e} on {len(want)} held-out rows (tolerance {tol:g})" + (f"; {note}" if status != "yes" else ".")
    )
    return False
