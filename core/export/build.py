"""Make a bundle from a study: the chosen option's model (the one the search kept, else re-fitted)
with the option's decision rule, checked ONNX, the config and the report.

An option is a trial and a rule (:mod:`core.export.chosen`): ``"12"`` ships trial 12 deciding at its
tuned threshold, ``"12@3"`` the same model deciding with point 3 of its stored curve. Why re-fit
when the search kept no model: re-fitting with the stored split, parameters and seed yields the
same model (``reproduce`` proves it later on the bundle itself).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
import yaml
from threadpoolctl import threadpool_limits

from core import catalog, search
from core import storage as st
from core.data import Dataset, load_dataset
from core.decide import front
from core.decide import limits as view_limits
from core.errors import UserInputError
from core.export import chosen as chosen_option
from core.export import onnx as onnx_export
from core.export import report, rules, safety
from core.export import verdict as room_verdict
from core.export.bundle import CONFIG, CONFIG_YAML, DECISION, MANIFEST, MODEL, ONNX, REPORT, manifest
from core.export.bundle import zip_bytes as _zip_bytes
from core.export.config import BundleConfig, DataSummary, StudyRef, library_versions
from core.models import candidate
from core.models import families as fam
from core.models import latency as latency_mod
from core.search import reader as study_reader
from core.spec import Spec


@dataclass
class ExportResult:
    """Every bundle file in memory, the typed config and the ONNX outcome (None when not attempted)."""

    files: dict[str, bytes]
    config: BundleConfig
    onnx: onnx_export.OnnxExport | None
    path: Path | None = None

    def zip_bytes(self) -> bytes:
        return _zip_bytes(self.files)


def default_option(url: str, study_name: str) -> tuple[str | None, str]:
    """The option to export by default: the room's locked option (``"12"`` or ``"12@3"``), else
    the front's knee with its own rule; (None, why) when there is nothing to export yet."""
    from core.decide.room_lock import locked_option

    locked, why = locked_option(url, study_name)
    if locked is not None:
        return locked, f"the room's decision ({why})"
    spec = view_limits.load_view_spec(url, study_name)  # the room's limits
    _pf, knee = report.front_of(study_reader.read_frame(url, study_name, spec), spec)
    if knee is not None:
        return str(int(knee)), f"the knee of the front ({why.rstrip('.').lower()})"
    return None, "no feasible finished trial to export yet"


def default_trial(url: str, study_name: str) -> tuple[int | None, str]:
    """The trial of :func:`default_option` (readers that follow the model, not its rule)."""
    key, why = default_option(url, study_name)
    return (None, why) if key is None else (int(key.split("@")[0]), why)


def dataset_summary(ds: Dataset, train_idx: np.ndarray, test_idx: np.ndarray, spec: Spec) -> DataSummary:
    """What the bundle records about the training table: fingerprint, columns, labels, sizes."""
    ref = spec.data
    columns = list(ds.numeric) + list(ds.categorical) + [ref.target, *ref.sensitive]
    columns += ([ref.value_column] if ref.value_column else []) + list(ref.exclude) + list(ds.dropped)
    return DataSummary(
        path=ref.path,
        fingerprint=str(ds.fingerprint),
        target=ref.target,
        positive_label=ds.positive_label,
        negative_label=ds.negative_label,
        numeric=tuple(ds.numeric),
        categorical=tuple(ds.categorical),
        columns=tuple(dict.fromkeys(columns)),
        dropped=dict(ds.dropped),
        n_rows=int(ds.n_rows),
        n_train=int(len(train_idx)),
        n_test=int(len(test_idx)),
        positive_rate=float(np.mean(ds.y)),
        notes=tuple(ds.notes),
        sensitive=tuple(ref.sensitive),
        decimal=ds.decimal,
    )


def _trial(study: optuna.Study, number: int) -> optuna.trial.FrozenTrial:
    for t in study.get_trials(deepcopy=False):
        if t.number == number:
            return t
    raise UserInputError(f"Study {study.study_name!r} has no trial #{number}.", field="trial")


