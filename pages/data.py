"""Data: pick the demo or upload a table, say what each special column means, check it."""

from __future__ import annotations

from dataclasses import replace
from typing import cast

import pandas as pd
import streamlit as st

from app import data_view as dv
from app import ui
from core import data as core_data
from core import viz
from core.data import uploads
from core.errors import UserInputError
from core.spec import DataRef

st.title("Data")
st.caption(
    "Load the table the team wants a model for, then tell Tradeoff Room which column to predict, "
    "which columns describe people who must be treated fairly, and which one holds the value of a decision (a fee, a loan's margin…)."
)

slots = ui.ErrorSlots()
prev = dv.start_from(ui.current_study())
SOURCES = ("Demo: ad conversions (20,000 impressions)", "Upload CSV or Parquet")
ENTITY_DETECT, ENTITY_NONE = "(detect)", "(none: every row is its own case)"
TIME_NONE = "(none: a random sample of rows)"
source = st.radio(
    "Source",
    SOURCES,
    horizontal=True,
    key="data_source",
    index=0 if prev.get("path", core_data.DEMO) == core_data.DEMO else 1,
)

if source == SOURCES[0]:
    path = core_data.DEMO
    st.caption(
        "An ad marketplace: will a shown ad convert? `age_band` is the sensitive attribute, "
        "`fee_eur` the advertiser's fee on conversion."
    )
else:
    file = st.file_uploader(
        "CSV or Parquet file",
        type=["csv", "txt", "tsv", "parquet", "pq"],
        key="data_file",
        help="Stored once as Parquet in the data folder so search workers can read it. Pickle files are never opened.",
    )
    slots.here("data.path")
    if file is not None:
        st.caption(uploads.memory_note(file.size))  # what the server needs to store it
        try:
            st.session_state[dv.UPLOAD] = dv.store_upload(file.getvalue(), file.name)
        except UserInputError as err:
            st.session_state.pop(dv.UPLOAD, None)
            slots.show(err)
            st.stop()
    upload = st.session_state.get(dv.UPLOAD)
    if upload is None:
        st.info("Upload a table with a header row and one row per case.", icon=":material/upload:")
        st.stop()
    path = upload["path"]
    st.caption(f"Using **{ui.esc(upload['name'])}**, stored as `{ui.esc(upload['fingerprint'])}`.")

mtime = dv.mtime(path)
try:
    df, read_notes = dv.read_table(path, mtime)
except UserInputError as err:
    slots.show(err)
    st.stop()

cols = list(df.columns)
same = prev.get("path") == path
demo = path == core_data.DEMO


def _default(key: str, fallback):
    return prev.get(key) if same else fallback


left, mid, right = st.columns(3)
with left:
    t_default = _default("target", core_data.DEMO_TARGET if demo else dv.guess_target(df))
    target = st.selectbox(
        "Target: what to predict",
        cols,
        index=dv.index_of(cols, t_default),
        key="data_target",
        help="A column with two classes (e.g. converted yes/no).",
    )
    slots.here("data.target")
    values = sorted(map(str, df[target].dropna().unique()))[:30] if df[target].nunique() <= 30 else []
    pos_options = ["(automatic)", *values]
    positive = st.selectbox(
        "Positive class",
        pos_options,
        key="data_positive",
        index=dv.index_of(pos_options, _default("positive_label", None)),
        help="The class the model should find; automatic picks a name like 'yes'/'1', else the rarer class.",
    )
    slots.here("data.positive_label")
others = [c for c in cols if c != target]
with mid:
    s_default = _default("sensitive", list(core_data.DEMO_SENSITIVE) if demo else [])
    sensitive = st.multiselect(
        "Sensitive attribute(s)",
        others,
        key="data_sensitive",
        default=[c for c in (s_default or []) if c in others],
        help="Groups whose treatment is compared (fairness objectives). Several "
        "columns are combined into intersections.",
    )
    slots.here("data.sensitive")
with right:
    numeric = [c for c in others if pd.api.types.is_numeric_dtype(df[c])]
    v_options = ["(none)", *numeric]
    value = st.selectbox(
        "Value column: value of each correct yes",
        v_options,
        key="data_value",
        index=dv.index_of(v_options, _default("value_column", core_data.DEMO_VALUE if demo else None)),
        help="Per-row value of a correct 'yes' (e.g. a price, a loan's margin, a claim's amount). Without one, the value "
        "model uses fixed amounts you set on the Objectives page.",
    )
    slots.here("data.value_column")

