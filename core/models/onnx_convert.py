"""Convert a fitted pipeline to ONNX and run it in onnxruntime behind ``predict_proba(DataFrame)``.

Why here, below the search: the search times the path a team will serve (ONNX Runtime for the
families that convert), so the conversion must be importable from :mod:`core.search`; the export
(:mod:`core.export.onnx`, which re-exports these names) adds the parity report, the bundle and the
lessons learned making each converter work (its module docstring).
"""

from __future__ import annotations

import contextlib
import math
import threading
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from core.models._onnx_steps import final_types, for_conversion, register_converters

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


class NotExportable(Exception):
    """Conversion failed; the message is the reason shown to people."""


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


def _number(v: Any) -> float:
    """``pd.to_numeric(errors="coerce")`` for one value: a number, else NaN."""
    if v is None or isinstance(v, str):
        try:
            return float(v) if v is not None else math.nan
        except ValueError:
            return math.nan
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _text(v: Any) -> str:
    """The categorical feed of one value, as :func:`onnx_inputs` makes it (missing: "")."""
    return "" if v is None or (isinstance(v, float) and v != v) or v is pd.NA or v is pd.NaT else str(v)


class OnnxPredictor:
    """onnxruntime behind ``predict_proba(DataFrame)`` for batches, and behind one request at a time.

    A service serving the ONNX graph receives a request as a record of column values (parsed JSON)
    and builds the feeds from it; it has no reason to build a DataFrame first. So the latency harness
    times :meth:`predict_one` on :meth:`requests` (a record in, probabilities out): building a
    one-row DataFrame and converting it column by column cost ~1 ms, about ten times the graph
    itself, and made every model look alike. :func:`served` checks that both inputs give the same
    probabilities before the record path is timed.
    """

    def __init__(self, sess: Any, numeric: list[str], categorical: list[str]) -> None:
        self.sess, self.numeric, self.categorical = sess, numeric, categorical
        self.names = input_names(sess)
        self._num = list(zip(self.names[: len(numeric)], numeric, strict=True))
        self._cat = list(zip(self.names[len(numeric) :], categorical, strict=True))
        self.records_ok = True

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.sess.run([OUTPUT], onnx_inputs(X, self.numeric, self.categorical, self.names))[0])

    def requests(self, X: pd.DataFrame) -> list[dict[str, Any]]:
        """One request per row, as a service receives it: a record of the feature columns."""
        return X[[*self.numeric, *self.categorical]].to_dict("records")

    def feed(self, record: dict[str, Any]) -> dict[str, np.ndarray]:
        """The ONNX feeds of one request, built straight from its values."""
        feed: dict[str, np.ndarray] = {}
        for key, c in self._num:
            feed[key] = np.array([[_number(record.get(c))]], dtype=np.float32)
        for key, c in self._cat:
            feed[key] = np.array([[_text(record.get(c))]], dtype=object)
        return feed

    def predict_one(self, record: dict[str, Any]) -> np.ndarray:
        """Probabilities of one request (a record)."""
        return self.sess.run([OUTPUT], self.feed(record))[0]


def exportable(family: str) -> bool:
    """Whether the family is expected to convert (the trial's own parity check has the last word)."""
    return SUPPORT.get(family, ("no", ""))[0] == "yes"


def served(
    pipeline: Any, X_check: pd.DataFrame, numeric: list[str], categorical: list[str], *, tolerance: float = 1e-5
) -> tuple[OnnxPredictor | None, str]:
    """The ONNX path of a fitted pipeline, or None with the reason it cannot be served that way.

    The path counts only when its probabilities match the pipeline's on ``X_check`` within
    ``tolerance`` (the export's parity rule): a latency of a graph that computes something else
    would describe a model nobody ships.
    """
    try:
        sess = session(convert(pipeline, numeric, categorical))
        got = predict_proba(sess, X_check, numeric, categorical)
    except NotExportable as exc:
        return None, str(exc)
    except Exception as exc:  # onnxruntime refusing the graph is a reason, not a crash
        return None, f"onnxruntime could not run the converted model: {type(exc).__name__}: {str(exc)[:200]}"
    diff = float(np.max(np.abs(got.astype(np.float64) - pipeline.predict_proba(X_check)[:, 1]))) if len(got) else 0.0
    if not (np.isfinite(diff) and diff <= tolerance):
        return None, f"ONNX probabilities differ from scikit-learn's by up to {diff:.2e} (tolerance {tolerance:g})"
    predictor = OnnxPredictor(sess, numeric, categorical)
    predictor.records_ok = records_match(predictor, X_check.iloc[:RECORD_CHECK_ROWS])
    return predictor, f"parity within {tolerance:g} on {len(got)} rows"


RECORD_CHECK_ROWS = 20  # rows whose request feeds must equal their DataFrame feeds


def records_match(predictor: OnnxPredictor, X: pd.DataFrame) -> bool:
    """Whether every request of ``X`` feeds the graph exactly what its one-row DataFrame does
    (:func:`onnx_inputs`), so timing requests times the same computation."""
    try:
        # the DataFrame feed is column by column, so row i of the whole frame's feed is row i's own
        whole = onnx_inputs(X, predictor.numeric, predictor.categorical, predictor.names)
        for i, record in enumerate(predictor.requests(X)):
            mine = predictor.feed(record)
            if any(mine[k].dtype != v.dtype or not _same(mine[k], v[i : i + 1]) for k, v in whole.items()):
                return False
    except Exception:  # a value the record path cannot feed: the harness then times DataFrame rows
        return False
    return True


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    if a.dtype == object:
        return a.tolist() == b.tolist()
    return bool(np.array_equal(a, b, equal_nan=True))
