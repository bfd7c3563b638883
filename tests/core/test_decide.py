"""core.decide.view (the Decide page's data) on a real finished study, and the `tradeoff room` CLI."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from contextlib import closing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy.engine import make_url

from core import cli, search
from core import objectives as obj
from core.decide import mcdm
from core.decide import view as decide
from core.decide.room import RoomStore
from core.errors import UserInputError
from core.search import reader as study_reader
from core.spec import Objective


def copy_study(url: str, dest: Path) -> str:
    """Copy a SQLite study database with the backup API (a file copy could miss its WAL)."""
    with closing(sqlite3.connect(str(make_url(url).database))) as src, closing(sqlite3.connect(dest)) as dst:
        src.backup(dst)
    return f"sqlite:///{dest}"


@pytest.fixture
def study(finished_study, tmp_path):
    """A private copy of the finished study's database: room tables written here stay here."""
    url, name, spec = finished_study
    return copy_study(url, tmp_path / "study.db"), name, spec


@pytest.fixture
def frame(study):
    url, name, spec = study
    return study_reader.read_frame(url, name, spec)


def _dominates(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.all(a <= b) and np.any(a < b))


def test_default_stakeholders_group_objectives_by_owner(small_spec):
    spec = dataclasses.replace(
        small_spec,
        objectives=(
            Objective("roc_auc", owner="Data science", aspiration=0.9),
            Objective("latency_p95_ms", owner="Product"),
            Objective("dp_diff", owner="Data science"),
        ),
    )
    people = decide.default_stakeholders(spec)
    assert [p.name for p in people] == ["Data science", "Product"]
    assert people[0].objectives == ("roc_auc", "dp_diff")
    assert people[0].aspirations == {"roc_auc": 0.9} and people[0].method == "chebyshev"
    assert people[1].objectives == ("latency_p95_ms",) and people[1].method == "weighted_sum"


def test_view_on_a_finished_study_is_consistent_with_mcdm(study, frame):
    url, name, spec = study
    view = decide.build(spec, frame, study_name=name)
    names = spec.objective_names
    # the points are exactly the non-dominated feasible complete trials (checked pairwise here)
    pool = frame[(frame["state"] == "COMPLETE") & frame["feasible"]].set_index("number")[names]
    losses = pool.astype(float) * [obj.get(n).sign for n in names]
    expected = {
        t
        for t in losses.index
        if not any(_dominates(losses.loc[u].to_numpy(), losses.loc[t].to_numpy()) for u in losses.index if u != t)
    }
    # rows are options: without curves each trial is one, keyed by its number
    assert set(view.points.index) == {str(t) for t in expected} and len(expected) >= 1
    # the shortlist holds every stakeholder's pick and every method's winner, once each
    assert view.shortlist and len(set(view.shortlist)) == len(view.shortlist)
    for r in list(view.picks.values()) + list(view.methods.values()):
        assert r.winner in view.shortlist
        assert f"{r.winner}" in r.why
    assert set(view.methods) == set(decide.METHOD_LABELS)
    # regret by hand: the largest normalised loss over owned objectives versus the own pick
    norm = view.normalised
    for s in view.stakeholders:
        pick = view.regret.picks[s.name]
        assert pick == view.picks[s.name].winner
        for c in view.shortlist:
            gap = max(max(0.0, norm.at[c, o] - norm.at[pick, o]) for o in s.objectives)
            assert view.regret.normalised.at[c, s.name] == pytest.approx(gap)
            for o in s.objectives:
                loss = obj.get(o).sign * (view.points.at[c, o] - view.points.at[pick, o])
                assert view.regret.losses.loc[c, (s.name, o)] == pytest.approx(loss)
        assert view.regret.normalised.at[pick, s.name] == 0.0
    worst = view.regret.normalised.max(axis=1)
    assert worst[view.regret.compromise] == pytest.approx(worst.min())
    table = view.shortlist_table()
    assert list(table["option"]) == list(view.shortlist)
    assert table["compromise"].sum() == 1
    summary = json.loads(json.dumps(view.to_dict()))
    assert summary["compromise_option"] == view.regret.compromise
    assert summary["compromise"] == int(view.regret.compromise)  # the trial number, as old rooms wrote it


