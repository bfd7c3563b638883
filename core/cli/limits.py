"""``tradeoff limits show|set``: the room's hard limits of a study, revised after the search.

Setting a limit re-runs nothing: feasibility and the front (``tradeoff front``, Decide, Export, every
page) are re-judged from the metrics each trial stored (:mod:`core.decide.limits`).
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from core import storage as st
from core.cli._options import storage_option
from core.errors import UserInputError

ENV_TOKEN = "TRADEOFF_ROOM_TOKEN"


def _assignments(items: list[str]) -> dict[str, str]:
    """``["roc_auc=0.7", "latency_p95_ms=none"]`` → ``{"roc_auc": "0.7", "latency_p95_ms": "none"}``."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UserInputError(
                f"limits: expected NAME=VALUE (e.g. roc_auc=0.7, latency_p95_ms='20 ms', or NAME=none), got {item!r}.",
                field="limits",
            )
        out[name.strip()] = value.strip()
    return out


def _rows(spec: Any, frame: Any) -> list[dict[str, Any]]:
    from core.decide import front

    done = frame[frame["state"] == "COMPLETE"]
    blocked = dict(front.blocking_limits(done, spec.objectives))
    return [
        {"objective": o.name, "direction": o.direction, "limit": o.limit, "trials_ruled_out": blocked.get(o.name, 0)}
        for o in spec.objectives
    ]


def _show(args: argparse.Namespace) -> int:
    from core.decide import front
    from core.decide import limits as lim
    from core.search import reader as study_reader

    args.storage = st.resolve_existing(args.storage)  # reading never creates a database
    spec = lim.load_view_spec(args.storage, args.study)
    frame = study_reader.read_frame(args.storage, args.study, spec)
    view = lim.read(study_reader.study_attrs(args.storage, args.study))
    summary = front.limits_summary(frame, spec.objectives)
    if args.json:
        history = list(view.history) if view else []
        data = {"study": args.study, "limits": _rows(spec, frame), "summary": summary, "history": history}
        print(json.dumps(data, indent=2, default=str))
        return 0
    for row, o in zip(_rows(spec, frame), spec.objectives):
        print(f"{lim.limit_words(o)}  ({row['trials_ruled_out']} finished trial(s) ruled out)")
    print("hard limits: " + (summary or "no finished trial yet, or no hard limit."))
    if view is None:
        print("these are the limits the search ran with; none was changed since.")
    else:
        for entry in view.history:
            print(f"changed {entry.get('at', '')}{' by ' + entry['by'] if entry.get('by') else ''}: {entry['change']}")
    return 0


def _room_log(args: argparse.Namespace) -> Any:
    token = args.token or os.environ.get(ENV_TOKEN)
    if not token:
        return None
    from core import storage
    from core.decide import limits as lim
    from core.decide.room import RoomStore

    return lim.room_logger(RoomStore(storage.resolve(args.storage)), args.study, token)


def _set(args: argparse.Namespace) -> int:
    from core.decide import limits as lim

    changes = _assignments(args.assignments)
    _spec, words = lim.set_limits(args.storage, args.study, changes, by=args.by or "cli", log=_room_log(args))
    print(f"limits changed: {words}" if words else "limits unchanged.")
    return _show(argparse.Namespace(storage=args.storage, study=args.study, json=False)) if words else 0


def register_cli(sub: Any) -> None:
    """Add ``tradeoff limits show|set``."""
    p = sub.add_parser("limits", help="show or revise a study's hard limits (no re-run)")
    group = p.add_subparsers(dest="limits_command", required=True)
    sp = group.add_parser("show", help="the hard limits the room judges by, and what each rules out")
    storage_option(sp)
    sp.add_argument("--study", required=True)
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=_show)
    sp = group.add_parser("set", help="revise hard limits: NAME=VALUE (units allowed, 'none' removes one)")
    storage_option(sp)
    sp.add_argument("--study", required=True)
    sp.add_argument("assignments", nargs="+", metavar="NAME=VALUE")
    sp.add_argument("--by", help="who changes them (kept in the limits' history)")
    sp.add_argument("--token", help=f"your room token (or ${ENV_TOKEN}): also log the change in the room")
    sp.set_defaults(func=_set)


__all__ = ["register_cli"]
