"""The decision room on a real SQLite file and a real throwaway PostgreSQL database."""

from __future__ import annotations

import json
import multiprocessing
import shutil
import sys
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
import pytest
from sqlalchemy import select, text

from core.decide import mcdm
from core.decide import room as room_mod
from core.decide.room import RoomStore
from core.errors import UserInputError
from core.storage import schema, tables
from tests.core.pg import MARIADB, POSTGRES, throwaway_database
from tests.core.room_helpers import Room, count, make_room, make_study

BACKENDS = [
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("mariadb", marks=pytest.mark.mysql),
]


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'var' / 'tradeoff.db'}"


@pytest.fixture(params=BACKENDS)
def any_url(request, tmp_path):
    """The same test on a SQLite file and on fresh PostgreSQL and MariaDB databases."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tradeoff.db'}"
    else:
        with throwaway_database(server=POSTGRES if request.param == "postgres" else MARIADB) as url:
            yield url


@pytest.fixture
def store(sqlite_url):
    with RoomStore(sqlite_url) as s:
        yield s


@pytest.fixture
def any_store(any_url):
    with RoomStore(any_url) as s:
        yield s


def _room(store: RoomStore, *, passcode: str | None = None, candidates=(3, 5, 8)) -> Room:
    """A room run by Ana with Bob and Cy joined and a shortlist, on a real study of 14 trials."""
    return make_room(store, passcode=passcode, candidates=candidates)


_count = count


# -- rooms, people, passcodes ---------------------------------------------------------------------


def test_open_room_is_one_per_study_and_creates_sqlite_folder(sqlite_url):
    with RoomStore(sqlite_url) as s:
        cred = s.open_room("study-a", "  Ana ")
        rid = cred.room_id
        assert cred.name == "Ana" and cred.is_facilitator and cred.token.startswith("rt_")
        with pytest.raises(UserInputError, match="open already; join it"):
            s.open_room("study-a", "Bob")  # nobody becomes facilitator by opening it again
        assert s.room_id("study-a") == rid and s.room_id("nope") is None
        info = s.room(rid)
        assert info.facilitator == "Ana" and info.current_round == 1 and not info.locked
        assert s.open_room("study-b", "Ana").room_id != rid
        assert s.whoami(rid, cred.token).name == "Ana"


def test_passcode_is_hashed_and_checked(store):
    rid = store.open_room("study-a", "Ana", "open sesame").room_id
    with store.engine.connect() as conn:
        stored = conn.execute(select(tables.rooms_table.c.passcode_hash)).scalar()
    assert stored.startswith("pbkdf2_sha256$") and "open sesame" not in stored
    with pytest.raises(UserInputError, match="Wrong passcode") as info:
        store.join(rid, "Bob", "open sesam")
    assert info.value.field == "passcode"
    with pytest.raises(UserInputError, match="Wrong passcode"):
        store.join(rid, "Bob")
    person = store.join(rid, "  Bob  ", "open sesame")
    assert person.name == "Bob" and not person.is_facilitator
    assert [p.name for p in store.participants(rid)] == ["Ana", "Bob"]
    assert store.room(rid).has_passcode
    # the same passcode hashes differently each time (salted)
    assert room_mod.hash_passcode("open sesame") != room_mod.hash_passcode("open sesame")


@pytest.mark.parametrize(
    ("name", "message"),
    [("   ", "the name is empty"), ("x" * 61, "at most 60"), ("Bob\nAlice", "control"), (None, "type a name")],
)
def test_names_are_validated(store, name, message):
    rid = store.open_room("study-a", "Ana").room_id
    with pytest.raises(UserInputError, match=message):
        store.join(rid, name)
    store.join(rid, "x" * 60)  # the limit itself is fine


def test_unknown_room_and_non_members_are_refused(store):
    with pytest.raises(UserInputError, match="no decision room number 42"):
        store.join(42, "Bob")
    r = _room(store)
    with pytest.raises(UserInputError, match="token is not valid"):
        store.mark(r.id, "rt_999_nottherealsecret", 3, "approve")
    with pytest.raises(UserInputError, match="Trial 4 is not on this room's shortlist"):
        store.mark(r.id, r.bob, 4, "approve")


# -- shortlist and votes ----------------------------------------------------------------------------


def test_propose_is_idempotent(store):
    r = _room(store)
    assert store.propose(r.id, r.bob, 5) is False
    assert store.propose(r.id, r.bob, 13) is True
    assert store.candidates(r.id) == ["3", "5", "8", "13"]  # option keys
    with pytest.raises(UserInputError, match="trial number"):
        store.propose(r.id, r.bob, 2.5)


def test_revote_replaces(any_store):
    s = any_store
    r = _room(s)
    s.mark(r.id, r.bob, 3, "approve")
    s.mark(r.id, r.bob, 3, "reject")  # changes his mind
    s.mark(r.id, r.bob, 3, "reject")  # and clicks again
    s.vote_ranked(r.id, r.bob, [8, 3, 5])
    s.vote_ranked(r.id, r.bob, [5])  # a new ranking replaces the whole old one
    assert _count(s, tables.approval_table) == 1
    assert _count(s, tables.ranked_table) == 1
    t = s.tally(r.id, token=r.bob)
    # 3 candidates: first place = 2 Borda points; columns approvals, rejections, abstentions, borda, first
    assert t.loc["3"].tolist() == [0, 1, 0, 0, 0]
    assert t.loc["5"].tolist() == [0, 0, 0, 2, 1]
    assert t.loc["8"].tolist() == [0, 0, 0, 0, 0]


def test_tally_hand_computed(store):
    r = _room(store)
    dee = store.join(r.id, "Dee").token
    who = {"Ana": r.ana, "Bob": r.bob, "Cy": r.cy, "Dee": dee}
    # approvals: 3 <- Ana, Bob, Cy; 5 <- Ana (Dee rejects); 8 <- nobody (Cy rejects, Dee abstains)
    for voter, trial, mark in [
        ("Ana", 3, "approve"),
        ("Bob", 3, "approve"),
        ("Cy", 3, "approve"),
        ("Ana", 5, "approve"),
        ("Dee", 5, "reject"),
        ("Cy", 8, "reject"),
        ("Dee", 8, "abstain"),
    ]:
        store.mark(r.id, who[voter], trial, mark)
    # Borda with n = 3 (2, 1, 0 points):
    #   Ana [5, 3, 8]: 5+2 3+1      Bob [3, 8, 5]: 3+2 8+1      Cy [8, 3]: 8+2 3+1    Dee [5]: 5+2
    #   totals: 3 -> 1+2+1 = 4, 5 -> 2+0+2 = 4, 8 -> 0+1+2 = 3; first choices 5: 2, 3: 1, 8: 1
    store.vote_ranked(r.id, r.ana, [5, 3, 8])
    store.vote_ranked(r.id, r.bob, [3, 8, 5])
    store.vote_ranked(r.id, r.cy, [8, 3])
    store.vote_ranked(r.id, dee, [5])
    t = store.tally(r.id, token=r.ana)
    assert list(t.columns) == ["approvals", "rejections", "abstentions", "borda", "first_choices"]
    assert list(t.index) == ["3", "5", "8"]  # option keys, sorted by approvals, then Borda
    assert t.to_dict("index") == {
        "3": {"approvals": 3, "rejections": 0, "abstentions": 0, "borda": 4, "first_choices": 1},
        "5": {"approvals": 1, "rejections": 1, "abstentions": 0, "borda": 4, "first_choices": 2},
        "8": {"approvals": 0, "rejections": 1, "abstentions": 1, "borda": 3, "first_choices": 1},
    }
    votes = store.votes(r.id, token=r.ana)
    assert len(votes) == 7 + 3 + 3 + 2 + 1


def test_bad_ballots_are_refused(store):
    r = _room(store)
    with pytest.raises(UserInputError, match="appears twice"):
        store.vote_ranked(r.id, r.bob, [3, 3])
    with pytest.raises(UserInputError, match="empty"):
        store.vote_ranked(r.id, r.bob, [])
    with pytest.raises(UserInputError, match="Trial 9 is not on this room's shortlist"):
        store.vote_ranked(r.id, r.bob, [3, 9])
    with pytest.raises(UserInputError, match="'yes' for trial 3; say approve, reject or abstain"):
        store.mark(r.id, r.bob, 3, "yes")
    assert _count(store, tables.ranked_table) == 0


def test_rounds_keep_votes_apart(store):
    r = _room(store)
    store.mark(r.id, r.bob, 3, "approve")
    with pytest.raises(UserInputError, match=r"Only the facilitator \(Ana\) can start a new round"):
        store.new_round(r.id, r.bob)
    assert store.new_round(r.id, r.ana) == 2
    assert store.room(r.id).current_round == 2
    assert store.tally(r.id, token=r.ana)["approvals"].sum() == 0  # fresh round
    store.mark(r.id, r.bob, 3, "reject")
    assert store.tally(r.id, token=r.ana).loc["3", "rejections"] == 1
    assert store.tally(r.id, round=1, token=r.ana).loc["3", "approvals"] == 1  # history is kept


# -- comments ----------------------------------------------------------------------------------------


def test_comment_text_is_stored_verbatim_not_escaped(any_store):
    s = any_store
    r = _room(s)
    nasty = "<script>alert('x')</script> & \"quotes\"\n  '); DROP TABLE room_comments;-- ünïcødé 🎯  "
    cid = s.comment(r.id, r.bob, 3, nasty)
    s.comment(r.id, r.cy, None, "x" * room_mod.TEXT_MAX)  # the limit itself is fine
    got = s.comments(r.id, token=r.cy)
    assert [c.id for c in got][0] == cid
    assert got[0].text == nasty and got[0].trial_number == 3 and got[0].author == "Bob"
    assert got[1].trial_number is None
    with pytest.raises(UserInputError, match="2,001 characters long; the limit is 2,000"):
        s.comment(r.id, r.bob, None, "x" * 2001)
    with pytest.raises(UserInputError, match="comment is empty"):
        s.comment(r.id, r.bob, None, "   \n")
    assert len(s.comments(r.id, token=r.bob)) == 2


# -- lock ------------------------------------------------------------------------------------------


def test_lock_semantics(any_store):
    s = any_store
    r = _room(s)
    s.mark(r.id, r.bob, 3, "approve")
    with pytest.raises(UserInputError, match=r"Only the facilitator \(Ana\) can lock"):
        s.lock(r.id, r.bob, 3, "I like it")
    with pytest.raises(UserInputError, match="rationale is empty"):
        s.lock(r.id, r.ana, 3, "   ")
    with pytest.raises(UserInputError, match="Trial 4 is not on this room's shortlist"):
        s.lock(r.id, r.ana, 4, "why not")
    lock = s.lock(r.id, r.ana, 3, "Fast enough for Product, parity gap under 0.05.")
    assert lock.trial_number == 3 and lock.by == "Ana"
    assert s.room(r.id).lock == lock
    refused = [
        lambda: s.mark(r.id, r.bob, 5, "approve"),
        lambda: s.mark(r.id, r.bob, 3, "reject"),
        lambda: s.vote_ranked(r.id, r.cy, [5, 3]),
        lambda: s.comment(r.id, r.cy, None, "wait!"),
        lambda: s.propose(r.id, r.cy, 13),
        lambda: s.new_round(r.id, r.ana),
        lambda: s.lock(r.id, r.ana, 5, "changed my mind"),
        lambda: s.save_stakeholder(r.id, r.ana, "Product", ["latency_p95_ms"]),
    ]
    for attempt in refused:
        with pytest.raises(UserInputError, match="the decision is locked — trial 3 was chosen by Ana"):
            attempt()
    tally = s.tally(r.id, token=r.bob)
    assert tally.loc["3", "approvals"] == 1 and tally["rejections"].sum() == 0
    assert s.comments(r.id, token=r.bob) == [] and s.candidates(r.id) == ["3", "5", "8"]
    s.join(r.id, "Latecomer")  # reading the decision stays possible


def test_unlock_reopens_with_a_reason_in_the_log(store):
    r = _room(store)
    store.lock(r.id, r.ana, 3, "first pick")
    with pytest.raises(UserInputError, match=r"Only the facilitator \(Ana\) can unlock"):
        store.unlock(r.id, r.bob, "I disagree")
    store.unlock(r.id, r.ana, "legal found a problem with trial 3")
    assert not store.room(r.id).locked
    assert store.lock(r.id, r.ana, 5, "second pick").trial_number == 5
    unlock = [e for e in store.log(r.id, token=r.bob) if e.kind == "unlock"]
    assert len(unlock) == 1 and unlock[0].trial_number == 3 and unlock[0].who == "Ana"
    assert unlock[0].detail == {"reason": "legal found a problem with trial 3", "locked_by": "Ana"}
    store.unlock(r.id, r.ana, "reopened once more")
    with pytest.raises(UserInputError, match="not locked; there is nothing to unlock"):
        store.unlock(r.id, r.ana, "again")


def test_hand_over_moves_the_role_with_the_person(store):
    r = _room(store)
    with pytest.raises(UserInputError, match="has not joined"):
        store.hand_over(r.id, r.ana, "Zed")
    store.hand_over(r.id, r.ana, "Bob")
    assert store.room(r.id).facilitator == "Bob"
    assert store.whoami(r.id, r.bob).is_facilitator and not store.whoami(r.id, r.ana).is_facilitator
    with pytest.raises(UserInputError, match=r"Only the facilitator \(Bob\) can start a new round"):
        store.new_round(r.id, r.ana)
    assert store.new_round(r.id, r.bob) == 2
    events = [e for e in store.log(r.id, token=r.cy) if e.kind == "hand_over"]
    assert [(e.who, e.detail) for e in events] == [("Ana", {"to": "Bob"})]


# -- log ---------------------------------------------------------------------------------------------


def test_log_records_who_what_when_in_utc(store):
    r = _room(store)
    store.mark(r.id, r.bob, 3, "approve")
    store.vote_ranked(r.id, r.cy, [8, 3])
    store.comment(r.id, r.cy, 8, "<b>cheap</b>")
    store.new_round(r.id, r.ana)
    store.lock(r.id, r.ana, 8, "cheapest that passes")
    events = store.log(r.id, token=r.bob)
    assert [e.kind for e in events] == [
        "open",
        "join",
        "join",
        "propose",
        "propose",
        "propose",
        "ballot",
        "ballot",
        "comment",
        "new_round",
        "lock",
    ]
    assert [e.who for e in events][-5:] == ["Bob", "Cy", "Cy", "Ana", "Ana"]
    assert events[6].detail == {"round": 1, "marks": {"3": "approve"}, "ranking": []}
    assert events[7].detail == {"round": 1, "marks": {}, "ranking": ["8", "3"]}
    assert events[-1].trial_number == 8 and events[-1].detail == {"rationale": "cheapest that passes"}
    stamps = [datetime.fromisoformat(e.at) for e in events]
    assert all(t.utcoffset() == timedelta(0) for t in stamps)
    assert stamps == sorted(stamps)


# -- stakeholders -------------------------------------------------------------------------------------


def test_stakeholders_upsert_and_feed_mcdm(store):
    r = _room(store)
    store.save_stakeholder(r.id, r.ana, "Product", ["latency_p95_ms"], {"latency_p95_ms": 1})
    store.save_stakeholder(r.id, r.ana, "ML", ["roc_auc"], {}, {"roc_auc": 0.9})
    store.save_stakeholder(
        r.id, r.ana, "Product", ["latency_p95_ms", "roc_auc"], {"latency_p95_ms": 3, "roc_auc": 1}
    )  # replaces, keeps its place
    people = store.stakeholders(r.id)
    assert [p.name for p in people] == ["Product", "ML"]
    assert people[0].objectives == ("latency_p95_ms", "roc_auc")
    assert people[0].weights == {"latency_p95_ms": 3.0, "roc_auc": 1.0}
    assert people[1].method == "chebyshev" and people[1].aspirations == {"roc_auc": 0.9}
    front = pd.DataFrame({"latency_p95_ms": [10.0, 40.0], "roc_auc": [0.7, 0.9]}, index=[3, 5])
    dirs = {"latency_p95_ms": "minimize", "roc_auc": "maximize"}
    assert mcdm.stakeholder_pick(front, dirs, people[1]).winner == 5
    with pytest.raises(UserInputError, match="Weight for 'roc_auc' is negative"):
        store.save_stakeholder(r.id, r.ana, "ML", ["roc_auc"], {"roc_auc": -1})
    with pytest.raises(UserInputError, match="outside 0…1 score; check the unit"):
        store.save_stakeholder(r.id, r.ana, "ML", ["roc_auc"], {}, {"roc_auc": 95})
    with pytest.raises(UserInputError, match="Unknown objective 'speed'"):
        store.save_stakeholder(r.id, r.ana, "ML", ["speed"])
    with pytest.raises(UserInputError, match="Only ML or the facilitator can edit ML's card"):
        store.save_stakeholder(r.id, r.bob, "ML", ["roc_auc"])
    with pytest.raises(UserInputError, match="Only the facilitator"):
        store.remove_stakeholder(r.id, r.bob, "ML")
    assert len(store.stakeholders(r.id)) == 2
    store.remove_stakeholder(r.id, r.ana, "ML")
    assert [p.name for p in store.stakeholders(r.id)] == ["Product"]


# -- schema version -----------------------------------------------------------------------------------


def _stamp(url: str, revision: str) -> None:
    """Record ``revision`` as the database's schema, as another installation would have."""
    with RoomStore(url) as s, s.engine.begin() as conn:
        conn.execute(text(f"UPDATE {schema.VERSION_TABLE} SET version_num = :r"), {"r": revision})