def test_room_proposals_come_first_and_off_front_ones_are_reported(study, frame):
    url, name, spec = study
    base = decide.build(spec, frame, study_name=name)
    dominated = [str(n) for n in frame["number"] if str(n) not in base.points.index]
    last = base.shortlist[-1]
    view = decide.build(spec, frame, proposed=[int(last)] + dominated[:1])  # numbers or keys
    assert view.shortlist[0] == last
    assert set(view.shortlist) == set(base.shortlist)
    assert view.off_front == tuple(dominated[:1])


def test_changed_weights_change_the_pick(study, frame):
    url, name, spec = study
    names = spec.objective_names
    view = decide.build(spec, frame)
    for target in names:
        solo = mcdm.Stakeholder("Solo", (target,))
        pick = decide.build(spec, frame, stakeholders=[solo]).picks["Solo"].winner
        best = view.points[target].idxmin() if obj.get(target).direction == "minimize" else view.points[target].idxmax()
        assert view.points.at[pick, target] == view.points.at[best, target]


def test_nothing_to_decide_says_why(study, frame):
    url, name, spec = study
    with pytest.raises(UserInputError, match="No finished trial yet"):
        decide.build(spec, frame.iloc[0:0])
    strict = dataclasses.replace(
        spec, objectives=tuple(Objective(o.name, limit=0.999 if o.name == "roc_auc" else None) for o in spec.objectives)
    )
    infeasible = frame.assign(feasible=False)
    with pytest.raises(UserInputError, match="hold every hard limit in search .* blocks most is ROC AUC"):
        decide.build(strict, infeasible)


def test_open_room_seeds_once_and_sync_proposes_new_picks(study):
    url, name, spec = study
    with RoomStore(url) as store:
        spec, view = decide.load(url, name, store)
        alice = decide.open_room(store, spec, view, "Alice", "pass1234")
        room_id = alice.room_id
        assert [s.name for s in store.stakeholders(room_id)] == [s.name for s in view.stakeholders]
        assert store.candidates(room_id) == list(view.shortlist)
        # a second "open" (another browser) is refused and changes nothing
        with pytest.raises(UserInputError, match="open already"):
            decide.open_room(store, spec, view, "Bob")
        assert store.room(room_id).facilitator == "Alice"
        # a new stakeholder whose pick is not listed yet gets it proposed, once
        bob = store.join(room_id, "Bob", "pass1234").token
        owned = spec.objective_names[:1]
        store.save_stakeholder(room_id, bob, "Bob", owned)
        _, view2 = decide.load(url, name, store)
        missing = [t for t in view2.shortlist if t not in store.candidates(room_id)]
        assert decide.sync_shortlist(store, room_id, view2, bob) == missing
        assert decide.sync_shortlist(store, room_id, view2, bob) == []
        room = store.room(room_id)
        assert decide.can_edit(room, "Bob", "Bob") and decide.can_edit(room, "Alice", "Bob")
        assert not decide.can_edit(room, "Bob", "Product") and not decide.can_edit(room, None, "Bob")
        store.lock(room_id, alice.token, view2.shortlist[0], "fast enough, fair enough")
        assert not decide.can_edit(store.room(room_id), "Alice", "Bob")
        assert decide.sync_shortlist(store, room_id, view2, bob) == []


def test_describe_event_reads_as_a_sentence():
    assert decide.describe_event("vote_approval", 5, {"approve": False, "round": 2}) == "rejects trial 5 (round 2)"
    assert decide.describe_event("vote_ranked", None, {"ranking": [3, 1], "round": 1}) == "ranks 3 > 1 (round 1)"
    assert decide.describe_event("lock", 4, {"rationale": "<b>ok</b>"}) == "locked the decision on trial 4: <b>ok</b>"
    assert decide.describe_event("open", None, {"passcode": True}) == "opened the room with a passcode"


