"""The catalogue of everything a trial measures.

Every trial records every metric here (not only the optimised ones) so the room can change its mind
about objectives after the search and re-compute the front from stored values without re-running.

Naming: ``name`` is the search-time value (CV mean on the training part, or a property of the model
such as latency). Quality, value and fairness metrics are also recorded on the held-out test part
under ``test.<name>``; the sampler never sees those.

A limit is read here too (:func:`parse_limit`: "20 ms", "80 %", "5 MB"): reading a value in a
metric's unit is the inverse of formatting it, and both need the metric's unit and bounds.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Literal, NoReturn

from core._text import fmt_bytes
from core.errors import UserInputError

Direction = Literal["minimize", "maximize"]
Group = Literal["quality", "latency", "value", "fairness", "complexity"]

METRIC_ATTR = "metric."
TEST_ATTR = "test."
STD_ATTR = "cv_std."
#: what unpriced value is counted in (a symmetric ±1 utility matrix is not money)
UTILITY_UNITS = "utility units"


@dataclass(frozen=True)
class MetricDef:
    """How to read, compare and bound one metric.

    ``bounds`` are the values a hard limit or aspiration may take; a limit outside them is almost
    always a unit mistake (0.95 vs 95 %, seconds vs milliseconds), so the spec rejects it.
    """

    name: str
    label: str
    unit: str
    direction: Direction
    group: Group
    description: str
    bounds: tuple[float, float]
    default_owner: str
    on_test: bool = False
    has_cv_spread: bool = False

    @property
    def sign(self) -> float:
        """+1 when smaller is better, -1 otherwise: multiply to turn every metric into a loss."""
        return 1.0 if self.direction == "minimize" else -1.0

    def fmt(self, value: float | None) -> str:
        if value is None or value != value:  # NaN
            return "–"
        if self.unit == "bytes":
            return fmt_bytes(value)
        if self.unit in ("ms",):
            return f"{value:.2f} ms"
        if self.unit == "s":
            return f"{value:.3f} s"
        if self.unit == "rows/s":
            return f"{value:,.0f} rows/s"
        if self.unit.startswith("€"):
            return f"€{value:,.2f}"
        if self.unit.startswith(UTILITY_UNITS):
            return f"{value:,.2f} {UTILITY_UNITS}"
        if self.unit == "count":
            return f"{value:,.0f}"
        return f"{value:.4f}"


INF = float("inf")

_DEFS: list[MetricDef] = [
    # quality: CV mean on the training part; test.<name> on the held-out part
    MetricDef(
        "roc_auc",
        "ROC AUC",
        "score",
        "maximize",
        "quality",
        "Area under the ROC curve: how well scores rank positives above negatives.",
        (0.0, 1.0),
        "ML engineering",
        on_test=True,
        has_cv_spread=True,
    ),
    MetricDef(
        "pr_auc",
        "PR AUC",
        "score",
        "maximize",
        "quality",
        "Average precision: ranking quality focused on the positive (rare) class.",
        (0.0, 1.0),
        "ML engineering",
        on_test=True,
        has_cv_spread=True,
    ),
    MetricDef(
        "accuracy",
        "Accuracy",
        "score",
        "maximize",
        "quality",
        "Share of correct decisions at the tuned threshold.",
        (0.0, 1.0),
        "ML engineering",
        on_test=True,
        has_cv_spread=True,
    ),
    MetricDef(
        "balanced_accuracy",
        "Balanced accuracy",
        "score",
        "maximize",
        "quality",
        "Mean of recall on each class at the tuned threshold; robust to class imbalance.",
        (0.0, 1.0),
        "ML engineering",
        on_test=True,
        has_cv_spread=True,
    ),
    MetricDef(
        "f1",
        "F1",
        "score",
        "maximize",
        "quality",
        "Harmonic mean of precision and recall at the tuned threshold.",
        (0.0, 1.0),
        "ML engineering",
        on_test=True,
        has_cv_spread=True,
    ),
    MetricDef(
        "log_loss",
        "Log loss",
        "nats",
        "minimize",
        "quality",
        "Calibration-sensitive loss of the predicted probabilities.",
        (0.0, INF),
        "ML engineering",
        on_test=True,
        has_cv_spread=True,
    ),
    # latency: one request on the served path (ONNX Runtime fed a record where the family converts,
    # else a pandas row through scikit-learn), single thread; CPU time normalised to the reference
    # machine so trials measured at different times compare (see core.models.latency, core.models.served)
    MetricDef(
        "latency_p50_ms",
        "Latency p50",
        "ms",
        "minimize",
        "latency",
        "Median time of one request on the path the team will serve (ONNX Runtime where the model "
        "converts, else the scikit-learn pipeline on a pandas row), one thread; CPU time in "
        "reference-machine ms (core.models.latency).",
        (0.0, INF),
        "Product",
    ),
    MetricDef(
        "latency_p95_ms",
        "Latency p95",
        "ms",
        "minimize",
        "latency",
        "95th percentile of one request's latency on the served path over every timed call on "
        "test rows (validation.latency_repeats calls after warm-up, none dropped, no floor): what the 95th of 100 "
        "requests costs, so it exceeds the median when rows differ or the machine jitters. One "
        "thread; CPU time, normalised by a reference pipeline timed beside it, in reference-machine "
        "ms (core.models.latency).",
        (0.0, INF),
        "Product",
    ),
    MetricDef(
        "latency_p99_ms",
        "Latency p99",
        "ms",
        "minimize",
        "latency",
        "99th percentile of one request's latency on the served path over every timed call on "
        "test rows, measured as the p95; CPU time in reference-machine ms (core.models.latency).",
        (0.0, INF),
        "Product",
    ),
    MetricDef(
        "model_latency_p95_ms",
        "Model-only latency p95",
        "ms",
        "minimize",
        "latency",
        "95th percentile single-row time of the estimator alone on an already-encoded row: "
        "separates models that the pandas overhead of the full pipeline hides.",
        (0.0, INF),
        "Product",
    ),
    MetricDef(
        "throughput_rps",
        "Batch throughput",
        "rows/s",
        "maximize",
        "latency",
        "Rows per second when scoring a batch of 1,000 rows, one thread.",
        (0.0, INF),
        "Infra",
    ),
    # value
    MetricDef(
        "value_per_1k",
        "Net value per 1,000 decisions",
        "€ per 1k decisions",
        "maximize",
        "value",
        "Expected net value per 1,000 decisions at the decision rule, in the team's own unit (its value "
        "column or the prices it set, else utility units), after the latency penalty (when on) and infra cost.",
        (-INF, INF),
        "Sales",
        on_test=True,
    ),
    MetricDef(
        "infra_cost_per_1m",
        "Infra cost / 1M predictions",
        "€ per 1M",
        "minimize",
        "value",
        "CPU cost of one million single-row predictions at the configured vCPU price.",
        (0.0, INF),
        "Infra",
    ),
    # fairness (fairlearn), computed on out-of-fold predictions in CV and on the test part
    MetricDef(
        "dp_diff",
        "Demographic parity difference",
        "score",
        "minimize",
        "fairness",
        "Largest gap in selection rate between sensitive groups (0 = parity).",
        (0.0, 1.0),
        "Legal & ethics",
        on_test=True,
    ),
    MetricDef(
        "dp_ratio",
        "Demographic parity ratio",
        "score",
        "maximize",
        "fairness",
        "Smallest over largest group selection rate (1 = parity; the 4/5 rule asks ≥ 0.8).",
        (0.0, 1.0),
        "Legal & ethics",
        on_test=True,
    ),
    MetricDef(
        "eo_diff",
        "Equalized odds difference",
        "score",
        "minimize",
        "fairness",
        "Largest gap in true- or false-positive rate between groups (0 = equal odds).",
        (0.0, 1.0),
        "Legal & ethics",
        on_test=True,
    ),
    MetricDef(
        "worst_group_recall",
        "Worst-group recall",
        "score",
        "maximize",
        "fairness",
        "Recall of the group the model serves worst.",
        (0.0, 1.0),
        "Legal & ethics",
        on_test=True,
    ),
    MetricDef(
        "worst_group_accuracy",
        "Worst-group accuracy",
        "score",
        "maximize",
        "fairness",
        "Accuracy of the group the model serves worst.",
        (0.0, 1.0),
        "Legal & ethics",
        on_test=True,
    ),
    # complexity
    MetricDef(
        "model_size_bytes",
        "Model size",
        "bytes",
        "minimize",
        "complexity",
        "Size of the fitted pipeline serialised with skops.",
        (0.0, INF),
        "Infra",
    ),
    MetricDef(
        "fit_time_s",
        "Fit time",
        "s",
        "minimize",
        "complexity",
        "Wall time to fit the pipeline on the whole training part.",
        (0.0, INF),
        "Infra",
    ),
    MetricDef(
        "n_parameters",
        "Parameters",
        "count",
        "minimize",
        "complexity",
        "Learned numbers in the model (coefficients, tree nodes, stored samples).",
        (0.0, INF),
        "Infra",
    ),
]

REGISTRY: dict[str, MetricDef] = {m.name: m for m in _DEFS}
QUALITY = [m.name for m in _DEFS if m.group == "quality"]
TEST_METRICS = [m.name for m in _DEFS if m.on_test]

DEFAULT_OBJECTIVES = ("roc_auc", "latency_p95_ms", "dp_diff")


def get(name: str) -> MetricDef:
    """Look a metric up, with a message that lists the valid names when it is unknown."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise UserInputError(
            f"Unknown objective {name!r}. Allowed: {', '.join(REGISTRY)}.", field="objectives"
        ) from None