def _pre_alembic_room(url: str, version: int) -> None:
    """A database whose room tables were made before Alembic (the first revision's layout), with
    their own version table and one room of Ana's."""
    from alembic import command

    from core.storage import _schema, get_engine

    engine = get_engine(url)
    with engine.begin() as conn:
        command.upgrade(_schema.config(conn), schema.BASELINE)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO room_rooms (id, study_name, facilitator, current_round, created_at) "
                "VALUES (1, 'study-a', 'Ana', 1, '2026-01-01T00:00:00+00:00')"
            )
        )
        conn.execute(text("INSERT INTO room_participants (room_id, name, joined_at) VALUES (1, 'Ana', '2026-01-01')"))
        conn.execute(text(f"DROP TABLE {schema.VERSION_TABLE}"))
        conn.execute(
            text("CREATE TABLE room_schema_version (id INTEGER PRIMARY KEY, version INTEGER, updated_at TEXT)")
        )
        conn.execute(text("INSERT INTO room_schema_version VALUES (1, :v, '2026-01-01')"), {"v": version})


def test_schema_version_newer_is_refused_with_upgrade_hint(any_url):
    _stamp(any_url, "9999_from_a_newer_release")
    with pytest.raises(UserInputError, match="newer than this installation") as info:
        RoomStore(any_url)
    assert "pip install -U tradeoff-room" in str(info.value)
    assert info.value.field == "storage"


