"""Figures and tables of the Compare page, built from plain data: the JSON form of
:class:`core.decide.compare.Report` (``Report.to_dict()``) and trial frames. No widgets, no database.

Why the JSON form: it is what the page caches and what the export bundle stores, so a figure drawn
today from a live comparison and one drawn later from an exported bundle are the same figure; and
each function here can be unit-tested with a hand-written dict.

Conventions: differences are challenger − baseline with their bootstrap interval; a dashed zero
line (forest plot) or 1× line (cost ratios) marks "no difference"; verdict colours are fixed
(green better, grey no significant difference, red worse); class colours are those of
:mod:`app.charts`, so a simple model is the same blue on every page.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from app.charts import CLASS_COLORS, axis_title
from core import objectives as obj

VERDICT_COLORS = {
    "significantly better": "#1A9850",
    "no significant difference": "#7F7F7F",
    "significantly worse": "#D73027",
}
MODEL_COLORS = ["#0072B2", "#E69F00", "#CC79A7", "#009E73", "#56B4E9", "#D55E00"]
_LAYOUT = dict(
    template="plotly_white",
    margin=dict(l=10, r=10, t=50, b=10),
    legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
)


def _esc(text: object) -> str:
    return html.escape(str(text), quote=False)


def _fmt(metric: str, v: float | None) -> str:
    if v is None:
        return "–"
    return obj.get(metric).fmt(v) if metric in obj.REGISTRY else f"{v:.4g}"


def _fmt_diff(metric: str, v: float | None) -> str:
    if v is None:
        return "–"
    unit = obj.get(metric).unit if metric in obj.REGISTRY else ""
    if unit.startswith("€"):
        return f"{'+' if v >= 0 else '−'}€{abs(v):,.2f}"
    return f"{v:+.4f}".replace("-", "−")


def _name(c: Mapping) -> str:
    return str(c.get("label") or f"#{c.get('number')}")


# -- tables -------------------------------------------------------------------------------------------


def metric_table(comparison: Mapping) -> pd.DataFrame:
    """Side by side: baseline, challenger, difference [interval], verdict — one row per metric."""
    rows = []
    for d in comparison["differences"]:
        rows.append(
            {
                "metric": d["label"],
                comparison["baseline"]["label"]: _fmt(d["metric"], d["baseline"]),
                comparison["challenger"]["label"]: _fmt(d["metric"], d["challenger"]),
                "difference": _fmt_diff(d["metric"], d["diff"]),
                "interval": f"[{_fmt_diff(d['metric'], d['low'])}, {_fmt_diff(d['metric'], d['high'])}]",
                "p (bootstrap)": "–" if d["p_value"] is None else f"{d['p_value']:.3f}",
                "verdict": d["verdict"],
            }
        )
    return pd.DataFrame(rows)


def ratio_table(comparison: Mapping) -> pd.DataFrame:
    """Costs as challenger / baseline with the spread over measurement rounds."""
    rows = []
    for r in comparison["ratios"]:
        rows.append(
            {
                "cost": r["label"],
                comparison["baseline"]["label"]: _fmt(r["metric"], r["baseline"]),
                comparison["challenger"]["label"]: _fmt(r["metric"], r["challenger"]),
                "ratio": "–" if r["ratio"] is None else f"{r['ratio']:.2f}×",
                "spread": "–" if r["low"] is None else f"{r['low']:.2f}× – {r['high']:.2f}×",
                "verdict": r["verdict"],
                "how measured": r["note"],
            }
        )
    return pd.DataFrame(rows)


def objective_table(comparison: Mapping) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"objective": o["label"], "verdict": o["verdict"], "evidence": o["text"], "from": o["source"]}
            for o in comparison["objectives"]
        ]
    )


def cascade_table(cascade: Mapping) -> pd.DataFrame:
    """Simple model, cascade and complex model side by side (test part; latency expected)."""
    cols = ["roc_auc", "pr_auc", "accuracy", "f1", "value_per_1k", "latency_p95_ms", "model_latency_p95_ms"]
    rows = []
    for r in cascade["rows"]:
        row = {"model": r["model"], "share to complex": f"{r['share_routed']:.0%}"}
        row.update({obj.get(c).label: _fmt(c, r.get(c)) for c in cols})
        row["Latency mean"] = "–" if r.get("latency_mean_ms") is None else f"{r['latency_mean_ms']:.2f} ms"
        rows.append(row)
    return pd.DataFrame(rows)


def cascade_note(cascade: Mapping) -> str:
    """How the cascade routes and how its band was chosen, in words (band may be None = route all)."""
    band = cascade["band"]
    label = obj.get(cascade["criterion"]).label
    if band is None:
        how = "The simple model always defers: only routing every request kept enough of the gain"
    elif band < 0:
        how = "The simple model never defers: the complex model was not better on the training part"
    else:
        how = (
            f"The simple model defers when its probability is within ±{band:.3f} of its threshold "
            f"({cascade['t_lo']:.3f} to {cascade['t_hi']:.3f})"
        )
    return (
        f"{how}. The band was chosen on the {cascade['chosen_on']} to keep {cascade['keep']:.0%} of the "
        f"complex model's gain in {label}, never on the test part. Latency is expected latency: every "
        "request pays the simple model, the routed share also pays the complex one."
    )


def gap_table(fairness: Sequence[Mapping]) -> pd.DataFrame:
    rows = []
    for f in fairness:
        for g in f["gaps"]:
            rows.append(
                {
                    "model": f["label"],
                    "metric": g["label"],
                    "value": _fmt(g["metric"], g["value"]),
                    "interval": f"[{_fmt(g['metric'], g['low'])}, {_fmt(g['metric'], g['high'])}]",
                }
            )
    return pd.DataFrame(rows)


# -- figures ------------------------------------------------------------------------------------------


def forest(comparisons: Sequence[Mapping], *, metrics: Sequence[str] | None = None) -> go.Figure:
    """Forest plot: one panel per metric (own scale), one row per challenger, zero line dashed."""
    metrics = list(metrics or [d["metric"] for d in comparisons[0]["differences"]]) if comparisons else []
    fig = make_subplots(
        rows=max(len(metrics), 1),
        cols=1,
        vertical_spacing=0.04,
        subplot_titles=[
            f"{obj.get(m).label} ({'↑' if obj.get(m).direction == 'maximize' else '↓'} better)" for m in metrics
        ]
        or [""],
    )
    seen: set[str] = set()
    for i, m in enumerate(metrics, start=1):
        for c in comparisons:
            d = next((x for x in c["differences"] if x["metric"] == m), None)
            if d is None or d["diff"] is None:
                continue
            name = f"#{c['challenger']['number']} − #{c['baseline']['number']}"
            full = f"{_name(c['challenger'])} − {_name(c['baseline'])}"
            lo = d["low"] if d["low"] is not None else d["diff"]
            hi = d["high"] if d["high"] is not None else d["diff"]
            fig.add_trace(
                go.Scatter(
                    x=[d["diff"]],
                    y=[_esc(name)],
                    mode="markers",
                    name=_esc(d["verdict"]),
                    legendgroup=d["verdict"],
                    showlegend=d["verdict"] not in seen,
                    marker=dict(size=11, color=VERDICT_COLORS.get(d["verdict"], "#7F7F7F"), symbol="diamond"),
                    error_x=dict(type="data", symmetric=False, array=[hi - d["diff"]], arrayminus=[d["diff"] - lo]),
                    hovertemplate=f"{_esc(full)}<br>{_esc(d['label'])}: %{{x:.4g}} [{lo:.4g}, {hi:.4g}]<br>"
                    f"{_esc(d['verdict'])}"
                    "<extra></extra>",
                ),
                row=i,
                col=1,
            )
            seen.add(d["verdict"])
        fig.add_vline(x=0, line_dash="dash", line_color="#333333", row=i, col=1)
    layout = {
        **_LAYOUT,
        "margin": dict(l=10, r=10, t=90, b=10),
        "legend": dict(orientation="h", yanchor="top", y=0.99, x=1, xanchor="right", yref="container"),
    }
    fig.update_layout(
        **layout,
        height=max(200, 95 * len(metrics) + 60 * max(len(comparisons) - 1, 0) + 60),
        title=dict(
            text="Differences (challenger − baseline) with bootstrap intervals", y=0.99, yanchor="top", yref="container"
        ),
    )
    return fig


def ratios(comparisons: Sequence[Mapping]) -> go.Figure:
    """Cost ratios challenger/baseline on a log axis with their spread; 1× = no difference."""
    fig = go.Figure()
    for k, c in enumerate(comparisons):
        rs = [r for r in c["ratios"] if r["ratio"] is not None]
        fig.add_trace(
            go.Bar(
                y=[_esc(r["label"]) for r in rs],
                x=[r["ratio"] for r in rs],
                orientation="h",
                name=_esc(f"{_name(c['challenger'])} / {_name(c['baseline'])}"),
                marker_color=[VERDICT_COLORS.get(r["verdict"], "#7F7F7F") for r in rs],
                marker_line=dict(color=MODEL_COLORS[k % len(MODEL_COLORS)], width=2),
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
    fig.update_layout(**_LAYOUT, barmode="group", height=380, title="Costs: ratio with spread over rounds")
    return fig


def class_fronts(points: pd.DataFrame, x: str, y: str, *, highlight: Sequence[int] = ()) -> go.Figure:
    """Each class's Pareto front overlaid: all feasible trials faint, front members joined.

    ``points``: rows with ``number``, ``family_class``, ``on_front`` (within its class) and the two
    metric columns ``x`` and ``y``.
    """
    fig = go.Figure()
    for klass, part in points.groupby("family_class", sort=False):
        color = CLASS_COLORS.get(str(klass), "#7F7F7F")
        fig.add_trace(
            go.Scatter(
                x=part[x],
                y=part[y],
                mode="markers",
                name=f"{klass} (all)",
                opacity=0.35,
                marker=dict(color=color, size=7),
                customdata=part[["number"]].to_numpy(),
                hovertemplate="#%{customdata[0]}<extra></extra>",
                showlegend=False,
            )
        )
        fr = part[part["on_front"].astype(bool)].sort_values(x)
        if len(fr):
            fig.add_trace(
                go.Scatter(
                    x=fr[x],
                    y=fr[y],
                    mode="lines+markers",
                    name=f"{klass} front",
                    line=dict(color=color, width=2, shape="hv"),
                    marker=dict(color=color, size=9),
                    customdata=fr[["number"]].to_numpy(),
                    hovertemplate="#%{customdata[0]}<extra></extra>",
                )
            )
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
    fig.update_xaxes(title=axis_title(x))
    fig.update_yaxes(title=axis_title(y))
    fig.update_layout(**_LAYOUT, height=420, title="Pareto front of each class (within the hard limits)")
    return fig


def fairness_bars(
    fairness: Sequence[Mapping], *, metrics: Sequence[str] = ("selection_rate", "recall", "precision", "accuracy")
) -> go.Figure:
    """Per-group bars with bootstrap error bars, one panel per metric, one colour per model."""
    titles = [m.replace("_", " ").capitalize() for m in metrics]
    fig = make_subplots(rows=(len(metrics) + 1) // 2, cols=2, subplot_titles=titles, vertical_spacing=0.14)
    for k, f in enumerate(fairness):
        color = MODEL_COLORS[k % len(MODEL_COLORS)]
        for i, m in enumerate(metrics):
            rows = [g for g in f["groups"] if g["metric"] == m]
            vals = [g["value"] for g in rows]
            fig.add_trace(
                go.Bar(
                    x=[_esc(g["group"]) for g in rows],
                    y=vals,
                    name=_esc(f["label"]),
                    legendgroup=str(k),
                    showlegend=i == 0,
                    marker_color=color,
                    error_y=dict(
                        type="data",
                        symmetric=False,
                        array=[(g["high"] if g["high"] is not None else v) - v for g, v in zip(rows, vals)],
                        arrayminus=[v - (g["low"] if g["low"] is not None else v) for g, v in zip(rows, vals)],
                    ),
                    customdata=[[g["n"]] for g in rows],
                    hovertemplate="%{x} (n=%{customdata[0]}): %{y:.3f}<extra></extra>",
                ),
                row=i // 2 + 1,
                col=i % 2 + 1,
            )
    fig.update_yaxes(range=[0, 1.05])
    fig.update_layout(
        **_LAYOUT, barmode="group", height=560, title="Per-group metrics on the test part (bootstrap intervals)"
    )
    return fig


def importance_bars(explanations: Sequence[Mapping], *, top: int = 12) -> go.Figure:
    """Permutation importance (drop in the score when a column is shuffled), grouped by model."""
    order: list[str] = []
    for e in explanations:
        for r in e["importance"]["rows"]:
            if r["feature"] not in order:
                order.append(r["feature"])
    if explanations:
        first = {r["feature"]: r["mean"] for r in explanations[0]["importance"]["rows"]}
        order.sort(key=lambda f: first.get(f, -np.inf), reverse=True)
    order = order[:top]
    fig = go.Figure()
    for k, e in enumerate(explanations):
        by = {r["feature"]: r for r in e["importance"]["rows"]}
        fig.add_trace(
            go.Bar(
                y=[_esc(f) for f in order],
                x=[by[f]["mean"] if f in by else None for f in order],
                orientation="h",
                name=_esc(e["label"]),
                marker_color=MODEL_COLORS[k % len(MODEL_COLORS)],
                error_x=dict(type="data", array=[by[f]["std"] if f in by else 0 for f in order]),
            )
        )
    scoring = explanations[0]["importance"]["scoring"] if explanations else "roc_auc"
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title=f"drop in {obj.get(scoring).label} when shuffled (test part)")
    fig.update_layout(
        **_LAYOUT,
        barmode="group",
        height=max(300, 28 * len(order) * max(len(explanations), 1)),
        title="Permutation importance",
    )
    return fig


def partial_dependence(explanations: Sequence[Mapping]) -> go.Figure:
    """Average predicted probability over each top feature's range, one line (or bars) per model."""
    feats: list[str] = []
    for e in explanations:
        for p in e["partial_dependence"]:
            if p["feature"] not in feats:
                feats.append(p["feature"])
    fig = make_subplots(rows=1, cols=max(len(feats), 1), subplot_titles=[_esc(f) for f in feats] or [""])
    for k, e in enumerate(explanations):
        color = MODEL_COLORS[k % len(MODEL_COLORS)]
        for p in e["partial_dependence"]:
            col = feats.index(p["feature"]) + 1
            grid = [_esc(g) if p["kind"] == "categorical" else g for g in p["grid"]]
            trace = (go.Bar if p["kind"] == "categorical" else go.Scatter)(
                x=grid,
                y=p["average"],
                name=_esc(e["label"]),
                legendgroup=str(k),
                showlegend=col == 1,
                marker_color=color,
                **({} if p["kind"] == "categorical" else {"mode": "lines", "line": dict(color=color)}),
            )
            fig.add_trace(trace, row=1, col=col)
    fig.update_yaxes(title="mean predicted probability", col=1)
    fig.update_layout(**_LAYOUT, height=340, title="Partial dependence of the top features")
    return fig


