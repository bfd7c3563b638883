"""The explorer's header: the counts, the front's hypervolume, and the limits the room can revise.

Why here and not in the page: the page lays out the chart and the details; these panels read the
study (counts, limits history) and write the room's limits, which is logic worth keeping testable
apart from layout. Counts are of options (a trial's model and one decision rule) on the front.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import ui
from core.decide import front
from core.decide import limits as view_limits
from core.errors import UserInputError
from core.search import reader as study_reader
from core.spec import Spec

_SEEN = "_ex_seen"  # session: {study: trials finished when this browser first opened its explorer}


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
    m3.metric(
        "On the front",
        f"{len(pf):,}",
        help="Options on the front: a fitted model and a decision rule (a trial brings one per operating point).",
    )
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
