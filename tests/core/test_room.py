"""The decision room on a real SQLite file and a real throwaway PostgreSQL database."""

from __future__ import annotations

import multiprocessing
import sys
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import func, select, text

from core.decide import mcdm
from core.decide import room as room_mod
from core.decide.room import RoomStore
from core.errors import UserInputError
from core.storage import schema, tables
from tests.core.pg import MARIADB, POSTGRES, throwaway_database

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


def _room(store: RoomStore, *, passcode: str | None = None, candidates=(3, 5, 8)) -> int:
    """A room run by Ana with Bob and Cy joined and a shortlist."""
    rid = store.open_room("study-a", "Ana", passcode)
    store.join(rid, "Bob", passcode)
    store.join(rid, "Cy", passcode)
    for t in candidates:
        store.propose(rid, t, "Ana")
    return rid


def _count(store: RoomStore, table) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


# -- rooms, people, passcodes ---------------------------------------------------------------------


def test_open_room_is_one_per_study_and_creates_sqlite_folder(sqlite_url):
    with RoomStore(sqlite_url) as s:
        rid = s.open_room("study-a", "  Ana ")
        assert s.open_room("study-a", "Bob") == rid  # re-opening returns the same room
        assert s.room_id("study-a") == rid and s.room_id("nope") is None
        info = s.room(rid)
        assert info.facilitator == "Ana" and info.current_round == 1 and not info.locked
        assert s.open_room("study-b", "Ana") != rid


def test_passcode_is_hashed_and_checked(store):
    rid = store.open_room("study-a", "Ana", "open sesame")
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
    rid = store.open_room("study-a", "Ana")
    with pytest.raises(UserInputError, match=message):
        store.join(rid, name)
    store.join(rid, "x" * 60)  # the limit itself is fine


def test_unknown_room_and_non_members_are_refused(store):
    with pytest.raises(UserInputError, match="no decision room number 42"):
        store.join(42, "Bob")
    rid = _room(store)
    with pytest.raises(UserInputError, match="'Zed' has not joined this room"):
        store.vote_approval(rid, "Zed", 3, True)
    with pytest.raises(UserInputError, match="Trial 4 is not on this room's shortlist"):
        store.vote_approval(rid, "Bob", 4, True)


# -- shortlist and votes ----------------------------------------------------------------------------


def test_propose_is_idempotent(store):
    rid = _room(store)
    assert store.propose(rid, 5, "Bob") is False
    assert store.propose(rid, 13, "Bob") is True
    assert store.candidates(rid) == [3, 5, 8, 13]
    with pytest.raises(UserInputError, match="trial number"):
        store.propose(rid, 2.5, "Bob")


def test_revote_replaces(any_store):
    s = any_store
    rid = _room(s)
    s.vote_approval(rid, "Bob", 3, True)
    s.vote_approval(rid, "Bob", 3, False)  # changes his mind
    s.vote_approval(rid, "Bob", 3, False)  # and clicks again
    s.vote_ranked(rid, "Bob", [8, 3, 5])
    s.vote_ranked(rid, "Bob", [5])  # new ballot replaces the whole old one
    assert _count(s, tables.approval_table) == 1
    assert _count(s, tables.ranked_table) == 1
    t = s.tally(rid)
    # 3 candidates: first place = 2 Borda points
    assert t.loc[3].tolist() == [0, 1, 0, 0]
    assert t.loc[5].tolist() == [0, 0, 2, 1]
    assert t.loc[8].tolist() == [0, 0, 0, 0]


def test_tally_hand_computed(store):
    rid = _room(store)
    store.join(rid, "Dee")
    # approvals: 3 <- Ana, Bob, Cy; 5 <- Ana (Dee rejects); 8 <- nobody (Cy rejects)
    for voter, trial, ok in [
        ("Ana", 3, True),
        ("Bob", 3, True),
        ("Cy", 3, True),
        ("Ana", 5, True),
        ("Dee", 5, False),
        ("Cy", 8, False),
    ]:
        store.vote_approval(rid, voter, trial, ok)
    # Borda with n = 3 (2, 1, 0 points):
    #   Ana [5, 3, 8]: 5+2 3+1      Bob [3, 8, 5]: 3+2 8+1      Cy [8, 3]: 8+2 3+1    Dee [5]: 5+2
    #   totals: 3 -> 1+2+1 = 4, 5 -> 2+0+2 = 4, 8 -> 0+1+2 = 3; first choices 5: 2, 3: 1, 8: 1
    store.vote_ranked(rid, "Ana", [5, 3, 8])
    store.vote_ranked(rid, "Bob", [3, 8, 5])
    store.vote_ranked(rid, "Cy", [8, 3])
    store.vote_ranked(rid, "Dee", [5])
    t = store.tally(rid)
    assert list(t.columns) == ["approvals", "rejections", "borda", "first_choices"]
    assert list(t.index) == [3, 5, 8]  # sorted by approvals, then Borda
    assert t.to_dict("index") == {
        3: {"approvals": 3, "rejections": 0, "borda": 4, "first_choices": 1},
        5: {"approvals": 1, "rejections": 1, "borda": 4, "first_choices": 2},
        8: {"approvals": 0, "rejections": 1, "borda": 3, "first_choices": 1},
    }
    votes = store.votes(rid)
    assert len(votes) == 6 + 3 + 3 + 2 + 1


