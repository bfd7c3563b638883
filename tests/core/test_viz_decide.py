"""core.viz, the Decide page's figures: from plain data, with typed names escaped."""

from __future__ import annotations

import pandas as pd
import pytest

from core import viz
from core.decide import mcdm

POINTS = pd.DataFrame(
    {"roc_auc": [0.90, 0.85, 0.80], "latency_p95_ms": [30.0, 12.0, 5.0]}, index=pd.Index([3, 7, 9], name="trial")
)
DIRS = {"roc_auc": "maximize", "latency_p95_ms": "minimize"}
PEOPLE = [mcdm.Stakeholder("<b>ML</b>", ("roc_auc",)), mcdm.Stakeholder("Product", ("latency_p95_ms",))]


@pytest.fixture
def regret():
    return mcdm.regret_table(POINTS, DIRS, PEOPLE, [3, 7, 9])


def test_regret_heatmap_matches_the_table_and_escapes_names(regret):
    fig = viz.regret_heatmap(
        regret.normalised, regret.in_units, labels={3: "#3 xgb", 7: "#7 logreg"}, compromise=regret.compromise
    )
    heat = fig.data[0]
    assert list(heat.x) == ["&lt;b&gt;ML&lt;/b&gt;", "Product"]
    assert heat.y[0] == "#3 xgb" and heat.y[2] == "#9"  # no label given -> the trial number
    assert [y.endswith("★") for y in heat.y] == [t == regret.compromise for t in [3, 7, 9]]
    assert heat.z.tolist() == regret.normalised.to_numpy().tolist()
    # trial 9 is Product's pick and the worst ROC AUC: ML gives up the whole range there
    assert heat.z[2][0] == 1.0 and heat.z[2][1] == 0.0 and heat.text[2][0] == "100%"
    assert "ms worse" in heat.customdata[0][1]
    assert (heat.zmin, heat.zmax) == (0.0, 1.0)


def test_radar_draws_one_closed_polygon_per_candidate_outer_is_better():
    norm = mcdm.normalise(POINTS, DIRS)
    fig = viz.radar(norm, labels={3: "#3 xgb"})
    assert [t.name for t in fig.data] == ["#3 xgb", "#7", "#9"]
    first = fig.data[0]
    assert list(first.theta) == ["ROC AUC", "Latency p95", "ROC AUC"]  # closed
    # trial 3 is best on ROC AUC (radius 1) and worst on latency (radius 0)
    assert list(first.r) == [1.0, 0.0, 1.0]
    assert fig.layout.polar.radialaxis.range == (0, 1)


def test_tally_bar_shows_approvals_up_rejections_down_and_borda():
    tally = pd.DataFrame(
        {"approvals": [2, 0], "rejections": [1, 3], "borda": [4, 1], "first_choices": [2, 0]},
        index=pd.Index([7, 3], name="trial_number"),
    )
    fig = viz.tally_bar(tally, labels={7: "#7 <i>x</i>"}, locked=7)
    approve, reject, borda = fig.data
    assert list(approve.x) == ["#7 &lt;i&gt;x&lt;/i&gt; ✔", "#3"]
    assert list(approve.y) == [2, 0] and list(reject.y) == [-1, -3] and list(borda.y) == [4, 1]
    assert list(reject.customdata) == [1, 3]
    assert borda.yaxis == "y2"


def test_empty_tally_still_draws():
    tally = pd.DataFrame(columns=["approvals", "rejections", "borda", "first_choices"], dtype=int)
    fig = viz.tally_bar(tally)
    assert len(fig.data) == 3 and list(fig.data[0].x) == []


def test_decide_figures_take_option_keys_and_mark_the_locked_option():
    tally = pd.DataFrame(
        {"approvals": [2, 1], "rejections": [0, 1], "abstentions": [0, 0], "borda": [1, 0], "first_choices": [1, 0]},
        index=pd.Index(["3@2", "3"], name="option"),
    )
    labels = {"3@2": "#3 Logistic regression at threshold 0.62", "3": "#3 Logistic regression"}
    fig = viz.tally_bar(tally, labels=labels, locked="3@2")
    assert list(fig.data[0].x) == ["#3 Logistic regression at threshold 0.62 ✔", "#3 Logistic regression"]
    norm = pd.DataFrame({"Legal": [0.0, 0.4]}, index=pd.Index(["3@2", "3"], name="option"))
    heat = viz.regret_heatmap(norm, labels=labels, compromise="3@2")
    assert list(heat.data[0].y) == ["#3 Logistic regression at threshold 0.62 ★", "#3 Logistic regression"]
    # an option without a label still reads as its key, never as a bare number of another trial
    assert list(viz.tally_bar(tally).data[0].x) == ["#3@2", "#3"]
