"""One configuration, fitted for real on real demo rows: every metric measured, and re-fits identical."""

from __future__ import annotations

import numpy as np
import pytest

from core import objectives as obj
from core.data import load_dataset, split
from core.metrics import fairness_metrics, quality, value_per_1k
from core.models import families as fam
from core.models.evaluate import evaluate, make_pipeline
from tests.conftest import make_small_spec

DETERMINISTIC = [m for m in obj.REGISTRY if obj.get(m).group in ("quality", "fairness")] + [
    "model_size_bytes",
    "n_parameters",
]


@pytest.fixture(scope="module")
def setup(small_csv):
    spec = make_small_spec(small_csv)
    ds = load_dataset(spec.data)
    train, test = split(ds, spec.validation, spec.seed)
    return spec, ds, train, test


@pytest.fixture(scope="module")
def tree_eval(setup):
    spec, ds, train, test = setup
    params = {"max_depth": 4, "min_samples_leaf": 20, "criterion": "gini", "class_weight": "none"}
    return params, evaluate("decision_tree", params, ds, train, test, spec, keep_model=True)


def test_every_catalogue_metric_is_measured(tree_eval, setup):
    spec, ds, train, test = setup
    _, ev = tree_eval
    for m in obj.REGISTRY.values():
        v = ev.metrics[m.name]
        assert np.isfinite(v), m.name
        assert m.bounds[0] <= v <= m.bounds[1], (m.name, v)
    assert set(obj.TEST_METRICS) <= set(ev.test)
    assert set(obj.QUALITY) == set(ev.cv_std) and all(v >= 0 for v in ev.cv_std.values())
    assert 0 < ev.threshold < 1
    assert set(ev.groups_test["group"]) == set(ds.groups.iloc[test])
    assert ev.groups_test["n"].sum() == len(test)
    assert {"cv_s", "fit_test_s", "latency_s", "size_s", "total_s"} <= set(ev.timings)
    assert ev.timings["total_s"] >= ev.timings["cv_s"] + ev.timings["latency_s"]
    assert ev.metrics["latency_p50_ms"] <= ev.metrics["latency_p95_ms"] <= ev.metrics["latency_p99_ms"]
    assert ev.metrics["n_parameters"] == fam.count_parameters(ev.pipeline)
    assert ev.metrics["n_parameters"] <= 2**5  # a depth-4 tree has at most 31 nodes
    assert ev.metrics["fit_time_s"] > 0 and ev.metrics["model_size_bytes"] > 1000


def test_test_metrics_are_the_held_out_part_scored_at_the_tuned_threshold(tree_eval, setup):
    spec, ds, train, test = setup
    _, ev = tree_eval
    assert len(ev.test_proba) == len(test)
    assert np.allclose(ev.pipeline.predict_proba(ds.X.iloc[test])[:, 1], ev.test_proba)
    pred = (ev.test_proba >= ev.threshold).astype(int)
    expected = quality(ds.y[test], ev.test_proba, pred)
    expected.update(fairness_metrics(ds.y[test], pred, ds.groups.iloc[test]))
    for k, v in expected.items():
        assert ev.test[k] == pytest.approx(v), k
    money = value_per_1k(
        ds.y[test], pred, spec.value_model, tp_values=ds.value[test], mean_latency_ms=ev.latency.mean_ms
    )
    assert ev.test["value_per_1k"] == pytest.approx(money.net_per_1k)
    # the search-time value is net of the same latency penalty and infra cost
    assert ev.metrics["value_per_1k"] == pytest.approx(
        ev.metrics["gross_value_per_1k"] - ev.metrics["latency_penalty_per_1k"] - ev.metrics["infra_cost_per_1m"] / 1000
    )


def test_a_configuration_retrains_to_identical_metrics(tree_eval, setup):
    spec, ds, train, test = setup
    params, first = tree_eval
    again = evaluate("decision_tree", params, ds, train, test, spec)
    for m in DETERMINISTIC:
        assert again.metrics[m] == first.metrics[m], m
    for m in obj.TEST_METRICS:
        assert again.test[m] == pytest.approx(first.test[m], rel=1e-12) or m == "value_per_1k", m
    assert again.threshold == first.threshold and again.cv_std == first.cv_std


@pytest.mark.parametrize(
    ("family", "params"),
    [
        ("hist_gb", {"learning_rate": 0.1, "max_iter": 20, "max_leaf_nodes": 8, "l2_regularization": 1e-3}),
        ("naive_bayes", {"variant": "complement", "alpha": 0.5}),
    ],
)
def test_seeded_families_retrain_identically(setup, family, params):
    spec, ds, train, test = setup
    a = evaluate(family, params, ds, train, test, spec)
    b = evaluate(family, params, ds, train, test, spec)
    assert {m: a.metrics[m] for m in DETERMINISTIC} == {m: b.metrics[m] for m in DETERMINISTIC}


def test_make_pipeline_scales_only_where_the_family_needs_it(setup):
    spec, ds, _, _ = setup
    lr = make_pipeline("logreg", {"C": 1.0, "class_weight": "none"}, ds, 0)
    tree = make_pipeline(
        "decision_tree", {"max_depth": 3, "min_samples_leaf": 5, "criterion": "gini", "class_weight": "none"}, ds, 0
    )
    assert "scale" in dict(lr.named_steps["prep"].transformers[0][1].steps)
    assert "scale" not in dict(tree.named_steps["prep"].transformers[0][1].steps)
