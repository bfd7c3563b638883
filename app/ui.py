"""Shared UI helpers for every page. Other engineers' pages import these: keep the API stable.

Public API (all safe to call from any page, with or without the router's sidebar):

- ``storage_url() -> str`` — the storage URL for this server (flag/env/secrets/default).
- ``current_study() -> tuple[str, str] | None`` — ``(url, study_name)`` of the study the URL's
  ``?study=NAME`` names (mirrored in ``st.session_state["study"]``), or None if none is chosen or it
  does not exist in storage.
- ``set_current_study(name)`` — make ``name`` current; call ``st.rerun()`` afterwards (or let the
  next run pick it up). The sidebar's study picker applies it before it renders.
- ``require_study() -> tuple[str, str]`` — like ``current_study`` but shows a hint and stops the
  page when there is none.
- ``load_spec(url, name) -> Spec`` — the study's spec with the room's current hard limits
  (:mod:`core.decide.limits`); ``load_search_spec`` — the spec as the search ran it (cached).
- ``set_limits(url, name, changes) -> str`` — revise hard limits without a re-run, logged in the room.
- ``room_store(url) -> RoomStore`` — the decision rooms of this storage (one store per process).
- ``open_study(url, name) -> optuna.Study`` — the Optuna study, without listing every study's summary.
- ``load_frame(url, name, n_trials=None) -> DataFrame`` — the study's trials as
  :func:`core.decide.front.trials_frame` columns; cached by study and by ``signature(url, name)``
  (changes whenever a trial is added or changes state), so a rerun with nothing new does not read
  the study again. Treat the result as read-only (copy before adding columns).
- ``signature(url, name) -> tuple`` — cheap "has anything changed" key (one SQL aggregate, plus the
  revision of the room's limits as its last element).
- ``finished_of_budget(url, name) -> (done, budget)`` / ``finished_text(url, name)`` — the one
  "7 of 16 trials finished" count the sidebar and the pages show (the budget's rule).
- ``trial_detail(url, name, number) -> dict`` — one finished trial's params and user attributes
  (cached for good: Optuna never changes a finished trial).
- ``list_study_names(url) -> list[str]`` — study names in storage (cached a few seconds).
- ``show_error(err, where=None)`` — a readable message for a ``UserInputError`` (escaped), never a
  traceback. ``ErrorSlots`` places it next to the widget its ``field`` names.
- ``esc(text) -> str`` — escape user-typed text for ``st.markdown`` and friends.
- ``fmt_duration(seconds) -> str`` — ``"1 min 05 s"``.
- ``page_link(path, label)`` — link to ``"pages/<name>.py"`` (plain text when not registered).
- ``too_good_warning(frame, spec, importance=None, trial=None)`` — a ``st.warning`` per "too good to
  be true" finding (:func:`core.decide.suspicion.too_good`): a leak the room must see first.
- ``sidebar()`` — the shared sidebar (the router calls it once per run).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import streamlit as st

from core import storage as core_storage
from core._text import fmt_duration as fmt_duration  # re-exported: pages format durations through ui
from core.errors import UserInputError
from core.spec import Spec

if TYPE_CHECKING:
    import pandas as pd

# Why the study modules are imported inside the functions below: every page imports this module
# through the router, and ``core.search`` (with what it imports: the data layer, scipy, sklearn,
# Optuna) costs seconds in a fresh server process. Imported where they are used, a page pays only
# for what it actually reads, and the router's hidden start page forwards without paying at all.

STUDY_KEY = "study"  # the sidebar picker's key, bound to the ?study= query parameter
_NEXT_STUDY = "_tr_next_study"
_MISSING = "_tr_missing_study"  # a ?study= name that is not in storage (shown, then dropped)
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>$~:])")


# -- text -----------------------------------------------------------------------------------------


def esc(text: Any) -> str:
    """Backslash-escape Markdown punctuation so user text (column names, owners) renders verbatim."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def show_error(err: UserInputError | str, where: Any = None) -> None:
    """Show a user mistake as a readable message (what is wrong, how to fix it)."""
    message = err.message if isinstance(err, UserInputError) else str(err)
    (where or st).error(esc(message), icon=":material/error:")


class ErrorSlots:
    """Placeholders under widgets, so a ``UserInputError`` appears next to the widget it is about.

    ``slots.here("data.target")`` right after the target picker; later ``slots.show(err)`` writes
    the message into the slot whose name is the longest prefix of ``err.field`` (so
    ``objectives.roc_auc.limit`` finds ``objectives.roc_auc``), else into the ``default`` slot or
    at the current position.
    """

    def __init__(self) -> None:
        self._slots: dict[str, Any] = {}
        self.shown: list[str] = []

    def here(self, field: str) -> None:
        self._slots[field] = st.empty()

    def show(self, err: UserInputError) -> None:
        field = err.field or ""
        best = max((k for k in self._slots if field == k or field.startswith(k + ".")), key=len, default=None)
        slot = self._slots.get(best) if best else self._slots.get("default")
        self.shown.append(field)
        show_error(err, slot)


