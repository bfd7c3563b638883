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

from app import explorer_view as ev
from app import ui
from core import viz
from core._text import SCOPE_SEARCH, SCOPE_TEST
from core.decide import front
from core.decide import limits as view_limits
from core.errors import UserInputError
from core.models import families as fam
from core.search import reader as study_reader
from core.spec import Spec

_SEEN = "_ex_seen"  # session: {study: trials finished when this browser first opened its explorer}
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


def controls(name: str, spec: Spec, choices: list[str]) -> tuple[list[str], str, str]:
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
    return names, color_by, others


def summary(url: str, name: str, spec: Spec, points: pd.DataFrame, names: list[str]) -> None:
    """The counts (the sidebar's "finished of budget" among them) and the front's hypervolume."""
    done, n_budget = ui.finished_of_budget(url, name)
    new = done - st.session_state.setdefault(_SEEN, {}).setdefault(name, done)
    pf = points[points["on_front"]]
    m1, m2, m3, m4 = st.columns(4)
    m1.metric(
        "Finished trials",
        f"{done:,} of {n_budget:,}" if n_budget else f"{done:,}",
        delta=f"{new:,} new since you opened it" if new > 0 else None,
        help="Counted as the budget counts them; the page redraws by itself as trials finish.",
    )
    n_test = int((points["limits_status"] == front.BREAKS_TEST).sum())
    m2.metric(
        "Hold limits in search",
        f"{int(points['feasible'].sum()):,}",
        delta=f"{n_test:,} break on held-out" if n_test else None,
        delta_color="inverse",
        help="Judged on search data (CV), which steers the front; the delta counts those that break a "
        "limit on the held-out part.",
    )
    m3.metric("On the front", f"{len(pf):,}")
    m4.metric(
        "Hypervolume",
        f"{front.hypervolume(pf, names, front.bounds(points, names)):.3f}",
        help=f"Normalised over these trials, reference point {front.REF}.",
    )
    if pf.empty:
        st.warning(
            "No finished trial holds every hard limit in search, so there is no feasible front. "
            + ui.esc(front.limits_summary(points, spec.objectives) or "")
            + " Faded points show how far off they are; relax a limit under Limits below."
        )


def limits_editor(url: str, name: str, spec: Spec, revision: int, *, expanded: bool) -> None:
    """Revise the hard limits in the meeting: feasibility and the front are re-judged from the metrics
    every trial stored, for everyone (kept in the study, logged in the room), with no re-run."""
    with st.expander("Limits", icon=":material/tune:", expanded=expanded):
        with st.form(f"ex_limits:{name}", border=False):
            st.caption(
                "Change a hard limit and apply: every trial is re-judged from its stored metrics, no re-run. "
                'Units as you say them ("20 ms", "80 %"); leave empty for no limit.'
            )
            typed = {}
            for col, o in zip(st.columns(len(spec.objectives)), spec.objectives):
                m = o.metric
                typed[o.name] = col.text_input(
                    f"{m.label} ({'at most' if o.direction == 'minimize' else 'at least'}, {m.unit})",
                    value="" if o.limit is None else f"{o.limit:g}",
                    key=f"ex_limit:{name}:{revision}:{o.name}",
                )
            if st.form_submit_button("Apply limits", icon=":material/check:"):
                try:
                    ui.set_limits(url, name, typed)
                except UserInputError as err:
                    ui.show_error(err)
                else:
                    st.rerun()
        last = view_limits.last_change(study_reader.study_attrs(url, name))
        if last:
            st.caption(f"Last change: {ui.esc(last)}")