def test_bad_ballots_are_refused(store):
    rid = _room(store)
    with pytest.raises(UserInputError, match="appears twice"):
        store.vote_ranked(rid, "Bob", [3, 3])
    with pytest.raises(UserInputError, match="empty"):
        store.vote_ranked(rid, "Bob", [])
    with pytest.raises(UserInputError, match="Trial 9 is not on this room's shortlist"):
        store.vote_ranked(rid, "Bob", [3, 9])
    with pytest.raises(UserInputError, match="yes"):
        store.vote_approval(rid, "Bob", 3, "yes")
    assert _count(store, tables.ranked_table) == 0


def test_rounds_keep_votes_apart(store):
    rid = _room(store)
    store.vote_approval(rid, "Bob", 3, True)
    with pytest.raises(UserInputError, match=r"Only the facilitator \(Ana\) can start a new round"):
        store.new_round(rid, "Bob")
    assert store.new_round(rid, "Ana") == 2
    assert store.room(rid).current_round == 2
    assert store.tally(rid)["approvals"].sum() == 0  # fresh round
    store.vote_approval(rid, "Bob", 3, False)
    assert store.tally(rid).loc[3, "rejections"] == 1
    assert store.tally(rid, round=1).loc[3, "approvals"] == 1  # history is kept


# -- comments ----------------------------------------------------------------------------------------


def test_comment_text_is_stored_verbatim_not_escaped(any_store):
    s = any_store
    rid = _room(s)
    nasty = "<script>alert('x')</script> & \"quotes\"\n  '); DROP TABLE room_comments;-- ünïcødé 🎯  "
    cid = s.comment(rid, "Bob", 3, nasty)
    s.comment(rid, "Cy", None, "x" * room_mod.TEXT_MAX)  # the limit itself is fine
    got = s.comments(rid)
    assert [c.id for c in got][0] == cid
    assert got[0].text == nasty and got[0].trial_number == 3 and got[0].author == "Bob"
    assert got[1].trial_number is None
    with pytest.raises(UserInputError, match="2,001 characters long; the limit is 2,000"):
        s.comment(rid, "Bob", None, "x" * 2001)
    with pytest.raises(UserInputError, match="comment is empty"):
        s.comment(rid, "Bob", None, "   \n")
    assert len(s.comments(rid)) == 2


# -- lock ------------------------------------------------------------------------------------------


def test_lock_semantics(any_store):
    s = any_store
    rid = _room(s)
    s.vote_approval(rid, "Bob", 3, True)
    with pytest.raises(UserInputError, match=r"Only the facilitator \(Ana\) can lock"):
        s.lock(rid, "Bob", 3, "I like it")
    with pytest.raises(UserInputError, match="rationale is empty"):
        s.lock(rid, "Ana", 3, "   ")
    with pytest.raises(UserInputError, match="Trial 4 is not on this room's shortlist"):
        s.lock(rid, "Ana", 4, "why not")
    lock = s.lock(rid, "Ana", 3, "Fast enough for Product, parity gap under 0.05.")
    assert lock.trial_number == 3 and lock.by == "Ana"
    assert s.room(rid).lock == lock
    refused = [
        lambda: s.vote_approval(rid, "Bob", 5, True),
        lambda: s.vote_approval(rid, "Bob", 3, False),
        lambda: s.vote_ranked(rid, "Cy", [5, 3]),
        lambda: s.comment(rid, "Cy", None, "wait!"),
        lambda: s.propose(rid, 13, "Cy"),
        lambda: s.new_round(rid, "Ana"),
        lambda: s.lock(rid, "Ana", 5, "changed my mind"),
        lambda: s.save_stakeholder(rid, "Product", ["latency_p95_ms"]),
    ]
    for attempt in refused:
        with pytest.raises(UserInputError, match="the decision is locked — trial 3 was chosen by Ana"):
            attempt()
    assert s.tally(rid).loc[3, "approvals"] == 1 and s.tally(rid)["rejections"].sum() == 0
    assert s.comments(rid) == [] and s.candidates(rid) == [3, 5, 8]
    s.join(rid, "Latecomer")  # reading the decision stays possible


