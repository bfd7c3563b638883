"""Plain-data helpers behind the pages: explorer tables, search status, UI text helpers."""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app import explorer_view as ev
from app import search_view as sv
from app import ui
from core.decide import front
from core.spec import Objective, ValueModel


@pytest.fixture
def points() -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "number": [0, 1, 2, 3],
            "state": ["COMPLETE"] * 4,
            "family": ["logreg", "hist_gb", "knn", "voting"],
            "family_class": ["simple", "complex", "simple", "ensemble"],
            "threshold": [0.3, 0.4, 0.5, 0.6],
            "roc_auc": [0.80, 0.70, 0.60, 0.90],
            "latency_p95_ms": [10.0, 5.0, 12.0, 30.0],
            "cv_std.roc_auc": [0.01, 0.02, 0.03, 0.04],
            "test.roc_auc": [0.79, 0.69, 0.61, 0.88],
        }
    )
    return front.annotate(frame, ["roc_auc", "latency_p95_ms"], [Objective("latency_p95_ms", limit=20)])


def test_front_table_sorted_best_first_with_the_knee(points):
    table = ev.front_table(points, ["roc_auc", "latency_p95_ms"], knee_number=1, sort_by="latency_p95_ms")
    assert table["#"].tolist() == [1, 0]  # #3 breaks the limit, #2 is dominated
    assert table["knee"].tolist() == ["★", ""]
    assert list(table.columns) == [
        "#",
        "option",
        "rule",
        "family",
        "class",
        "ROC AUC [score]",
        "Latency p95 [ms]",
        "knee",
    ]
    assert table["rule"].tolist() == ["threshold 0.40", "threshold 0.30"]
    by_auc = ev.front_table(points, ["roc_auc", "latency_p95_ms"], None, sort_by="roc_auc")
    assert by_auc["#"].tolist() == [0, 1]


@pytest.fixture
def curved() -> pd.DataFrame:
    """#0 one point; #1 a curve of three rules, its own rule point 1."""

    frame = pd.DataFrame(
        {
            "number": [0, 1],
            "state": ["COMPLETE"] * 2,
            "family": ["logreg", "hist_gb"],
            "family_class": ["simple", "complex"],
            "threshold": [0.5, 0.4],
            "accuracy": [0.70, 0.80],
            "dp_diff": [0.10, 0.20],
        }
    )
    curve = {
        "kind": "threshold",
        "threshold": [0.2, 0.4, 0.7],
        "tuned": 1,
        "search": {"accuracy": [0.75, 0.80, 0.72], "dp_diff": [0.30, 0.20, 0.05]},
        "test": {"accuracy": [0.74, 0.79, 0.71], "dp_diff": [0.31, 0.21, 0.06]},
    }
    return ev.option_points(frame, {1: curve}, ["accuracy", "dp_diff"], [])


def test_clicks_and_addresses_name_options(curved):
    click = {"selection": {"points": [{"customdata": [1, 2]}]}}
    assert ev.clicked_option(click, curved) == "1@2"
    assert ev.clicked_option({"selection": {"points": [{"customdata": {"0": 1.0, "1": 1.0}}]}}, curved) == "1"
    assert ev.clicked_option({"selection": {"points": [{"customdata": [0, -1]}]}}, curved) == "0"
    assert ev.clicked_option({"selection": {"points": [{"customdata": [7]}]}}, curved) is None  # an old click
    assert ev.parse_key("1@2", curved) == "1@2" and ev.parse_key("#1", curved) == "1"  # an old address
    assert ev.parse_key("1@1", curved) == "1"  # the own rule's point reads as the trial's key
    assert ev.parse_key("9", curved) is None and ev.parse_key("x@y", curved) is None
    knee = ev.knee(curved, ["accuracy", "dp_diff"])
    keys = ev.trial_options(curved, knee, "1@0")
    assert keys[0] == knee and set(keys) == set(curved.loc[curved["on_front"], "option"]) | {"1@0"}
    row = curved[curved["option"] == "1@2"].iloc[0]
    assert ev.rule_text(row, {1: {"threshold": [0.2, 0.4, 0.7], "tuned": 1}}) == (
        "threshold 0.70 (another point of the trial's curve), chosen on search data"
    )
    own = curved[curved["option"] == "0"].iloc[0]
    assert ev.rule_text(own, {}) == "threshold 0.50 (the trial's own tuned rule), chosen on search data"


