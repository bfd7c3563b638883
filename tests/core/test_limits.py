"""Hard limits judged on both parts (search CV and held-out test): the status every page, the CLI and
the report show, ``tradeoff front`` labelling each figure's scope, and which limit blocks most."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
import pytest

from core import cli, search
from core import objectives as obj
from core.decide import front
from core.decide import view as decide
from core.search import reader as study_reader
from core.spec import Objective, Spec
from tests.app.helpers import run_page, synthetic_study, texts
from tests.core.test_decide import copy_study

LIMITS = (Objective("dp_diff", limit=0.1), Objective("latency_p95_ms", limit=20.0), Objective("roc_auc"))


def hand() -> pd.DataFrame:
    """#0 holds on both parts, #1 holds in search but breaks on held-out (dp 0.05 → 0.40), #2 breaks
    in search (latency), #3 has no held-out figure (an old trial), #4 is still running."""
    return pd.DataFrame(
        {
            "number": [0, 1, 2, 3, 4],
            "state": ["COMPLETE"] * 4 + ["RUNNING"],
            "roc_auc": [0.8, 0.9, 0.7, 0.75, None],
            "dp_diff": [0.05, 0.05, 0.02, 0.05, None],
            "test.dp_diff": [0.04, 0.40, 0.03, None, None],
            "latency_p95_ms": [1.0, 2.0, 30.0, 1.0, None],
        }
    )


def test_status_is_judged_on_search_and_on_held_out_data():
    out = front.annotate(hand(), ["roc_auc", "dp_diff"], LIMITS)
    assert out["limits_status"].tolist() == [
        search.HOLDS,
        search.BREAKS_TEST,
        search.BREAKS_SEARCH,
        search.UNTESTED,
        search.NOT_FINISHED,
    ]
    # steering stays on search data: the held-out break is feasible and may sit on the front
    assert out["feasible"].tolist() == [True, True, False, True, False]
    assert out.loc[out["on_front"], "number"].tolist() == [1]
    assert "within" not in front.STATUS_TEXT[search.BREAKS_TEST]


def test_one_limit_on_one_trial_names_both_figures():
    o = Objective("dp_diff", limit=0.1)
    check = front.limit_check(o, 0.05, 0.4)
    assert check == {"limit": 0.1, "search": 0.05, "test": 0.4, "holds_search": True, "holds_test": False}
    assert front.check_status(check) == search.BREAKS_TEST
    assert front.check_status(front.limit_check(o, 0.05, None)) == search.UNTESTED
    assert front.check_status(front.limit_check(o, 0.2, 0.05)) == search.BREAKS_SEARCH
    # a property of the model (latency) has one figure for both parts
    lat = front.limit_check(Objective("latency_p95_ms", limit=20.0), 5.0, 99.0)
    assert lat["test"] is None and lat["holds_test"] is True
    # a maximised metric: held-out AUC below the limit breaks it
    auc = front.limit_check(Objective("roc_auc", limit=0.8), 0.82, 0.78)
    assert (auc["holds_search"], auc["holds_test"]) == (True, False)


def test_blocking_limits_count_finished_trials_most_blocking_first():
    frame = hand().assign(dp_diff=[0.05, 0.5, 0.5, 0.5, 0.9])
    assert front.blocking_limits(frame, LIMITS) == [("dp_diff", 3), ("latency_p95_ms", 1)]
    assert front.blocking_limits(frame, (Objective("roc_auc"),)) == []
    none_feasible = hand().assign(dp_diff=0.5)
    text = front.limits_summary(none_feasible, LIMITS)
    assert text is not None and text.startswith("0 of 4 finished trials hold every hard limit in search (CV)")
    assert "blocks most is Demographic parity difference ≤ 0.1000 (4 of 4 trials break it)" in text
    text = front.limits_summary(hand(), LIMITS)
    assert text == "3 of 4 finished trials hold every hard limit in search (CV); 1 of them breaks one on held-out data."
    assert front.limits_summary(hand(), (Objective("roc_auc"),)) is None


def test_report_rows_judge_limits_on_held_out_data_too():
    from core.export.report._data import _status

    o = Objective("dp_diff", limit=0.1)
    assert _status(o, 0.05, 0.4) == search.BREAKS_TEST
    assert _status(o, 0.05, 0.04) == search.HOLDS
    assert _status(None, 0.05, 0.04) == ""


# -- a real study: the limit sits between a front trial's search and held-out figure ----------------------


def _held_out_breaker(frame: pd.DataFrame, spec: Spec) -> tuple[str, int, float]:
    """(objective, trial on the front, limit) such that the trial holds the limit in search and
    breaks it on held-out data; the front can only keep it, as a limit only removes other trials."""
    pf = front.front(frame.assign(feasible=True), spec.objective_names)
    for name in spec.objective_names:
        if not obj.get(name).on_test:
            continue
        sign = obj.get(name).sign
        for _, r in pf.iterrows():
            s, t = float(r[name]), float(r[obj.TEST_ATTR + name])
            if (t - s) * sign > 1e-6:  # worse on held-out data
                return name, int(r["number"]), (s + t) / 2
    pytest.skip("no front trial is worse on held-out data")


