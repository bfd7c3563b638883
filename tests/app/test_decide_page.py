"""The Decide page (AppTest): empty storage, a whole meeting on a finished study, wrong passcode."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from core.decide import view as decide
from core.decide.room import RoomStore
from tests.core.test_decide import copy_study

PAGE = "../../pages/decide.py"
COMMENT = "<b>x</b> **y**"


@pytest.fixture
def study(finished_study, tmp_path, monkeypatch):
    url, name, spec = finished_study
    copy = copy_study(url, tmp_path / "study.db")
    monkeypatch.setenv("TRADEOFF_STORAGE", copy)
    return copy, name


def _page(name: str | None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    if name:
        at.query_params["study"] = name
    return at.run()


def _widget(elements, label: str):
    found = [w for w in elements if w.label == label]
    assert found, f"no widget {label!r} among {[w.label for w in elements]}"
    return found[0]


def _click(at: AppTest, label: str) -> AppTest:
    _widget(at.button, label).click()
    return at.run()


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _tally_figure(at: AppTest) -> dict:
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    tallies = [c for c in charts if "Votes" in json.dumps(c.get("layout", {}).get("title", ""))]
    assert tallies, "no tally chart on the page"
    return {trace["name"]: trace for trace in tallies[0]["data"]}


def test_empty_storage_says_what_to_do_first():
    at = _page(None)
    _ok(at)
    assert any("No study chosen yet" in i.value for i in at.info)
    at = _page("nope")
    _ok(at)
    assert any("There is no study named" in w.value for w in at.warning)


def test_a_meeting_open_join_vote_comment_lock(study):
    url, name = study
    alice = _page(name)
    _ok(alice)
    assert _widget(alice.button, "Open the decision room")
    _widget(alice.text_input, "Your name").set_value("Alice")
    _widget(alice.text_input, "Passcode (optional, 8+ characters, not only digits)").set_value("pass1234")
    _click(alice, "Open the decision room")
    _ok(alice)
    assert any("You are **Alice** (facilitator)" in m.value for m in alice.markdown)
    store = RoomStore(url)
    room_id = store.room_id(name)
    cands = store.candidates(room_id)
    assert cands and {s.name for s in store.stakeholders(room_id)}  # seeded
    # stakeholder cards and method winners are on the page
    assert any("would pick" in m.value for m in alice.markdown)
    assert any("TOPSIS" in m.value for m in alice.markdown)

    bob = _page(name)
    _widget(bob.text_input, "Your name").set_value("Bob")
    _widget(bob.text_input, "Passcode").set_value("wrong-one")
    _click(bob, "Join")
    _ok(bob)
    assert any("Wrong passcode" in e.value for e in bob.error)
    assert not any(b.label == "Cast my vote" for b in bob.button)
    _widget(bob.text_input, "Passcode").set_value("pass1234")
    _click(bob, "Join")
    _ok(bob)
    assert any("You are **Bob**" in m.value for m in bob.markdown)
    token = alice.session_state[f"decide_me:{name}"]
    assert store.whoami(room_id, token).is_facilitator

    bob.radio(key=f"mark{cands[0]}").set_value("approve")
    if len(cands) > 1:
        bob.radio(key=f"mark{cands[1]}").set_value("abstain")
    _click(bob, "Cast my vote")
    _ok(bob)
    _widget(bob.text_area, "Comment").set_value(COMMENT)
    _click(bob, "Post comment")
    _ok(bob)
    # Bob's vote is in the database and in Alice's tally; his comment shows literally
    tally = store.tally(room_id, token=token)
    assert tally.loc[cands[0], "approvals"] == 1 and tally["rejections"].sum() == 0
    alice.run()
    _ok(alice)
    bars = _tally_figure(alice)
    _, view = decide.load(url, name)
    first = view.label(cands[0])  # "#3 Logistic regression" or "#3 Logistic regression at threshold 0.41"
    assert bars["approve"]["y"][bars["approve"]["x"].index(first)] == 1
    assert sum(bars["reject"]["y"]) == 0  # unmarked candidates are no opinion, never a rejection
    assert tally["abstentions"].sum() == (1 if len(cands) > 1 else 0)
    assert COMMENT in [t.value for t in alice.text]
    assert not any("<b>" in m.value or "**y**" in m.value for m in alice.markdown)

    # Bob is no facilitator: no lock form; Alice must give a rationale
    assert not any(b.label == "Lock decision" for b in bob.button)
    _click(alice, "Lock decision")
    assert any("rationale" in e.value and "empty" in e.value for e in alice.error)
    assert store.room(room_id).lock is None
    _widget(alice.text_area, "Rationale (required, kept in the decision log)").set_value("Fair and <i>fast</i> enough")
    _click(alice, "Lock decision")
    _ok(alice)
    lock = store.room(room_id).lock
    assert lock is not None and lock.by == "Alice" and lock.rationale == "Fair and <i>fast</i> enough"
    assert any("Decision locked" in s.value for s in alice.success)
    assert "Fair and <i>fast</i> enough" in [t.value for t in alice.text]
    bob.run()
    assert not any(b.label == "Cast my vote" for b in bob.button)
    assert any("Decision locked" in s.value for s in bob.success)
    store.close()


def test_a_participant_edits_only_their_own_card(study):
    url, name = study
    alice = _page(name)
    _widget(alice.text_input, "Your name").set_value("Alice")
    _click(alice, "Open the decision room")
    bob = _page(name)
    _widget(bob.text_input, "Your name").set_value("Bob")
    _click(bob, "Join")
    assert not bob.get("number_input")  # Bob owns no card yet: nothing to edit
    _click(bob, "Add a stakeholder card for me")
    _ok(bob)
    store = RoomStore(url)
    room_id = store.room_id(name)
    people = store.stakeholders(room_id)
    i, objectives = len(people) - 1, people[-1].objectives
    assert people[-1].name == "Bob" and len(objectives) == 3
    # only Bob's own card has an editor in Bob's browser (the facilitator's has all of them)
    assert {w.key[1] for w in bob.number_input} == {str(i)}
    assert len({w.key[1] for w in alice.run().number_input}) == len(people)
    for o in objectives[1:]:
        bob.number_input(key=f"w{i}{o}").set_value(0.0)
    bob.number_input(key=f"a{i}{objectives[0]}").set_value(2.0)  # an AUC of 2 is a unit slip
    _widget(bob.button, "Save").click()
    bob.run()
    assert any("outside" in e.value for e in bob.error)
    bob.number_input(key=f"a{i}{objectives[0]}").set_value(None)
    _widget(bob.button, "Save").click()
    bob.run()
    _ok(bob)
    assert store.stakeholders(room_id)[-1].objectives == objectives[:1]
    assert any("**Bob** would pick" in m.value for m in bob.markdown)
    # only the facilitator starts a new vote round
    assert not any(b.label == "Start a new vote round" for b in bob.button)
    _click(alice, "Start a new vote round")
    _ok(alice)
    assert store.room(room_id).current_round == 2
    assert any(c.value.startswith("Tally \\(round 2") for c in alice.caption)
    store.close()


@pytest.fixture(scope="module")
def unpriced_study(tmp_path_factory, small_csv):
    """A real finished study with net value as an objective but no value column or matrix: its value
    is a ±1 utility, never money. (url, name)."""
    from core import search
    from core.spec import DataRef, Spec
    from tests.conftest import make_small_spec

    base = make_small_spec(small_csv, objectives=("roc_auc", "value_per_1k", "dp_diff"), trials=4)
    spec = Spec(**{**vars(base), "data": DataRef(path=str(small_csv), target="converted", sensitive=("age_band",))})
    url = f"sqlite:///{tmp_path_factory.mktemp('unpriced') / 'study.db'}"
    study = search.create_study(spec, url, "unpriced")
    search.run(study.study_name, url)
    return url, study.study_name


def _texts(at: AppTest) -> list[str]:
    """Every text a person reads on the page: markdown, captions, tables, chart text and hovers."""
    out = [e.value for kind in ("markdown", "caption", "text", "success", "info", "warning") for e in at.get(kind)]
    out += [str(e.value) for e in at.get("arrow_data_frame")]
    out += [c.proto.spec for c in at.get("plotly_chart")]
    return out


def test_no_euro_anywhere_when_the_team_gave_no_value(unpriced_study, tmp_path, monkeypatch):
    url, name = unpriced_study
    copy = copy_study(url, tmp_path / "study.db")
    monkeypatch.setenv("TRADEOFF_STORAGE", copy)
    spec, view = decide.load(copy, name)
    assert not spec.value_model.money and "value_per_1k" in view.objectives
    # the view's own texts: regret, method reasons, stakeholders' picks, the shortlist table
    said = [str(v) for v in view.regret.in_units.to_numpy().ravel()]
    said += [r.why for r in [*view.methods.values(), *view.picks.values()]]
    said += [view.shortlist_table().to_string()]
    assert not [t for t in said if "€" in t]
    assert any("utility units" in t for t in said)
    alice = _page(name)
    _widget(alice.text_input, "Your name").set_value("Alice")
    _click(alice, "Open the decision room")
    _ok(alice)
    texts = _texts(alice)
    assert texts and not [t for t in texts if "€" in t or "\\u20ac" in t]
    assert any("utility units" in t for t in texts)
