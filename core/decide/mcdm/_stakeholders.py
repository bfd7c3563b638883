"""Stakeholders: one party's preferences, the trial they would pick alone, and the shortlist."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from core.decide.mcdm._normalise import check_points, normalised_weights
from core.decide.mcdm._ranking import Key, Ranking, as_key
from core.decide.mcdm._ranking import name as point_name
from core.decide.mcdm._registry import METHODS, STAKEHOLDER_METHODS
from core.errors import UserInputError

#: Weight given to objectives a stakeholder does not own. Not zero: with a zero weight, two trials
#: equal on what the stakeholder cares about tie, and the tie could fall on a dominated one.
EPSILON_WEIGHT = 1e-6

# every method's winner with equal weights, except lexicographic (see :func:`shortlist`)
_SHORTLIST_METHODS = ("weighted_sum", "chebyshev", "topsis", "knee")


@dataclass(frozen=True)
class Stakeholder:
    """One party in the room and how they would choose on their own.

    ``objectives`` are the objectives they own (care about). ``weights`` may only name those; an
    empty ``weights`` means equal weights over what they own. ``aspirations`` are target values in
    the metric's own units (e.g. ``{"latency_p95_ms": 20}``) and make the default method the
    reference-point (Chebyshev) one, because "get me as close as possible to 20 ms" is what an
    aspiration means. ``method=None`` picks that default.
    """

    name: str
    objectives: tuple[str, ...]
    weights: Mapping[str, float] = field(default_factory=dict)
    aspirations: Mapping[str, float] = field(default_factory=dict)
    method: str | None = None

    def __post_init__(self) -> None:
        name = (self.name or "").strip()
        if not name:
            raise UserInputError("A stakeholder needs a name.", field="stakeholder")
        object.__setattr__(self, "name", name)
        objectives = tuple(self.objectives) if not isinstance(self.objectives, str) else (self.objectives,)
        if not objectives:
            raise UserInputError(
                f"Stakeholder {name!r} owns no objective; pick at least one they care about.",
                field="objectives",
            )
        if len(set(objectives)) != len(objectives):
            raise UserInputError(
                f"Stakeholder {name!r} lists an objective twice: {', '.join(objectives)}.",
                field="objectives",
            )
        object.__setattr__(self, "objectives", objectives)
        for kind, mapping in (("weights", self.weights), ("aspirations", self.aspirations)):
            for key in mapping:
                if key not in objectives:
                    raise UserInputError(
                        f"Stakeholder {name!r} has {kind[:-1]} on {key!r}, which they do not own; "
                        f"add it to their objectives ({', '.join(objectives)}) or remove it.",
                        field=kind,
                    )
        object.__setattr__(self, "weights", dict(self.weights))
        object.__setattr__(self, "aspirations", dict(self.aspirations))
        method = self.method or ("chebyshev" if self.aspirations else "weighted_sum")
        if method not in STAKEHOLDER_METHODS:
            raise UserInputError(
                f"Stakeholder {name!r}: unknown method {method!r}. Allowed: {', '.join(STAKEHOLDER_METHODS)}.",
                field="method",
            )
        object.__setattr__(self, "method", method)

    def __hash__(self) -> int:  # dict fields are not hashable; identity by name and content
        return hash(
            (
                self.name,
                self.objectives,
                tuple(sorted(self.weights.items())),
                tuple(sorted(self.aspirations.items())),
                self.method,
            )
        )


def _stakeholder_weights(points: pd.DataFrame, stakeholder: Stakeholder) -> dict[str, float]:
    """Their weights on what they own, EPSILON_WEIGHT on everything else (keeps picks Pareto-optimal)."""
    for name in stakeholder.objectives:
        if name not in points.columns:
            raise UserInputError(
                f"Stakeholder {stakeholder.name!r} owns {name!r}, which is not an objective of "
                f"this front ({', '.join(map(str, points.columns))}); update their objectives.",
                field="objectives",
            )
    own = normalised_weights(points[list(stakeholder.objectives)], stakeholder.weights)
    return {c: (float(own[c]) if c in own.index else EPSILON_WEIGHT) for c in points.columns}


def stakeholder_pick(points: pd.DataFrame, directions: Mapping[str, str], stakeholder: Stakeholder) -> Ranking:
    """The point this stakeholder would choose alone, by their own method and preferences."""
    check_points(points, directions)
    weights = _stakeholder_weights(points, stakeholder)
    rank = METHODS[stakeholder.method or "weighted_sum"].for_stakeholder
    assert rank is not None  # __post_init__ admits only STAKEHOLDER_METHODS
    ranking = rank(points, directions, weights, stakeholder)
    why = f"{stakeholder.name} would pick {point_name(points, ranking.winner, lower=True)}: {ranking.why}"
    return Ranking(ranking.method, ranking.scores, ranking.winner, why, ranking.better)


def shortlist(points: pd.DataFrame, directions: Mapping[str, str], stakeholders: Sequence[Stakeholder]) -> list[Key]:
    """Candidates worth discussing: each stakeholder's pick, each method's winner, and the knee.

    Order is stable (stakeholders first, in the order given; then weighted sum, Chebyshev and TOPSIS
    with equal weights; then the knee) and duplicates are dropped. Lexicographic is left out here
    because without a stated priority order its winner is just "best on the first column".
    """
    picks = [stakeholder_pick(points, directions, s).winner for s in stakeholders]
    picks += [METHODS[m].side_by_side(points, directions, None).winner for m in _SHORTLIST_METHODS]
    return list(dict.fromkeys(as_key(p) for p in picks))
