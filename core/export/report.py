"""decision.md and a self-contained report.html for an exported configuration.

Why both: decision.md is what goes into a ticket or a pull request (readable as text, diffable);
report.html is what the room looks at again in three months, offline: the front, the shortlist,
the regret table, the votes and the rationale, next to the chosen model's metrics, per-group
fairness, permutation importance and a model card. Plotly's JavaScript is inlined once, so the file
opens without network access.

Safety: every string a person typed (names, comments, rationale, study name, data values such as
group labels) is escaped at the moment it is rendered: :func:`core.export.safety.esc` for HTML (also in
chart labels, since Plotly interprets a few HTML tags), :func:`core.export.safety.md` for Markdown.

The decision-room data come from :mod:`core.decide.room`; a study whose room was never opened (or whose
room data cannot be read) still gets a report that says so instead of failing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from core import objectives as obj
from core.decide import front as front_mod
from core.export.safety import esc, md, md_block
from core.models import families as fam
from core.spec import Spec

INTENDED_USE = (
    "Rank or decide on rows like the training data ({target} = {positive}) at the decision "
    "threshold the study tuned for value. Not validated for other populations, other "
    "time periods or other decisions."
)


# -- the decision room ------------------------------------------------------------------------------


@dataclass
class RoomSummary:
    """What the room did, or why there is nothing to show (``note``)."""

    available: bool = False
    note: str = ""
    locked_trial: int | None = None
    locked_by: str = ""
    locked_at: str = ""
    rationale: str = ""
    stakeholders: list[Any] = field(default_factory=list)
    shortlist: list[int] = field(default_factory=list)
    shortlist_source: str = ""
    tally: pd.DataFrame | None = None
    votes: pd.DataFrame | None = None
    comments: list[Any] = field(default_factory=list)
    regret: Any = None
    regret_note: str = ""


def room_lock(url: str, study_name: str) -> tuple[int | None, str]:
    """(locked trial, who/why) of the study's room, or (None, reason) — without creating tables."""
    info = _room_info(url, study_name)
    if isinstance(info, str):
        return None, info
    _store, _rid, room = info
    _store.close()
    if room.lock is None:
        return None, "The room has not locked a decision yet."
    return int(room.lock.trial_number), f"locked by {room.lock.by} at {room.lock.at}"


def _room_info(url: str, study_name: str) -> Any:
    """(store, room id, RoomInfo) or a string saying why there is none."""
    import sqlalchemy as sa

    from core import search

    try:
        if not sa.inspect(search.engine(url)).has_table("room_rooms"):
            return "No decision room was opened for this study."
        from core.decide.room import RoomStore

        store = RoomStore(url)
        rid = store.room_id(study_name)
        if rid is None:
            store.close()
            return "No decision room was opened for this study."
        return store, rid, store.room(rid)
    except Exception as exc:  # a room written by another version must not stop an export
        return f"The decision room could not be read ({type(exc).__name__}: {exc})."


def room_summary(url: str, study_name: str, spec: Spec, frame: pd.DataFrame) -> RoomSummary:
    """The room's lock, votes and comments, and the shortlist + regret table of :mod:`core.decide.view`.

    Stakeholders are the room's saved profiles, or the spec's objective owners when the room saved
    none (as the Decide page does), so a study decided without a room still gets a regret table.
    """
    from core.decide import view as decide

    out = RoomSummary()
    people: list[Any] = []
    info = _room_info(url, study_name)
    if isinstance(info, str):
        out.note = info
    else:
        store, rid, room = info
        try:
            out.available = True
            if room.lock is not None:
                out.locked_trial = int(room.lock.trial_number)
                out.locked_by, out.locked_at = room.lock.by, room.lock.at
                out.rationale = room.lock.rationale
            people = list(store.stakeholders(rid))
            out.shortlist = list(store.candidates(rid))
            out.tally = store.tally(rid)
            out.votes = store.votes(rid)
            out.comments = list(store.comments(rid))
        except Exception as exc:
            out.note = f"Part of the decision room could not be read ({type(exc).__name__}: {exc})."
        finally:
            store.close()
        if out.locked_trial is None and not out.note:
            out.note = "The room has not locked a decision yet."
    try:
        view = decide.build(spec, frame, study_name=study_name, stakeholders=people, proposed=out.shortlist)
    except Exception as exc:  # e.g. no feasible trial: say so in the report
        out.regret_note = f"No shortlist or regret table: {exc}"
        return out
    out.stakeholders = list(view.stakeholders)
    out.shortlist_source = (
        "proposed in the room, plus the decision methods' picks"
        if out.shortlist
        else "the decision methods' and stakeholders' picks (nothing proposed in a room)"
    )
    out.shortlist = list(view.shortlist)
    out.regret = view.regret
    if not people:
        out.regret_note = (
            "Stakeholders: the spec's objective owners with equal weights (no profiles were saved in a room)."
        )
    return out


