"""Everything the report shows, as one value, and the facts derived from it (metric rows, model
card, limitations) that decision.md and report.html both print, so the two files never disagree."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from core import catalog, search
from core import objectives as obj
from core._text import SCOPE_NOW, fmt_time
from core.decide import explain
from core.decide import front as front_mod
from core.export.report._room import RoomSummary
from core.metrics import display_metric
from core.models.latency import LatencyReport
from core.spec import Spec, ValueModel

#: Where each exported figure was measured, in the words decision.md, report.html and the card use.
SEARCH = "search (cross-validated on the training part)"
STORED = "search's stored measurement of this trial"
TEST = "held-out test"
NOW = SCOPE_NOW
_MEASURED = ("latency", "complexity")  # figures the search measured once, not per fold

INTENDED_USE = (
    "Rank or decide on rows like the training data ({target} = {positive}) at the decision "
    "threshold the study tuned for value. Not validated for other populations, other "
    "time periods or other decisions."
)


@dataclass
class ReportData:
    study_name: str
    trial_number: int
    spec: Spec
    family: str
    params: dict[str, Any]
    threshold: float
    metrics: dict[str, float]
    test_metrics: dict[str, float]
    cv_std: dict[str, float]
    groups_test: pd.DataFrame
    frame: pd.DataFrame
    front: pd.DataFrame
    knee: int | None
    room: RoomSummary
    dataset: dict[str, Any]
    importance: pd.DataFrame | None = None
    importance_note: str = ""
    onnx: dict[str, Any] | None = None
    verdict: str | None = None
    #: the latency harness's report taken at export (config ``export_latency``): shown beside the
    #: stored figure, labelled re-measured now, never instead of it
    export_latency: dict[str, Any] | None = None
    #: the decision rule in words (config ``rule_description``): one threshold, or one per group
    rule_description: str | None = None
    versions: dict[str, str] = field(default_factory=dict)
    #: the exported option's key ("12": the trial's own rule, "12@3": another point of its curve)
    option: str = ""
    created_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    @property
    def label(self) -> str:
        return catalog.FAMILIES[self.family].label

    @property
    def klass(self) -> str:
        return catalog.FAMILIES[self.family].klass


def permutation_importance(
    pipeline: Any, X: pd.DataFrame, y: np.ndarray, *, seed: int, threshold: float = 0.5, n_repeats: int = 5
) -> pd.DataFrame:
    """Drop in test ROC AUC when each original column is shuffled: feature, mean, std; largest first.

    The Compare page's numbers (:func:`core.decide.explain.permutation_importance`), so the report
    and the page never disagree about what drives the model.
    """
    res = explain.permutation_importance(
        pipeline, X, y, scoring="roc_auc", threshold=threshold, n_repeats=n_repeats, seed=seed
    )
    return res.frame()[["feature", "mean", "std"]].reset_index(drop=True)


def front_of(frame: pd.DataFrame, spec: Spec) -> tuple[pd.DataFrame, int | None]:
    """The study's feasible Pareto front and its knee (trial number)."""
    pf = front_mod.front(frame, spec.objective_names)
    try:
        knee = front_mod.knee_index(pf, spec.objective_names)
    except Exception:  # a degenerate front (one objective constant) has no knee
        knee = None
    return pf, knee


def fmt(name: str, value: Any, value_model: ValueModel | None = None) -> str:
    """A metric value in its unit (net value in utility units unless ``value_model`` is money);
    '–' when missing or not finite."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "–" if value is None else str(value)
    m = obj.get(name) if value_model is None else display_metric(obj.get(name), value_model)
    return m.fmt(number) if np.isfinite(number) else "–"


def _status(o: Any, v: float | None, test: float | None) -> str:
    """The limit judged on both parts, in the words every page and the CLI use (core.search)."""
    if o is None or o.limit is None:
        return ""
    return search.check_status(search.limit_check(o, v, test))


def scope_of(name: str) -> str:
    """Where the search column's figure of ``name`` comes from: out-of-fold on the training part, or
    (latency, size, fit time) the one measurement the search stored with the trial."""
    return STORED if obj.get(name).group in _MEASURED else SEARCH


def remeasured(data: ReportData) -> dict[str, float]:
    """The export's own latency figures by metric name (empty when the export took none)."""
    raw = data.export_latency or {}
    known = {k: v for k, v in raw.items() if k in LatencyReport.__dataclass_fields__}
    if not known:
        return {}
    try:
        report = LatencyReport(**{**dict.fromkeys(LatencyReport.__dataclass_fields__, float("nan")), **known})
    except TypeError:
        return {}
    return {k: float(v) for k, v in report.as_metrics().items() if v is not None and v == v}


