"""Every Plotly figure of the app, built from plain data (DataFrames, dicts), never from widgets.

Why one module without Streamlit: figures are unit-tested on their own (traces, axes, limit lines,
the knee marker), and pages stay thin. Conventions shared by all figures:

- a trial's number travels in ``customdata[0]`` of every point, so a selection event maps back to a
  trial whatever trace it came from;
- colours are fixed per family (registry order) and per class, so the same model has the same
  colour on every chart and page;
- axis titles carry the unit and which way is better; faded = dominated or infeasible.

Input frames are rows of :func:`core.decide.front.trials_frame` with ``on_front`` and ``feasible``
columns (see :func:`core.decide.front.annotate`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core import objectives as obj
from core.models import families as fam

SAFE = [
    "#88CCEE",
    "#CC6677",
    "#DDCC77",
    "#117733",
    "#332288",
    "#AA4499",
    "#44AA99",
    "#999933",
    "#882255",
    "#661100",
    "#888888",
]
FAMILY_COLORS: dict[str, str] = {name: SAFE[i % len(SAFE)] for i, name in enumerate(fam.REGISTRY)}
CLASS_COLORS: dict[str, str] = {"simple": "#0072B2", "complex": "#E69F00", "ensemble": "#CC79A7"}
LIMIT_COLOR = "#C0392B"
KNEE_COLOR = "#111111"
GL_THRESHOLD = 1500  # above this many points a WebGL trace keeps the browser responsive
COLOR_BY = ("family", "family_class")
OTHERS = ("faded", "hidden")
# no template: st.plotly_chart applies the app's theme, and a template costs ~0.1 s per figure to copy
_LAYOUT = dict(margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0))


def axis_title(name: str) -> str:
    """``ROC AUC (score, ↑ better)``: the label, the unit and the direction of one metric."""
    m = obj.get(name)
    return f"{m.label} ({m.unit}, {'↑' if m.direction == 'maximize' else '↓'} better)"


def color_of(key: str, color_by: str) -> str:
    table = FAMILY_COLORS if color_by == "family" else CLASS_COLORS
    return table.get(str(key), "#7F7F7F")


def _group_label(key: str, color_by: str) -> str:
    if color_by == "family" and key in fam.REGISTRY:
        return fam.get(key).label
    return str(key)


def _check(frame: pd.DataFrame, names: Sequence[str], color_by: str, others: str) -> None:
    if color_by not in COLOR_BY:
        raise ValueError(f"color_by must be one of {COLOR_BY}, got {color_by!r}")
    if others not in OTHERS:
        raise ValueError(f"others must be one of {OTHERS}, got {others!r}")
    missing = [c for c in ("number", "on_front", "feasible", color_by, *names) if c not in frame]
    if missing:
        raise ValueError(f"the frame lacks column(s) {missing}; pass front.annotate(...) rows")


def _split(frame: pd.DataFrame, others: str) -> list[tuple[str, pd.DataFrame]]:
    """(kind, rows): the front, the dominated feasible trials, the infeasible ones."""
    parts = [("front", frame[frame["on_front"]])]
    if others == "faded":
        parts.append(("dominated", frame[~frame["on_front"] & frame["feasible"]]))
        parts.append(("infeasible", frame[~frame["feasible"]]))
    return [(k, p) for k, p in parts if len(p)]


_STYLE = {  # kind: (opacity, size, symbol, legend name)
    "front": (1.0, 11, "circle", ""),
    "dominated": (0.25, 7, "circle", "dominated (faded)"),
    "infeasible": (0.25, 7, "x", "breaks a hard limit (faded)"),
}


def _hover(names: Sequence[str], dims: Sequence[str]) -> str:
    lines = ["<b>#%{customdata[0]}</b> %{text}"]
    for n, d in zip(names, dims):
        lines.append(f"{obj.get(n).label}: %{{{d}:.4g}} {obj.get(n).unit}")
    return "<br>".join(lines) + "<extra></extra>"


def _customdata(rows: pd.DataFrame) -> np.ndarray:
    """Trial numbers as an (n, 1) float array: numeric arrays serialise ~20x faster than objects."""
    return rows["number"].to_numpy(dtype=float).reshape(-1, 1)


def _text(rows: pd.DataFrame) -> np.ndarray:
    """Family names for the hover, as a fixed-width string array (fast to validate and serialise)."""
    return rows["family"].astype(str).to_numpy().astype(str)


def _colors(rows: pd.DataFrame, color_by: str) -> np.ndarray:
    table = FAMILY_COLORS if color_by == "family" else CLASS_COLORS
    return rows[color_by].astype(str).map(table).fillna("#7F7F7F").to_numpy().astype(str)


def _traces(frame: pd.DataFrame, color_by: str, others: str):
    """(kind, rows, colour, legend name, legend group) per trace: the front one trace per colour
    group (it carries the legend); faded points one trace per kind with per-point colours, so a
    10,000-trial study still draws a dozen traces, not one per family and kind."""
    for kind, part in _split(frame, others):
        if kind == "front":
            for key, rows in part.groupby(color_by, sort=True, dropna=False):
                yield kind, rows, color_of(key, color_by), _group_label(key, color_by), str(key)
        else:
            yield kind, part, _colors(part, color_by), _STYLE[kind][3], kind


def scatter_2d(
    frame: pd.DataFrame,
    x: str,
    y: str,
    *,
    color_by: str = "family",
    others: str = "faded",
    limits: Mapping[str, float | None] | None = None,
    knee: int | None = None,
    selected: int | None = None,
    front_line: bool = False,
) -> go.Figure:
    """Two objectives against each other: the front bold, the rest faded or hidden.

    ``limits`` draws a dashed line at each hard limit on these axes; ``knee`` and ``selected`` are
    trial numbers to mark; ``front_line`` joins the front when x and y are the only objectives.
    """
    _check(frame, (x, y), color_by, others)
    fig = go.Figure()
    for kind, rows, color, name, group in _traces(frame, color_by, others):
        opacity, size, symbol, _ = _STYLE[kind]
        trace = go.Scattergl if len(rows) > GL_THRESHOLD else go.Scatter
        fig.add_trace(
            trace(
                x=rows[x].to_numpy(float),
                y=rows[y].to_numpy(float),
                mode="markers",
                name=name,
                legendgroup=group,
                marker=dict(
                    color=color,
                    size=size,
                    opacity=opacity,
                    symbol=symbol,
                    line=dict(width=0.5 if kind == "front" else 0, color="#333"),
                ),
                customdata=_customdata(rows),
                text=_text(rows),
                hovertemplate=_hover((x, y), ("x", "y")),
                meta=kind,
            )
        )
    if front_line:
        f = frame[frame["on_front"]].sort_values(x)
        if len(f) > 1:
            fig.add_trace(
                go.Scatter(
                    x=f[x],
                    y=f[y],
                    mode="lines",
                    name="Pareto front",
                    line=dict(color="#555", width=1, dash="dot", shape="hv"),
                    hoverinfo="skip",
                    meta="front_line",
                )
            )
    _mark(fig, frame, (x, y), knee, "knee", "star-open", KNEE_COLOR, 22)
    _mark(fig, frame, (x, y), selected, "selected", "circle-open", "#E4003A", 22)
    for name, axis in ((x, "x"), (y, "y")):
        limit = (limits or {}).get(name)
        if limit is None:
            continue
        text = f"limit {obj.get(name).fmt(limit)}"
        if axis == "x":
            fig.add_vline(
                x=limit,
                line=dict(color=LIMIT_COLOR, dash="dash", width=2),
                annotation_text=text,
                annotation_position="top right",
            )
        else:
            fig.add_hline(
                y=limit,
                line=dict(color=LIMIT_COLOR, dash="dash", width=2),
                annotation_text=text,
                annotation_position="bottom right",
            )
    fig.update_layout(
        **_LAYOUT, xaxis_title=axis_title(x), yaxis_title=axis_title(y), hovermode="closest", height=520
    )  # clickmode/dragmode: left to st.plotly_chart
    return fig


def _mark(
    fig: go.Figure,
    frame: pd.DataFrame,
    names: Sequence[str],
    number: int | None,
    label: str,
    symbol: str,
    color: str,
    size: int,
) -> None:
    if number is None:
        return
    row = frame[frame["number"] == number]
    if row.empty:
        return
    coords = {d: row[n].to_numpy(float) for d, n in zip(("x", "y", "z"), names)}
    trace = go.Scatter3d if len(names) == 3 else go.Scatter
    mode = "markers+text" if label == "knee" else "markers"
    # open symbols: the marked trial's own point (its family's colour) stays visible inside
    marker = dict(
        symbol=symbol if len(names) == 2 else "diamond-open",
        size=size if len(names) == 2 else 9,
        color=color,
        line=dict(width=2, color=color),
    )
    fig.add_trace(
        trace(
            **coords,
            mode=mode,
            name=label,
            text=[label] if label == "knee" else _text(row),
            textposition="top center",
            marker=marker,
            customdata=_customdata(row),
            hovertemplate=_hover(names, tuple(coords)),
            meta=label,
        )
    )


def scatter_3d(
    frame: pd.DataFrame,
    names: Sequence[str],
    *,
    color_by: str = "family",
    others: str = "faded",
    knee: int | None = None,
) -> go.Figure:
    """Three objectives in 3-D; faded points as for :func:`scatter_2d`."""
    if len(names) != 3:
        raise ValueError(f"scatter_3d needs exactly 3 objectives, got {list(names)}")
    _check(frame, names, color_by, others)
    fig = go.Figure()
    for kind, rows, color, name, group in _traces(frame, color_by, others):
        opacity, size, symbol, _ = _STYLE[kind]
        fig.add_trace(
            go.Scatter3d(
                x=rows[names[0]].to_numpy(float),
                y=rows[names[1]].to_numpy(float),
                z=rows[names[2]].to_numpy(float),
                mode="markers",
                name=name,
                legendgroup=group,
                marker=dict(
                    color=color, size=size / 2, opacity=max(opacity, 0.3), symbol="x" if symbol == "x" else "circle"
                ),
                customdata=_customdata(rows),
                text=_text(rows),
                hovertemplate=_hover(names, ("x", "y", "z")),
                meta=kind,
            )
        )
    _mark(fig, frame, names, knee, "knee", "diamond-open", KNEE_COLOR, 9)
    fig.update_layout(
        **_LAYOUT,
        height=600,
        scene=dict(
            xaxis_title=obj.get(names[0]).label,
            yaxis_title=obj.get(names[1]).label,
            zaxis_title=obj.get(names[2]).label,
        ),
    )
    return fig


def parallel_coordinates(frame: pd.DataFrame, names: Sequence[str], *, color_by: str = "family") -> go.Figure:
    """One line per trial across every objective; each axis is oriented so that up is better.

    The first axis is the family (or class), so the colours read without a legend.
    """
    _check(frame, names, color_by, "hidden")
    keys = sorted(frame[color_by].astype(str).unique())
    code = frame[color_by].astype(str).map({k: i for i, k in enumerate(keys)}).to_numpy(float)
    n = max(len(keys), 1)
    scale = []
    for i, k in enumerate(keys):
        c = color_of(k, color_by)
        scale += [(i / n, c), ((i + 1) / n, c)]
    dims = [
        dict(
            label="family" if color_by == "family" else "class",
            values=code,
            tickvals=list(range(len(keys))),
            ticktext=[_group_label(k, color_by) for k in keys],
        )
    ]
    for name in names:
        v = frame[name].to_numpy(float)
        finite = v[np.isfinite(v)]
        lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        m = obj.get(name)
        rng = [lo, hi] if m.direction == "maximize" else [hi, lo]
        dims.append(dict(label=f"{m.label} ({m.unit})", values=v, range=rng))
    # code + 0.5 sits in the middle of its colour band [i/n, (i+1)/n] of the stepped scale
    fig = go.Figure(
        go.Parcoords(line=dict(color=code + 0.5, colorscale=scale or "Greys", cmin=0, cmax=n), dimensions=dims)
    )
    fig.update_layout(**{**_LAYOUT, "margin": dict(l=60, r=40, t=60, b=20)}, height=420)
    return fig


def scatter_matrix(
    frame: pd.DataFrame, names: Sequence[str], *, color_by: str = "family", others: str = "faded"
) -> go.Figure:
    """Every pair of objectives at once (lower triangle)."""
    _check(frame, names, color_by, others)
    fig = go.Figure()
    for kind, rows, color, name, group in _traces(frame, color_by, others):
        opacity, size, symbol, _ = _STYLE[kind]
        fig.add_trace(
            go.Splom(
                dimensions=[dict(label=obj.get(n).label, values=rows[n].to_numpy(float)) for n in names],
                name=name,
                legendgroup=group,
                showupperhalf=False,
                diagonal_visible=False,
                customdata=_customdata(rows),
                text=_text(rows),
                marker=dict(color=color, size=max(size - 3, 3), opacity=opacity, symbol=symbol),
                meta=kind,
            )
        )
    fig.update_layout(**_LAYOUT, height=160 * max(len(names), 2) + 80)
    return fig


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
        **_LAYOUT, height=260, xaxis_title="trial", yaxis_title="hypervolume (normalised)", showlegend=False
    )
    return fig


def trial_timeline(frame: pd.DataFrame) -> go.Figure:
    """Each trial's duration by number, coloured by state: failures and slow families stand out."""
    colors = {"COMPLETE": "#117733", "FAIL": "#C0392B", "RUNNING": "#E69F00", "PRUNED": "#888888", "WAITING": "#BBBBBB"}
    fig = go.Figure()
    for state, rows in frame.groupby("state", sort=True):
        fig.add_trace(
            go.Bar(
                x=rows["number"],
                y=rows["duration_s"].astype(float).fillna(0.0),
                name=str(state),
                marker_color=colors.get(str(state), "#7F7F7F"),
                text=rows["family"].astype(str).to_numpy().astype(str),
                textposition="none",
                hovertemplate="#%{x} %{text}: %{y:.1f} s<extra></extra>",
            )
        )
    fig.update_layout(**_LAYOUT, height=240, xaxis_title="trial", yaxis_title="duration (s)", barmode="overlay")
    return fig


