"""``python -m core.decide.room upgrade URL`` (same as ``python -m core.storage.schema upgrade``) and
``python -m core.decide.room issue-token URL STUDY NAME``: for whoever holds the database, the way
to give a participant of a room opened before tokens existed (or a stuck room) a token."""

import sys

from core.decide.room._store import RoomStore
from core.storage.schema import main


def _issue(url: str, study: str, name: str) -> int:
    with RoomStore(url) as store:
        room_id = store.room_id(study)
        if room_id is None:
            print(f"error: no room for study {study!r}", file=sys.stderr)
            return 2
        print(store.grant(room_id, name).token)
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(_issue(*args[1:4]) if args[:1] == ["issue-token"] and len(args) == 4 else main(args))
