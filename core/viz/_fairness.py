"""Per-group results of a model: bars with Wilson intervals (a trial's stored test figures) or with
bootstrap intervals for several models (Compare). Group names are data values, so they are escaped;
each bar's hover gives the group's rows and the small-group flag, so a wide bar on few rows reads as such."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.viz._style import LAYOUT, WHITE_LAYOUT, fit_axes, label, model_color, titled

GROUP_METRICS = ("selection_rate", "recall", "precision")
_GROUP_COLORS = {"selection_rate": "#88CCEE", "recall": "#117733", "precision": "#CC6677", "accuracy": "#DDCC77"}


def group_metrics(
    groups: pd.DataFrame, *, metrics: Sequence[str] = GROUP_METRICS, title: str | None = None
) -> go.Figure:
    """Per-group rates of one model on the test part (``groups``: group, n and one column per metric;
    ``<metric>_low``/``_high`` give error bars, ``note`` a flag; see :func:`core.metrics.with_intervals`)."""
    fig = go.Figure()
    n = groups["n"] if "n" in groups else pd.Series([None] * len(groups))
    notes = groups["note"] if "note" in groups else pd.Series([""] * len(groups))
    hover = [[label(f"n={int(k)}" if k == k and k is not None else "n=?"), label(t or "")] for k, t in zip(n, notes)]
    for col in metrics:
        if col not in groups:
            continue
        bars = {}
        if f"{col}_low" in groups and f"{col}_high" in groups:
            rows = [{"low": lo, "high": hi} for lo, hi in zip(groups[f"{col}_low"], groups[f"{col}_high"])]
            bars = {"error_y": _error_bars(rows, list(groups[col]))}
        fig.add_trace(
            go.Bar(
                x=[label(g) for g in groups["group"]],
                y=groups[col],
                name=col.replace("_", " "),
                marker_color=_GROUP_COLORS.get(col),
                customdata=hover,
                hovertemplate="%{x} (%{customdata[0]}): %{y:.3f} %{customdata[1]}<extra></extra>",
                **bars,
            )
        )
    fig.update_layout(**LAYOUT, title=titled(title), height=320, barmode="group", yaxis_tickformat=".0%")
    return fig


def _bound(b, v):
    return v if b is None or b != b else b


def _error_bars(rows: Sequence[Mapping], vals: Sequence[float]) -> dict:
    return dict(
        type="data",
        symmetric=False,
        array=[_bound(g["high"], v) - v for g, v in zip(rows, vals)],
        arrayminus=[v - _bound(g["low"], v) for g, v in zip(rows, vals)],
    )


def fairness_bars(
    fairness: Sequence[Mapping], *, metrics: Sequence[str] = ("selection_rate", "recall", "precision", "accuracy")
) -> go.Figure:
    """Per-group bars with bootstrap error bars, one panel per metric, one colour per model.

    ``fairness``: the JSON form of :class:`core.decide.compare` fairness details (label, groups
    with metric, group, value, low, high, n).
    """
    titles = [m.replace("_", " ").capitalize() for m in metrics]
    fig = make_subplots(rows=(len(metrics) + 1) // 2, cols=2, subplot_titles=titles, vertical_spacing=0.14)
    for k, f in enumerate(fairness):
        for i, m in enumerate(metrics):
            rows = [g for g in f["groups"] if g["metric"] == m]
            vals = [g["value"] for g in rows]
            fig.add_trace(
                go.Bar(
                    x=[label(g["group"]) for g in rows],
                    y=vals,
                    name=label(f["label"]),
                    legendgroup=str(k),
                    showlegend=i == 0,
                    marker_color=model_color(k),
                    error_y=_error_bars(rows, vals),
                    customdata=[[g["n"], label(g.get("note") or "")] for g in rows],
                    hovertemplate="%{x} (n=%{customdata[0]}): %{y:.3f} %{customdata[1]}<extra></extra>",
                ),
                row=i // 2 + 1,
                col=i % 2 + 1,
            )
    fig.update_yaxes(range=[0, 1.05])
    fig.update_layout(
        **{**WHITE_LAYOUT, "margin": dict(l=10, r=10, t=70, b=10)},
        barmode="group",
        height=600,
        title=titled("Per-group metrics on the test part (bootstrap intervals)"),
    )
    return fit_axes(fig)
