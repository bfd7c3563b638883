"""The candidate model families, their Optuna search spaces and how complex each one is.

One registry serves the search (conditional spaces: parameters are named ``<family>.<param>`` so a
trial only carries its own family's parameters), the re-fit of a chosen configuration (``build``
from stored params) and the ensembles-vs-simple comparison (``klass``). Names, labels, classes and
descriptions come from :mod:`core.catalog` (which needs no scikit-learn); this module adds each
family's search space and estimator under the same name.

Every estimator gets a fixed ``random_state`` and ``n_jobs=1``: the same configuration re-trains
to the same metrics, and parallelism comes from running several trials, not from threads inside
one fit (which would also pollute the single-thread latency measurement).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import (
    ExtraTreesClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
    StackingClassifier,
    VotingClassifier,
)
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import ComplementNB, GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier

from core import catalog
from core.catalog import KLASSES, Klass
from core.errors import UserInputError

__all__ = [
    "DEFAULT_FAMILIES",
    "FAST_FAMILIES",
    "KLASSES",
    "REGISTRY",
    "Family",
    "Klass",
    "Suggester",
    "by_class",
    "count_parameters",
    "flat_params",
    "get",
    "split_params",
    "suggest",
]


class Suggester(Protocol):
    """The part of ``optuna.Trial`` a family needs; lets a stored config be rebuilt without a trial."""

    def suggest_float(self, name: str, low: float, high: float, *, log: bool = False) -> float: ...
    def suggest_int(self, name: str, low: int, high: int, *, log: bool = False) -> int: ...
    def suggest_categorical(self, name: str, choices: Any) -> Any: ...


@dataclass(frozen=True)
class Family:
    name: str
    label: str
    klass: Klass
    scale: bool
    space: Callable[[Suggester], dict[str, Any]]
    make: Callable[[dict[str, Any], int], BaseEstimator]
    description: str = ""

    def build(self, params: dict[str, Any], seed: int) -> BaseEstimator:
        return self.make(params, seed)


class _Prefixed:
    """Names every suggestion ``<family>.<param>`` so conditional spaces do not collide."""

    def __init__(self, trial: Suggester, prefix: str) -> None:
        self._trial, self._prefix = trial, prefix

    def suggest_float(self, name, low, high, *, log=False):
        return self._trial.suggest_float(f"{self._prefix}.{name}", low, high, log=log)

    def suggest_int(self, name, low, high, *, log=False):
        return self._trial.suggest_int(f"{self._prefix}.{name}", low, high, log=log)

    def suggest_categorical(self, name, choices):
        return self._trial.suggest_categorical(f"{self._prefix}.{name}", choices)


# -- simple -----------------------------------------------------------------------------------------


def _logreg_space(t: Suggester) -> dict:
    return {
        "C": t.suggest_float("C", 1e-3, 1e2, log=True),
        "class_weight": t.suggest_categorical("class_weight", ["none", "balanced"]),
    }


def _cw(v: str) -> str | None:
    return None if v == "none" else v


def _logreg(p: dict, seed: int) -> BaseEstimator:
    return LogisticRegression(C=p["C"], class_weight=_cw(p["class_weight"]), max_iter=2000, random_state=seed)


def _tree_space(t: Suggester) -> dict:
    return {
        "max_depth": t.suggest_int("max_depth", 2, 12),
        "min_samples_leaf": t.suggest_int("min_samples_leaf", 1, 200, log=True),
        "criterion": t.suggest_categorical("criterion", ["gini", "entropy"]),
        "class_weight": t.suggest_categorical("class_weight", ["none", "balanced"]),
    }


def _tree(p: dict, seed: int) -> BaseEstimator:
    return DecisionTreeClassifier(
        max_depth=p["max_depth"],
        min_samples_leaf=p["min_samples_leaf"],
        criterion=p["criterion"],
        class_weight=_cw(p["class_weight"]),
        random_state=seed,
    )


def _nb_space(t: Suggester) -> dict:
    variant = t.suggest_categorical("variant", ["gaussian", "complement"])
    if variant == "gaussian":
        return {"variant": variant, "var_smoothing": t.suggest_float("var_smoothing", 1e-11, 1e-3, log=True)}
    return {"variant": variant, "alpha": t.suggest_float("alpha", 1e-3, 10.0, log=True)}


def _nb(p: dict, seed: int) -> BaseEstimator:
    if p["variant"] == "gaussian":
        return GaussianNB(var_smoothing=p["var_smoothing"])
    # ComplementNB needs non-negative inputs; scaled features can be negative.
    return Pipeline([("nonneg", MinMaxScaler(clip=True)), ("nb", ComplementNB(alpha=p["alpha"]))])


def _knn_space(t: Suggester) -> dict:
    return {
        "n_neighbors": t.suggest_int("n_neighbors", 3, 101, log=True),
        "weights": t.suggest_categorical("weights", ["uniform", "distance"]),
    }


def _knn(p: dict, seed: int) -> BaseEstimator:
    return KNeighborsClassifier(n_neighbors=p["n_neighbors"], weights=p["weights"], n_jobs=1)


def _svm_space(t: Suggester) -> dict:
    return {
        "C": t.suggest_float("C", 1e-3, 10.0, log=True),
        "class_weight": t.suggest_categorical("class_weight", ["none", "balanced"]),
    }


def _svm(p: dict, seed: int) -> BaseEstimator:
    base = LinearSVC(C=p["C"], class_weight=_cw(p["class_weight"]), random_state=seed, max_iter=5000)
    return CalibratedClassifierCV(base, method="sigmoid", cv=3)


# -- complex ----------------------------------------------------------------------------------------


def _forest_space(t: Suggester) -> dict:
    return {
        "n_estimators": t.suggest_int("n_estimators", 10, 300, log=True),
        "max_depth": t.suggest_int("max_depth", 3, 24),
        "min_samples_leaf": t.suggest_int("min_samples_leaf", 1, 100, log=True),
        "max_features": t.suggest_categorical("max_features", ["sqrt", "log2", "half"]),
        "class_weight": t.suggest_categorical("class_weight", ["none", "balanced"]),
    }


def _mf(v: str) -> str | float:
    return 0.5 if v == "half" else v


def _forest(klass: type[RandomForestClassifier] | type[ExtraTreesClassifier]) -> Callable[[dict, int], BaseEstimator]:
    """Random forest and extra trees share one space and one set of arguments."""

    def make(p: dict, seed: int) -> BaseEstimator:
        return klass(
            n_estimators=p["n_estimators"],
            max_depth=p["max_depth"],
            min_samples_leaf=p["min_samples_leaf"],
            max_features=_mf(p["max_features"]),
            class_weight=_cw(p["class_weight"]),
            n_jobs=1,
            random_state=seed,
        )

    return make


_rf = _forest(RandomForestClassifier)
_et = _forest(ExtraTreesClassifier)


def _hgb_space(t: Suggester) -> dict:
    return {
        "learning_rate": t.suggest_float("learning_rate", 0.02, 0.3, log=True),
        "max_iter": t.suggest_int("max_iter", 20, 300, log=True),
        "max_leaf_nodes": t.suggest_int("max_leaf_nodes", 4, 64, log=True),
        "l2_regularization": t.suggest_float("l2_regularization", 1e-6, 10.0, log=True),
    }


def _hgb(p: dict, seed: int) -> BaseEstimator:
    return HistGradientBoostingClassifier(
        learning_rate=p["learning_rate"],
        max_iter=p["max_iter"],
        max_leaf_nodes=p["max_leaf_nodes"],
        l2_regularization=p["l2_regularization"],
        early_stopping=False,
        random_state=seed,
    )


def _xgb_space(t: Suggester) -> dict:
    return {
        "n_estimators": t.suggest_int("n_estimators", 20, 400, log=True),
        "max_depth": t.suggest_int("max_depth", 2, 8),
        "learning_rate": t.suggest_float("learning_rate", 0.02, 0.3, log=True),
        "subsample": t.suggest_float("subsample", 0.6, 1.0),
        "colsample_bytree": t.suggest_float("colsample_bytree", 0.5, 1.0),
        "min_child_weight": t.suggest_float("min_child_weight", 1.0, 20.0, log=True),
    }


def _xgb(p: dict, seed: int) -> BaseEstimator:
    from xgboost import XGBClassifier

    return XGBClassifier(
        n_estimators=p["n_estimators"],
        max_depth=p["max_depth"],
        learning_rate=p["learning_rate"],
        subsample=p["subsample"],
        colsample_bytree=p["colsample_bytree"],
        min_child_weight=p["min_child_weight"],
        tree_method="hist",
        n_jobs=1,
        random_state=seed,
        verbosity=0,
    )


# -- ensembles --------------------------------------------------------------------------------------


def _scaled(model: BaseEstimator) -> Pipeline:
    """Scale only for the member that needs it.

    Trees after a scaler split on float32-rounded values in ONNX and disagree with scikit-learn
    near thresholds, so ensembles keep their tree members on raw features (ONNX parity ~1e-7).
    """
    return Pipeline([("scale", StandardScaler()), ("model", model)])


def _voting_space(t: Suggester) -> dict:
    return {
        "lr_C": t.suggest_float("lr_C", 1e-2, 1e2, log=True),
        "tree_depth": t.suggest_int("tree_depth", 3, 10),
        "gb_iter": t.suggest_int("gb_iter", 20, 200, log=True),
        "gb_learning_rate": t.suggest_float("gb_learning_rate", 0.03, 0.3, log=True),
    }


def _voting(p: dict, seed: int) -> BaseEstimator:
    members = [
        ("logreg", _scaled(LogisticRegression(C=p["lr_C"], max_iter=2000, random_state=seed))),
        ("tree", DecisionTreeClassifier(max_depth=p["tree_depth"], min_samples_leaf=20, random_state=seed)),
        (
            "hist_gb",
            HistGradientBoostingClassifier(
                max_iter=p["gb_iter"], learning_rate=p["gb_learning_rate"], early_stopping=False, random_state=seed
            ),
        ),
    ]
    # flatten_transform=False: skl2onnx cannot convert the flattened soft-voting output.
    return VotingClassifier(members, voting="soft", flatten_transform=False, n_jobs=1)


#: folds of the stacking's own cross-fitting of its members. Why 2, not 3: every trial fits a
#: stacking 4 times (3 CV folds and the refit), each fitting every member once per fold and once
#: in full, so the family took most of a short search's time (bench/README.md). Two folds give the
#: final estimator out-of-fold scores of every row at two thirds of the cost.
STACK_CV = 2


def _stacking_space(t: Suggester) -> dict:
    return {
        "rf_trees": t.suggest_int("rf_trees", 10, 100, log=True),
        "rf_depth": t.suggest_int("rf_depth", 4, 16),
        "gb_iter": t.suggest_int("gb_iter", 20, 200, log=True),
        "gb_learning_rate": t.suggest_float("gb_learning_rate", 0.03, 0.3, log=True),
        "final_C": t.suggest_float("final_C", 1e-2, 1e2, log=True),
        # a setting, not searched: recorded with the trial so a trial from before it rebuilds with
        # the 3 folds it was fitted with (see _stacking)
        "stack_cv": t.suggest_categorical("stack_cv", [STACK_CV]),
    }


def _stacking(p: dict, seed: int) -> BaseEstimator:
    members = [
        ("logreg", _scaled(LogisticRegression(max_iter=2000, random_state=seed))),
        (
            "random_forest",
            RandomForestClassifier(
                n_estimators=p["rf_trees"], max_depth=p["rf_depth"], min_samples_leaf=5, n_jobs=1, random_state=seed
            ),
        ),
        (
            "hist_gb",
            HistGradientBoostingClassifier(
                max_iter=p["gb_iter"], learning_rate=p["gb_learning_rate"], early_stopping=False, random_state=seed
            ),
        ),
    ]
    return StackingClassifier(
        members,
        final_estimator=LogisticRegression(C=p["final_C"], max_iter=2000),
        cv=int(p.get("stack_cv", 3)),
        stack_method="predict_proba",
        n_jobs=1,
    )


# name → (needs scaled inputs, search space, estimator); labels, classes and descriptions come from
# core.catalog under the same names, so the light registry and this one cannot drift apart
_IMPLS: dict[
    str, tuple[bool, Callable[[Suggester], dict[str, Any]], Callable[[dict[str, Any], int], BaseEstimator]]
] = {
    "logreg": (True, _logreg_space, _logreg),
    "decision_tree": (False, _tree_space, _tree),
    "naive_bayes": (True, _nb_space, _nb),
    "knn": (True, _knn_space, _knn),
    "linear_svm": (True, _svm_space, _svm),
    "random_forest": (False, _forest_space, _rf),
    "extra_trees": (False, _forest_space, _et),
    "hist_gb": (False, _hgb_space, _hgb),
    "xgboost": (False, _xgb_space, _xgb),
    "voting": (False, _voting_space, _voting),
    "stacking": (False, _stacking_space, _stacking),
}

REGISTRY: dict[str, Family] = {
    name: Family(name, info.label, info.klass, *_IMPLS[name], info.description)
    for name, info in catalog.FAMILIES.items()
}
DEFAULT_FAMILIES: tuple[str, ...] = catalog.DEFAULT_FAMILIES
FAST_FAMILIES: tuple[str, ...] = catalog.FAST_FAMILIES


def get(name: str) -> Family:
    try:
        return REGISTRY[name]
    except KeyError:
        raise UserInputError(f"Unknown family {name!r}. Allowed: {', '.join(REGISTRY)}.", field="families") from None


def by_class(klass: Klass) -> list[str]:
    return [f.name for f in REGISTRY.values() if f.klass == klass]


def suggest(trial: Suggester, families: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
    """Choose a family, then its parameters, from an Optuna trial (conditional search space)."""
    name = trial.suggest_categorical("family", list(families))
    return name, get(name).space(_Prefixed(trial, name))


def split_params(trial_params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Invert :func:`suggest`: ``{"family": "xgboost", "xgboost.max_depth": 3}`` → family, params."""
    name = trial_params["family"]
    prefix = name + "."
    return name, {k[len(prefix) :]: v for k, v in trial_params.items() if k.startswith(prefix)}