with st.expander("More options"):
    ex_options = [c for c in others if c not in sensitive and c != value]
    exclude = st.multiselect(
        "Leave out columns",
        ex_options,
        key="data_exclude",
        default=[c for c in (_default("exclude", []) or []) if c in ex_options],
    )
    slots.here("data.exclude")
    min_rows = st.number_input(
        "Smallest group to compare (rows)",
        1,
        10_000,
        key="data_min_rows",
        value=int(_default("min_group_rows", 30) or 30),
    )
    merge_small = st.checkbox(
        "Pool smaller groups into one 'other' group",
        key="data_merge_small",
        value=bool(_default("merge_small_groups", False)),
    )
    keep_leaks = st.checkbox(
        "Keep columns that look like target leaks",
        key="data_keep_leaks",
        value=bool(_default("keep_suspected_leaks", False)),
    )
    as_feature = st.checkbox(
        "Let models use the sensitive attribute as a feature",
        key="data_sens_feat",
        value=bool(_default("sensitive_as_feature", False)),
    )
    ent_options = [ENTITY_DETECT, ENTITY_NONE, *[c for c in others if c not in sensitive and c != value]]
    ent_default = _default("entity_column", None) or (ENTITY_DETECT if _default("detect_entity", True) else ENTITY_NONE)
    entity = st.selectbox(
        "Rows that belong together (person or customer ID)",
        ent_options,
        key="data_entity",
        index=dv.index_of(ent_options, ent_default),
        help="Panel data has several rows per person. Their rows are kept together, "
        "all in training or all in test, so the scores are for people the model "
        "has not seen. Detect: a repeating column named like an ID (nr, "
        "person_id…).",
    )
    slots.here("data.entity_column")
    time_options = [TIME_NONE, *[c for c in others if c not in sensitive and c != value and c != entity]]
    time_col = st.selectbox(
        "Test on the most recent rows by (time column)",
        time_options,
        key="data_time",
        index=dv.index_of(time_options, _default("time_column", None) or TIME_NONE),
        help="A model goes live on tomorrow's rows. With a time column the test part is "
        "the latest rows and training uses the rows before them, instead of a "
        "random sample of all of them.",
    )
    slots.here("data.time_column")
slots.here("default")

try:
    ref = DataRef(
        path=path,
        target=cast(str, target),  # a selectbox over a non-empty column list always has a choice
        positive_label=None if positive == "(automatic)" else positive,
        sensitive=tuple(sensitive),
        value_column=None if value == "(none)" else value,
        exclude=tuple(exclude),
        min_group_rows=int(min_rows),
        keep_suspected_leaks=keep_leaks,
        sensitive_as_feature=as_feature,
        merge_small_groups=merge_small,
        entity_column=None if entity in (ENTITY_DETECT, ENTITY_NONE) else entity,
        detect_entity=entity == ENTITY_DETECT,
        time_column=None if time_col == TIME_NONE else time_col,
    )
    ds = dv.prepare(path, dv.ref_key(ref), mtime)
except UserInputError as err:
    slots.show(err)
    st.stop()

ref = replace(ref, fingerprint=ds.fingerprint)
dv.remember(ref)

share = float(ds.y.mean())
m1, m2, m3, m4, m5 = st.columns(5)
m1.metric("Rows", f"{ds.n_rows:,}")
m2.metric(
    "Features",
    f"{len(ds.numeric) + len(ds.categorical)}",
    help=f"{len(ds.numeric)} numeric, {len(ds.categorical)} categorical",
)
m3.metric(f"Positive: {ds.positive_label}", f"{share:.1%}")
m4.metric("Sensitive groups", f"{ds.groups.nunique()}" if sensitive else "none")
split_value, split_help = dv.split_summary(ds)
m5.metric("Test part", split_value, help=split_help)

notes = list(dict.fromkeys([*ds.notes, *st.session_state.get(dv.UPLOAD, {}).get("notes", [])]))
if notes:
    with st.expander(f"What loading changed ({len(notes)})", expanded=True):
        for note in notes:
            st.markdown(f"- {ui.esc(note)}")
if not sensitive:
    st.warning(
        "No sensitive attribute chosen: fairness objectives will all be 0. Choose one to compare groups.",
        icon=":material/warning:",
    )

c1, c2 = st.columns([1, 2])
with c1:
    st.subheader("Class balance")
    st.plotly_chart(viz.class_balance(dv.class_counts(ds), positive=ds.positive_label), key="balance")
with c2:
    st.subheader("Groups")
    if sensitive:
        stats = dv.group_stats(ds, min_rows=ref.min_group_rows)
        st.plotly_chart(viz.group_bars(stats, overall_rate=share), key="groups")
        st.dataframe(
            stats,
            hide_index=True,
            column_config={
                "n": "rows",
                "base_rate": st.column_config.NumberColumn("base rate", format="%.3f"),
                "base_rate_low": st.column_config.NumberColumn("95 % low", format="%.3f"),
                "base_rate_high": st.column_config.NumberColumn("95 % high", format="%.3f"),
                "test_rows": st.column_config.NumberColumn(
                    "test rows (about)", help="The held-out fairness numbers are computed on these rows."
                ),
            },
        )
    else:
        st.caption("Choose a sensitive attribute to see group sizes and base rates.")

st.subheader("Preview")
st.dataframe(df.head(200), hide_index=True, height=300)
st.caption(f"Fingerprint `{ds.fingerprint}`: every later run checks the data is unchanged.")
ui.page_link("pages/objectives.py", "Next: objectives & stakeholders")
