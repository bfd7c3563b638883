"""Re-train a bundle's configuration on its data and compare every recorded figure.

Why re-train instead of only loading ``model.skops``: "anyone must be able to check it later" means
proving the recorded numbers come from this configuration on this data, not only that a file loads.
Deterministic metrics must be identical (to 1e-9 relative) and the bundled model must predict like
the re-trained one; timings must fall within the latency harness's stated spread.

A bundle of another operating point (option ``"12@3"``) is re-checked as that rule: the re-trained
model's own curve must offer exactly the rule the bundle applies (every threshold equal), its
figures are that point's, and the bundle's decisions on the held-out rows must equal the rule
applied to the re-trained model's scores, row for row.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from core import objectives as obj
from core.data import Dataset, fingerprint, prepare, read_table, split
from core.errors import UserInputError
from core.export import chosen as chosen_option
from core.export import onnx as onnx_export
from core.export import rules
from core.export.bundle import ONNX, Bundle, open_bundle
from core.export.config import BundleConfig, library_versions
from core.models.evaluate import Evaluation, evaluate

REL_TOL = 1e-9
LATENCY_FLOOR = 0.25  # relative; the band is max(floor, 3 × the harness's block CV)
LATENCY_JUDGED = ("latency_p50_ms", "latency_p95_ms")
LATENCY_INFO = ("latency_p99_ms", "model_latency_p95_ms", "throughput_rps", "latency_mean_ms", "latency_cv")
LATENCY_DERIVED = ("value_per_1k", "infra_cost_per_1m", "latency_penalty_per_1k", "fit_time_s")
# metric name in the study → key in the latency harness's report
_LATENCY_KEY = {
    "latency_p50_ms": "p50_ms",
    "latency_p95_ms": "p95_ms",
    "latency_p99_ms": "p99_ms",
    "model_latency_p95_ms": "model_p95_ms",
    "throughput_rps": "throughput_rps",
    "latency_mean_ms": "mean_ms",
    "latency_cv": "cv",
}
_TIMING = "depends on timing; reported, not judged"


@dataclass
class Check:
    """One line of the reproduce report: ``kind`` is deterministic / latency / info."""

    name: str
    kind: str
    old: Any
    new: Any
    ok: bool | None
    note: str = ""


@dataclass
class ReproduceReport:
    checks: list[Check]
    data_changed: bool
    old_fingerprint: str
    new_fingerprint: str
    notes: list[str] = field(default_factory=list)
    value_model: Any = None  # the bundle spec's: unpriced net value prints in utility units, not €
    option: str = ""  # the bundle's option key ("12", "12@3")
    rule_description: str = ""  # its decision rule in words

    @property
    def ok(self) -> bool:
        return all(c.ok is not False for c in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.ok is False]

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame([c.__dict__ for c in self.checks])


def same(a: Any, b: Any) -> bool:
    """Equal to :data:`REL_TOL` relative (both missing, or both NaN, count as equal)."""
    if a is None or b is None:
        return a is None and b is None
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=1e-12)


def _deterministic_names() -> list[str]:
    return [m for m, d in obj.REGISTRY.items() if d.group in ("quality", "fairness")] + [
        "gross_value_per_1k",
        "model_size_bytes",
        "n_parameters",
    ]


def _read_data(b: Bundle, data: str | Path, allow_data_change: bool) -> tuple[Dataset, str]:
    """The bundle's data prepared as the study prepared it, and its fingerprint (refused if changed)."""
    expected = b.config.data.fingerprint
    df, notes = read_table(str(data))
    got = fingerprint(df)
    if got != expected and not allow_data_change:
        raise UserInputError(
            f"The data in {str(data)!r} is not the data this bundle was trained on: the bundle records "
            f"fingerprint {expected}, the file has {got}. Use the original file, or pass "
            "--allow-data-change to re-evaluate on this data (metrics will then differ).",
            field="data",
        )
    spec = b.spec
    return prepare(df, replace(spec.data, path=str(data), fingerprint=None), notes=notes), got


def _is_option(config: BundleConfig) -> bool:
    """A bundle of another operating point than the trial's tuned rule (``trial_threshold`` recorded)."""
    return config.trial_threshold is not None


