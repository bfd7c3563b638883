"""How a search is going: the hypervolume after each trial and each trial's duration by state.

Optuna's state codes (COMPLETE, FAIL…) and family codes never reach the figure: the legend says
"finished" or "failed", the hover names the family and reads the duration as people say it.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from core._text import fmt_duration
from core.viz._style import GREY, LAYOUT, family_label, label

STATE_LABELS = {
    "COMPLETE": "finished",
    "FAIL": "failed",
    "RUNNING": "running",
    "PRUNED": "stopped early",
    "WAITING": "waiting",
}
STATE_COLORS = {
    "COMPLETE": "#117733",
    "FAIL": "#C0392B",
    "RUNNING": "#E69F00",
    "PRUNED": "#888888",
    "WAITING": "#BBBBBB",
}


def hypervolume_chart(history: pd.DataFrame) -> go.Figure:
    """Normalised hypervolume after each trial: rises while the search still finds better trade-offs."""
    fig = go.Figure(
        go.Scatter(
            x=history["number"],
            y=history["hypervolume"],
            mode="lines+markers",
            line=dict(shape="hv", color="#0072B2"),
            marker=dict(size=5),
            name="hypervolume",
        )
    )
    fig.update_layout(
        **LAYOUT, height=260, xaxis_title="trial", yaxis_title="hypervolume (normalised)", showlegend=False
    )
    return fig


def trial_timeline(frame: pd.DataFrame) -> go.Figure:
    """Each trial's duration by number, coloured by state: failures and slow families stand out."""
    fig = go.Figure()
    for state, rows in frame.groupby("state", sort=True):
        raw = rows["duration_s"].astype(float)
        seconds = raw.fillna(0.0).tolist()
        fig.add_trace(
            go.Bar(
                x=rows["number"],
                y=seconds,
                name=label(STATE_LABELS.get(str(state), str(state).lower())),
                marker_color=STATE_COLORS.get(str(state), GREY),
                text=[label(family_label(f)) for f in rows["family"]],
                customdata=[fmt_duration(s) for s in raw],
                textposition="none",
                hovertemplate="#%{x} %{text}: %{customdata}<extra></extra>",
            )
        )
    fig.update_layout(**LAYOUT, height=240, xaxis_title="trial", yaxis_title="duration (s)", barmode="overlay")
    return fig
