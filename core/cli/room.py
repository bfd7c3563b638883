"""``tradeoff room …``: open, join, show, vote, rank, propose, comment, lock, unlock and hand over
from a terminal, the same operations the Decide page offers, on the same tables.

Who acts is the owner of ``--token`` (or ``$TRADEOFF_ROOM_TOKEN``), printed once by ``open`` and
``join``; a write or a read of the room without one is refused (exit 2, one line).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import socket
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from core import storage
from core._text import fmt_time
from core.cli._options import storage_option
from core.decide import view as decide
from core.decide.options import parse_option
from core.decide.room import RoomStore, printable, room_data, show_text
from core.errors import UserInputError

ENV_PASSCODE = "TRADEOFF_ROOM_PASSCODE"
ENV_TOKEN = "TRADEOFF_ROOM_TOKEN"
_OPTION_HELP = "a trial (12) or one of its operating points (12@3; `tradeoff front --operating-points` lists them)"


def _store(args: Any, *, read_only: bool = False) -> tuple[str, RoomStore]:
    """The room store at ``--storage``; a read-only command never creates the database."""
    resolve = storage.resolve_existing if read_only else storage.resolve
    url = resolve(getattr(args, "storage", None))
    try:
        return url, RoomStore(url)
    except sa.exc.SQLAlchemyError as exc:
        raise _unreachable(url, exc) from None


def _unreachable(url: str, exc: BaseException) -> UserInputError:
    return UserInputError(
        f"Cannot reach the room's database {storage.mask(url)}: {storage.first_line(exc)}", field="storage"
    )


def _token(args: Any) -> str:
    """``--token``, else ``$TRADEOFF_ROOM_TOKEN``; refused when neither is given."""
    token = args.token if getattr(args, "token", None) else os.environ.get(ENV_TOKEN)
    if not token:
        raise UserInputError(
            f"this needs your room token (printed by `room open` / `room join`); pass --token or set ${ENV_TOKEN}.",
            field="token",
        )
    return token


def _client() -> str:
    """Who is trying a passcode, for the attempt log and its back-off: user and machine."""
    return f"cli:{getpass.getuser()}@{socket.gethostname()}"


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
        room_id = store.room_id(args.study)
        if room_id is not None:
            info = store.room(room_id)
            print(
                f"room {room_id} for study {args.study!r} is already open "
                f"(facilitator {printable(info.facilitator)}); join it with `tradeoff room join`."
            )
            return 0
        cred = decide.open_room(store, spec, view, args.facilitator, _passcode(args))
        info = store.room(cred.room_id)
        print(
            f"opened room {cred.room_id} for study {args.study!r}; facilitator "
            f"{printable(info.facilitator)}"
            f"{', passcode set' if info.has_passcode else ''}; shortlist: "
            + ", ".join(view.label(t) for t in store.candidates(cred.room_id))
        )
        print(f"your facilitator token (shown once; keep it secret, pass it as --token or ${ENV_TOKEN}):")
        print(cred.token)
    return 0


def _act(args: Any, do: Callable[[RoomStore, int], str]) -> int:
    """Run one change on the study's room and print what happened."""
    url, store = _store(args)
    with store:
        try:
            print(do(store, _room(store, args.study)))
        except sa.exc.SQLAlchemyError as exc:
            raise _unreachable(url, exc) from None
    return 0


def _join(args: Any) -> int:
    def do(store: RoomStore, room_id: int) -> str:
        who = store.join(room_id, args.name, _passcode(args), client=_client())
        return (
            f"{printable(who.name)} joined the room of {args.study!r}. Your token (shown once; keep it "
            f"secret, pass it as --token or ${ENV_TOKEN}):\n{who.token}"
        )

    return _act(args, do)


def _vote(args: Any) -> int:
    def do(store: RoomStore, room_id: int) -> str:
        mark = "reject" if args.reject else "abstain" if args.abstain else "approve"
        token = _token(args)
        changed = store.mark(room_id, token, args.trial, mark)
        who = store.whoami(room_id, token)
        return (
            f"{printable(who.name)} {'marks' if changed else 'had already marked'} trial {args.trial}: {mark} "
            f"(round {store.room(room_id).current_round})."
        )

    return _act(args, do)