def test_a_room_made_before_alembic_opens_and_keeps_its_rooms(sqlite_url):
    _pre_alembic_room(sqlite_url, 1)
    with RoomStore(sqlite_url) as s:
        assert s.room_id("study-a") == 1  # recognised, brought to the newest revision, rows kept
        assert [p.name for p in s.participants(1)] == ["Ana"]
        assert [e.kind for e in s.log(1, token=None)] == []  # no token issued yet: readable as before
        ana = s.grant(1, "Ana")  # the database holder's way in (`python -m core.decide.room issue-token`)
        assert s.whoami(1, ana.token).is_facilitator
        with pytest.raises(UserInputError, match="needs your room token"):
            s.log(1, token=None)  # once tokens exist, reading needs one
    assert schema.state_at(sqlite_url).revision == schema.head()


def test_a_pre_alembic_version_without_an_upgrade_step_is_refused(sqlite_url):
    _pre_alembic_room(sqlite_url, 0)
    with pytest.raises(UserInputError, match="No upgrade step from Tradeoff Room schema version 0"):
        RoomStore(sqlite_url)


def test_upgrade_without_a_step_says_so(sqlite_url):
    _pre_alembic_room(sqlite_url, 0)
    with pytest.raises(UserInputError, match="No upgrade step"):
        schema.upgrade(sqlite_url)