def search_latency(cand: candidate.Candidate) -> tuple[dict[str, float], dict[str, float]] | None:
    """(scikit-learn, onnxruntime) latency the search took of this very model, when it took both: a
    kept model served by ONNX Runtime, timed precisely on that path and screened on scikit-learn's.
    None when the export must time them itself (a re-fit, a trial from before both were kept)."""
    info = getattr(cand.evaluation, "latency_info", None) or {}
    lat = cand.evaluation.latency
    if cand.refitted or info.get("path") != "onnx" or info.get("scope") == latency_mod.SCREENING or lat is None:
        return None
    sk50, sk95 = info.get("sklearn_p50_ms"), info.get("sklearn_p95_ms")
    if sk50 is None or sk95 is None or lat.p95_ms != lat.p95_ms:  # NaN: nothing stored
        return None
    return {"p50_ms": float(sk50), "p95_ms": float(sk95)}, onnx_export.latency_summary(lat)


def _onnx(
    cand: candidate.Candidate, spec: Spec, rule: Mapping[str, Any], *, remeasure: bool = False
) -> onnx_export.OnnxExport:
    """Export the inner pipeline and check parity on the test part, topped up with training rows.

    The graph computes probabilities only: a threshold rule is stated beside it; a group rule is not
    one threshold, so none is stated and the config's ``rule`` says what to apply. Both paths'
    latency is the search's own when it measured this model on both, unless ``remeasure``."""
    check = cand.dataset.subset(cand.test_idx).X
    if len(check) < onnx_export.MIN_ROWS:
        extra = cand.dataset.subset(cand.train_idx).X.iloc[: onnx_export.MIN_ROWS - len(check)]
        check = pd.concat([check, extra], ignore_index=True)
    return onnx_export.export(
        cand.pipeline,
        cand.family,
        check,
        cand.dataset.numeric,
        cand.dataset.categorical,
        latency_repeats=max(spec.validation.latency_repeats, 50),
        threshold=float(rule["threshold"]) if rule.get("kind") == rules.KIND_THRESHOLD else None,
        measured=None if remeasure else search_latency(cand),
    )


def _latency_record(ev: Any) -> dict[str, Any]:
    """The latency report the bundle records, with the path it was measured on (scikit-learn or
    ONNX Runtime), so ``reproduce`` times the same path."""
    path = (getattr(ev, "latency_info", None) or {}).get("path")
    return {**ev.latency.to_dict(), **({"path": path} if path else {})}


def _config(
    url: str,
    study: optuna.Study,
    cand: candidate.Candidate,
    onnx: onnx_export.OnnxExport | None,
    option: chosen_option.ChosenOption,
    rule: dict[str, Any],
) -> BundleConfig:
    """The config of a fresh export; the study's stored figures win over the re-fit's (same numbers),
    and an option's rule-dependent figures are its curve point's (:func:`chosen_option.with_figures`)."""
    from core.decide.room_lock import locked_option

    spec, ua, ev = cand.spec, _trial(study, cand.number).user_attrs, cand.evaluation
    locked_key, _why = locked_option(url, study.study_name)
    locked = None if locked_key is None else int(locked_key.split("@")[0])
    metrics, test_metrics, cv_std = chosen_option.with_figures(
        option,
        ua.get("metrics") or cand.stored_metrics,
        ua.get("test_metrics") or ev.test,
        ua.get("cv_std") or ev.cv_std,
    )
    groups = list(ua.get("groups_test") or json.loads(ev.groups_test.to_json(orient="records")))
    if not option.tuned:
        groups = _option_groups(cand, rule)
    onnx_doc = onnx.to_dict() if onnx is not None else {"exported": False, "reason": "not attempted"}
    if onnx is not None and rule.get("kind") != rules.KIND_THRESHOLD:
        onnx_doc["decision_rule"] = "apply config.json's rule to P(positive): " + rules.rule_description(rule)
    return BundleConfig(
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        study=StudyRef(name=study.study_name, storage=st.mask(url), trial=int(cand.number)),
        spec=spec,
        family=cand.family,
        family_label=catalog.FAMILIES[cand.family].label,
        family_class=cand.klass,
        params=dict(cand.params),
        optuna_params=fam.flat_params(cand.family, cand.params),
        threshold=chosen_option.decision_threshold(rule),
        trial_threshold=None if option.tuned else float(cand.threshold),
        seeds={"spec_seed": spec.seed, "split": spec.seed, "cv_folds": spec.seed, "model_random_state": spec.seed},
        data=dataset_summary(cand.dataset, cand.train_idx, cand.test_idx, spec),
        metrics=metrics,
        test_metrics=test_metrics,
        cv_std=cv_std,
        groups_test=groups,
        export_latency=_latency_record(ev),
        versions=library_versions(),
        onnx=onnx_doc,
        onnx_support={f: {"exportable": s, "note": n} for f, (s, n) in onnx_export.SUPPORT.items()},
        decision={
            "room_locked_trial": locked,
            "room_locked_option": locked_key,
            "is_room_decision": locked_key == option.key,
        },
        option=option.key,
        rule=dict(rule),
        rule_description=rules.rule_description(rule),
    )