def test_clicked_number_reads_customdata():
    assert ev.clicked_number({"selection": {"points": [{"customdata": [7.0], "x": 1}]}}) == 7
    assert ev.clicked_number({"selection": {"points": [{"x": 1}, {"customdata": [3]}]}}) == 3
    assert ev.clicked_number({"selection": {"points": [{"customdata": {"0": 12.0}}]}}) == 12  # from Chromium
    assert ev.clicked_number({"selection": {"points": []}}) is None
    assert ev.clicked_number(None) is None


def test_metric_rows_show_units_spread_test_and_limits(points):
    row = points.set_index("number").loc[3].copy()
    row["number"] = 3
    rows = ev.metric_rows(row, [Objective("latency_p95_ms", limit=20)], ["roc_auc", "latency_p95_ms"])
    auc = rows[rows["metric"] == "ROC AUC"].iloc[0]
    assert auc["value (search)"] == "0.9000" and auc["CV ± std"] == "± 0.0400"
    assert auc["held-out test"] == "0.8800" and auc["objective"] == "★"
    lat = rows[rows["metric"] == "Latency p95"].iloc[0]
    assert lat["limit"] == "20.00 ms" and lat["limit status"] == "breaks in search" and lat["unit"] == "ms"
    net = rows[rows["metric"] == "Net value per 1,000 decisions"].iloc[0]
    assert net["unit"].startswith("€")  # without a value model: the registry's unit
    plain = ev.metric_rows(row, [], ["roc_auc"], value_model=ValueModel())
    net = plain[plain["metric"] == "Net value per 1,000 decisions"].iloc[0]
    assert net["unit"] == "utility units per 1k decisions" and "€" not in net["value (search)"]


def test_params_and_groups():
    params = ev.param_rows({"family": "hist_gb", "hist_gb.max_iter": 77, "hist_gb.learning_rate": 0.077459})
    assert params.to_dict("list") == {"parameter": ["max_iter", "learning_rate"], "value": ["77", "0.07746"]}
    groups = ev.groups_frame(
        {
            "user_attrs": {
                "groups_test": [
                    {
                        "group": "a",
                        "n": 10,
                        "base_rate": 0.1,
                        "selection_rate": 0.2,
                        "recall": 0.3,
                        "precision": 0.4,
                        "accuracy": 0.5,
                    }
                ]
            }
        }
    )
    assert list(groups.columns) == ev.GROUP_COLUMNS
    row = groups.iloc[0]  # a trial stored without intervals gets them, and the small-group flag
    assert row["selection_rate_low"] < 0.2 < row["selection_rate_high"] and row["note"] == ""
    flagged = ev.groups_frame({"user_attrs": {"groups_test": [dict(groups.iloc[0][["group", "n"]])]}}, min_rows=30)
    assert flagged.iloc[0]["note"] == "only 10 rows: too few to judge"
    assert ev.groups_frame({"user_attrs": {}}).empty


def test_worker_liveness_local_and_remote():
    now = datetime.now(timezone.utc)
    me = {"state": "running", "host": socket.gethostname(), "pid": os.getpid()}
    assert sv.worker_alive(me) and sv.worker_alive({**me, "state": "waiting"})
    for ended in ("finished", "interrupted", "failed", "finished: budget spent"):
        assert not sv.worker_alive({**me, "state": ended})
    assert not sv.worker_alive({**me, "pid": 2**22 + 12345})  # no such process here
    # another machine: core.search.workers judges it by heartbeat ("lost")
    assert sv.worker_alive({"state": "idle", "host": "elsewhere", "pid": 1, "lost": False})
    assert not sv.worker_alive({"state": "running", "host": "elsewhere", "pid": 1, "lost": True})
    # rows without the flag fall back to how long ago the worker reported
    remote = {"state": "idle", "host": "elsewhere", "pid": 1, "last_seen": now - timedelta(minutes=2)}
    assert sv.worker_alive(remote, now)
    assert not sv.worker_alive({**remote, "last_seen": now - timedelta(hours=1)}, now)
    naive = {**remote, "last_seen": (now - timedelta(minutes=1)).replace(tzinfo=None)}  # SQLite drops tz
    assert sv.worker_alive(naive, now)
    table = sv.workers_table([{**me, "worker_id": "w1", "status": "running", "age_s": 2.4, "message": None}])
    assert table.iloc[0]["last seen (s ago)"] == 2 and bool(table.iloc[0]["alive"])