def test_bad_url_is_a_user_error():
    with pytest.raises(UserInputError, match="not a database URL"):
        RoomStore("tradeoff.db")


# -- concurrency -------------------------------------------------------------------------------------

N_THREADS = 20
N_PROCESSES = 8
PER_PROCESS = 2
CANDS = (1, 2, 3)


def _session(store: RoomStore, rid: int, i: int) -> None:
    """One participant's burst with their own token: join, mark, change their mind, re-rank, comment.

    Expected per voter i: approve 1 (after a reject), on 2 approve if i is even else reject;
    final ranking [1, 2, 3] if i % 4 == 0 else [2, 1]; one comment.
    """
    name = f"voter{i:02d}"
    token = store.join(rid, name).token
    store.mark(rid, token, 1, "reject")
    store.mark(rid, token, 2, "approve" if i % 2 == 0 else "reject")
    store.vote_ranked(rid, token, [3, 1, 2])
    store.mark(rid, token, 1, "approve")
    store.comment(rid, token, None, f"hello from {name} <i>{i}</i>")
    store.vote_ranked(rid, token, [1, 2, 3] if i % 4 == 0 else [2, 1])


def _expected(n: int) -> dict:
    full = sum(1 for i in range(n) if i % 4 == 0)
    part = n - full
    evens = sum(1 for i in range(n) if i % 2 == 0)
    return {
        # Borda n=3: [1,2,3] -> 1:2, 2:1 ; [2,1] -> 2:2, 1:1
        1: {"approvals": n, "rejections": 0, "abstentions": 0, "borda": 2 * full + part, "first_choices": full},
        2: {
            "approvals": evens,
            "rejections": n - evens,
            "abstentions": 0,
            "borda": full + 2 * part,
            "first_choices": part,
        },
        3: {"approvals": 0, "rejections": 0, "abstentions": 0, "borda": 0, "first_choices": 0},
        "approval_rows": 2 * n,
        "ranked_rows": 3 * full + 2 * part,
        "comments": n,
        # open + 3 proposals + per voter: join, 5 changed ballots (3 marks, 2 rankings), 1 comment
        "events": 1 + len(CANDS) + 7 * n,
    }


