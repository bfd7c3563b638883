"""Trials in objective space: 2-D and 3-D scatter, parallel coordinates, scatter matrix.

Input (the "info" these figures draw) is a frame of trials with ``number``, ``family``,
``family_class``, ``on_front`` and ``feasible`` columns and one column per objective, as made by
:func:`core.decide.front.annotate`. Conventions: a trial's number travels in ``customdata[0]`` of
every point, so a selection event maps back to a trial whatever trace it came from; the front is
bold, the rest faded (dominated or infeasible) or hidden; colours are fixed per family or class.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core import objectives as obj
from core.viz._curve import curve_customdata, trial_curve
from core.viz._style import (
    CHOSEN_COLOR,
    CLASS_COLORS,
    FAMILY_COLORS,
    GREY,
    KNEE_COLOR,
    LAYOUT,
    LIMIT_COLOR,
    axis_title,
    color_of,
    family_label,
    group_label,
    label,
    scaled,
    titled,
)

GL_THRESHOLD = 1500  # above this many points a WebGL trace keeps the browser responsive
COLOR_BY = ("family", "family_class")
OTHERS = ("faded", "hidden")
_STYLE = {  # kind: (opacity, size, symbol, legend name)
    "front": (1.0, 11, "circle", ""),
    "dominated": (0.25, 7, "circle", "dominated (faded)"),
    "infeasible": (0.25, 7, "x", "breaks a hard limit (faded)"),
}


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
    on_front, feasible = frame["on_front"].astype(bool), frame["feasible"].astype(bool)
    parts = [("front", frame[on_front])]
    if others == "faded":
        parts.append(("dominated", frame[~on_front & feasible]))
        parts.append(("infeasible", frame[~feasible]))
    return [(k, p) for k, p in parts if len(p)]


SCREENING_SCOPE = "screening"  # the trials frame's latency_scope of a trial with only the screening figure


def _hover(names: Sequence[str], dims: Sequence[str], units: Mapping[str, str]) -> str:
    """ "#15 Histogram gradient boosting" in bold, then each objective in its drawing unit."""
    lines = ["<b>#%{customdata[0]} %{text}</b>"]
    for n, d in zip(names, dims):
        lines.append(f"{obj.get(n).label}: %{{{d}:.4g}} {units.get(n, obj.get(n).unit)}")
    return "<br>".join(lines) + "<extra></extra>"


def _customdata(rows: pd.DataFrame) -> np.ndarray:
    """Trial numbers as an (n, 1) float array: numeric arrays serialise ~20x faster than objects.

    Rows of options (a ``point`` column) carry the operating point too, (n, 2) with -1 for a trial's
    single point, so a click names the option and not only its trial."""
    if "point" in rows:
        return curve_customdata(rows)
    return rows["number"].to_numpy(dtype=float).reshape(-1, 1)


def _rule_words(rows: pd.DataFrame) -> pd.Series:
    """ " at threshold 0.41" for an option that is not its trial's own rule, else "" (the wording of
    :func:`core.decide.options.label`, vectorised: a front over options can hold 100,000 rows)."""
    words = pd.Series("", index=rows.index)
    if "option" not in rows:
        return words
    other = rows["option"].astype(str).str.contains("@", regex=False)
    if not other.any():
        return words
    threshold = rows.loc[other, "threshold"].astype(float).map("{:.2f}".format)
    words[other] = " at threshold " + threshold
    if "rule_kind" in rows:
        group = other & rows["rule_kind"].eq("group_thresholds")
        point = rows.loc[group, "option"].astype(str).str.split("@").str[1]
        words[group] = " with group thresholds (rule " + point + ")"
    return words


def _text(rows: pd.DataFrame) -> np.ndarray:
    """Escaped plain family labels for the hover, as a fixed-width string array (fast to serialise),
    after the rule when the row is not its trial's own rule ("at threshold 0.41 · Logistic regression")."""
    family = rows["family"].astype(str)
    text = family.map({v: label(family_label(v)) for v in family.unique()})
    rule = _rule_words(rows)
    text = text.where(rule.eq(""), rule.str.lstrip() + " · " + text)
    if "latency_scope" in rows:  # a trial that never reached the front's reach: say its latency is rough
        text = text.where(rows["latency_scope"].ne(SCREENING_SCOPE), text + " (latency: screening estimate)")
    return text.to_numpy().astype(str)