def test_knee_on_a_concave_front_falls_back_to_the_ideal_point():
    # three extremes and a fourth point behind the plane through them: no trial lies beyond it
    pts = pd.DataFrame(
        {"a": [0.0, 1.0, 1.0, 0.9], "b": [1.0, 0.0, 1.0, 0.9], "c": [1.0, 1.0, 0.0, 0.9]}, index=[0, 1, 2, 3]
    )
    r = mcdm.knee(pts, dict.fromkeys("abc", "minimize"))
    # distances to the ideal: sqrt(2) for the extremes, sqrt(3 * 0.81) = 1.5588 for trial 3
    assert r.winner == 0 and r.better == "lower"
    assert r.scores[0] == pytest.approx(np.sqrt(2))
    assert "no well-defined knee" in r.why


# -- the CLI --------------------------------------------------------------------------------------


def _run(capsys, *argv):
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_room_cli_end_to_end(study, capsys):
    url, name, spec = study
    s = ["--storage", url, "--study", name]
    code, _, err = _run(capsys, "room", "show", *s, "--json")
    assert code == 0 and json.loads(_)["room"] is None
    code, out, _ = _run(capsys, "room", "open", *s, "--facilitator", "Alice", "--passcode", "pass1234")
    assert code == 0 and "opened room" in out
    alice = ["--token", out.strip().splitlines()[-1]]
    code, _, err = _run(capsys, "room", "join", *s, "--name", "Bob", "--passcode", "nope1234")
    assert code == 2 and err.startswith("error: Wrong passcode") and err.count("\n") == 1
    code, out, _ = _run(capsys, "room", "join", *s, "--name", "Bob", "--passcode", "pass1234")
    assert code == 0
    bob = ["--token", out.strip().splitlines()[-1]]
    code, _, err = _run(capsys, "room", "show", *s, "--json")
    assert code == 2 and "needs your room token" in err and err.count("\n") == 1
    data = json.loads(_run(capsys, "room", "show", *s, "--json", *bob)[1])
    first, second = data["room"]["candidates"][:2]
    assert _run(capsys, "room", "vote", *s, *bob, "--trial", str(first))[0] == 0
    assert _run(capsys, "room", "vote", *s, *alice, "--trial", str(second), "--reject")[0] == 0
    assert _run(capsys, "room", "rank", *s, *bob, "--trials", f"{second},{first}")[0] == 0
    code, _, err = _run(capsys, "room", "rank", *s, *bob, "--trials", "x,1")
    assert code == 2 and "--trials expects" in err
    assert _run(capsys, "room", "comment", *s, *bob, "--text", "<b>x</b> \x1b[31m")[0] == 0
    code, _, err = _run(capsys, "room", "lock", *s, *bob, "--trial", str(first), "--rationale", "mine")
    assert code == 2 and "Only the facilitator" in err
    assert _run(capsys, "room", "lock", *s, *alice, "--trial", str(first), "--rationale", "best compromise")[0] == 0
    code, _, err = _run(capsys, "room", "vote", *s, *bob, "--trial", str(first))
    assert code == 2 and "decision is locked" in err
    data = json.loads(_run(capsys, "room", "show", *s, "--json", *bob)[1])
    tally = {row["trial"]: row for row in data["room"]["tally"]}
    assert tally[first]["approvals"] == 1 and tally[second]["rejections"] == 1
    n = len(data["room"]["candidates"])
    assert tally[second]["borda"] == n - 1 and tally[first]["borda"] == n - 2
    assert data["room"]["lock"]["rationale"] == "best compromise"
    assert data["room"]["comments"][0]["text"] == "<b>x</b> \x1b[31m"
    code, out, _ = _run(capsys, "room", "show", *s, *alice)
    assert code == 0 and "<b>x</b> ?[31m" in out and "\x1b" not in out
    number = str(first).split("@")[0]  # the first candidate may be another operating point of a trial
    assert f"locked the decision on #{number} " in out and ": best compromise" in out


