"""MCDM methods on small fronts whose answers were computed by hand (the working is in comments)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core.decide import mcdm
from core.errors import UserInputError

LAT, AUC = "latency_p95_ms", "roc_auc"
DIRS = {LAT: "minimize", AUC: "maximize"}


@pytest.fixture
def front() -> pd.DataFrame:
    """Four trials trading latency (minimise) against ROC AUC (maximise).

    Normalised (0 = best, 1 = worst), latency range 10..40 ms, AUC range 0.70..0.90:
        trial  latency  auc    n_lat = (x-10)/30   n_auc = (0.90-x)/0.20
        10     10 ms    0.70   0                   1
        11     20 ms    0.80   1/3                 0.5
        12     30 ms    0.85   2/3                 0.25
        13     40 ms    0.90   1                   0
    """
    return pd.DataFrame(
        {LAT: [10.0, 20.0, 30.0, 40.0], AUC: [0.70, 0.80, 0.85, 0.90]}, index=pd.Index([10, 11, 12, 13], name="trial")
    )


# -- normalise ---------------------------------------------------------------------------------


def test_normalise_is_direction_aware_and_constant_columns_are_zero(front):
    pts = front.assign(dp_diff=0.05)
    norm = mcdm.normalise(pts, {**DIRS, "dp_diff": "minimize"})
    assert norm[LAT].tolist() == pytest.approx([0, 1 / 3, 2 / 3, 1])
    assert norm[AUC].tolist() == pytest.approx([1, 0.5, 0.25, 0])
    assert norm["dp_diff"].tolist() == [0, 0, 0, 0]
    assert list(norm.index) == [10, 11, 12, 13]


def test_missing_direction_and_nan_are_refused(front):
    with pytest.raises(UserInputError, match="No direction for objective 'roc_auc'"):
        mcdm.normalise(front, {LAT: "minimize"})
    with pytest.raises(UserInputError, match="use 'minimize' or 'maximize'"):
        mcdm.normalise(front, {LAT: "min", AUC: "maximize"})
    bad = front.copy()
    bad.loc[11, AUC] = np.nan
    with pytest.raises(UserInputError, match="'roc_auc' has missing"):
        mcdm.weighted_sum(bad, DIRS)


# -- weighted sum -------------------------------------------------------------------------------


def test_weighted_sum_equal_weights(front):
    # 0.5*n_lat + 0.5*n_auc: t10 0.5, t11 (1/3+0.5)/2 = 0.416667, t12 (2/3+0.25)/2 = 0.458333,
    # t13 0.5. t10 and t13 tie at 0.5 and equal normalised sums (1.0) -> trial number decides.
    r = mcdm.weighted_sum(front, DIRS)
    assert r.winner == 11
    assert list(r.scores.index) == [11, 12, 10, 13]
    assert r.scores.tolist() == pytest.approx([5 / 12, 11 / 24, 0.5, 0.5])
    assert r.better == "lower"
    assert "Trial 11" in r.why and "20.00 ms" in r.why and "0.8000" in r.why


def test_weighted_sum_weights_are_normalised(front):
    # weights 3:1 -> 0.75/0.25: t10 0.25, t11 0.25+0.125 = 0.375, t12 0.5+0.0625 = 0.5625, t13 0.75
    r = mcdm.weighted_sum(front, DIRS, {LAT: 3, AUC: 1})
    assert r.winner == 10
    assert r.scores.loc[[10, 11, 12, 13]].tolist() == pytest.approx([0.25, 0.375, 0.5625, 0.75])
    assert "75%" in r.why


# -- Chebyshev / ASF ----------------------------------------------------------------------------


def test_chebyshev_from_the_ideal_point(front):
    # max(0.5*n_lat, 0.5*n_auc) (+1e-6 * sum): t10 0.5, t11 max(1/6, 1/4) = 0.25,
    # t12 max(1/3, 1/8) = 1/3, t13 0.5
    r = mcdm.chebyshev(front, DIRS)
    assert r.winner == 11
    assert r.scores.loc[[10, 11, 12, 13]].tolist() == pytest.approx([0.5, 0.25, 1 / 3, 0.5], abs=1e-5)


def test_chebyshev_with_aspirations_in_units(front):
    # reference 25 ms -> (25-10)/30 = 0.5; AUC 0.88 -> (0.90-0.88)/0.20 = 0.1
    # deviations (n - r): t10 (-0.5, 0.9) t11 (-1/6, 0.4) t12 (1/6, 0.15) t13 (0.5, -0.1)
    # 0.5 * max: t10 0.45, t11 0.2, t12 1/12 = 0.083333, t13 0.25  -> trial 12
    r = mcdm.chebyshev(front, DIRS, reference={LAT: 25, AUC: 0.88})
    assert r.winner == 12
    assert r.scores.loc[[10, 11, 12, 13]].tolist() == pytest.approx([0.45, 0.2, 1 / 12, 0.25], abs=1e-5)
    assert "aspiration" in r.why


def test_chebyshev_augmentation_avoids_weakly_dominated_pick():
    # With all weight on latency, trials 1 and 2 tie on the max term (both 0 ms above the best);
    # trial 2 is weakly dominated (same latency, worse AUC). The rho term must pick trial 1.
    # Listed with the dominated trial first so that table order cannot be what decides.
    pts = pd.DataFrame({LAT: [10.0, 10.0, 40.0], AUC: [0.70, 0.90, 0.95]}, index=[2, 1, 3])
    r = mcdm.chebyshev(pts, DIRS, {LAT: 1, AUC: 0})
    assert r.winner == 1
    assert r.scores[1] < r.scores[2]


def test_chebyshev_rejects_unknown_aspiration(front):
    with pytest.raises(UserInputError, match="'dp_diff'"):
        mcdm.chebyshev(front, DIRS, reference={"dp_diff": 0.1})


# -- TOPSIS -------------------------------------------------------------------------------------


def test_topsis_hand_computed(front):
    # Vector normalisation: |lat| = sqrt(100+400+900+1600) = sqrt(3000) = 54.7723
    #   r_lat = 0.182574, 0.365148, 0.547723, 0.730297
    # |auc| = sqrt(0.49+0.64+0.7225+0.81) = sqrt(2.6625) = 1.631717
    #   r_auc = 0.428992, 0.490276, 0.520918, 0.551561
    # weighted (0.5 each): v_lat = 0.091287, 0.182574, 0.273861, 0.365148
    #                      v_auc = 0.214496, 0.245138, 0.260459, 0.275780
    # ideal  A+ = (0.091287 [min latency], 0.275780 [max auc]); anti A- = (0.365148, 0.214496)
    # t10: d+ = 0.275780-0.214496 = 0.061284, d- = 0.273861 -> C = 0.273861/0.335145 = 0.817139
    # t11: d+ = sqrt(0.091287^2+0.030642^2) = 0.096292, d- = sqrt(0.182574^2+0.030642^2) = 0.185128
    #      -> C = 0.657833
    # t12: d+ = sqrt(0.182574^2+0.015321^2) = 0.183216, d- = sqrt(0.091287^2+0.045963^2) = 0.102205
    #      -> C = 0.358086
    # t13: d+ = 0.273861, d- = 0.061284 -> C = 0.061284/0.335145 = 0.182861
    r = mcdm.topsis(front, DIRS)
    assert r.better == "higher"
    assert r.winner == 10
    assert list(r.scores.index) == [10, 11, 12, 13]
    assert r.scores.loc[[10, 11, 12, 13]].tolist() == pytest.approx([0.817139, 0.657833, 0.358086, 0.182861], abs=2e-6)


def test_topsis_weights_change_the_winner(front):
    # all weight on AUC: v_lat = 0 everywhere, so C = (v_auc - min)/(max - min) on v_auc,
    # i.e. (auc-0.70)/0.20: t13 = 1, t12 = 0.75, t11 = 0.5, t10 = 0
    r = mcdm.topsis(front, DIRS, {AUC: 1})
    assert r.winner == 13
    assert r.scores.loc[[10, 11, 12, 13]].tolist() == pytest.approx([0, 0.5, 0.75, 1])


# -- lexicographic ------------------------------------------------------------------------------


def test_lexicographic_strict_order(front):
    r = mcdm.lexicographic(front, DIRS, [AUC, LAT])
    assert r.winner == 13
    assert list(r.scores.index) == [13, 12, 11, 10]


def test_lexicographic_tolerance_is_share_of_range(front):
    # AUC range 0.20; tolerance 0.30 -> within 0.06 of the best remaining AUC.
    # round 1: best 0.90 -> {12 (0.85), 13 (0.90)}; lower latency -> 12
    # round 2: {10, 11, 13}: best 0.90 -> {13}          -> 13
    # round 3: {10, 11}: best 0.80 -> {11} (0.70 is 0.10 below) -> 11, then 10
    r = mcdm.lexicographic(front, DIRS, [AUC, LAT], tolerances={AUC: 0.3})
    assert r.winner == 12
    assert r.scores.to_dict() == {12: 1.0, 13: 2.0, 11: 3.0, 10: 4.0}
    assert "within 30%" in r.why


def test_lexicographic_bad_input(front):
    with pytest.raises(UserInputError, match="'f1'"):
        mcdm.lexicographic(front, DIRS, ["f1"])
    with pytest.raises(UserInputError, match="'roc_auc'"):
        mcdm.lexicographic(front, DIRS, [LAT], tolerances={AUC: 0.1})
    with pytest.raises(UserInputError, match="0 or more"):
        mcdm.lexicographic(front, DIRS, [LAT], tolerances={LAT: -0.1})


# -- knee ---------------------------------------------------------------------------------------


def test_knee_on_the_small_front(front):
    # line through extremes (0,1) [t10] and (1,0) [t13]: x + y = 1; distance (1 - x - y)/sqrt(2)
    # t11: (1 - 1/3 - 1/2)/sqrt2 = 0.117851; t12: (1 - 2/3 - 1/4)/sqrt2 = 0.058926; ends 0
    r = mcdm.knee(front, DIRS)
    assert r.winner == 11 and r.better == "higher"
    assert r.scores.loc[[10, 11, 12, 13]].tolist() == pytest.approx([0, 0.117851, 0.058926, 0], abs=1e-6)


def test_knee_on_a_known_linear_front_with_one_bulge():
    # points on x + y = 1 plus the bulge (0.4, 0.4); in units: x = latency 10 + 100x ms,
    # y = AUC 0.95 - 0.2y (so normalised space is exactly (x, y)). Knee = the bulge:
    # distance (1 - 0.8)/sqrt(2) = 0.141421; everything on the line is 0.
    xs = [0.0, 0.1, 0.9, 1.0, 0.4]
    ys = [1.0, 0.9, 0.1, 0.0, 0.4]
    pts = pd.DataFrame({LAT: [10 + 100 * x for x in xs], AUC: [0.95 - 0.2 * y for y in ys]}, index=[0, 1, 2, 3, 7])
    r = mcdm.knee(pts, DIRS)
    assert r.winner == 7
    assert r.scores[7] == pytest.approx(0.2 / math.sqrt(2))
    assert r.scores.drop(7).abs().max() == pytest.approx(0, abs=1e-12)
    assert "knee" in r.why and "0 and 3" in r.why


def test_knee_three_objectives_uses_the_plane_through_the_extremes():
    # extreme point of each axis = the trial nearest to it: (1,0,0), (0,1,0), (0,0,1);
    # plane x + y + z = 1 through them; (0.5,0.5,0) lies on it;
    # (0.2,0.2,0.2) is (1 - 0.6)/sqrt(3) = 0.230940 inside -> the knee.
    pts = pd.DataFrame(
        [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0.5, 0.5, 0], [0.2, 0.2, 0.2]],
        columns=["a", "b", "c"],
        index=[0, 1, 2, 3, 4],
        dtype=float,
    )
    r = mcdm.knee(pts, dict.fromkeys("abc", "minimize"))
    assert r.winner == 4
    assert r.scores[4] == pytest.approx(0.4 / math.sqrt(3))
    assert r.scores[3] == pytest.approx(0, abs=1e-12)


def test_knee_degenerate_falls_back_to_closest_to_ideal():
    # axis a: nearest = min max(b, c) -> t2 (0.5); axis b: min max(a, c) -> t2; axis c:
    # min max(a, b) -> t0. Only 2 distinct extremes for 3 objectives: no plane.
    # normalised: t0 (0,0,1), t1 (1,1,0), t2 (0.5,0.5,0.5); distances to 0: 1, 1.414, 0.866 -> t2
    pts = pd.DataFrame([[0, 0, 1], [1, 1, 0], [0.5, 0.5, 0.5]], columns=["a", "b", "c"], dtype=float)
    r = mcdm.knee(pts, dict.fromkeys("abc", "minimize"))
    assert r.winner == 2 and r.better == "lower"
    assert r.scores[2] == pytest.approx(math.sqrt(0.75))
    assert "closest to the ideal" in r.why


# -- weights validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({LAT: -1, AUC: 1}, "Weight for 'latency_p95_ms' is negative"),
        ({LAT: 0, AUC: 0}, "All weights are zero"),
        ({"dp_diff": 1}, "Weight given for 'dp_diff', which is not an objective"),
        ({AUC: "lots"}, "Weight for 'roc_auc' must be a number"),
        ({AUC: float("nan")}, "Weight for 'roc_auc' must be a finite number"),
    ],
)
@pytest.mark.parametrize("method", [mcdm.weighted_sum, mcdm.chebyshev, mcdm.topsis])
def test_bad_weights_name_the_objective(front, method, weights, message):
    with pytest.raises(UserInputError, match=message) as info:
        method(front, DIRS, weights)
    assert info.value.field == "weights"


# -- stakeholders, shortlist, regret ------------------------------------------------------------


def test_stakeholder_defaults_and_validation():
    assert mcdm.Stakeholder("Product", (LAT,)).method == "weighted_sum"
    assert mcdm.Stakeholder("Product", (LAT,), aspirations={LAT: 20}).method == "chebyshev"
    with pytest.raises(UserInputError, match="'roc_auc', which they do not own"):
        mcdm.Stakeholder("Product", (LAT,), weights={AUC: 1})
    with pytest.raises(UserInputError, match="owns no objective"):
        mcdm.Stakeholder("Product", ())
    with pytest.raises(UserInputError, match="unknown method"):
        mcdm.Stakeholder("Product", (LAT,), method="vibes")


def test_stakeholder_pick_ignores_what_they_do_not_own_but_stays_pareto():
    # Product only owns latency. t1 and t2 share the best latency; t2 has worse AUC (weakly
    # dominated). The epsilon weight on AUC must make Product pick t1, not t2.
    pts = pd.DataFrame({LAT: [10.0, 10.0, 30.0], AUC: [0.9, 0.7, 0.95]}, index=[2, 1, 3])
    pick = mcdm.stakeholder_pick(pts, DIRS, mcdm.Stakeholder("Product", (LAT,)))
    assert pick.winner == 2
    assert pick.why.startswith("Product would pick trial 2")


def test_stakeholder_owning_an_absent_objective_is_refused(front):
    with pytest.raises(UserInputError, match="owns 'dp_diff'"):
        mcdm.stakeholder_pick(front, DIRS, mcdm.Stakeholder("Legal", ("dp_diff",)))


def test_shortlist_is_stable_and_deduplicated(front):
    people = [mcdm.Stakeholder("Product", (LAT,)), mcdm.Stakeholder("ML", (AUC,))]
    # Product -> 10 (fastest), ML -> 13 (best AUC), weighted sum -> 11, Chebyshev -> 11,
    # TOPSIS -> 10, knee -> 11
    assert mcdm.shortlist(front, DIRS, people) == [10, 13, 11]


def test_regret_table_hand_computed(front):
    people = [
        mcdm.Stakeholder("Product", (LAT,)),
        mcdm.Stakeholder("ML", (AUC,)),
        # owns both, aspires to 25 ms and 0.88 -> Chebyshev picks 12 (see the aspiration test)
        mcdm.Stakeholder("Sales", (LAT, AUC), aspirations={LAT: 25, AUC: 0.88}),
    ]
    regret = mcdm.regret_table(front, DIRS, people, [10, 11, 12, 13])
    assert regret.picks == {"Product": 10, "ML": 13, "Sales": 12}
    # Product: n_lat(c) - 0          -> 0, 1/3, 2/3, 1
    # ML:      n_auc(c) - 0          -> 1, 0.5, 0.25, 0
    # Sales vs 12 (n = 2/3, 0.25), clipped, max over both:
    #   t10: lat 0-2/3 -> 0, auc 1-0.25 = 0.75 -> 0.75;  t11: 0, 0.25 -> 0.25;  t12: 0
    #   t13: lat 1-2/3 = 1/3, auc -> 0 -> 1/3
    expected = pd.DataFrame(
        {"Product": [0, 1 / 3, 2 / 3, 1], "ML": [1, 0.5, 0.25, 0], "Sales": [0.75, 0.25, 0, 1 / 3]},
        index=[10, 11, 12, 13],
    )
    np.testing.assert_allclose(regret.normalised.to_numpy(), expected.to_numpy())
    # max regret per candidate: 1, 0.5, 2/3, 1 -> compromise 11
    assert regret.compromise == 11
    # in units, signed as a loss: trial 12 costs Product 30-10 = +20 ms; trial 11 costs ML
    # 0.90-0.80 = +0.1 AUC; trial 13 for Sales: +10 ms worse latency, AUC 0.05 better.
    assert regret.in_units.loc[12, "Product"] == "Latency p95: +20.00 ms worse"
    assert regret.in_units.loc[11, "ML"] == "ROC AUC: +0.1000 worse"
    assert regret.in_units.loc[10, "Product"] == "Latency p95: same"
    assert regret.in_units.loc[13, "Sales"] == "Latency p95: +10.00 ms worse; ROC AUC: −0.0500 better"
    assert regret.losses.loc[13, ("Sales", LAT)] == pytest.approx(10.0)
    assert regret.losses.loc[13, ("Sales", AUC)] == pytest.approx(-0.05)
    assert regret.losses.loc[13, ("ML", AUC)] == 0.0


def test_regret_rejects_unknown_candidate(front):
    with pytest.raises(UserInputError, match="Trial 99 is not in this Pareto set"):
        mcdm.regret_table(front, DIRS, [mcdm.Stakeholder("Product", (LAT,))], [10, 99])


def test_a_single_trial_wins_everything():
    one = pd.DataFrame({LAT: [12.0], AUC: [0.8]}, index=[4])
    for ranking in mcdm.rank_all(one, DIRS).values():
        assert ranking.winner == 4
    assert mcdm.lexicographic(one, DIRS, [AUC]).winner == 4
    assert mcdm.shortlist(one, DIRS, [mcdm.Stakeholder("Product", (LAT,))]) == [4]


def test_check_weights_for_forms():
    assert mcdm.check_weights([LAT, AUC], {LAT: 1, AUC: 3}) == {LAT: 0.25, AUC: 0.75}
    assert mcdm.check_weights([LAT, AUC], None) == {LAT: 0.5, AUC: 0.5}
    with pytest.raises(UserInputError, match="'dp_diff'"):
        mcdm.check_weights([LAT], {"dp_diff": 1})


# -- the method registry -------------------------------------------------------------------------


def test_the_registry_names_every_method_once_and_labels_it(front):
    assert list(mcdm.METHODS) == ["weighted_sum", "chebyshev", "topsis", "lexicographic", "knee"]
    assert {name: m.label for name, m in mcdm.METHODS.items()} == mcdm.METHOD_LABELS
    assert all(label.strip() for label in mcdm.METHOD_LABELS.values())
    # the knee expresses no preference, so a stakeholder cannot choose by it
    assert mcdm.STAKEHOLDER_METHODS == ("weighted_sum", "chebyshev", "topsis", "lexicographic")
    with pytest.raises(UserInputError, match=r"unknown method 'knee'\. Allowed: weighted_sum, chebyshev"):
        mcdm.Stakeholder("Product", (LAT,), method="knee")


def test_rank_all_is_every_registered_method_side_by_side(front):
    ranked = mcdm.rank_all(front, DIRS, {LAT: 3, AUC: 1})
    assert list(ranked) == list(mcdm.METHODS)
    assert {m: r.method for m, r in ranked.items()} == {m: m for m in mcdm.METHODS}
    assert ranked["weighted_sum"].winner == mcdm.weighted_sum(front, DIRS, {LAT: 3, AUC: 1}).winner
    assert ranked["lexicographic"].scores.equals(mcdm.lexicographic(front, DIRS, [LAT, AUC]).scores)
    assert ranked["knee"].winner == mcdm.knee(front, DIRS).winner


@pytest.mark.parametrize("method", ["weighted_sum", "chebyshev", "topsis", "lexicographic"])
def test_a_stakeholder_picks_by_the_registered_method(front, method):
    pick = mcdm.stakeholder_pick(front, DIRS, mcdm.Stakeholder("Legal", (AUC,), method=method))
    assert pick.method == method
    assert pick.winner == 13  # best AUC; latency weighs only EPSILON_WEIGHT
    assert pick.why.startswith("Legal would pick trial 13: ")


def test_regret_and_formatting_say_utility_units_unless_the_team_priced_value():
    """Without a value column or a matrix the team set, value is no money: no "€" in regret texts."""
    from core.decide import mcdm as m
    from core.spec import ValueModel

    points = pd.DataFrame({"value_per_1k": [120.0, 80.0], "roc_auc": [0.7, 0.8]}, index=[3, 5])
    dirs = {"value_per_1k": "maximize", "roc_auc": "maximize"}
    people = [m.Stakeholder("Sales", ("value_per_1k",)), m.Stakeholder("ML", ("roc_auc",))]
    for vm, money in ((ValueModel(), False), (ValueModel(money=True), True)):
        r = m.regret_table(points, dirs, people, [3, 5], value_model=vm)
        text = r.in_units.at[5, "Sales"]
        assert "40.00" in text and ("€" in text) == money and ("utility units" in text) != money, text
        assert ("€" in m.fmt("value_per_1k", 12.5, vm)) == money


# -- options: rows keyed "12" (a trial's own rule) and "12@3" (another point of its curve) --------


def _option_points() -> pd.DataFrame:
    """Trial 1's own rule is accurate but unfair; the same model at another threshold (1@2) is
    nearly as accurate and much fairer; trial 2 is fair and inaccurate."""
    pts = pd.DataFrame(
        {"roc_auc": [0.90, 0.89, 0.70], "dp_diff": [0.30, 0.05, 0.02], "value_per_1k": [10.0, 9.0, 1.0]},
        index=pd.Index(["1", "1@2", "2"], name="option"),
    )
    pts.attrs["names"] = {
        "1": "#1 Logistic regression",
        "1@2": "#1 Logistic regression at threshold 0.62",
        "2": "#2 Decision tree",
    }
    return pts


OPTION_DIRS = {"roc_auc": "maximize", "dp_diff": "minimize", "value_per_1k": "maximize"}


def test_every_method_ranks_options_and_names_them_in_words():
    pts = _option_points()
    for method, ranking in mcdm.rank_all(pts, OPTION_DIRS).items():
        assert ranking.winner in pts.index and isinstance(ranking.winner, str), method
        assert pts.attrs["names"][ranking.winner] in ranking.why and "Trial " not in ranking.why
    # the non-tuned point wins with equal weights: it gives up 0.01 AUC for 0.25 of parity gap
    assert mcdm.weighted_sum(pts, OPTION_DIRS).winner == "1@2"
    legal = mcdm.Stakeholder("Legal", ("dp_diff",), {}, {"dp_diff": 0.05})
    ml = mcdm.Stakeholder("ML", ("roc_auc",))
    pick = mcdm.stakeholder_pick(pts, OPTION_DIRS, legal)
    assert pick.winner == "1@2" and pick.why.startswith("Legal would pick #1 Logistic regression at threshold 0.62")
    regret = mcdm.regret_table(pts, OPTION_DIRS, [legal, ml], ["1", "1@2", "2"])
    assert regret.compromise == "1@2" and regret.picks == {"Legal": "1@2", "ML": "1"}


def test_unpriced_value_reads_in_utility_units_in_every_sentence():
    from core.spec import ValueModel

    pts = _option_points()
    pts.attrs["value_model"] = ValueModel()  # no value column, no matrix: not money
    owner = mcdm.Stakeholder("Finance", ("value_per_1k",))
    texts = [r.why for r in mcdm.rank_all(pts, OPTION_DIRS).values()] + [
        mcdm.stakeholder_pick(pts, OPTION_DIRS, owner).why
    ]
    regret = mcdm.regret_table(pts, OPTION_DIRS, [owner], ["1", "1@2"])
    texts += [str(v) for v in regret.in_units.to_numpy().ravel()]
    assert not [t for t in texts if "€" in t]
    assert any("utility units" in t for t in texts)
    pts.attrs["value_model"] = ValueModel(money=True)  # the team priced it: money it is
    assert "€" in mcdm.stakeholder_pick(pts, OPTION_DIRS, owner).why
