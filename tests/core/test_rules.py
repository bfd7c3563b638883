"""Decision rules on a tiny table: a threshold curve counted by hand, and group thresholds that
equalise selection rates or recall (deterministic rules a bundle can apply bit for bit)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.decide.operating_points import RULE_CRITERION, RULE_KIND, points_frame
from core.metrics import decide
from core.metrics.operating_points import (
    CRITERION_OPPORTUNITY,
    CRITERION_PARITY,
    KIND_GROUP,
    Scores,
    curve_metrics,
    group_decisions,
    operating_points,
    opportunity_thresholds,
    parity_thresholds,
)
from core.spec import ValueModel

Y = np.array([1, 0, 1, 0, 1, 0, 1, 0])
P = np.array([0.9, 0.8, 0.7, 0.6, 0.4, 0.3, 0.2, 0.1])
G = np.array(["a", "a", "a", "a", "b", "b", "b", "b"])


def test_threshold_curve_counted_by_hand():
    m = curve_metrics(np.array([0.5, 0.75]), Scores(Y, P, G), ValueModel())
    # 0.5 selects rows 0-3: TP 2 FP 2 FN 2 TN 2 -> accuracy 0.5; group a all selected, b none -> dp 1
    # 0.75 selects rows 0-1: TP 1 FP 1 FN 3 TN 3 -> accuracy 0.5, F1 = 2/(2+1+3)
    assert np.allclose(m["accuracy"], [0.5, 0.5])
    assert np.allclose(m["f1"], [0.5, 2 / 6])
    assert np.allclose(m["dp_diff"], [1.0, 0.5])


def test_group_thresholds_equalise_selection_rates():
    cuts, default = parity_thresholds(P, G, 0.5)
    decisions = group_decisions(P, G, cuts, default)
    rates = pd.Series(decisions).groupby(G).mean()
    assert rates["a"] == rates["b"] == 0.5
    assert cuts == {"a": 0.75, "b": 0.25}  # midpoints of the 2nd and 3rd highest scores
    m = curve_metrics(np.array([0.5]), Scores(Y, P, G), ValueModel())
    assert m["dp_diff"][0] == 1.0  # one threshold for everyone is as unequal as it gets here
    # a group the rule never saw is decided at the pooled threshold
    assert group_decisions([0.5, 0.4], ["c", "c"], cuts, default).tolist() == [1, 0]
    # numbers read as floats at scoring time find the group they were as integers
    assert group_decisions([0.5], [1.0], {"1": 0.6}, 0.1).tolist() == [0]


def test_group_thresholds_equalise_recall_counted_by_hand():
    cuts, default = opportunity_thresholds(P, Y, G, 0.5)
    # positives: a scores 0.9, 0.7 -> cut 0.8; b scores 0.4, 0.2 -> cut 0.3; pooled 0.9 0.7 0.4 0.2 -> 0.55
    assert cuts == {"a": 0.8, "b": 0.3} and default == 0.55
    decisions = group_decisions(P, G, cuts, default)
    recall = pd.Series(decisions[Y == 1]).groupby(G[Y == 1]).mean()
    assert recall["a"] == recall["b"] == 0.5
    one = decide(P, default)  # one threshold at the same overall recall: a 1.0, b 0.0
    assert pd.Series(one[Y == 1]).groupby(G[Y == 1]).mean().tolist() == [1.0, 0.0]


def test_curve_carries_group_points_only_when_allowed():
    s = Scores(Y, P, G)
    plain = operating_points(s, s, ValueModel(), ["accuracy", "dp_diff"], tuned=0.5)
    assert "kinds" not in plain
    curve = operating_points(s, s, ValueModel(), ["accuracy", "dp_diff"], tuned=0.5, group_rules=True)
    n = len(curve["threshold"])
    assert len(curve["kinds"]) == len(curve["group_thresholds"]) == n == len(curve["search"]["dp_diff"])
    assert len(curve["test"]["accuracy"]) == n
    groups = [i for i, k in enumerate(curve["kinds"]) if k == KIND_GROUP]
    assert groups and all(curve["group_thresholds"][i] for i in groups)
    criteria = {curve["group_criteria"][i] for i in groups}
    assert criteria == {CRITERION_PARITY, CRITERION_OPPORTUNITY} and len(curve["group_criteria"]) == n
    parity = [i for i in groups if curve["group_criteria"][i] == CRITERION_PARITY]
    assert all(curve["search"]["dp_diff"][i] == 0.0 for i in parity)  # 4 rows a group: exact parity
    frame = pd.DataFrame({"number": [0], "state": ["COMPLETE"], "accuracy": [0.5], "dp_diff": [1.0]})
    pf = points_frame(frame, {0: curve})
    assert (pf[RULE_KIND] == KIND_GROUP).sum() == len(groups)
    assert set(pf.loc[pf[RULE_KIND] == KIND_GROUP, RULE_CRITERION]) == criteria
    assert pf.loc[pf["point"] == curve["tuned"], RULE_KIND].item() == "threshold"


def test_group_rule_survives_skops_and_refuses_a_table_without_its_column():
    import pytest
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    from core.errors import UserInputError
    from core.export import rules, safety

    X = pd.DataFrame({"x": P, "sex": G})
    lr = LogisticRegression().fit(X[["x"]], Y)
    rule = rules.group_rule(["sex"], {"a": 0.6, "b": 0.4}, 0.5)
    model = rules.with_rule(lr, rule, ["x"])
    data = safety.dump_model(model)
    assert sio.get_untrusted_types(data=data) == [rules.TRUSTED_TYPE] == list(safety.RULE_TYPES)
    back = safety.load_model(data)  # the bundle's loader trusts our rule estimator
    proba = lr.predict_proba(X[["x"]])[:, 1]
    expected = np.where(G == "a", proba >= 0.6, proba >= 0.4).astype(int)
    assert back.predict(X).tolist() == expected.tolist()
    assert "per group of sex" in rules.rule_description(rule)
    assert "One threshold for everyone" in rules.rule_description(rules.threshold_rule(0.4))
    with pytest.raises(UserInputError, match="'sex'"):
        back.predict(X[["x"]])