def _rule_checks(config: BundleConfig, ev: Evaluation) -> tuple[list[Check], dict[str, Any], dict[str, Any]]:
    """An option bundle's rule re-derived from the re-trained model's curve: (checks, the point's
    search figures, its test figures) in the form the bundle recorded them."""
    sensitive = list(config.rule.get("columns") or config.spec.data.sensitive)
    point = chosen_option.find_point(ev.curve, config.rule, sensitive)
    tuned = Check(
        "trial threshold (tuned)",
        "deterministic",
        config.trial_threshold,
        ev.threshold,
        same(config.trial_threshold, ev.threshold),
    )
    note = (
        f"point {point} of the re-trained model's curve is exactly this rule"
        if point is not None
        else "the re-trained model's curve offers no rule with exactly these thresholds"
    )
    found = Check(
        f"decision rule of option {config.option}",
        "deterministic",
        0,
        0 if point is not None else 1,
        point is not None,
        note,
    )
    if point is None or ev.curve is None:
        return [tuned, found], {}, {}
    search, test = chosen_option.point_figures(ev.curve, point)
    option = chosen_option.ChosenOption(config.option, config.study.trial, point, dict(config.rule), search, test)
    metrics, test_metrics, _ = chosen_option.with_figures(option, ev.metrics, ev.test, {})
    return [tuned, found], metrics, test_metrics


def _metric_checks(config: BundleConfig, ev: Evaluation) -> list[Check]:
    """Every quality/fairness/value figure on search and test data, and the threshold(s): an option
    bundle's figures are its rule's (:func:`_rule_checks`), a tuned bundle's the trial's."""
    checks: list[Check] = []
    new_m, new_t = dict(ev.metrics), dict(ev.test)
    if _is_option(config):
        rule_checks, new_m, new_t = _rule_checks(config, ev)
        checks += rule_checks
    old_m, old_t = config.metrics, config.test_metrics
    for name in _deterministic_names():
        if name in old_m or name in new_m:
            old, new = old_m.get(name), new_m.get(name)
            checks.append(Check(name, "deterministic", old, new, same(old, new)))
    for name in obj.TEST_METRICS:
        if name != "value_per_1k":
            old, new = old_t.get(name), new_t.get(name)
            checks.append(Check(obj.TEST_ATTR + name, "deterministic", old, new, same(old, new)))
    if not _is_option(config):
        checks.append(
            Check("threshold", "deterministic", config.threshold, ev.threshold, same(config.threshold, ev.threshold))
        )
    return checks


def expected_decisions(config: BundleConfig, proba: np.ndarray, groups: Any) -> np.ndarray:
    """The bundle's rule applied by the kernel the curve used to the given scores (0/1 per row)."""
    from core.metrics.decision import decide
    from core.metrics.operating_points import group_decisions

    rule = config.rule or rules.threshold_rule(config.threshold)
    if rule.get("kind") == rules.KIND_GROUP:
        return np.asarray(group_decisions(proba, groups, dict(rule["thresholds"]), float(rule["default"]))).astype(int)
    return np.asarray(decide(proba, float(rule["threshold"]))).astype(int)


def _decision_check(b: Bundle, test: Dataset, retrained: np.ndarray) -> Check:
    """The bundled model's decisions on the held-out rows equal the recorded rule applied to the
    re-trained model's scores, row for row. A group rule decides the rows from their raw sensitive
    values through its own ``predict`` (as serving does), while the expected decisions use the
    study's labels: a bundle that labels raw rows otherwise than the study did fails here."""
    model = b.model()
    got = np.asarray(model.predict(rules.serving_rows(model, test.X, test.groups, test.sensitive))).astype(int)
    want = expected_decisions(b.config, retrained, test.groups)
    differ = int(np.sum(got != want))
    note = (
        f"{len(got)} held-out decisions by the bundled rule equal the rule on the re-trained model, "
        f"row for row ({int(got.sum())} positive)"
        if differ == 0
        else f"{differ} of {len(got)} held-out decisions differ"
    )
    return Check("decisions on the held-out part (rows that differ)", "deterministic", 0, differ, differ == 0, note)


def _grouping_check(config: BundleConfig, ds: Dataset) -> list[Check]:
    """A group rule's grouping (quartile bins, pooled groups) equals the one the data gives now: the
    thresholds are keyed by labels only that grouping makes. Nothing to check for a threshold rule
    or a bundle recorded before groupings were."""
    recorded = config.rule.get("grouping") if config.rule.get("kind") == rules.KIND_GROUP else None
    if not recorded:
        return []
    ok = rules.plain_grouping(recorded) == rules.plain_grouping(ds.grouping)
    note = (
        "the data groups the sensitive column(s) exactly as the bundle's rule does"
        if ok
        else "the data now groups the sensitive column(s) otherwise (other bins or pooled groups)"
    )
    return [Check("grouping of the sensitive column(s)", "deterministic", 0, 0 if ok else 1, ok, note)]


def _model_checks(b: Bundle, X: pd.DataFrame, retrained: np.ndarray) -> list[Check]:
    """The bundled model (and its ONNX copy) must predict exactly like the re-trained configuration."""
    bundled = b.model().predict_proba(X)[:, 1]
    diff = float(np.max(np.abs(bundled - retrained))) if len(bundled) else 0.0
    note = "the bundled model predicts exactly like the re-trained one"
    checks = [Check("model.skops vs re-trained (max |Δp|)", "deterministic", 0.0, diff, diff <= 1e-12, note)]
    if ONNX in b.files:
        sess = onnx_export.session(b.files[ONNX])
        p = onnx_export.predict_proba(sess, X, b.numeric, b.categorical)
        d = float(np.max(np.abs(p - bundled))) if len(p) else 0.0
        tol = onnx_export.TOLERANCE
        checks.append(
            Check("model.onnx vs model.skops (max |Δp|)", "deterministic", 0.0, d, d <= tol, f"tolerance {tol:g}")
        )
    return checks


