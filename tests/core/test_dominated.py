"""Issue 15, multi-fidelity's second step: a trial whose cross-validation shows that none of its
operating points can be on the front stops before the refit and the measurements."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState

from core import search
from core.cli.search import print_summary
from core.data import load_dataset, split
from core.decide import front
from core.decide.operating_points import points_frame
from core.metrics.operating_points import Scores, operating_points
from core.models import families as fam
from core.models import latency, served
from core.models.evaluate import evaluate, fold_estimates, make_pipeline, skops_bytes
from core.search import _dominated as dom
from core.search import _first_fold as ff
from core.search import reader as study_reader
from core.search._study import typical_params
from core.spec import Budget, DataRef, Objective, Spec, Validation, ValueModel

N_ROWS = 8000  # 6,000 training rows: above the multi-fidelity minimum
NAMES = ("balanced_accuracy", "dp_diff")


def _spec(path, objectives=NAMES, trials: int = 4, families=("logreg", "decision_tree")) -> Spec:
    return Spec(
        data=DataRef(path=str(path), target="y", sensitive=("group",)),
        objectives=tuple(Objective(n) for n in objectives),
        families=families,
        budget=Budget(n_trials=trials),
        seed=0,
        validation=Validation(cv_folds=3, latency_repeats=20),
    )


@pytest.fixture(scope="module")
def linear_csv(tmp_path_factory):
    """An outcome linear in four columns, two groups whose base rates differ a little."""
    rng = np.random.default_rng(11)
    X = rng.normal(size=(N_ROWS, 4))
    group = rng.choice(["p", "q"], N_ROWS)
    logit = X @ np.array([1.5, -1.0, 0.8, 0.6]) + 0.3 * (group == "p")
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    df["group"] = group
    df["y"] = (rng.random(N_ROWS) < 1 / (1 + np.exp(-logit))).astype(int)
    path = tmp_path_factory.mktemp("dom") / "linear.csv"
    df.to_csv(path, index=False)
    return path


def test_beaten_is_strict_on_every_objective_for_every_point():
    mine = np.array([[0.5, 0.5], [0.2, 0.9]])
    assert dom.beaten(mine, np.array([[0.4, 0.4], [0.1, 0.8]]))
    assert not dom.beaten(mine, np.array([[0.4, 0.4]]))  # the second point is not beaten
    assert not dom.beaten(mine, np.array([[0.5, 0.4], [0.1, 0.8]]))  # a tie is not beaten
    assert not dom.beaten(mine, np.empty((0, 2)))
    assert not dom.beaten(np.empty((0, 2)), mine)  # nothing to judge: never stopped


def test_losses_read_a_curve_a_threshold_free_figure_and_a_trial_without_a_curve():
    curve = {"search": {"balanced_accuracy": [0.6, 0.7, None], "dp_diff": [0.01, 0.05, 0.02]}}
    L = dom.losses(curve, {"roc_auc": 0.8}, ("balanced_accuracy", "dp_diff", "roc_auc"))
    # maximised figures are negated; a missing figure drops its point; the ranking is on every row
    np.testing.assert_allclose(L, [[-0.6, 0.01, -0.8], [-0.7, 0.05, -0.8]])
    np.testing.assert_allclose(dom.losses(None, {"balanced_accuracy": 0.7, "dp_diff": 0.1}, NAMES), [[-0.7, 0.1]])


def _scores(rng, n: int, noise: float) -> Scores:
    y = rng.integers(0, 2, n)
    groups = rng.choice(["p", "q"], n).astype(object)
    z = y * 1.5 + rng.normal(scale=noise, size=n)
    return Scores(y, 1 / (1 + np.exp(-z)), groups, folds=np.arange(n) % 3)


def _finished(spec: Spec, s: Scores) -> optuna.trial.FrozenTrial:
    curve = operating_points(s, None, spec.value_model, spec.objective_names, tuned=0.5)
    return optuna.trial.create_trial(
        params={"x": 0.5},
        distributions={"x": FloatDistribution(0, 1)},
        values=[0.0, 0.0],
        user_attrs={"metrics": {}, search.ATTR_CURVE: curve},
    )


def _no_estimate() -> dict:
    raise AssertionError("the figures of the predictions decide: no fold model is measured")


def test_a_model_s_own_figures_are_estimated_only_for_a_trial_already_beaten_on_the_others(linear_csv):
    spec = _spec(linear_csv, ("roc_auc", "latency_p95_ms"))
    rng = np.random.default_rng(1)
    study = optuna.create_study(directions=["maximize", "minimize"])
    strong = _finished(spec, _scores(rng, 3000, 0.5))
    strong.user_attrs["metrics"] = {"roc_auc": 0.9, "latency_p95_ms": 0.1}
    study.add_trial(strong)
    check = dom.stopper(spec, study)
    asked: list[int] = []

    def estimate(ms: float):
        def measure() -> dict:
            asked.append(1)
            return {"latency_p95_ms": ms}

        return measure

    assert check(_scores(rng, 3000, 0.3), 0.5, {"roc_auc": 0.95}, _no_estimate) is None  # better: not measured
    slow = check(_scores(rng, 3000, 3.0), 0.5, {"roc_auc": 0.7}, estimate(2.0))
    assert slow and "plausible best" in slow and asked == [1]
    # worse on ROC AUC but possibly faster: it may still reach the front on latency
    assert check(_scores(rng, 3000, 3.0), 0.5, {"roc_auc": 0.7}, estimate(0.05)) is None


def test_a_weaker_model_stops_and_one_as_good_goes_on(linear_csv):
    spec = _spec(linear_csv)
    rng = np.random.default_rng(0)
    study = optuna.create_study(directions=["maximize", "minimize"])
    check = dom.stopper(spec, study)
    weak = _scores(rng, 3000, 3.0)
    assert check(weak, 0.5, {}, _no_estimate) is None  # nothing finished yet: nothing to be beaten by
    study.add_trial(_finished(spec, _scores(rng, 3000, 0.5)))
    reason = check(weak, 0.5, {}, _no_estimate)
    assert reason and "cross-validation" in reason and "not refitted" in reason
    assert check(_scores(rng, 3000, 0.3), 0.5, {}, _no_estimate) is None  # a better one goes on
    # the same scores as the finished trial tie with it: a tie is not beaten
    same = study.trials[0].user_attrs[search.ATTR_CURVE]
    assert not dom.beaten(dom.losses(same, {}, NAMES), dom._finished_front(study.trials, NAMES))


@pytest.mark.slow
def test_a_dominated_trial_stops_before_its_refit_and_could_not_have_reached_the_front(linear_csv, tmp_path, capsys):
    spec = _spec(linear_csv)
    url = f"sqlite:///{tmp_path / 'dom.db'}"
    study = search.create_study(spec, url, "dom", warm_start=False)
    study.enqueue_trial(fam.flat_params("logreg", {"C": 1.0, "class_weight": "none"}))
    stump = fam.flat_params(
        "decision_tree", {"max_depth": 2, "min_samples_leaf": 200, "criterion": "gini", "class_weight": "none"}
    )
    study.enqueue_trial(stump)
    study.enqueue_trial(stump)  # proposed again: skipped, not fitted a second time
    study.enqueue_trial(fam.flat_params("logreg", {"C": 0.5, "class_weight": "balanced"}))
    search.run("dom", url)

    trials = search.open_study(url, "dom").get_trials(deepcopy=False)
    first, again = (t for t in trials if t.params == stump)
    assert first.state == TrialState.PRUNED and ff.stopped(first)
    assert "cross-validation" in first.user_attrs[ff.ATTR_STOPPED]
    assert "metrics" not in first.user_attrs and "test_metrics" not in first.user_attrs  # no partial figures
    assert again.state == TrialState.PRUNED and again.user_attrs[search.ATTR_DUPLICATE] == first.number
    frame = study_reader.read_frame(url, "dom", spec)
    assert frame.set_index("number").loc[first.number, "stopped"] == first.user_attrs[ff.ATTR_STOPPED]
    assert search.counted(trials) == study_reader.counted(url, "dom") == (spec.budget.n_trials, 0)
    # the CLI's summary tells the trials done in full from those stopped early
    early = sum(ff.stopped(t) for t in trials)
    print_summary("dom", url, SimpleNamespace(trials_run=spec.budget.n_trials, stopped_because="budget spent"))
    out = capsys.readouterr().out
    n = spec.budget.n_trials
    assert f"study has {n} done: {n - early} finished in full, {early} stopped early" in out

    # exact, not a guess: the stump evaluated in full has no operating point on the search front
    ds = load_dataset(spec.data)
    train_idx, test_idx = split(ds, spec.validation, spec.seed)
    family, params = fam.split_params(first.params)
    ev = evaluate(family, params, ds, train_idx, test_idx, spec)
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    pf = front.front(points_frame(search.trials_frame(done, spec), _curves(done), spec.objectives), list(NAMES))
    ours = dom.losses(ev.curve, ev.metrics, NAMES)
    theirs = np.column_stack([pf[n].astype(float) * (1 if n == "dp_diff" else -1) for n in NAMES])
    assert dom.beaten(ours, theirs)


def _curves(trials) -> dict:
    return {t.number: search.read_curve(t.user_attrs) for t in trials}


@pytest.mark.slow
def test_with_a_latency_objective_a_slow_weaker_model_stops_on_its_fold_model_s_figures(linear_csv, tmp_path):
    """k-NN scans its training rows on every request: slower than a logistic regression whatever its
    rows, and worse on a linear table, so it stops after its folds; a faster or better one would not."""
    spec = _spec(linear_csv, ("roc_auc", "latency_p95_ms"), trials=2, families=("logreg", "knn"))
    url = f"sqlite:///{tmp_path / 'lat.db'}"
    study = search.create_study(spec, url, "lat", warm_start=False)
    study.enqueue_trial(fam.flat_params("logreg", {"C": 1.0, "class_weight": "none"}))
    knn = fam.flat_params("knn", {"n_neighbors": 15, "weights": "uniform"})
    study.enqueue_trial(knn)
    search.run("lat", url)

    trials = search.open_study(url, "lat").get_trials(deepcopy=False)
    stopped = next(t for t in trials if t.params == knn)
    assert stopped.state == TrialState.PRUNED and "plausible best" in stopped.user_attrs[ff.ATTR_STOPPED]
    # and it was right: the k-NN in full is worse on ROC AUC and slower than the logistic regression
    ds = load_dataset(spec.data)
    train_idx, test_idx = split(ds, spec.validation, spec.seed)
    ev = evaluate("knn", fam.split_params(knn)[1], ds, train_idx, test_idx, spec)
    done = next(t for t in trials if t.state == TrialState.COMPLETE).user_attrs["metrics"]
    assert ev.metrics["roc_auc"] < done["roc_auc"] and ev.metrics["latency_p95_ms"] > done["latency_p95_ms"]


def test_a_fold_model_s_latency_at_its_best_is_its_onnx_graph_s_even_when_parity_fails(tmp_path):
    """The refit may pass the ONNX parity check that its fold's model fails (a split on a coordinate
    that float32 cannot tell apart), and would then be served by ONNX: the plausible best is that."""
    rng = np.random.default_rng(0)
    n = 3000
    lat = 44.9 + rng.integers(0, 20000, n) * 1e-7  # distinct in float64, not in float32
    df = pd.DataFrame({"lat": lat, "x": rng.normal(size=n), "g": rng.choice(["a", "b"], n)})
    df["y"] = ((lat - 44.9) * 1e7 % 2000 > 1000).astype(int) ^ (rng.random(n) < 0.1)
    df.to_csv(tmp_path / "coords.csv", index=False)
    ds = load_dataset(DataRef(path=str(tmp_path / "coords.csv"), target="y", sensitive=("g",)))
    model = make_pipeline("hist_gb", typical_params("hist_gb"), ds, 0).fit(ds.X, ds.y)
    assert "differ" in served.path_of(model, "hist_gb", ds.X, ds.numeric, ds.categorical)[1]

    est = fold_estimates(model, 1.5, family="hist_gb", ds=ds, X=ds.X, vm=ValueModel())
    assert est["latency_p95_ms"] < latency.screen(model, ds.X).p95_ms / 5  # the graph's, not pandas'
    assert est["fit_time_s"] < 1.5 and est["model_size_bytes"] == len(skops_bytes(model))
