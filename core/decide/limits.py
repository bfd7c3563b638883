"""Limits as views: the room's current hard limits, kept beside the spec the search ran with.

Why: every trial stores every metric, so a limit revised after the search (one nobody met, relaxed
in the meeting) needs no re-run: feasibility and the front are re-judged from the stored metrics.
The study keeps its spec exactly as the search ran it (its constraints only steered sampling); the
room's limits live in the study's user attribute :data:`ATTR_VIEW_LIMITS` (versioned JSON, with a
history of who changed what), so every browser, the CLI, Decide and Export read the same ones. A
study without that attribute (every study made before) is judged by its spec's limits, as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

import optuna

from core import objectives as obj
from core import search
from core import storage as st
from core.errors import UserInputError
from core.search import reader as study_reader
from core.spec import Objective, Spec

ATTR_VIEW_LIMITS = "tradeoff.view_limits"
VERSION = 1
#: Words that remove a limit (``tradeoff limits set --study S latency_p95_ms=none``).
NO_LIMIT = ("", "none", "no", "off", "-")


@dataclass(frozen=True)
class ViewLimits:
    """The room's limits (objective name → limit, None = no limit), a revision counter that grows
    on every change (part of the pages' cache key), and the history of changes, oldest first."""

    limits: dict[str, float | None]
    revision: int = 0
    history: tuple[dict[str, Any], ...] = ()


def read(attrs: Mapping[str, Any]) -> ViewLimits | None:
    """The view limits stored in a study's user attributes, or None when the room never set any."""
    raw = attrs.get(ATTR_VIEW_LIMITS)
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("limits"), dict):
        raise UserInputError(f"The study's {ATTR_VIEW_LIMITS} attribute is not a limits record.", field="limits")
    version = raw.get("version")
    if version != VERSION:
        raise UserInputError(
            f"The study's limits were saved by a Tradeoff Room with format {version!r}; this one reads "
            f"format {VERSION}. Update Tradeoff Room to open them.",
            field="limits",
        )
    limits = {str(k): (None if v is None else float(v)) for k, v in raw["limits"].items()}
    return ViewLimits(limits, int(raw.get("revision", 0)), tuple(raw.get("history") or ()))


def apply(spec: Spec, view: ViewLimits | None) -> Spec:
    """``spec`` with its objectives' hard limits replaced by the view's (unchanged without a view)."""
    if view is None:
        return spec
    objectives = tuple(replace(o, limit=view.limits[o.name]) if o.name in view.limits else o for o in spec.objectives)
    return replace(spec, objectives=objectives)


def view_spec(spec: Spec, attrs: Mapping[str, Any]) -> Spec:
    """The spec every reader judges feasibility by: the search's spec with the room's limits."""
    return apply(spec, read(attrs))


def load_view_spec(url: str | None, study_name: str) -> Spec:
    """The study's spec with the room's current limits (one query for the study's attributes)."""
    attrs = study_reader.study_attrs(url, study_name)
    if search.ATTR_SPEC not in attrs:
        raise UserInputError(f"Study {study_name!r} was not made by Tradeoff Room (no spec).", field="study")
    return view_spec(Spec.from_dict(attrs[search.ATTR_SPEC]), attrs)


def revision(attrs: Mapping[str, Any]) -> int:
    """The view limits' revision (0 for a study whose limits were never edited)."""
    view = read(attrs)
    return view.revision if view else 0


def _parse_one(spec: Spec, name: str, raw: Any) -> float | None:
    if name not in spec.objective_names:
        raise UserInputError(
            f"limits: {name!r} is not an objective of this study. Its objectives: {', '.join(spec.objective_names)}.",
            field="limits",
        )
    if raw is None or (isinstance(raw, str) and raw.strip().lower() in NO_LIMIT):
        return None
    return obj.parse_limit(name, raw, f"limits.{name}")


def parse_changes(spec: Spec, changes: Mapping[str, Any]) -> dict[str, float | None]:
    """Check new limits against the study's objectives: units as people type them ("20 ms",
    "80 %"), the metric's range, and an owner's aspiration inside the limit. Raises
    :class:`UserInputError` with what is wrong and how to write it."""
    parsed = {name: _parse_one(spec, name, raw) for name, raw in changes.items()}
    for o in spec.objectives:
        if o.name in parsed:
            Objective(o.name, o.owner, parsed[o.name], o.aspiration, o.direction)  # validates the pair
    return parsed


def limit_words(o: Objective) -> str:
    """``"ROC AUC ≥ 0.800"`` or ``"ROC AUC: no limit"``: a limit as the room says it."""
    m = obj.get(o.name)
    if o.limit is None:
        return f"{m.label}: no limit"
    return f"{m.label} {'≤' if o.direction == 'minimize' else '≥'} {m.fmt(o.limit)}"


