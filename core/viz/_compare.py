"""The Compare page's figures: paired differences (forest plot), cost ratios, each class's front and
the cascade's band.

Input is the JSON form of :class:`core.decide.compare.Report` (``Report.to_dict()``): what the page
caches and the bundle stores, so a figure drawn from a live comparison and one drawn later from an
exported bundle are the same figure. Differences are challenger − baseline with their bootstrap
interval; a dashed zero line (forest) or 1× line (ratios) marks "no difference"; verdict colours
are fixed (green better, grey no significant difference, red worse).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core import objectives as obj
from core.viz._style import (
    CLASS_COLORS,
    GREY,
    VERDICT_COLORS,
    WHITE_LAYOUT,
    arrow,
    axis_title,
    fit_axes,
    label,
    model_color,
    scaled,
    titled,
    trial_label,
)


def _name(c: Mapping) -> str:
    return str(c.get("label") or f"#{c.get('number')}")


def _forest_point(c: Mapping, d: Mapping, show_legend: bool) -> go.Scatter:
    """One challenger's difference on one metric, with its interval as an error bar."""
    full = label(f"{_name(c['challenger'])} − {_name(c['baseline'])}")
    lo = d["low"] if d["low"] is not None else d["diff"]
    hi = d["high"] if d["high"] is not None else d["diff"]
    verdict = label(d["verdict"])
    return go.Scatter(
        x=[d["diff"]],
        y=[label(f"#{c['challenger']['number']} − #{c['baseline']['number']}")],
        mode="markers",
        name=verdict,
        legendgroup=d["verdict"],
        showlegend=show_legend,
        marker=dict(size=11, color=VERDICT_COLORS.get(d["verdict"], GREY), symbol="diamond"),
        error_x=dict(type="data", symmetric=False, array=[hi - d["diff"]], arrayminus=[d["diff"] - lo]),
        hovertemplate=f"{full}<br>{label(d['label'])}: %{{x:.4g}} [{lo:.4g}, {hi:.4g}]<br>{verdict}<extra></extra>",
    )


def forest(comparisons: Sequence[Mapping], *, metrics: Sequence[str] | None = None) -> go.Figure:
    """Forest plot: one panel per metric (own scale), one row per challenger, zero line dashed."""
    metrics = list(metrics or [d["metric"] for d in comparisons[0]["differences"]]) if comparisons else []
    fig = make_subplots(
        rows=max(len(metrics), 1),
        cols=1,
        vertical_spacing=0.04,
        subplot_titles=[f"{obj.get(m).label} ({arrow(m)} better)" for m in metrics] or [""],
    )
    seen: set[str] = set()
    for i, m in enumerate(metrics, start=1):
        for c in comparisons:
            d = next((x for x in c["differences"] if x["metric"] == m), None)
            if d is None or d["diff"] is None:
                continue
            fig.add_trace(_forest_point(c, d, d["verdict"] not in seen), row=i, col=1)
            seen.add(d["verdict"])
        fig.add_vline(x=0, line_dash="dash", line_color="#333333", row=i, col=1)
    fig.update_layout(
        **{**WHITE_LAYOUT, "margin": dict(l=10, r=10, t=60, b=10)},
        height=max(240, 95 * len(metrics) + 60 * max(len(comparisons) - 1, 0) + 110),
        title=titled("Differences (challenger − baseline) with bootstrap intervals"),
    )
    return fit_axes(fig)


def ratios(comparisons: Sequence[Mapping]) -> go.Figure:
    """Cost ratios challenger/baseline on a log axis with their spread; 1× = no difference."""
    fig = go.Figure()
    for k, c in enumerate(comparisons):
        rs = [r for r in c["ratios"] if r["ratio"] is not None]
        fig.add_trace(
            go.Bar(
                y=[label(r["label"]) for r in rs],
                x=[r["ratio"] for r in rs],
                orientation="h",
                name=label(f"{_name(c['challenger'])} / {_name(c['baseline'])}"),
                marker_color=[VERDICT_COLORS.get(r["verdict"], GREY) for r in rs],
                marker_line=dict(color=model_color(k), width=2),
                error_x=dict(
                    type="data",
                    symmetric=False,
                    array=[(r["high"] or r["ratio"]) - r["ratio"] for r in rs],
                    arrayminus=[r["ratio"] - (r["low"] or r["ratio"]) for r in rs],
                ),
                base=None,
                hovertemplate="%{y}: %{x:.2f}×<extra></extra>",
            )
        )
    fig.add_vline(x=1, line_dash="dash", line_color="#333333")
    fig.update_xaxes(type="log", title="challenger / baseline (log scale; < 1 = challenger smaller)")
    fig.update_layout(**WHITE_LAYOUT, barmode="group", height=380, title=titled("Costs: ratio with spread over rounds"))
    return fig