def _shown(name: str, data: ReportData, objectives: set[str]) -> bool:
    """A metric in € appears only when the team priced its decisions (or chose it as an objective):
    unpriced studies carry no money figure at all."""
    unit = display_metric(obj.get(name), data.spec.value_model).unit
    return name in data.metrics and ("€" not in unit or data.spec.value_model.money or name in objectives)


def metric_rows(data: ReportData) -> list[dict[str, str]]:
    """One row per metric: label, unit, the search's figure (CV mean ± spread, or its stored
    measurement), held-out test value, the export's re-measurement, limit and status."""
    limits = {o.name: o for o in data.spec.objectives}
    vm, now = data.spec.value_model, remeasured(data)
    rows = []
    for name, m in obj.REGISTRY.items():
        if not _shown(name, data, set(limits)):
            continue
        v, spread, o = data.metrics.get(name), data.cv_std.get(name), limits.get(name)
        cv_text = fmt(name, v, vm)
        if spread is not None and m.has_cv_spread and spread == spread:
            cv_text += f" ± {spread:.4f} (std over {data.spec.validation.cv_folds} folds)"
        has_limit = o is not None and o.limit is not None
        rows.append(
            {
                "metric": m.label,
                "name": name,
                "scope": scope_of(name),
                "objective": "yes" if o else "",
                "owner": o.owner if o else "",
                "search": cv_text,
                "test": fmt(name, data.test_metrics.get(name), vm) if m.on_test else "",
                "now": fmt(name, now[name], vm) if name in now and m.group == "latency" else "",
                "limit": (("≤ " if o.direction == "minimize" else "≥ ") + fmt(name, o.limit, vm))
                if o and has_limit
                else "",
                "status": _status(o, v, data.test_metrics.get(name)),
            }
        )
    return rows


def value_line(data: ReportData) -> str:
    """Where net value comes from, so no figure reads as money the team never set."""
    vm, column = data.spec.value_model, data.spec.data.value_column
    if vm.money and column:
        text = f"Net value is in € from the value column {column!r} (what a correct 'yes' is worth per row)"
    elif vm.money:
        text = f"Net value is in € from the value matrix the team set (correct 'yes' {vm.value_tp:g})"
    elif column:
        text = f"Net value is in utility units from the value column {column!r} (not marked as money)"
    else:
        text = (
            f"Net value is in utility units, not money: no value column or value matrix was set, so a "
            f"correct 'yes' counts {vm.value_tp:+g} and a wrong one {vm.value_fp:+g}"
        )
    penalty = "a latency penalty is applied" if vm.latency_penalty else "no latency penalty is applied"
    return f"{text}; {penalty}."


def _small_groups(g: pd.DataFrame | None) -> list[str]:
    if g is None or g.empty or "n" not in g:
        return []
    small = g[g["n"] < 100]
    if not len(small):
        return []
    listed = ", ".join(f"{grp} ({int(n):,} rows)" for grp, n in zip(small["group"], small["n"]))
    return [f"Per-group figures rest on few test rows for: {listed}."]