def attr_key(name: str, *, test: bool = False) -> str:
    """The trial user-attribute key a metric is stored under."""
    return (TEST_ATTR if test else METRIC_ATTR) + name


# -- limits as people type them ---------------------------------------------------------------------


def _refuse(field_name: str, message: str) -> NoReturn:
    raise UserInputError(f"{field_name}: {message}", field=field_name)


_UNIT_ALIASES = {
    "ms": "ms",
    "millisecond": "ms",
    "milliseconds": "ms",
    "s": "s",
    "msec": "ms",
    "msecs": "ms",
    "sec": "s",
    "secs": "s",
    "second": "s",
    "seconds": "s",
    "min": "min",
    "minute": "min",
    "mins": "min",
    "minutes": "min",
    "h": "h",
    "hr": "h",
    "hrs": "h",
    "hour": "h",
    "hours": "h",
    "%": "%",
    "percent": "%",
    "b": "bytes",
    "byte": "bytes",
    "bytes": "bytes",
    "kb": "KB",
    "mb": "MB",
    "gb": "GB",
    "€": "€",
    "eur": "€",
    "euro": "€",
    "euros": "€",
    "rows/s": "rows/s",
    "rps": "rows/s",
}
_BYTE_FACTORS = {"bytes": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}
_SECONDS = {"ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0}
_NUMBER_UNIT = re.compile(r"\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*([^\s\d].*?)?\s*")


def parse_limit(name: str, raw: Any, field_name: str) -> float | None:
    """Accept 20, "20", "20 ms", "0.8", "80 %", "5 MB"; reject units that do not fit the metric.

    Why strings at all: people type limits the way they say them in the meeting ("p95 ≤ 20 ms").
    A limit with the wrong unit is refused instead of silently converted across dimensions.
    """
    if raw is None or raw == "":
        return None
    metric = get(name)
    if isinstance(raw, bool):
        _refuse(field_name, f"expected a number in {metric.unit}, got {raw!r}.")
    if isinstance(raw, (int, float)):
        value = float(raw)
    elif isinstance(raw, str):
        m = _NUMBER_UNIT.fullmatch(raw)
        if not m:
            _refuse(
                field_name,
                f"could not read {raw!r} as a number (unit: {metric.unit}). Write e.g. "
                f"'{_example(metric)}' (accepted units: {accepted_units(metric)}).",
            )
        value = float(m.group(1))
        written = (m.group(2) or "").strip()
        unit = _UNIT_ALIASES.get(written.lower(), written)
        if unit:
            value = _convert(value, unit, metric, name, written, field_name)
    else:
        _refuse(field_name, f"expected a number in {metric.unit}, got {raw!r}.")
    if not math.isfinite(value):
        _refuse(field_name, f"must be a finite number, got {value!r}.")
    lo, hi = metric.bounds
    if not (lo <= value <= hi):
        _refuse(
            field_name,
            f"{value:g} is outside the possible range of {name} "
            f"[{lo:g}, {hi:g}] {metric.unit}. Check the sign and the unit "
            f"(e.g. '{_example(metric)}').",
        )
    return value


def _convert(value: float, unit: str, metric: MetricDef, name: str, written: str, field_name: str) -> float:
    """Convert within one dimension (time, bytes, fraction, money); refuse across dimensions."""
    if metric.unit in ("ms", "s") and unit in _SECONDS:
        return value * _SECONDS[unit] / _SECONDS[metric.unit]
    if metric.unit == "bytes" and unit in _BYTE_FACTORS:
        return value * _BYTE_FACTORS[unit]
    if metric.unit == "score" and unit == "%":
        return value / 100.0
    if metric.unit.startswith("€") and unit == "€":
        return value
    if unit == metric.unit:
        return value
    _refuse(
        field_name,
        f"{name} is measured in {metric.unit}; the unit {written!r} does not fit. Write e.g. "
        f"'{_example(metric)}' (accepted units: {accepted_units(metric)}).",
    )


def accepted_units(metric: MetricDef) -> str:
    """The units a limit on this metric may be written in, as the refusal names them."""
    if metric.unit in ("ms", "s"):
        return "ms, s, min, h (or a plain number in " + metric.unit + ")"
    if metric.unit == "bytes":
        return "bytes, KB, MB, GB (or a plain number of bytes)"
    if metric.unit == "score":
        return "a plain number or %"
    if metric.unit.startswith("€"):
        return "€ (or a plain number)"
    return f"{metric.unit} (or a plain number)"


def _example(metric: MetricDef) -> str:
    if metric.unit.startswith("€"):
        return "20 €"
    return {"ms": "20 ms", "s": "2 s", "bytes": "5 MB", "score": "0.8 (or 80 %)", "rows/s": "1000 rows/s"}.get(
        metric.unit, "0.5"
    )