def _check(store: RoomStore, rid: int, token: str, n: int) -> None:
    exp = _expected(n)
    tally = store.tally(rid, token=token)
    assert {t: tally.loc[str(t)].to_dict() for t in CANDS} == {t: exp[t] for t in CANDS}
    assert _count(store, tables.approval_table) == exp["approval_rows"]
    assert _count(store, tables.ranked_table) == exp["ranked_rows"]
    comments = store.comments(rid, token=token)
    assert len(comments) == exp["comments"]
    assert len({c.text for c in comments}) == n  # none lost, none duplicated
    assert len(store.participants(rid)) == n + 1
    assert len(store.log(rid, token=token)) == exp["events"]


def _prepare(url: str) -> tuple[int, str]:
    """The busy study's room, opened by Ana with the shortlist: (room id, Ana's token)."""
    make_study(url, "busy-study", n=4)
    with RoomStore(url) as s:
        ana = s.open_room("busy-study", "Ana")
        for t in CANDS:
            s.propose(ana.room_id, ana.token, t)
        return ana.room_id, ana.token


def test_twenty_threads_vote_and_comment_at_once(any_url):
    rid, ana = _prepare(any_url)
    barrier = threading.Barrier(N_THREADS)
    with RoomStore(any_url) as store:

        def run(i: int) -> None:
            barrier.wait(timeout=30)
            _session(store, rid, i)

        with ThreadPoolExecutor(max_workers=N_THREADS) as pool:
            for future in [pool.submit(run, i) for i in range(N_THREADS)]:
                future.result()  # re-raises any error from the thread
        _check(store, rid, ana, N_THREADS)