# -- everything the report shows --------------------------------------------------------------------


@dataclass
class ReportData:
    study_name: str
    trial_number: int
    spec: Spec
    family: str
    params: dict[str, Any]
    threshold: float
    metrics: dict[str, float]
    test_metrics: dict[str, float]
    cv_std: dict[str, float]
    groups_test: pd.DataFrame
    frame: pd.DataFrame
    front: pd.DataFrame
    knee: int | None
    room: RoomSummary
    dataset: dict[str, Any]
    importance: pd.DataFrame | None = None
    importance_note: str = ""
    onnx: dict[str, Any] | None = None
    verdict: str | None = None
    versions: dict[str, str] = field(default_factory=dict)
    created_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    @property
    def label(self) -> str:
        return fam.get(self.family).label

    @property
    def klass(self) -> str:
        return fam.get(self.family).klass


def permutation_importance(
    pipeline: Any, X: pd.DataFrame, y: np.ndarray, *, seed: int, threshold: float = 0.5, n_repeats: int = 5
) -> pd.DataFrame:
    """Drop in test ROC AUC when each original column is shuffled: feature, mean, std; largest first.

    Uses :func:`core.decide.explain.permutation_importance` (the Compare page's numbers) when present,
    otherwise scikit-learn directly, so the report never depends on that module being there.
    """
    try:
        from core.decide.explain import permutation_importance as explain_pi
    except ImportError:
        explain_pi = None
    if explain_pi is not None:
        res = explain_pi(pipeline, X, y, scoring="roc_auc", threshold=threshold, n_repeats=n_repeats, seed=seed)
        return res.frame()[["feature", "mean", "std"]].reset_index(drop=True)
    from sklearn.inspection import permutation_importance as sk_pi

    res = sk_pi(pipeline, X, y, scoring="roc_auc", n_repeats=n_repeats, random_state=seed, n_jobs=1)
    return (
        pd.DataFrame({"feature": list(X.columns), "mean": res.importances_mean, "std": res.importances_std})
        .sort_values("mean", ascending=False)
        .reset_index(drop=True)
    )


# -- figures ----------------------------------------------------------------------------------------


def front_figure(data: ReportData):
    """All finished trials faded, the front highlighted, the chosen trial starred (first 2 objectives;
    a parallel-coordinates view of the front is added for 3+ objectives by :func:`parallel_figure`)."""
    import plotly.graph_objects as go

    names = data.spec.objective_names
    x, y = names[0], names[1] if len(names) > 1 else names[0]
    done = data.frame[data.frame["state"] == "COMPLETE"]
    on_front = done["number"].isin(data.front["number"])
    fig = go.Figure()
    for mask, label, opacity, size in (
        (~on_front & done["feasible"], "feasible, dominated", 0.35, 7),
        (~done["feasible"], "infeasible (breaks a hard limit)", 0.25, 7),
        (on_front, "Pareto front", 0.95, 10),
    ):
        part = done[mask]
        if part.empty:
            continue
        fig.add_trace(
            go.Scatter(
                x=part[x],
                y=part[y],
                mode="markers",
                name=label,
                opacity=opacity,
                marker={"size": size},
                text=[f"#{int(n)} {esc(f)}" for n, f in zip(part["number"], part["family"])],
                hovertemplate="%{text}<br>"
                + esc(obj.get(x).label)
                + " %{x:.4g}<br>"
                + esc(obj.get(y).label)
                + " %{y:.4g}<extra></extra>",
            )
        )
    chosen = done[done["number"] == data.trial_number]
    if len(chosen):
        fig.add_trace(
            go.Scatter(
                x=chosen[x],
                y=chosen[y],
                mode="markers",
                name=f"chosen #{data.trial_number}",
                marker={"symbol": "star", "size": 18, "color": "#d62728", "line": {"width": 1, "color": "black"}},
            )
        )
    for o in data.spec.objectives:
        if o.limit is None or o.name not in (x, y):
            continue
        line = {"dash": "dash", "color": "#d62728", "width": 1}
        if o.name == x:
            fig.add_vline(x=o.limit, line=line)
        else:
            fig.add_hline(y=o.limit, line=line)
    fig.update_layout(
        title=f"Trials: {esc(obj.get(x).label)} vs {esc(obj.get(y).label)}",
        xaxis_title=f"{esc(obj.get(x).label)} ({esc(obj.get(x).unit)}, {obj.get(x).direction})",
        yaxis_title=f"{esc(obj.get(y).label)} ({esc(obj.get(y).unit)}, {obj.get(y).direction})",
        height=460,
        margin={"t": 50, "l": 60, "r": 20, "b": 50},
    )
    return fig


