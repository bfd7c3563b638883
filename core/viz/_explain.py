"""What drives a model's scores: permutation importance and partial dependence, one colour per model.

Input is the JSON form of :mod:`core.decide.explain` results (what the Compare page caches and the
bundle stores); feature names and category values are data, so they are escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core import objectives as obj
from core.viz._style import WHITE_LAYOUT, fit_axes, label, model_color, titled


def _feature_order(explanations: Sequence[Mapping], top: int) -> list[str]:
    """Every feature once, by the first model's importance (largest first), the top ``top``."""
    order: list[str] = []
    for e in explanations:
        for r in e["importance"]["rows"]:
            if r["feature"] not in order:
                order.append(r["feature"])
    if explanations:
        first = {r["feature"]: r["mean"] for r in explanations[0]["importance"]["rows"]}
        order.sort(key=lambda f: first.get(f, -np.inf), reverse=True)
    return order[:top]


def importance_bars(
    explanations: Sequence[Mapping], *, top: int = 12, title: str = "Permutation importance"
) -> go.Figure:
    """Permutation importance (drop in the score when a column is shuffled), grouped by model.

    ``explanations``: ``{"label", "importance": {"scoring", "rows": [{feature, mean, std}]}}`` each.
    """
    order = _feature_order(explanations, top)
    fig = go.Figure()
    for k, e in enumerate(explanations):
        by = {r["feature"]: r for r in e["importance"]["rows"]}
        fig.add_trace(
            go.Bar(
                y=[label(f) for f in order],
                x=[by[f]["mean"] if f in by else None for f in order],
                orientation="h",
                name=label(e["label"]),
                marker_color=model_color(k),
                error_x=dict(type="data", array=[by[f]["std"] if f in by else 0 for f in order]),
            )
        )
    scoring = explanations[0]["importance"]["scoring"] if explanations else "roc_auc"
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title=f"drop in {obj.get(scoring).label} when shuffled (test part)")
    fig.update_layout(
        **WHITE_LAYOUT,
        barmode="group",
        height=max(300, 28 * len(order) * max(len(explanations), 1)),
        title=titled(title),
    )
    return fig


def partial_dependence(explanations: Sequence[Mapping]) -> go.Figure:
    """Average predicted probability over each top feature's range, one line (or bars) per model."""
    feats: list[str] = []
    for e in explanations:
        for p in e["partial_dependence"]:
            if p["feature"] not in feats:
                feats.append(p["feature"])
    fig = make_subplots(rows=1, cols=max(len(feats), 1), subplot_titles=[label(f) for f in feats] or [""])
    for k, e in enumerate(explanations):
        color = model_color(k)
        for p in e["partial_dependence"]:
            col = feats.index(p["feature"]) + 1
            categorical = p["kind"] == "categorical"
            trace = (go.Bar if categorical else go.Scatter)(
                x=[label(g) for g in p["grid"]] if categorical else p["grid"],
                y=p["average"],
                name=label(e["label"]),
                legendgroup=str(k),
                showlegend=col == 1,
                marker_color=color,
                **({} if categorical else {"mode": "lines", "line": dict(color=color)}),
            )
            fig.add_trace(trace, row=1, col=col)
    fig.update_yaxes(title="mean predicted probability", col=1)
    fig.update_layout(**WHITE_LAYOUT, height=360, title=titled("Partial dependence of the top features"))
    return fit_axes(fig)
