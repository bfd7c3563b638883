"""core.viz: figures from plain data, without Streamlit: traces, axes, limit lines, knee, colours, escaping."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import viz
from core.decide import front
from core.spec import Objective


@pytest.fixture
def points() -> pd.DataFrame:
    """Five trials: #0, #1 and #4 on the front; #2 dominated; #3 breaks a 20 ms latency limit."""
    frame = pd.DataFrame(
        {
            "number": [0, 1, 2, 3, 4],
            "state": ["COMPLETE"] * 5,
            "family": ["logreg", "hist_gb", "logreg", "xgboost", "voting"],
            "family_class": ["simple", "complex", "simple", "complex", "ensemble"],
            "roc_auc": [0.80, 0.70, 0.75, 0.95, 0.85],
            "latency_p95_ms": [10.0, 5.0, 12.0, 30.0, 15.0],
            "dp_diff": [0.05, 0.02, 0.10, 0.01, 0.04],
        }
    )
    return front.annotate(frame, ["roc_auc", "latency_p95_ms"], [Objective("latency_p95_ms", limit=20)])


def _numbers(trace) -> list[int]:
    return [int(c[0]) for c in trace.customdata]


def test_scatter_2d_front_faded_limit_and_knee(points):
    fig = viz.scatter_2d(
        points, "latency_p95_ms", "roc_auc", limits={"latency_p95_ms": 20.0}, knee=0, selected=2, front_line=True
    )
    by_kind: dict[str, list[int]] = {}
    for t in fig.data:
        if t.customdata is not None:
            by_kind.setdefault(t.meta, []).extend(_numbers(t))
    assert sorted(by_kind["front"]) == [0, 1, 4]
    assert by_kind["dominated"] == [2] and by_kind["infeasible"] == [3]
    assert by_kind["knee"] == [0] and by_kind["selected"] == [2]
    marks = {t.meta: t.marker.symbol for t in fig.data if t.meta in ("knee", "selected")}
    assert all(sym.endswith("-open") for sym in marks.values())  # the marked point shows through
    # one front trace per family, each in its family's colour, named by the family label
    front_traces = [t for t in fig.data if t.meta == "front"]
    assert {t.name for t in front_traces} == {
        "Logistic regression",
        "Histogram gradient boosting",
        "Soft voting (LR + tree + boosting)",
    }
    assert all(t.marker.color == viz.FAMILY_COLORS[t.legendgroup] for t in front_traces)
    faded = next(t for t in fig.data if t.meta == "dominated")
    assert faded.marker.opacity < 0.5 and list(faded.marker.color) == [viz.FAMILY_COLORS["logreg"]]
    # the hard limit is a dashed vertical line at 20 ms; axis titles carry unit and direction
    assert [(s.x0, s.line.dash) for s in fig.layout.shapes] == [(20.0, "dash")]
    assert fig.layout.xaxis.title.text == "Latency p95 (ms, ↓ better)"
    assert fig.layout.yaxis.title.text == "ROC AUC (score, ↑ better)"
    line = next(t for t in fig.data if t.meta == "front_line")
    assert list(line.x) == sorted(points.loc[points.on_front, "latency_p95_ms"])


def test_hidden_and_colour_by_class(points):
    fig = viz.scatter_2d(points, "latency_p95_ms", "roc_auc", color_by="family_class", others="hidden")
    assert {t.meta for t in fig.data} == {"front"}
    assert {t.name for t in fig.data} == {"simple", "complex", "ensemble"}
    assert all(t.marker.color == viz.CLASS_COLORS[t.name] for t in fig.data)


def test_many_points_use_webgl():
    n = viz.GL_THRESHOLD + 10
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "number": range(n),
            "state": "COMPLETE",
            "family": "logreg",
            "family_class": "simple",
            "roc_auc": rng.random(n),
            "latency_p95_ms": rng.random(n),
        }
    )
    points = front.annotate(frame, ["roc_auc", "latency_p95_ms"])
    fig = viz.scatter_2d(points, "roc_auc", "latency_p95_ms")
    dominated = next(t for t in fig.data if t.meta == "dominated")
    assert dominated.type == "scattergl" and len(dominated.x) == n - int(points.on_front.sum())
    assert isinstance(dominated.customdata, np.ndarray) and dominated.customdata.dtype.kind == "f"


def test_scatter_3d_parallel_and_matrix(points):
    names = ["roc_auc", "latency_p95_ms", "dp_diff"]
    fig3 = viz.scatter_3d(points, names, knee=1)
    assert fig3.layout.scene.zaxis.title.text == "Demographic parity difference (score, ↓ better)"
    assert any(t.meta == "knee" and _numbers(t) == [1] for t in fig3.data)
    with pytest.raises(ValueError, match="exactly 3"):
        viz.scatter_3d(points, names[:2])
    pc = viz.parallel_coordinates(points, names)
    dims = pc.data[0].dimensions
    assert [d.label for d in dims] == [
        "Model family",
        "ROC AUC (score)",
        "Latency p95 (ms)",
        "Demographic parity difference (score)",
    ]
    # up is better on every axis: maximised range ascending, minimised descending
    assert dims[1].range[0] < dims[1].range[1] and dims[2].range[0] > dims[2].range[1]
    assert list(dims[0].ticktext) == [
        "Histogram gradient boosting",
        "Logistic regression",
        "Soft voting (LR + tree + boosting)",
        "XGBoost",
    ]
    splom = viz.scatter_matrix(points, names)
    assert all(len(t.dimensions) == 3 for t in splom.data)
    assert sum(len(t.dimensions[0].values) for t in splom.data) == len(points)


