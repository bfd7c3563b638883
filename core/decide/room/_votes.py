"""Ballots in rounds: approve / reject / abstain per candidate (unmarked = no opinion) and an optional
ranking counted with Borda; each round kept, so the log shows how opinion moved before the lock.
A candidate is an option: a trial's own rule (``"12"``) or one of its operating points (``"12@3"``).

A ballot says only what its voter did: nothing is filled in for candidates they left unmarked, and
casting the same ballot twice (a double click, a retried request) changes nothing and logs nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import Connection, and_, delete, func, insert, select

from core.decide.room._base import Option, StoreBase
from core.decide.room._values import Comment, Member, clean_option, key_of, now
from core.errors import UserInputError
from core.storage.tables import MARKS, approval_table, comments_table, ranked_table

_BALLOT_COLUMNS = ["kind", "voter", "trial_number", "point", "option", "mark", "approve", "position", "cast_at"]
Key = int | str  # a trial number or an option key ("12", "12@3")


def _ranking(ranking: Sequence[Key]) -> list[Option]:
    if isinstance(ranking, (str, bytes)) or not isinstance(ranking, Iterable):
        raise UserInputError("ranking: give a list of candidates (12 or 12@3), best first.", field="ranking")
    trials = [clean_option(t, "ranking") for t in ranking]
    if not trials:
        raise UserInputError("ranking: the ballot is empty; rank at least one candidate.", field="ranking")
    _once(trials, "ranking")
    return trials


def _once(options: Sequence[Option], field: str) -> None:
    if len(set(options)) != len(options):
        raise UserInputError(f"{field}: a candidate appears twice; name each candidate once.", field=field)


def borda_table(candidates: Sequence[Key], approvals: Iterable[Any], ranked: Iterable[Any]) -> pd.DataFrame:
    """Marks and Borda points per candidate (option key) from ``(key, mark|position, count)`` rows.

    With ``n`` candidates a ballot's first place earns ``n - 1`` points, the next ``n - 2``, and so
    on; unranked candidates earn 0. Sorted by approvals, then Borda, then proposal order.
    """
    n = len(candidates)
    table = pd.DataFrame(
        0,
        index=pd.Index(list(candidates), name="option"),
        columns=["approvals", "rejections", "abstentions", "borda", "first_choices"],
    )
    column = {"approve": "approvals", "reject": "rejections", "abstain": "abstentions"}
    for key, mark, count in approvals:
        if key in table.index:
            table.loc[key, column[str(mark)]] += int(count)
    for key, position, count in ranked:
        if key not in table.index:
            continue
        table.loc[key, "borda"] += max(0, n - 1 - int(position)) * int(count)
        if int(position) == 0:
            table.loc[key, "first_choices"] += int(count)
    table["_order"] = range(n)
    table = table.sort_values(["approvals", "borda", "_order"], ascending=[False, False, True], kind="mergesort")
    return table.drop(columns="_order").astype(int)


def _marks(marks: Mapping[Key, str]) -> dict[Option, str]:
    if not isinstance(marks, Mapping):
        raise UserInputError("marks: give {candidate: 'approve' | 'reject' | 'abstain'}.", field="marks")
    out: dict[Option, str] = {}
    for trial, mark in marks.items():
        if mark not in MARKS:
            raise UserInputError(f"marks: {mark!r} for trial {trial}; say approve, reject or abstain.", field="marks")
        out[clean_option(trial, "marks")] = str(mark)
    _once(list(out), "marks")
    return out


def _in_round(table: Any, room_id: int, rnd: int) -> Any:
    return and_(table.c.room_id == room_id, table.c.round == rnd)


def _mine(table: Any, room_id: int, rnd: int, voter: str) -> Any:
    return and_(_in_round(table, room_id, rnd), table.c.voter == voter)


def _about(x: Any) -> dict[str, Any]:
    return dict(voter=x.voter, trial_number=x.trial_number, point=x.point, option=key_of(x.trial_number, x.point))


def _ballot_lines(approvals: Iterable[Any], ranked: Iterable[Any]) -> list[dict[str, Any]]:
    lines = [
        dict(kind="mark", **_about(x), mark=x.mark, approve=x.approve, position=None, cast_at=x.cast_at)
        for x in approvals
    ]
    return lines + [
        dict(kind="ranked", **_about(x), mark=None, approve=None, position=x.position, cast_at=x.cast_at)
        for x in ranked
    ]


class Voting(StoreBase):
    """The ballots of :class:`RoomStore`."""

    def _ballot(self, conn: Connection, room_id: int, rnd: int, voter: str) -> tuple[dict[Option, str], list[Option]]:
        a, r = approval_table, ranked_table
        rows = conn.execute(select(a.c.trial_number, a.c.point, a.c.mark).where(_mine(a, room_id, rnd, voter)))
        marks = {(int(t), p): m for t, p, m in rows}
        ranking = conn.execute(
            select(r.c.trial_number, r.c.point).where(_mine(r, room_id, rnd, voter)).order_by(r.c.position)
        )
        return marks, [(int(t), p) for t, p in ranking]

    def _stored(self, conn: Connection, room: Any, options: Sequence[Option], field: str) -> list[Option]:
        """Each option as stored (a curve's tuned point is the trial's own rule), each a candidate."""
        out = [self._require_candidate(conn, room, o, field) for o in options]
        _once(out, field)
        return out

    def _store_ballot(
        self, conn: Connection, room: Any, who: Member, marks: dict[Option, str], ranking: list[Option]
    ) -> bool:
        """Replace this voter's ballot in the current round; False (and no log line) when unchanged."""
        marks = dict(zip(self._stored(conn, room, list(marks), "marks"), marks.values(), strict=True))
        ranking = self._stored(conn, room, ranking, "ranking")
        rnd, room_id = int(room.current_round), int(room.id)
        if self._ballot(conn, room_id, rnd, who.name) == (marks, ranking):
            return False
        at = now()
        a, r = approval_table, ranked_table
        conn.execute(delete(a).where(_mine(a, room_id, rnd, who.name)))
        conn.execute(delete(r).where(_mine(r, room_id, rnd, who.name)))
        base = dict(room_id=room_id, round=rnd, voter=who.name, cast_at=at)
        if marks:
            rows = [
                base | dict(trial_number=t, point=p, mark=m, approve={"approve": True, "reject": False}.get(m))
                for (t, p), m in marks.items()
            ]
            conn.execute(insert(a), rows)
        if ranking:
            lines = [base | dict(trial_number=t, point=p, position=i) for i, (t, p) in enumerate(ranking)]
            conn.execute(insert(r), lines)
        detail = dict(
            round=rnd,
            marks={key_of(*o): m for o, m in marks.items()},
            ranking=[key_of(*o) for o in ranking],
        )
        self._event(conn, room_id, who.name, "ballot", None, None, **detail)
        return True

    def cast_ballot(
        self,
        room_id: int,
        token: str | None,
        marks: Mapping[Key, str],
        ranking: Sequence[Key] = (),
        *,
        key: str | None = None,
    ) -> bool:
        """Cast this round's ballot of the token's owner: a mark per candidate they have an opinion
        on, and optionally a ranking (best first). It replaces their earlier ballot of the round;
        the same ballot again changes nothing. Returns whether anything changed."""
        chosen = _marks(marks)
        order = _ranking(ranking) if len(ranking) else []

        def work(conn: Connection, room: Any, who: Member) -> bool:
            return self._store_ballot(conn, room, who, chosen, order)

        return self._write(room_id, token, work, key=key, decode=bool)

    def mark(self, room_id: int, token: str | None, trial_number: Key, mark: str, *, key: str | None = None) -> bool:
        """Set one candidate's mark on this round's ballot, keeping the rest of it."""
        chosen = _marks({trial_number: mark})

        def work(conn: Connection, room: Any, who: Member) -> bool:
            marks, ranking = self._ballot(conn, int(room.id), int(room.current_round), who.name)
            option = self._stored(conn, room, list(chosen), "marks")[0]
            return self._store_ballot(conn, room, who, marks | {option: mark}, ranking)

        return self._write(room_id, token, work, key=key, decode=bool)

    def vote_ranked(self, room_id: int, token: str | None, ranking: Sequence[Key], *, key: str | None = None) -> bool:
        """Rank candidates best-first for the Borda count, keeping the ballot's marks.

        Partial rankings are allowed: unranked candidates get no points from this voter.
        """
        order = _ranking(ranking)

        def work(conn: Connection, room: Any, who: Member) -> bool:
            marks, _ = self._ballot(conn, int(room.id), int(room.current_round), who.name)
            return self._store_ballot(conn, room, who, marks, order)

        return self._write(room_id, token, work, key=key, decode=bool)

    @staticmethod
    def _tally(conn: Connection, room: Any, round: int | None) -> pd.DataFrame:
        rnd = int(room.current_round) if round is None else int(round)
        a, r = approval_table, ranked_table
        marks = conn.execute(
            select(a.c.trial_number, a.c.point, a.c.mark, func.count())
            .where(_in_round(a, room.id, rnd))
            .group_by(a.c.trial_number, a.c.point, a.c.mark)
        ).all()
        ranked = conn.execute(
            select(r.c.trial_number, r.c.point, r.c.position, func.count())
            .where(_in_round(r, room.id, rnd))
            .group_by(r.c.trial_number, r.c.point, r.c.position)
        ).all()
        by_key = [[(key_of(t, p), x, n) for t, p, x, n in rows] for rows in (marks, ranked)]
        return borda_table(StoreBase._candidates(conn, room.id), *by_key)

    @staticmethod
    def _votes(conn: Connection, room: Any, round: int | None) -> pd.DataFrame:
        rnd = int(room.current_round) if round is None else int(round)
        a, r = approval_table, ranked_table
        marks = conn.execute(select(a).where(_in_round(a, room.id, rnd)).order_by(a.c.id)).all()
        ranked = conn.execute(select(r).where(_in_round(r, room.id, rnd)).order_by(r.c.voter, r.c.position)).all()
        return pd.DataFrame(_ballot_lines(marks, ranked), columns=_BALLOT_COLUMNS)

    def tally(self, room_id: int, round: int | None = None, *, token: str | None) -> pd.DataFrame:
        """Marks and Borda scores per candidate for a round (default: the current one), members only.

        Rows are all candidates by option key (zeros when nobody voted), sorted as :func:`borda_table` says.
        Columns: ``approvals``, ``rejections``, ``abstentions``, ``borda``, ``first_choices``.
        """
        return self._read_as(room_id, token, lambda conn, room: self._tally(conn, room, round))

    def votes(self, room_id: int, round: int | None = None, *, token: str | None) -> pd.DataFrame:
        """Every ballot line of a round (default current): who marked or ranked what (members only).

        Columns: ``kind`` ("mark"/"ranked"), ``voter``, ``trial_number``, ``point`` (None = the
        trial's own rule), ``option`` (the key), ``mark`` (approve/reject/
        abstain), ``approve`` (True/False/None), ``position`` (ranked only, 0 = first), ``cast_at``.
        """
        return self._read_as(room_id, token, lambda conn, room: self._votes(conn, room, round))

    def archive(self, room_id: int) -> dict[str, Any]:
        """Tally, ballots and comments of the current round for whoever holds the database (the
        report and export read the tables directly anyway); the page and CLI use the member reads."""

        def work(conn: Connection) -> dict[str, Any]:
            room = self._room_row(conn, room_id)
            c = comments_table
            said = conn.execute(select(c).where(c.c.room_id == room_id).order_by(c.c.id)).all()
            comments = [Comment(int(x.id), x.author, x.trial_number, x.text, x.created_at, x.point) for x in said]
            return dict(tally=self._tally(conn, room, None), votes=self._votes(conn, room, None), comments=comments)

        return self._read(work)
