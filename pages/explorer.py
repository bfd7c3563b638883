"""Pareto explorer: the trade-offs the search found, re-computable for any choice of objectives."""

from __future__ import annotations

import streamlit as st

from app import charts, ui
from app import explorer_view as ev
from core import objectives as obj
from core.decide import front
from core.errors import UserInputError
from core.models import families as fam

st.title("Pareto explorer")
url, name = ui.require_study()
spec = ui.load_spec(url, name)
sig = ui.signature(url, name)
frame = ui.load_frame(url, name)
if not (frame["state"] == "COMPLETE").any():
    st.info("No finished trials yet: the front appears as soon as the first trial completes.")
    ui.page_link("pages/search.py", "Go to the search")
    st.stop()

choices = ev.available_metrics(frame)
if st.session_state.get("_ex_study") != name:  # another study: start from its own objectives
    st.session_state["_ex_study"] = name
    st.session_state["ex_names"] = [n for n in spec.objective_names if n in choices]
label = {n: f"{obj.get(n).label} ({obj.get(n).unit})" for n in choices}
c1, c2, c3 = st.columns([3, 1, 1])
names = c1.multiselect(
    "Objectives (re-computes the front from stored metrics, no re-run)",
    choices,
    key="ex_names",
    max_selections=5,
    format_func=label.get,
)
color_by = c2.radio(
    "Colour by",
    ("family", "family_class"),
    key="ex_color",
    horizontal=True,
    format_func={"family": "family", "family_class": "class"}.get,
)
others = c3.radio("Dominated & infeasible", ("faded", "hidden"), key="ex_others", horizontal=True)
if len(names) < 2:
    ui.show_error(UserInputError("Choose at least two objectives to see a trade-off.", field="objectives"))
    st.stop()

names_t = tuple(names)
points, knee = ev.analysis(url, name, sig, names_t)
pf = points[points["on_front"]]
m1, m2, m3, m4 = st.columns(4)
m1.metric("Finished trials", f"{len(points):,}")
m2.metric("Within hard limits", f"{int(points['feasible'].sum()):,}")
m3.metric("On the front", f"{len(pf):,}")
m4.metric(
    "Hypervolume",
    f"{front.hypervolume(pf, names, front.bounds(points, names)):.3f}",
    help=f"Normalised over these trials, reference point {front.REF}.",
)
if pf.empty:
    st.warning(
        "No finished trial meets every hard limit, so there is no feasible front. Faded "
        "points show how far off they are; relax a limit on the Objectives page."
    )

look = (("color_by", color_by), ("others", others))
# only the open tab is drawn: with thousands of trials each figure costs real server time
tab2, tab3, tabp, tabm = st.tabs(
    ["2-D", "3-D", "Parallel coordinates", "Scatter matrix"], key="ex_view", on_change="rerun"
)
if tab2.open:
    with tab2:
        a1, a2 = st.columns(2)
        x = a1.selectbox("x axis", names, index=0, key="ex_x", format_func=label.get)
        y = a2.selectbox("y axis", names, index=1, key="ex_y", format_func=label.get)
        # the chart's selection is in session state before it renders: read the click first, so the
        # clicked point is ringed in this very run
        clicked = ev.clicked_number(st.session_state.get("ex_scatter"))
        if clicked is not None and clicked != st.session_state.get("_ex_clicked"):
            st.session_state[ev.PICK] = clicked
        st.session_state["_ex_clicked"] = clicked  # a cleared selection lets the same point be clicked again
        ringed = st.session_state.get(ev.PICK, st.session_state.get("ex_trial"))
        fig = ev.figure("scatter_2d", url, name, sig, names_t, (("x", x), ("y", y), ("selected", ringed), *look))
        st.plotly_chart(fig, key="ex_scatter", on_select="rerun", selection_mode="points")
        st.caption(
            "Click a point for its details. ★ marks the knee: where moving along the front costs "
            "the most for what it gains. Dashed lines are hard limits."
        )
if tab3.open:
    with tab3:
        if len(names) >= 3:
            three = st.multiselect(
                "Three objectives", names, default=names[:3], max_selections=3, key="ex_three", format_func=label.get
            )
            if len(three) == 3:
                st.plotly_chart(
                    ev.figure("scatter_3d", url, name, sig, names_t, (("three", tuple(three)), *look)), key="ex_3d"
                )
        else:
            st.caption("Choose three or more objectives for a 3-D view.")
if tabp.open:
    with tabp:
        everything = st.checkbox("Include dominated trials", key="ex_pc_all")
        st.plotly_chart(
            ev.figure("parallel", url, name, sig, names_t, (("all", everything), *look)), key="ex_parcoords"
        )
        st.caption("One line per trial; each axis is oriented so that up is better; drag on an axis to filter.")
if tabm.open:
    with tabm:
        st.plotly_chart(ev.figure("matrix", url, name, sig, names_t, look), key="ex_matrix")

st.subheader("The front")
sort_by = st.selectbox("Sort by", names, key="ex_sort", format_func=label.get)
table = ev.front_table(points, names, knee, sort_by=sort_by)
st.dataframe(
    table,
    hide_index=True,
    column_config={ev.column_name(n): st.column_config.NumberColumn(format="%.4g") for n in names},
)

st.subheader("Trial details")
on_front = [int(n) for n in table["#"]]
front_set = set(on_front)
if st.session_state.get(ev.PICK) is not None:  # a click in a chart picks the trial to detail
    st.session_state["ex_trial"] = int(st.session_state.pop(ev.PICK))
picked = st.session_state.get("ex_trial")
numbers = on_front + (
    [picked] if picked is not None and picked not in front_set and picked in set(points["number"]) else []
)
if picked not in numbers:
    st.session_state["ex_trial"] = knee if knee in numbers else (numbers[0] if numbers else None)
number = st.selectbox(
    "Trial (the front; click any point in the 2-D chart for others)",
    numbers,
    key="ex_trial",
    format_func=lambda n: (
        f"#{n}" + (" ★ knee" if n == knee else "") + ("" if n in front_set else " (dominated or infeasible)")
    ),
)
if number is not None:
    row = points[points["number"] == number].iloc[0]
    detail = ui.trial_detail(url, name, int(number))
    family = str(row["family"])
    klass = fam.get(family).klass if family in fam.REGISTRY else row["family_class"]
    flags = [
        "on the front" if row["on_front"] else "not on the front",
        "meets every hard limit" if row["feasible"] else "breaks a hard limit",
    ]
    if row["threshold"] == row["threshold"] and row["threshold"] is not None:
        flags.append(f"decision threshold {float(row['threshold']):.3f}")
    st.markdown(f"#### #{int(number)} · {ui.esc(ev.family_label(family))} ({klass})")
    st.caption(" · ".join(flags))
    d1, d2 = st.columns([1, 2])
    with d1:
        st.markdown("**Hyperparameters**")
        st.dataframe(ev.param_rows(detail["params"]), hide_index=True)
    with d2:
        st.markdown("**Every metric** (search value = cross-validated mean on the training part)")
        st.dataframe(ev.metric_rows(row, spec.objectives, names), hide_index=True)
    groups = ev.groups_frame(detail)
    st.markdown("**Per-group fairness** (held-out test part)")
    if groups.empty:
        st.caption("No per-group table stored for this trial.")
    else:
        g1, g2 = st.columns([1, 1])
        g1.dataframe(
            groups,
            hide_index=True,
            column_config={c: st.column_config.NumberColumn(format="%.3f") for c in ev.GROUP_COLUMNS[2:]},
        )
        g2.plotly_chart(charts.group_metrics(groups), key="ex_groups")
