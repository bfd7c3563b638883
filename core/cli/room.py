"""``tradeoff room …``: open, join, show, vote, rank, propose, comment and lock from a terminal,
the same operations the Decide page offers, on the same tables."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from typing import Any

from core import storage
from core.cli._options import storage_option
from core.decide import view as decide
from core.decide.room import RoomStore, printable, room_data, show_text
from core.errors import UserInputError

ENV_PASSCODE = "TRADEOFF_ROOM_PASSCODE"


def _store(args: Any) -> tuple[str, RoomStore]:
    url = storage.resolve(getattr(args, "storage", None))
    return url, RoomStore(url)


def _room(store: RoomStore, study: str) -> int:
    room_id = store.room_id(study)
    if room_id is None:
        raise UserInputError(
            f"No decision room for study {study!r} yet; open one with "
            f"`tradeoff room open --study {study} --facilitator NAME`.",
            field="study",
        )
    return room_id


def _passcode(args: Any) -> str | None:
    """``--passcode``, else ``$TRADEOFF_ROOM_PASSCODE`` (keeps it out of the shell history)."""
    return args.passcode if args.passcode is not None else os.environ.get(ENV_PASSCODE)


def _open(args: Any) -> int:
    url, store = _store(args)
    with store:
        spec, view = decide.load(url, args.study, store)
        existed = store.room_id(args.study) is not None
        room_id = decide.open_room(store, spec, view, args.facilitator, _passcode(args))
        info = store.room(room_id)
        if existed:
            print(
                f"room {room_id} for study {args.study!r} is already open "
                f"(facilitator {printable(info.facilitator)}); join it with `tradeoff room join`."
            )
        else:
            print(
                f"opened room {room_id} for study {args.study!r}; facilitator "
                f"{printable(info.facilitator)}"
                f"{', passcode set' if info.has_passcode else ''}; shortlist: "
                + ", ".join(view.label(t) for t in store.candidates(room_id))
            )
    return 0


def _act(args: Any, do: Callable[[RoomStore, int], str]) -> int:
    """Run one change on the study's room and print what happened."""
    _, store = _store(args)
    with store:
        print(do(store, _room(store, args.study)))
    return 0


def _join(args: Any) -> int:
    def do(store: RoomStore, room_id: int) -> str:
        who = store.join(room_id, args.name, _passcode(args))
        return (
            f"{printable(who.name)} joined the room of {args.study!r}{' as facilitator' if who.is_facilitator else ''}."
        )

    return _act(args, do)


def _vote(args: Any) -> int:
    def do(store: RoomStore, room_id: int) -> str:
        store.vote_approval(room_id, args.name, args.trial, not args.reject)
        return (
            f"{printable(args.name.strip())} {'rejects' if args.reject else 'approves'} "
            f"trial {args.trial} (round {store.room(room_id).current_round})."
        )

    return _act(args, do)


def _rank(args: Any) -> int:
    try:
        ranking = [int(t) for t in args.trials.split(",") if t.strip()]
    except ValueError:
        raise UserInputError(
            f"--trials expects trial numbers separated by commas, best first (e.g. 5,3,8), got {args.trials!r}.",
            field="ranking",
        ) from None

    def do(store: RoomStore, room_id: int) -> str:
        store.vote_ranked(room_id, args.name, ranking)
        return f"{printable(args.name.strip())} ranked " + " > ".join(map(str, ranking)) + "."

    return _act(args, do)


def _propose(args: Any) -> int:
    def do(store: RoomStore, room_id: int) -> str:
        added = store.propose(room_id, args.trial, args.name)
        return f"trial {args.trial} {'added to' if added else 'was already on'} the shortlist."

    return _act(args, do)


def _comment(args: Any) -> int:
    return _act(
        args, lambda store, room_id: f"comment {store.comment(room_id, args.name, args.trial, args.text)} saved."
    )


def _lock(args: Any) -> int:
    def do(store: RoomStore, room_id: int) -> str:
        lock = store.lock(room_id, args.name, args.trial, args.rationale)
        return f"decision locked: trial {lock.trial_number} by {printable(lock.by)} at {lock.at}."

    return _act(args, do)


def _show(args: Any) -> int:
    url, store = _store(args)
    with store:
        _, view = decide.load(url, args.study, store)
        room = room_data(store, store.room_id(args.study))
    if args.json:
        print(json.dumps({"view": view.to_dict(), "room": room}, indent=2, default=str))
    else:
        print(show_text(view, room))
    return 0


def _name(sp: argparse.ArgumentParser, help_text: str | None = None) -> None:
    sp.add_argument("--name", required=True, help=help_text)


def register_cli(subparsers: Any) -> None:
    """Add ``tradeoff room …``: open/join/show/vote/rank/propose/comment/lock from a terminal."""
    room = subparsers.add_parser("room", help="the decision room of a study: votes, comments, lock")
    sub = room.add_subparsers(dest="room_command", required=True)

    def common(name: str, help_text: str, func: Callable[[Any], int]) -> Any:
        sp = sub.add_parser(name, help=help_text)
        storage_option(sp)
        sp.add_argument("--study", required=True, help="the study whose room this is")
        sp.set_defaults(func=func)
        return sp

    sp = common("open", "open the room (you become the facilitator) and seed its shortlist", _open)
    sp.add_argument("--facilitator", required=True, help="your name")
    sp.add_argument("--passcode", help=f"optional room passcode (or ${ENV_PASSCODE})")
    sp = common("join", "join the room under your name", _join)
    _name(sp)
    sp.add_argument("--passcode", help=f"the room's passcode (or ${ENV_PASSCODE})")
    sp = common("show", "print the shortlist, regret table, tally, comments and log", _show)
    sp.add_argument("--json", action="store_true", help="machine-readable output")
    sp = common("vote", "approve (or --reject) one shortlisted trial", _vote)
    _name(sp)
    sp.add_argument("--trial", type=int, required=True)
    sp.add_argument("--reject", action="store_true")
    sp = common("rank", "cast a ranked ballot (Borda), best first", _rank)
    _name(sp)
    sp.add_argument("--trials", required=True, help="comma-separated trial numbers, best first")
    sp = common("propose", "add a trial to the shortlist", _propose)
    _name(sp)
    sp.add_argument("--trial", type=int, required=True)
    sp = common("comment", "comment on the decision or on one trial", _comment)
    _name(sp)
    sp.add_argument("--trial", type=int)
    sp.add_argument("--text", required=True)
    sp = common("lock", "record the final decision (facilitator only)", _lock)
    _name(sp, "the facilitator's name")
    sp.add_argument("--trial", type=int, required=True)
    sp.add_argument("--rationale", required=True, help="why this trial (stored in the log)")


__all__ = ["register_cli"]
