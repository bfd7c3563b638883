"""Which two models to compare: per-class Pareto fronts and the best trial of each class.

Ranked on search-time (cross-validated) values among trials that meet every hard limit, never on
the test part, so choosing the pair does not peek at the rows the comparison is judged on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core import objectives as obj
from core.decide import front as fr
from core.decide.compare._constants import KLASS_RANK
from core.spec import Spec


def primary_metric(spec: Spec) -> str:
    """The spec's first quality objective (what "better" means first); ROC AUC when it has none."""
    for name in spec.objective_names:
        if obj.get(name).group == "quality":
            return name
    return "roc_auc"


def class_fronts(frame: pd.DataFrame, spec: Spec) -> dict[str, pd.DataFrame]:
    """The Pareto front of each complexity class among trials that meet every hard limit.

    Separate fronts show what each class can reach on its own; overlaying them shows where (if
    anywhere) complexity buys a better trade-off.
    """
    names = spec.objective_names
    out: dict[str, pd.DataFrame] = {}
    if frame.empty:
        return out
    for klass in KLASS_RANK:
        part = frame[frame["family_class"] == klass]
        if len(part):
            f = fr.front(part, names)
            if len(f):
                out[klass] = f
    return out


def best_of_class(frame: pd.DataFrame, spec: Spec, metric: str | None = None) -> dict[str, int]:
    """Trial number of the best feasible trial of each class on ``metric`` (search-time value)."""
    metric = metric or primary_metric(spec)
    sign = obj.get(metric).sign
    out: dict[str, int] = {}
    if frame.empty or metric not in frame:
        return out
    ok = frame[(frame["state"] == "COMPLETE") & frame["feasible"].astype(bool)]
    for klass in KLASS_RANK:
        part = ok[(ok["family_class"] == klass) & np.isfinite(ok[metric].astype(float))]
        if len(part):
            loss = part[metric].astype(float) * sign
            out[klass] = int(part.loc[loss.idxmin(), "number"])
    return out


@dataclass(frozen=True)
class DefaultPair:
    challenger: int | None
    baseline: int | None
    metric: str
    note: str

    @property
    def complete(self) -> bool:
        return self.challenger is not None and self.baseline is not None


def _pair_note(baseline: int | None, challenger: int | None, metric: str) -> str:
    if baseline is None and challenger is None:
        return "No finished trial meets the hard limits yet."
    if baseline is None:
        return "No simple model meets the hard limits: add a simple family or relax a limit."
    if challenger is None:
        return "No complex or ensemble model meets the hard limits: there is nothing to weigh."
    return f"Best of each side by {obj.get(metric).label} (cross-validated), among trials that hold the hard limits in search."


def default_pair(frame: pd.DataFrame, spec: Spec) -> DefaultPair:
    """Best ensemble-or-complex trial vs best simple trial under the hard limits.

    When one side is missing the note says why, so the page can tell the room what to search next.
    """
    metric = primary_metric(spec)
    best = best_of_class(frame, spec, metric)
    baseline = best.get("simple")
    rivals = [best[k] for k in ("ensemble", "complex") if k in best]
    challenger = None
    if rivals:
        vals = frame.set_index("number").loc[rivals, metric].astype(float) * obj.get(metric).sign
        challenger = int(vals.idxmin())
    return DefaultPair(challenger, baseline, metric, _pair_note(baseline, challenger, metric))


def complexity_order(a_klass: str, a_size: float, b_klass: str, b_size: float) -> bool:
    """True when model a is the more complex one (class first, then serialised size)."""
    ka, kb = KLASS_RANK.get(a_klass, 1), KLASS_RANK.get(b_klass, 1)
    return ka > kb or (ka == kb and a_size >= b_size)
