"""Votes in rounds: approval (yes/no per candidate) and ranked ballots counted with Borda, each
round kept, so the log shows how opinion moved before the decision was locked."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import Connection, and_, delete, func, insert, select, update

from core.decide.room._base import StoreBase
from core.decide.room._sql import upsert
from core.decide.room._values import clean_name, clean_trial, now
from core.errors import UserInputError
from core.storage.tables import approval_table, ranked_table, rooms_table

_BALLOT_COLUMNS = ["kind", "voter", "trial_number", "approve", "position", "cast_at"]


def _ranking(ranking: Sequence[int]) -> list[int]:
    if isinstance(ranking, (str, bytes)) or not isinstance(ranking, Iterable):
        raise UserInputError("ranking: give a list of trial numbers, best first.", field="ranking")
    trials = [clean_trial(t, "ranking") for t in ranking]
    if not trials:
        raise UserInputError("ranking: the ballot is empty; rank at least one candidate.", field="ranking")
    if len(set(trials)) != len(trials):
        raise UserInputError("ranking: a trial appears twice; rank each candidate once.", field="ranking")
    return trials


def borda_table(candidates: list[int], approvals: Iterable[Any], ranked: Iterable[Any]) -> pd.DataFrame:
    """Approval counts and Borda points per candidate from ``(trial, approve|position, count)`` rows.

    With ``n`` candidates a ballot's first place earns ``n - 1`` points, the next ``n - 2``, and so
    on; unranked candidates earn 0. Sorted by approvals, then Borda, then proposal order.
    """
    n = len(candidates)
    table = pd.DataFrame(
        0,
        index=pd.Index(candidates, name="trial_number"),
        columns=["approvals", "rejections", "borda", "first_choices"],
    )
    for trial, approve, count in approvals:
        table.loc[int(trial), "approvals" if approve else "rejections"] += int(count)
    for trial, position, count in ranked:
        table.loc[int(trial), "borda"] += max(0, n - 1 - int(position)) * int(count)
        if int(position) == 0:
            table.loc[int(trial), "first_choices"] += int(count)
    table["_order"] = range(n)
    table = table.sort_values(["approvals", "borda", "_order"], ascending=[False, False, True], kind="mergesort")
    return table.drop(columns="_order").astype(int)


def _in_round(table: Any, room_id: int, rnd: int) -> Any:
    return and_(table.c.room_id == room_id, table.c.round == rnd)


def _ballot_lines(approvals: Iterable[Any], ranked: Iterable[Any]) -> list[dict[str, Any]]:
    lines = [
        dict(
            kind="approval",
            voter=x.voter,
            trial_number=x.trial_number,
            approve=bool(x.approve),
            position=None,
            cast_at=x.cast_at,
        )
        for x in approvals
    ]
    return lines + [
        dict(
            kind="ranked",
            voter=x.voter,
            trial_number=x.trial_number,
            approve=None,
            position=x.position,
            cast_at=x.cast_at,
        )
        for x in ranked
    ]


class Voting(StoreBase):
    """The voting half of :class:`RoomStore`."""

    def vote_approval(self, room_id: int, voter: str, trial_number: int, approve: bool) -> None:
        """Approve (or reject) one candidate in the current round; voting again replaces it."""
        trial = clean_trial(trial_number)
        person = clean_name(voter, "voter")
        if not isinstance(approve, bool):
            raise UserInputError("approve: answer yes (True) or no (False).", field="approve")

        def work(conn: Connection, room: Any) -> None:
            self._require_member(conn, room, person)
            self._require_candidate(conn, room_id, trial, "trial_number")
            values = dict(room_id=room_id, round=room.current_round, voter=person, trial_number=trial)
            upsert(conn, approval_table, values | {"approve": approve, "cast_at": now()}, list(values))
            self._event(conn, room_id, person, "vote_approval", trial, round=room.current_round, approve=approve)

        self._write(room_id, work)

    def vote_ranked(self, room_id: int, voter: str, ranking: Sequence[int]) -> None:
        """Rank candidates best-first for the Borda count; a new ballot replaces the old one.

        Partial ballots are allowed: unranked candidates get no points from this voter.
        """
        trials = _ranking(ranking)
        person = clean_name(voter, "voter")

        def work(conn: Connection, room: Any) -> None:
            self._require_member(conn, room, person)
            for candidate in trials:
                self._require_candidate(conn, room_id, candidate, "ranking")
            rnd = room.current_round
            r = ranked_table
            conn.execute(delete(r).where(and_(_in_round(r, room_id, rnd), r.c.voter == person)))
            cast_at = now()
            ballot = [
                dict(room_id=room_id, round=rnd, voter=person, trial_number=x, position=i, cast_at=cast_at)
                for i, x in enumerate(trials)
            ]
            conn.execute(insert(r), ballot)
            self._event(conn, room_id, person, "vote_ranked", None, round=rnd, ranking=trials)

        self._write(room_id, work)

    def new_round(self, room_id: int, by: str) -> int:
        """Start a fresh vote round (facilitator only); earlier rounds stay stored. Returns it."""
        person = clean_name(by, "by")

        def work(conn: Connection, room: Any) -> int:
            self._require_facilitator(room, person, "start a new round")
            new = int(room.current_round) + 1
            conn.execute(update(rooms_table).where(rooms_table.c.id == room_id).values(current_round=new))
            self._event(conn, room_id, person, "new_round", None, round=new)
            return new

        return self._write(room_id, work)

    def tally(self, room_id: int, round: int | None = None) -> pd.DataFrame:
        """Approval counts and Borda scores per candidate for a round (default: the current one).

        Rows are all candidates (zeros when nobody voted), sorted as :func:`borda_table` says.
        Columns: ``approvals``, ``rejections``, ``borda``, ``first_choices``.
        """

        def work(conn: Connection) -> tuple[list[int], Sequence[Any], Sequence[Any]]:
            room = self._room_row(conn, room_id)
            rnd = int(room.current_round) if round is None else int(round)
            a, r = approval_table, ranked_table
            approvals = conn.execute(
                select(a.c.trial_number, a.c.approve, func.count())
                .where(_in_round(a, room_id, rnd))
                .group_by(a.c.trial_number, a.c.approve)
            ).all()
            ranked = conn.execute(
                select(r.c.trial_number, r.c.position, func.count())
                .where(_in_round(r, room_id, rnd))
                .group_by(r.c.trial_number, r.c.position)
            ).all()
            return self._candidates(conn, room_id), approvals, ranked

        return borda_table(*self._read(work))

    def votes(self, room_id: int, round: int | None = None) -> pd.DataFrame:
        """Every ballot line of a round (default current): who voted what, for transparency.

        Columns: ``kind`` ("approval"/"ranked"), ``voter``, ``trial_number``, ``approve``
        (approval only), ``position`` (ranked only, 0 = first), ``cast_at``.
        """

        def work(conn: Connection) -> list[dict[str, Any]]:
            room = self._room_row(conn, room_id)
            rnd = int(room.current_round) if round is None else int(round)
            a, r = approval_table, ranked_table
            approvals = conn.execute(select(a).where(_in_round(a, room_id, rnd)).order_by(a.c.id)).all()
            ranked = conn.execute(select(r).where(_in_round(r, room_id, rnd)).order_by(r.c.voter, r.c.position)).all()
            return _ballot_lines(approvals, ranked)

        return pd.DataFrame(self._read(work), columns=_BALLOT_COLUMNS)