def cascade_curve(cascade: Mapping) -> go.Figure:
    """How the criterion grows with the share routed to the complex model (training-part data)."""
    curve = cascade["curve"]
    label = obj.get(cascade["criterion"]).label
    fig = go.Figure(
        go.Scatter(
            x=[c["share_routed"] for c in curve],
            y=[c["value"] for c in curve],
            mode="lines+markers",
            name=f"{label} ({cascade['chosen_on']})",
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
    fig.update_xaxes(title="share of requests routed to the complex model", tickformat=".0%")
    fig.update_yaxes(title=_esc(label))
    fig.update_layout(**_LAYOUT, height=320, title="Cascade: choosing the confidence band (training part)")
    return fig


def front_points(frame: pd.DataFrame, fronts: Mapping[str, pd.DataFrame], x: str, y: str) -> pd.DataFrame:
    """Rows for :func:`class_fronts`: feasible finished trials with ``on_front`` within their class."""
    if frame.empty:
        return pd.DataFrame(columns=["number", "family_class", "on_front", x, y])
    ok = frame[(frame["state"] == "COMPLETE") & frame["feasible"].astype(bool)].copy()
    members = {int(n) for f in fronts.values() for n in f["number"]}
    ok["on_front"] = ok["number"].astype(int).isin(members)
    cols = list(dict.fromkeys(["number", "family_class", "on_front", x, y]))
    return ok[cols].reset_index(drop=True)
