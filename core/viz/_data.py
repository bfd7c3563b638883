"""The Data page's figures: rows per target class and, per sensitive group, size and base rate.

Class and group labels are data values (anything a spreadsheet holds), so they are escaped.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.viz._style import LAYOUT, fit_axes, label


def class_balance(counts: Mapping[str, int], *, positive: str | None = None) -> go.Figure:
    """Rows per target class; the positive class is highlighted."""
    labels = [str(k) for k in counts]
    values = [int(v) for v in counts.values()]
    total = max(sum(values), 1)
    fig = go.Figure(
        go.Bar(
            x=values,
            y=[label(f"{k} (positive)" if k == positive else k) for k in labels],
            orientation="h",
            marker_color=["#0072B2" if k == positive else "#A6BDD7" for k in labels],
            text=[f"{v:,} ({v / total:.1%})" for v in values],
            textposition="auto",
        )
    )
    # labels such as "0"/"1" must stay categories, not become a numeric axis
    fig.update_layout(
        **LAYOUT,
        height=120 + 50 * len(labels),
        xaxis_title="rows",
        showlegend=False,
        yaxis=dict(type="category", ticksuffix="  "),
    )
    return fig


def group_bars(stats: pd.DataFrame, *, overall_rate: float | None = None) -> go.Figure:
    """Group sizes and base rates side by side (``stats``: group, n, base_rate)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("rows per group", "base rate (share positive)"))
    groups = [label(g) for g in stats["group"]]
    for col, values, color, name, text in (
        (1, stats["n"], "#88CCEE", "rows", [f"{int(v):,}" for v in stats["n"]]),
        (2, stats["base_rate"], "#CC6677", "base rate", [f"{v:.1%}" for v in stats["base_rate"]]),
    ):
        fig.add_trace(
            go.Bar(x=groups, y=values, marker_color=color, name=name, text=text, textposition="auto"), row=1, col=col
        )
    if overall_rate is not None:
        fig.add_hline(
            y=overall_rate,
            line=dict(color="#333", dash="dot"),
            row=1,
            col=2,
            annotation_text=f"overall {overall_rate:.1%}",
            annotation_position="top left",
            annotation_yshift=8,
        )
    fig.update_layout(**LAYOUT, height=320, showlegend=False)
    fig.update_yaxes(tickformat=".0%", row=1, col=2)
    return fit_axes(fig)
