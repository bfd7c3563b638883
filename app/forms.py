"""The Objectives page's form: where its starting values come from and how widgets become a Spec.

Widget values live under ``obj_*`` session keys, initialised from a *draft* spec when missing.
The draft is, in order: a spec JSON the user uploaded; the current study's spec (when its data is
the data chosen on the Data page, or no data was chosen); otherwise defaults for the chosen data
(or the demo). When the draft's source changes, the ``obj_*`` keys are reset so the form shows it.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Collection
from dataclasses import asdict, replace
from datetime import date
from typing import Any

import streamlit as st

from app import data_view as dv
from core import catalog
from core import data as core_data
from core import objectives as obj
from core.errors import UserInputError
from core.metrics import value as core_value
from core.models import families as fam
from core.spec import DEFAULT_SAMPLER, Budget, DataRef, Objective, Spec, Validation, ValueModel

PREFIX = "obj_"
SOURCE = "_obj_source"
DRAFT = "_obj_draft"  # a spec dict from an uploaded JSON
VALUE_HELP = {
    "value_tp": "Value of a correct 'yes' (replaced per row by the value column when there is one). "
    "Default without a value column: +1, a utility, not money.",
    "value_fp": "Value of a wrong 'yes' (what acting on it wastes). Default: −1 without a value column; "
    "with one, what an average 'yes' is worth there = base rate × the column's mean.",
    "value_fn": "Value of a missed 'yes' (default 0: nothing happens).",
    "value_tn": "Value of a correct 'no' (default 0).",
    "conversion_loss_per_100ms": "Share of the value lost per +100 ms of latency, applied only when "
    "the latency penalty is on (for a service whose users wait for the answer). Default 0.002 (0.2 %): the low end of Google's 0.2–0.6 % for "
    "100–400 ms (Brutlag 2009) and Booking.com's ~0.5 % for +30 % latency (KDD 2019).",
    "vcpu_hour_price": "€ per vCPU-hour; one prediction costs its single-thread CPU time. Default "
    "€0.05, the order of an on-demand cloud vCPU.",
}
VALUE_SWITCHES = {
    "money": "The values are € (a value column, or prices the team set); off, figures read "
    "'utility units'. Default: on only with a value column.",
    "latency_penalty": "Subtract the conversions slower responses lose (the rate beside). Default: on "
    "only with a value column, since it prices lost sales.",
}
SWITCH_LABELS = {"money": "Values are €", "latency_penalty": "Apply the latency penalty"}
VALUE_LABELS = {
    "value_tp": "Correct 'yes'",
    "value_fp": "Wrong 'yes'",
    "value_fn": "Missed 'yes'",
    "value_tn": "Correct 'no'",
    "conversion_loss_per_100ms": "Value lost per +100 ms (share)",
    "vcpu_hour_price": "vCPU-hour price (€)",
}
VALUE_NAME = "value_per_1k"


def value_words(value_column: str | None, money: bool) -> tuple[str, str]:
    """(label, help) of the net-value objective as this spec's figures read: named after the
    team's value column ("fee_eur") when the table has one, € when the team priced its decisions,
    neutral utility units otherwise; never an ad's or a loan's words for a table that is neither."""
    label = obj.get(VALUE_NAME).label
    if value_column:
        return (
            f"{label} ({value_column})",
            f"Net value per 1,000 decisions, each correct 'yes' worth its row's {value_column}, in that "
            "column's unit, net of wrong 'yes' costs, the latency penalty (when on) and infra cost.",
        )
    if money:
        return f"{label} (€)", "Net value per 1,000 decisions in €, from the prices the team set for each outcome."
    return (
        f"{label} (utility units)",
        "Net value per 1,000 decisions in utility units: +1 a correct 'yes', −1 a wrong one, unless "
        "the team sets its own values below.",
    )


def objective_label(name: str, value_column: str | None, money: bool) -> str:
    """How an objective reads in the picker: label and unit, the value objective in the spec's words."""
    if name == VALUE_NAME:
        return value_words(value_column, money)[0]
    m = obj.get(name)
    return f"{m.label} ({m.unit})"


