"""The Decide page's figures: who gives up what (regret heatmap), the shortlist's shape (radar) and
the round's votes.

Names typed by people (stakeholders, trial labels) end up in axis labels and hover text, where
Plotly renders a subset of HTML, so they are escaped (``<b>`` shows as ``<b>``).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from core.viz._style import LEGEND, fit_axes, label, metric_label, titled

#: Low regret is good: light to dark as the loss grows (readable for colour-blind viewers).
REGRET_SCALE = "YlOrRd"
HEIGHT = 360


Key = Hashable  # a row: an option key ("12", "12@3") or a trial number


def _trial_label(labels: Mapping[Any, str] | None, trial: Key) -> str:
    """The row's plain label (escaped), else ``#12`` / ``#12@3``."""
    return label((labels or {}).get(trial, f"#{trial}"))


def regret_heatmap(
    normalised: pd.DataFrame,
    in_units: pd.DataFrame | None = None,
    *,
    labels: Mapping[Any, str] | None = None,
    compromise: Key | None = None,
) -> go.Figure:
    """Candidates (rows) × stakeholders (columns), colour = normalised regret in [0, 1].

    The cell text is the regret as a share of the range seen on the front; hovering shows the
    loss in the objective's units (``in_units``). The compromise row is marked with a star, since
    "who gives up least at most" is the question the table exists to answer.
    """
    rows = list(normalised.index)
    y = [_trial_label(labels, t) + (" ★" if compromise is not None and t == compromise else "") for t in rows]
    z = normalised.astype(float).to_numpy()
    hover = None if in_units is None else [[label(in_units.at[t, c]) for c in normalised.columns] for t in rows]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[label(c) for c in normalised.columns],
            y=y,
            zmin=0.0,
            zmax=1.0,
            colorscale=REGRET_SCALE,
            text=[[f"{v:.0%}" for v in row] for row in z],
            texttemplate="%{text}",
            customdata=hover,
            hovertemplate=(
                "<b>%{y}</b> for %{x}<br>regret %{z:.2f}"
                + ("<br>%{customdata}" if hover is not None else "")
                + "<extra></extra>"
            ),
            colorbar=dict(title="regret"),
        )
    )
    fig.update_layout(
        title=titled("What each stakeholder gives up (share of the front's range)"),
        # stakeholder names sit above the grid (side="top"): the title's automargin keeps it above them
        height=max(HEIGHT, 60 * len(rows) + 150),
        margin=dict(l=10, r=10, t=60, b=10),
        yaxis=dict(autorange="reversed", type="category"),
        xaxis=dict(type="category", side="top"),
    )
    return fit_axes(fig)


def radar(normalised: pd.DataFrame, *, labels: Mapping[Any, str] | None = None) -> go.Figure:
    """One closed polygon per candidate over the objectives; further out = better.

    Plotted as ``1 - normalised`` so a bigger shape is a better candidate on every axis,
    which is how people read petal charts; the normalised value is 0 = best over the front.
    """
    cols = list(normalised.columns)
    theta = [metric_label(c) for c in cols]
    fig = go.Figure()
    for t, row in normalised.astype(float).iterrows():
        r = [1.0 - float(row[c]) for c in cols]
        fig.add_trace(
            go.Scatterpolar(
                r=r + r[:1],
                theta=theta + theta[:1],
                name=_trial_label(labels, t),
                fill="toself",
                opacity=0.55,
                hovertemplate="%{theta}: %{r:.2f} (1 = best on the front)<extra>%{fullData.name}</extra>",
            )
        )
    fig.update_layout(
        title=titled("Shortlist over normalised objectives (outer = better)"),
        height=HEIGHT + 60,
        polar=dict(radialaxis=dict(range=[0, 1], tickvals=[0, 0.5, 1])),
        margin=dict(l=30, r=30, t=60, b=30),
        legend=LEGEND,
    )
    return fig


def tally_bar(tally: pd.DataFrame, *, labels: Mapping[Any, str] | None = None, locked: Key | None = None) -> go.Figure:
    """Approvals, rejections and Borda points per candidate (``RoomStore.tally`` output).

    Two y-axes would suggest the counts are comparable; they are not, so approvals/rejections are
    grouped bars and Borda points a second bar group with its own axis on the right.
    """
    trials = list(tally.index)
    x = [_trial_label(labels, t) + (" ✔" if locked is not None and t == locked else "") for t in trials]
    fig = go.Figure()
    fig.add_bar(x=x, y=tally["approvals"].tolist(), name="approve", marker_color="#2a9d8f", offsetgroup=0)
    fig.add_bar(
        x=x,
        y=(-tally["rejections"]).tolist(),
        name="reject",
        marker_color="#e76f51",
        offsetgroup=0,
        customdata=tally["rejections"].tolist(),
        hovertemplate="%{x}: %{customdata} reject<extra></extra>",
    )
    fig.add_bar(x=x, y=tally["borda"].tolist(), name="Borda points", marker_color="#264653", offsetgroup=1, yaxis="y2")
    counts = [1, *tally["approvals"].tolist(), *tally["rejections"].tolist()]
    top_borda = max([1, *tally["borda"].tolist()])
    fig.update_layout(
        title=titled("Votes in this round"),
        barmode="relative",
        height=HEIGHT,
        xaxis=dict(type="category"),
        # whole votes: integer ticks, never 0.5 of a person
        yaxis=dict(title="approvals (up) / rejections (down)", zeroline=True, dtick=max(1, math.ceil(max(counts) / 5))),
        yaxis2=dict(
            title="Borda points",
            overlaying="y",
            side="right",
            showgrid=False,
            range=[0, top_borda * 1.1],
            dtick=max(1, math.ceil(top_borda / 5)),
        ),
        margin=dict(l=10, r=10, t=50, b=10),
        legend=LEGEND,
    )
    return fit_axes(fig)