def parallel_figure(data: ReportData):
    """Parallel coordinates of the front over every objective (None for fewer than 3)."""
    import plotly.graph_objects as go

    names = data.spec.objective_names
    if len(names) < 3 or data.front.empty:
        return None
    pf = data.front
    color = (pf["number"] == data.trial_number).astype(int)
    dims = [{"label": obj.get(n).label, "values": pf[n].astype(float)} for n in names]
    fig = go.Figure(
        go.Parcoords(line={"color": color, "colorscale": [[0, "#9ecae1"], [1, "#d62728"]]}, dimensions=dims)
    )
    fig.update_layout(title="Pareto front over all objectives (chosen trial in red)", height=380)
    return fig


def fairness_figure(data: ReportData):
    import plotly.graph_objects as go

    g = data.groups_test
    if g is None or g.empty:
        return None
    fig = go.Figure()
    for col, label in (
        ("selection_rate", "Selection rate"),
        ("recall", "Recall"),
        ("precision", "Precision"),
        ("accuracy", "Accuracy"),
    ):
        if col in g:
            fig.add_trace(go.Bar(name=label, x=[esc(v) for v in g["group"]], y=g[col]))
    fig.update_layout(
        barmode="group", title="Per-group results on the held-out test part", yaxis_title="rate", height=380
    )
    return fig


def importance_figure(data: ReportData):
    import plotly.graph_objects as go

    imp = data.importance
    if imp is None or imp.empty:
        return None
    top = imp.head(15).iloc[::-1]
    fig = go.Figure(
        go.Bar(
            x=top["mean"],
            y=[esc(f) for f in top["feature"]],
            orientation="h",
            error_x={"type": "data", "array": top["std"]},
        )
    )
    fig.update_layout(
        title="Permutation importance (drop in test ROC AUC when a column is shuffled)",
        height=max(260, 28 * len(top) + 100),
        margin={"l": 160},
    )
    return fig


# -- shared pieces ----------------------------------------------------------------------------------


def _fmt(name: str, v: Any) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    try:
        return obj.get(name).fmt(float(v))
    except Exception:
        return str(v)


def metric_rows(data: ReportData) -> list[dict[str, str]]:
    """One row per metric: label, unit, CV mean ± spread, held-out test value, limit and status."""
    limits = {o.name: o for o in data.spec.objectives}
    rows = []
    for name, m in obj.REGISTRY.items():
        if name not in data.metrics:
            continue
        v = data.metrics.get(name)
        spread = data.cv_std.get(name)
        cv_text = _fmt(name, v)
        if spread is not None and m.has_cv_spread and spread == spread:
            cv_text += f" ± {spread:.4f} (std over {data.spec.validation.cv_folds} folds)"
        o = limits.get(name)
        status = ""
        if o is not None and o.limit is not None and v is not None and v == v:
            ok = v <= o.limit if o.direction == "minimize" else v >= o.limit
            status = "within limit" if ok else "BREAKS LIMIT"
        rows.append(
            {
                "metric": m.label,
                "name": name,
                "objective": "yes" if o else "",
                "owner": o.owner if o else "",
                "search": cv_text,
                "test": _fmt(name, data.test_metrics.get(name)) if m.on_test else "",
                "limit": (("≤ " if o.direction == "minimize" else "≥ ") + _fmt(name, o.limit))
                if o is not None and o.limit is not None
                else "",
                "status": status,
            }
        )
    return rows