def _decisions(cand: candidate.Candidate, model: Any, part: Dataset) -> np.ndarray:
    """The exported model's decisions on a part of the study's data (a group rule reads the groups)."""
    return np.asarray(model.predict(rules.serving_rows(model, part.X, part.groups, part.sensitive))).astype(int)


def _option_groups(cand: candidate.Candidate, rule: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The per-group table on the held-out part for the option's rule (not the tuned one's)."""
    from core.metrics import fairness_report

    test = cand.dataset.subset(cand.test_idx)
    model = rules.with_rule(cand.pipeline, rule, _features(cand))
    _gaps, table = fairness_report(test.y, _decisions(cand, model, test), test.groups)
    return list(json.loads(table.to_json(orient="records")))


def _features(cand: candidate.Candidate) -> list[str]:
    return [*cand.dataset.numeric, *cand.dataset.categorical]


def build(
    url: str | None,
    study_name: str,
    trial_number: int | str,
    *,
    data: str | None = None,
    verdict: str | None = None,
    with_onnx: bool = True,
    with_report: bool = True,
    remeasure_latency: bool = False,
    on_step: Callable[[str], None] | None = None,
) -> ExportResult:
    """Make every bundle file of an option in memory (the page zips it, the CLI writes it), from the
    model the search fitted and kept when it did (no fit), else re-fitted on the trial's split.

    ``trial_number`` is a trial (its own tuned rule) or an option key (``"12@3"``: trial 12 deciding
    with point 3 of its stored curve); a key that names nothing is refused before any fit.

    ``data`` points at the study's table when it moved (its fingerprint must still match). Without a
    ``verdict``, the report carries the verdict of the last comparison run on this study, if any.
    ``remeasure_latency`` times both serving paths now even when the search measured this model.
    """
    step = on_step or (lambda _msg: None)
    url = st.resolve(url)
    study = search.open_study(url, study_name)
    if verdict is None:
        verdict = (room_verdict.last(url, study_name) or {}).get("sentence")
    ds = load_dataset(replace(search.load_spec(study).data, path=str(data))) if data is not None else None
    spec = search.load_spec(study)
    candidate.trial_config(study, options_number(trial_number))  # an unknown trial: its clear error first
    option = chosen_option.resolve(url, study_name, trial_number, spec)
    cand = _stored_candidate(url, study, spec, option.number, ds)
    if cand is None:
        step("re-fitting the chosen trial on the study's training part")
        with threadpool_limits(limits=1):  # same numbers, no OpenMP oversubscription (see reproduce)
            cand = candidate.refit(study, spec, option.number, dataset=ds)
    else:
        step("reading the model the search fitted for this trial")
    cand.option = option.key
    # a group rule carries how the study made its group labels, so serving labels raw rows the same way
    rule = rules.with_grouping(option.rule or rules.threshold_rule(float(cand.threshold)), cand.dataset.grouping)
    files = {MODEL: safety.dump_model(rules.with_rule(cand.pipeline, rule, _features(cand)))}
    onnx = None
    if with_onnx:
        step("exporting to ONNX and checking parity")
        onnx = _onnx(cand, cand.spec, rule, remeasure=remeasure_latency)
        if onnx.exported and onnx.model:
            files[ONNX] = onnx.model
    config = _config(url, study, cand, onnx, option, rule)
    if with_report:
        step("writing decision.md and report.html")
        data_ = report_data(url, study, cand.spec, cand, config.to_json(), verdict)
        room = data_.room
        decision = {"by": room.locked_by, "at": room.locked_at, "rationale": room.rationale, "note": room.note}
        config = replace(config, decision={**config.decision, **decision})
        files[DECISION] = report.decision_markdown(data_).encode("utf-8")
        files[REPORT] = report.report_html(data_).encode("utf-8")
    doc = config.to_json()
    files[CONFIG] = json.dumps(doc, indent=2).encode("utf-8")
    files[CONFIG_YAML] = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True).encode("utf-8")
    files[MANIFEST] = manifest(files)
    return ExportResult(files=files, config=config, onnx=onnx)


def options_number(key: int | str) -> int:
    """The trial number of an option key (a bad key: the options module's one clear message)."""
    from core.decide.options import parse_option

    return parse_option(key)[0]


def _stored_candidate(url: str, study: optuna.Study, spec: Spec, number: int, ds: Any) -> candidate.Candidate | None:
    """The trial as the search left it, with the fitted model it kept (:mod:`core.search.artifacts`),
    so nothing is fitted again; None when the search kept no model for it (Export then re-fits)."""
    from core.search import artifacts
    from core.search import reader as study_reader

    candidate.trial_config(study, number)  # an unknown or unfinished trial: the usual clear error
    data = artifacts.stored_model(url, study.study_name, number)
    if data is None:
        return None
    stored = study_reader.load_predictions(url, study.study_name, number)
    cand = candidate.from_storage(study, spec, number, stored, dataset=ds)
    if cand is None:
        return None
    cand.evaluation.pipeline = safety.load_model(data)  # only our families' types are trusted
    info = _trial(study, number).user_attrs.get("tradeoff.latency") or {}
    if hasattr(cand.evaluation, "latency_info"):
        cand.evaluation.latency_info = dict(info)
    return cand


def report_data(
    url: str,
    study: optuna.Study,
    spec: Spec,
    cand: candidate.Candidate,
    recorded: Mapping[str, Any],
    verdict: str | None,
) -> report.ReportData:
    """What decision.md and report.html show: the recorded figures (config JSON), the front, the room.

    The decision threshold is the recorded rule's (an option's point), else the trial's tuned one."""
    threshold = float(recorded.get("threshold", cand.threshold))
    view = view_limits.view_spec(spec, study.user_attrs)  # the front as the room judges it now
    frame = front.trials_frame(study.get_trials(deepcopy=False), view)
    pf, knee = report.front_of(frame, view)
    test = cand.dataset.subset(cand.test_idx)
    note = ""
    try:
        with threadpool_limits(limits=1):
            imp = report.permutation_importance(cand.pipeline, test.X, test.y, seed=spec.seed, threshold=threshold)
    except Exception as exc:  # e.g. a test part with one class: say so rather than fail the export
        imp, note = None, f"Not computed ({type(exc).__name__}: {exc})."
    data = recorded["data"]
    return report.ReportData(
        study_name=study.study_name,
        trial_number=cand.number,
        spec=spec,
        family=cand.family,
        params=dict(cand.params),
        threshold=threshold,
        metrics=recorded["metrics"],
        test_metrics=recorded["test_metrics"],
        cv_std=recorded["cv_std"],
        groups_test=pd.DataFrame(recorded["groups_test"]),
        frame=frame,
        front=pf,
        knee=knee,
        room=report.room_summary(url, study.study_name, spec, frame, study_reader.read_curves(url, study.study_name)),
        dataset=data.to_json() if isinstance(data, DataSummary) else data,
        importance=imp,
        importance_note=note,
        onnx=recorded["onnx"],
        verdict=verdict,
        versions=recorded["versions"],
        # stated only when it is not the trial's own threshold (already on the "Chosen model" line);
        # the templates end the sentence themselves
        rule_description=(str(recorded.get("rule_description") or "").rstrip(".") or None)
        if "@" in str(recorded.get("option") or "")
        else None,
        option=str(recorded.get("option") or cand.number),
    )


__all__ = [
    "ExportResult",
    "build",
    "dataset_summary",
    "default_option",
    "default_trial",
    "options_number",
    "report_data",
]
