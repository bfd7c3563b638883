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
from core.decide import options as opt
from core.decide.operating_points import POINT, RULE_KIND, knee_position
from core.errors import UserInputError
from core.metrics import display_metric, with_intervals
from core.models import families as fam
from core.search import reader as study_reader
from core.spec import Objective, ValueModel

# query parameters (bound widgets' keys): the view's identity
OBJECTIVES, X, Y, PLOT, COLOR, OTHERS, TRIAL = "objectives", "x", "y", "plot", "color", "others", "trial"
THREE, ALL, SORT, ONE_POINT = "three", "all", "sort", "one_point"
CHART = "ex_scatter"  # the 2-D chart's last click (app.plotly_live): not part of the address, it moves to ``trial``
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


def knee(points: pd.DataFrame, names: Sequence[str]) -> str | None:
    """The option key of the front's knee (rows share trial numbers when trials bring curves)."""
    pf = points[points["on_front"]]
    if pf.empty:
        return None
    try:
        pos = knee_position(pf, list(names))
    except Exception:  # a degenerate front (identical points) has no knee worth failing over
        pos = 0
    return str(pf[opt.OPTION].iloc[pos if pos is not None else 0])


def option_points(
    frame: pd.DataFrame, curves: dict, names: Sequence[str], limits: Sequence[Objective], *, one_point: bool = False
) -> pd.DataFrame:
    """Finished options (trial × operating point) annotated as :func:`annotated` does; with
    ``one_point`` only each trial's own tuned rule (the front as it was before curves)."""
    rows = opt.options_frame(frame, curves, limits)
    if one_point:
        rows = rows[rows[opt.TUNED]]
    return annotated(rows, names, limits)


def front_table(
    points: pd.DataFrame, names: Sequence[str], knee_number: str | None, sort_by: str | None = None
) -> pd.DataFrame:
    """The front, one row per option, objective values in their units; best-first by ``sort_by``."""
    pf = points[points["on_front"]]
    table = pd.DataFrame(
        {
            "#": pf["number"].astype(int),
            "option": keys_of(pf),
            "rule": [rule_words(r) for r in pf.to_dict("records")],
            "family": pf["family"].map(family_label),
            "class": pf["family_class"],
        }
    )
    for n in names:
        table[column_name(n)] = pf[n].astype(float)
    table["knee"] = keys_of(pf).eq(str(knee_number)).map({True: "★", False: ""})
    if sort_by:
        table = table.sort_values(
            column_name(sort_by), ascending=obj.get(sort_by).direction == "minimize", kind="mergesort"
        )
    return table.reset_index(drop=True)


def keys_of(rows: pd.DataFrame) -> pd.Series:
    """The option keys of rows (a trials frame without options: the bare trial numbers)."""
    if opt.OPTION in rows:
        return rows[opt.OPTION].astype(str)
    return rows["number"].astype(int).astype(str)


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


def click_token(event: Any) -> Any:
    """What tells one click from the next in a chart event (``app.plotly_live`` sends a token per
    click; a plain selection event has none)."""
    return event.get("seq") if isinstance(event, dict) else None


def clicked_option(event: Any, points: pd.DataFrame) -> str | None:
    """The option key of the first selected point: ``customdata`` is (trial, point or -1)."""
    try:
        chosen = event["selection"]["points"]
    except (KeyError, TypeError):
        return None
    for p in chosen or []:
        data = p.get("customdata")
        if isinstance(data, dict):  # the browser serialises a typed-array row as {"0": 12, "1": 3}
            data = [data[k] for k in sorted(data, key=lambda k: int(k) if str(k).isdigit() else 0)]
        elif isinstance(data, (int, float)):
            data = [data]
        if not isinstance(data, (list, tuple)) or not data:
            continue
        try:
            number = int(float(data[0]))
            point = int(float(data[1])) if len(data) > 1 and float(data[1]) >= 0 else None
        except (TypeError, ValueError):
            continue
        return option_of(points, number, point)
    return None


def option_of(points: pd.DataFrame, number: int, point: int | None) -> str | None:
    """The key of trial ``number``'s operating point ``point`` (its own rule for None) in ``points``."""
    rows = points[points["number"] == number]
    if rows.empty:
        return None
    if point is not None and POINT in rows:
        hit = rows[rows[POINT] == point]
        if len(hit):
            return str(hit[opt.OPTION].iloc[0])
    own = rows[rows[opt.TUNED]] if opt.TUNED in rows else rows
    return str((own if len(own) else rows)[opt.OPTION].iloc[0])


def parse_key(raw: Any, points: pd.DataFrame) -> str | None:
    """An option key from the ``trial`` query parameter: ``12@3``, or a bare trial number (an old
    address), normalised to the key the frame uses; None when absent, malformed or not in ``points``."""
    if isinstance(raw, (list, tuple)):
        raw = raw[-1] if raw else None
    if raw is None:
        return None
    try:
        number, point = opt.parse_option(str(raw))
    except UserInputError:
        return None
    return option_of(points, number, point)


