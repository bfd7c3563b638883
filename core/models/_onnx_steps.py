"""Stand-ins for fitted steps that skl2onnx cannot convert as they are, each with its ONNX graph.

Why: the pipeline we ship stays plain scikit-learn (old bundles load and predict unchanged); only the
copy handed to the converter is rewritten, and the parity check in :mod:`core.export.onnx` proves
that the rewritten graph predicts like the original.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.impute import SimpleImputer
from sklearn.naive_bayes import GaussianNB
from sklearn.preprocessing import OneHotEncoder

_registered = threading.Event()


class _GroupedOneHot(TransformerMixin, BaseEstimator):
    """Stands in for a fitted ``OneHotEncoder`` in the copy we convert; :func:`_convert_onehot` emits it.

    Why: skl2onnx refuses an encoder with infrequent categories ("not implemented"), and its own
    graph for ``handle_unknown="infrequent_if_exist"`` fails on an unseen category instead of
    counting it as infrequent. Here each column's rare and unseen values are first mapped to one
    label (ONNX ``LabelEncoder`` with a default), then one-hot encoded over the frequent categories
    plus that label, in the encoder's own output order.
    """

    def __init__(self, encoder: Any) -> None:
        self.encoder = encoder

    def columns(self) -> list[tuple[list[str], str | None]]:
        """Per input column: the categories of its output columns, and the label rare values take."""
        out: list[tuple[list[str], str | None]] = []
        infrequent = getattr(self.encoder, "infrequent_categories_", None) or [None] * len(self.encoder.categories_)
        for cats, rare in zip(self.encoder.categories_, infrequent, strict=True):
            if rare is None or len(rare) == 0:
                out.append(([str(c) for c in cats], None))
                continue
            rare_set = {str(c) for c in rare}
            kept = [str(c) for c in cats if str(c) not in rare_set]
            label = "infrequent_sklearn"
            while label in kept:
                label += "_"
            out.append((kept, label))
        return out


def _onehot_shape(operator: Any) -> None:
    from skl2onnx.common.data_types import FloatTensorType

    n_out = sum(len(kept) + (label is not None) for kept, label in operator.raw_operator.columns())
    operator.outputs[0].type = FloatTensorType([operator.inputs[0].get_first_dimension(), n_out])


def _convert_onehot(scope: Any, operator: Any, container: Any) -> None:
    from skl2onnx.proto import onnx_proto

    source, parts = operator.inputs[0].full_name, []
    for j, (kept, label) in enumerate(operator.raw_operator.columns()):
        index, col = scope.get_unique_variable_name("col_index"), scope.get_unique_variable_name("col")
        container.add_initializer(index, onnx_proto.TensorProto.INT64, [1], [j])
        container.add_node("Gather", [source, index], col, axis=1, name=scope.get_unique_operator_name("Gather"))
        cats = kept
        if label is not None:
            grouped = scope.get_unique_variable_name("grouped")
            container.add_node(
                "LabelEncoder",
                col,
                grouped,
                op_domain="ai.onnx.ml",
                op_version=2,
                name=scope.get_unique_operator_name("GroupRare"),
                keys_strings=kept,
                values_strings=kept,
                default_string=label,
            )
            col, cats = grouped, [*kept, label]
        hot, shape = scope.get_unique_variable_name("onehot"), scope.get_unique_variable_name("shape")
        container.add_node(
            "OneHotEncoder",
            col,
            hot,
            op_domain="ai.onnx.ml",
            zeros=1,
            cats_strings=[c.encode("utf-8") for c in cats],
            name=scope.get_unique_operator_name("OneHot"),
        )
        container.add_initializer(shape, onnx_proto.TensorProto.INT64, [2], [-1, len(cats)])
        parts.append(scope.get_unique_variable_name("onehot2d"))
        container.add_node("Reshape", [hot, shape], parts[-1], name=scope.get_unique_operator_name("Reshape"))
    container.add_node(
        "Concat", parts, operator.outputs[0].full_name, axis=1, name=scope.get_unique_operator_name("Concat")
    )


class _ToDouble(TransformerMixin, BaseEstimator):
    """Casts the features to float64 in front of Gaussian naive Bayes.

    Why: with a near-constant one-hot column the class log-likelihoods reach ~-5e10 and differ by
    tens; float32 (whose spacing there is ~4e3) loses the difference and the probability flips.
    """


def _double_shape(operator: Any) -> None:
    from skl2onnx.common.data_types import DoubleTensorType

    shape = operator.inputs[0].type.shape
    operator.outputs[0].type = DoubleTensorType([shape[0], shape[1] if len(shape) > 1 else None])


def _convert_double(scope: Any, operator: Any, container: Any) -> None:
    from skl2onnx.proto import onnx_proto

    container.add_node(
        "Cast",
        operator.inputs[0].full_name,
        operator.outputs[0].full_name,
        to=onnx_proto.TensorProto.DOUBLE,
        name=scope.get_unique_operator_name("ToDouble"),
    )


def register_converters() -> None:
    """Teach skl2onnx the stand-ins (once per process)."""
    if _registered.is_set():
        return
    from skl2onnx import update_registered_converter

    update_registered_converter(_GroupedOneHot, "TradeoffGroupedOneHot", _onehot_shape, _convert_onehot)
    update_registered_converter(_ToDouble, "TradeoffToDouble", _double_shape, _convert_double)
    _registered.set()


def for_conversion(pipeline: Any) -> Any:
    """A copy skl2onnx can convert: ``""`` is the categorical imputer's missing value (skl2onnx
    needs a string there) and each one-hot encoder is a :class:`_GroupedOneHot`; Gaussian naive Bayes
    computes in float64 (:class:`_ToDouble`)."""
    conv = copy.deepcopy(pipeline)
    prep = conv.steps[0][1]
    for _, transformer, _cols in getattr(prep, "transformers_", []):
        steps = getattr(transformer, "steps", None) or []
        for i, (name, step) in enumerate(steps):
            if isinstance(step, SimpleImputer) and getattr(step, "fill_value", None) == "missing":
                step.missing_values = ""
            elif isinstance(step, OneHotEncoder) and step.drop is None:
                steps[i] = (name, _GroupedOneHot(step))
    if isinstance(conv.steps[-1][1], GaussianNB):
        conv.steps.insert(len(conv.steps) - 1, ("to_double", _ToDouble()))
    return conv


def final_types(conv: Any) -> list[tuple[str, Any]] | None:
    """The graph's outputs when they are not skl2onnx's float32 default (after :class:`_ToDouble`)."""
    if not any(isinstance(step, _ToDouble) for _, step in conv.steps):
        return None
    from skl2onnx.common.data_types import DoubleTensorType, Int64TensorType

    return [("label", Int64TensorType([None])), ("probabilities", DoubleTensorType([None, 2]))]