def latency_checks(
    recorded: Mapping[str, Any], metrics: Mapping[str, Any], new: Mapping[str, Any], floor: float
) -> list[Check]:
    """Judge p50/p95 against the export-time measurement within the harness's stated spread.

    ``recorded`` is the latency report at export (``metrics`` fills in what an older one lacks),
    ``new`` the one measured now; the band is the larger of ``floor`` and 3 × either's block CV.
    """
    cv = max(float(recorded.get("cv") or 0.0), float(new.get("cv") or 0.0))
    band = max(floor, 3.0 * cv)
    out = []
    for name in LATENCY_JUDGED + LATENCY_INFO:
        o = recorded.get(_LATENCY_KEY[name], metrics.get(name))
        n = new.get(_LATENCY_KEY[name])
        if name in LATENCY_JUDGED and o not in (None, 0) and n is not None:
            rel = (float(n) - float(o)) / float(o)  # signed: "+" is slower now, "−" faster
            note = f"{_change(rel)} than at export; band ±{band:.0%} (max of {floor:.0%} and 3× block CV {cv:.3f})"
            out.append(Check(name, "latency", o, n, abs(rel) <= band, note))
        else:
            out.append(Check(name, "info", o, n, None, "timing; reported, not judged"))
    return out


def _change(rel: float) -> str:
    """'12 % slower' / '3 % faster' / 'as fast': the sign in words, so a decrease never reads "+"."""
    if rel == 0:
        return "as fast"
    return f"{abs(rel):.{1 if abs(rel) < 0.01 else 0}%} {'slower' if rel > 0 else 'faster'}"


def _timing_checks(config: BundleConfig, ev: Evaluation) -> list[Check]:
    checks = [Check(n, "info", config.metrics.get(n), ev.metrics.get(n), None, _TIMING) for n in LATENCY_DERIVED]
    name = obj.TEST_ATTR + "value_per_1k"
    checks.append(
        Check(name, "info", config.test_metrics.get("value_per_1k"), ev.test.get("value_per_1k"), None, _TIMING)
    )
    return checks


def reproduce(
    source: str | Path | bytes | Bundle,
    data: str | Path,
    *,
    allow_data_change: bool = False,
    latency_tolerance: float = LATENCY_FLOOR,
) -> ReproduceReport:
    """Re-train from config.json on ``data`` and compare every metric with the recorded one."""
    b = source if isinstance(source, Bundle) else open_bundle(source)
    ds, got = _read_data(b, data, allow_data_change)
    spec = b.spec
    train_idx, test_idx = split(ds, spec.validation, spec.seed)
    # One BLAS/OpenMP thread: the predictions do not depend on the thread count (checked for the
    # boosting families), and on a busy machine OpenMP oversubscription makes fits many times slower.
    with threadpool_limits(limits=1):
        path = (b.config.export_latency or {}).get("path") or "sklearn"  # the path timed at export
        ev = evaluate(b.family, b.params, ds, train_idx, test_idx, spec, keep_model=True, latency_path=path)
    retrained = np.asarray(ev.test_proba)  # kept by keep_model=True
    checks = _metric_checks(b.config, ev) + _grouping_check(b.config, ds)
    checks += _model_checks(b, ds.subset(test_idx).X, retrained)
    checks.append(_decision_check(b, ds.subset(test_idx), retrained))
    checks += latency_checks(b.config.export_latency, b.config.metrics, ev.latency.to_dict(), latency_tolerance)
    checks += _timing_checks(b.config, ev)
    expected = b.config.data.fingerprint
    report = ReproduceReport(
        checks=checks,
        data_changed=got != expected,
        old_fingerprint=expected,
        new_fingerprint=got,
        value_model=spec.value_model,
        option=b.config.option or str(b.config.study.trial),
        rule_description=b.config.rule_description,
    )
    now = library_versions()
    for lib, v in b.config.versions.items():
        if lib != "platform" and now.get(lib) != v:
            report.notes.append(f"{lib}: exported with {v}, now {now.get(lib)}")
    if report.data_changed:
        report.notes.insert(0, f"data changed ({expected} → {got}): differences are expected")
    return report


__all__ = [
    "LATENCY_FLOOR",
    "REL_TOL",
    "Check",
    "ReproduceReport",
    "expected_decisions",
    "latency_checks",
    "reproduce",
    "same",
]
