"""One trial's curve of operating points drawn as a line in the current axes.

Why a line: the same fitted model cut at another threshold is another option, so when the room
selects an option it must see every trade-off that model offers at no extra fitting cost, not the
one point the search happened to tune. The rows are that trial's operating points (one per rule,
as :func:`core.decide.options.load_options` gives them), ordered by threshold so the line follows
the model from "yes to everyone" to "no to everyone".
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core import objectives as obj
from core.viz._style import CHOSEN_COLOR, LAYOUT, axis_title, label, rescale, scaled

CURVE_META = "curve"  # the trace's ``meta``: what a test or a click handler looks for


def curve_customdata(rows: pd.DataFrame) -> np.ndarray:
    """(trial number, operating point or -1) per row: a click on the line maps back to an option."""
    point = rows["point"].to_numpy(dtype=float) if "point" in rows else np.full(len(rows), np.nan)
    return np.column_stack([rows["number"].to_numpy(dtype=float), np.nan_to_num(point, nan=-1.0)])


def trial_curve(
    rows: pd.DataFrame,
    x: str,
    y: str,
    *,
    factors: Mapping[str, float] | None = None,
    units: Mapping[str, str] | None = None,
    name: str | None = None,
) -> go.Scatter | None:
    """The trial's operating points joined as a line (None with fewer than two finite points).

    ``rows`` are in stored units; ``factors`` (from :func:`core.viz._style.scaled`) bring them to
    the drawing units of the chart the line is added to, ``units`` name those units in the hover.
    """
    if rows.empty:
        return None
    order = rows.sort_values("threshold") if "threshold" in rows else rows
    drawn = rescale(order, dict(factors or {}))
    xs, ys = drawn[x].to_numpy(float), drawn[y].to_numpy(float)
    keep = np.isfinite(xs) & np.isfinite(ys)
    if keep.sum() < 2:
        return None
    number = int(order["number"].iloc[0])
    units = units or {}
    thresholds = order["threshold"].to_numpy(float) if "threshold" in order else np.full(len(order), np.nan)
    hover = "<br>".join(
        [
            f"<b>#{number}</b> at threshold %{{text}}",
            f"{obj.get(x).label}: %{{x:.4g}} {label(units.get(x, obj.get(x).unit))}",
            f"{obj.get(y).label}: %{{y:.4g}} {label(units.get(y, obj.get(y).unit))}",
        ]
    )
    return go.Scatter(
        x=xs[keep],
        y=ys[keep],
        mode="lines+markers",
        name=label(name or f"#{number}: every threshold"),
        line=dict(color=CHOSEN_COLOR, width=2),
        marker=dict(color=CHOSEN_COLOR, size=5, opacity=0.8),
        customdata=curve_customdata(order)[keep],
        text=np.array([f"{t:.2f}" if np.isfinite(t) else "?" for t in thresholds[keep]]),
        hovertemplate=hover + "<extra></extra>",
        meta=CURVE_META,
    )


def curve_figure(rows: pd.DataFrame, x: str, y: str) -> go.Figure:
    """A figure holding only one trial's curve (for the report or a notebook)."""
    _, units, factors = scaled(rows, (x, y))
    fig = go.Figure()
    trace = trial_curve(rows, x, y, factors=factors, units=units)
    if trace is not None:
        fig.add_trace(trace)
    fig.update_layout(**LAYOUT, xaxis_title=axis_title(x, units[x]), yaxis_title=axis_title(y, units[y]), height=420)
    return fig
