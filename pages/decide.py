"""Decide: stakeholders' picks, method winners, regret, live votes and comments, the final lock.

All shared state (room, stakeholders, votes, comments, lock) lives in the database via
``core.decide.room.RoomStore``; this browser only holds its room token, which the store checks on
every write. Why the token rides in the URL (``?token=…``): Streamlit cannot set a cookie
(``st.context.cookies`` is read-only) and a session dies with a reload, while query parameters
survive one. The token is itself an unguessable random secret checked against its hash in the
database (revocable there), so signing it again would add nothing; "Leave" removes it from the URL. Votes, comments,
stakeholder cards and the tally refresh every POLL_S seconds in a fragment, so every open browser sees them without a
reload. Text people typed is never rendered as Markdown or HTML (``st.text`` or ``esc()``).
"""

from __future__ import annotations

from functools import partial

import streamlit as st

from app import ui
from app.ui import esc
from core import objectives as obj
from core import viz
from core._text import SCOPE_SEARCH, fmt_time
from core.decide import mcdm
from core.decide import view as decide
from core.decide.room import RoomStore
from core.errors import UserInputError
from core.metrics import display_metric
from core.search import reader as study_reader
from core.storage.tables import MARKS

POLL_S = 2


@st.cache_resource(show_spinner=False)
def room_store(url: str) -> RoomStore:
    return RoomStore(url)


def act(fn) -> bool:
    """Run a room action; a user mistake shows as one escaped line instead of a traceback."""
    try:
        fn()
        return True
    except UserInputError as exc:
        ui.show_error(exc)
        return False


def remember(token: str) -> None:
    st.session_state[me_key] = token
    st.query_params["token"] = token


def client() -> str:
    """Who tries a passcode, for the attempt log and its back-off: the browser's address."""
    return f"web:{getattr(st.context, 'ip_address', None) or 'unknown'}"


st.title("Decide")
url, study = ui.require_study()
store = room_store(url)
room_id = store.room_id(study)
people = store.stakeholders(room_id) if room_id else None
try:
    spec = ui.load_spec(url, study)
    view = decide.build(
        spec,
        ui.load_frame(url, study),
        study_name=study,
        stakeholders=people,
        proposed=store.candidates(room_id) if room_id else (),
        curves=study_reader.read_curves(url, study),  # options: every trial's operating points
    )
except UserInputError as exc:
    ui.show_error(exc)
    st.stop()

me_key = f"decide_me:{study}"
token = st.session_state.get(me_key) or st.query_params.get("token")
member = None
if token and room_id is not None:
    try:
        member = store.whoami(room_id, token)
        st.session_state[me_key] = token
    except UserInputError as exc:
        ui.show_error(exc)
        st.session_state.pop(me_key, None)
        st.query_params.pop("token", None)
        token = None
me = member.name if member else None
if room_id is None:
    st.write("No decision room yet. Whoever opens it facilitates: only they can lock the decision.")
    with st.form("open_room"):
        name = st.text_input("Your name")
        code = st.text_input("Passcode (optional, 8+ characters, not only digits)", type="password")
        if st.form_submit_button("Open the decision room", type="primary") and act(
            lambda: remember(decide.open_room(store, spec, view, name, code or None).token)
        ):
            st.rerun()
    st.stop()

room = store.room(room_id)
if me is None:
    with st.form("join_room"):
        st.write(f"Join the room (facilitator: {esc(room.facilitator)}) to vote and comment.")
        name = st.text_input("Your name")
        given = st.text_input("Passcode", type="password") if room.has_passcode else None
        if st.form_submit_button("Join", type="primary") and act(
            lambda: remember(store.join(room_id, name, given, client=client()).token)
        ):
            st.rerun()
else:
    role = " (facilitator)" if member and member.is_facilitator else ""
    left, right = st.columns([4, 1])
    left.markdown(f"You are **{esc(me)}**{role} in this browser (this page's link signs you in: keep it to yourself).")
    if right.button("Leave"):
        del st.session_state[me_key]
        st.query_params.pop("token", None)
        st.rerun()
    if not room.locked and token and decide.sync_shortlist(store, room_id, view, token):
        st.rerun()