def test_bad_inputs_name_the_problem(points):
    with pytest.raises(ValueError, match="color_by"):
        viz.scatter_2d(points, "roc_auc", "latency_p95_ms", color_by="colour")
    with pytest.raises(ValueError, match="lacks column"):
        viz.scatter_2d(points.drop(columns="on_front"), "roc_auc", "latency_p95_ms")


def test_data_page_and_search_charts():
    stats = pd.DataFrame({"group": ["18-24", "25-34"], "n": [900, 1500], "base_rate": [0.2, 0.3]})
    fig = viz.group_bars(stats, overall_rate=0.25)
    assert [list(t.y) for t in fig.data] == [[900, 1500], [0.2, 0.3]]
    assert fig.layout.shapes[0].y0 == 0.25
    bal = viz.class_balance({"0": 750, "1": 250}, positive="1")
    assert list(bal.data[0].text) == ["750 (75.0%)", "250 (25.0%)"]
    assert bal.data[0].marker.color[1] != bal.data[0].marker.color[0]
    hv = viz.hypervolume_chart(pd.DataFrame({"number": [0, 1, 2], "hypervolume": [0.1, 0.4, 0.4]}))
    assert list(hv.data[0].y) == [0.1, 0.4, 0.4] and hv.data[0].line.shape == "hv"
    frame = pd.DataFrame(
        {
            "number": [0, 1, 2],
            "state": ["COMPLETE", "FAIL", "RUNNING"],
            "family": ["logreg", "knn", "voting"],
            "duration_s": [2.0, 1.0, None],
        }
    )
    tl = viz.trial_timeline(frame)
    assert {t.name for t in tl.data} == {"finished", "failed", "running"}
    done = next(t for t in tl.data if t.name == "finished")
    assert list(done.text) == ["Logistic regression"] and list(done.customdata) == ["2 s"]
    groups = pd.DataFrame(
        {"group": ["a", "b"], "selection_rate": [0.3, 0.5], "recall": [0.7, 0.6], "precision": [0.5, 0.4]}
    )
    assert [t.name for t in viz.group_metrics(groups).data] == ["selection rate", "recall", "precision"]


def test_user_text_is_escaped_in_every_label():
    """Plotly renders HTML in labels: class values, group names and family names arrive escaped."""
    bal = viz.class_balance({"<b>no</b>": 3, "yes": 1}, positive="yes")
    assert list(bal.data[0].y) == ["&lt;b&gt;no&lt;/b&gt;", "yes (positive)"]
    stats = pd.DataFrame({"group": ["<i>a</i>", "b"], "n": [10, 20], "base_rate": [0.1, 0.2]})
    assert list(viz.group_bars(stats).data[0].x) == ["&lt;i&gt;a&lt;/i&gt;", "b"]
    groups = pd.DataFrame({"group": ["<script>x</script>"], "selection_rate": [0.3], "accuracy": [0.9]})
    fig = viz.group_metrics(groups, metrics=("selection_rate", "accuracy"), title="Per group")
    assert [t.name for t in fig.data] == ["selection rate", "accuracy"]
    assert list(fig.data[0].x) == ["&lt;script&gt;x&lt;/script&gt;"] and fig.layout.title.text == "Per group"
    frame = pd.DataFrame(
        {
            "number": [0, 1],
            "state": ["COMPLETE", "COMPLETE"],
            "family": ["<b>custom</b>", "logreg"],
            "family_class": ["simple", "simple"],
            "roc_auc": [0.8, 0.7],
            "latency_p95_ms": [5.0, 2.0],
        }
    )
    fig2 = viz.scatter_2d(front.annotate(frame, ["roc_auc", "latency_p95_ms"]), "roc_auc", "latency_p95_ms")
    names = {t.name for t in fig2.data}
    texts = {str(v) for t in fig2.data for v in t.text}
    assert "&lt;b&gt;custom&lt;/b&gt;" in names and "&lt;b&gt;custom&lt;/b&gt;" in texts
    assert not any("<b>custom" in n for n in names | texts)


def test_report_options_chosen_mark_title_and_highlight(points):
    fig = viz.scatter_2d(points, "latency_p95_ms", "roc_auc", selected=4, selected_name="chosen #4", title="T <b>")
    mark = next(t for t in fig.data if t.meta == "selected")
    assert mark.name == "chosen #4" and _numbers(mark) == [4]
    assert fig.layout.title.text == "T &lt;b&gt;"
    pc = viz.parallel_coordinates(points, ["roc_auc", "latency_p95_ms"], highlight=4)
    assert list(pc.data[0].line.color) == [0.0, 0.0, 0.0, 0.0, 1.0]  # only the chosen trial is red


