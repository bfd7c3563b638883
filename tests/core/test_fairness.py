"""Fairness numbers equal fairlearn's on the same predictions, whatever container they come in."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
)
from sklearn.metrics import accuracy_score, recall_score

from core.metrics.fairness import fairness_metrics, group_table

# group a: y 1 1 0 0, pred 1 0 1 0 → selection ½, recall ½, accuracy ½
# group b: y 1 0 0 0 0 0, pred 1 1 0 0 0 0 → selection ⅓, recall 1, FPR ⅕, accuracy ⅚
Y = [1, 1, 0, 0, 1, 0, 0, 0, 0, 0]
PRED = [1, 0, 1, 0, 1, 1, 0, 0, 0, 0]
G = ["a"] * 4 + ["b"] * 6

CONTAINERS = {
    "list": lambda v: list(v),
    "ndarray": lambda v: np.asarray(v),
    "series": lambda v: pd.Series(v, index=np.arange(100, 100 + len(v))),  # a non-default index
}


@pytest.mark.parametrize("kind", list(CONTAINERS))
def test_matches_hand_computed_values(kind):
    wrap = CONTAINERS[kind]
    m = fairness_metrics(wrap(Y), wrap(PRED), wrap(G))
    assert m["dp_diff"] == pytest.approx(1 / 2 - 1 / 3)
    assert m["dp_ratio"] == pytest.approx((1 / 3) / (1 / 2))
    # TPR gap: 1 − ½ = ½; FPR gap: ½ − ⅕ = 0.3 → equalized odds difference ½
    assert m["eo_diff"] == pytest.approx(0.5)
    assert m["worst_group_recall"] == pytest.approx(0.5)
    assert m["worst_group_accuracy"] == pytest.approx(0.5)


@pytest.mark.parametrize("kind", list(CONTAINERS))
@pytest.mark.parametrize("seed", [0, 1])
def test_equals_fairlearn_on_random_predictions(kind, seed):
    rng = np.random.default_rng(seed)
    n = 500
    groups = rng.choice(["18-24", "25-34", "35-44", "55+"], n, p=[0.2, 0.4, 0.3, 0.1])
    y = (rng.random(n) < np.where(groups == "55+", 0.4, 0.25)).astype(int)
    pred = (rng.random(n) < 0.3 + 0.3 * y).astype(int)
    wrap = CONTAINERS[kind]
    ours = fairness_metrics(wrap(y), wrap(pred), wrap(groups))
    assert ours["dp_diff"] == pytest.approx(demographic_parity_difference(y, pred, sensitive_features=groups))
    assert ours["dp_ratio"] == pytest.approx(demographic_parity_ratio(y, pred, sensitive_features=groups))
    assert ours["eo_diff"] == pytest.approx(equalized_odds_difference(y, pred, sensitive_features=groups))
    frame = MetricFrame(
        metrics={"recall": recall_score, "accuracy": accuracy_score}, y_true=y, y_pred=pred, sensitive_features=groups
    )
    assert ours["worst_group_recall"] == pytest.approx(frame.group_min()["recall"])
    assert ours["worst_group_accuracy"] == pytest.approx(frame.group_min()["accuracy"])


def test_group_table_has_one_row_per_group():
    table = group_table(Y, PRED, G)
    assert list(table["group"]) == ["a", "b"]
    assert list(table["n"]) == [4, 6]
    assert table["base_rate"].tolist() == pytest.approx([0.5, 1 / 6])
    assert table["selection_rate"].tolist() == pytest.approx([0.5, 1 / 3])
    assert table["recall"].tolist() == pytest.approx([0.5, 1.0])
    assert table["precision"].tolist() == pytest.approx([0.5, 0.5])
    assert table["accuracy"].tolist() == pytest.approx([0.5, 5 / 6])


def test_nobody_selected_is_parity_not_nan():
    m = fairness_metrics(Y, [0] * len(Y), G)
    assert m["dp_diff"] == 0.0 and m["dp_ratio"] == 1.0
    assert m["worst_group_recall"] == 0.0
    assert all(np.isfinite(v) for v in m.values())


def test_group_without_positives_is_left_out_of_worst_recall():
    y = [0, 0, 0, 1, 0, 1]
    pred = [1, 0, 0, 1, 0, 1]
    g = ["a", "a", "b", "b", "c", "c"]
    m = fairness_metrics(y, pred, g)
    assert m["worst_group_recall"] == 1.0  # group a has no positives: no recall to be worst at
    assert np.isnan(group_table(y, pred, g).set_index("group").loc["a", "recall"])


def test_single_group_has_no_gaps():
    m = fairness_metrics(Y, PRED, ["all"] * len(Y))
    assert m["dp_diff"] == 0.0 and m["eo_diff"] == 0.0 and m["dp_ratio"] == 1.0


@pytest.mark.parametrize(
    ("y", "pred", "g"),
    [
        ([0, 0, 0, 1, 0, 1], [1, 0, 0, 1, 0, 1], list("aabbcc")),  # group a has no positives
        ([1, 1, 0, 1, 0, 1], [1, 0, 0, 1, 1, 1], list("aabbcc")),  # group a has no negatives
        ([0, 1, 0, 1], [0, 0, 0, 0], list("abab")),  # nobody selected
    ],
)
def test_degenerate_groups_match_fairlearn_where_fairlearn_is_defined(y, pred, g):
    ours = fairness_metrics(y, pred, g)
    assert ours["eo_diff"] == pytest.approx(equalized_odds_difference(y, pred, sensitive_features=g))
    assert ours["dp_diff"] == pytest.approx(demographic_parity_difference(y, pred, sensitive_features=g))


def test_report_is_metrics_and_table_in_one_pass():
    from core.metrics.fairness import fairness_report

    gaps, table = fairness_report(Y, PRED, G)
    assert gaps == fairness_metrics(Y, PRED, G)
    assert table.equals(group_table(Y, PRED, G)[list(table.columns)])


def test_unit_weights_are_unweighted_and_integer_weights_repeat_rows():
    rng = np.random.default_rng(3)
    n = 300
    groups = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    y = (rng.random(n) < 0.3).astype(int)
    pred = (rng.random(n) < 0.3 + 0.3 * y).astype(int)
    assert fairness_metrics(y, pred, groups, sample_weight=np.ones(n)) == pytest.approx(
        fairness_metrics(y, pred, groups), abs=1e-12
    )
    w = rng.integers(0, 4, n)
    rows = np.repeat(np.arange(n), w)
    weighted = fairness_metrics(y, pred, groups, sample_weight=w)
    assert weighted == pytest.approx(fairness_metrics(y[rows], pred[rows], groups[rows]), abs=1e-12)
    frame = MetricFrame(
        metrics={"recall": recall_score, "accuracy": accuracy_score},
        y_true=y,
        y_pred=pred,
        sensitive_features=groups,
        sample_params={"recall": {"sample_weight": w}, "accuracy": {"sample_weight": w}},
    )
    assert weighted["worst_group_accuracy"] == pytest.approx(frame.group_min()["accuracy"])
    assert weighted["worst_group_recall"] == pytest.approx(frame.group_min()["recall"])


def test_a_group_missing_from_a_resample_is_skipped():
    w = np.array([1.0] * 4 + [0.0] * 6)  # group b drawn zero times
    m = fairness_metrics(Y, PRED, G, sample_weight=w)
    assert m["dp_diff"] == 0.0 and m["dp_ratio"] == 1.0 and m["worst_group_accuracy"] == pytest.approx(0.5)


# -- group sizes and intervals beside every group rate ----------------------------------------------


@pytest.mark.parametrize(("k", "n"), [(0, 10), (5, 10), (10, 10), (3, 11), (180, 1000)])
def test_rate_interval_is_wilsons(k, n):
    from scipy.stats import binomtest

    from core.metrics.fairness import rate_interval

    low, high = rate_interval(k, n)
    ref = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert (float(low), float(high)) == pytest.approx((ref.low, ref.high), abs=1e-9)
    assert np.isnan(rate_interval(0, 0)[0])


def test_group_table_has_sizes_intervals_and_flags_small_groups():
    from core.metrics.fairness import rate_interval

    table = group_table(Y, PRED, G, min_rows=5).set_index("group")
    assert table["n"].to_dict() == {"a": 4, "b": 6}
    # group b: recall 1 of its 1 positive, precision 1 of 2 selected, accuracy 5 of 6 rows
    for rate, (k, n) in {"recall": (1, 1), "precision": (1, 2), "accuracy": (5, 6), "selection_rate": (2, 6)}.items():
        low, high = map(float, rate_interval(k, n))
        assert (table.loc["b", f"{rate}_low"], table.loc["b", f"{rate}_high"]) == pytest.approx((low, high))
        assert table.loc["b", f"{rate}_low"] <= table.loc["b", rate] <= table.loc["b", f"{rate}_high"]
    assert table.loc["a", "note"] == "only 4 rows: too few to judge"
    assert table.loc["b", "note"] == ""
    assert (group_table(Y, PRED, G)["note"] == "").all()  # no minimum given: nothing flagged


def test_intersections_and_stored_tables_get_the_same_flags():
    """Groups of several sensitive columns are their intersections; a table stored without
    intervals (an older trial) gets the same intervals and flags as a fresh one."""
    from core.metrics.fairness import fairness_report, with_intervals

    rng = np.random.default_rng(4)
    g = np.array([f"{s} × {a}" for s, a in zip(rng.choice(["f", "m"], 200), rng.choice(["<30", "30+"], 200))])
    g[:3] = "f × 80+"  # a rare intersection
    y = (rng.random(200) < 0.3).astype(int)
    pred = (rng.random(200) < 0.4).astype(int)
    fresh = group_table(y, pred, g, min_rows=20)
    stored = pd.DataFrame(fairness_report(y, pred, g)[1].to_dict("records"))
    pd.testing.assert_frame_equal(with_intervals(stored, min_rows=20), fresh)
    flagged = fresh.set_index("group")["note"]
    assert flagged["f × 80+"] == "only 3 rows: too few to judge"
    assert (flagged.drop("f × 80+") == "").all()
