"""Pareto explorer: the trade-offs the search found, re-computable for any choice of objectives.

The view (objectives, axes, plot, colours, the selected trial) lives in the address, so it is still
there after visiting another page or reloading, and a link shows a colleague the same view; a small
fragment polls storage and redraws the page as trials finish, keeping the view and the selected trial.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from app import explorer_details as ed
from app import explorer_summary as es
from app import explorer_view as ev
from app import ui
from app.plotly_live import live_plotly
from core._text import SCOPE_SEARCH, SCOPE_TEST
from core.errors import UserInputError
from core.spec import Spec

_STUDY = "_ex_study"  # session: the study the view's state belongs to
_CLICKED = "_ex_clicked"  # session: the last chart click already applied to the trial picker
POLL_RUNNING_S, POLL_IDLE_S = 2.0, 5.0


def watch(url: str, name: str, sig: tuple) -> None:
    """Redraw the page when a trial arrives or changes state: one SQL aggregate per poll."""

    @st.fragment(run_every=POLL_RUNNING_S if sig[2] else POLL_IDLE_S)
    def poll() -> None:
        if ui.signature(url, name) != sig:
            st.rerun(scope="app")

    poll()


def _repair(key: str, valid: Callable[[Any], bool], default: Any) -> None:
    """Put a bound widget back to its default when its value no longer fits (another study, fewer
    objectives). The widgets' own defaults are the spec's choices, so the address omits them and a
    reload without them shows the same view."""
    if key in st.session_state and not valid(st.session_state[key]):
        st.session_state[key] = default


def controls(name: str, spec: Spec, choices: list[str]) -> tuple[list[str], str, str, bool]:
    """Objectives, colouring and what to do with the other trials; defaults from the study's spec."""
    defaults = [n for n in spec.objective_names if n in choices]
    if st.session_state.get(_STUDY) not in (None, name):  # another study: start from its own objectives
        for key in (ev.X, ev.Y, ev.THREE, ev.SORT, ev.TRIAL):
            st.session_state[key] = None  # repaired below to the new study's defaults
        st.session_state[ev.OBJECTIVES] = defaults
    st.session_state[_STUDY] = name
    _repair(ev.OBJECTIVES, lambda v: isinstance(v, list) and set(v) <= set(choices), defaults)
    c1, c2, c3 = st.columns([3, 1, 1])
    names = c1.multiselect(
        "Objectives (re-computes the front from stored metrics, no re-run)",
        choices,
        default=defaults,
        key=ev.OBJECTIVES,
        bind="query-params",
        max_selections=5,
        format_func=ev.metric_label,
    )
    color_by = c2.radio(
        "Colour by",
        ("family", "family_class"),
        key=ev.COLOR,
        bind="query-params",
        horizontal=True,
        format_func={"family": "family", "family_class": "class"}.get,
    )
    others = c3.radio(
        "Dominated & infeasible", ("faded", "hidden"), key=ev.OTHERS, bind="query-params", horizontal=True
    )
    one_point = c3.toggle(
        "One point per trial",
        key=ev.ONE_POINT,
        bind="query-params",
        help="Only each trial's own tuned rule, for comparison; off, every operating point of every "
        "trial's curve is an option (the same fitted model cut at another threshold).",
    )
    return names, color_by, others, bool(one_point)


def selection(points: pd.DataFrame, knee: str | None) -> tuple[list[str], str | None]:
    """(the option picker's choices, the selected option key): a new chart click wins over the picker.

    The chart's click is in session state before anything renders, so it is applied here, before
    the chart rings the selected point and before the picker beside it renders. An old address
    naming a bare trial number selects that trial's own rule.
    """
    event = st.session_state.get(ev.CHART)
    clicked = ev.clicked_option(event, points)
    # the click's own token too: the same point clicked again (after picking another) is news
    click = None if clicked is None else (clicked, ev.click_token(event))
    if click is not None and click != st.session_state.get(_CLICKED):
        st.session_state[ev.TRIAL] = clicked
    st.session_state[_CLICKED] = click  # a cleared selection lets the same point be clicked again
    raw = st.session_state.get(ev.TRIAL, st.query_params.get(ev.TRIAL))
    wanted = ev.parse_key(raw, points)
    options = ev.trial_options(points, knee, wanted)
    chosen = wanted if wanted in options else (options[0] if options else None)
    if ev.TRIAL in st.session_state and st.session_state[ev.TRIAL] != chosen:
        st.session_state[ev.TRIAL] = chosen
    return options, chosen