def test_two_studies_stars_both_points_with_an_arrow_and_escapes_names():
    from types import SimpleNamespace

    f = pd.DataFrame(
        {
            "number": [0, 1],
            "state": ["COMPLETE"] * 2,
            "family": ["logreg", "<b>x</b>"],
            "roc_auc": [0.7, 0.8],
            "latency_p95_ms": [1.0, 2.0],
        }
    )
    pair = SimpleNamespace(
        study_a="A <i>",
        study_b="B",
        objectives=["roc_auc", "latency_p95_ms"],
        frame_a=f,
        frame_b=f,
        front_a=f,
        front_b=f,
        chosen_a=0,
        point_a={"roc_auc": 0.7, "latency_p95_ms": 1.0},
        match_b=1,
        point_b={"roc_auc": 0.8, "latency_p95_ms": 2.0},
    )
    fig = viz.two_studies(pair)
    names = [t.name for t in fig.data]
    assert "chosen in A &lt;i&gt; (#0)" in names and "same configuration in B (#1)" in names
    assert list(fig.data[0].text) == ["#0 Logistic regression", "#1 &lt;b&gt;x&lt;/b&gt;"]
    assert len(fig.layout.annotations) == 1  # the arrow from A's point to B's


def _options() -> pd.DataFrame:
    """Options as core.decide.options makes them: #0 one point, #1 a curve of three rules (own rule 1)."""
    from core.decide import options

    frame = pd.DataFrame(
        {
            "number": [0, 1],
            "state": ["COMPLETE"] * 2,
            "family": ["logreg", "hist_gb"],
            "family_class": ["simple", "complex"],
            "accuracy": [0.70, 0.80],
            "dp_diff": [0.10, 0.20],
            "threshold": [0.5, 0.4],
            "latency_scope": ["precise", "screening"],
        }
    )
    curve = {
        "kind": "threshold",
        "threshold": [0.2, 0.4, 0.7],
        "tuned": 1,
        "search": {"accuracy": [0.75, 0.80, 0.72], "dp_diff": [0.30, 0.20, 0.05]},
        "test": {"accuracy": [0.74, 0.79, 0.71], "dp_diff": [0.31, 0.21, 0.06]},
    }
    rows = options.options_frame(frame, {1: curve})
    return front.annotate(rows, ["accuracy", "dp_diff"])


def test_options_carry_their_point_and_rule_and_the_trials_curve_is_a_line():
    from core.decide import options

    rows = _options()
    fig = viz.scatter_2d(rows, "accuracy", "dp_diff", selected="1@2", curve=rows[rows["number"] == 1])
    drawn = [t for t in fig.data if t.meta in ("front", "dominated", "infeasible")]
    pairs = sorted(tuple(int(v) for v in c) for t in drawn for c in t.customdata)
    assert pairs == [(0, -1), (1, 0), (1, 1), (1, 2)]  # a click names the option, not only the trial
    # hover: the rule for a point that is not the trial's own, in options.label's words
    texts = {tuple(int(v) for v in c): s for t in drawn for c, s in zip(t.customdata, t.text)}
    other = rows[rows["option"] == "1@2"].iloc[0]
    assert texts[(1, 2)].startswith(options.label(other).removeprefix("#1").strip() + " · Histogram")
    assert texts[(1, 1)].startswith("Histogram") and "screening estimate" in texts[(1, 1)]
    assert "at threshold" not in texts[(0, -1)] and "screening" not in texts[(0, -1)]
    # the selected option is ringed, and its trial's whole curve is one line ordered by threshold
    ring = next(t for t in fig.data if t.meta == "selected")
    assert (float(ring.x[0]), float(ring.y[0])) == (0.72, 0.05)
    line = next(t for t in fig.data if t.meta == "curve")
    assert line.mode == "lines+markers" and list(line.x) == [0.75, 0.80, 0.72] and list(line.y) == [0.30, 0.20, 0.05]
    assert list(line.text) == ["0.20", "0.40", "0.70"]
    # a trial with one point draws no line; a standalone curve figure has the same line
    assert viz.trial_curve(rows[rows["number"] == 0], "accuracy", "dp_diff") is None
    alone = viz.curve_figure(rows[rows["number"] == 1], "accuracy", "dp_diff")
    assert [t.meta for t in alone.data] == ["curve"]


def test_a_curve_follows_the_charts_drawing_units():
    rows = _options().assign(model_size_bytes=[3e6, 2e6, 2e6, 2e6])  # stored in bytes, drawn in MB
    fig = viz.scatter_2d(rows, "model_size_bytes", "accuracy", curve=rows[rows["number"] == 1])
    assert fig.layout.xaxis.title.text.startswith("Model size (MB")
    line = next(t for t in fig.data if t.meta == "curve")
    dots = [x for t in fig.data if t.meta in ("front", "dominated") for x, c in zip(t.x, t.customdata) if c[0] == 1]
    assert sorted(np.round(line.x, 9)) == sorted(np.round(dots, 9)) and max(line.x) < 10
