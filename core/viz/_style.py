"""The look every figure shares: fixed colours per family, class and verdict, layouts, axis titles.

Why one module: the same model must have the same colour on every page and in the report, and an
axis title must read the same everywhere (label, unit, which way is better). Every string that came
from a person or from the data goes through :func:`label` (core._text.esc), since Plotly renders
HTML in labels, legends and hover text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from core import catalog
from core import objectives as obj
from core._text import esc

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
FAMILY_COLORS: dict[str, str] = {name: SAFE[i % len(SAFE)] for i, name in enumerate(catalog.FAMILY_NAMES)}
CLASS_COLORS: dict[str, str] = {"simple": "#0072B2", "complex": "#E69F00", "ensemble": "#CC79A7"}
VERDICT_COLORS = {
    "significantly better": "#1A9850",
    "no significant difference": "#7F7F7F",
    "significantly worse": "#D73027",
}
MODEL_COLORS = ["#0072B2", "#E69F00", "#CC79A7", "#009E73", "#56B4E9", "#D55E00"]
GREY = "#7F7F7F"
LIMIT_COLOR = "#C0392B"
KNEE_COLOR = "#111111"
CHOSEN_COLOR = "#E4003A"
#: Where titles and legends go on every figure: the title at the top of the figure, the legend at
#: its bottom (both in container coordinates, so Plotly reserves margin for each and they never
#: overlap each other, the plot, its axis titles or subplot titles, whatever the width).
TITLE: dict[str, Any] = dict(yref="container", y=1.0, yanchor="top", pad=dict(t=12), automargin=True)
LEGEND: dict[str, Any] = dict(orientation="h", yref="container", y=0.0, yanchor="bottom", x=0.0, xanchor="left")
#: Tick labels and axis titles push the margins themselves: without a template (the app's theme
#: has none of its own) Plotly would draw them into a 10 px margin, cut off or under the legend.
AXES: dict[str, Any] = dict(xaxis_automargin=True, yaxis_automargin=True)
#: No template: st.plotly_chart applies the app's theme, and a template costs ~0.1 s per figure to copy.
LAYOUT: dict[str, Any] = dict(margin=dict(l=10, r=10, t=30, b=10), legend=LEGEND, **AXES)
#: Figures of decision data (Compare) use a white template: they are read as printed charts.
WHITE_LAYOUT: dict[str, Any] = dict(template="plotly_white", margin=dict(l=10, r=10, t=30, b=10), legend=LEGEND, **AXES)


def fit_axes(fig: Any) -> Any:
    """Every axis of a figure with subplots pushes the margins too (see :data:`AXES`)."""
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


def titled(text: Any) -> dict[str, Any] | None:
    """A figure title placed by :data:`TITLE` (escaped), or None for no title."""
    return None if text is None or text == "" else dict(text=label(text), **TITLE)


def label(value: Any) -> str:
    """User or data text made safe for a Plotly label, legend or hover line (the one escaper)."""
    return esc(value)


def arrow(name: str) -> str:
    """``↑`` or ``↓``: which way is better for one metric."""
    return "↑" if obj.get(name).direction == "maximize" else "↓"


def axis_title(name: str, unit: str | None = None) -> str:
    """``ROC AUC (score, ↑ better)``: the label, the unit (``unit`` when the axis is rescaled, see
    :func:`scale_of`) and the direction of one metric."""
    m = obj.get(name)
    return f"{m.label} ({unit or m.unit}, {arrow(name)} better)"


_BYTE_UNITS = (("GB", 1024.0**3), ("MB", 1024.0**2), ("kB", 1024.0), ("B", 1.0))


def scale_of(name: str, values: Any) -> tuple[float, str]:
    """(factor, unit) to draw a metric in: sizes in the largest of B/kB/MB/GB that keeps the
    biggest value at or above one, so an axis reads "2.5 MB", never "2,621,440 bytes"; any other
    metric as it is stored."""
    m = obj.get(name)
    if m.unit != "bytes":
        return 1.0, m.unit
    finite = [abs(float(v)) for v in np.asarray(values, dtype=float).ravel() if np.isfinite(v)]
    top = max(finite, default=0.0)
    unit, size = next(((u, f) for u, f in _BYTE_UNITS if top >= f), ("B", 1.0))
    return 1.0 / size, unit


def scaled(frame: pd.DataFrame, names: Sequence[str]) -> tuple[pd.DataFrame, dict[str, str], dict[str, float]]:
    """The frame with each metric in ``names`` in its drawing unit (:func:`scale_of`), the units
    and the factors (to scale limits alike).

    The frame is copied only when a column is rescaled; trial numbers and every other column stay.
    """
    units: dict[str, str] = {}
    factors: dict[str, float] = {}
    for n in dict.fromkeys(names):
        factors[n], units[n] = scale_of(n, frame.get(n, ()))
    return rescale(frame, factors), units, factors


def rescale(frame: pd.DataFrame, factors: Mapping[str, float]) -> pd.DataFrame:
    """The frame with each column in ``factors`` multiplied by its factor (a copy only if one changes)."""
    changed = {n: f for n, f in factors.items() if f != 1.0 and n in frame}
    return frame.assign(**{n: frame[n].astype(float) * f for n, f in changed.items()}) if changed else frame


def metric_label(name: Any) -> str:
    """A catalogue metric's label, or the (escaped) name of anything else."""
    metric = obj.REGISTRY.get(str(name))
    return metric.label if metric else label(name)


def color_of(key: Any, color_by: str) -> str:
    """The fixed colour of a family (``color_by="family"``) or a class (``"family_class"``)."""
    table = FAMILY_COLORS if color_by == "family" else CLASS_COLORS
    return table.get(str(key), GREY)


def group_label(key: Any, color_by: str) -> str:
    """A legend entry: the family's plain label, or the class name; escaped."""
    return label(family_label(key) if color_by == "family" else key)


def family_label(family: Any) -> str:
    """A family's plain name from the catalogue ("Histogram gradient boosting"), or the text given
    for a family the catalogue does not know; not escaped (pass it through :func:`label`)."""
    info = catalog.FAMILIES.get(str(family))
    return info.label if info else str(family)


def trial_label(number: Any, family: Any = None) -> str:
    """``#15 Histogram gradient boosting``: how every figure and table names a trial; not escaped."""
    head = f"#{int(number)}"
    return f"{head} {family_label(family)}" if family not in (None, "") else head


def model_color(k: int) -> str:
    """The colour of the k-th model compared on one chart."""
    return MODEL_COLORS[k % len(MODEL_COLORS)]