def _colors(rows: pd.DataFrame, color_by: str) -> np.ndarray:
    table = FAMILY_COLORS if color_by == "family" else CLASS_COLORS
    return rows[color_by].astype(str).map(table).fillna(GREY).to_numpy().astype(str)


def _traces(frame: pd.DataFrame, color_by: str, others: str) -> Iterator[tuple[str, pd.DataFrame, Any, str, str]]:
    """(kind, rows, colour, legend name, legend group) per trace: the front one trace per colour
    group (it carries the legend); faded points one trace per kind with per-point colours, so a
    10,000-trial study still draws a dozen traces, not one per family and kind."""
    for kind, part in _split(frame, others):
        if kind == "front":
            for key, rows in part.groupby(color_by, sort=True, dropna=False):
                yield kind, rows, color_of(key, color_by), group_label(key, color_by), str(key)
        else:
            yield kind, part, _colors(part, color_by), _STYLE[kind][3], kind


def _points_2d(
    fig: go.Figure, frame: pd.DataFrame, x: str, y: str, color_by: str, others: str, units: Mapping[str, str]
) -> None:
    for kind, rows, color, name, group in _traces(frame, color_by, others):
        opacity, size, symbol, _ = _STYLE[kind]
        trace = go.Scattergl if len(rows) > GL_THRESHOLD else go.Scatter
        marker = dict(
            color=color,
            size=size,
            opacity=opacity,
            symbol=symbol,
            line=dict(width=0.5 if kind == "front" else 0, color="#333"),
        )
        fig.add_trace(
            trace(
                x=rows[x].to_numpy(float),
                y=rows[y].to_numpy(float),
                mode="markers",
                name=name,
                legendgroup=group,
                marker=marker,
                customdata=_customdata(rows),
                text=_text(rows),
                hovertemplate=_hover((x, y), ("x", "y"), units),
                meta=kind,
            )
        )


def _front_line(fig: go.Figure, frame: pd.DataFrame, x: str, y: str) -> None:
    f = frame[frame["on_front"].astype(bool)].sort_values(x)
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


def _within(values: np.ndarray, limit: float) -> bool:
    """Whether a limit line can share the axis with the data: drawing it must not stretch the axis
    beyond one and a half times the data's span (else the points sit in a thin band)."""
    finite = values[np.isfinite(values)]
    if not len(finite):
        return True
    lo, hi = float(finite.min()), float(finite.max())
    slack = 0.5 * ((hi - lo) or abs(hi) or 1.0)
    return lo - slack <= limit <= hi + slack


def _edge_note(fig: go.Figure, axis: str, text: str, high: bool, shift: int) -> None:
    """An out-of-range limit as a note at the plot's edge, the arrow pointing to where it lies."""
    if axis == "x":
        note = dict(x=1.0 if high else 0.0, y=1.0, xanchor="right" if high else "left", yanchor="top")
        text = f"{text} →" if high else f"← {text}"
    else:
        note = dict(x=1.0, y=1.0 if high else 0.0, xanchor="right", yanchor="top" if high else "bottom")
        text = f"{text} {'↑' if high else '↓'}"
    fig.add_annotation(
        **note, xref="paper", yref="paper", text=text, showarrow=False, yshift=shift, font=dict(color=LIMIT_COLOR)
    )


def _limit_lines(
    fig: go.Figure,
    frame: pd.DataFrame,
    axes: Mapping[str, str],
    limits: Mapping[str, float | None],
    factors: Mapping[str, float],
) -> None:
    """A dashed line at each hard limit on these axes, labelled with the limit in its unit; a limit
    far outside the drawn points becomes a note at the edge instead (:func:`_within`).

    ``axes`` maps "x"/"y" to the metric on it; ``frame`` is in drawing units, ``limits`` in stored
    units (``factors`` converts, :func:`core.viz._style.scaled`).
    """
    line = dict(color=LIMIT_COLOR, dash="dash", width=2)
    notes = 0
    for axis, name in axes.items():
        raw = limits.get(name)
        if raw is None or (axis == "y" and axes["x"] == name):
            continue
        value, text = float(raw) * factors.get(name, 1.0), f"limit {obj.get(name).fmt(raw)}"
        values = frame[name].to_numpy(float)
        if not _within(values, value):
            _edge_note(fig, axis, text, value > float(np.nanmax(values)), -20 * notes)
            notes += 1
        elif axis == "x":
            fig.add_vline(x=value, line=line, annotation_text=text, annotation_position="top right")
        else:
            fig.add_hline(y=value, line=line, annotation_text=text, annotation_position="bottom right")


