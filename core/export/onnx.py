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

import contextlib
import threading
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import FixedThresholdClassifier

from core import catalog
from core.export._onnx_steps import final_types, for_conversion, register_converters
from core.models import latency as latency_mod

TOLERANCE = 1e-5
MIN_ROWS = 200
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}
OUTPUT = "probabilities"

#: What we know per family before trying (the chosen model's own parity check has the last word).
SUPPORT: dict[str, tuple[str, str]] = {
    "logreg": ("yes", "skl2onnx LinearClassifier; parity ~1e-7."),
    "decision_tree": ("yes", "skl2onnx TreeEnsembleClassifier; parity ~1e-7."),
    "naive_bayes": ("yes", "skl2onnx GaussianNB (computed in float64) / ComplementNB; parity ~1e-6."),
    "knn": ("yes", "skl2onnx nearest-neighbour graph (stores the training rows); parity ~1e-7."),
    "linear_svm": ("yes", "skl2onnx LinearSVC + sigmoid calibration; parity ~1e-7."),
    "random_forest": ("yes", "skl2onnx TreeEnsembleClassifier; parity ~1e-7."),
    "extra_trees": ("yes", "skl2onnx TreeEnsembleClassifier; parity ~1e-7."),
    "hist_gb": ("yes", "skl2onnx, with a fix for a boolean attribute bug in 1.20; parity ~1e-7."),
    "xgboost": ("yes", "onnxmltools' XGBoost converter registered into skl2onnx; parity ~2e-7."),
    "voting": (
        "yes",
        "soft voting with flatten_transform=False; only the logistic-regression member "
        "is scaled, so tree members split on raw float values; parity ~1e-7.",
    ),
    "stacking": ("yes", "stacked members + final logistic regression; only the linear member is scaled; parity ~1e-7."),
}


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


class NotExportable(Exception):
    """Conversion failed; the message is the reason shown to people."""


def exportability() -> pd.DataFrame:
    """One row per family: whether it is expected to export, and why (for the Export page)."""
    rows = [
        {"family": name, "label": info.label, "exportable": SUPPORT[name][0], "note": SUPPORT[name][1]}
        for name, info in catalog.FAMILIES.items()
        if name in SUPPORT
    ]
    return pd.DataFrame(rows)


# -- conversion -------------------------------------------------------------------------------------

_patch_lock = threading.Lock()
_xgb_registered = False


def _register_xgboost() -> None:
    """Teach skl2onnx to convert XGBClassifier with onnxmltools' converter (once per process)."""
    global _xgb_registered
    if _xgb_registered:
        return
    try:
        from onnxmltools.convert.xgboost.operator_converters.XGBoost import convert_xgboost
        from skl2onnx import update_registered_converter
        from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes
        from xgboost import XGBClassifier
    except ImportError:  # xgboost or onnxmltools not installed: XGBoost is then not exportable
        return
    update_registered_converter(
        XGBClassifier,
        "XGBoostXGBClassifier",
        calculate_linear_classifier_output_shapes,
        convert_xgboost,
        options={"nocl": [True, False], "zipmap": [True, False, "columns"]},
    )
    _xgb_registered = True


@contextlib.contextmanager
def _int_missing_flags():
    """Cast skl2onnx's ``nodes_missing_value_tracks_true`` to int while converting (1.20 bug)."""
    from skl2onnx.common import tree_ensemble

    original: Callable = tree_ensemble.add_node

    def add_node(*args, nodes_missing_value_tracks_true=0, **kwargs):
        return original(*args, nodes_missing_value_tracks_true=int(bool(nodes_missing_value_tracks_true)), **kwargs)

    with _patch_lock:
        tree_ensemble.add_node = add_node
        try:
            yield
        finally:
            tree_ensemble.add_node = original


def initial_types(numeric: list[str], categorical: list[str]) -> list[tuple[str, Any]]:
    """One ONNX input per column, in the order the pipeline's ColumnTransformer names them."""
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    return [(c, FloatTensorType([None, 1])) for c in numeric] + [(c, StringTensorType([None, 1])) for c in categorical]