# -- storage and the current study ----------------------------------------------------------------


def storage_url() -> str:
    return core_storage.resolve(None)


@st.cache_data(ttl=3, show_spinner=False)
def list_study_names(url: str) -> list[str]:
    from core.search import reader as study_reader

    try:
        return study_reader.study_names(url)
    except UserInputError:
        return []


def set_current_study(name: str | None) -> None:
    """Make ``name`` the current study from the next run on (call ``st.rerun()`` to apply now)."""
    list_study_names.clear()
    st.session_state[_NEXT_STUDY] = name


def _apply_pending() -> None:
    if _NEXT_STUDY in st.session_state:
        st.session_state[STUDY_KEY] = st.session_state.pop(_NEXT_STUDY)


def _chosen_name() -> str | None:
    _apply_pending()
    name = st.session_state.get(STUDY_KEY)
    if not name:
        raw = st.query_params.get(STUDY_KEY)
        name = raw if isinstance(raw, str) and raw else None
    return name


def current_study() -> tuple[str, str] | None:
    name = _chosen_name()
    if not name:
        return None
    url = storage_url()
    if name not in list_study_names(url):
        list_study_names.clear()  # it may have been created a moment ago
        if name not in list_study_names(url):
            return None
    return url, name


def require_study() -> tuple[str, str]:
    cur = current_study()
    if cur is None:
        name = _chosen_name() or st.session_state.get(_MISSING)
        if name:
            st.warning(
                f"There is no study named **{esc(name)}** in this storage. Pick one in the "
                "sidebar, or create one on the Objectives page."
            )
        else:
            st.info(
                "No study chosen yet. Pick one in the sidebar, or choose data and objectives "
                "first and save them as a study.",
                icon=":material/info:",
            )
        page_link("pages/objectives.py", "Go to Objectives & stakeholders")
        st.stop()
    return cur


def page_link(path: str, label: str, icon: str = ":material/arrow_forward:") -> None:
    """A link to another page by its repo-relative file (``"pages/search.py"``).

    Falls back to plain text when the page is not registered (a page run on its own in a test).
    """
    from streamlit.errors import StreamlitAPIException

    try:
        st.page_link(f"../{path}", label=label, icon=icon)
    except StreamlitAPIException:
        st.caption(f"Next: {esc(label)}")


# -- cached reads ---------------------------------------------------------------------------------


def signature(url: str, name: str) -> tuple:
    """The reader's signature plus the revision of the room's limits: a revised limit re-judges
    feasibility, so every cache keyed on this (frame, front) and every polling page updates."""
    from core.decide import limits as view_limits
    from core.search import reader as study_reader

    return (*study_reader.signature(url, name), view_limits.revision(study_reader.study_attrs(url, name)))


@st.cache_data(max_entries=64, show_spinner=False)
def _counted(url: str, name: str, sig: tuple) -> int:
    del sig  # part of the cache key only: the count changes only when a trial does
    from core.search import reader as study_reader

    return study_reader.counted(url, name)[0]


def finished_of_budget(url: str, name: str) -> tuple[int, int | None]:
    """(trials finished, the budget or None): the one count the sidebar and every page show.

    The budget's own rule (:func:`core.search.reader.counted`): a failure that was retried or
    abandoned does not count, so "7 of 16" here is what the search is working towards.
    """
    from core import search

    return _counted(url, name, signature(url, name)), search.budget(url, name)[0]


def finished_text(url: str, name: str) -> str:
    """``"7 of 16 trials finished"`` (or ``"7 trials finished"`` without a trial budget)."""
    done, n_budget = finished_of_budget(url, name)
    return f"{done:,} of {n_budget:,} trials finished" if n_budget else f"{done:,} trials finished"


@st.cache_data(max_entries=32, show_spinner=False)
def _spec_dict(url: str, name: str) -> dict:
    import json

    from core import search
    from core.search import reader as study_reader

    raw = study_reader.study_attrs(url, name).get(search.ATTR_SPEC)
    if raw is None:
        raise UserInputError(f"Study {name!r} was not made by Tradeoff Room (it has no spec).", field="study")
    # validated, then back to JSON-shaped data (Spec.from_dict expects lists where to_dict() has tuples)
    return json.loads(Spec.from_dict(raw).to_json())


def load_search_spec(url: str, name: str) -> Spec:
    """The spec exactly as the search ran it (its limits steered sampling; cached)."""
    return Spec.from_dict(_spec_dict(url, name))


