"""Ensembles vs simple models: the statistics are right, the verdicts follow them, the cascade is honest."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    selection_rate,
)
from scipy import stats
from sklearn.base import clone
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    f1_score,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)

from core import objectives as obj
from core import search
from core.decide import compare as cmp
from core.decide import front
from core.errors import UserInputError
from core.metrics.fairness import fairness_metrics
from core.metrics.value import value_per_1k

# -- synthetic data ---------------------------------------------------------------------------------


def synthetic(n: int = 600, seed: int = 0, *, ties: bool = True):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p = np.clip(0.35 * y + 0.65 * rng.random(n), 0, 1)
    if ties:
        p = np.round(p, 2)
    groups = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    return y, p, groups


def test_weighted_metrics_equal_sklearn_with_sample_weight():
    """The vectorised bootstrap metrics are scikit-learn's metrics with resample counts as weights."""
    y, p, g = synthetic()
    tp_values = np.random.default_rng(3).uniform(1, 20, len(y))
    ctx = cmp.Context(y=y, groups=g, tp_values=tp_values)
    model = cmp.Scored(p, 0.45, mean_latency_ms=7.0)
    W = np.random.default_rng(1).integers(0, 3, (5, len(y))).astype(float)
    W = np.vstack([np.ones(len(y)), W])
    arrays = cmp.metric_arrays(W, ctx, model)
    pred = model.pred
    for i, w in enumerate(W):
        assert arrays["roc_auc"][i] == pytest.approx(roc_auc_score(y, p, sample_weight=w), abs=1e-12)
        assert arrays["pr_auc"][i] == pytest.approx(average_precision_score(y, p, sample_weight=w), abs=1e-12)
        assert arrays["accuracy"][i] == pytest.approx(accuracy_score(y, pred, sample_weight=w), abs=1e-12)
        assert arrays["balanced_accuracy"][i] == pytest.approx(
            balanced_accuracy_score(y, pred, sample_weight=w), abs=1e-12
        )
        assert arrays["f1"][i] == pytest.approx(f1_score(y, pred, sample_weight=w), abs=1e-12)
        assert arrays["log_loss"][i] == pytest.approx(log_loss(y, p, sample_weight=w), abs=1e-9)
    # unit weights: net value equals core.metrics.value's, term by term
    vb = value_per_1k(y, pred, ctx.value_model, tp_values=tp_values, mean_latency_ms=7.0)
    assert arrays["value_per_1k"][0] == pytest.approx(vb.net_per_1k, rel=1e-12)


def test_gap_metrics_equal_fairlearn_on_unit_weights():
    y, p, g = synthetic(seed=4)
    pred = (p >= 0.5).astype(int)
    arrays = cmp.metric_arrays(np.ones((1, len(y))), cmp.Context(y=y, groups=g), cmp.Scored(p, 0.5))
    expected = fairness_metrics(y, pred, g)
    assert set(expected) <= set(arrays)
    for k, v in expected.items():
        assert arrays[k][0] == pytest.approx(v, abs=1e-12), k
    assert expected["eo_diff"] == pytest.approx(equalized_odds_difference(y, pred, sensitive_features=g))


def test_resample_counts_repeat_and_sum_to_n():
    a = np.vstack(list(cmp.resample_counts(50, 300, seed=7, max_cells=1000)))  # several chunks
    b = np.vstack(list(cmp.resample_counts(50, 300, seed=7, max_cells=1000)))
    assert a.shape == (300, 50)
    np.testing.assert_array_equal(a, b)
    assert (a.sum(axis=1) == 50).all()
    c = np.vstack(list(cmp.resample_counts(50, 300, seed=8, max_cells=1000)))
    assert not np.array_equal(a, c)


def test_cluster_resamples_draw_whole_entities():
    clusters = np.repeat(np.arange(10), 4)  # 10 entities of 4 rows
    W = np.vstack(list(cmp.resample_counts(40, 200, seed=3, clusters=clusters, max_cells=1000)))
    assert W.shape == (200, 40)
    per_entity = W.reshape(200, 10, 4)
    assert (per_entity == per_entity[:, :, :1]).all()  # an entity's rows are drawn together
    assert (W.sum(axis=1) == 40).all()  # 10 entities drawn, 4 rows each
    assert (per_entity[:, :, 0] == 0).any()  # some entities left out of a resample


def test_cluster_bootstrap_keeps_its_coverage_on_panel_data():
    """Five rows per person that share the person's outcome are one piece of evidence, not five:
    resampling rows makes the 90 % interval far too narrow, resampling people does not."""
    rng = np.random.default_rng(7)
    truth, sims, k, rows = 0.05, 80, 80, 5
    hits = {"rows": 0, "entities": 0}
    clusters = np.repeat(np.arange(k), rows)
    for s in range(sims):
        y_e, pa_e, pb_e = _paired_accuracy_data(k, 0.75, 0.70, rng)
        y, pa, pb = (np.repeat(v, rows) for v in (y_e, pa_e, pb_e))
        for name, ctx in (("rows", cmp.Context(y=y)), ("entities", cmp.Context(y=y, clusters=clusters))):
            d = cmp.paired_bootstrap(
                ctx, cmp.Scored(pa, 0.5), cmp.Scored(pb, 0.5), n_boot=600, seed=s, alpha=0.10, metrics=["accuracy"]
            )[0]
            hits[name] += d.low <= truth <= d.high
    assert 0.80 <= hits["entities"] / sims <= 0.98
    assert hits["rows"] / sims < 0.75


