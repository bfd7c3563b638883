"""The method registry: every ranking method under one name, with its plain label and its adapters.

The Decide page, the room's text view and the stakeholder cards all list methods from here, so a
method added once appears everywhere, in the same order, with the same label.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from core.decide.mcdm._methods import chebyshev, knee, lexicographic, topsis, weighted_sum
from core.decide.mcdm._ranking import Ranking

if TYPE_CHECKING:
    from core.decide.mcdm._stakeholders import Stakeholder

Weights = Mapping[str, float] | None


@dataclass(frozen=True)
class Method:
    """One ranking method.

    ``side_by_side`` ranks with the weights every method shares on the Decide page (lexicographic:
    in the objectives' order); ``for_stakeholder`` ranks by one stakeholder's preferences (weights
    over every objective, their aspirations), or is None where a stakeholder cannot choose by it.
    """

    name: str
    label: str
    side_by_side: Callable[[pd.DataFrame, Mapping[str, str], Weights], Ranking]
    for_stakeholder: Callable[[pd.DataFrame, Mapping[str, str], dict[str, float], Stakeholder], Ranking] | None


def _lexicographic_for(points: pd.DataFrame, directions: Mapping[str, str], weights: dict[str, float], s: Stakeholder):
    """Their objectives by falling weight first, then everyone else's in column order."""
    owned = sorted(s.objectives, key=lambda n: -weights[n])
    return lexicographic(points, directions, owned + [c for c in points.columns if c not in owned])


_METHODS = (
    Method(
        "weighted_sum",
        "Weighted sum",
        weighted_sum,
        lambda p, d, w, s: weighted_sum(p, d, w),
    ),
    Method(
        "chebyshev",
        "Chebyshev (reference point)",
        chebyshev,
        lambda p, d, w, s: chebyshev(p, d, w, s.aspirations or None),
    ),
    Method("topsis", "TOPSIS", topsis, lambda p, d, w, s: topsis(p, d, w)),
    Method(
        "lexicographic",
        "Lexicographic",
        lambda p, d, w: lexicographic(p, d, list(p.columns)),
        _lexicographic_for,
    ),
    Method("knee", "Knee (maximum trade-off)", lambda p, d, w: knee(p, d), None),
)

#: name → method, in the order the page shows them
METHODS: dict[str, Method] = {m.name: m for m in _METHODS}
#: name → display name
METHOD_LABELS: dict[str, str] = {m.name: m.label for m in _METHODS}
#: the methods a stakeholder can choose by (the knee has no preferences to express)
STAKEHOLDER_METHODS: tuple[str, ...] = tuple(m.name for m in _METHODS if m.for_stakeholder is not None)


def rank_all(points: pd.DataFrame, directions: Mapping[str, str], weights: Weights = None) -> dict[str, Ranking]:
    """Every method with the same weights, in registry order: for a side-by-side view."""
    return {m.name: m.side_by_side(points, directions, weights) for m in _METHODS}
