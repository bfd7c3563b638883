"""Compare-page figures (core.viz) and tables (core.decide.compare.tables), built from the JSON form of real
core results (no browser)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import viz
from core.decide import compare as cmp
from core.decide.compare import tables
from core.spec import DataRef, Objective, Spec


def _info(number: int, klass: str, label: str) -> cmp.CandidateInfo:
    return cmp.CandidateInfo(
        number,
        "logreg" if klass == "simple" else "hist_gb",
        label,
        klass,
        0.5,
        {"roc_auc": 0.7},
        1e5 if klass == "simple" else 1e6,
        10,
        0.1,
        4.0,
        3.0,
        0.1,
    )


@pytest.fixture(scope="module")
def data():
    """A comparison, fairness detail and a cascade computed by core on synthetic predictions."""
    rng = np.random.default_rng(0)
    n = 600
    y = rng.integers(0, 2, n)
    groups = rng.choice(["<b>young</b>", "old"], n)
    good = np.clip(0.4 * y + 0.6 * rng.random(n), 0, 1)
    weak = np.clip(0.1 * y + 0.9 * rng.random(n), 0, 1)
    ctx = cmp.Context(y=y, groups=groups)
    diffs = cmp.paired_bootstrap(ctx, cmp.Scored(good, 0.5), cmp.Scored(weak, 0.5), n_boot=300, seed=0)
    ratios = (
        cmp.ratio_row("latency_p95_ms", [3.0, 3.3, 2.9], [1.0, 1.1, 1.0]),
        cmp.ratio_row("model_size_bytes", [1e6], [1e5]),
    )
    spec = Spec(
        data=DataRef(path="demo", target="converted"), objectives=(Objective("roc_auc"), Objective("latency_p95_ms"))
    )
    comp = cmp.Comparison(
        _info(3, "complex", "#3 <i>HGB</i>"),
        _info(0, "simple", "#0 LR"),
        "roc_auc",
        0.05,
        300,
        0,
        n,
        diffs,
        ratios,
        cmp.mcnemar(y, good >= 0.5, weak >= 0.5),
        cmp.objective_verdicts(spec, diffs, ratios),
        "sentence",
    )
    fair = [
        cmp.fairness_detail(y, (p >= 0.5).astype(int), groups, label=lab, n_boot=200)
        for p, lab in ((good, "#3 <i>HGB</i>"), (weak, "#0 LR"))
    ]
    band, share, curve = cmp.choose_band(y, weak, good, 0.5, 0.5, criterion="accuracy")
    casc = cmp.CascadeResult(
        "#0 LR",
        "#3 HGB",
        band,
        0.5 - band,
        0.5 + band,
        "accuracy",
        0.9,
        "out-of-fold",
        share,
        share,
        tuple(
            {
                "model": m,
                "roc_auc": 0.7,
                "pr_auc": 0.5,
                "accuracy": 0.6,
                "f1": 0.5,
                "value_per_1k": 10.0,
                "latency_mean_ms": 1.0,
                "latency_p95_ms": 2.0,
                "model_latency_p95_ms": 0.1,
                "share_routed": s,
            }
            for m, s in (("#0 LR", 0), ("Cascade", share), ("#3 HGB", 1))
        ),
        tuple(curve),
        0.9,
        "summary",
    )
    return {
        "comparisons": [comp.to_dict()],
        "fairness": [f.to_dict() for f in fair],
        "cascade": casc.to_dict(),
        "comp": comp,
    }


def test_metric_table_shows_both_models_the_difference_and_verdict(data):
    c = data["comparisons"][0]
    table = tables.metric_table(c)
    assert list(table.columns) == [
        "metric",
        "#0 LR",
        "#3 <i>HGB</i>",
        "difference",
        "interval",
        "p (bootstrap)",
        "verdict",
    ]
    assert len(table) == len(c["differences"])
    auc = table[table.metric == "ROC AUC"].iloc[0]
    assert auc["verdict"] == cmp.BETTER  # the stronger model is the challenger
    assert auc["difference"].startswith("+")
    assert set(tables.objective_table(c)["objective"]) == {"ROC AUC", "Latency p95"}
    ratios = tables.ratio_table(c)
    assert ratios.loc[ratios.cost == "Model size", "ratio"].iloc[0] == "10.00×"


def test_forest_plot_has_a_panel_per_metric_error_bars_and_zero_lines(data):
    c = data["comparisons"][0]
    fig = viz.forest(data["comparisons"])
    n = len(c["differences"])
    assert len(fig.data) == n
    zero_lines = [s for s in fig.layout.shapes if s.x0 == 0 and s.x1 == 0]
    assert len(zero_lines) == n
    first = fig.data[0]
    d = c["differences"][0]
    assert first.x[0] == pytest.approx(d["diff"])
    assert first.error_x.array[0] == pytest.approx(d["high"] - d["diff"])
    assert first.error_x.arrayminus[0] == pytest.approx(d["diff"] - d["low"])
    assert first.marker.color == viz.VERDICT_COLORS[d["verdict"]]
    assert first.y[0] == "#3 − #0"
    assert "&lt;i&gt;" in first.hovertemplate  # model names are escaped, not rendered as HTML
    only = viz.forest(data["comparisons"], metrics=["roc_auc"])
    assert len(only.data) == 1


def test_ratio_chart_is_log_scaled_around_one(data):
    fig = viz.ratios(data["comparisons"])
    assert fig.layout.xaxis.type == "log"
    assert any(s.x0 == 1 for s in fig.layout.shapes)
    bar = fig.data[0]
    assert list(bar.x) == pytest.approx([r["ratio"] for r in data["comparisons"][0]["ratios"]])


def test_fairness_bars_carry_bootstrap_error_bars(data):
    fig = viz.fairness_bars(data["fairness"])
    assert len(fig.data) == 2 * 4  # two models × four metrics
    bar = fig.data[0]
    rows = [g for g in data["fairness"][0]["groups"] if g["metric"] == "selection_rate"]
    assert list(bar.y) == pytest.approx([g["value"] for g in rows])
    assert list(bar.error_y.array) == pytest.approx([g["high"] - g["value"] for g in rows])
    assert "&lt;b&gt;young&lt;/b&gt;" in list(bar.x)
    gaps = tables.gap_table(data["fairness"])
    assert set(gaps["metric"]) >= {"Demographic parity difference", "Equalized odds difference"}


def test_class_fronts_join_each_front_and_mark_the_compared_trials():
    frame = pd.DataFrame(
        {
            "number": [0, 1, 2, 3, 4],
            "state": ["COMPLETE"] * 5,
            "feasible": [True, True, True, True, False],
            "family_class": ["simple", "simple", "complex", "complex", "complex"],
            "roc_auc": [0.7, 0.72, 0.75, 0.74, 0.8],
            "latency_p95_ms": [1.0, 2.0, 3.0, 2.5, 1.0],
        }
    )
    fronts = {"simple": frame.iloc[[0, 1]], "complex": frame.iloc[[2, 3]]}
    pts = viz.front_points(frame, fronts, "roc_auc", "latency_p95_ms")
    assert 4 not in set(pts["number"])  # infeasible trials are not drawn
    fig = viz.class_fronts(pts, "roc_auc", "latency_p95_ms", highlight=[1, 2])
    names = [t.name for t in fig.data]
    assert "simple front" in names and "complex front" in names and "compared" in names
    marked = next(t for t in fig.data if t.name == "compared")
    assert list(marked.text) == ["#1", "#2"]
    assert "ROC AUC" in fig.layout.xaxis.title.text
    empty = viz.front_points(frame.iloc[0:0], {}, "roc_auc", "latency_p95_ms")
    assert empty.empty


def test_importance_and_partial_dependence_charts():
    exps = [
        {
            "label": "#0 LR",
            "importance": {
                "scoring": "roc_auc",
                "rows": [{"feature": "a", "mean": 0.2, "std": 0.01}, {"feature": "b", "mean": 0.05, "std": 0.01}],
            },
            "partial_dependence": [
                {"feature": "a", "kind": "numeric", "grid": [0, 1, 2], "average": [0.1, 0.2, 0.3]},
                {"feature": "c", "kind": "categorical", "grid": ["x", "y"], "average": [0.4, 0.5]},
            ],
        },
        {
            "label": "#3 HGB",
            "importance": {
                "scoring": "roc_auc",
                "rows": [{"feature": "b", "mean": 0.3, "std": 0.02}, {"feature": "a", "mean": 0.1, "std": 0.01}],
            },
            "partial_dependence": [{"feature": "b", "kind": "numeric", "grid": [0, 1], "average": [0.2, 0.1]}],
        },
    ]
    fig = viz.importance_bars(exps)
    assert list(fig.data[0].y) == ["a", "b"]  # ordered by the first model's importance
    assert list(fig.data[1].x) == [0.1, 0.3]
    assert "ROC AUC" in fig.layout.xaxis.title.text
    pdf = viz.partial_dependence(exps)
    assert len(pdf.data) == 3
    assert pdf.data[1].type == "bar"  # a categorical feature is drawn as bars


def test_cascade_curve_table_and_note(data):
    casc = data["cascade"]
    fig = viz.cascade_curve(casc)
    assert fig.data[1].name == "chosen"
    assert fig.data[1].x[0] == pytest.approx(casc["share_routed_train"], abs=0.05)
    table = tables.cascade_table(casc)
    assert list(table["model"]) == ["#0 LR", "Cascade", "#3 HGB"]
    assert "never on the test part" in tables.cascade_note(casc)
    assert "always defers" in tables.cascade_note({**casc, "band": None})
    assert "never defers" in tables.cascade_note({**casc, "band": -1.0})