SAMPLER_HELP = {name: info.help for name, info in catalog.SAMPLERS_INFO.items()}
BUDGET_KINDS = ("Trials", "Minutes", "Whichever ends first")


def example(m: obj.MetricDef) -> str:
    """A limit as people would type it for this metric's unit."""
    if m.unit == "score":
        return "0.8" if m.direction == "maximize" else "0.1"
    return {"ms": "20 ms", "s": "2 s", "bytes": "5 MB", "count": "10000", "rows/s": "500"}.get(m.unit, "100")


def limit_echo(name: str, raw: str) -> str | None:
    """What a typed limit means in the metric's own unit ("= 20,000 ms"), or None when it is empty or
    unreadable (the form's error says why). Shown before saving, so "20 seconds" cannot pass unseen."""
    try:
        value = obj.parse_limit(name, raw.strip(), name)
    except UserInputError:
        return None
    if value is None:
        return None
    return f"= {value:,.10g} {obj.get(name).unit}"


def suggest_study_name(data_path: str, existing: Collection[str], today: date | None = None) -> str:
    """A study name people can read and say: the data file's stem and today's date (``ads-2025-03-14``),
    with ``-2``, ``-3``… when that name is taken, so the suggestion never reopens another study."""
    stem = os.path.splitext(os.path.basename(data_path))[0] or "study"
    base = f"{stem}-{(today or date.today()).isoformat()}"
    name, n = base, 1
    while name in existing:
        n += 1
        name = f"{base}-{n}"
    return name


def has_torch() -> bool:
    return importlib.util.find_spec("torch") is not None


@st.cache_data(max_entries=8, show_spinner=False)
def default_value_model(ref: dict[str, Any]) -> dict[str, Any]:
    """Value-model defaults that fit the data (see ``core.metrics.value.default_value_model``)."""
    ds = dv.prepare(ref["path"], ref, dv.mtime(ref["path"]))
    return asdict(core_value.default_value_model(ds))


def demo_ref() -> DataRef:
    return DataRef(
        path=core_data.DEMO,
        target=core_data.DEMO_TARGET,
        sensitive=core_data.DEMO_SENSITIVE,
        value_column=core_data.DEMO_VALUE,
    )


def _data_key(d: dict[str, Any]) -> tuple:
    return (d.get("path"), d.get("target"), tuple(d.get("sensitive") or ()), d.get("value_column"))


def draft(study_spec: Spec | None, study_name: str | None) -> tuple[dict[str, Any], str, str]:
    """(spec dict, source id, description) the form starts from."""
    chosen = dv.stored_ref()
    if st.session_state.get(DRAFT):
        d = st.session_state[DRAFT]
        return d, f"upload:{json.dumps(d, sort_keys=True)[:200]}", "the uploaded spec"
    if study_spec is not None:
        sd = json.loads(study_spec.to_json())
        if chosen is None or _data_key(chosen) == _data_key(sd["data"]):
            return sd, f"study:{study_name}", f"study {study_name}"
    ref = DataRef(**chosen) if chosen else demo_ref()
    names = list(obj.DEFAULT_OBJECTIVES)
    if not ref.sensitive:
        names = [n for n in names if obj.get(n).group != "fairness"] + ["accuracy"]
    base = Spec(
        data=ref,
        objectives=tuple(Objective(n) for n in names),
        value_model=ValueModel(**default_value_model(dv.ref_key(ref))),
    )
    sd = json.loads(base.to_json())
    label = "the demo data" if ref.path == core_data.DEMO else "the data chosen on the Data page"
    return sd, f"data:{_data_key(sd['data'])}", label


def reset_if_new(source: str) -> None:
    if st.session_state.get(SOURCE) != source:
        for k in [k for k in st.session_state if isinstance(k, str) and k.startswith(PREFIX)]:
            del st.session_state[k]
        st.session_state[SOURCE] = source


def init(key: str, value: Any) -> str:
    """Give widget ``key`` its starting value unless the user already changed it; returns the key."""
    if key not in st.session_state:
        st.session_state[key] = value
    return key


