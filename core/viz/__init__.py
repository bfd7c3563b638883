"""Every Plotly figure, as pure functions of plain data (frames, dicts, the JSON form of results).

Used by the pages and the HTML report alike, so a figure has one implementation; never imports streamlit.
"""

from core.viz._compare import cascade_curve, class_fronts, forest, front_points, ratios
from core.viz._curve import curve_figure, trial_curve
from core.viz._data import class_balance, group_bars
from core.viz._decide import radar, regret_heatmap, tally_bar
from core.viz._explain import importance_bars, partial_dependence
from core.viz._fairness import fairness_bars, group_metrics
from core.viz._pareto import GL_THRESHOLD, parallel_coordinates, scatter_2d, scatter_3d, scatter_matrix
from core.viz._search import hypervolume_chart, trial_timeline
from core.viz._studies import two_studies
from core.viz._style import (
    CLASS_COLORS,
    FAMILY_COLORS,
    MODEL_COLORS,
    VERDICT_COLORS,
    axis_title,
    color_of,
    family_label,
    label,
    scale_of,
    trial_label,
)

__all__ = [
    "CLASS_COLORS",
    "FAMILY_COLORS",
    "GL_THRESHOLD",
    "MODEL_COLORS",
    "VERDICT_COLORS",
    "axis_title",
    "cascade_curve",
    "class_balance",
    "class_fronts",
    "color_of",
    "fairness_bars",
    "family_label",
    "forest",
    "front_points",
    "group_bars",
    "group_metrics",
    "hypervolume_chart",
    "importance_bars",
    "label",
    "parallel_coordinates",
    "partial_dependence",
    "radar",
    "ratios",
    "regret_heatmap",
    "scatter_2d",
    "scatter_3d",
    "scale_of",
    "scatter_matrix",
    "tally_bar",
    "trial_label",
    "trial_curve",
    "trial_timeline",
    "curve_figure",
    "two_studies",
]
