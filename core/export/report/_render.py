"""decision.md and report.html rendered from Jinja2 templates (core/export/templates).

Why templates: the page's structure lives in one readable file per format, and escaping is the
environment's job, not 27 hand-placed calls. report.html is autoescaped, and every value goes
through :func:`core._text.esc` (the ``finalize`` hook), so nothing typed by a person (names,
comments, rationale, group labels) can become markup; only the Plotly charts, rendered by
``plotly.io``, are marked safe. decision.md has no autoescape (Markdown is not HTML): the template
applies the ``md``/``md_block`` filters (:func:`core._text.md`) to every user string.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pandas as pd
import plotly.io as pio
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from core import objectives as obj
from core._text import esc, fmt_time, md, md_block
from core.export.report._data import (
    NOW,
    SEARCH,
    STORED,
    TEST,
    ReportData,
    decision_line,
    fmt,
    metric_rows,
    model_card,
    onnx_line,
    option_key,
    value_line,
)
from core.export.report._figures import figures
from core.metrics import rate_text, with_intervals
from core.viz import family_label

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;
color:#222;padding:0 1rem}h1{font-size:1.6rem}h2{margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}th,td{border:1px solid #ddd;
padding:.3rem .5rem;text-align:left;vertical-align:top}th{background:#f5f5f5}.bad{color:#b00;
font-weight:600}.muted{color:#666}.decision{background:#f0f7ff;padding:.8rem;border-left:4px solid
#1f77b4}blockquote{border-left:3px solid #ccc;margin:.3rem 0;padding:.2rem .8rem;white-space:pre-wrap}
"""
_GROUP_COLUMNS = ("n", "base_rate", "selection_rate", "recall", "precision", "accuracy")
#: Table headers in words: the group table's columns arrive as the metric kernels name them.
_GROUP_HEADERS = {"group": "Group", "n": "Rows", "base_rate": "Base rate", "note": "Note"}
_DIRECTION_WORDS = {"minimize": "lower is better", "maximize": "higher is better"}
_BALLOT_WORDS = {"mark": "mark", "approval": "approval", "ranked": "ranking"}


def _header(column: Any) -> str:
    """'selection_rate' → 'Selection rate'."""
    name = str(column)
    return _GROUP_HEADERS.get(name) or name.replace("_", " ").capitalize()


def _escaped(value: Any) -> Any:
    """Autoescape through the project's one escaper (charts and macros are already Markup)."""
    return value if isinstance(value, Markup) else Markup(esc(value))


@cache
def _environment(kind: str) -> Environment:
    loader = PackageLoader("core.export", "templates")
    if kind == "html":
        env = Environment(
            loader=loader, autoescape=select_autoescape(["html.j2"]), finalize=_escaped, undefined=StrictUndefined
        )
    else:  # Markdown is not HTML: the template escapes with the md filters
        env = Environment(
            loader=loader,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            undefined=StrictUndefined,
        )
        env.filters.update(md=md, md_block=md_block)
    env.filters["when"] = fmt_time
    return env


def _objectives(data: ReportData) -> list[dict[str, Any]]:
    rows = []
    for o in data.spec.objectives:
        vm = data.spec.value_model
        limit = fmt(o.name, o.limit, vm) if o.limit is not None else "–"
        aspiration = fmt(o.name, o.aspiration, vm) if o.aspiration is not None else "–"
        cells = [o.metric.label, _DIRECTION_WORDS.get(o.direction, o.direction), o.owner, limit, aspiration]
        rows.append({**dict(zip(("label", "direction", "owner", "limit", "aspiration"), cells)), "cells": cells})
    return rows


def _front(data: ReportData) -> dict[str, Any]:
    names = data.spec.objective_names
    rows = []
    for _, r in data.front.iterrows():
        number = int(r["number"])
        tags = (" (chosen)" if number == data.trial_number else "") + (" (knee)" if number == data.knee else "")
        values, family = [fmt(n, r[n], data.spec.value_model) for n in names], family_label(r["family"])
        rows.append({"number": number, "tags": tags, "family": family, "values": values})
        rows[-1]["cells"] = [f"{number}{tags}", family, *values]
    return {"labels": [obj.get(n).label for n in names], "rows": rows}


def _regret(data: ReportData) -> dict[str, Any] | None:
    regret = data.room.regret
    if regret is None:
        return None
    table = regret.in_units
    rows = []
    room = data.room
    for trial, row in table.iterrows():
        tag = " (compromise)" if trial == regret.compromise else ""
        name = room.label(trial)
        rows.append(
            {"trial": trial, "label": name, "compromise": bool(tag), "cells": list(row), "html": [f"{name}{tag}", *row]}
        )
    picks = ", ".join(f"{k}: {room.label(v)}" for k, v in regret.picks.items())
    return {"columns": list(table.columns), "rows": rows, "picks": picks}


def _option_of(v: Any) -> str:
    """A ballot line's option key; a ballot frame from before options names the trial only."""
    key = v.get("option")
    return str(key) if isinstance(key, str) and key else str(int(v["trial_number"]))


