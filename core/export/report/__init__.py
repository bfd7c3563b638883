"""decision.md and a self-contained report.html for an exported configuration.

Owns what the report shows (ReportData, the room's summary) and its rendering from Jinja2 templates.

decision.md is what goes into a ticket or a pull request (readable as text, diffable); report.html
is what the room looks at again in three months, offline: the front, the shortlist, the regret
table, the votes and the rationale, next to the chosen model's metrics, per-group fairness,
permutation importance and a model card. Plotly's JavaScript is inlined once, so the file opens
without network access.
"""

from core.decide.room_lock import room_lock
from core.export.report._data import (
    INTENDED_USE,
    ReportData,
    decision_line,
    fmt,
    front_of,
    limitations,
    metric_rows,
    model_card,
    onnx_line,
    permutation_importance,
)
from core.export.report._figures import fairness_figure, figures, front_figure, importance_figure, parallel_figure
from core.export.report._render import decision_markdown, report_html
from core.export.report._room import RoomSummary, room_summary

__all__ = [
    "INTENDED_USE",
    "ReportData",
    "RoomSummary",
    "decision_line",
    "decision_markdown",
    "fairness_figure",
    "figures",
    "fmt",
    "front_figure",
    "front_of",
    "importance_figure",
    "limitations",
    "metric_rows",
    "model_card",
    "onnx_line",
    "parallel_figure",
    "permutation_importance",
    "report_html",
    "room_lock",
    "room_summary",
]
