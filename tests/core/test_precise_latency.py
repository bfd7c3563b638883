"""Screening vs precise latency: every trial is screened, the ones that may reach the front are measured
precisely on the path that will be served, and a trial on the final front always carries the precise
figure (real studies in SQLite, real fits)."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from core import search
from core.data import load_dataset, split
from core.decide import front
from core.errors import UserInputError
from core.models import latency, served
from core.models.evaluate import make_pipeline
from core.search import _precise, artifacts, reader
from tests.conftest import make_small_spec

TWO_OBJECTIVES = ("roc_auc", "dp_diff")  # no latency objective: dominance is decided exactly


@pytest.fixture
def url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'study.db'}"


def _run(spec, url: str, name: str):
    study = search.create_study(spec, url, name)
    search.run(study.study_name, url)
    return search.open_study(url, name)


def test_screening_trials_are_marked_and_the_front_carries_the_precise_figure(small_csv, url, monkeypatch):
    # screening serves the scikit-learn path (an ONNX measurement is precise and cheap): here every
    # family is declared without a converter, as on a table where conversion or parity fails
    for family in served.oc.SUPPORT:
        monkeypatch.setitem(served.oc.SUPPORT, family, ("no", "declared unconvertible for this test"))
    spec = make_small_spec(small_csv, objectives=TWO_OBJECTIVES, trials=14)
    study = _run(spec, url, "screened")
    trials = [t for t in study.get_trials() if t.state.name == "COMPLETE"]
    scopes = {t.number: t.user_attrs[_precise.ATTR_LATENCY]["scope"] for t in trials}
    assert set(scopes.values()) == {"screening", "precise"}  # both kinds happen on a real search
    frame = search.trials_frame(study.get_trials(), spec)
    assert dict(zip(frame["number"], frame["latency_scope"], strict=True)) == scopes
    for on in (front.front(frame, spec.objective_names), front.front(frame, spec.objective_names, feasible_only=False)):
        assert len(on) and (on["latency_scope"] == "precise").all()
    assert all(t.user_attrs[_precise.ATTR_LATENCY]["path"] == "sklearn" for t in trials)


def test_without_a_latency_objective_dominated_onnx_trials_are_only_screened(small_csv, url):
    """No objective depends on latency: a trial's hope is known before its latency is measured, so a
    dominated one gets the screening figure on its served path and nothing else."""
    spec = make_small_spec(small_csv, objectives=TWO_OBJECTIVES, trials=14)
    study = _run(spec, url, "served")
    trials = [t for t in study.get_trials() if t.state.name == "COMPLETE"]
    onnx = [t for t in trials if t.user_attrs[_precise.ATTR_LATENCY]["path"] == "onnx"]
    assert len(onnx) >= len(trials) - 2  # every family converts on this table
    for t in onnx:
        info = t.user_attrs[_precise.ATTR_LATENCY]
        assert t.user_attrs["metrics"]["latency_p95_ms"] == pytest.approx(info["onnx_p95_ms"])
    scope = {t.number: t.user_attrs[_precise.ATTR_LATENCY]["scope"] for t in onnx}
    with_other = {t.number for t in onnx if t.user_attrs[_precise.ATTR_LATENCY]["sklearn_p95_ms"] is not None}
    assert with_other == {n for n, s in scope.items() if s == "precise"}  # the information for precise ones only
    for t in onnx:  # every catalogue metric for every trial, the estimator-alone figure too
        assert t.user_attrs["metrics"]["model_latency_p95_ms"] > 0
    frame = search.trials_frame(study.get_trials(), spec)
    on_front = set(front.front(frame, spec.objective_names)["number"])
    assert on_front & set(scope) <= with_other  # every front trial: precise, with the information
    assert "screening" in scope.values()  # a dominated trial was only screened (14 trials, 2 objectives)
    kept = {t.number for t in trials if artifacts.stored_model(url, study.study_name, t.number) is not None}
    assert on_front <= kept and kept <= with_other | {t.number for t in trials if t not in onnx}


def test_with_a_latency_objective_every_onnx_trial_is_timed_precisely(small_csv, url):
    spec = make_small_spec(small_csv, objectives=("roc_auc", "latency_p95_ms"), trials=8)
    study = _run(spec, url, "timed")
    onnx = [t for t in study.get_trials() if t.state.name == "COMPLETE"]
    onnx = [t for t in onnx if t.user_attrs[_precise.ATTR_LATENCY]["path"] == "onnx"]
    assert len(onnx) >= 6 and all(t.user_attrs[_precise.ATTR_LATENCY]["scope"] == "precise" for t in onnx)


def test_a_screening_trial_left_on_the_front_is_measured_precisely_at_the_end(small_csv, url):
    spec = make_small_spec(small_csv, objectives=TWO_OBJECTIVES, trials=5)
    study = _run(spec, url, "net")
    on_front = _precise.final_front(study.get_trials(), spec.objective_names)
    t = on_front[0]
    stale = {**t.user_attrs["metrics"], "latency_p95_ms": 999.0}  # as if only a rough figure were stored
    _precise._replace_attrs(url, t._trial_id, {"metrics": stale, _precise.ATTR_LATENCY: {"scope": "screening"}})
    shown = reader.read_frame(url, study.study_name).set_index("number")  # a page open meanwhile
    assert shown.loc[t.number, "latency_p95_ms"] == 999.0 and shown.loc[t.number, "latency_scope"] == "screening"
    curve_before = reader.read_curves(url, study.study_name)[t.number]
    sig = reader.signature(url, study.study_name)
    ds = load_dataset(spec.data)
    done = _precise.precise_pass(study, spec, (ds, *split(ds, spec.validation, spec.seed)), url)
    assert done == [t.number]
    assert reader.signature(url, study.study_name) != sig  # polling pages notice the rewrite
    shown = reader.read_frame(url, study.study_name).set_index("number")  # the same process-wide cache
    assert 0 < shown.loc[t.number, "latency_p95_ms"] < 999.0 and shown.loc[t.number, "latency_scope"] == "precise"
    assert reader.read_curves(url, study.study_name)[t.number] is not curve_before
    again = next(x for x in search.optuna_storage(url).get_all_trials(study._study_id) if x.number == t.number)
    info = again.user_attrs[_precise.ATTR_LATENCY]
    assert info["scope"] == "precise" and info["values_scope"] == "screening"
    assert 0 < again.user_attrs["metrics"]["latency_p95_ms"] < 999.0
    assert _precise.precise_pass(study, spec, (ds, *split(ds, spec.validation, spec.seed)), url) == []


def test_the_switch_gives_the_old_behaviour_precise_for_every_trial(small_csv, url, monkeypatch):
    monkeypatch.setenv(latency.ENV_MODE, "precise")
    spec = make_small_spec(small_csv, objectives=TWO_OBJECTIVES, trials=6)
    study = _run(spec, url, "all-precise")
    frame = search.trials_frame(study.get_trials(), spec)
    assert len(frame) == 6 and (frame["latency_scope"] == "precise").all()
    monkeypatch.setenv(latency.ENV_MODE, "sometimes")
    with pytest.raises(UserInputError, match=latency.ENV_MODE):
        latency.mode()


def test_old_trials_without_the_attribute_read_as_precise():
    row = search._frame.trial_row(0, "COMPLETE", {"metrics": {"roc_auc": 0.7}}, {}, {}, None, None)
    assert row["latency_scope"] == "precise"
    assert search._frame.trial_row(1, "RUNNING", {}, {}, {}, None, None)["latency_scope"] is None


@pytest.fixture(scope="module")
def fitted(small_csv):
    spec = make_small_spec(small_csv)
    ds = load_dataset(spec.data)
    train_idx, test_idx = split(ds, spec.validation, spec.seed)
    train, test = ds.subset(train_idx), ds.subset(test_idx)
    with threadpool_limits(limits=1):
        pipe = make_pipeline("logreg", {"C": 1.0, "class_weight": "none"}, ds, 0).fit(train.X, train.y)
    return ds, pipe, test


def test_the_onnx_path_is_measured_for_an_exportable_family(fitted):
    ds, pipe, test = fitted
    path = served.path_of(pipe, "logreg", test.X, ds.numeric, ds.categorical)
    assert path[0] is not None, path[1]
    assert path[0].records_ok  # one request's feeds equal its one-row DataFrame's: requests are timed
    rep, info = served.measure(pipe, path, test.X, repeats=20)
    assert info["path"] == "onnx" and info["onnx_p95_ms"] == rep.p95_ms > 0
    assert info["sklearn_p95_ms"] > 0 and "parity" in info["reason"]
    assert rep.p50_ms < info["sklearn_p95_ms"] / 5  # a request to ONNX Runtime, not a pandas row
    for record, i in zip(path[0].requests(test.X.head(20)), range(20), strict=True):
        assert float(path[0].predict_one(record)[0, 1]) == float(path[0].predict_proba(test.X.iloc[[i]])[0, 1])
    got = path[0].predict_proba(test.X.head(50))[:, 1]
    np.testing.assert_allclose(got, pipe.predict_proba(test.X.head(50))[:, 1], atol=1e-5)


def test_without_a_working_onnx_path_scikit_learn_is_served_with_the_reason(fitted, monkeypatch):
    ds, pipe, test = fitted
    none, why = served.path_of(pipe, "not_a_family", test.X, ds.numeric, ds.categorical)
    assert none is None and "no ONNX converter" in why
    rep, info = served.measure(pipe, (none, why), test.X, repeats=20)
    assert info["path"] == "sklearn" and info["onnx_p95_ms"] is None and info["sklearn_p95_ms"] == rep.p95_ms
    strict, reason = served.oc.served(pipe, test.X.head(200), ds.numeric, ds.categorical, tolerance=0.0)
    assert strict is None and "differ" in reason


def test_screening_is_cheaper_and_in_the_same_unit(fitted):
    _, pipe, test = fitted
    rough = latency.screen(pipe, test.X)
    fine = latency.measure(pipe, test.X, repeats=200)
    assert rough.n_calls < fine.n_calls
    assert 0.5 < rough.p50_ms / fine.p50_ms < 2.0  # same normalised unit, only fewer calls
    hopeful = latency.optimistic(rough, 0.85)
    assert hopeful.p95_ms == pytest.approx(rough.p95_ms * 0.85)
    assert hopeful.throughput_rps == pytest.approx(rough.throughput_rps / 0.85)


def test_dominance():
    others = np.array([[0.0, 0.0], [1.0, -1.0]])
    assert _precise.dominated([0.5, 0.5], others)
    assert not _precise.dominated([0.0, 0.0], others)  # equal is not dominated
    assert not _precise.dominated([-1.0, 5.0], others)
    assert not _precise.dominated([0.0, 0.0], np.empty((0, 2)))


def test_the_other_paths_information_figure_times_few_single_requests_only(fitted):
    _, pipe, test = fitted
    info = latency.screen(pipe, test.X, calls_only=True)
    assert info.n_calls == latency.INFO_REPEATS < latency.SCREEN_REPEATS
    assert np.isnan(info.model_p95_ms) and np.isnan(info.throughput_rps)  # neither is stored for it
    fine = latency.measure(pipe, test.X, repeats=200)
    assert 0.5 < info.p50_ms / fine.p50_ms < 2.0  # the same normalised unit