def _num(v: float | None) -> str:
    return "" if v is None else f"{v:g}"


def init_all(d: dict[str, Any]) -> None:
    objs = d.get("objectives") or []
    init("obj_names", [o["name"] for o in objs])
    by = {o["name"]: o for o in objs}
    for name in obj.REGISTRY:
        o = by.get(name, {})
        init(f"obj_owner_{name}", o.get("owner") or obj.get(name).default_owner)
        init(f"obj_limit_{name}", _num(o.get("limit")))
        init(f"obj_asp_{name}", _num(o.get("aspiration")))
    for k, v in (d.get("value_model") or {}).items():
        init(f"obj_vm_{k}", v if k in VALUE_SWITCHES else float(v))
    chosen = set(d.get("families") or fam.DEFAULT_FAMILIES)
    for name in fam.REGISTRY:
        init(f"obj_fam_{name}", name in chosen)
    b = d.get("budget") or {}
    kind = 2 if b.get("n_trials") and b.get("timeout_s") else (1 if b.get("timeout_s") else 0)
    init("obj_budget_kind", BUDGET_KINDS[kind])
    init("obj_trials", int(b.get("n_trials") or 60))
    init("obj_minutes", float(b["timeout_s"]) / 60 if b.get("timeout_s") else 10.0)
    init("obj_sampler", d.get("sampler", DEFAULT_SAMPLER))
    init("obj_seed", int(d.get("seed", 0)))
    v = d.get("validation") or {}
    init("obj_cv", int(v.get("cv_folds", 3)))
    init("obj_test_size", float(v.get("test_size", 0.25)))
    init("obj_max_rows", int(v.get("max_train_rows") or 0))
    init("obj_latency_repeats", int(v.get("latency_repeats", 200)))


def set_families(names: tuple[str, ...]) -> None:
    """Button callback: tick exactly these families."""
    for name in fam.REGISTRY:
        st.session_state[f"obj_fam_{name}"] = name in names


def build(d: dict[str, Any]) -> Spec:
    """The Spec the widgets describe (raises ``UserInputError`` naming the field)."""
    ss = st.session_state
    data = DataRef(
        **{
            **d["data"],
            "sensitive": tuple(d["data"].get("sensitive") or ()),
            "exclude": tuple(d["data"].get("exclude") or ()),
        }
    )
    objectives = tuple(
        Objective(
            n,
            owner=ss[f"obj_owner_{n}"].strip(),
            limit=ss[f"obj_limit_{n}"].strip() or None,
            aspiration=ss[f"obj_asp_{n}"].strip() or None,
        )
        for n in ss["obj_names"]
    )
    kind = BUDGET_KINDS.index(ss["obj_budget_kind"])
    budget = Budget(
        n_trials=int(ss["obj_trials"]) if kind in (0, 2) else None,
        timeout_s=float(ss["obj_minutes"]) * 60 if kind in (1, 2) else None,
    )
    validation = Validation(
        test_size=float(ss["obj_test_size"]),
        cv_folds=int(ss["obj_cv"]),
        max_train_rows=int(ss["obj_max_rows"]) or None,
        latency_repeats=int(ss["obj_latency_repeats"]),
    )
    chosen: dict[str, Any] = {k: float(ss[f"obj_vm_{k}"]) for k in VALUE_HELP}
    chosen |= {k: bool(ss.get(f"obj_vm_{k}", getattr(ValueModel(), k))) for k in VALUE_SWITCHES}
    vm = ValueModel(**chosen)
    families = tuple(n for n in fam.REGISTRY if ss.get(f"obj_fam_{n}"))
    if not families:
        raise UserInputError("families: tick at least one model family.", field="families")
    spec = Spec(
        data=data,
        objectives=objectives,
        families=families,
        budget=budget,
        sampler=ss["obj_sampler"],
        seed=int(ss["obj_seed"]),
        validation=validation,
        value_model=vm,
    )
    return replace(spec, data=replace(spec.data, fingerprint=d["data"].get("fingerprint")))
