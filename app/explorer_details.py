"""The explorer's details panel: one option (a fitted model and its decision rule) beside the chart.

Why its own module: the panel says what the option is, the rule and where it was chosen, and its
figures on both parts, each labelled with its scope (search figures steered the front, held-out
figures say whether it holds); the page file only lays out the chart and this panel.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import explorer_view as ev
from app import ui
from core import viz
from core._text import SCOPE_SEARCH, SCOPE_TEST
from core.decide import front
from core.decide import options as opt
from core.models import families as fam
from core.spec import Spec

SCREENING = "screening"  # the trials frame's latency_scope of a trial measured by the screening pass only


def flags(row: pd.Series, knee: str | None) -> list[str]:
    """The short facts under the option's header: knee, front, limits, how its latency was measured."""
    key = str(row[opt.OPTION])
    out = [
        "★ the knee" if key == knee else "",
        "on the front" if row["on_front"] else "not on the front",
        front.STATUS_TEXT.get(str(row.get("limits_status")), ""),
    ]
    if str(row.get("latency_scope")) == SCREENING:
        out.append("latency: screening estimate")
    return [f for f in out if f]


def details(url: str, name: str, spec: Spec, points: pd.DataFrame, names: list[str], picker: tuple) -> None:
    """One option beside the chart: what it is, its rule, the limits, its every number."""
    options, knee = picker
    st.markdown("**Option details** (a trial's model and one decision rule)")
    key = st.selectbox(
        "Option (trial or trial@point)",
        options,
        key=ev.TRIAL,
        bind="query-params",
        format_func=str,
        help="The front (the knee first); click any point in the 2-D chart for others. "
        '"12" is trial 12 with its own tuned rule, "12@3" point 3 of its curve.',
    )
    if key is None:
        st.caption("No option on the front yet: click a point in the 2-D chart.")
        return
    row = points[points[opt.OPTION].astype(str) == str(key)].iloc[0]
    number = int(row["number"])
    detail = ui.trial_detail(url, name, number)
    family = str(row["family"])
    klass = fam.get(family).klass if family in fam.REGISTRY else row["family_class"]
    rule = opt.label(row).removeprefix(f"#{number}").strip()  # "at threshold 0.41" for another point
    st.markdown(f"#### #{number} · {ui.esc(ev.family_label(family))} ({klass})" + (f" · {rule}" if rule else ""))
    st.caption(" · ".join(flags(row, knee)))
    st.markdown(f"**Rule**: {ui.esc(ev.rule_text(row, ev.curves(url, name)))}.")
    st.markdown(
        f"**Every metric** · value (search) = {SCOPE_SEARCH}; held-out test = {SCOPE_TEST}"
        + (" · latency: screening estimate" if str(row.get("latency_scope")) == SCREENING else "")
    )
    st.dataframe(ev.metric_rows(row, spec.objectives, names, value_model=spec.value_model), hide_index=True, height=280)
    st.markdown("**Hyperparameters**")
    st.dataframe(ev.param_rows(detail["params"]), hide_index=True)
    _groups(ev.groups_frame(detail, min_rows=spec.data.min_group_rows))


def _groups(groups: pd.DataFrame) -> None:
    st.markdown("**Per-group fairness** (held-out test part, the trial's own rule; rates with 95 % Wilson intervals)")
    if groups.empty:
        st.caption("No per-group table stored for this trial.")
        return
    st.dataframe(
        groups,
        hide_index=True,
        column_config={c: st.column_config.NumberColumn(format="%.3f") for c in ev.GROUP_RATE_COLUMNS},
    )
    st.plotly_chart(viz.group_metrics(groups), key="ex_groups")
