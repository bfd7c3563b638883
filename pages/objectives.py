"""Objectives & stakeholders: what to optimise, who owns it, red lines, money, families, budget."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from app import forms, stakeholder_cards, ui
from core import catalog
from core import objectives as obj
from core.decide import limits as view_limits
from core.errors import UserInputError
from core.models import families as fam
from core.spec import SAMPLERS, Spec

st.title("Objectives & stakeholders")
st.caption(
    "Pick the 2–5 things the room will trade off, who speaks for each, and the red lines. "
    "Every trial measures every metric below, so the room can change its mind later without "
    "re-running."
)

slots = ui.ErrorSlots()
cur = ui.current_study()
study_spec = None
if cur is not None:
    try:
        study_spec = ui.load_spec(*cur)
    except UserInputError as err:
        ui.show_error(err)

with st.expander("Load a spec from JSON"):
    spec_file = st.file_uploader(
        "Spec JSON", type=["json"], key="spec_upload", help="A spec downloaded here or written by `tradeoff init`."
    )
    slots.here("spec")
    if spec_file is not None and st.session_state.get("_spec_file_id") != spec_file.file_id:
        try:
            loaded = Spec.from_json(spec_file.getvalue().decode("utf-8", errors="replace"))
        except UserInputError as err:
            slots.show(err)
        else:
            st.session_state["_spec_file_id"] = spec_file.file_id
            st.session_state[forms.DRAFT] = json.loads(loaded.to_json())
            st.rerun()

d, source, described = forms.draft(study_spec, cur[1] if cur else None)
forms.reset_if_new(source)
forms.init_all(d)
sensitive = tuple(d["data"].get("sensitive") or ())
value_column = d["data"].get("value_column")
st.caption(
    f"Starting from {ui.esc(described)}: data `{ui.esc(d['data']['path'])}`, target `{ui.esc(d['data']['target'])}`."
)

with st.expander("The objective catalogue (what every trial measures)"):
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "objective": m.label,
                    "name": m.name,
                    "unit": m.unit,
                    "better": "higher" if m.direction == "maximize" else "lower",
                    "group": m.group,
                    "usual owner": m.default_owner,
                    "what it measures": m.description,
                }
                for m in obj.REGISTRY.values()
            ]
        ),
        hide_index=True,
    )

st.subheader("1 · Objectives and owners")
names = st.multiselect(
    "Objectives to optimise (2–5)",
    list(obj.REGISTRY),
    key="obj_names",
    max_selections=5,
    format_func=lambda n: forms.objective_label(n, value_column, bool(st.session_state.get("obj_vm_money"))),
)
slots.here("objectives")
if any(obj.get(n).group == "fairness" for n in names) and not sensitive:
    st.warning("Fairness objectives need a sensitive attribute (Data page); without one they are 0.")
for n in names:
    m = obj.get(n)
    c0, c1, c2, c3 = st.columns([2, 2, 1.3, 1.3])
    better = f"{'higher' if m.direction == 'maximize' else 'lower'} is better"
    if n == forms.VALUE_NAME:  # in the spec's words: its value column, €, or utility units
        title, about = forms.value_words(value_column, bool(st.session_state.get("obj_vm_money")))
        c0.markdown(f"**{ui.esc(title)}**  \n{better}", help=about)
    else:
        c0.markdown(f"**{m.label}**  \n{m.unit}, {better}")
    c1.text_input("Owner", key=f"obj_owner_{n}", help="Who speaks for this objective in the room.")
    word = "at least" if m.direction == "maximize" else "at most"
    c2.text_input(
        f"Hard limit ({word})",
        key=f"obj_limit_{n}",
        placeholder=f"e.g. {forms.example(m)}",
        help="Trials that break a hard limit stay visible but are marked infeasible.",
    )
    echo = forms.limit_echo(n, st.session_state[f"obj_limit_{n}"])
    if echo:  # the limit in the metric's unit, so "20 seconds" is seen as 20,000 ms before saving
        c2.caption(echo)
    c3.text_input(
        "Aspiration",
        key=f"obj_asp_{n}",
        placeholder="optional",
        help="The level the owner would be happy with (used by the Decide page).",
    )
    slots.here(f"objectives.{n}")

if cur is not None:
    with st.expander(f"Stakeholders in the room of {ui.esc(cur[1])}", expanded=True):
        stakeholder_cards.live(*cur)  # cards saved in any browser appear here without a click

st.subheader("2 · Money: the value model")
st.caption(
    f"Turns decisions into value per 1,000 decisions (objective *{ui.esc(obj.get(forms.VALUE_NAME).label)}*): "
    + (
        f"a correct 'yes' is worth its row's `{ui.esc(value_column)}`, "
        if value_column
        else "€ when the team prices its decisions, otherwise utility units (+1 right 'yes', −1 wrong 'yes'); "
    )
    + "defaults fit the data; hover for each constant's source."
)
sw_cols = st.columns(len(forms.VALUE_SWITCHES) + 2)
for col, key in zip(sw_cols, forms.VALUE_SWITCHES):
    col.checkbox(forms.SWITCH_LABELS[key], key=f"obj_vm_{key}", help=forms.VALUE_SWITCHES[key])
vm_cols = st.columns(len(forms.VALUE_HELP))
for col, key in zip(vm_cols, forms.VALUE_HELP):
    step = 0.001 if key == "conversion_loss_per_100ms" else 0.01
    col.number_input(
        forms.VALUE_LABELS[key],
        key=f"obj_vm_{key}",
        step=step,
        format="%.4f" if step < 0.01 else "%.2f",
        help=forms.VALUE_HELP[key],
    )
slots.here("value_model")

st.subheader("3 · Candidate model families")
b1, b2, _ = st.columns([1, 1, 4])
b1.button("Fast families only", on_click=forms.set_families, args=(fam.FAST_FAMILIES,), key="btn_fast")
b2.button("All families", on_click=forms.set_families, args=(tuple(fam.REGISTRY),), key="btn_all")
for col, klass in zip(st.columns(3), catalog.KLASSES):
    col.markdown(f"**{klass.capitalize()}**")
    for name in fam.by_class(klass):
        col.checkbox(fam.get(name).label, key=f"obj_fam_{name}", help=fam.get(name).description)
slots.here("families")

st.subheader("4 · Budget and search")
c1, c2, c3, c4, c5 = st.columns([2, 1, 1, 1.5, 1])
kind = c1.radio("Stop after", forms.BUDGET_KINDS, key="obj_budget_kind", horizontal=True)
c2.number_input("Trials", 1, 100_000, key="obj_trials", disabled=kind == forms.BUDGET_KINDS[1])
c3.number_input("Minutes", 0.5, 24 * 60.0, key="obj_minutes", step=1.0, disabled=kind == forms.BUDGET_KINDS[0])
c4.selectbox("Sampler", SAMPLERS, key="obj_sampler", format_func=lambda s: forms.SAMPLER_HELP[s])
c5.number_input("Seed", 0, 2**31 - 1, key="obj_seed")
slots.here("budget")
if st.session_state["obj_sampler"] == "gp" and not forms.has_torch():
    st.warning("The GP sampler needs PyTorch, which is not installed here (`pip install -e '.[gp]'`).")
with st.expander("Validation (how each trial is measured)"):
    v1, v2, v3, v4 = st.columns(4)
    v1.number_input("CV folds", 2, 10, key="obj_cv")
    v2.number_input("Held-out test share", 0.05, 0.5, key="obj_test_size", step=0.05)
    v3.number_input(
        "Max training rows (0 = all)",
        0,
        10_000_000,
        key="obj_max_rows",
        step=500,
        help="Subsample the training part to keep big tables meeting-fast (≥ 100).",
    )
    v4.number_input("Latency repeats", 20, 10_000, key="obj_latency_repeats")
slots.here("validation")

st.subheader("5 · Save as a study")
slots.here("default")
# Drawn before the spec is checked: a widget skipped by st.stop() loses its value, and the typed name
# must survive a validation error (else the suggestion silently replaces it on the next save).
default_name = forms.suggest_study_name(d["data"]["path"], ui.list_study_names(ui.storage_url()))
name = (
    st.text_input(
        "Study name",
        key="obj_study_name",
        placeholder=default_name,
        help="Everyone who opens the app with ?study=<name> sees this study.",
    ).strip()
    or default_name
)
slots.here("study")
try:
    spec = forms.build(d)
    if len(spec.objectives) < 2:
        raise UserInputError(
            "objectives: choose at least 2 objectives, the room is here to trade off.", field="objectives"
        )
except UserInputError as err:
    slots.show(err)
    st.stop()

s1, s2, _ = st.columns([1, 1, 3])
save = s1.button("Save and use this study", type="primary", key="btn_save", icon=":material/save:")
s2.download_button(
    "Download spec JSON",
    spec.to_json(),
    file_name=f"{name}.spec.json",
    mime="application/json",
    key="btn_download",
    on_click="ignore",
)
if save:
    try:
        with st.spinner("Checking the data and saving the study…"):
            # an existing study takes new hard limits (re-judged, no re-run); other changes are refused
            outcome = view_limits.save_study(
                spec, ui.storage_url(), name, by="app", log=ui.room_log(ui.storage_url(), name)
            )
    except UserInputError as err:
        slots.show(err)
        st.stop()
    if outcome.startswith("limits: "):
        st.session_state["_limits_flash"] = outcome.removeprefix("limits: ")
    st.session_state["_saved_flash"] = name
    st.session_state.pop(forms.DRAFT, None)
    ui.set_current_study(name)
    st.rerun()
if st.session_state.get("_saved_flash") and cur and cur[1] == st.session_state["_saved_flash"]:
    st.success(f"Saved as study **{ui.esc(cur[1])}**: it is now the current study.", icon=":material/check:")
    if st.session_state.get("_limits_flash"):
        st.info(
            f"Hard limits revised: {ui.esc(st.session_state.pop('_limits_flash'))}. Every trial was re-judged "
            "from its stored metrics; nothing re-ran.",
            icon=":material/tune:",
        )
    ui.page_link("pages/search.py", "Next: run the search")