labels = {t: view.label(t) for t in view.points.index}  # option key → "#12 Logistic regression at threshold 0.41"
cands = store.candidates(room_id)

st.subheader("Stakeholders")
cols = st.columns(min(3, len(view.stakeholders)))
for i, s in enumerate(view.stakeholders):
    pick = view.picks[s.name]
    with cols[i % len(cols)].container(border=True):
        st.markdown(f"**{esc(s.name)}** would pick **{esc(view.label(pick.winner))}**")
        weights = mcdm.check_weights(s.objectives, s.weights)
        for o in s.objectives:
            aim = s.aspirations.get(o)
            st.caption(
                esc(
                    f"{obj.get(o).label}: weight {weights[o]:.0%}"
                    + (f", aims for {mcdm.fmt(o, aim, spec.value_model)}" if aim is not None else "")
                )
            )
        st.caption(esc(pick.why))
        if decide.can_edit(room, me, s.name):
            with st.expander("Edit my preferences"), st.form(f"edit_{i}"):
                new_w, new_a = {}, {}
                for o in view.objectives:
                    a, b = st.columns(2)
                    new_w[o] = a.number_input(
                        f"{obj.get(o).label} weight %",
                        0.0,
                        100.0,
                        float(round(weights.get(o, 0.0) * 100)),
                        5.0,
                        key=f"w{i}{o}",
                    )
                    new_a[o] = b.number_input(
                        f"aim ({display_metric(obj.get(o), spec.value_model).unit})",
                        value=s.aspirations.get(o),
                        format="%.4g",
                        key=f"a{i}{o}",
                    )
                if st.form_submit_button("Save"):
                    owned = [o for o in view.objectives if new_w[o] > 0]
                    if act(
                        partial(
                            store.save_stakeholder,
                            room_id,
                            token,
                            s.name,
                            owned,
                            {o: new_w[o] for o in owned},
                            {o: v for o, v in new_a.items() if v is not None and o in owned},
                        )
                    ):
                        st.rerun()
if (
    me
    and not room.locked
    and me not in view.picks
    and st.button("Add a stakeholder card for me")
    and act(lambda: store.save_stakeholder(room_id, token, me, list(view.objectives)))
):
    st.rerun()

st.subheader("Shortlist")
st.dataframe(view.shortlist_table().drop(columns=["option"]), hide_index=True)
st.caption(
    f"Figures and regrets: {SCOPE_SEARCH} (what the search chose on); hard limits are judged on both parts. "
    "The Pareto explorer shows each candidate's held-out test figures. A candidate is a model and its "
    "decision rule: one named “at threshold 0.41” is that trial's model with another threshold than the "
    "one its search tuned (same fit, other trade-off)."
)
with st.expander("Why each method picks its winner (equal weights)"):
    for m, r in view.methods.items():
        st.markdown(f"**{esc(decide.METHOD_LABELS[m])}** → {esc(view.label(r.winner))}: {esc(r.why)}")
st.caption(esc(f"Compromise suggestion (smallest worst regret): {view.label(view.regret.compromise)}"))
if view.off_front:
    st.caption(esc("Proposed but no longer on the front: " + ", ".join(map(view.label, view.off_front))))
left, right = st.columns(2)
left.plotly_chart(
    viz.regret_heatmap(view.regret.normalised, view.regret.in_units, labels=labels, compromise=view.regret.compromise)
)
right.plotly_chart(viz.radar(view.normalised.loc[list(view.shortlist)], labels=labels))