def class_balance(counts: Mapping[str, int], *, positive: str | None = None) -> go.Figure:
    """Rows per target class; the positive class is highlighted."""
    labels = [str(k) for k in counts]
    values = [int(v) for v in counts.values()]
    total = max(sum(values), 1)
    fig = go.Figure(
        go.Bar(
            x=values,
            y=[f"{k} (positive)" if k == positive else k for k in labels],
            orientation="h",
            marker_color=["#0072B2" if k == positive else "#A6BDD7" for k in labels],
            text=[f"{v:,} ({v / total:.1%})" for v in values],
            textposition="auto",
        )
    )
    # labels such as "0"/"1" must stay categories, not become a numeric axis
    fig.update_layout(
        **_LAYOUT,
        height=120 + 50 * len(labels),
        xaxis_title="rows",
        showlegend=False,
        yaxis=dict(type="category", ticksuffix="  "),
    )
    return fig


def group_bars(stats: pd.DataFrame, *, overall_rate: float | None = None) -> go.Figure:
    """Group sizes and base rates side by side (``stats``: group, n, base_rate)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("rows per group", "base rate (share positive)"))
    groups = stats["group"].astype(str)
    fig.add_trace(
        go.Bar(
            x=groups,
            y=stats["n"],
            marker_color="#88CCEE",
            name="rows",
            text=[f"{int(v):,}" for v in stats["n"]],
            textposition="auto",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Bar(
            x=groups,
            y=stats["base_rate"],
            marker_color="#CC6677",
            name="base rate",
            text=[f"{v:.1%}" for v in stats["base_rate"]],
            textposition="auto",
        ),
        row=1,
        col=2,
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
    fig.update_layout(**_LAYOUT, height=320, showlegend=False)
    fig.update_yaxes(tickformat=".0%", row=1, col=2)
    return fig


def group_metrics(groups: pd.DataFrame) -> go.Figure:
    """Per-group selection rate, recall and precision of one model on the test part."""
    fig = go.Figure()
    for col, color in (("selection_rate", "#88CCEE"), ("recall", "#117733"), ("precision", "#CC6677")):
        if col in groups:
            fig.add_trace(
                go.Bar(x=groups["group"].astype(str), y=groups[col], name=col.replace("_", " "), marker_color=color)
            )
    fig.update_layout(**_LAYOUT, height=300, barmode="group", yaxis_tickformat=".0%")
    return fig