# -- log ---------------------------------------------------------------------------------------------


def test_log_records_who_what_when_in_utc(store):
    rid = _room(store)
    store.vote_approval(rid, "Bob", 3, True)
    store.vote_ranked(rid, "Cy", [8, 3])
    store.comment(rid, "Cy", 8, "<b>cheap</b>")
    store.new_round(rid, "Ana")
    store.lock(rid, "Ana", 8, "cheapest that passes")
    events = store.log(rid)
    assert [e.kind for e in events] == [
        "open",
        "join",
        "join",
        "propose",
        "propose",
        "propose",
        "vote_approval",
        "vote_ranked",
        "comment",
        "new_round",
        "lock",
    ]
    assert [e.who for e in events][-5:] == ["Bob", "Cy", "Cy", "Ana", "Ana"]
    assert events[6].trial_number == 3 and events[6].detail == {"round": 1, "approve": True}
    assert events[7].detail == {"round": 1, "ranking": [8, 3]}
    assert events[-1].detail == {"rationale": "cheapest that passes"}
    stamps = [datetime.fromisoformat(e.at) for e in events]
    assert all(t.utcoffset() == timedelta(0) for t in stamps)
    assert stamps == sorted(stamps)


# -- stakeholders -------------------------------------------------------------------------------------


def test_stakeholders_upsert_and_feed_mcdm(store):
    rid = _room(store)
    store.save_stakeholder(rid, "Product", ["latency_p95_ms"], {"latency_p95_ms": 1})
    store.save_stakeholder(rid, "ML", ["roc_auc"], {}, {"roc_auc": 0.9})
    store.save_stakeholder(
        rid, "Product", ["latency_p95_ms", "roc_auc"], {"latency_p95_ms": 3, "roc_auc": 1}
    )  # replaces, keeps its place
    people = store.stakeholders(rid)
    assert [p.name for p in people] == ["Product", "ML"]
    assert people[0].objectives == ("latency_p95_ms", "roc_auc")
    assert people[0].weights == {"latency_p95_ms": 3.0, "roc_auc": 1.0}
    assert people[1].method == "chebyshev" and people[1].aspirations == {"roc_auc": 0.9}
    front = pd.DataFrame({"latency_p95_ms": [10.0, 40.0], "roc_auc": [0.7, 0.9]}, index=[3, 5])
    dirs = {"latency_p95_ms": "minimize", "roc_auc": "maximize"}
    assert mcdm.stakeholder_pick(front, dirs, people[1]).winner == 5
    with pytest.raises(UserInputError, match="Weight for 'roc_auc' is negative"):
        store.save_stakeholder(rid, "ML", ["roc_auc"], {"roc_auc": -1})
    with pytest.raises(UserInputError, match="outside 0…1 score; check the unit"):
        store.save_stakeholder(rid, "ML", ["roc_auc"], {}, {"roc_auc": 95})
    with pytest.raises(UserInputError, match="Unknown objective 'speed'"):
        store.save_stakeholder(rid, "ML", ["speed"])
    assert len(store.stakeholders(rid)) == 2


# -- schema version -----------------------------------------------------------------------------------


def _stamp(url: str, revision: str) -> None:
    """Record ``revision`` as the database's schema, as another installation would have."""
    with RoomStore(url) as s, s.engine.begin() as conn:
        conn.execute(text(f"UPDATE {schema.VERSION_TABLE} SET version_num = :r"), {"r": revision})


def _pre_alembic_room(url: str, version: int) -> None:
    """A database whose room tables were made before Alembic, with their own version table."""
    with RoomStore(url) as s, s.engine.begin() as conn:
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
    with RoomStore(sqlite_url) as s:
        rid = s.open_room("study-a", "Ana")
    _pre_alembic_room(sqlite_url, 1)
    with RoomStore(sqlite_url) as s:
        assert s.room_id("study-a") == rid  # recognised and stamped, nothing changed
    assert schema.state_at(sqlite_url).revision == schema.head()