def front_points(frame: pd.DataFrame, fronts: Mapping[str, pd.DataFrame], x: str, y: str) -> pd.DataFrame:
    """Rows for :func:`class_fronts`: feasible finished trials with ``on_front`` within their class."""
    if frame.empty:
        return pd.DataFrame(columns=["number", "family_class", "on_front", x, y])
    ok = frame[(frame["state"] == "COMPLETE") & frame["feasible"].astype(bool)].copy()
    members = {int(n) for f in fronts.values() for n in f["number"]}
    ok["on_front"] = ok["number"].astype(int).isin(members)
    cols = list(dict.fromkeys(["number", "family_class", "on_front", *(["family"] if "family" in ok else []), x, y]))
    return ok[cols].reset_index(drop=True)


def _names(rows: pd.DataFrame) -> list[str]:
    """Each point's hover name, "#15 Histogram gradient boosting" (the number alone without families)."""
    families = rows["family"] if "family" in rows else [None] * len(rows)
    return [label(trial_label(n, f)) for n, f in zip(rows["number"], families)]


def _class_traces(klass: str, part: pd.DataFrame, x: str, y: str, units: Mapping[str, str]) -> list[go.Scatter]:
    """A class's feasible trials (faint) and its front joined by a step line."""
    color = CLASS_COLORS.get(klass, GREY)
    hover = (
        f"<b>%{{text}}</b><br>{label(obj.get(x).label)}: %{{x:.4g}} {units[x]}"
        f"<br>{label(obj.get(y).label)}: %{{y:.4g}} {units[y]}<extra></extra>"
    )
    traces = [
        go.Scatter(
            x=part[x],
            y=part[y],
            mode="markers",
            name=label(f"{klass} (all)"),
            opacity=0.35,
            marker=dict(color=color, size=7),
            customdata=part[["number"]].to_numpy(),
            text=_names(part),
            hovertemplate=hover,
            showlegend=False,
        )
    ]
    fr = part[part["on_front"].astype(bool)].sort_values(x)
    if len(fr):
        traces.append(
            go.Scatter(
                x=fr[x],
                y=fr[y],
                mode="lines+markers",
                name=label(f"{klass} front"),
                line=dict(color=color, width=2, shape="hv"),
                marker=dict(color=color, size=9),
                customdata=fr[["number"]].to_numpy(),
                text=_names(fr),
                hovertemplate=hover,
            )
        )
    return traces


def class_fronts(points: pd.DataFrame, x: str, y: str, *, highlight: Sequence[int] = ()) -> go.Figure:
    """Each class's Pareto front overlaid: all feasible trials faint, front members joined.

    ``points``: rows of :func:`front_points` (``number``, ``family_class``, ``on_front`` within its
    class, and the two metric columns ``x`` and ``y``).
    """
    points, units, _ = scaled(points, (x, y))
    fig = go.Figure()
    for klass, part in points.groupby("family_class", sort=False):
        fig.add_traces(_class_traces(str(klass), part, x, y, units))
    chosen = points[points["number"].isin(list(highlight))]
    if len(chosen):
        fig.add_trace(
            go.Scatter(
                x=chosen[x],
                y=chosen[y],
                mode="markers+text",
                name="compared",
                text=[f"#{n}" for n in chosen["number"]],
                textposition="top center",
                marker=dict(size=16, color="rgba(0,0,0,0)", line=dict(color="#111", width=2)),
                customdata=chosen[["number"]].to_numpy(),
                hoverinfo="skip",
            )
        )
    fig.update_xaxes(title=axis_title(x, units[x]))
    fig.update_yaxes(title=axis_title(y, units[y]))
    fig.update_layout(**WHITE_LAYOUT, height=420, title=titled("Pareto front of each class (within the hard limits)"))
    return fig


def cascade_curve(cascade: Mapping) -> go.Figure:
    """How the criterion grows with the share routed to the complex model (training-part data)."""
    curve = cascade["curve"]
    name = obj.get(cascade["criterion"]).label
    fig = go.Figure(
        go.Scatter(
            x=[c["share_routed"] for c in curve],
            y=[c["value"] for c in curve],
            mode="lines+markers",
            name=label(f"{name} ({cascade['chosen_on']})"),
            line=dict(color="#555555"),
        )
    )
    if cascade["share_routed_train"] is not None:
        chosen = min(curve, key=lambda c: abs(c["share_routed"] - cascade["share_routed_train"]))
        fig.add_trace(
            go.Scatter(
                x=[chosen["share_routed"]],
                y=[chosen["value"]],
                mode="markers",
                name="chosen",
                marker=dict(size=15, color="#1A9850", symbol="star"),
            )
        )
    fig.update_xaxes(title="share of decisions routed to the complex model", tickformat=".0%")
    fig.update_yaxes(title=label(name))
    fig.update_layout(**WHITE_LAYOUT, height=320, title=titled("Cascade: choosing the confidence band (training part)"))
    return fig
