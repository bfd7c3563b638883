"""Real Optuna studies in real SQLite files: constraints, failing trials, resume, samplers."""

from __future__ import annotations

from dataclasses import replace

import optuna
import pytest
from optuna.trial import TrialState

from core import search
from core.decide import front
from core.errors import UserInputError
from core.models import families as fam
from core.spec import Budget, Spec
from tests.conftest import make_small_spec

TWO = ("logreg", "decision_tree")


@pytest.fixture
def url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'study.db'}"


def _trials(url: str, name: str) -> list:
    return search.open_study(url, name).get_trials(deepcopy=False)


def test_impossible_latency_limit_makes_every_trial_infeasible_but_visible(small_csv, url):
    spec = make_small_spec(small_csv, families=TWO, trials=3, limits={"latency_p95_ms": "0.001 ms"})
    study = search.create_study(spec, url, "impossible")
    result = search.run(study.study_name, url)
    assert result.trials_run == 3
    trials = _trials(url, "impossible")
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 3
    for t in trials:
        lat = t.user_attrs["metrics"]["latency_p95_ms"]
        assert t.user_attrs["constraints"] == [pytest.approx(lat - 0.001)]
        assert t.user_attrs["constraints"][0] > 0
    frame = front.trials_frame(trials, search.load_spec(study))
    assert len(frame) == 3 and not frame["feasible"].any()
    assert front.front(frame, spec.objective_names).empty
    assert len(front.front(frame, spec.objective_names, feasible_only=False)) >= 1
    assert front.current_hypervolume(frame, spec) is None


def test_a_limit_splits_trials_into_feasible_and_not(finished_study, small_csv):
    """Re-judge a finished study under a limit in the middle of its AUCs: the marks follow the values."""
    url, name, spec = finished_study
    trials = _trials(url, name)
    aucs = sorted(t.user_attrs["metrics"]["roc_auc"] for t in trials if t.state == TrialState.COMPLETE)
    limit = (aucs[0] + aucs[-1]) / 2
    limited = make_small_spec(small_csv, trials=8, limits={"roc_auc": limit})
    frame = front.trials_frame(trials, limited)
    done = frame[frame["state"] == "COMPLETE"]
    assert (done["feasible"] == (done["roc_auc"] >= limit)).all()
    assert 0 < done["feasible"].sum() < len(done)
    assert (front.front(frame, spec.objective_names)["roc_auc"] >= limit).all()


def test_constraints_reach_the_sampler(small_csv):
    spec = make_small_spec(small_csv, limits={"latency_p95_ms": "20 ms"})
    sampler = search.make_sampler(spec, n_trials=40)
    assert isinstance(sampler, optuna.samplers.NSGAIISampler)
    assert sampler._constraints_func is not None
    assert search.make_sampler(make_small_spec(small_csv))._constraints_func is None


def test_failing_trial_is_recorded_and_the_search_goes_on(small_csv, url, monkeypatch):
    def explode(params, seed):
        raise RuntimeError("this family cannot be built")

    broken = fam.Family("broken", "Broken", "simple", False, lambda t: {"x": t.suggest_int("x", 1, 3)}, explode)
    monkeypatch.setitem(fam.REGISTRY, "broken", broken)
    spec = make_small_spec(small_csv, families=("broken", "logreg"), trials=3)
    study = search.create_study(spec, url, "with-failure")  # warm start: 'broken' is trial 0
    result = search.run(study.study_name, url)
    assert result.trials_run == 3 and result.stopped_because == "budget spent"
    trials = _trials(url, "with-failure")
    failed = [t for t in trials if t.state == TrialState.FAIL]
    assert failed and all(t.params["family"] == "broken" for t in failed)
    assert failed[0].user_attrs["error"] == "RuntimeError: this family cannot be built"
    assert any(t.state == TrialState.COMPLETE for t in trials)
    done, n_failed = search.counted(trials)
    assert done == 3 and n_failed == len(failed)
    frame = front.trials_frame(trials, spec)
    assert frame.loc[frame["state"] == "FAIL", "error"].str.contains("cannot be built").all()
    assert not frame.loc[frame["state"] == "FAIL", "feasible"].any()


