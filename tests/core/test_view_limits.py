"""Limits as views: a limit revised after the search re-judges the stored trials, with no re-run,
for every reader (the reader's frame, ``tradeoff front``, Decide), and is refused when invalid."""

from __future__ import annotations

import json

import pytest

from core import cli, search
from core import storage as st
from core.decide import limits, view
from core.decide.room import RoomStore
from core.errors import UserInputError
from core.search import reader as study_reader
from tests.app.helpers import synthetic_study
from tests.conftest import make_small_spec

POINTS = [
    {"roc_auc": 0.80, "latency_p95_ms": 30.0},
    {"roc_auc": 0.75, "latency_p95_ms": 25.0},
    {"roc_auc": 0.70, "latency_p95_ms": 40.0},
]


@pytest.fixture
def blocked(small_csv):
    """A study whose latency limit (≤ 10 ms) no trial met: (url, name)."""
    url = st.resolve(None)
    synthetic_study(url, "blocked", small_csv, [dict(p) for p in POINTS], limits={"latency_p95_ms": 10})
    return url, "blocked"


def _feasible(url: str, name: str) -> list[int]:
    frame = study_reader.read_frame(url, name, limits.load_view_spec(url, name))
    return sorted(int(n) for n in frame.loc[frame["feasible"], "number"])


def test_a_relaxed_limit_makes_stored_trials_feasible_without_a_rerun(blocked):
    url, name = blocked
    before = search.open_study(url, name)
    n_trials, as_run = len(before.trials), before.user_attrs[search.ATTR_SPEC]
    assert _feasible(url, name) == []
    spec, words = limits.set_limits(url, name, {"latency_p95_ms": "35 ms"}, by="ana")
    assert spec.objectives[1].limit == 35.0
    assert words == "Latency p95 ≤ 10.00 ms → Latency p95 ≤ 35.00 ms"
    assert _feasible(url, name) == [0, 1]
    after = search.open_study(url, name)
    assert len(after.trials) == n_trials  # nothing re-ran
    assert after.user_attrs[search.ATTR_SPEC] == as_run  # the search's spec is kept as it ran
    record = limits.read(after.user_attrs)
    assert record is not None and record.revision == 1 and record.history[0]["by"] == "ana"
    # Decide reads the same limits
    _, decision = view.load(url, name)
    trials = {int(str(k).split("@")[0]) for k in decision.points.index}  # options: "0", "1@3" …
    assert trials <= {0, 1} and len(decision.points)
    # removing the limit: every finished trial is feasible
    limits.set_limits(url, name, {"latency_p95_ms": "none"})
    assert _feasible(url, name) == [0, 1, 2]
    assert limits.revision(search.open_study(url, name).user_attrs) == 2


def test_the_same_limits_again_change_nothing(blocked):
    url, name = blocked
    _, words = limits.set_limits(url, name, {"latency_p95_ms": 10})
    assert words == "" and limits.read(search.open_study(url, name).user_attrs) is None


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"latency_p95_ms": "20 kB"}, "latency_p95_ms"),
        ({"latency_p95_ms": "fast"}, "could not read 'fast'"),
        ({"roc_auc": 7}, "outside the possible range"),
        ({"dp_diff": 0.1}, "not an objective of this study"),
    ],
)
def test_an_invalid_limit_is_refused_and_nothing_is_written(blocked, changes, words):
    url, name = blocked
    with pytest.raises(UserInputError, match=words):
        limits.set_limits(url, name, changes)
    assert limits.read(search.open_study(url, name).user_attrs) is None


def test_a_study_without_view_limits_is_judged_by_its_spec(blocked):
    url, name = blocked
    study = search.open_study(url, name)
    assert limits.view_spec(search.load_spec(study), study.user_attrs) == search.load_spec(study)


def test_a_newer_limits_record_is_refused_clearly():
    with pytest.raises(UserInputError, match="format 99"):
        limits.read({limits.ATTR_VIEW_LIMITS: {"version": 99, "limits": {}}})


def test_the_cli_sets_shows_and_front_follows(blocked, capsys):
    url, name = blocked
    where = ("--storage", url, "--study", name)
    assert cli.main(["front", *where, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["trials"] == []
    assert cli.main(["limits", "set", *where, "latency_p95_ms=35"]) == 0
    out = capsys.readouterr().out
    assert "limits changed" in out and "Latency" in out
    assert cli.main(["front", *where, "--json"]) == 0
    assert sorted(t["number"] for t in json.loads(capsys.readouterr().out)["trials"]) == [0, 1]
    assert cli.main(["limits", "show", *where, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert {r["objective"]: r["limit"] for r in shown["limits"]}["latency_p95_ms"] == 35.0
    assert shown["history"][0]["by"] == "cli"


def test_the_cli_refuses_an_invalid_limit_in_one_line(blocked, capsys):
    url, name = blocked
    assert cli.main(["limits", "set", "--storage", url, "--study", name, "latency_p95_ms=20 kB"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "latency_p95_ms" in err
    assert cli.main(["limits", "set", "--storage", url, "--study", name, "latency_p95_ms"]) == 2
    assert "NAME=VALUE" in capsys.readouterr().err


def test_a_change_is_logged_in_the_room(blocked):
    url, name = blocked
    store = RoomStore(url)
    cred = store.open_room(name, "Ana")
    limits.set_limits(url, name, {"latency_p95_ms": 35}, log=limits.room_logger(store, name, cred.token))
    texts = [c.text for c in store.comments(cred.room_id, token=cred.token)]
    assert any("Changed hard limits" in t and "35.00 ms" in t for t in texts)
    assert limits.room_logger(store, name, None) is None  # no token: nothing to write the log with


def test_resaving_with_only_limits_changed_updates_the_view(blocked, small_csv):
    url, name = blocked
    relaxed = make_small_spec(small_csv, objectives=("roc_auc", "latency_p95_ms"), limits={"latency_p95_ms": 35})
    outcome = limits.save_study(relaxed, url, name)
    assert outcome.startswith("limits: ") and _feasible(url, name) == [0, 1]
    assert limits.save_study(relaxed, url, name) == "saved"
    other = make_small_spec(small_csv, objectives=("roc_auc", "latency_p95_ms"), seed=7)
    with pytest.raises(UserInputError, match="start a new study"):
        limits.save_study(other, url, name)


def test_the_last_change_reads_in_words_with_who_and_when(blocked):
    url, name = blocked
    assert limits.last_change(search.open_study(url, name).user_attrs) is None
    limits.set_limits(url, name, {"latency_p95_ms": 35}, by="ana")
    text = limits.last_change(search.open_study(url, name).user_attrs)
    assert text is not None and text.startswith("Latency p95 ≤ 10.00 ms → Latency p95 ≤ 35.00 ms by ana, ")
    assert text.endswith(" UTC")
