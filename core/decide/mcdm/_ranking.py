"""A method's result (:class:`Ranking`) and the sentence that explains it, in the metrics' units.

How a sentence names a point and states value: the caller may put ``points.attrs["names"]``
(index → plain label, e.g. ``"#12 Logistic regression at threshold 0.41"``) and
``points.attrs["value_model"]`` (the spec's, so unpriced value reads in utility units, never €) on
the points it ranks; pandas carries ``attrs`` through the methods' arithmetic, so every method's
signature stays the textbook one. Without them a point is "Trial 12" and value uses the registry.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from core.objectives import REGISTRY

Better = Literal["lower", "higher"]
Key = Any  # a row of the points: a trial number (int) or an option key ("12", "12@3")


def as_key(raw: Hashable) -> Key:
    """An index label as a plain Python value: NumPy integers become ``int``, keys stay strings."""
    return int(raw) if isinstance(raw, (int, np.integer)) else raw


def name(points: pd.DataFrame, key: Key, *, lower: bool = False, bare: bool = False) -> str:
    """How a sentence names one point: its label from ``points.attrs["names"]``, else "Trial 12"
    ("trial 12" with ``lower``, "12" with ``bare``, as after "the extreme trials")."""
    names = points.attrs.get("names") or {}
    if key in names:
        return str(names[key])
    return str(key) if bare else f"{'trial' if lower else 'Trial'} {key}"


@dataclass(frozen=True)
class Ranking:
    """The outcome of one method.

    ``scores`` is indexed like the points (trial number or option key) and sorted best-first; ``better`` says whether the method's
    score is better when lower (distances, weighted losses, rank positions) or higher (TOPSIS
    closeness, knee distance), so a UI can label the column correctly. ``why`` is one sentence for a
    meeting, with the winner's values in their units.
    """

    method: str
    scores: pd.Series
    winner: Key
    why: str
    better: Better = "lower"


def label(name: str) -> str:
    metric = REGISTRY.get(str(name))
    return metric.label if metric else str(name)


def fmt(name: str, value: float, value_model: Any = None) -> str:
    """A value in the metric's own unit (registry formatting), or plain for unknown metrics; with the
    spec's ``value_model``, unpriced net value reads in utility units, not € (:func:`display_metric`)."""
    metric = REGISTRY.get(str(name))
    if metric is None:
        return f"{value:.4g}"
    if value_model is not None:
        from core.metrics import display_metric

        metric = display_metric(metric, value_model)
    return metric.fmt(value)


def describe(points: pd.DataFrame, trial: Key, names: Iterable[str] | None = None) -> str:
    names = list(points.columns) if names is None else list(names)
    vm = points.attrs.get("value_model")
    return ", ".join(f"{label(n)} {fmt(n, float(points.at[trial, n]), vm)}" for n in names)


def order_best_first(scores: pd.Series, tiebreak: pd.Series, better: Better) -> pd.Series:
    """Sort best-first; ties fall to ``tiebreak`` (lower better), then to the trial number.

    Why a tiebreak: equal scores happen (zero weights, constant columns) and the winner must then
    be the point that is best overall, not whichever came first in the table.
    """
    key = scores if better == "lower" else -scores
    frame = pd.DataFrame({"k": key.round(12), "t": tiebreak.round(12), "i": scores.index})
    order = frame.sort_values(["k", "t", "i"], kind="mergesort").index
    return scores.loc[order]


def with_weights(why: str, weights: pd.Series) -> str:
    shown = ", ".join(f"{label(n)} {w:.0%}" for n, w in weights.items() if w >= 0.005)
    return f"{why} (weights: {shown})"