def _limitations(data: ReportData) -> list[str]:
    out = [
        "Latency figures were measured on the exporting machine, single-threaded; re-measure on "
        "the serving hardware (`tradeoff reproduce` reports both)."
    ]
    g = data.groups_test
    if g is not None and not g.empty and "n" in g:
        small = g[g["n"] < 100]
        if len(small):
            out.append(
                "Per-group figures rest on few test rows for: "
                + ", ".join(f"{grp} ({int(n)} rows)" for grp, n in zip(small["group"], small["n"]))
                + "."
            )
    gap = data.test_metrics.get("dp_diff")
    if gap is not None and gap == gap and gap > 0.1:
        out.append(
            f"Selection rates differ between groups by up to {gap:.3f} on the test part "
            "(demographic parity difference)."
        )
    if data.dataset.get("dropped"):
        out.append(
            "Columns left out of the model: "
            + ", ".join(f"{k} ({v})" for k, v in data.dataset["dropped"].items())
            + "."
        )
    if data.onnx and not data.onnx.get("exported"):
        out.append("No ONNX model: " + str(data.onnx.get("reason", "")))
    out.append(
        "The threshold was tuned on cross-validated predictions of the training part for the "
        "study's value model; if fees or costs change, re-tune it."
    )
    return out


def _decision_line(data: ReportData) -> str:
    r = data.room
    if r.locked_trial is None:
        return f"No locked decision: {r.note or 'the room has not decided.'} Trial #{data.trial_number} was exported."
    if r.locked_trial == data.trial_number:
        return f"The room locked trial #{r.locked_trial} (by {r.locked_by}, {r.locked_at})."
    return (
        f"The room locked trial #{r.locked_trial}, but trial #{data.trial_number} was exported "
        f"(lock by {r.locked_by}, {r.locked_at})."
    )


# -- Markdown ---------------------------------------------------------------------------------------


def _md_table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(rows_i) + " |" for rows_i in rows]
    return "\n".join(lines)


def decision_markdown(data: ReportData) -> str:
    """The decision as Markdown: every user-typed string neutralised with :func:`core.export.safety.md`."""
    spec, r = data.spec, data.room
    parts = [
        f"# Decision: {md(data.study_name)}, trial #{data.trial_number}",
        "",
        f"*Exported {data.created_at} by Tradeoff Room.*",
        "",
        md(_decision_line(data)),
        "",
        f"**Chosen model:** {md(data.label)} ({data.klass}), decision threshold {data.threshold:.4f}.",
        "",
        "## Objectives and owners",
        "",
        _md_table(
            ["Objective", "Direction", "Owner", "Hard limit", "Aspiration"],
            [
                [
                    md(o.metric.label),
                    o.direction,
                    md(o.owner),
                    md(_fmt(o.name, o.limit)) if o.limit is not None else "–",
                    md(_fmt(o.name, o.aspiration)) if o.aspiration is not None else "–",
                ]
                for o in spec.objectives
            ],
        ),
        "",
    ]
    parts += ["## Rationale", ""]
    parts += [md_block(r.rationale) if r.rationale else md(r.note or "No rationale was recorded."), ""]
    parts += [
        "## Pareto front",
        "",
        _md_table(
            ["#", "Family"] + [md(obj.get(n).label) for n in spec.objective_names],
            [
                [
                    str(int(row["number"]))
                    + (" (chosen)" if int(row["number"]) == data.trial_number else "")
                    + (" (knee)" if data.knee is not None and int(row["number"]) == data.knee else ""),
                    md(row["family"]),
                ]
                + [md(_fmt(n, row[n])) for n in spec.objective_names]
                for _, row in data.front.iterrows()
            ],
        )
        if len(data.front)
        else "No feasible trials.",
        "",
    ]
    parts += ["## Shortlist", "", md(f"Source: {r.shortlist_source or 'none'}"), ""]
    parts += [", ".join(f"#{c}" for c in r.shortlist) if r.shortlist else "No shortlist.", ""]
    parts += ["## Regret table", ""]
    if r.regret is not None:
        table = r.regret.in_units
        parts += [
            _md_table(
                ["Candidate"] + [md(c) for c in table.columns],
                [
                    [f"#{idx}" + (" (compromise)" if idx == r.regret.compromise else "")] + [md(v) for v in row]
                    for idx, row in table.iterrows()
                ],
            ),
            "",
        ]
    else:
        parts += [md(r.regret_note or "No regret table."), ""]
    parts += ["## Votes", ""]
    if r.tally is not None and len(r.tally):
        parts += [
            _md_table(
                ["Candidate", "Approvals", "Rejections", "Borda", "First choices"],
                [[f"#{i}", *(str(int(v)) for v in row)] for i, row in r.tally.iterrows()],
            ),
            "",
        ]
    else:
        parts += ["No votes recorded.", ""]
    if r.comments:
        parts += ["### Comments", ""]
        for c in r.comments:
            about = f" on #{c.trial_number}" if c.trial_number is not None else ""
            parts += [f"- **{md(c.author)}**{about} ({md(c.at)}):", md_block(c.text, prefix="  > "), ""]
    parts += [
        "## Chosen model",
        "",
        _md_table(
            ["Metric", "Search (CV mean ± std)", "Held-out test", "Limit", "Status"],
            [[md(x["metric"]), md(x["search"]), md(x["test"]), md(x["limit"]), x["status"]] for x in metric_rows(data)],
        ),
        "",
    ]
    parts += ["Parameters: " + ", ".join(f"`{k}` = {md(v)}" for k, v in data.params.items()), ""]
    parts += _md_groups(data) + _md_importance(data)
    if data.verdict:
        parts += ["## Ensembles versus simple models", "", md(data.verdict), ""]
    if data.onnx:
        parts += ["## Serving (ONNX)", "", md(_onnx_line(data.onnx)), ""]
    parts += _md_model_card(data)
    return "\n".join(parts).rstrip() + "\n"


