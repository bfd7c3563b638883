"""Search: start, watch and cancel the study's search. It runs in worker processes, not in this page."""

from __future__ import annotations

import time

import streamlit as st

from app import search_view as sv
from app import ui
from core import objectives as obj
from core import search, viz
from core._text import SCOPE_SEARCH
from core.decide import front
from core.errors import UserInputError
from core.search import launcher as workers
from core.search import reader as study_reader

st.title("Search")
url, name = ui.require_study()
spec = ui.load_spec(url, name)
names = spec.objective_names
budget_txt = " / ".join(
    x
    for x in (
        f"{spec.budget.n_trials} trials" if spec.budget.n_trials else "",
        ui.fmt_duration(spec.budget.timeout_s) if spec.budget.timeout_s else "",
    )
    if x
)
st.caption(
    f"Study **{ui.esc(name)}** · objectives: {', '.join(ui.esc(obj.get(n).label) for n in names)} · "
    f"{len(spec.families)} families · budget {budget_txt} · sampler {spec.sampler}. The search runs in "
    "worker processes: switching pages, reloading or closing the browser does not stop it."
)


def _status() -> tuple[sv.Status, list[dict]]:
    rows = search.workers(url, name)
    return sv.status(url, name, ui.load_frame(url, name), rows, spec), rows


s, rows = _status()
st.session_state["_search_was_active"] = s.active

attrs = study_reader.study_attrs(url, name)


def _keep_workers() -> None:  # in the address, so a reload keeps the count
    st.query_params[sv.WORKERS_PARAM] = str(int(st.session_state["search_n_workers"]))


c1, c2, c3, c4 = st.columns([1.2, 1, 1, 1], vertical_alignment="bottom")
n = c1.number_input(
    "Local worker processes",
    1,
    64,
    value=sv.worker_count(st.query_params.get(sv.WORKERS_PARAM), attrs, workers.default_count()),
    key="search_n_workers",
    on_change=_keep_workers,
    help="Each worker runs one trial at a time; they share the study's budget. More machines "
    "can join with `tradeoff worker --study NAME --storage URL`.",
)
start = c2.button(
    "Start search",
    type="primary",
    icon=":material/play_arrow:",
    key="btn_start",
    disabled=s.active or s.state == "finished",
)
cancel = c3.button(
    "Cancel",
    icon=":material/stop:",
    key="btn_cancel",
    disabled=not s.active,
    help="Workers stop after their current trial; finished trials are kept.",
)
local = sv.local_pids(rows, attrs)
stop_now = c4.button(
    "Stop now",
    icon=":material/cancel:",
    key="btn_stop",
    disabled=not local,
    help="Ends this machine's workers at once; their running trials are marked failed.",
)
slot = st.empty()

try:
    if start:
        study = ui.open_study(url, name)
        search.request_cancel(study, False)
        sv.record_launch(study, [w.pid for w in workers.start(name, url, int(n))])
        st.rerun()
    if cancel:
        search.request_cancel(ui.open_study(url, name))
        st.rerun()
    if stop_now:
        search.request_cancel(ui.open_study(url, name))
        for pid in local:
            workers.stop(pid)
        time.sleep(0.5)
        st.rerun()
except UserInputError as err:
    ui.show_error(err, slot)

if s.state in ("finished", "cancelled", "paused") and s.budget is not None:
    with st.expander("Extend the budget"):
        more = st.number_input("Add trials", 1, 10_000, value=max(4, s.budget // 2), key="search_more")
        if st.button("Add and allow another run", key="btn_extend"):
            search.set_budget(url, name, s.budget + int(more))
            search.request_cancel(ui.open_study(url, name), False)
            st.rerun()


@st.cache_data(max_entries=16, show_spinner=False)
def _hv(url_: str, name_: str, sig: tuple):
    frame = ui.load_frame(url_, name_)
    return front.hypervolume_history(frame, names, search.run_bounds(frame, names), limits=spec.objectives)


def _set_aside(frame) -> None:
    """Trials without figures: stopped early (multi-fidelity) and failures."""
    early = sv.stopped_early(frame)
    if len(early):
        with st.expander(f"Stopped early ({len(early)}): no figures, they could not reach the front"):
            st.dataframe(early, hide_index=True)
    fails = sv.failures(frame)
    if len(fails):
        with st.expander(f"Failures ({len(fails)})", expanded=True):
            st.dataframe(fails, hide_index=True)


@st.fragment(run_every=1.5 if s.active else 5.0)
def live() -> None:
    s, rows = _status()
    if s.active != st.session_state.get("_search_was_active"):
        st.session_state["_search_was_active"] = s.active
        st.rerun(scope="app")  # buttons and polling speed follow the new state
    frame = ui.load_frame(url, name)
    budget = f"{s.done} of {s.budget} trials" if s.budget else f"{s.done} trials"
    st.progress(s.fraction, text=f"{budget} · {s.failed} failed · {s.running} running")
    ui.too_good_warning(frame, spec)
    labels = {
        "running": ":material/autorenew: Running",
        "cancelling": ":material/hourglass_top: Cancelling",
        "finished": ":material/check_circle: Search finished",
        "cancelled": ":material/block: Cancelled",
        "not started": "Not started",
        "paused": ":material/pause: Paused: budget left",
    }
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("State", s.state.capitalize())
    m2.metric("Elapsed", ui.fmt_duration(s.elapsed_s))
    m3.metric("ETA", ui.fmt_duration(s.eta_s) if s.active else "–")
    hv = _hv(url, name, ui.signature(url, name))
    m4.metric(
        "Hypervolume",
        f"{hv['hypervolume'].iloc[-1]:.3f}" if len(hv) else "–",
        help=f"Normalised to the range of the first {search.N_BOUNDS} finished trials (reference point "
        f"{front.REF}); from then on the scale stays fixed, so it only rises, as the search finds "
        "better trade-offs.",
    )
    limits_text = front.limits_summary(frame, spec.objectives)
    blocked = limits_text is not None and not frame["feasible"].any()
    if blocked and s.state == "finished":
        st.warning(
            f"Search finished, but no trial is feasible: {ui.esc(limits_text)} Relax a limit on the Objectives page."
        )
    else:
        st.markdown(f"**{labels[s.state]}**" + (f" · {s.live_workers} worker(s) alive" if s.active else ""))
    if blocked and s.state != "finished":
        st.warning(f"No trial is feasible yet: {ui.esc(limits_text)}")
    elif limits_text and not blocked:
        st.caption(ui.esc(limits_text))
    if s.state == "finished":
        ui.page_link("pages/explorer.py", "Open the Pareto explorer")
    if frame.empty:
        st.caption(f"No trials yet. Figures will read {SCOPE_SEARCH}; hard limits are judged on both parts.")
        return
    g1, g2 = st.columns(2)
    g1.plotly_chart(viz.hypervolume_chart(hv), key="hv_chart")
    g2.plotly_chart(viz.trial_timeline(frame), key="timeline_chart")
    st.subheader("Latest trials", help=f"Figures: {SCOPE_SEARCH}; hard limits are judged on both parts.")
    st.dataframe(sv.latest_trials(frame, names, value_model=spec.value_model), hide_index=True)
    _set_aside(frame)
    st.subheader("Workers")
    table = sv.workers_table(rows)
    if len(table):
        st.dataframe(table, hide_index=True)
    else:
        st.caption("No worker has joined yet.")


live()
