"""Real Optuna studies in real SQLite files: constraints, failing trials, resume, samplers."""

from __future__ import annotations

from dataclasses import replace

import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState

from core import catalog, search
from core.decide import front
from core.errors import UserInputError
from core.models import families as fam
from core.search import _worker as worker_module
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
    monkeypatch.setitem(catalog.FAMILIES, "broken", catalog.FamilyInfo("broken", "Broken", "simple", ""))
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


def test_the_sampler_registry_builds_every_sampler_the_catalogue_names(small_csv):
    """Spec validation and the pages list catalog.SAMPLERS; each must be buildable here, and no
    factory may exist that no one can choose."""
    assert list(search.SAMPLER_FACTORIES) == list(catalog.SAMPLERS)
    spec = make_small_spec(small_csv)
    for name in catalog.SAMPLERS:
        if catalog.SAMPLERS_INFO[name].needs:
            continue  # an optional package; its missing-package message is tested above
        assert isinstance(search.make_sampler(replace(spec, sampler=name)), optuna.samplers.BaseSampler)


def _tiny_family(monkeypatch) -> None:
    """A family of 2 × 20 = 40 configurations: 30 proposals from it are bound to repeat some."""
    from sklearn.tree import DecisionTreeClassifier

    def space(t):
        return {
            "depth": t.suggest_int("depth", 1, 20),
            "criterion": t.suggest_categorical("criterion", ["gini", "entropy"]),
        }

    def make(p, seed):
        return DecisionTreeClassifier(max_depth=p["depth"], criterion=p.get("criterion", "gini"), random_state=seed)

    monkeypatch.setitem(fam.REGISTRY, "tiny", fam.Family("tiny", "Tiny", "simple", False, space, make))
    monkeypatch.setitem(catalog.FAMILIES, "tiny", catalog.FamilyInfo("tiny", "Tiny", "simple", ""))


@pytest.mark.slow
def test_no_configuration_is_evaluated_twice_in_a_study(small_csv, url, monkeypatch):
    """Issue 15: the warm start's configuration, or any other, is not fitted again when sampled
    again; the skipped proposal is pruned, marked ``duplicate_of`` and does not use the budget."""
    from core.search import reader as study_reader

    _tiny_family(monkeypatch)
    spec = make_small_spec(small_csv, families=("tiny",), trials=30)
    study = search.create_study(spec, url, "tiny")  # warm start: the typical configuration first
    result = search.run(study.study_name, url)
    trials = _trials(url, "tiny")
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    configs = [tuple(sorted(t.params.items())) for t in done]
    assert len(done) == 30 and len(set(configs)) == 30
    assert done[0].params == fam.flat_params("tiny", search.typical_params("tiny"))
    skipped = [t for t in trials if t.state == TrialState.PRUNED]
    assert skipped, "30 proposals from 40 configurations repeat one: the skip was not exercised"
    for t in skipped:
        original = trials[t.user_attrs[search.ATTR_DUPLICATE]]
        assert original.params == t.params and original.state == TrialState.COMPLETE
        assert "metrics" not in t.user_attrs  # not fitted
    assert result.trials_run == 30
    assert search.counted(trials) == study_reader.counted(url, "tiny") == (30, 0)
    assert search.budget(url, "tiny") == (30, 30)


def test_a_worker_stops_when_the_space_has_nothing_new(small_csv, url, monkeypatch):
    """Fewer configurations than the budget: the search ends instead of proposing duplicates for ever."""
    _tiny_family(monkeypatch)
    monkeypatch.setattr(worker_module, "MAX_DUPLICATES", 5)
    spec = make_small_spec(small_csv, families=("tiny",), trials=30)
    monkeypatch.setitem(
        fam.REGISTRY, "tiny", replace(fam.REGISTRY["tiny"], space=lambda t: {"depth": t.suggest_int("depth", 1, 2)})
    )
    search.create_study(spec, url, "exhausted")
    result = search.run("exhausted", url)
    assert result.trials_run == 2 and "search space looks exhausted" in result.stopped_because
    assert search.counted(_trials(url, "exhausted")) == (2, 0)
    assert search.budget(url, "exhausted") == (30, 2)


def test_progress_reports_the_hypervolume_the_caller_measures(small_csv, url):
    """The front sits above the search, so the CLI hands its hypervolume in; without it, none."""
    spec = make_small_spec(small_csv, families=("naive_bayes",), trials=2)
    search.create_study(spec, url, "progress")
    seen: list[search.Progress] = []
    result = search.run("progress", url, max_trials=1, on_progress=seen.append)
    assert [p.hypervolume for p in seen] == [None] and seen[0].done == 1
    result = search.run("progress", url, on_progress=seen.append, hypervolume=front.hypervolume)
    last = seen[-1]
    assert result.progress is last and last.done == last.budget == 2
    frame = front.trials_frame(_trials(url, "progress"), spec)
    assert last.hypervolume is not None and last.hypervolume > 0
    ok = frame[(frame["state"] == "COMPLETE") & frame["feasible"]]
    names = spec.objective_names
    assert last.hypervolume == pytest.approx(front.hypervolume(ok, names, search.run_bounds(frame, names)))
    assert set(last.best) == set(spec.objective_names)


def test_progress_hypervolume_never_falls_once_its_scale_is_set():
    """A late trial that widens an axis rescaled the old measure down; the run's fixed bounds
    (the first N_BOUNDS finished trials) keep the progress hypervolume rising."""
    n = search.N_BOUNDS
    auc = [0.70 + 0.02 * i for i in range(n)] + [0.80, 0.60]
    lat = [10.0 - 0.5 * i for i in range(n)] + [4.0, 1.0]  # the last trial: poor but very fast
    frame = pd.DataFrame(
        {
            "number": range(len(auc)),
            "state": "COMPLETE",
            "feasible": True,
            "datetime_complete": pd.date_range("2026-01-01", periods=len(auc), freq="min"),
            "roc_auc": auc,
            "latency_p95_ms": lat,
        }
    )
    names = ["roc_auc", "latency_p95_ms"]
    fixed = [front.hypervolume(frame[:k], names, search.run_bounds(frame[:k], names)) for k in range(n, len(auc) + 1)]
    assert all(b >= a for a, b in zip(fixed, fixed[1:])) and fixed[-2] > fixed[0]
    rescaled = [front.hypervolume(frame[:k], names, front.bounds(frame[:k], names)) for k in (len(auc) - 1, len(auc))]
    assert rescaled[1] < rescaled[0]  # what the progress bar showed before
    shuffled = frame.iloc[::-1]  # bounds follow completion time, not row order
    assert (search.run_bounds(shuffled, names) == search.run_bounds(frame, names)).all()