def onnx_inputs(
    X: pd.DataFrame, numeric: list[str], categorical: list[str], names: list[str] | None = None
) -> dict[str, np.ndarray]:
    """The feed dict for onnxruntime from a DataFrame (see the input convention above).

    ``names`` are the graph's input names, in column order (:func:`input_names`): skl2onnx renames a
    column such as ``page quality`` to ``page_quality``, so a feed keyed by column names would miss.
    """
    columns = [*numeric, *categorical]
    keys = columns if names is None else names
    if len(keys) != len(columns):
        raise ValueError(f"the ONNX graph has {len(keys)} inputs for {len(columns)} columns")
    feed: dict[str, np.ndarray] = {}
    for key, c in zip(keys[: len(numeric)], numeric, strict=True):
        feed[key] = pd.to_numeric(X[c], errors="coerce").to_numpy(dtype=np.float32).reshape(-1, 1)
    for key, c in zip(keys[len(numeric) :], categorical, strict=True):
        s = X[c].astype(object)
        feed[key] = s.where(s.notna(), "").map(str).to_numpy(dtype=object).reshape(-1, 1)
    return feed


def input_names(sess: Any) -> list[str]:
    """The ONNX graph's input names, in the order of the columns they were made from."""
    return [i.name for i in sess.get_inputs()]


def convert(pipeline: Any, numeric: list[str], categorical: list[str]) -> bytes:
    """ONNX bytes of a fitted pipeline; :class:`NotExportable` with the converter's reason."""
    from skl2onnx import convert_sklearn

    _register_xgboost()
    register_converters()
    conv = for_conversion(pipeline)
    model = conv.steps[-1][1]
    try:
        with warnings.catch_warnings(), _int_missing_flags():
            warnings.simplefilter("ignore")
            onx = convert_sklearn(
                conv,
                initial_types=initial_types(numeric, categorical),
                target_opset=dict(TARGET_OPSET),
                final_types=final_types(conv),
                options={id(model): {"zipmap": False}},
            )
    except Exception as exc:  # converters raise many types; each is a reason to report, not a crash
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        raise NotExportable(f"the ONNX converter failed: {type(exc).__name__}: {first}") from None
    return onx.SerializeToString()


def session(model: bytes):
    """A single-threaded onnxruntime session (fair beside single-threaded scikit-learn)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(model, sess_options=opts, providers=["CPUExecutionProvider"])


def predict_proba(sess: Any, X: pd.DataFrame, numeric: list[str], categorical: list[str]) -> np.ndarray:
    """P(positive) for each row of ``X`` from an ONNX session."""
    return np.asarray(sess.run([OUTPUT], onnx_inputs(X, numeric, categorical, input_names(sess)))[0])[:, 1]


# -- latency ----------------------------------------------------------------------------------------


class _OnnxPredictor:
    """onnxruntime behind ``predict_proba(DataFrame)``, so the search's harness times it as it times
    a pipeline: a pandas row in (encoded into ONNX feeds, as a service would), probabilities out."""

    def __init__(self, sess: Any, numeric: list[str], categorical: list[str]) -> None:
        self.sess, self.numeric, self.categorical = sess, numeric, categorical
        self.names = input_names(sess)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.sess.run([OUTPUT], onnx_inputs(X, self.numeric, self.categorical, self.names))[0])


def _summary(report: latency_mod.LatencyReport) -> dict[str, float]:
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
    onnx = _OnnxPredictor(sess, numeric, categorical)
    per = max(repeats // rounds, 20)
    sk: list[latency_mod.LatencyReport] = []
    ox: list[latency_mod.LatencyReport] = []
    for r in range(rounds):
        order = [(pipeline, sk), (onnx, ox)] if r % 2 == 0 else [(onnx, ox), (pipeline, sk)]
        for model, out in order:
            out.append(latency_mod.measure(model, X, repeats=per))

    def median(reports: list[latency_mod.LatencyReport]) -> dict[str, float]:
        rows = [_summary(x) for x in reports]
        return {k: float(np.median([row[k] for row in rows])) for k in rows[0]}

    return median(sk), median(ox)


def serving_sentence(onnx: dict[str, Any], stored_p95_ms: float | None = None) -> str:
    """The ONNX outcome in one plain sentence (CLI, Export page, decision.md, report): exported with
    both latencies, labelled "re-measured now", beside the search's stored figure when given."""
    if not onnx.get("exported"):
        return f"No ONNX model: {onnx.get('reason') or 'not attempted'}."
    sk, ox = onnx.get("sklearn_latency") or {}, onnx.get("onnx_latency") or {}
    nan = float("nan")
    text = (
        f"model.onnx exported ({onnx.get('reason', '')}). Re-measured now on this machine with the search's "
        f"harness: single-row p50 scikit-learn {sk.get('p50_ms', nan):.3f} ms, onnxruntime "
        f"{ox.get('p50_ms', nan):.3f} ms (p95 {sk.get('p95_ms', nan):.3f} vs {ox.get('p95_ms', nan):.3f} ms)."
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
) -> OnnxExport:
    """Convert, check parity on ``X_check`` (≥ ``min_rows`` rows, held-out data), time both paths.

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