NO_OPINION = "no opinion"
if me and not room.locked:
    mine = store.votes(room_id, token=token)
    cast = {r.option: r.mark for r in mine[(mine["voter"] == me) & (mine["kind"] == "mark")].itertuples()}
    vote_col, comment_col = st.columns(2)
    with vote_col.form("vote"):
        st.markdown("**My ballot** (unmarked candidates count as no opinion)")
        choices = [NO_OPINION, *MARKS]
        picked = {
            t: st.radio(
                view.label(t), choices, index=choices.index(cast.get(t, NO_OPINION)), horizontal=True, key=f"mark{t}"
            )
            for t in cands
        }
        ranked = st.multiselect("My ranking, best first (optional)", cands, format_func=view.label)
        if st.form_submit_button("Cast my vote", type="primary"):
            marks = {t: m for t, m in picked.items() if m != NO_OPINION}
            if act(lambda: store.cast_ballot(room_id, token, marks, ranked)):
                st.toast("Vote saved")
    with comment_col.form("comment", clear_on_submit=True):
        body = st.text_area("Comment", max_chars=2000)
        about = st.selectbox(
            "About", [None, *cands], format_func=lambda t: "the decision" if t is None else view.label(t)
        )
        if st.form_submit_button("Post comment"):
            act(lambda: store.comment(room_id, token, about, body))
    if member and member.is_facilitator:
        with st.form("lock"):
            st.markdown("**Lock the decision** (only you, the facilitator, can; votes close)")
            order = list(store.tally(room_id, token=token).index)
            trial = st.selectbox("Chosen candidate (model and decision rule)", order, format_func=view.label)
            rationale = st.text_area("Rationale (required, kept in the decision log)")
            if st.form_submit_button("Lock decision", type="primary") and act(
                lambda: store.lock(room_id, token, trial, rationale)
            ):
                st.rerun()
        if st.button("Start a new vote round", help="Clears the tally; earlier rounds stay in the log.") and act(
            lambda: store.new_round(room_id, token)
        ):
            st.rerun()
if member and member.is_facilitator:
    others = [p.name for p in store.participants(room_id) if p.name != me]
    with st.expander("Facilitator: hand over the role" + (" or unlock the decision" if room.locked else "")):
        if others:
            to = st.selectbox("Hand the facilitator role to", others)
            if st.button("Hand over") and act(lambda: store.hand_over(room_id, token, to)):
                st.rerun()
        if room.locked:
            reason = st.text_input("Why reopen the decision (kept in the log)")
            if st.button("Unlock the decision") and act(lambda: store.unlock(room_id, token, reason)):
                st.rerun()


@st.fragment(run_every=POLL_S)
def live() -> None:
    """What changes while people talk: lock banner, tally, comments, the log (polled)."""
    assert room_id is not None  # the page stopped above when there was no room
    now = store.room(room_id)
    if now.locked != room.locked or store.candidates(room_id) != cands or store.stakeholders(room_id) != people:
        st.rerun()  # the lock, a proposal or a stakeholder card (any browser) changes what is above: redraw
    if now.lock:
        st.success(
            esc(
                f"Decision locked: {view.label(now.lock.option)} by {now.lock.by} "
                f"at {fmt_time(now.lock.at)}. Rationale:"
            )
        )
        st.text(now.lock.rationale)
    if member is None:
        st.caption("Join the room to see the tally, the comments and the decision log.")
        return
    tally, locked = store.tally(room_id, token=token), now.lock.option if now.lock else None
    st.plotly_chart(viz.tally_bar(tally, labels=labels, locked=locked))
    counts = [
        f"{view.label(t)}: {r.approvals} approve, {r.rejections} reject, {r.abstentions} abstain, Borda {r.borda}"
        for t, r in tally.iterrows()
    ]
    st.caption(esc(f"Tally (round {now.current_round}): " + "; ".join(counts)))
    st.markdown("**Comments**")
    for c in store.comments(room_id, token=token)[-30:]:
        about = f" on {view.label(c.option)}" if c.option is not None else ""
        st.caption(esc(f"{c.author}{about} · {fmt_time(c.at)}"))
        st.text(c.text)
    with st.expander("Decision log"):
        for e in store.log(room_id, token=token):
            st.text(f"{fmt_time(e.at)}  {e.who}: {decide.describe_event(e.kind, e.option, e.detail, view.label)}")


st.subheader("Votes and comments (live)")
live()