def _votes(votes: pd.DataFrame | None, room: Any) -> list[list[str]]:
    """One row per ballot line: kind, voter, the option in words (key and rule), mark, rank."""
    if votes is None or not len(votes):
        return []
    return [
        [
            _BALLOT_WORDS.get(str(v["kind"]), str(v["kind"])),
            v["voter"],
            room.label(_option_of(v)),
            _mark(v),
            "" if pd.isna(v["position"]) else str(int(v["position"]) + 1),
        ]
        for _, v in votes.iterrows()
    ]


def _mark(v: Any) -> str:
    """What the person marked: approve / reject / abstain; rooms from before marks say yes/no."""
    mark = v.get("mark")
    if isinstance(mark, str) and mark:
        return mark
    return "" if pd.isna(v["approve"]) else ("approve" if v["approve"] else "reject")


def _group_cell(r: Any, c: str) -> str:
    """n as a count; a rate with its Wilson interval when one exists; the small-group flag as text."""
    if c == "n":
        return str(int(r["n"]))
    if c == "note":
        return str(r.get("note") or "")
    return rate_text(r[c], r.get(f"{c}_low"), r.get(f"{c}_high"))


def _groups(g: pd.DataFrame | None, min_rows: int | None) -> dict[str, Any] | None:
    """The group table for both files: rows per group, each rate with its 95 % Wilson interval, and a
    note on groups under the spec's minimum (``with_intervals`` also serves trials stored without them)."""
    if g is None or g.empty:
        return None
    g = with_intervals(g, min_rows=min_rows)
    cols = [c for c in _GROUP_COLUMNS if c in g] + ["note"]
    rows = [(r["group"], [_group_cell(r, c) for c in cols]) for _, r in g.iterrows()]
    headers = [_header(c) for c in cols]
    return {
        "columns": headers,
        "rows": rows,
        "html_columns": [_header("group"), *headers],
        "html_rows": [[group, *cells] for group, cells in rows],
    }


def _warnings(data: ReportData) -> list[str]:
    """The "too good to be true" findings every page shows (:func:`core.decide.suspicion.too_good`),
    so an exported decision carries them too."""
    from core.decide.suspicion import too_good

    imp = None
    if data.importance is not None and not data.importance.empty:
        imp = list(zip(data.importance["feature"], data.importance["mean"], strict=True))
    return too_good(data.frame, data.spec, importance=imp, trial=data.trial_number)


def _context(data: ReportData) -> dict[str, Any]:
    """Plain values for both templates; formatting decisions live here, escaping in the templates."""
    r = data.room
    rows = metric_rows(data)
    has_now = any(x["now"] for x in rows)
    html_columns = ("metric", "objective", "owner", "search", "test", *(("now",) if has_now else ()), "limit", "status")
    metrics = [{**x, "html": [x[k] for k in html_columns]} for x in rows]
    tally = [] if r.tally is None else [(i, [int(v) for v in row]) for i, row in r.tally.iterrows()]
    importance = None if data.importance is None or data.importance.empty else data.importance.head(15)
    return {
        "d": data,
        "room": r,
        "decision_line": decision_line(data),
        "objectives": _objectives(data),
        "front": _front(data),
        "shortlist": ", ".join(r.label(c) for c in r.shortlist),
        "off_front": ", ".join(r.label(c) for c in r.off_front),
        "option": option_key(data),
        "option_label": r.label(option_key(data)),
        "regret": _regret(data),
        "tally": tally,
        "tally_cells": [[r.label(i), *counts] for i, counts in tally],
        "tally_labels": [r.label(i) for i, _counts in tally],
        "votes": _votes(r.votes, r),
        "metrics": metrics,
        "has_now": has_now,
        "scope": {"search": SEARCH, "stored": STORED, "test": TEST, "now": NOW},
        "value_line": value_line(data),
        "groups": _groups(data.groups_test, data.spec.data.min_group_rows),
        "importance": None if importance is None else importance.to_dict("records"),
        "onnx_line": onnx_line(data.onnx, data.metrics.get("latency_p95_ms")) if data.onnx else "",
        "card": model_card(data),
        "warnings": _warnings(data),
        # 0.31622776601683794 reads as 0.3162: four significant digits say which configuration it is
        "params": {k: f"{v:.4g}" if isinstance(v, float) else v for k, v in data.params.items()},
    }


def decision_markdown(data: ReportData) -> str:
    """The decision as Markdown: every user-typed string neutralised with :func:`core._text.md`."""
    text = _environment("md").get_template("decision.md.j2").render(**_context(data))
    return text.rstrip() + "\n"


def _charts(data: ReportData) -> dict[str, Markup]:
    """Each figure as an HTML fragment; Plotly's JavaScript goes into the first only (one copy, offline)."""
    return {
        name: Markup(pio.to_html(fig, include_plotlyjs=(i == 0), full_html=False, config={"displaylogo": False}))
        for i, (name, fig) in enumerate(figures(data).items())
    }


def report_html(data: ReportData) -> str:
    """A self-contained HTML page (Plotly JS inlined once) with the whole decision and model card."""
    charts = {name: Markup("") for name in ("front", "parallel", "fairness", "importance")}
    charts.update(_charts(data))
    template = _environment("html").get_template("report.html.j2")
    return template.render(**_context(data), charts=charts, css=Markup(_CSS))
