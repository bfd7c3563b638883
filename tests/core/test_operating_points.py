"""Every fitted model brings its curve of operating points: counted by hand on a tiny table, equal to
the one-evaluation kernels, stored on the trial and read back, and a front over (trial, rule) that
is at least as good as the one-point front; an old study without curves gives the front it had."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core import cli, search
from core.decide import front
from core.decide.operating_points import POINT, points_frame
from core.metrics import decide, fairness_metrics, quality, value_per_1k
from core.metrics.operating_points import THRESHOLD_METRICS, Scores, curve_metrics, operating_points, select
from core.spec import ValueModel
from tests.conftest import make_small_spec

VM = ValueModel()  # the ±1 utility matrix: a correct "yes" +1, a wrong "yes" −1, a "no" 0
LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "legacy"

# six rows, two groups of three; at 0.5 the decisions are 0 0 0 1 1 1
TINY = Scores(
    y=np.array([0, 0, 1, 1, 1, 0]),
    proba=np.array([0.1, 0.4, 0.35, 0.8, 0.7, 0.6]),
    groups=np.array(["a", "a", "a", "b", "b", "b"]),
)


def test_a_threshold_curve_counted_by_hand():
    m = curve_metrics(np.array([0.5, 0.05, 0.75]), TINY, VM)
    # t = 0.5: tp 2 (0.8, 0.7), fp 1 (0.6), fn 1 (0.35), tn 2
    assert m["accuracy"][0] == pytest.approx(4 / 6)
    assert m["balanced_accuracy"][0] == pytest.approx((2 / 3 + 2 / 3) / 2)
    assert m["f1"][0] == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))
    assert m["value_per_1k"][0] == pytest.approx(1000 * (2 - 1) / 6)
    assert m["dp_diff"][0] == pytest.approx(1.0)  # group a selects nobody, group b everybody
    assert m["worst_group_recall"][0] == pytest.approx(0.0)  # a's one positive (0.35) is missed
    # t = 0.05: everybody selected: 3 tp, 3 fp
    assert m["accuracy"][1] == pytest.approx(0.5) and m["dp_diff"][1] == pytest.approx(0.0)
    assert m["value_per_1k"][1] == pytest.approx(0.0)
    # t = 0.75: only 0.8 selected
    assert m["accuracy"][2] == pytest.approx(4 / 6) and m["f1"][2] == pytest.approx(2 / (2 + 0 + 2))


def test_every_point_equals_the_one_evaluation_kernels():
    rng = np.random.default_rng(0)
    n = 400
    y = rng.integers(0, 2, n)
    proba = np.clip(0.3 * y + rng.random(n) * 0.7, 0, 1)
    groups = rng.choice(["x", "y", "z"], n)
    fee = rng.random(n) * 5
    folds = rng.integers(0, 3, n)
    vm = ValueModel(value_tp=0.0, value_fp=-0.5, money=True, latency_penalty=True)
    thresholds = np.array([0.2, 0.45, 0.5, 0.71])
    m = curve_metrics(thresholds, Scores(y, proba, groups, fee, folds), vm, mean_latency_ms=12.0)
    assert set(m) == set(THRESHOLD_METRICS)
    for i, t in enumerate(thresholds):
        pred = decide(proba, t)
        per_fold = [quality(y[folds == k], proba[folds == k], pred[folds == k]) for k in range(3)]
        for q in ("accuracy", "balanced_accuracy", "f1"):
            assert m[q][i] == pytest.approx(np.mean([f[q] for f in per_fold]))
        for g, v in fairness_metrics(y, pred, groups).items():
            assert m[g][i] == pytest.approx(v)
        value = value_per_1k(y, pred, vm, tp_values=fee, mean_latency_ms=12.0)
        assert m["value_per_1k"][i] == pytest.approx(value.net_per_1k)


def test_select_keeps_the_non_dominated_points_and_the_anchors():
    metrics = {
        "balanced_accuracy": np.array([0.6, 0.7, 0.65, 0.8, 0.5]),
        "dp_diff": np.array([0.1, 0.2, 0.3, 0.4, 0.0]),
    }
    # (0.65, 0.3) is dominated by (0.7, 0.2); index 2 is kept only as an anchor
    assert select(metrics, ["balanced_accuracy", "dp_diff", "roc_auc"], [], 25).tolist() == [0, 1, 3, 4]
    assert select(metrics, ["balanced_accuracy", "dp_diff"], [2], 25).tolist() == [0, 1, 2, 3, 4]
    thinned = select(metrics, ["balanced_accuracy", "dp_diff"], [2], 3)
    assert len(thinned) == 3 and 2 in thinned
    # no threshold-dependent objective: the anchors only
    assert select(metrics, ["roc_auc"], [1], 25).tolist() == [1]


def test_the_curve_is_compact_chosen_on_search_and_contains_the_tuned_rule():
    rng = np.random.default_rng(1)
    n = 600
    y = rng.integers(0, 2, n)
    proba = np.clip(0.35 * y + rng.random(n) * 0.65, 0, 1)
    groups = rng.choice(["x", "y"], n)
    s, t = Scores(y[:400], proba[:400], groups[:400]), Scores(y[400:], proba[400:], groups[400:])
    tuned = float(np.unique(proba[:400])[200:202].mean())
    curve = operating_points(s, t, VM, ["balanced_accuracy", "dp_diff"], tuned=tuned)
    thr = np.array(curve["threshold"])
    assert 3 <= len(thr) <= 25 and (np.diff(thr) > 0).all()
    assert thr[curve["tuned"]] == pytest.approx(tuned, abs=1e-6)
    # the held-out figures are the same rules applied to the held-out scores
    again = curve_metrics(thr, t, VM)
    assert np.allclose(curve["test"]["dp_diff"], again["dp_diff"], atol=1e-6)
    assert json.loads(json.dumps(curve)) == curve  # plain JSON


@pytest.fixture(scope="module")
def curve_study(tmp_path_factory, small_csv):
    url = f"sqlite:///{tmp_path_factory.mktemp('points') / 'study.db'}"
    spec = make_small_spec(
        small_csv, objectives=("balanced_accuracy", "dp_diff"), families=("logreg", "decision_tree"), trials=4
    )
    study = search.create_study(spec, url, "points")
    search.run(study.study_name, url)
    return url, "points"


def test_each_trial_stores_its_curve_and_predictions(curve_study):
    url, name = curve_study
    trials = [t for t in search.open_study(url, name).get_trials() if t.state.name == "COMPLETE"]
    assert trials
    for t in trials:
        curve = search.read_curve(t.user_attrs)
        assert curve is not None and curve["kind"] == "threshold"
        tuned = curve["tuned"]
        assert curve["threshold"][tuned] == pytest.approx(t.user_attrs["threshold"], abs=1e-6)
        for m in ("balanced_accuracy", "dp_diff", "value_per_1k"):  # the curve's tuned rule is the trial's
            assert curve["search"][m][tuned] == pytest.approx(t.user_attrs["metrics"][m], abs=2e-6)
            assert curve["test"][m][tuned] == pytest.approx(t.user_attrs["test_metrics"][m], abs=2e-6)
        oof, test = search.load_predictions(url, name, t.number)  # in the artifacts table, not an attribute
        assert search.ATTR_PREDICTIONS not in t.user_attrs and len(oof) > 0 and len(test) > 0
        assert ((oof >= 0) & (oof <= 1)).all()


def test_scores_survive_encoding_to_within_a_step():
    p = np.random.default_rng(2).random(1000)
    assert np.abs(search.decode_scores(search.encode_scores(p)) - p).max() <= 0.5 / 65535 + 1e-12


def _front(capsys, *argv: str) -> dict:
    assert cli.main(["front", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_operating_point_front_is_at_least_the_one_point_front(capsys, curve_study):
    url, name = curve_study
    data = _front(capsys, "--storage", url, "--study", name, "--operating-points")
    assert data["hypervolume"] >= data["hypervolume_one_point"] > 0
    assert len(data["points"]) >= 1 and all("threshold" in p and "point" in p for p in data["points"])
    assert sum(p["knee"] for p in data["points"]) == 1
    # every one-point front trial is matched or dominated by a point
    spec = search.load_spec(search.open_study(url, name))
    frame = search.trials_frame(search.open_study(url, name).get_trials(), spec)
    point_losses = front.losses(pd.DataFrame([p["metrics"] for p in data["points"]]), spec.objective_names)
    for row in front.losses(front.front(frame, spec.objective_names), spec.objective_names):
        assert (point_losses <= row + 1e-12).all(axis=1).any()


def test_an_old_study_without_curves_gives_the_front_it_had(capsys, tmp_path, monkeypatch):
    for f in ("legacy.db", "ads_small.csv", "spec.json"):
        shutil.copy(LEGACY / f, tmp_path / f)
    monkeypatch.chdir(tmp_path)
    study = ("--storage", "sqlite:///legacy.db", "--study", "legacy")
    before = _front(capsys, *study)
    points = _front(capsys, *study, "--operating-points")
    assert [p["number"] for p in points["points"]] == [t["number"] for t in before["trials"]]
    assert all(p["point"] is None for p in points["points"])
    assert points["hypervolume"] == pytest.approx(points["hypervolume_one_point"])
    assert points["hypervolume"] == pytest.approx(before["hypervolume"])


def test_points_frame_keeps_a_trial_without_a_curve_as_one_row():
    frame = pd.DataFrame(
        {"number": [0, 1], "state": ["COMPLETE"] * 2, "threshold": [0.5, 0.4], "dp_diff": [0.2, 0.3], "feasible": True}
    )
    curve = {"kind": "threshold", "threshold": [0.3, 0.4, 0.6], "tuned": 1, "search": {"dp_diff": [0.1, 0.9, None]}}
    out = points_frame(frame, {1: curve})
    assert out["number"].tolist() == [0, 1, 1, 1]
    assert out[POINT].fillna(-1).tolist() == [-1, 0, 1, 2]
    assert out.loc[out[POINT] == 1, "dp_diff"].item() == 0.3  # the tuned rule keeps the trial's stored figure
    assert out["dp_diff"].iloc[1] == 0.1 and np.isnan(out["dp_diff"].iloc[3])


def test_one_decision_row_per_weight_row_equals_one_weighted_call_each():
    """The kernels' curve path (a row of decisions per row of weights) against one call per row."""
    from core.metrics import fairness_arrays
    from core.metrics.quality import decision_quality

    rng = np.random.default_rng(3)
    n = 200
    y, p, g = rng.integers(0, 2, n), rng.random(n), rng.choice(["a", "b"], n)
    W = rng.integers(0, 3, (4, n)).astype(float)
    P = decide(p[None, :], np.array([0.2, 0.4, 0.6, 0.8])[:, None])
    q, f = decision_quality(W, y, P), fairness_arrays(W, y, P, g)
    for i in range(4):
        one_q = quality(y, p, P[i], sample_weight=W[i])
        one_f = fairness_metrics(y, P[i], g, sample_weight=W[i])
        assert all(q[m][i] == pytest.approx(one_q[m]) for m in q)
        assert all(f[m][i] == pytest.approx(one_f[m], nan_ok=True) for m in f)


def test_the_curve_has_rules_that_select_few_rows_or_leave_few_out():
    """Near the extremes evenly spaced quantiles step the selection rate by 1.6 %: the curve adds
    log-spaced cuts there, so rules selecting under 5 % of rows (and leaving under 5 % out) are many."""
    from core.metrics.decision import cut_points
    from core.metrics.operating_points import tail_cuts

    proba = np.linspace(0.0, 1.0, 2001)

    def rates(cuts):
        return np.array([(proba >= c).mean() for c in cuts])

    even = rates(cut_points(proba, 64))
    both = rates(np.union1d(cut_points(proba, 64), tail_cuts(proba)))
    assert ((even > 0) & (even <= 0.05)).sum() <= 4
    assert ((both > 0) & (both <= 0.05)).sum() >= 10 and ((both < 1) & (both >= 0.95)).sum() >= 10
    assert both.min() < 0.005 and both.max() > 0.995