def selection(points: pd.DataFrame, knee: int | None) -> tuple[list[int], int | None]:
    """(the trial picker's choices, the selected trial): a new chart click wins over the picker.

    The chart's click is in session state before anything renders, so it is applied here, before
    the chart rings the selected point and before the picker beside it renders.
    """
    clicked = ev.clicked_number(st.session_state.get(ev.CHART))
    if clicked is not None and clicked != st.session_state.get(_CLICKED):
        st.session_state[ev.TRIAL] = clicked
    st.session_state[_CLICKED] = clicked  # a cleared selection lets the same point be clicked again
    wanted = st.session_state.get(ev.TRIAL, ev.parse_trial(st.query_params.get(ev.TRIAL)))
    options = ev.trial_options(points, knee, wanted)
    chosen = wanted if wanted in options else (options[0] if options else None)
    if ev.TRIAL in st.session_state and st.session_state[ev.TRIAL] != chosen:
        st.session_state[ev.TRIAL] = chosen
    return options, chosen


def charts(url: str, name: str, sig: tuple, names: list[str], look: tuple, selected: int | None) -> None:
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
            fig = ev.figure("scatter_2d", url, name, sig, names_t, opts)
            st.plotly_chart(fig, key=ev.CHART, on_select="rerun", selection_mode="points")
            st.caption(
                "Click a point for its details. ★ marks the knee: where moving along the front costs "
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


def details(url: str, name: str, spec: Spec, points: pd.DataFrame, names: list[str], picker: tuple) -> None:
    """One trial beside the chart: what it is, whether it meets the limits, its every number."""
    options, knee = picker
    st.markdown("**Trial details**")
    number = st.selectbox(
        "Trial #",
        options,
        key=ev.TRIAL,
        bind="query-params",
        format_func=str,
        help="The front (the knee first); click any point in the 2-D chart for others.",
    )
    if number is None:
        st.caption("No trial on the front yet: click a point in the 2-D chart.")
        return
    row = points[points["number"] == number].iloc[0]
    detail = ui.trial_detail(url, name, int(number))
    family = str(row["family"])
    klass = fam.get(family).klass if family in fam.REGISTRY else row["family_class"]
    flags = [
        "★ the knee" if number == knee else "",
        "on the front" if row["on_front"] else "not on the front",
        front.STATUS_TEXT.get(str(row.get("limits_status")), ""),
    ]
    if row["threshold"] == row["threshold"] and row["threshold"] is not None:
        flags.append(f"decision threshold {float(row['threshold']):.3f}")
    st.markdown(f"#### #{int(number)} · {ui.esc(ev.family_label(family))} ({klass})")
    st.caption(" · ".join(f for f in flags if f))
    st.markdown("**Every metric** (search value = cross-validated mean on the training part)")
    st.dataframe(ev.metric_rows(row, spec.objectives, names, value_model=spec.value_model), hide_index=True, height=280)
    st.markdown("**Hyperparameters**")
    st.dataframe(ev.param_rows(detail["params"]), hide_index=True)
    _groups(ev.groups_frame(detail, min_rows=spec.data.min_group_rows))


def _groups(groups: pd.DataFrame) -> None:
    st.markdown("**Per-group fairness** (held-out test part; rates with 95 % Wilson intervals)")
    if groups.empty:
        st.caption("No per-group table stored for this trial.")
        return
    st.dataframe(
        groups,
        hide_index=True,
        column_config={c: st.column_config.NumberColumn(format="%.3f") for c in ev.GROUP_RATE_COLUMNS},
    )
    st.plotly_chart(viz.group_metrics(groups), key="ex_groups")


def front_table(points: pd.DataFrame, names: list[str], knee: int | None) -> None:
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
names, color_by, others = controls(name, spec, ev.available_metrics(frame))
if len(names) < 2:
    ui.show_error(UserInputError("Choose at least two objectives to see a trade-off.", field="objectives"))
    st.stop()

points, knee = ev.analysis(url, name, sig, tuple(names))
summary(url, name, spec, points, names)
limits_editor(url, name, spec, int(sig[-1]), expanded=not points["feasible"].any())
options, selected = selection(points, knee)
left, right = st.columns([3, 2], gap="medium")
with left:
    charts(url, name, sig, names, (("color_by", color_by), ("others", others)), selected)
with right:
    details(url, name, spec, points, names, (options, knee))
front_table(points, names, knee)