def charts(url: str, name: str, sig: tuple, names: list[str], look: tuple, selected: str | None) -> None:
    """The open tab's figure only: with thousands of trials each figure costs real server time."""
    names_t = tuple(names)
    tab2, tab3, tabp, tabm = st.tabs(list(ev.PLOTS), key=ev.PLOT, bind="query-params", on_change="rerun")
    if tab2.open:
        with tab2:
            _repair(ev.X, lambda v: v in names, names[0])
            _repair(ev.Y, lambda v: v in names, names[1])
            a1, a2 = st.columns(2)
            x = a1.selectbox("x axis", names, key=ev.X, bind="query-params", format_func=ev.metric_label)
            y = a2.selectbox("y axis", names, 1, key=ev.Y, bind="query-params", format_func=ev.metric_label)
            opts = (("x", x), ("y", y), ("selected", selected), *look)
            # the live chart stays mounted across redraws, so new trials appear inside the person's zoom
            live_plotly(ev.figure("scatter_2d", url, name, sig, names_t, opts), key=ev.CHART)
            st.caption(
                "Click a point for its details; the selected option's trial is drawn as a line through "
                "all its operating points. ★ marks the knee: where moving along the front costs "
                "the most for what it gains. Dashed lines are hard limits. "
                f"Figures: {SCOPE_SEARCH}; the details show the {SCOPE_TEST} beside them."
            )
    if tab3.open:
        with tab3:
            _scatter_3d(url, name, sig, names, look)
    if tabp.open:
        with tabp:
            everything = st.checkbox("Include dominated trials", key=ev.ALL, bind="query-params")
            fig = ev.figure("parallel", url, name, sig, names_t, (("all", everything), *look))
            st.plotly_chart(fig, key="ex_parcoords")
            st.caption("One line per trial; each axis is oriented so that up is better; drag on an axis to filter.")
    if tabm.open:
        with tabm:
            st.plotly_chart(ev.figure("matrix", url, name, sig, names_t, look), key="ex_matrix")


def _scatter_3d(url: str, name: str, sig: tuple, names: list[str], look: tuple) -> None:
    if len(names) < 3:
        st.caption("Choose three or more objectives for a 3-D view.")
        return
    _repair(ev.THREE, lambda v: isinstance(v, list) and set(v) <= set(names), names[:3])
    three = st.multiselect(
        "Three objectives",
        names,
        default=names[:3],
        max_selections=3,
        key=ev.THREE,
        bind="query-params",
        format_func=ev.metric_label,
    )
    if len(three) == 3:
        fig = ev.figure("scatter_3d", url, name, sig, tuple(names), (("three", tuple(three)), *look))
        st.plotly_chart(fig, key="ex_3d")


def front_table(points: pd.DataFrame, names: list[str], knee: str | None) -> None:
    st.subheader("The front")
    _repair(ev.SORT, lambda v: v in names, names[0])
    sort_by = st.selectbox("Sort by", names, key=ev.SORT, bind="query-params", format_func=ev.metric_label)
    st.dataframe(
        ev.front_table(points, names, knee, sort_by=sort_by),
        hide_index=True,
        column_config={ev.column_name(n): st.column_config.NumberColumn(format="%.4g") for n in names},
    )


st.title("Pareto explorer")
url, name = ui.require_study()
spec = ui.load_spec(url, name)
sig = ui.signature(url, name)
watch(url, name, sig)
frame = ui.load_frame(url, name)
if not (frame["state"] == "COMPLETE").any():
    st.info("No finished trials yet: the front appears as soon as the first trial completes.")
    ui.page_link("pages/search.py", "Go to the search")
    st.stop()

ui.too_good_warning(frame, spec)
names, color_by, others, one_point = controls(name, spec, ev.available_metrics(frame))
if len(names) < 2:
    ui.show_error(UserInputError("Choose at least two objectives to see a trade-off.", field="objectives"))
    st.stop()

points, knee = ev.analysis(url, name, sig, tuple(names), one_point)
es.summary(url, name, spec, points, names)
es.limits_editor(url, name, spec, int(sig[-1]), expanded=not points["feasible"].any())
options, selected = selection(points, knee)
left, right = st.columns([3, 2], gap="medium")
with left:
    charts(url, name, sig, names, (("color_by", color_by), ("others", others), ("one_point", one_point)), selected)
with right:
    ed.details(url, name, spec, points, names, (options, knee))
front_table(points, names, knee)
