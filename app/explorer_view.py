"""Plain-data pieces of the Pareto explorer: the annotated trials, the front table, a trial's details.

Nothing here draws; the page renders these frames and :mod:`core.viz` turns them into figures.
:func:`analysis` and :func:`figure` cache per study *signature* (it changes when a trial arrives), so a
rerun that changes nothing (a click, a toggle back) re-uses the front, the knee and the figures.

What identifies a view (objectives, axes, plot, colours, the selected trial) lives in the page's
address: each is a widget bound to the query parameter named below, so it survives switching pages,
a reload, and can be sent as a link. Streamlit would otherwise drop a widget's value whenever the
page is not shown.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app import ui
from core import objectives as obj
from core import viz
from core.decide import front
from core.metrics import display_metric, with_intervals
from core.models import families as fam
from core.spec import Objective, ValueModel

# query parameters (bound widgets' keys): the view's identity
OBJECTIVES, X, Y, PLOT, COLOR, OTHERS, TRIAL = "objectives", "x", "y", "plot", "color", "others", "trial"
THREE, ALL, SORT = "three", "all", "sort"
CHART = "ex_scatter"  # the 2-D chart's selection (a click): not part of the address, it moves to ``trial``
PLOTS = ("2-D", "3-D", "Parallel coordinates", "Scatter matrix")
_RATES = ["base_rate", "selection_rate", "recall", "precision", "accuracy"]
#: Numeric rate columns of the per-group table (rates and their Wilson bounds), formatted as %.3f.
GROUP_RATE_COLUMNS = _RATES + [f"{r}_{b}" for r in _RATES for b in ("low", "high")]
GROUP_COLUMNS = ["group", "n", "note", *GROUP_RATE_COLUMNS]


def available_metrics(frame: pd.DataFrame) -> list[str]:
    """Catalogue metrics with at least one finite value among finished trials (choosable as objectives)."""
    done = frame[frame["state"] == "COMPLETE"]
    return [n for n in obj.REGISTRY if n in done and np.isfinite(done[n].astype(float)).any()]


def annotated(frame: pd.DataFrame, names: Sequence[str], limits: Sequence[Objective]) -> pd.DataFrame:
    """Finished trials with ``feasible`` (the spec's hard limits) and ``on_front`` (for ``names``)."""
    done = frame[frame["state"] == "COMPLETE"]
    return front.annotate(done, list(names), limits).reset_index(drop=True)


def knee(points: pd.DataFrame, names: Sequence[str]) -> int | None:
    pf = points[points["on_front"]]
    try:
        return front.knee_index(pf, list(names))
    except Exception:  # a degenerate front (identical points) has no knee worth failing over
        return int(pf["number"].iloc[0]) if len(pf) else None


def front_table(
    points: pd.DataFrame, names: Sequence[str], knee_number: int | None, sort_by: str | None = None
) -> pd.DataFrame:
    """The front, one row per trial, objective values in their units; best-first by ``sort_by``."""
    pf = points[points["on_front"]]
    table = pd.DataFrame(
        {"#": pf["number"].astype(int), "family": pf["family"].map(family_label), "class": pf["family_class"]}
    )
    for n in names:
        table[column_name(n)] = pf[n].astype(float)
    table["knee"] = pf["number"].eq(knee_number).map({True: "★", False: ""})
    if sort_by:
        table = table.sort_values(
            column_name(sort_by), ascending=obj.get(sort_by).direction == "minimize", kind="mergesort"
        )
    return table.reset_index(drop=True)


def column_name(name: str) -> str:
    m = obj.get(name)
    return f"{m.label} [{m.unit}]"


def family_label(name: Any) -> str:
    return fam.get(name).label if name in fam.REGISTRY else str(name)


def clicked_number(event: Any) -> int | None:
    """The trial number of the first selected point of a ``st.plotly_chart`` selection event."""
    try:
        points = event["selection"]["points"]
    except (KeyError, TypeError):
        return None
    for p in points or []:
        data = p.get("customdata")
        if isinstance(data, dict):  # the browser serialises a typed-array row as {"0": 12}
            data = [data.get("0", next(iter(data.values()), None))] if data else None
        elif isinstance(data, (int, float)):
            data = [data]
        if isinstance(data, (list, tuple)) and data:
            try:
                return int(float(data[0]))
            except (TypeError, ValueError):
                continue
    return None


def metric_label(name: str) -> str:
    """How an objective reads in pickers (and so in the address): label and unit."""
    m = obj.get(name)
    return f"{m.label} ({m.unit})"


def parse_trial(raw: Any) -> int | None:
    """A trial number from the ``trial`` query parameter (or None when it is absent or not a number)."""
    if isinstance(raw, (list, tuple)):
        raw = raw[-1] if raw else None
    try:
        return int(str(raw).lstrip("#"))
    except (TypeError, ValueError):
        return None


def trial_options(points: pd.DataFrame, knee_number: int | None, wanted: int | None) -> list[int]:
    """The trial picker's choices: the knee first (the default, so the address omits it), the rest
    of the front, and ``wanted`` (a clicked or linked trial) when it exists but is off the front."""
    on_front = sorted(int(n) for n in points.loc[points["on_front"], "number"])
    first = [knee_number] if knee_number in on_front else []
    numbers = first + [n for n in on_front if n != knee_number]
    if wanted is not None and wanted not in numbers and wanted in set(points["number"].astype(int)):
        numbers.append(wanted)
    return numbers


def metric_rows(
    row: pd.Series, limits: Sequence[Objective], names: Sequence[str], *, value_model: ValueModel | None = None
) -> pd.DataFrame:
    """Every catalogue metric of one trial: search-time value ± CV spread, held-out test value, limit,
    and the limit judged on both parts (``front.check_status``); value in the spec's unit."""
    lim = {o.name: o for o in limits}
    out = []
    for m in obj.REGISTRY.values():
        m = m if value_model is None else display_metric(m, value_model)
        v = _num(row.get(m.name))
        std = _num(row.get(obj.STD_ATTR + m.name))
        test = _num(row.get(obj.TEST_ATTR + m.name))
        o = lim.get(m.name)
        limit = o.limit if o is not None else None
        status = "" if o is None or limit is None else front.check_status(front.limit_check(o, v, test))
        out.append(
            {
                "objective": "★" if m.name in names else "",
                "metric": m.label,
                "unit": m.unit,
                "value (search)": m.fmt(v),
                "CV ± std": "" if std is None else f"± {std:.4f}",
                "held-out test": m.fmt(test) if m.on_test else "",
                "limit": "" if limit is None else m.fmt(limit),
                "limit status": status,
                "group": m.group,
            }
        )
    return pd.DataFrame(out)


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None


def param_rows(params: dict[str, Any]) -> pd.DataFrame:
    """Hyperparameters without the ``<family>.`` prefix, values as text (mixed types in one column)."""
    family = params.get("family")
    _, own = fam.split_params(params) if family else (None, params)
    return pd.DataFrame({"parameter": list(own), "value": [_fmt_param(v) for v in own.values()]})


def _fmt_param(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def groups_frame(detail: dict[str, Any], *, min_rows: int | None = None) -> pd.DataFrame:
    """The per-group fairness table of a trial (held-out test part): rows per group, Wilson
    intervals and the flag on groups under ``min_rows``, also for trials stored before intervals."""
    rows = (detail.get("user_attrs") or {}).get("groups_test") or []
    table = with_intervals(pd.DataFrame(rows), min_rows=min_rows)
    if table.empty:
        return pd.DataFrame(columns=GROUP_COLUMNS)
    return table[[c for c in GROUP_COLUMNS if c in table]]


@st.cache_resource(max_entries=16, show_spinner=False)
def analysis(url: str, name: str, sig: tuple, names: tuple[str, ...]) -> tuple[pd.DataFrame, int | None]:
    """(annotated finished trials, knee trial number) for these objectives; read-only, shared."""
    del sig  # part of the cache key only
    points = annotated(ui.load_frame(url, name), names, ui.load_spec(url, name).objectives)
    return points, knee(points, names)


@st.cache_resource(max_entries=16, show_spinner=False)
def figure(kind: str, url: str, name: str, sig: tuple, names: tuple[str, ...], options: tuple) -> go.Figure:
    """A cached explorer figure: ``kind`` is scatter_2d / scatter_3d / parallel / matrix.

    Its ``uirevision`` names the view (study, kind, axes), not the trials: when the page redraws as
    trials finish, Plotly keeps the zoom, pan and 3-D camera the person chose; choosing other axes
    starts a fresh view.
    """
    fig = _figure(kind, url, name, sig, names, options)
    opts = dict(options)
    view = [name, kind, opts.get("x"), opts.get("y"), list(opts.get("three") or [])]
    fig.update_layout(uirevision=json.dumps(view, default=str))
    return fig


def _figure(kind: str, url: str, name: str, sig: tuple, names: tuple[str, ...], options: tuple) -> go.Figure:
    points, knee_number = analysis(url, name, sig, names)
    opts = dict(options)
    if kind == "scatter_2d":
        spec = ui.load_spec(url, name)
        limits = {o.name: o.limit for o in spec.objectives if o.limit is not None}
        return viz.scatter_2d(
            points,
            opts["x"],
            opts["y"],
            color_by=opts["color_by"],
            others=opts["others"],
            limits=limits,
            knee=knee_number,
            selected=opts.get("selected"),
            front_line=set(names) == {opts["x"], opts["y"]},
        )
    if kind == "scatter_3d":
        return viz.scatter_3d(points, opts["three"], color_by=opts["color_by"], others=opts["others"], knee=knee_number)
    if kind == "parallel":
        shown = points if opts.get("all") else points[points["on_front"]]
        return viz.parallel_coordinates(shown, list(names), color_by=opts["color_by"])
    if kind == "matrix":
        return viz.scatter_matrix(points, list(names), color_by=opts["color_by"], others=opts["others"])
    raise ValueError(f"unknown figure kind {kind!r}")