def describe(before: Spec, after: Spec) -> str:
    """The changed limits in words ("ROC AUC ≥ 0.800 → ROC AUC ≥ 0.700"), or "" for none."""
    old = {o.name: o for o in before.objectives}
    parts = [f"{limit_words(old[o.name])} → {limit_words(o)}" for o in after.objectives if old[o.name].limit != o.limit]
    return "; ".join(parts)


def last_change(attrs: Mapping[str, Any]) -> str | None:
    """The latest change of the room's limits in words, with who and when, or None for none yet."""
    view = read(attrs)
    if view is None or not view.history:
        return None
    entry = view.history[-1]
    who = f" by {entry['by']}" if entry.get("by") else ""
    try:
        when = datetime.fromisoformat(str(entry.get("at"))).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        when = str(entry.get("at", ""))
    return f"{entry.get('change', '')}{who}, {when}"


def _write(url: str, study_name: str, record: dict[str, Any]) -> None:
    study = optuna.load_study(study_name=study_name, storage=search.optuna_storage(url))
    study.set_user_attr(ATTR_VIEW_LIMITS, record)


def set_limits(
    url: str | None,
    study_name: str,
    changes: Mapping[str, Any],
    *,
    by: str = "",
    log: Any = None,
) -> tuple[Spec, str]:
    """Change the room's limits of a study; returns ``(view spec, the change in words)``.

    Nothing is re-run: readers re-judge feasibility from stored metrics. ``log`` (optional) is
    called with the change in words when something changed, e.g. to write it to the room's log.
    """
    url = st.resolve(url)
    attrs = study_reader.study_attrs(url, study_name)
    if search.ATTR_SPEC not in attrs:
        raise UserInputError(f"Study {study_name!r} was not made by Tradeoff Room (no spec).", field="study")
    base = Spec.from_dict(attrs[search.ATTR_SPEC])
    current = read(attrs)
    before = apply(base, current)
    parsed = parse_changes(before, changes)
    limits = {o.name: o.limit for o in before.objectives} | parsed
    after = apply(base, ViewLimits(limits))
    words = describe(before, after)
    if not words:
        return before, ""
    entry = {"at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "by": by, "change": words}
    history = [*(current.history if current else ()), entry]
    rev = (current.revision if current else 0) + 1
    _write(url, study_name, {"version": VERSION, "revision": rev, "limits": limits, "history": history})
    if log is not None:
        log(f"Changed hard limits (re-judged from stored metrics, no re-run): {words}")
    return after, words


def _without_limits(spec: Spec) -> dict[str, Any]:
    """What must match for a re-save to be a change of limits only: all but limits, budget, data version."""
    d = apply(spec, ViewLimits({o.name: None for o in spec.objectives})).to_dict()
    d.pop("budget", None)
    d["data"].pop("fingerprint", None)
    return d


def limits_only(stored: Spec, new: Spec) -> bool:
    """True when ``new`` differs from the study's spec in nothing but hard limits (and the budget,
    which re-saving may always change)."""
    return _without_limits(stored) == _without_limits(new)


def save_study(spec: Spec, url: str | None, study_name: str, *, by: str = "", log: Any = None) -> str:
    """Save ``spec`` as study ``study_name``: create it, or re-save an existing one.

    Re-saving with only hard limits changed updates the room's limits (no re-run; the budget is
    topped up as before); any other change is refused, saying to start a new study. Returns
    ``"created"``, ``"limits"`` (with the change in words after a colon) or ``"saved"``.
    """
    url = st.resolve(url)
    if study_name not in study_reader.study_names(url):
        search.create_study(spec, url, study_name)
        return "created"
    stored = Spec.from_dict(study_reader.study_attrs(url, study_name)[search.ATTR_SPEC])
    if not limits_only(stored, spec):
        raise UserInputError(
            f"A study named {study_name!r} already exists and its search ran with other objectives, data, "
            "families or settings. Only its hard limits can change after the search (they are re-judged "
            "from stored metrics). To search with this spec, start a new study: type another study name.",
            field="study",
        )
    as_run = apply(spec, ViewLimits({o.name: o.limit for o in stored.objectives}))
    search.create_study(as_run, url, study_name)  # the same spec as the search's: tops the budget up
    _, words = set_limits(url, study_name, {o.name: o.limit for o in spec.objectives}, by=by, log=log)
    return f"limits: {words}" if words else "saved"


def room_logger(store: Any, study_name: str, token: str | None) -> Any:
    """A ``log`` for :func:`set_limits` that writes the change as a comment in the study's room, or
    None when there is no room or no token to write with (the change is still kept in the study's
    limits history)."""
    if store is None or not token:
        return None
    room_id = store.room_id(study_name)
    if room_id is None:
        return None
    return lambda text: store.comment(room_id, token, None, text)


__all__ = [
    "ATTR_VIEW_LIMITS",
    "NO_LIMIT",
    "VERSION",
    "ViewLimits",
    "apply",
    "describe",
    "last_change",
    "limit_words",
    "limits_only",
    "load_view_spec",
    "parse_changes",
    "read",
    "revision",
    "room_logger",
    "save_study",
    "set_limits",
    "view_spec",
]