@pytest.fixture
def limited_study(finished_study, tmp_path):
    """A copy of the finished study whose spec carries a limit its front trial breaks only on held-out."""
    url, name, spec = finished_study
    url = copy_study(url, tmp_path / "limits.db")
    frame = front.trials_frame(search.open_study(url, name).get_trials(deepcopy=False), spec)
    metric, trial, limit = _held_out_breaker(frame, spec)
    objectives = tuple(dataclasses.replace(o, limit=limit) if o.name == metric else o for o in spec.objectives)
    spec = dataclasses.replace(spec, objectives=objectives)
    search.open_study(url, name).set_user_attr(search.ATTR_SPEC, spec.to_dict())
    return url, name, spec, metric, trial, limit


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_front_json_gives_every_limit_on_both_parts(capsys, limited_study):
    url, name, spec, metric, trial, limit = limited_study
    code, out, err = run(capsys, "front", "--storage", url, "--study", name, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert {"metrics", "test_metrics"} <= set(data["scope"]) and "held-out" in data["scope"]["test_metrics"]
    record = next(t for t in data["trials"] if t["number"] == trial)
    check = record["limits"][metric]
    assert check["limit"] == pytest.approx(limit)
    assert check["search"] == pytest.approx(record["metrics"][metric])
    assert check["test"] == pytest.approx(record["test_metrics"][metric])
    assert (check["holds_search"], check["holds_test"]) == (True, False)
    assert record["limits_status"] == search.BREAKS_TEST
    for t in data["trials"]:  # the front is chosen on search data: every trial on it holds in search
        assert set(t["limits"]) == {o.name for o in spec.objectives if o.limit is not None}
        assert all(c["holds_search"] for c in t["limits"].values())


def test_front_table_labels_each_figure_and_says_the_status(capsys, limited_study):
    url, name, spec, metric, trial, _ = limited_study
    code, out, err = run(capsys, "front", "--storage", url, "--study", name)
    assert code == 0, err
    header = out.splitlines()[0]
    label = obj.get(metric).label
    assert f"{label} (search CV)" in header and f"{label} (held-out test)" in header
    assert "Latency p95 (search)" in header and "hard limits" in header
    row = next(line for line in out.splitlines() if line.split()[0] == str(trial))
    assert row.rstrip().endswith(search.BREAKS_TEST)
    assert "hard limits: " in out and "break" in out.splitlines()[-1]


def test_decide_shows_the_held_out_status_beside_each_candidate(limited_study):
    url, name, spec, metric, trial, _ = limited_study
    view = decide.build(spec, study_reader.read_frame(url, name, spec), study_name=name)
    assert view.limits[str(trial)] == search.BREAKS_TEST  # keyed by option: "12" is trial 12's own rule
    table = view.shortlist_table().set_index("option")
    assert set(table["hard limits"]) <= {search.HOLDS, search.BREAKS_TEST}
    if str(trial) in table.index:
        assert table.at[str(trial), "hard limits"] == search.BREAKS_TEST
    assert view.to_dict()["shortlist"][0]["limits_status"] in (search.HOLDS, search.BREAKS_TEST)


def test_reader_and_public_path_agree_on_the_status(limited_study):
    url, name, spec, *_ = limited_study
    fast = study_reader.read_frame(url, name, spec)
    public = front.trials_frame(search.open_study(url, name).get_trials(deepcopy=False), spec)
    assert fast["limits_status"].tolist() == public["limits_status"].tolist()
    assert search.BREAKS_TEST in set(fast["limits_status"])


# -- pages --------------------------------------------------------------------------------------------


POINTS = [
    {"roc_auc": 0.80, "latency_p95_ms": 10.0},  # held-out AUC 0.79: breaks the 0.795 limit there only
    {"roc_auc": 0.70, "latency_p95_ms": 5.0},  # breaks in search
    {"roc_auc": 0.90, "latency_p95_ms": 30.0},  # holds on both parts
]


def test_explorer_marks_a_trial_that_breaks_on_held_out_data(small_csv):
    from core import storage as st

    synthetic_study(st.resolve(None), "lim", small_csv, [dict(p) for p in POINTS], limits={"roc_auc": 0.795})
    at = run_page("explorer", study="lim")
    metric = next(m for m in at.metric if m.label == "Hold limits in search")
    assert metric.value == "2" and "1 break on held-out" in str(metric.proto.delta)
    at.selectbox(key="trial").set_value(0).run()
    assert any(front.STATUS_TEXT[search.BREAKS_TEST] in c for c in texts(at, "caption"))
    assert not any("meets every hard limit" in c for c in texts(at, "caption"))


def test_search_page_warns_when_no_trial_is_feasible(small_csv):
    from core import storage as st

    synthetic_study(st.resolve(None), "blocked", small_csv, [dict(p) for p in POINTS], limits={"roc_auc": 0.95})
    search.set_budget(st.resolve(None), "blocked", len(POINTS))
    at = run_page("search", study="blocked")
    warnings = " ".join(texts(at, "warning"))
    assert "no trial is feasible" in warnings and "blocks most is ROC AUC" in warnings
    assert not any("Search finished" in m for m in texts(at, "markdown"))