def rule_words(row: Any) -> str:
    """The option's decision rule in words: "threshold 0.41" or "group thresholds"."""
    if row.get(RULE_KIND) == "group_thresholds":
        return "group thresholds"
    t = _num(row.get("threshold"))
    return "" if t is None else f"threshold {t:.2f}"


def rule_text(row: Any, curves: dict) -> str:
    """What the details panel says of the rule: which one, that it is the trial's own tuned one or
    another point of its curve, and that it was chosen on search data only."""
    key = str(row.get(opt.OPTION, int(row["number"])))
    threshold = _num(row.get("threshold"))
    rule = None if threshold is None else opt.rule_of(curves, key, threshold)
    if rule is None:
        return "the model's own decision rule"
    groups = rule.get("group_thresholds")
    words = (
        "group thresholds " + ", ".join(f"{g}: {float(t):.2f}" for g, t in groups.items())
        if groups
        else f"threshold {rule['threshold']:.2f}"
    )
    own = "the trial's own tuned rule" if "@" not in key else "another point of the trial's curve"
    return f"{words} ({own}), chosen on search data"


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


def trial_options(points: pd.DataFrame, knee_key: str | None, wanted: str | None) -> list[str]:
    """The option picker's choices: the knee first (the default, so the address omits it), the rest
    of the front by trial and point, and ``wanted`` (a clicked or linked option) when it exists but
    is off the front."""
    pf = points[points["on_front"]]
    order = pf.sort_values(["number", POINT] if POINT in pf else ["number"], na_position="first")
    on_front = keys_of(order).tolist()
    first = [knee_key] if knee_key in on_front else []
    keys = first + [k for k in on_front if k != knee_key]
    if wanted is not None and wanted not in keys and wanted in set(keys_of(points)):
        keys.append(wanted)
    return keys


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


def curves(url: str, name: str) -> dict:
    """Trial number → stored curve (read once per finished trial, process-wide)."""
    return study_reader.read_curves(url, name)


@st.cache_resource(max_entries=16, show_spinner=False)
def analysis(
    url: str, name: str, sig: tuple, names: tuple[str, ...], one_point: bool = False
) -> tuple[pd.DataFrame, str | None]:
    """(annotated finished options, the knee's option key) for these objectives; read-only, shared.

    Over options (trial × operating point) by default; ``one_point`` keeps each trial's own rule."""
    del sig  # part of the cache key only
    spec = ui.load_spec(url, name)
    points = option_points(ui.load_frame(url, name), curves(url, name), names, spec.objectives, one_point=one_point)
    return points, knee(points, names)


def curve_rows(points: pd.DataFrame, url: str, name: str, key: str | None) -> pd.DataFrame | None:
    """Every operating point of the selected option's trial (None for a trial with one point)."""
    if key is None:
        return None
    number, _ = opt.parse_option(key)
    curve = curves(url, name).get(number)
    if not curve:
        return None
    frame = ui.load_frame(url, name)
    return opt.options_frame(frame[frame["number"] == number], {number: curve})


@st.cache_resource(max_entries=16, show_spinner=False)
def figure(kind: str, url: str, name: str, sig: tuple, names: tuple[str, ...], options: tuple) -> go.Figure:
    """A cached explorer figure: ``kind`` is scatter_2d / scatter_3d / parallel / matrix.

    Its ``uirevision`` names the view (study, kind, axes), not the trials nor the selection: when the
    page redraws as trials finish, Plotly keeps the zoom and pan the person chose on the 2-D chart,
    which :func:`app.plotly_live.live_plotly` keeps mounted and redraws with ``Plotly.react``;
    choosing other axes starts a fresh view. (The other tabs use ``st.plotly_chart``, which mounts a
    new chart whenever the figure changes, so there a new trial still resets the view.)
    """
    fig = _figure(kind, url, name, sig, names, options)
    fig.update_layout(uirevision=revision(name, kind, dict(options)))
    return fig


def revision(name: str, kind: str, opts: dict) -> str:
    """The ``uirevision`` of a view: a constant per (study, figure kind, axes)."""
    return json.dumps([name, kind, opts.get("x"), opts.get("y"), list(opts.get("three") or [])], default=str)


def _figure(kind: str, url: str, name: str, sig: tuple, names: tuple[str, ...], options: tuple) -> go.Figure:
    opts = dict(options)
    points, knee_key = analysis(url, name, sig, names, bool(opts.get("one_point")))
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
            knee=knee_key,
            selected=opts.get("selected"),
            front_line=set(names) == {opts["x"], opts["y"]},
            curve=curve_rows(points, url, name, opts.get("selected")),
        )
    if kind == "scatter_3d":
        return viz.scatter_3d(points, opts["three"], color_by=opts["color_by"], others=opts["others"], knee=knee_key)
    if kind == "parallel":
        shown = points if opts.get("all") else points[points["on_front"]]
        return viz.parallel_coordinates(shown, list(names), color_by=opts["color_by"])
    if kind == "matrix":
        return viz.scatter_matrix(points, list(names), color_by=opts["color_by"], others=opts["others"])
    raise ValueError(f"unknown figure kind {kind!r}")