def _process_main(url: str, rid: int, first: int, barrier) -> None:
    """Child process: its own RoomStore (own engine and pool), like a second app server."""
    try:
        with RoomStore(url) as store:
            barrier.wait(timeout=60)
            for i in range(first, first + PER_PROCESS):
                _session(store, rid, i)
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        raise SystemExit(1) from None


def test_processes_vote_and_comment_at_once(any_url):
    rid, ana = _prepare(any_url)  # its engine is disposed before forking
    # fork: children start in milliseconds and need not re-import the test module
    ctx: Any = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    barrier = ctx.Barrier(N_PROCESSES)
    procs = [
        ctx.Process(target=_process_main, args=(any_url, rid, k * PER_PROCESS, barrier)) for k in range(N_PROCESSES)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0] * N_PROCESSES
    with RoomStore(any_url) as store:
        _check(store, rid, ana, N_PROCESSES * PER_PROCESS)


def test_concurrent_open_room_makes_one_room(any_url):
    RoomStore(any_url).close()  # tables exist first, as in the app
    barrier = threading.Barrier(8)
    with RoomStore(any_url) as store:

        def run(i: int) -> Any:
            barrier.wait(timeout=30)
            try:
                return store.open_room("race", f"Person {i}")
            except UserInputError as exc:
                return str(exc)

        with ThreadPoolExecutor(max_workers=8) as pool:
            results = [f.result() for f in [pool.submit(run, i) for i in range(8)]]
        winners = [r for r in results if not isinstance(r, str)]
        assert len(winners) == 1  # exactly one facilitator; the others are told to join
        assert all("open already" in r for r in results if isinstance(r, str))
        assert _count(store, tables.rooms_table) == 1
        assert [e.kind for e in store.log(winners[0].room_id, token=winners[0].token)] == ["open"]


