"""Interpretability: importance finds the signal, partial dependence follows the model, native views read."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier
from threadpoolctl import threadpool_limits

from core.decide import explain
from core.errors import UserInputError
from core.metrics import quality


@pytest.fixture(scope="module")
def toy():
    """``signal`` decides the label, ``colour`` shifts it a little, ``noise`` does nothing."""
    rng = np.random.default_rng(0)
    n = 1200
    X = pd.DataFrame(
        {"signal": rng.normal(size=n), "noise": rng.normal(size=n), "colour": rng.choice(["red", "green", "blue"], n)}
    )
    logit = 2.5 * X["signal"] + np.where(X["colour"] == "red", 1.0, 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y.to_numpy()


def pipe(model, scale=True):
    prep = ColumnTransformer(
        [
            ("num", StandardScaler() if scale else "passthrough", ["signal", "noise"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["colour"]),
        ]
    )
    return Pipeline([("prep", prep), ("model", model)])


def test_permutation_importance_finds_the_signal(toy):
    X, y = toy
    model = pipe(LogisticRegression()).fit(X, y)
    imp = explain.permutation_importance(model, X, y, n_repeats=3, seed=0, max_rows=600)
    assert imp.n_rows == 600 and imp.scoring == "roc_auc"
    assert imp.top(1) == ["signal"]
    by = {r.feature: r for r in imp.rows}
    assert by["signal"].mean > 0.2
    assert abs(by["noise"].mean) < 0.02
    assert by["colour"].mean > by["noise"].mean


def test_threshold_metrics_are_scored_at_the_models_threshold(toy):
    X, y = toy
    model = pipe(LogisticRegression()).fit(X, y)
    proba = model.predict_proba(X)[:, 1]
    for t in (0.3, 0.7):
        s = explain.scorer("accuracy", t)(model, X, y)
        assert s == pytest.approx(quality(y, proba, (proba >= t).astype(int))["accuracy"])
    # log loss is minimised: sklearn wants greater-is-better, so it is negated
    assert explain.scorer("log_loss")(model, X, y) < 0
    with pytest.raises(UserInputError, match="Permutation importance can score"):
        explain.scorer("latency_p95_ms")


def test_partial_dependence_follows_the_model(toy):
    X, y = toy
    model = pipe(LogisticRegression()).fit(X, y)
    pds = explain.partial_dependence(model, X, ["signal", "colour"], categorical=["colour"], grid_resolution=10)
    num, cat = pds
    assert num.kind == "numeric" and len(num.grid) == 10
    assert np.all(np.diff(num.average) > 0)  # positive coefficient: rising curve
    assert cat.kind == "categorical" and set(cat.grid) == {"red", "green", "blue"}
    avg = dict(zip(cat.grid, cat.average))
    assert avg["red"] > avg["green"] and avg["red"] > avg["blue"]
    with pytest.raises(UserInputError, match="Unknown feature 'height'"):
        explain.partial_dependence(model, X, ["height"])


def test_native_view_of_a_linear_model_lists_its_coefficients(toy):
    X, y = toy
    model = pipe(LogisticRegression()).fit(X, y)
    view = explain.native_view(model)
    assert view.kind == "coefficients"
    names = [r["feature"] for r in view.table]
    assert names[0] == "num__signal"  # largest in size first
    coefs = model[-1].coef_.ravel()
    assert view.table[0]["coefficient"] == pytest.approx(coefs[np.argmax(np.abs(coefs))])
    assert view.table[0]["odds_ratio"] == pytest.approx(np.exp(view.table[0]["coefficient"]))


def test_native_view_of_a_tree_is_its_rules(toy):
    X, y = toy
    small = pipe(DecisionTreeClassifier(max_depth=2, random_state=0), scale=False).fit(X, y)
    view = explain.native_view(small)
    assert view.kind == "rules" and "num__signal" in view.text and "class:" in view.text
    assert "every rule is shown" in view.note
    deep = pipe(DecisionTreeClassifier(max_depth=8, random_state=0), scale=False).fit(X, y)
    view = explain.native_view(deep, max_depth=3)
    assert "truncated branch" in view.text and "folded" in view.note


def test_other_models_say_they_have_no_native_view(toy):
    X, y = toy
    with threadpool_limits(limits=1):  # OpenMP on a busy 2-core machine is many times slower
        model = pipe(HistGradientBoostingClassifier(max_iter=10), scale=False).fit(X, y)
    view = explain.native_view(model)
    assert view.kind == "none" and "HistGradientBoostingClassifier" in view.note


def test_explain_a_stored_candidate(finished_study):
    from core import search
    from core.decide import compare, front

    url, name, _ = finished_study
    frame = front.trials_frame(search.open_study(url, name).get_trials(), None)
    number = int(frame[frame.family == "logreg"].number.min())
    (cand,) = compare.load_candidates(url, name, [number], refit=True)  # explanations need the model
    ex = explain.explain(cand, top_k=2, n_repeats=2)
    assert ex.number == number and ex.native.kind == "coefficients"
    assert set(r.feature for r in ex.importance.rows) == set(cand.dataset.X.columns)
    assert [p.feature for p in ex.partial_dependence] == ex.importance.top(2)
    assert ex.to_dict()["importance"]["rows"][0]["feature"] == ex.importance.top(1)[0]