def load_spec(url: str, name: str) -> Spec:
    """The study's spec with the room's current hard limits: what every page judges feasibility by."""
    from core.decide import limits as view_limits
    from core.search import reader as study_reader

    return view_limits.view_spec(load_search_spec(url, name), study_reader.study_attrs(url, name))


@st.cache_resource(max_entries=8, show_spinner=False)
def _room_store(url: str) -> Any:
    from core.decide.room import RoomStore

    return RoomStore(url)


def room_store(url: str) -> Any:
    """The shared :class:`core.decide.room.RoomStore` of this storage (one per server process)."""
    return _room_store(url)


def room_log(url: str, name: str) -> Any:
    """A ``log`` for :func:`core.decide.limits.set_limits` that writes to the study's room as this
    browser's member (the Decide page's token), or None without a token or a room. A refused entry
    (an expired token, say) shows as a warning: the change itself stands."""
    from core.decide import limits as view_limits

    token = st.session_state.get(f"decide_me:{name}") or st.query_params.get("token")
    write = view_limits.room_logger(_room_store(url), name, token) if token else None
    if write is None:
        return None

    def log(text: str) -> None:
        try:
            write(text)
        except UserInputError as err:
            st.warning(f"The limits were changed, but the room's log refused the entry: {esc(err.message)}")

    return log


def set_limits(url: str, name: str, changes: dict[str, Any]) -> str:
    """Revise the room's hard limits (no re-run); returns the change in words ("" for none).

    Logged in the room's decision log when this browser holds a room token; without one the change
    is still kept in the study's limits history.
    """
    from core.decide import limits as view_limits

    return view_limits.set_limits(url, name, changes, by="app", log=room_log(url, name))[1]


def open_study(url: str, name: str):
    """``optuna.load_study`` on the shared storage (``core.search.open_study`` lists all study summaries,
    which costs seconds per call once a study holds thousands of trials)."""
    import optuna

    from core import search

    if name not in list_study_names(url):
        raise UserInputError(f"No study named {name!r} in {core_storage.mask(url)}.", field="study")
    return optuna.load_study(study_name=name, storage=search.optuna_storage(url))


@st.cache_resource(max_entries=8, show_spinner=False)
def _frame(url: str, name: str, sig: tuple) -> pd.DataFrame:
    # cache_resource, not cache_data: a 10,000-trial frame would be pickled on every hit;
    # callers treat it as read-only (documented above)
    from core.search import reader as study_reader

    return study_reader.read_frame(url, name, load_spec(url, name))


def load_frame(url: str, name: str, n_trials: int | None = None) -> pd.DataFrame:
    """The study's trials (read-only); ``n_trials`` is accepted for callers that key on it."""
    del n_trials  # the signature below is stricter: it also changes when a trial changes state
    return _frame(url, name, signature(url, name))


@st.cache_data(max_entries=256, show_spinner=False)
def trial_detail(url: str, name: str, number: int) -> dict:
    from core.search import reader as study_reader

    return study_reader.trial_attrs(url, name, int(number))


def too_good_warning(frame: pd.DataFrame, spec: Spec, *, importance: Any = None, trial: int | None = None) -> None:
    """One warning per suspicious figure (held-out AUC, one column carrying the importance)."""
    from core.decide.suspicion import too_good

    for line in too_good(frame, spec, importance=importance, trial=trial):
        st.warning(esc(line), icon=":material/report:")


# -- sidebar --------------------------------------------------------------------------------------


def sidebar() -> None:
    """Study picker (bound to ``?study=``), what it holds, and where the data lives."""
    url = storage_url()
    _apply_pending()
    names = list_study_names(url)
    asked = st.query_params.get(STUDY_KEY)
    if asked and asked not in names:  # the picker drops an unknown name: remember to say so
        st.session_state[_MISSING] = asked
    else:
        st.session_state.pop(_MISSING, None)
    with st.sidebar:
        st.markdown("### :material/balance: Tradeoff Room")
        chosen = st.session_state.get(STUDY_KEY)
        options = names if (not chosen or chosen in names) else [*names, chosen]
        st.selectbox(
            "Study",
            options,
            index=None,
            key=STUDY_KEY,
            bind="query-params",
            placeholder="no study yet" if not names else "choose a study",
            help="Shared through the page address (?study=…): everyone who opens the same "
            "address sees the same study, its search and its front.",
        )
        cur = current_study()
        if cur is not None:
            _study_summary(*cur)
        st.caption(f"Storage: `{core_storage.mask(url)}`")


def _study_summary(url: str, name: str) -> None:
    try:
        spec = load_spec(url, name)
        running = signature(url, name)[2]
        finished = finished_text(url, name)
    except UserInputError as err:
        show_error(err)
        return
    from core import objectives as obj

    st.caption(" · ".join(esc(obj.get(n).label) for n in spec.objective_names))
    st.caption(finished + (f", {running} running" if running else ""))