def scatter_2d(
    frame: pd.DataFrame,
    x: str,
    y: str,
    *,
    color_by: str = "family",
    others: str = "faded",
    limits: Mapping[str, float | None] | None = None,
    knee: int | str | None = None,
    selected: int | str | None = None,
    selected_name: str = "selected",
    front_line: bool = False,
    title: str | None = None,
    curve: pd.DataFrame | None = None,
) -> go.Figure:
    """Two objectives against each other: the front bold, the rest faded or hidden.

    ``limits`` draws a dashed line at each hard limit on these axes; ``knee`` and ``selected`` are
    trial numbers or option keys ("12@3") to mark (``selected_name`` names the mark, e.g. "chosen #12"
    in the report); ``front_line`` joins the front, which only makes sense when x and y are the only
    objectives; ``curve`` (one trial's operating points, stored units) is drawn as a line.
    """
    _check(frame, (x, y), color_by, others)
    frame, units, factors = scaled(frame, (x, y))
    fig = go.Figure()
    _points_2d(fig, frame, x, y, color_by, others, units)
    if front_line:
        _front_line(fig, frame, x, y)
    line = None if curve is None else trial_curve(curve, x, y, factors=factors, units=units)
    if line is not None:
        fig.add_trace(line)
    _mark(fig, frame, (x, y), knee, "knee", "knee", "star-open", KNEE_COLOR, units)
    _mark(fig, frame, (x, y), selected, "selected", label(selected_name), "circle-open", CHOSEN_COLOR, units)
    drawn = pd.concat([rows for _, rows in _split(frame, others)] or [frame.iloc[:0]])
    _limit_lines(fig, drawn, {"x": x, "y": y}, limits or {}, factors)
    fig.update_layout(
        **LAYOUT,
        title=titled(title),
        xaxis_title=axis_title(x, units[x]),
        yaxis_title=axis_title(y, units[y]),
        hovermode="closest",
        height=520,
    )  # clickmode/dragmode: left to st.plotly_chart
    return fig


def _mark(
    fig: go.Figure,
    frame: pd.DataFrame,
    names: Sequence[str],
    number: int | str | None,
    kind: str,
    name: str,
    symbol: str,
    color: str,
    units: Mapping[str, str],
) -> None:
    """An open marker around one trial or option (its own point, in its family's colour, stays visible)."""
    if number is None:
        return
    row = _row_of(frame, number)
    if row.empty:
        return
    flat = len(names) == 2
    coords = {d: row[n].to_numpy(float) for d, n in zip(("x", "y", "z"), names)}
    trace = go.Scatter if flat else go.Scatter3d
    marker = dict(
        symbol=symbol if flat else "diamond-open", size=22 if flat else 9, color=color, line=dict(width=2, color=color)
    )
    fig.add_trace(
        trace(
            **coords,
            mode="markers+text" if kind == "knee" else "markers",
            name=name,
            text=["knee"] if kind == "knee" else _text(row),
            textposition="top center",
            marker=marker,
            customdata=_customdata(row),
            hovertemplate=_hover(names, tuple(coords), units),
            meta=kind,
        )
    )


def _row_of(frame: pd.DataFrame, ref: int | str) -> pd.DataFrame:
    """The row of a trial number or an option key: a bare number is the trial's own rule."""
    if "option" in frame:
        return frame[frame["option"].astype(str) == str(ref).lstrip("#")].iloc[:1]
    return frame[frame["number"] == int(str(ref).lstrip("#").split("@")[0])].iloc[:1]


