"""``tradeoff room show``: the room as plain data (``--json``) and as plain text for a terminal.

Text is printed as typed, minus terminal control sequences: a comment must not recolour a terminal.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from core import objectives as obj
from core._text import fmt_time
from core.decide.mcdm import METHOD_LABELS
from core.decide.room._store import RoomStore
from core.decide.view import describe_event


def printable(raw: object) -> str:
    """Text as typed, with control characters (other than newline and tab) shown as ``?``."""
    return "".join(ch if ch in "\n\t" or unicodedata.category(ch) != "Cc" else "?" for ch in str(raw))


def json_key(key: str) -> int | str:
    """An option key as ``--json`` writes it: a trial's own rule as its number (what every room wrote
    before operating points existed, so old scripts read old rooms unchanged), another point as ``"12@3"``."""
    return key if "@" in str(key) else int(key)


def _with_option(item: Any) -> dict[str, Any]:
    return vars(item) | {"option": item.option}


def room_data(store: RoomStore, room_id: int | None, token: str | None = None) -> dict[str, Any] | None:
    """Everything the room holds, JSON-ready, as ``token``'s owner sees it; None when there is no room yet."""
    if room_id is None:
        return None
    tally = store.tally(room_id, token=token)
    room = store.room(room_id)
    return {
        "id": room.id,
        "facilitator": room.facilitator,
        "passcode": room.has_passcode,
        "round": room.current_round,
        "lock": None if room.lock is None else _with_option(room.lock),
        "participants": [p.name for p in store.participants(room_id)],
        "candidates": [json_key(k) for k in store.candidates(room_id)],
        "tally": [
            {"trial": json_key(t), "option": t, **{k: int(v) for k, v in row.items()}} for t, row in tally.iterrows()
        ],
        "comments": [_with_option(c) for c in store.comments(room_id, token=token)],
        "log": [_with_option(e) for e in store.log(room_id, token=token)],
    }


def _header(view: Any, room: dict[str, Any] | None) -> list[str]:
    out = [
        f"study {view.study_name!r}: Pareto set of {len(view.points)} options (a model and its decision rule) over "
        + ", ".join(obj.get(n).label for n in view.objectives)
    ]
    if room is None:
        return out + ["no decision room yet (open one with `tradeoff room open`)."]
    out.append(
        f"room {room['id']}: facilitator {printable(room['facilitator'])}, round "
        f"{room['round']}, participants: " + ", ".join(printable(p) for p in room["participants"])
    )
    lock = room["lock"]
    out.append(
        "decision: open"
        if lock is None
        else f"decision: {view.label(lock['option'])} locked by {printable(lock['by'])} "
        f"at {fmt_time(lock['at'])} — {printable(lock['rationale'])}"
    )
    return out


def _analysis(view: Any) -> list[str]:
    out = ["\nshortlist:"]
    table = view.shortlist_table().drop(columns=["option"])
    table["compromise"] = table["compromise"].map({True: "★", False: ""})
    out.append(printable(table.to_string(index=False)))
    out.append("\nmethod winners (equal weights):")
    out += [f"  {METHOD_LABELS[m]}: {view.label(r.winner)} — {r.why}" for m, r in view.methods.items()]
    out += [f"  {printable(view.picks[s.name].why)}" for s in view.stakeholders]
    out.append("\nregret (share of the front's range each stakeholder gives up, 0 = none):")
    regret = view.regret.normalised.copy()
    regret.index = [view.label(t) for t in regret.index]
    out.append(printable(regret.round(3).to_string()))
    out.append(f"compromise (min-max regret): {view.label(view.regret.compromise)}")
    return out


def _room_lines(view: Any, room: dict[str, Any]) -> list[str]:
    out = [f"\ntally (round {room['round']}):"]
    out += [
        f"  {view.label(row['option'])}: {row['approvals']} approve, {row['rejections']} reject, "
        f"{row['abstentions']} abstain, Borda {row['borda']}"
        for row in room["tally"]
    ]
    out.append("\ncomments:")
    for c in room["comments"] or [{"author": "", "text": "(none)", "option": None, "at": ""}]:
        about = f" on {view.label(c['option'])}" if c["option"] is not None else ""
        at = fmt_time(c["at"]) if c["at"] else ""
        out.append(f"  {at} {printable(c['author'])}{about}: {printable(c['text'])}")
    out.append("\nlog:")
    for e in room["log"]:
        what = describe_event(e["kind"], e["option"], e["detail"], view.label)
        out.append(f"  {fmt_time(e['at'])} {printable(e['who'])} {printable(what)}")
    return out


def show_text(view: Any, room: dict[str, Any] | None) -> str:
    """The room as plain text for a terminal: shortlist, methods, regret, tally, comments, log."""
    out = _header(view, room) + _analysis(view)
    if room is not None:
        out += _room_lines(view, room)
    return "\n".join(out)