def test_room_tables_live_beside_an_optuna_study(any_url):
    """Same URL as the Optuna storage: both sets of tables coexist and neither breaks the other."""
    import optuna
    from sqlalchemy import inspect as sa_inspect

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(storage=any_url, study_name="shared", directions=["minimize", "maximize"])
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), t.suggest_float("y", 0, 1)), n_trials=3)
    with RoomStore(any_url) as s:
        ana = s.open_room("shared", "Ana")
        assert s.propose(ana.room_id, ana.token, study.trials[0].number)
        names = set(sa_inspect(s.engine).get_table_names())
    ours = {t for t in names if t.startswith("room_")}
    assert ours == {t.name for t in tables.ROOM_TABLES}
    assert "studies" in names and "trials" in names  # Optuna's, untouched
    again = optuna.load_study(storage=any_url, study_name="shared")
    assert len(again.trials) == 3


# -- options: a trial and one of its operating points ---------------------------------------------


def _study_with_curves(url: str, name: str = "curves") -> None:
    """Trials 0…3 finished; 0 and 1 carry a stored curve of 4 points (tuned: point 2), 2 and 3 none
    (as trials searched before curves existed)."""
    curve = {"kind": "threshold", "threshold": [0.2, 0.4, 0.5, 0.7], "tuned": 2, "search": {}, "test": {}}
    storage = optuna.storages.RDBStorage(url)
    try:
        study = optuna.create_study(storage=storage, study_name=name)
        for i in range(4):
            attrs = {"tradeoff.curve": curve} if i < 2 else {}
            study.add_trial(optuna.trial.create_trial(value=float(i), user_attrs=attrs))
    finally:
        storage.engine.dispose()