def flat_params(family: str, params: dict[str, Any]) -> dict[str, Any]:
    """The Optuna parameter dict for a family + params (used to enqueue a known configuration)."""
    return {"family": family, **{f"{family}.{k}": v for k, v in params.items()}}


def count_parameters(est: Any) -> int:
    """Learned numbers in a fitted estimator: a rough, comparable size of what the model knows."""
    if isinstance(est, Pipeline):
        return sum(count_parameters(step) for _, step in est.steps)
    if isinstance(est, (VotingClassifier, StackingClassifier)):
        total = sum(count_parameters(e) for e in est.estimators_)
        if isinstance(est, StackingClassifier):
            total += count_parameters(est.final_estimator_)
        return total
    if isinstance(est, CalibratedClassifierCV):
        return sum(count_parameters(c.estimator) + 2 for c in est.calibrated_classifiers_)
    if hasattr(est, "get_booster"):
        dump = est.get_booster().get_dump()
        return int(sum(d.count("\n") for d in dump))
    if hasattr(est, "estimators_") and not hasattr(est, "_predictors"):
        return sum(count_parameters(e) for e in np.ravel(est.estimators_))
    if hasattr(est, "_predictors"):  # HistGradientBoosting
        return int(sum(p.nodes.shape[0] for it in est._predictors for p in it))
    if hasattr(est, "tree_"):
        return int(est.tree_.node_count)
    if hasattr(est, "coef_"):
        return int(np.size(est.coef_) + np.size(getattr(est, "intercept_", 0)))
    if hasattr(est, "theta_"):
        return int(np.size(est.theta_) + np.size(est.var_))
    if hasattr(est, "feature_log_prob_"):
        return int(np.size(est.feature_log_prob_))
    if hasattr(est, "n_samples_fit_"):
        return int(est.n_samples_fit_ * est.n_features_in_)
    return 0