def limitations(data: ReportData) -> list[str]:
    """What the numbers do not promise, in sentences for the model card."""
    out = [
        "Latency figures are the search's stored measurement (single-threaded CPU time, normalised to a "
        "reference pipeline), the figure every page shows and the limits judged; figures re-measured now "
        "on this machine appear only beside them. Re-measure on the serving hardware (`tradeoff "
        "reproduce` reports both)."
    ]
    out += _small_groups(data.groups_test)
    gap = data.test_metrics.get("dp_diff")
    if gap is not None and gap == gap and gap > 0.1:
        out.append(
            f"Selection rates differ between groups by up to {gap:.3f} on the held-out test part "
            "(demographic parity difference)."
        )
    if data.dataset.get("dropped"):
        dropped = ", ".join(f"{k} ({v})" for k, v in data.dataset["dropped"].items())
        out.append(f"Columns left out of the model: {dropped}.")
    if data.onnx and not data.onnx.get("exported"):
        out.append("No ONNX model: " + str(data.onnx.get("reason", "")))
    out.append(
        "The threshold was tuned on cross-validated predictions of the training part for the "
        "study's value model; if the values or costs in it change, re-tune it."
    )
    return out


def option_key(data: ReportData) -> str:
    """The exported option's key (a report made before options: the trial number)."""
    return data.option or str(data.trial_number)


def _named(data: ReportData, key: str) -> str:
    """``trial #12`` for a trial's own rule; ``trial #12 Logistic regression at threshold 0.41
    (option 12@3)`` for another point of its curve, so the sentence says which rule was chosen."""
    return f"trial #{key}" if "@" not in key else f"trial {data.room.label(key)}"


def decision_line(data: ReportData) -> str:
    """Whether the exported option (trial and rule) is the room's decision, in one sentence."""
    r = data.room
    mine = option_key(data)
    exported = _named(data, mine)
    if r.locked_trial is None:
        said = exported[:1].upper() + exported[1:]
        return f"No locked decision: {r.note or 'the room has not decided.'} {said} was exported."
    locked = r.locked_option or str(r.locked_trial)
    if locked == mine:
        return f"The room locked {_named(data, locked)} (by {r.locked_by}, {fmt_time(r.locked_at)})."
    return (
        f"The room locked {_named(data, locked)}, but {exported} was exported "
        f"(lock by {r.locked_by}, {fmt_time(r.locked_at)})."
    )


def onnx_line(o: dict[str, Any], stored_p95_ms: float | None = None) -> str:
    """The ONNX outcome in one sentence (:func:`core.export.onnx.serving_sentence`)."""
    from core.export.onnx import serving_sentence

    return serving_sentence(o, stored_p95_ms)


def _card_metric(x: dict[str, str]) -> str:
    """One metric of the card with the scope of every figure on it."""
    text = f"{x['metric']}: {x['scope']} {x['search']}"
    if x["test"]:
        text += f"; {TEST} {x['test']}"
    if x["now"]:
        text += f"; {NOW} {x['now']} (beside the stored figure, not instead of it)"
    return text


def model_card(data: ReportData) -> dict[str, list[str]]:
    """The model card's sections (title → lines of plain text)."""
    d, spec = data.dataset, data.spec
    use = [INTENDED_USE.format(target=spec.data.target, positive=d.get("positive_label", "?"))]
    if data.rule_description:
        use.append(f"Decision rule: {data.rule_description}.")
    return {
        "Intended use": use,
        "Data": [
            f"Source {spec.data.path} (fingerprint {d.get('fingerprint')}), {d.get('n_rows')} rows; "
            f"{d.get('n_train')} for training and cross-validation, {d.get('n_test')} held out.",
            f"Target {spec.data.target}, positive class {d.get('positive_label')} "
            f"(base rate {d.get('positive_rate', float('nan')):.3f}).",
            "Sensitive attribute(s): " + (", ".join(spec.data.sensitive) or "none") + ".",
        ]
        + [str(n) for n in d.get("notes", [])],
        "Metrics": [
            _card_metric(x)
            for x in metric_rows(data)
            if x["objective"] or x["name"] in obj.QUALITY[:2] or x["name"] == "value_per_1k"
        ]
        + [value_line(data)],
        "Fairness": [
            f"{obj.get(k).label}: {fmt(k, data.test_metrics.get(k))} ({TEST})"
            for k in ("dp_diff", "dp_ratio", "eo_diff", "worst_group_recall")
            if k in data.test_metrics
        ],
        "Limitations": limitations(data),
    }