# -- the bootstrap ----------------------------------------------------------------------------------


def _paired_accuracy_data(n: int, acc_a: float, acc_b: float, rng):
    """Labels and two models' probabilities whose correctness is drawn with known accuracies."""
    y = rng.integers(0, 2, n)
    right_a, right_b = rng.random(n) < acc_a, rng.random(n) < acc_b
    pa = np.where(right_a == (y == 1), 0.8, 0.2)
    pb = np.where(right_b == (y == 1), 0.7, 0.3)
    return y, pa, pb


def test_bootstrap_interval_covers_a_known_difference():
    """Exactly 80 % vs 70 % correct on the test rows: the interval holds +0.10 and excludes 0."""
    n = 1000
    y = np.r_[np.ones(n // 2), np.zeros(n // 2)].astype(int)
    rng = np.random.default_rng(0)
    right_a = np.zeros(n, bool)
    right_a[rng.choice(n, 800, replace=False)] = True
    right_b = np.zeros(n, bool)
    right_b[rng.choice(n, 700, replace=False)] = True
    pa = np.where(right_a == (y == 1), 0.9, 0.1)
    pb = np.where(right_b == (y == 1), 0.9, 0.1)
    diffs = {
        d.metric: d
        for d in cmp.paired_bootstrap(cmp.Context(y=y), cmp.Scored(pa, 0.5), cmp.Scored(pb, 0.5), n_boot=1000, seed=1)
    }
    acc = diffs["accuracy"]
    assert acc.diff == pytest.approx(0.10)
    assert acc.low < 0.10 < acc.high
    assert acc.low > 0
    assert acc.verdict == cmp.BETTER
    # independent correctness: the standard error is about sqrt((.8*.2+.7*.3)/n) ≈ 0.019
    assert 0.05 < acc.high - acc.low < 0.11


def test_bootstrap_intervals_reach_their_coverage():
    """Over repeated samples from a known population, the 90 % interval holds the true difference
    about 90 % of the time (a wrong interval — too narrow, biased, unpaired — fails this)."""
    rng = np.random.default_rng(42)
    truth, hits, sims = 0.05, 0, 80
    for s in range(sims):
        y, pa, pb = _paired_accuracy_data(300, 0.75, 0.70, rng)
        d = cmp.paired_bootstrap(
            cmp.Context(y=y),
            cmp.Scored(pa, 0.5),
            cmp.Scored(pb, 0.5),
            n_boot=1000,
            seed=s,
            alpha=0.10,
            metrics=["accuracy"],
        )[0]
        hits += d.low <= truth <= d.high
    assert 0.80 <= hits / sims <= 0.98


def test_identical_models_are_no_significant_difference():
    y, p, g = synthetic(seed=2)
    model = cmp.Scored(p, 0.5, mean_latency_ms=3.0)
    diffs = cmp.paired_bootstrap(cmp.Context(y=y, groups=g), model, model, n_boot=1000, seed=0)
    assert {d.metric for d in diffs} == set(cmp.BOOT_METRICS)
    for d in diffs:
        assert d.verdict == cmp.SAME, d.metric
        assert d.diff == 0 and d.low == 0 and d.high == 0, d.metric
    mc = cmp.mcnemar(y, model.pred, model.pred)
    assert mc.p_value == 1.0 and not mc.significant()


def test_weakened_real_model_is_significantly_worse(loaded):
    """The study's logistic regression re-fitted on shuffled labels vs the real one, same test rows."""
    good = loaded[0]
    train = good.dataset.subset(good.train_idx)
    test = good.dataset.subset(good.test_idx)
    shuffled = np.random.default_rng(0).permutation(train.y)
    weak = clone(good.pipeline).fit(train.X, shuffled)
    ctx = cmp.context_of(good)
    weak_s = cmp.Scored(weak.predict_proba(test.X)[:, 1], good.threshold)
    good_s = cmp.Scored(good.evaluation.test_proba, good.threshold)
    diffs = {d.metric: d for d in cmp.paired_bootstrap(ctx, weak_s, good_s, n_boot=1000, seed=0)}
    assert diffs["roc_auc"].verdict == cmp.WORSE
    assert diffs["roc_auc"].high < 0
    assert diffs["pr_auc"].verdict == cmp.WORSE
    assert diffs["log_loss"].verdict == cmp.WORSE  # higher loss is worse
    # and the other way round it is "better"
    back = {d.metric: d for d in cmp.paired_bootstrap(ctx, good_s, weak_s, n_boot=1000, seed=0)}
    assert back["roc_auc"].verdict == cmp.BETTER
    assert back["roc_auc"].diff == pytest.approx(-diffs["roc_auc"].diff)


def test_bad_settings_are_user_errors():
    y, p, _ = synthetic(n=50)
    with pytest.raises(UserInputError, match="n_boot must be at least 100"):
        cmp.paired_bootstrap(cmp.Context(y=y), cmp.Scored(p, 0.5), cmp.Scored(p, 0.5), n_boot=10)
    with pytest.raises(UserInputError, match="alpha must be between 0 and 0.5"):
        cmp.paired_bootstrap(cmp.Context(y=y), cmp.Scored(p, 0.5), cmp.Scored(p, 0.5), alpha=5)


def test_bias_corrected_interval_shifts_a_biased_bootstrap():
    """A gap statistic whose resamples sit above the point gets an interval around the point."""
    boot = np.random.default_rng(0).normal(0.10, 0.02, 2000)  # bootstrap biased up from a 0.06 point
    low, high = cmp.bc_interval(boot, 0.06, 0.05)
    plain = np.quantile(boot, [0.025, 0.975])
    assert high < plain[1] and low < plain[0]
    assert cmp.bc_interval(np.zeros(100), 0.0) == (0.0, 0.0)
    # unbiased: the same as the percentile interval
    sym = np.random.default_rng(1).normal(0.0, 1.0, 4001)
    lo, hi = cmp.bc_interval(sym, float(np.median(sym)))
    assert (lo, hi) == pytest.approx(tuple(np.quantile(sym, [0.025, 0.975])), abs=1e-9)


# -- McNemar ----------------------------------------------------------------------------------------


def test_mcnemar_chi_square_matches_the_textbook():
    """b = 6, c = 16: χ² = (|6 − 16| − 1)² / 22 = 81/22, p = erfc(√(χ²/2)) on 1 degree of freedom."""
    m = cmp.mcnemar_table(6, 16, exact_below=20)
    assert m.method.startswith("chi-square")
    assert m.statistic == pytest.approx(81 / 22)
    assert m.p_value == pytest.approx(math.erfc(math.sqrt(81 / 22 / 2)), rel=1e-12)
    assert m.p_value == pytest.approx(0.0550, abs=5e-4)


def test_mcnemar_exact_matches_the_binomial_by_hand():
    """b = 2, c = 8: p = 2·(C(10,0)+C(10,1)+C(10,2))/2¹⁰ = 112/1024."""
    m = cmp.mcnemar_table(2, 8)
    assert m.method == "exact binomial"
    assert m.p_value == pytest.approx(112 / 1024, rel=1e-12)
    assert m.p_value == pytest.approx(stats.binomtest(2, 10, 0.5).pvalue, rel=1e-12)
    assert cmp.mcnemar_table(0, 0).p_value == 1.0


def test_mcnemar_counts_the_discordant_pairs():
    y = np.array([1, 1, 1, 0, 0, 0, 1, 0])
    a = np.array([1, 1, 0, 0, 0, 1, 1, 0])  # right on rows 0, 1, 3, 4, 6, 7
    b = np.array([1, 0, 0, 1, 0, 0, 1, 0])  # right on rows 0, 4, 5, 6, 7
    m = cmp.mcnemar(y, a, b)
    ra, rb = a == y, b == y
    assert (m.only_challenger_right, m.only_baseline_right) == (int((ra & ~rb).sum()), int((~ra & rb).sum()))
    assert m.both_right + m.both_wrong + m.only_challenger_right + m.only_baseline_right == len(y)


# -- fairness detail --------------------------------------------------------------------------------


def test_fairness_detail_equals_fairlearn_metricframe():
    y, p, g = synthetic(n=800, seed=5)
    pred = (p >= 0.5).astype(int)
    detail = cmp.fairness_detail(y, pred, g, label="m", n_boot=1000, seed=0)
    mf = MetricFrame(
        metrics={
            "selection_rate": selection_rate,
            "recall": lambda t, q: recall_score(t, q, zero_division=0),
            "precision": lambda t, q: precision_score(t, q, zero_division=0),
            "accuracy": accuracy_score,
        },
        y_true=y,
        y_pred=pred,
        sensitive_features=g,
    )
    frame = detail.frame()
    assert set(frame["group"]) == {"a", "b", "c"}
    for row in frame.itertuples():
        assert row.value == pytest.approx(mf.by_group.loc[row.group, row.metric], abs=1e-12)
        assert row.n == int((g == row.group).sum())
        assert row.low <= row.value <= row.high
    gaps = {i.metric: i for i in detail.gaps}
    assert gaps["dp_diff"].value == pytest.approx(demographic_parity_difference(y, pred, sensitive_features=g))
    assert gaps["dp_ratio"].value == pytest.approx(demographic_parity_ratio(y, pred, sensitive_features=g))
    assert gaps["eo_diff"].value == pytest.approx(equalized_odds_difference(y, pred, sensitive_features=g))
    for i in detail.gaps:
        assert i.low <= i.high
    json.dumps(detail.to_dict())


# -- choosing the pair (stored metrics of a real study) ---------------------------------------------


def test_default_pair_is_best_complex_vs_best_simple_within_limits(finished_study):
    url, name, spec = finished_study
    frame = front.trials_frame(search.open_study(url, name).get_trials(), spec)
    pair = cmp.default_pair(frame, spec)
    assert pair.metric == "roc_auc" and pair.complete
    by = frame.set_index("number")
    assert by.loc[pair.baseline, "family_class"] == "simple"
    assert by.loc[pair.challenger, "family_class"] in ("complex", "ensemble")
    simple = frame[(frame.family_class == "simple") & (frame.state == "COMPLETE")]
    assert by.loc[pair.baseline, "roc_auc"] == simple["roc_auc"].max()
    # a hard limit that the best simple model misses moves the default to the next one
    limit = float(by.loc[pair.baseline, "latency_p95_ms"]) - 1e-9
    limited = replace(
        spec, objectives=tuple(replace(o, limit=limit) if o.name == "latency_p95_ms" else o for o in spec.objectives)
    )
    frame2 = frame.assign(feasible=front.feasible_mask(frame, limited.objectives))
    pair2 = cmp.default_pair(frame2, limited)
    assert pair2.baseline != pair.baseline
    if pair2.baseline is not None:
        assert frame2.set_index("number").loc[pair2.baseline, "latency_p95_ms"] <= limit


def test_class_fronts_are_per_class_and_non_dominated(finished_study):
    url, name, spec = finished_study
    frame = front.trials_frame(search.open_study(url, name).get_trials(), spec)
    fronts = cmp.class_fronts(frame, spec)
    assert "simple" in fronts
    for klass, f in fronts.items():
        assert (f["family_class"] == klass).all()
        L = front.losses(f, spec.objective_names)
        for i in range(len(L)):  # no member strictly dominated by another member of its class
            assert not any((L[j] <= L[i]).all() and (L[j] < L[i]).any() for j in range(len(L)))


def test_missing_side_explains_itself():
    from core.decide.front import trials_frame

    pair = cmp.default_pair(trials_frame([], None), _spec_stub())
    assert not pair.complete and "No finished trial" in pair.note


def _spec_stub():
    from core.spec import DataRef, Spec

    return Spec(data=DataRef(path="demo", target="converted"))


# -- full comparison on re-fitted candidates (refit=True; the default reads what the search stored) --------------------------------------------------------


@pytest.fixture(scope="module")
def loaded(finished_study):
    """Logistic regression (#0) and histogram boosting (#3) of the finished study, re-fitted once."""
    url, name, _ = finished_study
    frame = front.trials_frame(search.open_study(url, name).get_trials(), None)
    simple = int(frame[frame.family == "logreg"].number.min())
    complex_ = int(frame[frame.family == "hist_gb"].number.min())
    return cmp.load_candidates(url, name, [simple, complex_], refit=True)


@pytest.fixture(scope="module")
def report(loaded):
    return cmp.report(loaded, n_boot=1000, latency_rounds=3, fit_repeats=1, with_explain=False)


def test_report_compares_the_complex_model_with_the_simple_one(report, loaded):
    assert len(report.comparisons) == 1
    comp = report.comparisons[0]
    assert comp.challenger.klass == "complex" and comp.baseline.klass == "simple"
    assert comp.n_boot == 1000 and comp.n_test == len(loaded[0].test_idx)
    primary = comp.difference("roc_auc")
    # the point difference is the difference of the two re-fitted models' test AUCs
    assert primary.diff == pytest.approx(comp.challenger.test["roc_auc"] - comp.baseline.test["roc_auc"], abs=1e-12)
    assert primary.low <= primary.diff <= primary.high
    assert [o.name for o in comp.objectives] == loaded[0].spec.objective_names
    # the sentence states the AUC difference, its interval and the costs, and agrees with the table
    assert "ROC AUC (" in comp.sentence and "95 % interval" in comp.sentence
    assert any(w in comp.sentence for w in ("slower", "faster", "about as fast"))
    assert any(w in comp.sentence for w in ("larger", "smaller", "about the same size"))
    assert_sentence_agrees(comp.sentence, comp.differences, comp.ratios, "roc_auc")
    size = comp.ratio("model_size_bytes")
    assert size.ratio == pytest.approx(comp.challenger.size_bytes / comp.baseline.size_bytes)
    lat = comp.ratio("latency_p95_ms")
    assert lat.rounds == 3 and lat.low <= lat.ratio <= lat.high
    assert comp.ratio("fit_time_s").rounds == 2  # the re-fit's own fit plus one re-timed fit
    data = report.to_dict()
    text = json.dumps(data)  # JSON-able, NaN-free
    assert "NaN" not in text and data["comparisons"][0]["sentence"] == comp.sentence


def test_comparison_is_oriented_and_repeatable(loaded):
    simple, complex_ = loaded
    kw: dict = dict(n_boot=200, latency_rounds=1, latency_repeats=20)
    a = cmp.compare(simple, complex_, **kw)  # given the other way round: re-oriented
    b = cmp.compare(complex_, simple, **kw)
    assert a.challenger.number == b.challenger.number == complex_.number
    # same seed, same rows: identical intervals (value is left out: its latency penalty is re-measured)
    pairs = [(x, y) for x, y in zip(a.differences, b.differences) if x.metric != "value_per_1k"]
    assert pairs and all((x.low, x.high, x.diff) == (y.low, y.high, y.diff) for x, y in pairs)


def test_fairness_detail_for_a_candidate(report, loaded):
    assert [f.label for f in report.fairness] == [c.label for c in loaded]
    simple = loaded[0]
    test = simple.dataset.subset(simple.test_idx)
    pred = (simple.evaluation.test_proba >= simple.threshold).astype(int)
    gaps = {i.metric: i.value for i in report.fairness[0].gaps}
    assert gaps == pytest.approx(fairness_metrics(test.y, pred, test.groups))


def test_cascade_sits_between_its_parents_and_never_looks_at_test(report, loaded):
    casc = report.cascade
    assert casc is not None and "test" not in casc.chosen_on
    simple_row, casc_row, complex_row = casc.rows
    share = casc.share_routed_test
    assert casc_row["share_routed"] == share and 0 <= share <= 1
    assert casc_row["latency_mean_ms"] == pytest.approx(
        simple_row["latency_mean_ms"] + share * complex_row["latency_mean_ms"]
    )
    # the band depends on training-part predictions only: scrambling test probabilities keeps it
    simple, complex_ = loaded
    rng = np.random.default_rng(0)
    scrambled = [
        replace(c, evaluation=replace(c.evaluation, test_proba=rng.permutation(c.evaluation.test_proba)))
        for c in (simple, complex_)
    ]
    again = cmp.cascade(*scrambled)
    assert again.band == casc.band and again.share_routed_train == casc.share_routed_train


def test_report_passes_the_cascade_settings_through(loaded):
    simple, complex_ = loaded
    rep = cmp.report(
        loaded, n_boot=200, latency_rounds=3, with_explain=False, cascade_criterion="accuracy", cascade_keep=0.6
    )
    casc = rep.cascade
    assert casc is not None and casc.criterion == "accuracy" and casc.keep == 0.6
    # the same band as choose_band on the training-part predictions with those settings
    y, ps, pc, tp, _ = cmp.training_predictions(simple, complex_)
    band, share, _ = cmp.choose_band(
        y,
        ps,
        pc,
        simple.threshold,
        complex_.threshold,
        tp_values=tp,
        vm=simple.spec.value_model,
        criterion="accuracy",
        keep=0.6,
        mean_simple_ms=casc_info(rep, simple).latency_mean_ms,
        mean_complex_ms=casc_info(rep, complex_).latency_mean_ms,
    )
    assert casc.band == pytest.approx(band) and casc.share_routed_train == pytest.approx(share)
    with pytest.raises(UserInputError, match="cascade criterion must be value_per_1k or a quality metric"):
        cmp.report(loaded, n_boot=200, with_explain=False, cascade_criterion="latency_p95_ms")


def casc_info(rep, cand):
    return next(i for i in rep.candidates if i.number == cand.number)


def test_choose_band_routes_nothing_when_complex_is_not_better():
    y, p, _ = synthetic(n=400, seed=9)
    band, share, curve = cmp.choose_band(y, p, np.full(len(y), 0.5), 0.5, 0.5, criterion="roc_auc")
    assert band < 0 and share == 0.0 and len(curve) == 21
    # a perfect complex model: the narrowest band keeping 90 % of its gain, no wider
    band, share, curve = cmp.choose_band(y, p, y.astype(float), 0.5, 0.5, criterion="accuracy", keep=0.9)
    assert 0 < share <= 1
    gains = [c["value"] for c in curve]
    need = gains[0] + 0.9 * (1.0 - gains[0])
    chosen = next(c for c in curve if c["share_routed"] == share)
    assert chosen["value"] >= need - 1e-12
    assert all(c["value"] < need for c in curve if c["share_routed"] < share)


def test_a_panel_study_is_compared_by_entity(tmp_path):
    """On panel data the comparison resamples people, and says that McNemar's rows are not
    independent; every test person is one the models never trained on."""
    from core.spec import Budget, DataRef, Objective, Spec, Validation
    from tests.core.test_data import _panel

    csv = tmp_path / "males.csv"
    _panel().to_csv(csv, index=False)
    spec = Spec(
        data=DataRef(path=str(csv), target="union"),
        objectives=(Objective("roc_auc"), Objective("latency_p95_ms")),
        families=("logreg", "hist_gb"),
        budget=Budget(n_trials=2),
        validation=Validation(cv_folds=2, latency_repeats=20),
    )
    url = f"sqlite:///{tmp_path / 'panel.db'}"
    study = search.create_study(spec, url, "panel")
    search.run(study.study_name, url)
    simple, complex_ = cmp.load_candidates(url, "panel", [0, 1])
    assert simple.dataset.entity is not None
    test_people = set(simple.dataset.entity[simple.test_idx])
    assert not test_people & set(simple.dataset.entity[simple.train_idx])
    comp = cmp.compare(simple, complex_, n_boot=200, latency_rounds=1, latency_repeats=20)
    assert comp.n_entities == len(test_people) and comp.n_test == 6 * len(test_people)
    assert "rows taken as independent" in comp.mcnemar.method
    assert comp.to_dict()["n_entities"] == comp.n_entities


# -- one verdict sentence that agrees with its table ------------------------------------------------


def _diff(metric: str, diff: float, low: float, high: float, verdict: str) -> cmp.Difference:
    md = obj.get(metric)
    return cmp.Difference(metric, md.label, md.unit, md.direction, 0.8 + diff, 0.8, diff, low, high, 0.5, verdict)


def _cinfo(klass: str, label: str) -> cmp.CandidateInfo:
    return cmp.CandidateInfo(1, "x", label, klass, 0.5, {}, 1e5, 10, 0.1, 4.0, 3.0, 0.1)


def _in_words(label: str) -> str:
    return label if label[:2].isupper() else label[:1].lower() + label[1:]


def assert_sentence_agrees(sentence: str, diffs, ratios, primary: str) -> None:
    """Every significant row is named, no other row is, and "the simple model is the defensible
    choice" only comes when the complex model gains nothing or its costs are said beside it."""
    significant = [d for d in diffs if d.verdict != cmp.SAME and d.metric != "value_per_1k"]
    named_costs = {"latency_p95_ms", "model_size_bytes"}
    significant += [r for r in ratios if r.verdict != cmp.SAME and r.metric not in named_costs]
    rest = sentence
    for row in sorted(significant, key=lambda r: -len(r.label)):
        assert _in_words(row.label) in rest, (row.label, sentence)
        rest = rest.replace(_in_words(row.label), "")
    by = {d.metric: d for d in diffs}
    quiet = [d for d in diffs if d.verdict == cmp.SAME and d.metric != primary and d.metric != "value_per_1k"]
    quiet += [r for r in ratios if r.verdict == cmp.SAME and r.metric not in named_costs]
    for row in quiet:  # the longest labels were removed first, so "accuracy" is not found in "balanced accuracy"
        assert _in_words(row.label) not in rest, (row.label, sentence)
    value = by.get("value_per_1k")
    if value is not None:
        assert ("per 1,000 decisions" in sentence) == (value.verdict != cmp.SAME), sentence
    if primary in by:
        said = {cmp.BETTER: "is better on", cmp.WORSE: "is worse on", cmp.SAME: "no significant difference on"}
        assert said[by[primary].verdict] + " " + _in_words(by[primary].label) in sentence
    assert "significant" not in sentence.replace("no significant difference", "")
    assert "α" not in sentence and "−0.000" not in sentence and "p = 0.000" not in sentence
    gains = [x for x in (*diffs, *ratios) if x.verdict == cmp.BETTER]
    if "is the defensible choice" in sentence and gains:
        costs = [x for x in (*diffs, *ratios) if x.verdict == cmp.WORSE]
        assert costs and any(w in sentence for w in ("slower", "larger", "costlier", "worse", "less")), sentence


def test_the_sentence_names_what_its_table_calls_significant():
    """The reported case: AUC no different, accuracy and demographic parity significantly better.
    The old sentence said "+0.0000 AUC, not significant … the simple model is the defensible choice"."""
    diffs = [
        _diff("roc_auc", 0.0, -0.004, 0.005, cmp.SAME),
        _diff("accuracy", 0.02, 0.01, 0.03, cmp.BETTER),
        _diff("balanced_accuracy", 0.0, -0.01, 0.01, cmp.SAME),
        _diff("value_per_1k", 0.4, -1.0, 2.0, cmp.SAME),
        _diff("dp_diff", -0.03, -0.05, -0.01, cmp.BETTER),
        _diff("eo_diff", 0.0, -0.05, 0.01, cmp.SAME),
    ]
    ratios = (
        cmp.ratio_row("latency_p95_ms", [1.3, 1.31, 1.29], [1, 1, 1]),
        cmp.ratio_row("model_size_bytes", [8.5], [1]),
    )
    text = cmp.verdict_sentence(_cinfo("ensemble", "#3"), _cinfo("simple", "#0"), diffs, ratios, primary="roc_auc")
    assert text.startswith("The ensemble shows no significant difference on ROC AUC (+0.00 points, 95 % interval")
    assert "better on accuracy" in text and "fairer on demographic parity difference" in text
    assert "1.3× slower and 8.5× larger" in text
    assert "defensible choice" not in text  # it is better on two objectives: the room weighs the costs
    assert_sentence_agrees(text, diffs, ratios, "roc_auc")
    # a real gain is said with its size in points and its interval, like the table
    diffs[0] = _diff("roc_auc", 0.023, 0.011, 0.034, cmp.BETTER)
    text = cmp.verdict_sentence(_cinfo("ensemble", "#3"), _cinfo("simple", "#0"), diffs, ratios, primary="roc_auc")
    assert text.startswith("The ensemble is better on ROC AUC (+2.3 points, 95 % interval 1.1 to 3.4)")
    assert "earns its complexity if the room accepts those costs" in text
    # nothing better anywhere: then, and only then, plainly the simple model
    calm = [_diff(m, 0.0, -0.01, 0.01, cmp.SAME) for m in ("roc_auc", "accuracy", "dp_diff")]
    text = cmp.verdict_sentence(_cinfo("complex", "#3"), _cinfo("simple", "#0"), calm, ratios, primary="roc_auc")
    assert "it does not change fairness" in text and text.endswith("the simple model is the defensible choice.")


def test_the_sentence_agrees_with_any_table():
    """Random verdicts on every row: the sentence never contradicts the table it sits above."""
    rng = np.random.default_rng(0)
    verdicts = (cmp.BETTER, cmp.SAME, cmp.WORSE)
    for _ in range(300):
        diffs = []
        for m in cmp.BOOT_METRICS:
            v = verdicts[rng.integers(3)] if rng.random() < 0.4 else cmp.SAME
            good = 1 if obj.get(m).direction == "maximize" else -1
            d = {cmp.BETTER: 0.02, cmp.WORSE: -0.02, cmp.SAME: 0.0}[v] * good
            diffs.append(_diff(m, d, d - 0.01 if v != cmp.SAME else -0.01, d + 0.01 if v != cmp.SAME else 0.01, v))
        ratios = tuple(
            cmp.ratio_row(m, [float(rng.choice([0.5, 1.0, 3.0]))] * 3, [1.0] * 3)
            for m in (*cmp.LATENCY_METRICS, *cmp.FIXED_METRICS, "fit_time_s")
        )
        klass = str(rng.choice(["simple", "complex", "ensemble"]))
        primary = str(rng.choice(["roc_auc", "accuracy", "log_loss"]))
        text = cmp.verdict_sentence(_cinfo(klass, "#3"), _cinfo("simple", "#0"), diffs, ratios, primary=primary)
        assert_sentence_agrees(text, diffs, ratios, primary)


def test_significant_iff_the_interval_excludes_zero_iff_p_below_the_level():
    """One rule for every bootstrap figure: the p-value is the bias-corrected interval inverted.
    Before, p came from the raw sign fraction and read 0.056 beside "significantly worse"."""
    rng = np.random.default_rng(1)
    for i in range(3000):
        b = int(rng.integers(2, 400))
        shape = i % 3
        if shape == 0:
            boot = rng.normal(rng.normal(0, 0.05), 0.03, b)
        elif shape == 1:  # discrete resamples with ties at zero (accuracy on few rows)
            boot = rng.integers(-3, 4, b) / 100.0
        else:  # skewed, like a gap metric
            boot = rng.exponential(0.01, b) - rng.uniform(0, 0.02)
        point = float(np.median(boot) + rng.normal(0, 0.01))
        p = cmp.bc_p_value(boot, point)
        assert 0 <= p <= 1
        for alpha in (0.01, 0.05, 0.10, 0.2):
            low, high = cmp.bc_interval(boot, point, alpha)
            assert (low > 0 or high < 0) == (p < alpha), (b, shape, alpha, low, high, p)
    # the bias correction can make a difference significant that the raw sign fraction would not
    boot = np.random.default_rng(2).normal(0.0, 1.0, 2000)
    assert cmp.bc_interval(boot, 1.5)[0] > 0 and cmp.bc_p_value(boot, 1.5) < 0.05
    assert 2 * min(np.mean(boot <= 0), np.mean(boot >= 0)) > 0.5


def test_every_bootstrap_verdict_follows_its_p_value():
    rng = np.random.default_rng(3)
    for s in range(40):
        n = int(rng.integers(60, 300))
        y, pa, g = synthetic(n=n, seed=s)
        pb = np.clip(pa + rng.normal(0, 0.15, n), 0, 1)
        alpha = float(rng.choice([0.01, 0.05, 0.10]))
        ctx = cmp.Context(y=y, groups=g)
        for d in cmp.paired_bootstrap(ctx, cmp.Scored(pa, 0.5), cmp.Scored(pb, 0.45), n_boot=200, seed=s, alpha=alpha):
            assert (d.verdict != cmp.SAME) == (d.p_value < alpha), (d.metric, d.low, d.high, d.p_value)
            assert (d.verdict != cmp.SAME) == (d.low > 0 or d.high < 0)


def test_p_values_read_below_a_thousandth_never_zero():
    from core._text import fmt_p
    from core.decide.compare import tables

    assert fmt_p(0.0) == "< 0.001" and fmt_p(0.0004, named=True) == "p < 0.001"
    assert fmt_p(0.0499) == "0.049"  # truncated: never printed as the level it is below
    assert fmt_p(0.056, named=True) == "p = 0.056" and fmt_p(float("nan")) == "–"
    y, p, _ = synthetic(n=2000, seed=6)
    strong, weak = cmp.Scored(np.where(y == 1, 0.9, 0.1), 0.5), cmp.Scored(p, 0.5)
    comp = {
        "differences": [vars(d) for d in cmp.paired_bootstrap(cmp.Context(y=y), strong, weak, n_boot=200)],
        "baseline": {"label": "#0"},
        "challenger": {"label": "#1"},
    }
    column = list(tables.metric_table(comp)["p (bootstrap)"])
    assert "< 0.001" in column and not any(c.startswith("0.000") for c in column)


def test_the_cascade_keeps_a_share_between_none_and_all_of_the_gain():
    """Today: "keeps −116 % of its gain". A share is clipped to [0, 1]; no gain is said in words."""
    assert cmp.gain_share(0.70, 0.75, 0.80, "accuracy") == pytest.approx(0.5)
    assert cmp.gain_share(0.70, 0.60, 0.80, "accuracy") == 0.0  # cascade below its simple parent
    assert cmp.gain_share(0.70, 0.90, 0.80, "accuracy") == 1.0  # and above its complex one
    assert cmp.gain_share(0.50, 0.45, 0.40, "log_loss") == pytest.approx(0.5)  # lower is better
    assert math.isnan(cmp.gain_share(0.80, 0.70, 0.75, "accuracy"))  # the complex model is worse

    def rows(s: float, k: float, c: float) -> list[dict]:
        lat = {"latency_mean_ms": 1.0, "model_latency_p95_ms": 0.5}
        return [{"accuracy": v, **lat} for v in (s, k, c)]

    kept, text = cmp.cascade_summary(rows(0.70, 0.75, 0.80), 0.1, 0.3, "accuracy", "#3")
    assert kept == pytest.approx(0.5) and "keeps 50% of its Accuracy gain" in text
    kept, text = cmp.cascade_summary(rows(0.80, 0.60, 0.70), 0.1, 0.3, "accuracy", "#3")
    assert math.isnan(kept) and "no Accuracy gain" in text and "%" in text and "keeps" not in text
    kept, text = cmp.cascade_summary(rows(0.70, 0.50, 0.80), 0.1, 0.3, "accuracy", "#3")
    assert kept == 0.0 and "keeps 0% of" in text and "−" not in text and "-1" not in text


def test_fairness_detail_gives_each_rate_its_rows_and_flags_small_groups():
    y, p, g = synthetic(n=400, seed=6)
    g = np.where(np.arange(len(g)) < 11, "tiny", g)  # one group of 11 rows
    pred = (p >= 0.5).astype(int)
    detail = cmp.fairness_detail(y, pred, g, n_boot=200, seed=0, min_rows=30)
    frame = detail.frame().set_index(["group", "metric"])
    tiny = g == "tiny"
    assert frame.loc[("tiny", "recall"), "rows"] == int(y[tiny].sum())
    assert frame.loc[("tiny", "precision"), "rows"] == int(pred[tiny].sum())
    assert frame.loc[("tiny", "accuracy"), "rows"] == 11
    assert set(frame.xs("tiny", level="group")["note"]) == {"only 11 rows: too few to judge"}
    assert set(frame.drop("tiny", level="group")["note"]) == {""}
    table = cmp.group_frame(detail.to_dict()).set_index("group")
    assert list(table.columns) == ["n", "selection rate", "recall", "precision", "accuracy", "note"]
    assert table.loc["tiny", "n"] == 11 and table.loc["tiny", "note"] == "only 11 rows: too few to judge"
    sel = frame.loc[("tiny", "selection_rate")]
    assert table.loc["tiny", "selection rate"] == f"{sel.value:.3f} ({sel.low:.3f}–{sel.high:.3f})"


# -- Compare from what the search stored: no fit ------------------------------------------------------


def _no_fit(monkeypatch):
    """Any fit from here on fails the test: Compare must read what the search stored."""
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.tree import DecisionTreeClassifier

    def refuse(self, *a, **k):
        raise AssertionError("Compare fitted a model")

    for klass in (Pipeline, LogisticRegression, DecisionTreeClassifier, RandomForestClassifier):
        monkeypatch.setattr(klass, "fit", refuse)
    monkeypatch.setattr(HistGradientBoostingClassifier, "fit", refuse)


def test_compare_runs_with_no_fit(finished_study, loaded, monkeypatch):
    url, name, _ = finished_study
    numbers = [c.number for c in loaded]
    _no_fit(monkeypatch)
    rep = cmp.run(url, name, numbers, n_boot=300)
    assert rep.explanations == ()  # they need the fitted models: only with refit=True
    assert "load_s" in rep.timings and "refit_s" not in rep.timings
    comp = rep.comparisons[0]
    assert comp.latency_scope == "search"
    stored = {c.number: c.stored_metrics for c in loaded}
    # one stored figure per fact: the latency shown is the one the search stored for each trial
    assert comp.challenger.latency_p95_ms == stored[comp.challenger.number]["latency_p95_ms"]
    assert comp.baseline.latency_p95_ms == stored[comp.baseline.number]["latency_p95_ms"]
    assert "search figure" in comp.ratio("latency_p95_ms").note
    # the held-out figures equal the re-fitted models' (stored probabilities are 16-bit)
    refit = {c.number: c for c in loaded}
    for info in (comp.challenger, comp.baseline):
        assert info.test["roc_auc"] == pytest.approx(refit[info.number].evaluation.test["roc_auc"], abs=1e-3)


def test_compare_an_operating_point_of_a_trial(finished_study, loaded, monkeypatch):
    from core.search import reader

    url, name, _ = finished_study
    simple, complex_ = (c.number for c in loaded)
    curve = reader.read_curves(url, name)[complex_]
    point = next(i for i in range(len(curve["threshold"])) if i != curve["tuned"])
    _no_fit(monkeypatch)
    a, b = cmp.load_candidates(url, name, [str(simple), f"{complex_}@{point}"])
    assert not a.refitted and not b.refitted
    assert b.threshold == pytest.approx(curve["threshold"][point])
    assert b.option == f"{complex_}@{point}" and "at threshold" in b.label
    for m, values in curve["test"].items():  # the point's own held-out figures, not the trial's tuned rule's
        assert b.evaluation.test[m] == pytest.approx(values[point])
    with pytest.raises(UserInputError, match="named twice"):
        cmp.load_candidates(url, name, [str(complex_), f"{complex_}@{point}"])


def test_an_old_study_without_predictions_is_re_fitted(tmp_path, monkeypatch):
    import shutil

    legacy = Path(__file__).parents[1] / "fixtures" / "legacy"
    for f in ("legacy.db", "ads_small.csv", "spec.json"):
        shutil.copy(legacy / f, tmp_path / f)
    monkeypatch.chdir(tmp_path)
    url = "sqlite:///legacy.db"
    frame = front.trials_frame(search.open_study(url, "legacy").get_trials(), None)
    done = [int(n) for n in frame.loc[frame.state == "COMPLETE", "number"]][:2]
    cands = cmp.load_candidates(url, "legacy", done)
    assert all(c.refitted and c.pipeline is not None for c in cands)