def test_resume_keeps_finished_trials_and_tops_up_to_the_new_budget(small_csv, url):
    spec = make_small_spec(small_csv, families=TWO, trials=3)
    first = search.create_study(spec, url, "resume")
    assert search.run(first.study_name, url).trials_run == 3
    numbers_before = [t.number for t in _trials(url, "resume")]
    # same spec + name reopens the same study; a total budget of 6 runs 3 more, not 6
    again = search.create_study(spec, url, "resume", n_trials=6)
    assert again.study_name == "resume" and len(search.list_studies(url)) == 1
    assert search.run("resume", url).trials_run == 3
    trials = _trials(url, "resume")
    assert len(trials) == 6 and [t.number for t in trials][:3] == numbers_before
    assert search.counted(trials) == (6, 0)
    assert search.budget(url, "resume") == (6, 6)
    # nothing left: another run does nothing
    assert search.run("resume", url).trials_run == 0
    # a different spec under the same name is refused, naming the study
    other = make_small_spec(small_csv, families=TWO, trials=3, objectives=("roc_auc", "model_size_bytes"))
    with pytest.raises(
        UserInputError,
        match=r"A study named 'resume' already exists with a different "
        r"spec\. Resume it with its own spec, or choose another",
    ):
        search.create_study(other, url, "resume")


def test_resume_with_a_larger_budget_in_the_spec(small_csv, url):
    spec = make_small_spec(small_csv, families=("naive_bayes",), trials=1)
    search.create_study(spec, url, "spec-budget")
    search.run("spec-budget", url)
    search.create_study(replace(spec, budget=Budget(n_trials=2)), url, "spec-budget")
    assert search.run("spec-budget", url).trials_run == 1


def test_warm_start_enqueues_one_typical_configuration_per_family(small_csv, url):
    spec = make_small_spec(small_csv, families=TWO, trials=2)
    study = search.create_study(spec, url, "warm")
    waiting = study.get_trials(states=(TrialState.WAITING,))
    assert [t.system_attrs["fixed_params"]["family"] for t in waiting] == list(TWO)
    rand = search.create_study(replace(spec, sampler="random"), url, "cold")
    assert not rand.get_trials(states=(TrialState.WAITING,))


def test_samplers(small_csv):
    spec = make_small_spec(small_csv)
    tpe = search.make_sampler(replace(spec, sampler="tpe"), n_trials=60)
    assert isinstance(tpe, optuna.samplers.TPESampler)
    # parallel workers must not propose the same configuration at once; 12 random trials first
    assert tpe._constant_liar and tpe._n_startup_trials == 12
    assert Spec(data=spec.data).sampler == "nsga2"  # the default the engine issue names
    assert isinstance(search.make_sampler(replace(spec, sampler="random")), optuna.samplers.RandomSampler)
    nsga = search.make_sampler(spec, n_trials=60)
    assert nsga._population_size == 15  # sized to the budget, not Optuna's 50
    try:
        import torch  # noqa: F401
    except ImportError:
        with pytest.raises(UserInputError, match=r"The GP sampler needs PyTorch"):
            search.make_sampler(replace(spec, sampler="gp"))


def test_spec_and_metrics_are_stored_for_other_tools(finished_study):
    url, name, spec = finished_study
    study = optuna.load_study(study_name=name, storage=url)  # plain Optuna, as optuna-dashboard reads it
    assert study.user_attrs["spec"]["data"]["fingerprint"].startswith("sha256:")
    assert study.user_attrs["objective_names"] == spec.objective_names
    t = study.get_trials(states=(TrialState.COMPLETE,))[0]
    assert {
        "family",
        "family_class",
        "metrics",
        "test_metrics",
        "cv_std",
        "threshold",
        "groups_test",
        "constraints",
        "timings",
    } <= set(t.user_attrs)
    assert list(t.values) == [t.user_attrs["metrics"][n] for n in spec.objective_names]