def test_votes_comments_and_the_lock_carry_the_operating_point(any_url):
    _study_with_curves(any_url)
    with RoomStore(any_url) as s:
        ana = s.open_room("curves", "Ana")
        bob = s.join(ana.room_id, "Bob").token
        rid = ana.room_id
        assert s.propose(rid, ana.token, "1@3") is True
        assert s.propose(rid, ana.token, 1) is True  # the trial's own rule is another option
        assert s.propose(rid, ana.token, "1@2") is False  # point 2 is the tuned one: trial 1's own rule
        assert s.propose(rid, ana.token, "#1 @ 3") is False
        assert s.propose(rid, ana.token, "0@0") is True
        assert s.candidates(rid) == ["1@3", "1", "0@0"]
        with pytest.raises(UserInputError, match="trial 1 has no operating point 9; its points are 0 to 3"):
            s.propose(rid, ana.token, "1@9")
        with pytest.raises(UserInputError, match="trial 2 has one decision rule only"):
            s.propose(rid, ana.token, "2@1")
        with pytest.raises(UserInputError, match="is not an option"):
            s.propose(rid, ana.token, "1@x")
        with pytest.raises(UserInputError, match="Trial 0 is not on this room's shortlist"):
            s.mark(rid, bob, 0, "approve")  # 0@0 is listed, trial 0's own rule is not
        assert s.cast_ballot(rid, bob, {"1@3": "approve", 1: "reject"}, ["1@3", "0@0", "1"]) is True
        assert s.cast_ballot(rid, bob, {"1@3": "approve", "1@2": "reject"}, ["1@3", "0@0", "1"]) is False  # same
        with pytest.raises(UserInputError, match="appears twice"):
            s.vote_ranked(rid, bob, ["1", "1@2"])
        s.mark(rid, ana.token, "1@3", "approve")
        s.comment(rid, bob, "1@3", "same model, fairer cut")
        tally = s.tally(rid, token=ana.token)
        assert list(tally.index) == ["1@3", "0@0", "1"]
        assert tally.loc["1@3"].tolist() == [2, 0, 0, 2, 1] and tally.loc["1", "rejections"] == 1
        votes = s.votes(rid, token=ana.token)
        mine = votes[(votes["kind"] == "mark") & (votes["voter"] == "Bob")].set_index("option")
        assert mine.loc["1@3", "point"] == 3 and pd.isna(mine.loc["1", "point"])
        lock = s.lock(rid, ana.token, "1@3", "same model, fairer cut")
        assert (lock.trial_number, lock.point, lock.option) == (1, 3, "1@3")
    with RoomStore(any_url) as s:  # read back from the database by a new store
        room = s.room(rid)
        assert room.lock == lock
        [comment] = s.comments(rid, token=bob)
        assert (comment.trial_number, comment.point, comment.option) == (1, 3, "1@3")
        log = s.log(rid, token=bob)
        assert [(e.kind, e.option) for e in log if e.kind in ("lock", "comment")] == [
            ("comment", "1@3"),
            ("lock", "1@3"),
        ]
        ballot = next(e for e in log if e.kind == "ballot")
        assert ballot.detail["marks"] == {"1@3": "approve", "1": "reject"}
        assert ballot.detail["ranking"] == ["1@3", "0@0", "1"]
        with pytest.raises(UserInputError, match="the decision is locked — trial 1@3 was chosen by Ana"):
            s.mark(rid, bob, "1", "approve")
        data = room_mod.room_data(s, rid, bob)
        assert data["lock"]["option"] == "1@3" and data["candidates"] == ["1@3", 1, "0@0"]
        assert [row["trial"] for row in data["tally"]] == ["1@3", "0@0", 1]
        s.unlock(rid, ana.token, "rethink")
        assert s.room(rid).lock is None
        assert next(e for e in reversed(s.log(rid, token=bob)) if e.kind == "unlock").option == "1@3"


def test_an_old_room_still_opens_and_reads_the_same(tmp_path):
    legacy = Path(__file__).resolve().parents[1] / "fixtures" / "legacy"
    shutil.copy(legacy / "legacy.db", tmp_path / "legacy.db")
    then = json.loads((legacy / "room_show.json").read_text())["room"]
    with RoomStore(f"sqlite:///{tmp_path / 'legacy.db'}") as s:  # brings the tables to this revision
        rid = s.room_id("legacy")
        now = room_mod.room_data(s, rid)
        assert s.candidates(rid) == [str(t) for t in then["candidates"]]
        assert s.room(rid).lock.point is None and s.room(rid).lock.option == "0"
    # every field the old room wrote reads as it was written; options are new fields beside them
    assert now["candidates"] == then["candidates"]
    assert {k: v for k, v in now["lock"].items() if k in then["lock"]} == then["lock"]
    assert [{k: r[k] for k in then["tally"][0]} for r in now["tally"]] == then["tally"]
    assert [{k: c[k] for k in then["comments"][0]} for c in now["comments"]] == then["comments"]
    assert [{k: e[k] for k in then["log"][0]} for e in now["log"]] == then["log"]
    assert all(e["point"] is None for e in now["log"])
