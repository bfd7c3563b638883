"""The Search page (AppTest): empty storage, a finished study, and a real worker started from the page."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from app import search_view as sv
from core import search
from core import storage as st
from core.decide import front
from core.search import launcher as workers
from core.search import reader as study_reader
from tests.app.helpers import MAIN, assert_ok, page_path, run_page, texts
from tests.conftest import make_small_spec


def test_empty_database_says_what_to_do_first():
    at = run_page("search")
    assert any("No study chosen yet" in i for i in texts(at, "info"))
    assert not at.button


def test_unknown_study_in_the_address_is_explained(tmp_path):
    at = run_page("search", study="nope")
    assert any("no study named **nope**" in w for w in texts(at, "warning"))


def test_finished_study_shows_its_progress(study_env):
    url, name, spec = study_env
    at = run_page("search", study=name)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["State"] == "Finished"
    trials = search.open_study(url, name).get_trials()
    done, failed = search.counted(trials)
    progress = at.get("progress")[0]
    assert f"{done} of {spec.budget.n_trials} trials" in progress.proto.text
    assert f"{failed} failed" in progress.proto.text
    hv = front.hypervolume_history(front.trials_frame(trials, spec), spec.objective_names, limits=spec.objectives)
    assert metrics["Hypervolume"] == f"{hv['hypervolume'].iloc[-1]:.3f}"
    latest = next(d.value for d in at.dataframe if "#" in d.value.columns and "state" in d.value.columns)
    assert len(latest) == min(10, len(trials)) and latest["#"].iloc[0] == max(t.number for t in trials)
    assert "ROC AUC" in latest.columns
    workers_table = next(d.value for d in at.dataframe if "worker" in d.value.columns)
    assert not workers_table["alive"].any()
    assert at.button(key="btn_start").disabled and at.button(key="btn_cancel").disabled
    assert at.button(key="btn_extend")  # a finished study can be given more trials


@pytest.mark.slow
def test_start_watch_and_cancel_a_real_worker(small_csv):
    """Start one worker from the page, see trials arrive, cancel: the worker stops after its trial."""
    url = st.resolve(None)
    spec = make_small_spec(small_csv, families=("logreg", "naive_bayes"), trials=6)
    search.create_study(spec, url, "live")
    at = run_page("search", study="live")
    assert {m.label: m.value for m in at.metric}["State"] == "Not started"
    at.number_input(key="search_n_workers").set_value(1).run()
    at.button(key="btn_start").click().run()
    assert_ok(at)
    launch = study_reader.study_attrs(url, "live")["app_launch"]  # every browser can see the launch
    pids = launch["pids"]
    assert len(pids) == 1
    fresh = run_page("search", study="live")  # a reload before the worker registered: not "not started"
    assert fresh.button(key="btn_start").disabled
    try:
        assert at.button(key="btn_start").disabled and not at.button(key="btn_cancel").disabled
        deadline = time.time() + 120
        while study_reader.signature(url, "live")[1] < 1 and time.time() < deadline:
            time.sleep(1)
        at.run()
        assert {m.label: m.value for m in at.metric}["State"] == "Running"
        at.button(key="btn_cancel").click().run()
        while workers.alive(pids[0]) and time.time() < deadline:
            time.sleep(1)
        assert not workers.alive(pids[0])
        at.run()
        assert_ok(at)
        assert {m.label: m.value for m in at.metric}["State"] == "Cancelled"
        done, _ = search.counted(search.open_study(url, "live").get_trials())
        assert 1 <= done < 6  # stopped after the trial it was running, budget not spent
        assert not at.button(key="btn_start").disabled  # it can be resumed
    finally:
        for pid in pids:
            workers.stop(pid)


def test_the_worker_count_survives_a_reload(study_env):
    _url, name, _spec = study_env
    at = run_page("search", study=name)
    at.number_input(key="search_n_workers").set_value(3).run()
    assert_ok(at)
    assert at.query_params[sv.WORKERS_PARAM] == ["3"] or at.query_params[sv.WORKERS_PARAM] == "3"
    # a reload is a new session with the same address
    again = AppTest.from_file(MAIN, default_timeout=120)
    again.query_params["study"] = name
    again.query_params[sv.WORKERS_PARAM] = "3"
    again.switch_page(page_path("search")).run()
    assert_ok(again)
    assert again.number_input(key="search_n_workers").value == 3


def test_the_worker_count_starts_from_the_address_then_the_last_launch():
    launch = {sv.LAUNCH_ATTR: {"pids": [11, 12, 13, 14]}}
    assert sv.worker_count("5", launch, 2) == 5
    assert sv.worker_count(None, launch, 2) == 4
    assert sv.worker_count("zero", {}, 2) == 2
    assert sv.worker_count("500", {}, 2) == 64
