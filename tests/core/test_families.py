"""The model families: registry, conditional spaces, seeded builds, parameter counts."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
from sklearn.base import BaseEstimator

from core import catalog
from core.data import load_dataset, split
from core.models import families as fam
from core.models.evaluate import make_pipeline
from core.search import typical_params
from core.spec import Validation
from tests.conftest import make_small_spec


@pytest.fixture(scope="module")
def tiny(small_csv):
    """600 training rows of real demo data (fast enough to fit all eleven families)."""
    spec = make_small_spec(small_csv)
    ds = load_dataset(spec.data)
    train, test = split(ds, Validation(test_size=0.25, max_train_rows=600), 0)
    return ds, train, test


def test_registry_covers_the_three_classes():
    assert len(fam.REGISTRY) >= 10
    assert set(fam.by_class("simple")) == {"logreg", "decision_tree", "naive_bayes", "knn", "linear_svm"}
    assert set(fam.by_class("complex")) == {"random_forest", "extra_trees", "hist_gb", "xgboost"}
    assert set(fam.by_class("ensemble")) == {"voting", "stacking"}
    assert set(fam.FAST_FAMILIES) <= set(fam.REGISTRY)
    with pytest.raises(Exception, match=r"Unknown family 'svm'\. Allowed: logreg, decision_tree"):
        fam.get("svm")


def test_the_heavy_registry_has_exactly_the_light_catalog_s_families():
    assert list(fam.REGISTRY) == list(catalog.FAMILIES)
    for name, info in catalog.FAMILIES.items():
        family = fam.REGISTRY[name]
        assert (family.label, family.klass, family.description) == (info.label, info.klass, info.description)
    assert fam.by_class("simple") == catalog.families_of("simple")
    assert fam.FAST_FAMILIES == ("logreg", "decision_tree", "naive_bayes", "hist_gb", "voting")
    # the quick path holds one ensemble, so "ensembles vs simple" can be tried on it
    assert [n for n in fam.FAST_FAMILIES if fam.get(n).klass == "ensemble"] == ["voting"]


def test_the_catalog_does_not_import_scikit_learn():
    import subprocess
    import sys

    code = "import sys, core.catalog, core.spec; print('sklearn' in sys.modules, 'optuna' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_conditional_space_prefixes_and_round_trips():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = set()
    for _ in range(40):
        trial = study.ask()
        family, params = fam.suggest(trial, tuple(fam.REGISTRY))
        seen.add(family)
        # a trial only carries its own family's parameters, each prefixed with the family name
        assert all(k == "family" or k.startswith(family + ".") for k in trial.params)
        assert fam.split_params(trial.params) == (family, params)
        assert fam.flat_params(family, params) == trial.params
        study.tell(trial, 0.0)
    assert len(seen) >= 8
    nb = [t for t in study.trials if t.params["family"] == "naive_bayes"]
    for t in nb:  # nested condition: alpha only for complement, var_smoothing only for gaussian
        variant = t.params["naive_bayes.variant"]
        assert ("naive_bayes.alpha" in t.params) == (variant == "complement")


# ensembles at their typical size fit 16 member models per trial; smaller ones test the same code
SMALL = {
    "stacking": {"rf_trees": 10, "rf_depth": 4, "gb_iter": 20},
    "voting": {"gb_iter": 20},
    "random_forest": {"n_estimators": 20},
}


def _n_jobs_values(est: BaseEstimator) -> list:
    return [v for k, v in est.get_params(deep=True).items() if k.endswith("n_jobs") and v is not None]


@pytest.mark.parametrize("name", list(fam.REGISTRY))
def test_every_family_fits_predicts_and_is_seeded(tiny, name):
    ds, train, test = tiny
    params = {**typical_params(name), **SMALL.get(name, {})}
    est = fam.get(name).build(params, 0)
    assert all(v == 1 for v in _n_jobs_values(est)), "one thread per fit: parallelism comes from trials"
    a = make_pipeline(name, params, ds, 0).fit(ds.X.iloc[train], ds.y[train])
    proba = a.predict_proba(ds.X.iloc[test])[:, 1]
    assert proba.shape == (len(test),) and np.all((proba >= 0) & (proba <= 1))
    assert fam.count_parameters(a) > 0
    if name in ("random_forest", "extra_trees", "xgboost", "stacking"):  # randomised: the seed fixes them
        b = make_pipeline(name, params, ds, 0).fit(ds.X.iloc[train], ds.y[train])
        assert np.array_equal(b.predict_proba(ds.X.iloc[test])[:, 1], proba)


def test_count_parameters_by_hand(tiny):
    ds, train, _ = tiny
    X, y = ds.X.iloc[train], ds.y[train]
    lr = make_pipeline("logreg", {"C": 1.0, "class_weight": "none"}, ds, 0).fit(X, y)
    n_features = lr.named_steps["prep"].transform(X.iloc[:1]).shape[1]
    assert fam.count_parameters(lr) == n_features + 1  # one coefficient per encoded feature + intercept
    tree = make_pipeline(
        "decision_tree", {"max_depth": 3, "min_samples_leaf": 5, "criterion": "gini", "class_weight": "none"}, ds, 0
    ).fit(X, y)
    assert fam.count_parameters(tree) == tree.named_steps["model"].tree_.node_count <= 15
    knn = make_pipeline("knn", {"n_neighbors": 5, "weights": "uniform"}, ds, 0).fit(X, y)
    assert fam.count_parameters(knn) == len(X) * n_features  # it stores the training data
    rf = make_pipeline(
        "random_forest",
        {"n_estimators": 3, "max_depth": 2, "min_samples_leaf": 5, "max_features": "sqrt", "class_weight": "none"},
        ds,
        0,
    ).fit(X, y)
    assert fam.count_parameters(rf) == sum(t.tree_.node_count for t in rf.named_steps["model"].estimators_)


def test_stacking_folds_are_recorded_so_an_older_trial_rebuilds_as_it_was_fitted():
    """New stacking trials record ``stack_cv`` (2); a trial stored before the setting existed has no
    such parameter and rebuilds with the 3 folds it was fitted with, so it reproduces."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    trial = study.ask({"family": optuna.distributions.CategoricalDistribution(["stacking"])})
    family, params = fam.suggest(trial, ("stacking",))
    assert family == "stacking" and params["stack_cv"] == fam.STACK_CV == 2
    assert trial.params["stacking.stack_cv"] == 2
    assert fam.get("stacking").build(params, 0).cv == 2
    old = {k: v for k, v in params.items() if k != "stack_cv"}
    assert fam.get("stacking").build(old, 0).cv == 3
