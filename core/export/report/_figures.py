"""The report's figures: the pages' own (:mod:`core.viz`), fed from the report's data, so the
front in report.html is the front the room looked at in the explorer."""

from __future__ import annotations

import plotly.graph_objects as go

from core import objectives as obj
from core import viz
from core.export.report._data import ReportData
from core.metrics import with_intervals

GROUP_METRICS = ("selection_rate", "recall", "precision", "accuracy")


def front_figure(data: ReportData) -> go.Figure:
    """All finished trials faded, the front bold, knee and chosen trial marked (first two objectives;
    :func:`parallel_figure` shows the front over every objective when there are three or more)."""
    names = data.spec.objective_names
    x, y = names[0], names[1] if len(names) > 1 else names[0]
    done = data.frame[data.frame["state"] == "COMPLETE"]
    points = done.assign(on_front=done["number"].isin(data.front["number"]))
    return viz.scatter_2d(
        points,
        x,
        y,
        limits={o.name: o.limit for o in data.spec.objectives},
        knee=data.knee,
        selected=data.trial_number,
        selected_name=f"chosen #{data.trial_number}",
        title=f"Trials: {obj.get(x).label} vs {obj.get(y).label}",
    )


def parallel_figure(data: ReportData) -> go.Figure | None:
    """Parallel coordinates of the front over every objective (None for fewer than 3)."""
    names = data.spec.objective_names
    if len(names) < 3 or data.front.empty:
        return None
    return viz.parallel_coordinates(
        data.front.assign(on_front=True),
        names,
        highlight=data.trial_number,
        title="Pareto front over all objectives (chosen trial in red)",
    )


def fairness_figure(data: ReportData) -> go.Figure | None:
    """Per-group rates of the chosen model on the held-out test part (None without groups)."""
    g = data.groups_test
    if g is None or g.empty:
        return None
    return viz.group_metrics(
        with_intervals(g, min_rows=data.spec.data.min_group_rows),
        metrics=GROUP_METRICS,
        title="Per-group results on the held-out test part (95 % Wilson intervals)",
    )


def importance_figure(data: ReportData) -> go.Figure | None:
    """Permutation importance of the chosen model, top 15 columns (None when not computed)."""
    imp = data.importance
    if imp is None or imp.empty:
        return None
    explanation = {"label": data.label, "importance": {"scoring": "roc_auc", "rows": imp.to_dict("records")}}
    return viz.importance_bars(
        [explanation], top=15, title="Permutation importance (drop in test ROC AUC when a column is shuffled)"
    )


def figures(data: ReportData) -> dict[str, go.Figure]:
    """The report's figures by name, leaving out those with nothing to show."""
    made = {
        "front": front_figure(data),
        "parallel": parallel_figure(data),
        "fairness": fairness_figure(data),
        "importance": importance_figure(data),
    }
    return {name: fig for name, fig in made.items() if fig is not None}