def test_room_cli_without_room_or_study(study, capsys):
    url, name, spec = study
    code, _, err = _run(capsys, "room", "vote", "--storage", url, "--study", name, "--name", "A", "--trial", "1")
    assert code == 2 and "No decision room for study" in err and "tradeoff room open" in err
    code, _, err = _run(capsys, "room", "open", "--storage", url, "--study", "nope", "--facilitator", "A")
    assert code == 2 and "No study named 'nope'" in err
    assert search.open_study(url, name)  # the real one is still there


# -- options: a trial and one of its operating points ---------------------------------------------


def test_a_winner_can_be_another_operating_point_than_the_tuned_one(study, frame):
    url, name, spec = study
    curves = study_reader.read_curves(url, name)
    assert curves, "the finished study stores each trial's curve of operating points"
    view = decide.build(spec, frame, study_name=name, curves=curves)
    own = decide.build(spec, frame, study_name=name)  # the same study, one rule per trial (no curves)
    assert all("@" not in k for k in own.points.index)
    # the parity gap is set by the threshold: some rule on a curve beats every trial's own rule on it,
    # so a stakeholder who cares only about parity must pick another operating point
    assert view.points["dp_diff"].min() < own.points["dp_diff"].min()
    legal = mcdm.Stakeholder("Legal", ("dp_diff",))
    view = decide.build(spec, frame, study_name=name, curves=curves, stakeholders=[legal])
    pick = view.picks["Legal"].winner
    assert "@" in pick and pick in view.shortlist
    number, point = (int(x) for x in pick.split("@"))
    assert point != curves[number]["tuned"]
    assert view.points.at[pick, "dp_diff"] == pytest.approx(curves[number]["search"]["dp_diff"][point])
    # named in plain words everywhere: the family's label and the threshold, never "12@3" or a code
    label = view.label(pick)
    assert label.startswith(f"#{number} ") and f"at threshold {curves[number]['threshold'][point]:.2f}" in label
    assert label in view.picks["Legal"].why and pick not in view.picks["Legal"].why
    assert view.shortlist_table().set_index("option").at[pick, "candidate"] == label
    entry = next(e for e in view.to_dict()["shortlist"] if e["option"] == pick)
    assert entry["trial"] == number and entry["label"] == label


def test_the_room_votes_and_locks_an_operating_point_of_a_real_study(study):
    url, name, spec = study
    curves = study_reader.read_curves(url, name)
    number, curve = next(iter(curves.items()))
    with RoomStore(url) as store:
        spec, view = decide.load(url, name, store)
        ana = decide.open_room(store, spec, view, "Ana")
        listed = set(store.candidates(ana.room_id))  # opening shortlists the front's options
        other = next(i for i in range(len(curve["threshold"])) if i != curve["tuned"] and f"{number}@{i}" not in listed)
        key = f"{number}@{other}"
        assert store.propose(ana.room_id, ana.token, key) is True
        assert store.propose(ana.room_id, ana.token, key) is False  # already there
        # the tuned point is the trial's own rule: one option, whichever way it is written
        store.propose(ana.room_id, ana.token, number)
        assert store.propose(ana.room_id, ana.token, f"{number}@{curve['tuned']}") is False
        store.mark(ana.room_id, ana.token, key, "approve")
        store.lock(ana.room_id, ana.token, key, "the fairer rule of the same model")
        _, view = decide.load(url, name, store)
        assert key in view.shortlist or key in view.off_front
        text = show(store, view, ana)
    assert f"#{number} " in text and f"at threshold {curve['threshold'][other]:.2f}" in text
    assert "locked by Ana" in text


def show(store, view, cred) -> str:
    from core.decide.room import room_data, show_text

    return show_text(view, room_data(store, cred.room_id, cred.token))