def test_launched_workers_count_until_they_register():
    me = socket.gethostname()
    attrs = {sv.LAUNCH_ATTR: {"at": 1000.0, "host": me, "pids": [os.getpid(), 2**22 + 54321]}}
    assert sv.pending_pids(attrs, []) == [os.getpid()]  # the other pid is no process here
    assert sv.pending_pids(attrs, [{"pid": os.getpid(), "host": me}]) == []  # registered: counted there
    remote = {sv.LAUNCH_ATTR: {"at": 1000.0, "host": "elsewhere", "pids": [7, 8]}}
    assert sv.pending_pids(remote, [], now=1000.0 + sv.LAUNCH_GRACE_S - 1) == [7, 8]
    assert sv.pending_pids(remote, [], now=1000.0 + sv.LAUNCH_GRACE_S + 1) == []
    assert sv.pending_pids({}, []) == []
    assert sv.local_pids([], attrs) == [os.getpid()] and sv.local_pids([], remote) == []


def test_status_progress_eta_and_states():
    s = sv.Status(
        done=5,
        failed=1,
        running=1,
        budget=20,
        timeout_s=None,
        started_at=1000.0,
        last_complete=1040.0,
        cancelled=False,
        live_workers=2,
        now=1050.0,
    )
    assert s.state == "running" and s.fraction == 0.25
    assert s.elapsed_s == 50.0 and s.eta_s == pytest.approx(50 / 5 * 15)
    timed = sv.Status(
        done=1,
        failed=0,
        running=1,
        budget=None,
        timeout_s=600,
        started_at=1000.0,
        last_complete=None,
        cancelled=False,
        live_workers=1,
        now=1300.0,
    )
    assert timed.fraction == 0.5 and timed.eta_s == 300.0
    idle = sv.Status(
        done=20,
        failed=0,
        running=0,
        budget=20,
        timeout_s=None,
        started_at=1000.0,
        last_complete=1500.0,
        cancelled=False,
        live_workers=0,
        now=9999.0,
    )
    assert idle.state == "finished" and idle.elapsed_s == 500.0 and idle.eta_s is None
    assert sv.Status(3, 0, 0, 20, None, 1.0, 2.0, True, 0).state == "cancelled"
    assert sv.Status(3, 0, 0, 20, None, 1.0, 2.0, False, 0).state == "paused"
    assert sv.Status(0, 0, 0, 20, None, None, None, False, 0).state == "not started"


def test_failures_show_error_and_retry():
    frame = pd.DataFrame(
        {
            "number": [0, 1, 2],
            "state": ["FAIL", "COMPLETE", "FAIL"],
            "family": ["knn", "logreg", "knn"],
            "error": ["MemoryError: x", None, None],
            "retry_of": [None, 0, None],
        }
    )
    table = sv.failures(frame)
    assert table["#"].tolist() == [2, 0]
    assert table["retried as"].tolist()[1] == 1 and table["error"].tolist() == ["(no message)", "MemoryError: x"]


def test_text_helpers():
    assert ui.esc("a_b *c* [x](y) :red[z]") == "a\\_b \\*c\\* \\[x\\]\\(y\\) \\:red\\[z\\]"
    assert [ui.fmt_duration(s) for s in (None, 5, 65, 3700)] == ["–", "5 s", "1 min 05 s", "1 h 01 min"]


def _slots_app():
    import streamlit as st

    from app import ui
    from core.errors import UserInputError

    with st.container(key="left"):
        slots = ui.ErrorSlots()
        st.text_input("target")
        slots.here("data.target")
    with st.container(key="right"):
        st.text_input("limit")
        slots.here("objectives.roc_auc")
        slots.here("default")
    slots.show(UserInputError("objectives.roc_auc.limit: bad *limit*", field="objectives.roc_auc.limit"))
    slots.show(UserInputError("something else", field="budget"))


def test_error_slots_put_the_message_beside_its_widget():
    at = AppTest.from_function(_slots_app).run()
    assert not at.exception
    left, right = at.container
    assert not left.error  # the target slot stays empty
    # objectives.roc_auc.limit goes to the longest matching slot; an unknown field to "default"
    assert [e.value for e in right.error] == ["objectives\\.roc\\_auc\\.limit\\: bad \\*limit\\*", "something else"]
