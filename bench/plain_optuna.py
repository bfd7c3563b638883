"""The plain Optuna script a data scientist would write by hand: the yardstick of ``search_wallclock.py``.

NSGA-II over logistic regression, a decision tree, a random forest, histogram gradient boosting and
XGBoost, with small spaces around scikit-learn's defaults, the decision threshold as one more
parameter, one stratified validation split and the objectives given by name. No latency, no CV, no
warm start: that is the point of the comparison (issues 14 and 15).

    .venv/bin/python bench/plain_optuna.py --data data/ads.parquet --target converted --sensitive age_band --seconds 60
"""

from __future__ import annotations

import argparse

import numpy as np
import optuna
import pandas as pd
from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier
from xgboost import XGBClassifier

# name -> (direction, score(y, y_pred, groups))
OBJECTIVES = {
    "balanced_accuracy": ("maximize", lambda y, p, g: balanced_accuracy_score(y, p)),
    "accuracy": ("maximize", lambda y, p, g: accuracy_score(y, p)),
    "f1": ("maximize", lambda y, p, g: f1_score(y, p, zero_division=0)),
    "dp_diff": ("minimize", lambda y, p, g: demographic_parity_difference(y, p, sensitive_features=g)),
    "eo_diff": ("minimize", lambda y, p, g: equalized_odds_difference(y, p, sensitive_features=g)),
}


def make_model(trial: optuna.Trial):
    """One pipeline: impute, scale and one-hot encode, then the sampled family."""
    family = trial.suggest_categorical("family", ["logreg", "tree", "forest", "hist_gb", "xgboost"])
    if family == "logreg":
        clf = LogisticRegression(C=trial.suggest_float("C", 1e-3, 1e2, log=True), max_iter=1000)
    elif family == "tree":
        clf = DecisionTreeClassifier(max_depth=trial.suggest_int("tree_depth", 2, 20))
    elif family == "forest":
        clf = RandomForestClassifier(
            n_estimators=trial.suggest_int("rf_trees", 50, 300), max_depth=trial.suggest_int("rf_depth", 3, 20)
        )
    elif family == "hist_gb":
        clf = HistGradientBoostingClassifier(learning_rate=trial.suggest_float("hgb_lr", 0.01, 0.3, log=True))
    else:
        clf = XGBClassifier(
            n_estimators=trial.suggest_int("xgb_trees", 50, 400),
            max_depth=trial.suggest_int("xgb_depth", 2, 10),
            learning_rate=trial.suggest_float("xgb_lr", 0.01, 0.3, log=True),
        )
    numeric = make_pipeline(SimpleImputer(), StandardScaler())
    categorical = make_pipeline(
        SimpleImputer(strategy="most_frequent"),
        OneHotEncoder(handle_unknown="ignore", sparse_output=False, max_categories=20),
    )
    prep = make_column_transformer(
        (numeric, make_column_selector(dtype_include="number")),
        (categorical, make_column_selector(dtype_exclude="number")),
    )
    return make_pipeline(prep, clf)


def search(X_train, y_train, groups_train, seconds, seed, objectives=("balanced_accuracy", "dp_diff")):
    """The study after ``seconds`` of NSGA-II; each trial keeps its fitted model and threshold."""
    X_fit, X_val, y_fit, y_val, _, g_val = train_test_split(
        X_train, y_train, groups_train, test_size=0.25, random_state=seed, stratify=y_train
    )
    models = {}

    def objective(trial: optuna.Trial):
        model = make_model(trial).fit(X_fit, y_fit)
        threshold = trial.suggest_float("threshold", 0.05, 0.95)
        y_pred = (model.predict_proba(X_val)[:, 1] >= threshold).astype(int)
        models[trial.number] = (model, threshold)
        return [OBJECTIVES[name][1](y_val, y_pred, g_val) for name in objectives]

    sampler = optuna.samplers.NSGAIISampler(seed=seed)
    study = optuna.create_study(directions=[OBJECTIVES[n][0] for n in objectives], sampler=sampler)
    study.optimize(objective, timeout=seconds, catch=(Exception,))
    study.set_user_attr("front", [models[t.number] for t in study.best_trials])
    return study


def run(X_train, y_train, groups_train, seconds, seed, objectives=("balanced_accuracy", "dp_diff")):
    """The Pareto front of the validation split: ``[(fitted pipeline, decision threshold), ...]``."""
    return search(X_train, y_train, groups_train, seconds, seed, objectives).user_attrs["front"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--target", required=True)
    ap.add_argument("--sensitive", required=True)
    ap.add_argument("--positive", default=None, help="the positive label (default: the minority class)")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--objectives", default="balanced_accuracy,dp_diff")
    args = ap.parse_args()
    df = pd.read_parquet(args.data) if args.data.endswith(".parquet") else pd.read_csv(args.data)
    positive = args.positive or df[args.target].value_counts().index[-1]
    y = (df[args.target].astype(str) == str(positive)).to_numpy(dtype=int)
    X, groups = df.drop(columns=[args.target, args.sensitive]), df[args.sensitive].astype(str).to_numpy()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = search(X, y, groups, args.seconds, args.seed, tuple(args.objectives.split(",")))
    print(f"{len(study.trials)} trials, {len(study.best_trials)} on the front")
    for t in study.best_trials:
        print(t.params["family"], f"threshold {t.params['threshold']:.3f}", np.round(t.values, 4))


if __name__ == "__main__":
    main()