def test_schema_version_older_points_to_the_upgrade_command(sqlite_url):
    _pre_alembic_room(sqlite_url, 0)
    with pytest.raises(UserInputError, match="older than this installation") as info:
        RoomStore(sqlite_url)
    assert "python -m core.storage.schema upgrade" in str(info.value)


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
    """One participant's burst: join, vote, change their mind, re-rank, comment.

    Expected per voter i: approval on 1 = True (after a False), on 2 = (i even);
    final ballot [1, 2, 3] if i % 4 == 0 else [2, 1]; one comment.
    """
    name = f"voter{i:02d}"
    store.join(rid, name)
    store.vote_approval(rid, name, 1, False)
    store.vote_approval(rid, name, 2, i % 2 == 0)
    store.vote_ranked(rid, name, [3, 1, 2])
    store.vote_approval(rid, name, 1, True)
    store.comment(rid, name, None, f"hello from {name} <i>{i}</i>")
    store.vote_ranked(rid, name, [1, 2, 3] if i % 4 == 0 else [2, 1])


def _expected(n: int) -> dict:
    full = sum(1 for i in range(n) if i % 4 == 0)
    part = n - full
    evens = sum(1 for i in range(n) if i % 2 == 0)
    return {
        # Borda n=3: [1,2,3] -> 1:2, 2:1 ; [2,1] -> 2:2, 1:1
        1: {"approvals": n, "rejections": 0, "borda": 2 * full + part, "first_choices": full},
        2: {"approvals": evens, "rejections": n - evens, "borda": full + 2 * part, "first_choices": part},
        3: {"approvals": 0, "rejections": 0, "borda": 0, "first_choices": 0},
        "approval_rows": 2 * n,
        "ranked_rows": 3 * full + 2 * part,
        "comments": n,
        # open + 3 proposals + per voter: join, 3 approvals, 2 ballots, 1 comment
        "events": 1 + len(CANDS) + 7 * n,
    }


def _check(store: RoomStore, rid: int, n: int) -> None:
    exp = _expected(n)
    tally = store.tally(rid)
    assert {t: tally.loc[t].to_dict() for t in CANDS} == {t: exp[t] for t in CANDS}
    assert _count(store, tables.approval_table) == exp["approval_rows"]
    assert _count(store, tables.ranked_table) == exp["ranked_rows"]
    comments = store.comments(rid)
    assert len(comments) == exp["comments"]
    assert len({c.text for c in comments}) == n  # none lost, none duplicated
    assert len(store.participants(rid)) == n + 1
    assert len(store.log(rid)) == exp["events"]


def _prepare(url: str) -> int:
    with RoomStore(url) as s:
        rid = s.open_room("busy-study", "Ana")
        for t in CANDS:
            s.propose(rid, t, "Ana")
        return rid


def test_twenty_threads_vote_and_comment_at_once(any_url):
    rid = _prepare(any_url)
    barrier = threading.Barrier(N_THREADS)
    with RoomStore(any_url) as store:

        def run(i: int) -> None:
            barrier.wait(timeout=30)
            _session(store, rid, i)

        with ThreadPoolExecutor(max_workers=N_THREADS) as pool:
            for future in [pool.submit(run, i) for i in range(N_THREADS)]:
                future.result()  # re-raises any error from the thread
        _check(store, rid, N_THREADS)


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
    rid = _prepare(any_url)  # its engine is disposed before forking
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
        _check(store, rid, N_PROCESSES * PER_PROCESS)


def test_concurrent_open_room_makes_one_room(any_url):
    RoomStore(any_url).close()  # tables exist first, as in the app
    barrier = threading.Barrier(8)
    with RoomStore(any_url) as store:

        def run(i: int) -> int:
            barrier.wait(timeout=30)
            return store.open_room("race", f"Person {i}")

        with ThreadPoolExecutor(max_workers=8) as pool:
            ids = {f.result() for f in [pool.submit(run, i) for i in range(8)]}
        assert len(ids) == 1
        assert _count(store, tables.rooms_table) == 1
        assert [e.kind for e in store.log(ids.pop())] == ["open"]


def test_room_tables_live_beside_an_optuna_study(any_url):
    """Same URL as the Optuna storage: both sets of tables coexist and neither breaks the other."""
    import optuna
    from sqlalchemy import inspect as sa_inspect

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(storage=any_url, study_name="shared", directions=["minimize", "maximize"])
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), t.suggest_float("y", 0, 1)), n_trials=3)
    with RoomStore(any_url) as s:
        rid = s.open_room("shared", "Ana")
        s.propose(rid, study.trials[0].number, "Ana")
        names = set(sa_inspect(s.engine).get_table_names())
    ours = {t for t in names if t.startswith("room_")}
    assert ours == {t.name for t in tables.ROOM_TABLES}
    assert "studies" in names and "trials" in names  # Optuna's, untouched
    again = optuna.load_study(storage=any_url, study_name="shared")
    assert len(again.trials) == 3
