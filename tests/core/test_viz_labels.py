"""core.viz reads in plain words: no registry code, sizes in kB/MB, limits that do not squash the
data, 3-D axes with units and direction, titles and legends apart (issue 18, point 6)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from core import catalog, viz
from core import objectives as obj
from core.decide import front, mcdm
from core.spec import Objective

#: Keys whose strings a person sees: trace and legend names, hover and cell text, tick and axis labels.
VISIBLE = {"name", "text", "hovertemplate", "texttemplate", "ticktext", "label", "theta", "x", "y", "customdata"}
#: Registry codes that are not also plain words ("voting", "stacking" and "accuracy" are).
CODES = sorted(
    {n for n in catalog.FAMILY_NAMES if "_" in n or n in ("logreg", "knn", "xgboost")}
    | {n for n in obj.REGISTRY if "_" in n}
    | {"COMPLETE", "FAIL", "RUNNING", "PRUNED"}
)
CODE_RE = re.compile(r"\b(" + "|".join(map(re.escape, CODES)) + r")\b")
AD_WORDS = re.compile(r"conversion|advertiser|impression|\bfee\b|\bad\b", re.I)


def _strings(node: Any, visible: bool = False) -> Iterator[str]:
    if isinstance(node, str):
        if visible:
            yield node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from _strings(v, visible or k in VISIBLE or (k == "title" and isinstance(v, (str, dict))))
    elif isinstance(node, (list, tuple, np.ndarray)):
        for v in node:
            yield from _strings(v, visible)


def visible_text(fig: go.Figure) -> list[str]:
    """Every string of a figure a person can read (annotations and titles included)."""
    d = fig.to_plotly_json()
    out = list(_strings(d["data"]))
    layout = d["layout"]
    out += list(_strings({k: v for k, v in layout.items() if k != "template"}, False))
    out += [a.get("text", "") for a in layout.get("annotations", ())]
    return [s for s in out if s]


@pytest.fixture
def trials() -> pd.DataFrame:
    """Every catalogue family, with sizes in bytes as stored and a trial that breaks the limit."""
    rng = np.random.default_rng(1)
    families = list(catalog.FAMILY_NAMES) * 2
    n = len(families)
    frame = pd.DataFrame(
        {
            "number": range(n),
            "state": ["COMPLETE"] * (n - 2) + ["FAIL", "RUNNING"],
            "family": families,
            "family_class": [catalog.FAMILIES[f].klass for f in families],
            "roc_auc": 0.7 + 0.2 * rng.random(n),
            "latency_p95_ms": 1.0 + 2.0 * rng.random(n),
            "dp_diff": 0.1 * rng.random(n),
            "model_size_bytes": 2e5 + 4e6 * rng.random(n),
            "duration_s": 90 * rng.random(n),
        }
    )
    return front.annotate(frame, ["roc_auc", "latency_p95_ms"], [Objective("latency_p95_ms", limit=2.5)])


def _figures(trials: pd.DataFrame) -> dict[str, go.Figure]:
    names = ["roc_auc", "model_size_bytes", "dp_diff"]
    points = pd.DataFrame(
        {"roc_auc": [0.9, 0.85, 0.8], "eo_diff": [0.1, 0.02, 0.05]}, index=pd.Index([3, 7, 9], name="trial")
    )
    dirs = {"roc_auc": "maximize", "eo_diff": "minimize"}
    people = [mcdm.Stakeholder("ML", ("roc_auc",)), mcdm.Stakeholder("Legal", ("eo_diff",))]
    regret = mcdm.regret_table(points, dirs, people, [3, 7, 9])
    labels = {t: viz.trial_label(t, f) for t, f in ((3, "hist_gb"), (7, "naive_bayes"), (9, "logreg"))}
    fronts: dict[str, pd.DataFrame] = {k: trials[trials.family_class == k].head(3) for k in catalog.KLASSES}
    class_points = viz.front_points(trials.assign(feasible=True), fronts, "roc_auc", "model_size_bytes")
    return {
        "2d": viz.scatter_2d(trials, "model_size_bytes", "roc_auc", knee=0, selected=1, limits={"latency_p95_ms": 2.5}),
        "3d": viz.scatter_3d(trials, names, knee=0),
        "parallel": viz.parallel_coordinates(trials, names, highlight=2),
        "matrix": viz.scatter_matrix(trials, names),
        "class_fronts": viz.class_fronts(class_points, "roc_auc", "model_size_bytes", highlight=[0]),
        "timeline": viz.trial_timeline(trials),
        "regret": viz.regret_heatmap(regret.normalised, regret.in_units, labels=labels),
        "radar": viz.radar(mcdm.normalise(points, dirs), labels=labels),
    }


def test_no_registry_code_sizes_in_kb_mb_and_no_ad_wording(trials):
    for kind, fig in _figures(trials).items():
        text = visible_text(fig)
        assert text, kind
        found = sorted({m for s in text for m in CODE_RE.findall(s)})
        assert found == [], (kind, found)
        assert not any("bytes" in s for s in text), kind
        assert not any(AD_WORDS.search(s) for s in text), kind
    hover = next(t for t in _figures(trials)["2d"].data if t.meta == "front")
    assert hover.hovertemplate.startswith("<b>#%{customdata[0]} %{text}</b>")
    assert set(hover.text) <= {viz.label(f.label) for f in catalog.FAMILIES.values()}


def test_a_size_axis_reads_in_mb_and_its_limit_follows(trials):
    fig = viz.scatter_2d(trials, "model_size_bytes", "roc_auc", limits={"model_size_bytes": 3 * 1024**2})
    assert fig.layout.xaxis.title.text == "Model size (MB, ↓ better)"
    xs = np.concatenate([np.asarray(t.x, float) for t in fig.data if t.meta in ("front", "dominated", "infeasible")])
    assert xs.max() == pytest.approx(trials["model_size_bytes"].max() / 1024**2)
    assert [s.x0 for s in fig.layout.shapes] == [pytest.approx(3.0)]
    assert "MB" in next(t for t in fig.data if t.meta == "front").hovertemplate
    assert fig.layout.annotations[0].text == "limit 3.0 MB"
    small = viz.scale_of("model_size_bytes", [500.0, 20_000.0])
    assert small == (pytest.approx(1 / 1024), "kB")
    assert viz.scale_of("latency_p95_ms", [1e6]) == (1.0, "ms")


def test_a_far_limit_is_a_note_at_the_edge_not_a_stretched_axis(trials):
    fig = viz.scatter_2d(trials, "latency_p95_ms", "roc_auc", limits={"latency_p95_ms": 200.0, "roc_auc": 0.05})
    assert list(fig.layout.shapes) == []  # nothing drawn at 200 ms or 0.05: the axes keep to the data
    notes = [a.text for a in fig.layout.annotations]
    assert notes == ["limit 200.00 ms →", "limit 0.0500 ↓"]
    near = viz.scatter_2d(trials, "latency_p95_ms", "roc_auc", limits={"latency_p95_ms": 3.5})
    assert [s.x0 for s in near.layout.shapes] == [3.5]  # within half a span: still a line


def test_3d_axes_carry_unit_and_direction(trials):
    scene = viz.scatter_3d(trials, ["roc_auc", "latency_p95_ms", "model_size_bytes"]).layout.scene
    assert scene.xaxis.title.text == "ROC AUC (score, ↑ better)"
    assert scene.yaxis.title.text == "Latency p95 (ms, ↓ better)"
    assert scene.zaxis.title.text == "Model size (MB, ↓ better)"


def test_parallel_coordinates_leave_room_for_names_and_the_last_title(trials):
    fig = viz.parallel_coordinates(trials, ["roc_auc", "dp_diff"])
    dims = fig.data[0].dimensions
    longest = max(len(t) for t in dims[0].ticktext)
    assert fig.layout.margin.l >= 6 * longest  # "Stacking (LR + forest + boosting → LR)" stays in view
    assert fig.layout.margin.r >= 3 * len(dims[-1].label)  # the last title is centred on the last axis


def test_titles_and_legends_sit_apart_on_every_titled_figure(trials):
    """Title at the top of the figure, legend at its bottom, both in container coordinates (the
    browser test in test_viz_layout.py measures the rendered boxes)."""
    for kind, fig in _figures(trials).items():
        if fig.layout.title.text:
            assert fig.layout.title.yref == "container" and fig.layout.title.y == 1.0, kind
            assert fig.layout.title.automargin, kind
        if fig.layout.legend.orientation == "h":
            assert (fig.layout.legend.yref, fig.layout.legend.y) == ("container", 0.0), kind