def scatter_3d(
    frame: pd.DataFrame,
    names: Sequence[str],
    *,
    color_by: str = "family",
    others: str = "faded",
    knee: int | str | None = None,
) -> go.Figure:
    """Three objectives in 3-D; faded points as for :func:`scatter_2d`."""
    if len(names) != 3:
        raise ValueError(f"scatter_3d needs exactly 3 objectives, got {list(names)}")
    _check(frame, names, color_by, others)
    frame, units, _ = scaled(frame, names)
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
                hovertemplate=_hover(names, ("x", "y", "z"), units),
                meta=kind,
            )
        )
    _mark(fig, frame, names, knee, "knee", "knee", "diamond-open", KNEE_COLOR, units)
    # each axis says its unit and which way is better: a 3-D view can turn any axis towards you
    titles = {f"{axis}axis_title": axis_title(n, units[n]) for axis, n in zip(("x", "y", "z"), names)}
    fig.update_layout(**LAYOUT, height=600, scene=titles)
    return fig


def _objective_axis(frame: pd.DataFrame, name: str, unit: str) -> dict[str, Any]:
    """One parallel-coordinates axis in its drawing unit, oriented so that up is better."""
    v = frame[name].to_numpy(float)
    finite = v[np.isfinite(v)]
    lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    m = obj.get(name)
    return dict(label=f"{m.label} ({unit})", values=v, range=[lo, hi] if m.direction == "maximize" else [hi, lo])


def parallel_coordinates(
    frame: pd.DataFrame,
    names: Sequence[str],
    *,
    color_by: str = "family",
    highlight: int | None = None,
    title: str | None = None,
) -> go.Figure:
    """One line per trial across every objective; each axis is oriented so that up is better.

    The first axis is the family (or class), so the colours read without a legend. With
    ``highlight`` (a trial number, e.g. the report's chosen trial) that trial is red, the rest pale.
    """
    _check(frame, names, color_by, "hidden")
    frame, units, _ = scaled(frame, names)
    keys = sorted(frame[color_by].astype(str).unique())
    code = frame[color_by].astype(str).map({k: i for i, k in enumerate(keys)}).to_numpy(float)
    n = max(len(keys), 1)
    first = dict(
        label="Model family" if color_by == "family" else "Model class",
        values=code,
        tickvals=list(range(len(keys))),
        ticktext=[group_label(k, color_by) for k in keys],
    )
    if highlight is None:
        scale: Any = []
        for i, k in enumerate(keys):
            scale += [(i / n, color_of(k, color_by)), ((i + 1) / n, color_of(k, color_by))]
        # code + 0.5 sits in the middle of its colour band [i/n, (i+1)/n] of the stepped scale
        line = dict(color=code + 0.5, colorscale=scale or "Greys", cmin=0, cmax=n)
    else:
        chosen = (frame["number"] == highlight).to_numpy(float)
        line = dict(color=chosen, colorscale=[[0, "#9ecae1"], [1, "#d62728"]], cmin=0, cmax=1)
    dims = [first, *(_objective_axis(frame, name, units[name]) for name in names)]
    fig = go.Figure(go.Parcoords(line=line, dimensions=dims))
    fig.update_layout(**{**LAYOUT, "margin": _parcoords_margin(dims)}, title=titled(title), height=420)
    return fig


#: Roughly the width of one character of Plotly's 12 px default font, to size margins to the text.
_CHAR_PX = 7.0


def _parcoords_margin(dims: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Margins that keep every name in view: the first axis's tick names sit left of it, and each
    axis title is centred over its axis, so half of the first and last titles stick out sideways."""
    ticks = max((len(t) for t in dims[0].get("ticktext", ())), default=0)
    first, last = len(str(dims[0]["label"])), len(str(dims[-1]["label"]))
    left = max(40.0, _CHAR_PX * ticks + 16, _CHAR_PX * first / 2 + 10)
    right = max(30.0, _CHAR_PX * last / 2 + 10)
    return dict(l=int(left), r=int(right), t=70, b=30)


def scatter_matrix(
    frame: pd.DataFrame, names: Sequence[str], *, color_by: str = "family", others: str = "faded"
) -> go.Figure:
    """Every pair of objectives at once (lower triangle)."""
    _check(frame, names, color_by, others)
    frame, units, _ = scaled(frame, names)
    labels = {n: f"{obj.get(n).label} ({units[n]})" for n in names}
    fig = go.Figure()
    for kind, rows, color, name, group in _traces(frame, color_by, others):
        opacity, size, symbol, _ = _STYLE[kind]
        fig.add_trace(
            go.Splom(
                dimensions=[dict(label=labels[n], values=rows[n].to_numpy(float)) for n in names],
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
    fig.update_layout(**LAYOUT, height=160 * max(len(names), 2) + 80)
    return fig
