"""Two studies of the same problem on one chart: did the front move, and where did our choice go?

The input is anything shaped like :class:`core.decide.study_compare.StudyComparison` (two frames,
two fronts, the chosen trial's point in A and the same configuration's point in B); described by a
Protocol so this layer never imports the decision layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import pandas as pd
import plotly.graph_objects as go

from core import objectives as obj
from core.viz._style import LEGEND, axis_title, fit_axes, label, rescale, scaled, titled, trial_label

COLOR_A, COLOR_B = "#1f77b4", "#ff7f0e"
_STAR = {"symbol": "star", "size": 18, "line": {"width": 1, "color": "black"}}


class StudyPair(Protocol):
    study_a: str
    study_b: str
    objectives: list[str]
    frame_a: pd.DataFrame
    frame_b: pd.DataFrame
    front_a: pd.DataFrame
    front_b: pd.DataFrame
    chosen_a: int | None
    point_a: dict[str, float]
    match_b: int | None
    point_b: dict[str, float] | None


def _hover_text(rows: pd.DataFrame) -> list[str]:
    return [label(trial_label(n, f)) for n, f in zip(rows["number"], rows["family"])]


def _study_traces(
    name: str,
    frame: pd.DataFrame,
    front: pd.DataFrame,
    color: str,
    axes: tuple[str, str],
    units: Mapping[str, str],
    flat: bool,
) -> list[go.Scatter]:
    """One study's finished trials (faint) and its front joined by a line, in drawing units."""
    x, y = axes
    done = frame[frame["state"] == "COMPLETE"]
    pf = front.sort_values(x)
    hover = (
        f"<b>%{{text}}</b><br>{label(obj.get(x).label)}: %{{x:.4g}} {units[x]}"
        f"<br>{label(obj.get(y).label)}: %{{y:.4g}} {units[y]}<extra></extra>"
    )
    return [
        go.Scatter(
            x=done[x],
            y=done[y],
            mode="markers",
            name=f"{label(name)}: trials",
            opacity=0.3,
            marker={"color": color, "size": 7},
            text=_hover_text(done),
            hovertemplate=hover,
        ),
        go.Scatter(
            x=pf[x],
            y=pf[y],
            mode="lines+markers",
            name=f"{label(name)}: front",
            line={"color": color, "shape": "hv" if flat else "linear"},
            marker={"color": color, "size": 10},
            text=_hover_text(pf),
            hovertemplate=hover,
        ),
    ]


def _star(point: Mapping[str, float], x: str, y: str, name: str, color: str) -> go.Scatter:
    return go.Scatter(x=[point[x]], y=[point[y]], mode="markers", name=name, marker={**_STAR, "color": color})


def _point(point: Mapping[str, float], factors: Mapping[str, float]) -> dict[str, float]:
    return {n: float(v) * factors.get(n, 1.0) for n, v in point.items()}


def two_studies(c: StudyPair) -> go.Figure:
    """Both studies' trials on the first two shared objectives; fronts joined by lines; A's chosen
    trial starred, the same configuration in B starred, with an arrow for how far it moved."""
    names = c.objectives
    x, y = names[0], names[1] if len(names) > 1 else names[0]
    # one unit per axis for both studies (sizes in kB or MB), so the two clouds stay comparable
    _, units, factors = scaled(pd.concat([c.frame_a[[x, y]], c.frame_b[[x, y]]]), (x, y))
    fig = go.Figure()
    for study, frame, front, color in (
        (c.study_a, c.frame_a, c.front_a, COLOR_A),
        (c.study_b, c.frame_b, c.front_b, COLOR_B),
    ):
        traces = _study_traces(
            study, rescale(frame, factors), rescale(front, factors), color, (x, y), units, len(names) == 2
        )
        fig.add_traces(traces)
    point_a = _point(c.point_a, factors) if c.point_a else {}
    if c.chosen_a is not None and point_a:
        fig.add_trace(_star(point_a, x, y, f"chosen in {label(c.study_a)} (#{c.chosen_a})", COLOR_A))
    if c.point_b is not None:
        point_b = _point(c.point_b, factors)
        fig.add_trace(_star(point_b, x, y, f"same configuration in {label(c.study_b)} (#{c.match_b})", COLOR_B))
        if point_a:
            fig.add_annotation(
                x=point_b[x],
                y=point_b[y],
                ax=point_a[x],
                ay=point_a[y],
                xref="x",
                yref="y",
                axref="x",
                ayref="y",
                showarrow=True,
                arrowhead=3,
                arrowwidth=1.5,
                arrowcolor="#444",
            )
    fig.update_layout(
        title=titled("Two studies on the same objectives"),
        xaxis_title=axis_title(x, units[x]),
        yaxis_title=axis_title(y, units[y]),
        height=520,
        legend=LEGEND,
        margin=dict(l=10, r=10, t=40, b=10),
    )
    return fit_axes(fig)