def _md_groups(data: ReportData) -> list[str]:
    g = data.groups_test
    if g is None or g.empty:
        return []
    cols = [c for c in ("n", "base_rate", "selection_rate", "recall", "precision", "accuracy") if c in g]
    rows = [
        [md(row["group"])] + [(f"{row[c]:.3f}" if c != "n" else str(int(row[c]))) for c in cols]
        for _, row in g.iterrows()
    ]
    return ["## Fairness per group (test part)", "", _md_table(["Group"] + cols, rows), ""]


def _md_importance(data: ReportData) -> list[str]:
    if data.importance is None or data.importance.empty:
        return ["## Permutation importance", "", md(data.importance_note or "Not computed."), ""]
    rows = [[md(r["feature"]), f"{r['mean']:.4f}", f"{r['std']:.4f}"] for _, r in data.importance.head(15).iterrows()]
    return ["## Permutation importance (test ROC AUC drop)", "", _md_table(["Column", "Mean", "Std"], rows), ""]


def _onnx_line(o: dict[str, Any]) -> str:
    if not o.get("exported"):
        return f"Not exported: {o.get('reason', '')}"
    sk, ox = o.get("sklearn_latency") or {}, o.get("onnx_latency") or {}
    return (
        f"model.onnx exported; {o.get('reason', '')}. Single-row latency p50: scikit-learn "
        f"{sk.get('p50_ms', float('nan')):.3f} ms, onnxruntime {ox.get('p50_ms', float('nan')):.4f} ms "
        f"(p95 {sk.get('p95_ms', float('nan')):.3f} vs {ox.get('p95_ms', float('nan')):.4f} ms)."
    )


def _card(data: ReportData) -> dict[str, list[str]]:
    d, spec = data.dataset, data.spec
    return {
        "Intended use": [INTENDED_USE.format(target=spec.data.target, positive=d.get("positive_label", "?"))],
        "Data": [
            f"Source {spec.data.path} (fingerprint {d.get('fingerprint')}), {d.get('n_rows')} rows; "
            f"{d.get('n_train')} for training and cross-validation, {d.get('n_test')} held out.",
            f"Target {spec.data.target}, positive class {d.get('positive_label')} "
            f"(base rate {d.get('positive_rate', float('nan')):.3f}).",
            "Sensitive attribute(s): " + (", ".join(spec.data.sensitive) or "none") + ".",
        ]
        + [str(n) for n in d.get("notes", [])],
        "Metrics": [
            f"{x['metric']}: {x['search']}" + (f"; test {x['test']}" if x["test"] else "")
            for x in metric_rows(data)
            if x["objective"] or x["name"] in obj.QUALITY[:2]
        ],
        "Fairness": [
            f"{k}: {_fmt(k, data.test_metrics.get(k))} (test)"
            for k in ("dp_diff", "dp_ratio", "eo_diff", "worst_group_recall")
            if k in data.test_metrics
        ],
        "Limitations": _limitations(data),
    }