def _rank(args: Any) -> int:
    ranking = [t.strip() for t in args.trials.split(",") if t.strip()]
    try:
        [parse_option(t) for t in ranking]
    except UserInputError:
        ranking = []
    if not ranking:
        raise UserInputError(
            f"--trials expects candidates separated by commas, best first (e.g. 5,3@2,8), got {args.trials!r}.",
            field="ranking",
        )

    def do(store: RoomStore, room_id: int) -> str:
        store.vote_ranked(room_id, _token(args), ranking)
        return "ranked " + " > ".join(ranking) + "."

    return _act(args, do)


def _propose(args: Any) -> int:
    def do(store: RoomStore, room_id: int) -> str:
        added = store.propose(room_id, _token(args), args.trial)
        return f"trial {args.trial} {'added to' if added else 'was already on'} the shortlist."

    return _act(args, do)


def _comment(args: Any) -> int:
    return _act(
        args, lambda store, room_id: f"comment {store.comment(room_id, _token(args), args.trial, args.text)} saved."
    )


def _lock(args: Any) -> int:
    def do(store: RoomStore, room_id: int) -> str:
        lock = store.lock(room_id, _token(args), args.trial, args.rationale)
        return f"decision locked: trial {lock.option} by {printable(lock.by)} at {fmt_time(lock.at)}."

    return _act(args, do)


def _unlock(args: Any) -> int:
    def do(store: RoomStore, room_id: int) -> str:
        store.unlock(room_id, _token(args), args.reason)
        return "decision unlocked; the reason is in the log."

    return _act(args, do)


def _hand_over(args: Any) -> int:
    def do(store: RoomStore, room_id: int) -> str:
        store.hand_over(room_id, _token(args), args.to)
        return f"{printable(args.to.strip())} is now the facilitator."

    return _act(args, do)


def _new_round(args: Any) -> int:
    return _act(args, lambda store, room_id: f"round {store.new_round(room_id, _token(args))} started.")


def _show(args: Any) -> int:
    url, store = _store(args, read_only=True)
    with store:
        _, view = decide.load(url, args.study, store)
        room_id = store.room_id(args.study)
        token = args.token or os.environ.get(ENV_TOKEN) or None
        try:
            room = room_data(store, room_id, token)
        except sa.exc.SQLAlchemyError as exc:
            raise _unreachable(url, exc) from None
    if args.json:
        print(json.dumps({"view": view.to_dict(), "room": room}, indent=2, default=str))
    else:
        print(show_text(view, room))
    return 0


def _name(sp: argparse.ArgumentParser, help_text: str | None = None) -> None:
    sp.add_argument("--name", required=True, help=help_text)


def _token_option(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--token", help=f"your room token (or ${ENV_TOKEN})")
    sp.add_argument("--name", help=argparse.SUPPRESS)  # accepted for old scripts; the token says who acts


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
    sp.add_argument("--token", help=f"your room token (or ${ENV_TOKEN}); reading the room needs one")
    sp = common("vote", "mark one shortlisted trial: approve (default), --reject or --abstain", _vote)
    _token_option(sp)
    sp.add_argument("--trial", required=True, help=_OPTION_HELP)
    choice = sp.add_mutually_exclusive_group()
    choice.add_argument("--reject", action="store_true")
    choice.add_argument("--abstain", action="store_true")
    sp = common("rank", "cast a ranked ballot (Borda), best first", _rank)
    _token_option(sp)
    sp.add_argument("--trials", required=True, help="comma-separated candidates (12 or 12@3), best first")
    sp = common("propose", "add a trial (or one of its operating points) to the shortlist", _propose)
    _token_option(sp)
    sp.add_argument("--trial", required=True, help=_OPTION_HELP)
    sp = common("comment", "comment on the decision or on one trial", _comment)
    _token_option(sp)
    sp.add_argument("--trial", help=_OPTION_HELP)
    sp.add_argument("--text", required=True)
    sp = common("lock", "record the final decision (facilitator only)", _lock)
    _token_option(sp)
    sp.add_argument("--trial", required=True, help=_OPTION_HELP)
    sp.add_argument("--rationale", required=True, help="why this trial (stored in the log)")
    sp = common("unlock", "reopen a locked decision, with a reason (facilitator only)", _unlock)
    _token_option(sp)
    sp.add_argument("--reason", required=True, help="why the decision is reopened (stored in the log)")
    sp = common("hand-over", "make another participant the facilitator (facilitator only)", _hand_over)
    _token_option(sp)
    sp.add_argument("--to", required=True, help="the participant's name")
    sp = common("new-round", "start a fresh vote round (facilitator only)", _new_round)
    _token_option(sp)


__all__ = ["register_cli"]
