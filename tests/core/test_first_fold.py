"""Issue 15, multi-fidelity: a trial whose first CV fold shows it cannot reach the front stops there."""

from __future__ import annotations

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState

from core import search
from core.metrics.operating_points import Scores
from core.models import families as fam
from core.search import _dominated as dominated
from core.search import _first_fold as ff
from core.search import reader as study_reader
from core.spec import Budget, DataRef, Objective, Spec, Validation

N_ROWS = 8000  # 6,000 training rows: above the rule's minimum


def _spec(path, objectives=("roc_auc", "balanced_accuracy"), trials: int = 10) -> Spec:
    return Spec(
        data=DataRef(path=str(path), target="y", sensitive=("group",)),
        objectives=tuple(Objective(n) for n in objectives),
        families=("logreg", "decision_tree"),
        budget=Budget(n_trials=trials),
        seed=0,
        validation=Validation(cv_folds=3, latency_repeats=20),
    )


@pytest.fixture(scope="module")
def linear_csv(tmp_path_factory):
    """A table whose outcome is linear in four columns: a logistic regression is near the best there."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(N_ROWS, 4))
    logit = X @ np.array([1.5, -1.0, 0.8, 0.6])
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    df["group"] = rng.choice(["p", "q"], N_ROWS)
    df["y"] = (rng.random(N_ROWS) < 1 / (1 + np.exp(-logit))).astype(int)
    path = tmp_path_factory.mktemp("ff") / "linear.csv"
    df.to_csv(path, index=False)
    return path


def test_the_rule_applies_only_to_large_tables_and_prediction_objectives(linear_csv):
    spec = _spec(linear_csv)
    assert ff.applies(spec, ff.MIN_TRAIN_ROWS) and not ff.applies(spec, ff.MIN_TRAIN_ROWS - 1)
    assert ff.applies(_spec(linear_csv, ("balanced_accuracy", "dp_diff")), ff.MIN_TRAIN_ROWS)
    # the model's own figures are estimated from the fold's model; net value has no such bound
    assert ff.applies(_spec(linear_csv, ("roc_auc", "latency_p95_ms", "model_size_bytes")), ff.MIN_TRAIN_ROWS)
    assert not ff.applies(_spec(linear_csv, ("roc_auc", "value_per_1k")), 10 * ff.MIN_TRAIN_ROWS)
    # nothing the first fold's predictions decide: nothing to judge it on
    assert not ff.applies(_spec(linear_csv, ("latency_p95_ms", "model_size_bytes")), 10 * ff.MIN_TRAIN_ROWS)


def test_beaten_needs_a_better_point_by_the_margin_on_every_objective():
    mine = np.array([[0.5, 0.5], [0.2, 0.9]])
    by = np.array([0.05, 0.05])
    assert ff.beaten(mine, np.array([[0.4, 0.4], [0.1, 0.8]]), by)
    assert not ff.beaten(mine, np.array([[0.4, 0.4]]), by)  # the second point is not beaten
    assert not ff.beaten(mine, np.array([[0.47, 0.4], [0.1, 0.8]]), by)  # better, but within the margin
    assert not ff.beaten(mine, np.empty((0, 2)), by)


def _finished_trial(spec: Spec, s: Scores, rng) -> optuna.trial.FrozenTrial:
    """A finished trial whose first fold is ``s`` and whose all-rows figures are close to it."""
    summary = ff.summary(spec, s, 0.5)
    pooled = {
        n: -v * (1 + rng.normal(scale=0.002)) for n, v in zip(spec.objective_names, summary["tuned"], strict=True)
    }
    return optuna.trial.create_trial(
        params={"x": float(rng.random())},
        distributions={"x": FloatDistribution(0, 1)},
        values=[pooled[n] for n in spec.objective_names],
        user_attrs={"metrics": pooled, ff.ATTR_FIRST_FOLD: summary},
    )


def test_a_model_no_better_than_chance_stops_and_a_competitive_one_goes_on(linear_csv):
    spec = _spec(linear_csv)
    rng = np.random.default_rng(0)
    n = 2000
    y = rng.integers(0, 2, n)
    groups = rng.choice(["p", "q"], n).astype(object)
    signal = y * 1.2 + rng.normal(size=n)

    def scores(noise: float) -> Scores:
        z = signal + rng.normal(scale=noise, size=n)
        return Scores(y, 1 / (1 + np.exp(-z)), groups)

    study = optuna.create_study(directions=["maximize", "maximize"])
    study.add_trials([_finished_trial(spec, scores(0.3), rng) for _ in range(ff.MIN_FINISHED)])
    check = ff.stopper(spec, study)
    reason = check(Scores(y, rng.random(n), groups), dict)
    assert reason and "first of 3 folds" in reason and "roc_auc" in reason
    assert check(scores(0.0), dict) is None  # as good as the finished ones (better: less noise)
    # too few finished trials: nothing is judged yet
    few = optuna.create_study(directions=["maximize", "maximize"])
    few.add_trials(study.trials[: ff.MIN_FINISHED - 1])
    assert ff.stopper(spec, few)(Scores(y, rng.random(n), groups), dict) is None


def test_with_a_latency_objective_the_fold_model_s_latency_at_its_best_decides_too(linear_csv):
    spec = _spec(linear_csv, ("roc_auc", "latency_p95_ms"))
    rng = np.random.default_rng(3)
    n = 2000
    y = rng.integers(0, 2, n)
    groups = rng.choice(["p", "q"], n).astype(object)

    def scores(noise: float) -> Scores:
        return Scores(y, 1 / (1 + np.exp(-(y * 1.2 + rng.normal(scale=noise, size=n)))), groups)

    study = optuna.create_study(directions=["maximize", "minimize"])
    for _ in range(ff.MIN_FINISHED):
        t = _finished_trial(_spec(linear_csv, ("roc_auc",)), scores(1.0), rng)
        study.add_trial(
            optuna.trial.create_trial(
                params=t.params,
                distributions=t.distributions,
                values=[t.values[0], 0.1],
                user_attrs={**t.user_attrs, "metrics": {**t.user_attrs["metrics"], "latency_p95_ms": 0.1}},
            )
        )
    check = ff.stopper(spec, study)
    hopeless = Scores(y, rng.random(n), groups)
    slow = check(hopeless, lambda: {"latency_p95_ms": 2.0})
    assert slow and "latency_p95_ms at their plausible best" in slow
    # worse on ROC AUC but perhaps faster than every finished trial: it may still reach the front
    assert check(hopeless, lambda: {"latency_p95_ms": 0.05}) is None

    def never() -> dict:
        raise AssertionError("not beaten on the predictions: its own figures are not measured")

    assert check(scores(0.0), never) is None


@pytest.mark.slow
def test_a_hopeless_trial_stops_after_one_fold_shows_no_figures_and_is_never_run_again(
    linear_csv, tmp_path, monkeypatch
):
    # this is about the first-fold rule: the one after every fold (tests/core/test_dominated.py)
    # would stop some of these near-identical regressions before the eight the rule waits for finish
    monkeypatch.setattr(dominated, "stopper", lambda spec, study: lambda *_: None)
    spec = _spec(linear_csv, trials=ff.MIN_FINISHED + 2)
    url = f"sqlite:///{tmp_path / 'ff.db'}"
    study = search.create_study(spec, url, "ff", warm_start=False)
    for c in np.geomspace(0.05, 50, ff.MIN_FINISHED):
        study.enqueue_trial(fam.flat_params("logreg", {"C": float(c), "class_weight": "none"}))
    stump = fam.flat_params(
        "decision_tree", {"max_depth": 2, "min_samples_leaf": 200, "criterion": "gini", "class_weight": "none"}
    )
    study.enqueue_trial(stump)
    study.enqueue_trial(stump)  # proposed again: skipped, not fitted a second time
    study.enqueue_trial(fam.flat_params("logreg", {"C": 0.2, "class_weight": "balanced"}))
    search.run("ff", url)

    trials = search.open_study(url, "ff").get_trials(deepcopy=False)
    first, again = (t for t in trials if t.params == stump)
    assert first.state == TrialState.PRUNED and ff.stopped(first)
    assert "first of 3 folds" in first.user_attrs[ff.ATTR_STOPPED]
    assert "metrics" not in first.user_attrs and "test_metrics" not in first.user_attrs  # no partial figures
    assert again.state == TrialState.PRUNED and again.user_attrs[search.ATTR_DUPLICATE] == first.number
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(done) == ff.MIN_FINISHED + 1 and all(ff.ATTR_FIRST_FOLD in t.user_attrs for t in done)
    # every table that lists trials says why it stopped (the search page's "Stopped early")
    frame = study_reader.read_frame(url, "ff", spec)
    assert frame.set_index("number").loc[first.number, "stopped"] == first.user_attrs[ff.ATTR_STOPPED]
    assert frame["stopped"].notna().sum() == 1
    # the stopped trial counts in the budget (it cost a fit); the skipped copy does not
    assert search.counted(trials) == study_reader.counted(url, "ff") == (ff.MIN_FINISHED + 2, 0)