def _md_model_card(data: ReportData) -> list[str]:
    out = ["## Model card", ""]
    for title, lines in _card(data).items():
        out += [f"### {title}", ""] + [f"- {md(line)}" for line in lines] + [""]
    return out


# -- HTML -------------------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;
color:#222;padding:0 1rem}h1{font-size:1.6rem}h2{margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}th,td{border:1px solid #ddd;
padding:.3rem .5rem;text-align:left;vertical-align:top}th{background:#f5f5f5}.bad{color:#b00;
font-weight:600}.muted{color:#666}.decision{background:#f0f7ff;padding:.8rem;border-left:4px solid
#1f77b4}blockquote{border-left:3px solid #ccc;margin:.3rem 0;padding:.2rem .8rem;white-space:pre-wrap}
"""


def _html_table(head: Sequence[str], rows: Sequence[Sequence[str]], *, raw: bool = False) -> str:
    """A table; cells are escaped unless ``raw`` (then the caller escaped them)."""
    cell = (lambda v: v) if raw else esc
    return (
        "<table><thead><tr>"
        + "".join(f"<th>{esc(h)}</th>" for h in head)
        + "</tr></thead><tbody>"
        + "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in rows)
        + "</tbody></table>"
    )


def report_html(data: ReportData) -> str:
    """A self-contained HTML page (Plotly JS inlined once) with the whole decision and model card."""
    import plotly.io as pio

    spec, r = data.spec, data.room
    figs = [
        (name, fig)
        for name, fig in (
            ("front", front_figure(data)),
            ("parallel", parallel_figure(data)),
            ("fairness", fairness_figure(data)),
            ("importance", importance_figure(data)),
        )
        if fig is not None
    ]
    # Plotly's JavaScript goes into the first chart only: one copy, no network needed
    charts = {
        name: pio.to_html(fig, include_plotlyjs=(i == 0), full_html=False, config={"displaylogo": False})
        for i, (name, fig) in enumerate(figs)
    }

    body = [
        f"<h1>Decision: {esc(data.study_name)}, trial #{data.trial_number}</h1>",
        f"<p class='muted'>Exported {esc(data.created_at)} by Tradeoff Room.</p>",
        f"<p class='decision'>{esc(_decision_line(data))}<br><b>Chosen model:</b> {esc(data.label)} "
        f"({esc(data.klass)}), decision threshold {data.threshold:.4f}.</p>",
        "<h2>Objectives and owners</h2>",
        _html_table(
            ["Objective", "Direction", "Owner", "Hard limit", "Aspiration"],
            [
                [
                    o.metric.label,
                    o.direction,
                    o.owner,
                    _fmt(o.name, o.limit) if o.limit is not None else "–",
                    _fmt(o.name, o.aspiration) if o.aspiration is not None else "–",
                ]
                for o in spec.objectives
            ],
        ),
        "<h2>Rationale</h2>",
        f"<blockquote>{esc(r.rationale)}</blockquote>"
        if r.rationale
        else f"<p>{esc(r.note or 'No rationale was recorded.')}</p>",
        "<h2>The front</h2>",
        charts.get("front", ""),
        charts.get("parallel", ""),
        _html_table(
            ["#", "Family"] + [obj.get(n).label for n in spec.objective_names],
            [
                [
                    f"{int(row['number'])}"
                    + (" (chosen)" if int(row["number"]) == data.trial_number else "")
                    + (" (knee)" if data.knee is not None and int(row["number"]) == data.knee else ""),
                    row["family"],
                ]
                + [_fmt(n, row[n]) for n in spec.objective_names]
                for _, row in data.front.iterrows()
            ],
        ),
        "<h2>Shortlist</h2>",
        f"<p>Source: {esc(r.shortlist_source or 'none')}. "
        + (esc(", ".join(f"#{c}" for c in r.shortlist)) if r.shortlist else "No shortlist.")
        + "</p>",
        "<h2>Regret table</h2>",
    ]
    if r.regret is not None:
        t = r.regret.in_units
        body.append(
            "<p class='muted'>What each stakeholder gives up under each candidate, against "
            "the trial they would pick alone.</p>"
        )
        body.append(
            _html_table(
                ["Candidate"] + list(t.columns),
                [
                    [f"#{i}" + (" (compromise)" if i == r.regret.compromise else "")] + list(row)
                    for i, row in t.iterrows()
                ],
            )
        )
        body.append("<p>Own picks: " + esc(", ".join(f"{k}: #{v}" for k, v in r.regret.picks.items())) + "</p>")
    else:
        body.append(f"<p>{esc(r.regret_note or 'No regret table.')}</p>")
    body.append("<h2>Votes</h2>")
    if r.tally is not None and len(r.tally):
        body.append(
            _html_table(
                ["Candidate", "Approvals", "Rejections", "Borda", "First choices"],
                [[f"#{i}", *(str(int(v)) for v in row)] for i, row in r.tally.iterrows()],
            )
        )
    else:
        body.append("<p>No votes recorded.</p>")
    if r.votes is not None and len(r.votes):
        body.append(
            _html_table(
                ["Ballot", "Voter", "Trial", "Approves", "Rank"],
                [
                    [
                        v["kind"],
                        v["voter"],
                        f"#{int(v['trial_number'])}",
                        "" if pd.isna(v["approve"]) else ("yes" if v["approve"] else "no"),
                        "" if pd.isna(v["position"]) else str(int(v["position"]) + 1),
                    ]
                    for _, v in r.votes.iterrows()
                ],
            )
        )
    if r.comments:
        body.append("<h3>Comments</h3>")
        for c in r.comments:
            about = f" on #{c.trial_number}" if c.trial_number is not None else ""
            body.append(
                f"<p><b>{esc(c.author)}</b>{esc(about)} <span class='muted'>{esc(c.at)}</span></p>"
                f"<blockquote>{esc(c.text)}</blockquote>"
            )
    rows = metric_rows(data)
    body += [
        "<h2>Chosen model</h2>",
        _html_table(
            ["Metric", "Objective", "Owner", "Search (CV mean ± std)", "Held-out test", "Limit", "Status"],
            [[x["metric"], x["objective"], x["owner"], x["search"], x["test"], x["limit"], x["status"]] for x in rows],
        ),
        "<p>Parameters: " + esc(", ".join(f"{k} = {v}" for k, v in data.params.items())) + "</p>",
        "<h2>Fairness per group (test part)</h2>",
        charts.get("fairness", ""),
    ]
    g = data.groups_test
    if g is not None and not g.empty:
        body.append(
            _html_table(
                list(g.columns),
                [[(f"{v:.3f}" if isinstance(v, float) else v) for v in row] for row in g.itertuples(index=False)],
            )
        )
    body += [
        "<h2>Permutation importance</h2>",
        charts.get("importance", "") or f"<p>{esc(data.importance_note or 'Not computed.')}</p>",
    ]
    if data.verdict:
        body += ["<h2>Ensembles versus simple models</h2>", f"<p>{esc(data.verdict)}</p>"]
    if data.onnx:
        body += ["<h2>Serving (ONNX)</h2>", f"<p>{esc(_onnx_line(data.onnx))}</p>"]
    body.append("<h2>Model card</h2>")
    for title, lines in _card(data).items():
        body.append(f"<h3>{esc(title)}</h3><ul>" + "".join(f"<li>{esc(x)}</li>" for x in lines) + "</ul>")
    if data.versions:
        body.append("<h3>Library versions</h3>" + _html_table(["Library", "Version"], list(data.versions.items())))
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{esc(data.study_name)} – trial #{data.trial_number}</title>"
        f"<style>{_CSS}</style></head><body>" + "\n".join(body) + "</body></html>"
    )


def front_of(frame: pd.DataFrame, spec: Spec) -> tuple[pd.DataFrame, int | None]:
    """The study's feasible Pareto front and its knee (trial number)."""
    pf = front_mod.front(frame, spec.objective_names)
    try:
        knee = front_mod.knee_index(pf, spec.objective_names)
    except Exception:  # a degenerate front (one objective constant) has no knee
        knee = None
    return pf, knee
