"""Who is who in the room (issue 17): every impersonation attempt is refused with a clear message,
ballots hold only what people marked, passcode guesses slow down, and a dead database is one line."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter

import pytest
from sqlalchemy import select

from core import cli, search
from core.decide import view as decide
from core.decide.room import RoomStore
from core.errors import UserInputError
from core.export import report
from core.storage import tables
from tests.core.room_helpers import count, make_room
from tests.core.test_decide import copy_study
from tests.core.test_report import decided  # noqa: F401  (a fixture: a real ReportData to render)

CODE = "open sesame"


@pytest.fixture
def store(tmp_path):
    with RoomStore(f"sqlite:///{tmp_path / 'room.db'}") as s:
        yield s


def test_the_facilitators_name_and_the_passcode_do_not_make_a_facilitator(store):
    r = make_room(store, passcode=CODE)
    with pytest.raises(UserInputError, match="'Ana' is already in this room"):
        store.join(r.id, "Ana", CODE)
    with pytest.raises(UserInputError, match="open already; join it"):
        store.open_room("study-a", "Ana", CODE)
    with pytest.raises(
        UserInputError, match=r"Only the facilitator \(Ana\) can lock the decision; your token is Bob's"
    ):
        store.lock(r.id, r.bob, 3, "mine now")
    assert store.room(r.id).lock is None and store.room(r.id).facilitator == "Ana"


def test_a_token_acts_only_as_its_owner(store):
    r = make_room(store)
    store.comment(r.id, r.bob, None, "written with Bob's token")
    assert [c.author for c in store.comments(r.id, token=r.cy)] == ["Bob"]  # never another name
    with pytest.raises(UserInputError, match="Only Cy or the facilitator can edit Cy's card; your token is Bob's"):
        store.save_stakeholder(r.id, r.bob, "Cy", ["roc_auc"])
    with pytest.raises(UserInputError, match=r"Only the facilitator \(Ana\) can start a new round"):
        store.new_round(r.id, r.bob)
    assert {e.who for e in store.log(r.id, token=r.ana) if e.kind == "comment"} == {"Bob"}


@pytest.mark.parametrize("token", ["", "hello", "rt_1_", "rt_x_abc", "rt_1_not-the-secret", "rt_999_abc"])
def test_a_forged_token_is_refused(store, token):
    r = make_room(store)
    with pytest.raises(UserInputError, match="token") as err:
        store.comment(r.id, token, None, "forged")
    assert err.value.field == "token"
    assert count(store, tables.comments_table) == 0


def test_an_expired_token_or_one_of_another_room_is_refused(store):
    r = make_room(store)
    old = store.grant(r.id, "Bob", ttl_s=-1)
    with pytest.raises(UserInputError, match="has expired; join the room again"):
        store.comment(r.id, old.token, None, "late")
    other = store.open_room("study-b", "Zoe")
    with pytest.raises(UserInputError, match="not valid .*for another room"):
        store.comment(r.id, other.token, None, "wrong room")
    with pytest.raises(UserInputError, match="needs your room token"):
        store.tally(r.id, token=None)  # reading needs membership too


@pytest.mark.parametrize(
    ("trial", "message"),
    [(999, "has no trial 999"), (14, "trial 14 of study 'study-a' is fail, not finished"), (2**63, "64-bit")],
)
def test_a_trial_that_is_not_a_finished_one_of_the_study_is_refused(store, trial, message):
    r = make_room(store)
    with pytest.raises(UserInputError, match=message):
        store.propose(r.id, r.ana, trial)
    with pytest.raises(UserInputError, match=message if trial != 2**63 else "64-bit"):
        store.lock(r.id, r.ana, trial, "a trial that is not one")
    assert store.room(r.id).lock is None


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Аna", "mixes Cyrillic and Latin"),
        ("ANA", "'Ana' is already in this room .looks the same."),
        ("Ana\u200b", "invisible"),
    ],
)
def test_a_look_alike_name_is_refused(store, name, message):
    r = make_room(store)
    with pytest.raises(UserInputError, match=message):
        store.join(r.id, name)
    assert len(store.participants(r.id)) == 3


def test_a_ballot_cast_twice_is_stored_once(store):
    r = make_room(store)
    assert store.cast_ballot(r.id, r.bob, {3: "approve"}, [3, 5]) is True
    assert store.cast_ballot(r.id, r.bob, {3: "approve"}, [3, 5]) is False  # the double click
    assert store.cast_ballot(r.id, r.cy, {5: "reject"}, key="click-1") is True
    assert store.cast_ballot(r.id, r.cy, {5: "abstain"}, key="click-1") is True  # a retry: first result
    assert count(store, tables.approval_table) == 2 and count(store, tables.ranked_table) == 2
    assert [e.who for e in store.log(r.id, token=r.ana) if e.kind == "ballot"] == ["Bob", "Cy"]
    assert store.tally(r.id, token=r.ana).loc["5", "rejections"] == 1


def test_an_unmarked_candidate_is_no_opinion_everywhere(store):
    r = make_room(store)
    store.cast_ballot(r.id, r.bob, {3: "approve"})
    tally = store.tally(r.id, token=r.ana)
    assert tally["rejections"].sum() == 0 and tally["abstentions"].sum() == 0
    assert tally.loc["3", "approvals"] == 1
    ballot = next(e for e in store.log(r.id, token=r.ana) if e.kind == "ballot")
    assert ballot.detail["marks"] == {"3": "approve"}
    line = decide.describe_event(ballot.kind, ballot.trial_number, ballot.detail)
    assert "approves trial 3" in line and "reject" not in line


def _md_votes(text: str) -> dict[int, dict[str, int]]:
    """The Votes table of decision.md, read by its header: {trial: {column: number}}."""
    section = text.split("\n## Votes\n", 1)[1].split("\n## ", 1)[0]
    rows = [
        [c.strip() for c in line.strip().strip("|").split("|")] for line in section.splitlines() if line.startswith("|")
    ]
    head, body = rows[0], rows[2:]  # rows[1] is the |---| line
    # the first cell names the option in words ("\\#0 Logistic regression"): its trial number
    return {_trial_no(r[0]): dict(zip(head[1:], map(int, r[1:]), strict=True)) for r in body}


def _trial_no(cell: str) -> int:
    found = re.search(r"#(\d+)", cell)
    assert found, cell
    return int(found.group(1))


def _log_marks(events: list) -> Counter:
    """(trial, mark) counts of the last ballot each voter cast, as the decision log says them."""
    last = {e.who: e.detail["marks"] for e in events if e.kind == "ballot"}
    return Counter((int(t), m) for marks in last.values() for t, m in marks.items())


def test_decision_md_shows_the_rejections_people_cast_and_no_others(decided, finished_study, tmp_path):  # noqa: F811
    data, _, _ = decided
    src, name, spec = finished_study
    url = copy_study(src, tmp_path / "study.db")
    a, b, c = [t.number for t in search.open_study(url, name).get_trials() if t.state.name == "COMPLETE"][:3]
    with RoomStore(url) as s:
        ana = s.open_room(name, "Ana")
        rid = ana.room_id
        bob, cy, dee = (s.join(rid, who).token for who in ("Bob", "Cy", "Dee"))
        for t in (a, b, c):
            s.propose(rid, ana.token, t)
        s.cast_ballot(rid, bob, {a: "approve", b: "reject"})  # no opinion on c
        s.cast_ballot(rid, cy, {a: "reject", c: "abstain"})  # no opinion on b
        s.cast_ballot(rid, dee, {a: "approve"})  # no opinion on b or c
        s.cast_ballot(rid, dee, {a: "approve"})  # the double click: nothing new
        tally, events = s.tally(rid, token=ana.token), s.log(rid, token=ana.token)  # Ana casts nothing
    summary = report.room_summary(url, name, spec, data.frame)
    text = report.decision_markdown(dataclasses.replace(data, room=summary))
    cast = {a: (2, 1, 0), b: (0, 1, 0), c: (0, 0, 1)}  # (approve, reject, abstain) as people marked
    md = _md_votes(text)
    assert {t: (r["Approvals"], r["Rejections"], r["Abstentions"]) for t, r in md.items()} == cast
    columns = ("approvals", "rejections", "abstentions")
    assert {t: tuple(int(tally.loc[str(t), k]) for k in columns) for t in cast} == cast
    marks = _log_marks(events)
    assert {t: (marks[(t, "approve")], marks[(t, "reject")], marks[(t, "abstain")]) for t in cast} == cast
    assert all(md[t]["Borda"] == tally.loc[str(t), "borda"] == 0 for t in cast)  # the columns line up
    lines = [decide.describe_event(e.kind, e.trial_number, e.detail) for e in events if e.kind == "ballot"]
    assert len(lines) == 3 and sum(line.count("rejects") for line in lines) == 2


def test_wrong_passcodes_back_off_and_are_logged_without_the_guess(store):
    r = make_room(store, passcode=CODE)
    for i in range(5):  # five free wrong tries per client, then a doubling wait
        with pytest.raises(UserInputError, match="Wrong passcode"):
            store.join(r.id, "Eve", f"guess-{i}xyz", client="web:1.2.3.4")
    with pytest.raises(UserInputError, match="too many wrong passcodes for this room; wait"):
        store.join(r.id, "Eve", CODE, client="web:1.2.3.4")  # even the right one waits
    assert store.join(r.id, "Dee", CODE, client="web:5.6.7.8").name == "Dee"  # another client is not slowed
    with store.engine.connect() as conn:
        rows = conn.execute(select(tables.attempts_table)).all()
    assert [x.outcome for x in rows].count("wrong") == 5
    assert not any("guess" in str(tuple(x)) for x in rows)


def test_a_cli_write_without_a_token_is_one_line(store, capsys, monkeypatch):
    monkeypatch.delenv("TRADEOFF_ROOM_TOKEN", raising=False)
    make_room(store)
    code = cli.main(["room", "comment", "--storage", store.url, "--study", "study-a", "--name", "Ana", "--text", "x"])
    err = capsys.readouterr().err
    assert code == 2 and "needs your room token" in err and err.count("\n") == 1
    assert count(store, tables.comments_table) == 0


ROOM_COMMANDS = [
    ["open", "--facilitator", "A"],
    ["join", "--name", "A"],
    ["show"],
    ["vote", "--trial", "1", "--token", "rt_1_x"],
    ["rank", "--trials", "1,2", "--token", "rt_1_x"],
    ["propose", "--trial", "1", "--token", "rt_1_x"],
    ["comment", "--text", "hi", "--token", "rt_1_x"],
    ["lock", "--trial", "1", "--rationale", "r", "--token", "rt_1_x"],
    ["unlock", "--reason", "r", "--token", "rt_1_x"],
    ["hand-over", "--to", "B", "--token", "rt_1_x"],
    ["new-round", "--token", "rt_1_x"],
]


@pytest.mark.parametrize("argv", ROOM_COMMANDS, ids=lambda a: a[0])
def test_an_unreachable_database_is_exit_2_and_one_line(argv, capsys):
    url = "postgresql+psycopg://someone:s3cret@127.0.0.1:9/nowhere"  # port 9: nothing listens
    code = cli.main(["room", argv[0], "--storage", url, "--study", "s", *argv[1:]])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error:") and err.count("\n") == 1, err
    assert "127.0.0.1:9" in err and "s3cret" not in err and "Traceback" not in err
