"""Multi-criteria decision making (MCDM) over a Pareto set: who would pick which trial, and why.

A Pareto front does not choose a model; people do. This module turns preferences (weights,
aspiration levels, a priority order) into a ranked list of trials with a one-sentence reason, so a
room can compare "what Product would pick" with "what Legal would pick" and look for a compromise.

Conventions used everywhere here:

* ``points`` is a :class:`pandas.DataFrame`; its index is the Optuna trial number and its columns
  are objective names (usually keys of :data:`core.objectives.REGISTRY`, but any name works).
* ``directions`` maps every column to ``"minimize"`` or ``"maximize"``.
* Weights are ``{objective: float >= 0}``; objectives left out weigh 0; they are normalised to sum 1.
* Every method works in the *normalised* space of :func:`normalise` (0 = best, 1 = worst over the
  set), so a millisecond and an AUC point can be traded off at all. TOPSIS is the exception: it uses
  its own classic vector normalisation, so it can be checked against textbook examples.

Nothing here imports streamlit or touches a database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from core.errors import UserInputError
from core.objectives import REGISTRY

Better = Literal["lower", "higher"]

#: Augmentation factor of the achievement scalarizing function: small enough not to change the pick
#: between clearly different points, large enough to prefer a Pareto-optimal point over a weakly
#: dominated one that has the same worst weighted deviation.
RHO = 1e-6

#: Weight given to objectives a stakeholder does not own. Not zero: with a zero weight, two trials
#: equal on what the stakeholder cares about tie, and the tie could fall on a dominated one.
EPSILON_WEIGHT = 1e-6

METHODS = ("weighted_sum", "chebyshev", "topsis", "lexicographic", "knee")
STAKEHOLDER_METHODS = ("weighted_sum", "chebyshev", "topsis", "lexicographic")

_VALID_DIRECTIONS = ("minimize", "maximize")


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ranking:
    """The outcome of one method.

    ``scores`` is indexed by trial number and sorted best-first; ``better`` says whether the method's
    score is better when lower (distances, weighted losses, rank positions) or higher (TOPSIS
    closeness, knee distance), so a UI can label the column correctly. ``why`` is one sentence for a
    meeting, with the winner's values in their units.
    """

    method: str
    scores: pd.Series
    winner: int
    why: str
    better: Better = "lower"


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


@dataclass(frozen=True)
class Regret:
    """What each stakeholder gives up, per candidate, versus the trial they would pick alone.

    * ``normalised``: rows = candidates, columns = stakeholders; the largest normalised loss
      (share of the objective's range over the set, clipped at 0) over the objectives they own.
    * ``in_units``: same shape, a readable string per cell, e.g.
      ``"Latency p95: +7.40 ms worse; ROC AUC: −0.0100 better"``.
    * ``losses``: rows = candidates, columns = (stakeholder, objective) MultiIndex; the signed loss
      in the metric's units (positive = worse for that stakeholder).
    * ``picks``: each stakeholder's own pick.
    * ``compromise``: the candidate with the smallest maximum regret (ties: smallest total regret,
      then shortlist order).
    """

    normalised: pd.DataFrame
    in_units: pd.DataFrame
    losses: pd.DataFrame
    picks: dict[str, int]
    compromise: int


# ---------------------------------------------------------------------------------------------
# Validation helpers
# ---------------------------------------------------------------------------------------------


def _check(points: pd.DataFrame, directions: Mapping[str, str]) -> pd.DataFrame:
    """Refuse inputs that would give a silently wrong ranking; return the points as floats."""
    if not isinstance(points, pd.DataFrame):
        raise UserInputError("points must be a table of trials (rows) by objectives (columns).")
    if points.empty or len(points.columns) == 0:
        raise UserInputError(
            "There are no trials to choose from; run the search or relax the hard limits first.",
            field="points",
        )
    if not points.index.is_unique:
        raise UserInputError("Each trial may appear only once in the Pareto set.", field="points")
    for col in points.columns:
        if col not in directions:
            raise UserInputError(
                f"No direction for objective {col!r}; say whether it is minimised or maximised.",
                field="directions",
            )
        if directions[col] not in _VALID_DIRECTIONS:
            raise UserInputError(
                f"Direction of {col!r} is {directions[col]!r}; use 'minimize' or 'maximize'.",
                field="directions",
            )
    try:
        values = points.astype(float)
    except (TypeError, ValueError):
        raise UserInputError("Objective values must be numbers.", field="points") from None
    bad = values.columns[~np.isfinite(values.to_numpy()).all(axis=0)]
    if len(bad):
        raise UserInputError(
            f"Objective {bad[0]!r} has missing or infinite values; drop those trials first.",
            field="points",
        )
    return values


def _sign(direction: str) -> float:
    """+1 for minimise, -1 for maximise: multiplying turns every objective into a loss."""
    return 1.0 if direction == "minimize" else -1.0


def _weights(points: pd.DataFrame, weights: Mapping[str, float] | None) -> pd.Series:
    """Validate weights and return them aligned to the columns, summing to 1.

    ``None`` or an empty mapping means equal weights. Each error names the objective at fault.
    """
    cols = list(points.columns)
    if not weights:
        return pd.Series(1.0 / len(cols), index=cols)
    out = pd.Series(0.0, index=cols)
    for name, raw in weights.items():
        if name not in out.index:
            raise UserInputError(
                f"Weight given for {name!r}, which is not an objective here. Objectives: {', '.join(map(str, cols))}.",
                field="weights",
            )
        try:
            w = float(raw)
        except (TypeError, ValueError):
            raise UserInputError(f"Weight for {name!r} must be a number, got {raw!r}.", field="weights") from None
        if not np.isfinite(w):
            raise UserInputError(f"Weight for {name!r} must be a finite number.", field="weights")
        if w < 0:
            raise UserInputError(
                f"Weight for {name!r} is negative ({w:g}); weights must be 0 or more "
                "(to prefer the other direction, change the objective's direction instead).",
                field="weights",
            )
        out[name] = w
    total = float(out.sum())
    if total <= 0:
        raise UserInputError(
            f"All weights are zero ({', '.join(map(str, cols))}); give at least one objective a positive weight.",
            field="weights",
        )
    return out / total


def check_weights(objectives: Sequence[str], weights: Mapping[str, float] | None) -> dict[str, float]:
    """Validate weights over ``objectives`` and return them normalised to sum 1.

    Public so a form (or the room store) can refuse bad weights when they are typed, with the same
    message a ranking would give later: negative, non-numeric, all zero, or an unknown objective.
    """
    frame = pd.DataFrame(columns=list(objectives))
    return {str(k): float(v) for k, v in _weights(frame, weights).items()}


def _label(name: str) -> str:
    metric = REGISTRY.get(str(name))
    return metric.label if metric else str(name)


def _fmt(name: str, value: float) -> str:
    """A value in the metric's own unit (registry formatting), or plain for unknown metrics."""
    metric = REGISTRY.get(str(name))
    return metric.fmt(value) if metric else f"{value:.4g}"


def _describe(points: pd.DataFrame, trial: int, names: Iterable[str] | None = None) -> str:
    names = list(points.columns) if names is None else list(names)
    return ", ".join(f"{_label(n)} {_fmt(n, float(points.at[trial, n]))}" for n in names)


def _order(scores: pd.Series, tiebreak: pd.Series, better: Better) -> pd.Series:
    """Sort best-first; ties fall to ``tiebreak`` (lower better), then to the trial number.

    Why a tiebreak: equal scores happen (zero weights, constant columns) and the winner must then
    be the point that is best overall, not whichever came first in the table.
    """
    key = scores if better == "lower" else -scores
    frame = pd.DataFrame({"k": key.round(12), "t": tiebreak.round(12), "i": scores.index})
    order = frame.sort_values(["k", "t", "i"], kind="mergesort").index
    return scores.loc[order]


def _with_weights(why: str, weights: pd.Series) -> str:
    shown = ", ".join(f"{_label(n)} {w:.0%}" for n, w in weights.items() if w >= 0.005)
    return f"{why} (weights: {shown})"


# ---------------------------------------------------------------------------------------------
# Normalisation
# ---------------------------------------------------------------------------------------------


def normalise(points: pd.DataFrame, directions: Mapping[str, str]) -> pd.DataFrame:
    """Map every objective to [0, 1] where 0 = best and 1 = worst within the given set.

    Direction-aware min-max scaling: for a minimised objective ``(x - min) / (max - min)``, for a
    maximised one ``(max - x) / (max - min)``. A column that is constant over the set carries no
    trade-off, so it becomes 0 for everyone (no division by zero, no influence on any ranking).

    Why over the given set and not over the metric's bounds: the room compares *these* trials, and
    "worst of what we have" is what a stakeholder gives up when they move along the front.
    """
    values = _check(points, directions)
    out = pd.DataFrame(index=values.index, columns=values.columns, dtype=float)
    for col in values.columns:
        loss = values[col] * _sign(directions[col])
        lo, hi = float(loss.min()), float(loss.max())
        out[col] = 0.0 if hi - lo <= 0 else (loss - lo) / (hi - lo)
    return out


def _to_normalised(points: pd.DataFrame, directions: Mapping[str, str], name: str, value: float) -> float:
    """Convert one value in original units into the normalised space of ``points``."""
    loss = points[name].astype(float) * _sign(directions[name])
    lo, hi = float(loss.min()), float(loss.max())
    span = hi - lo if hi - lo > 0 else 1.0
    return (value * _sign(directions[name]) - lo) / span


# ---------------------------------------------------------------------------------------------
# Methods
# ---------------------------------------------------------------------------------------------


def weighted_sum(
    points: pd.DataFrame, directions: Mapping[str, str], weights: Mapping[str, float] | None = None
) -> Ranking:
    """Rank by the weighted sum of normalised losses (lower is better).

    The simplest compensatory rule: a gain on one objective can buy a loss on another at the rate
    the weights set. It can only pick points on the convex hull of the front, which is why the room
    also shows Chebyshev and the knee.
    """
    norm = normalise(points, directions)
    w = _weights(points, weights)
    scores = norm.mul(w, axis=1).sum(axis=1)
    ranked = _order(scores, norm.sum(axis=1), "lower")
    winner = int(ranked.index[0])
    why = (
        f"Trial {winner} has the lowest weighted sum of normalised losses "
        f"({ranked.iloc[0]:.3f}, 0 = best on everything) with {_describe(points, winner)}"
    )
    return Ranking("weighted_sum", ranked, winner, _with_weights(why, w) + ".")


def chebyshev(
    points: pd.DataFrame,
    directions: Mapping[str, str],
    weights: Mapping[str, float] | None = None,
    reference: Mapping[str, float] | None = None,
) -> Ranking:
    """Rank by the augmented weighted Chebyshev (achievement scalarizing) function; lower is better.

    ``s(x) = max_i w_i (n_i(x) - r_i) + RHO * sum_i (n_i(x) - r_i)``, where ``n`` is the normalised
    point and ``r`` the reference point (aspiration levels, given in original units and converted
    into the normalised space; objectives without one, or no reference at all, use the ideal point,
    0). Unlike the weighted sum it can reach points in non-convex parts of the front, and it reads
    as "the trial whose worst weighted shortfall from what we asked for is smallest". The small
    unweighted augmentation term breaks ties towards Pareto-optimal points.
    """
    values = _check(points, directions)
    norm = normalise(values, directions)
    w = _weights(values, weights)
    ref = pd.Series(0.0, index=values.columns)
    for name, raw in (reference or {}).items():
        if name not in ref.index:
            raise UserInputError(
                f"Aspiration given for {name!r}, which is not an objective here. "
                f"Objectives: {', '.join(map(str, values.columns))}.",
                field="aspirations",
            )
        try:
            target = float(raw)
        except (TypeError, ValueError):
            raise UserInputError(
                f"Aspiration for {name!r} must be a number, got {raw!r}.", field="aspirations"
            ) from None
        if not np.isfinite(target):
            raise UserInputError(f"Aspiration for {name!r} must be finite.", field="aspirations")
        ref[name] = _to_normalised(values, directions, name, target)
    dev = norm.sub(ref, axis=1)
    scores = dev.mul(w, axis=1).max(axis=1) + RHO * dev.sum(axis=1)
    ranked = _order(scores, norm.sum(axis=1), "lower")
    winner = int(ranked.index[0])
    target = "the aspiration levels" if reference else "the ideal point"
    worst = dev.loc[winner].mul(w).idxmax()
    why = (
        f"Trial {winner} has the smallest worst weighted shortfall from {target} "
        f"({ranked.iloc[0]:.3f}, tightest on {_label(worst)}) with {_describe(values, winner)}"
    )
    return Ranking("chebyshev", ranked, winner, _with_weights(why, w) + ".")


def topsis(points: pd.DataFrame, directions: Mapping[str, str], weights: Mapping[str, float] | None = None) -> Ranking:
    """Rank by TOPSIS relative closeness to the ideal solution (higher is better).

    Classic Hwang & Yoon steps: vector-normalise each column (``x / sqrt(sum x^2)``), multiply by the
    weights, take the ideal (best per column) and anti-ideal (worst per column) points, and score
    ``C = d_minus / (d_plus + d_minus)``. Why offer it: many stakeholders know it from procurement
    decisions, and its answer differs from the weighted sum because it also rewards being far from
    the worst. A column that is all zeros contributes nothing; if every point is identical, all
    score 1.
    """
    values = _check(points, directions)
    w = _weights(values, weights)
    norms = np.sqrt((values**2).sum(axis=0)).replace(0.0, 1.0)
    v = values.div(norms, axis=1).mul(w, axis=1)
    maximise = pd.Series({c: directions[c] == "maximize" for c in values.columns})
    ideal = v.max().where(maximise, v.min())
    anti = v.min().where(maximise, v.max())
    d_plus = np.sqrt(((v - ideal) ** 2).sum(axis=1))
    d_minus = np.sqrt(((v - anti) ** 2).sum(axis=1))
    total = d_plus + d_minus
    closeness = (d_minus / total.where(total > 0, 1.0)).where(total > 0, 1.0)
    ranked = _order(closeness, normalise(values, directions).sum(axis=1), "higher")
    winner = int(ranked.index[0])
    why = (
        f"Trial {winner} is relatively closest to the ideal and farthest from the worst "
        f"(closeness {ranked.iloc[0]:.3f} of 1) with {_describe(values, winner)}"
    )
    return Ranking("topsis", ranked, winner, _with_weights(why, w) + ".", better="higher")


def lexicographic(
    points: pd.DataFrame,
    directions: Mapping[str, str],
    order: Sequence[str],
    tolerances: Mapping[str, float] | None = None,
) -> Ranking:
    """Rank by objectives in priority order, allowing a relative slack on each before moving on.

    For each objective in ``order``, keep the remaining trials within ``tolerance`` of the best
    remaining value, then go to the next objective. A tolerance is relative to the objective's
    spread over the set (0.05 = within 5 % of the best-to-worst range), which works for values at 0
    (a parity gap) or negative (net value) where "5 % of the best value" would not. After the last
    objective, the exact values in priority order decide, then the sum over all objectives (so the
    pick is Pareto-optimal). The full ranking repeats this on what is left; ``scores`` are rank
    positions (1 = winner, lower is better).

    Why: "fairness first, within 0.01 of the best; then latency" is how legal constraints are
    often stated, and weights cannot express a strict priority.
    """
    values = _check(points, directions)
    order = [order] if isinstance(order, str) else list(order)
    if not order:
        raise UserInputError("Give at least one objective to order by.", field="order")
    if len(set(order)) != len(order):
        raise UserInputError(f"An objective appears twice in the order: {', '.join(order)}.", field="order")
    for name in order:
        if name not in values.columns:
            raise UserInputError(
                f"Cannot order by {name!r}: not an objective here. Objectives: {', '.join(map(str, values.columns))}.",
                field="order",
            )
    tol = {name: 0.0 for name in order}
    for name, raw in (tolerances or {}).items():
        if name not in tol:
            raise UserInputError(
                f"Tolerance given for {name!r}, which is not in the priority order.",
                field="tolerances",
            )
        t = float(raw)
        if not np.isfinite(t) or t < 0:
            raise UserInputError(
                f"Tolerance for {name!r} must be 0 or more (a share of the range, e.g. 0.05).",
                field="tolerances",
            )
        tol[name] = t
    norm = normalise(values, directions)
    # numpy, not pandas, inside the loop: a front of a few hundred trials is ranked in O(n^2)
    prio = norm[order].to_numpy()
    total = norm.sum(axis=1).to_numpy()
    trials = norm.index.to_numpy()
    slack = np.array([tol[n] for n in order]) + 1e-12
    alive = np.ones(len(trials), dtype=bool)
    ranked: list = []
    for _ in range(len(trials)):
        keep = alive.copy()
        for j in range(len(order)):
            best = prio[keep, j].min()
            keep &= prio[:, j] <= best + slack[j]
        idx = np.flatnonzero(keep)
        # exact priority values, then the overall sum, then the trial number
        keys = [trials[idx], total[idx]] + [prio[idx, j] for j in reversed(range(len(order)))]
        chosen = idx[np.lexsort(keys)[0]]
        ranked.append(trials[chosen])
        alive[chosen] = False
    scores = pd.Series(np.arange(1, len(ranked) + 1, dtype=float), index=pd.Index(ranked))
    scores.index.name = points.index.name
    winner = int(ranked[0])
    steps = ", then ".join(f"{_label(n)}" + (f" (within {tol[n]:.0%} of the range)" if tol[n] else "") for n in order)
    why = f"Trial {winner} comes first when choosing by {steps}, with {_describe(values, winner, order)}."
    return Ranking("lexicographic", scores, winner, why)


def knee(points: pd.DataFrame, directions: Mapping[str, str]) -> Ranking:
    """Find the maximum trade-off point: the knee of the front (higher score is better).

    In normalised space, take the extreme points (for each objective's axis, the trial nearest to
    it: best on all the other objectives, as NSGA-III defines them) and the hyperplane through them
    (for 2 objectives, the line between the two ends of the front). The knee is the
    trial furthest from that hyperplane on the ideal point's side: where moving away in any
    direction costs the most for what it gains. Scores are signed distances (positive = towards the
    ideal).

    When the hyperplane is undefined (fewer distinct extremes than objectives, or the plane passes
    through the ideal point) or no trial lies strictly beyond it (a concave front), fall back to
    the trial closest to the ideal point; then ``better`` is ``"lower"`` and scores are those
    distances.
    """
    values = _check(points, directions)
    norm = normalise(values, directions)
    tiebreak = norm.sum(axis=1)
    cols = list(norm.columns)
    if len(cols) == 1:
        ranked = _order(norm[cols[0]], tiebreak, "lower")
        winner = int(ranked.index[0])
        return Ranking(
            "knee", ranked, winner, f"Trial {winner} is best on the only objective: {_describe(values, winner)}."
        )
    extremes = []
    for col in cols:
        # the extreme point of axis ``col`` (as in NSGA-III): the trial nearest that axis, i.e.
        # best on all the *other* objectives; ties go to the one better on ``col`` itself
        others = [c for c in cols if c != col]
        frame = pd.DataFrame({"o": norm[others].max(axis=1), "v": norm[col], "i": norm.index})
        extremes.append(frame.sort_values(["o", "v", "i"], kind="mergesort").index[0])
    matrix = norm.loc[extremes, cols].to_numpy()
    normal = None
    if len(set(extremes)) == len(cols) and np.linalg.matrix_rank(matrix) == len(cols):
        normal = np.linalg.solve(matrix, np.ones(len(cols)))
        if not np.all(np.isfinite(normal)) or np.linalg.norm(normal) == 0:
            normal = None
    beyond = None
    if normal is not None:
        beyond = pd.Series((1.0 - norm.to_numpy() @ normal) / np.linalg.norm(normal), index=norm.index)
        if float(beyond.max()) <= 1e-9:
            # every trial lies on or behind the hyperplane (a concave front): the "furthest beyond"
            # would be an extreme at distance 0, which is no trade-off point at all
            beyond = None
    if beyond is None:
        dist = np.sqrt((norm**2).sum(axis=1))
        ranked = _order(dist, tiebreak, "lower")
        winner = int(ranked.index[0])
        why = (
            f"Trial {winner} is closest to the ideal point (distance {ranked.iloc[0]:.3f} in "
            f"normalised units; the front has no well-defined knee here) with "
            f"{_describe(values, winner)}."
        )
        return Ranking("knee", ranked, winner, why)
    ranked = _order(beyond, tiebreak, "higher")
    winner = int(ranked.index[0])
    ext = " and ".join(str(e) for e in sorted(int(e) for e in extremes))
    why = (
        f"Trial {winner} is the knee of the front: furthest ({ranked.iloc[0]:.3f} normalised) "
        f"beyond the {'line' if len(cols) == 2 else 'plane'} through the extreme trials {ext}, "
        f"so leaving it costs most for what it gains, with {_describe(values, winner)}."
    )
    return Ranking("knee", ranked, winner, why, better="higher")


# ---------------------------------------------------------------------------------------------
# Stakeholders, shortlist, regret
# ---------------------------------------------------------------------------------------------


def _stakeholder_weights(points: pd.DataFrame, stakeholder: Stakeholder) -> dict[str, float]:
    """Their weights on what they own, EPSILON_WEIGHT on everything else (keeps picks Pareto-optimal)."""
    for name in stakeholder.objectives:
        if name not in points.columns:
            raise UserInputError(
                f"Stakeholder {stakeholder.name!r} owns {name!r}, which is not an objective of "
                f"this front ({', '.join(map(str, points.columns))}); update their objectives.",
                field="objectives",
            )
    own = _weights(points[list(stakeholder.objectives)], stakeholder.weights)
    return {c: (float(own[c]) if c in own.index else EPSILON_WEIGHT) for c in points.columns}


def stakeholder_pick(points: pd.DataFrame, directions: Mapping[str, str], stakeholder: Stakeholder) -> Ranking:
    """The trial this stakeholder would choose alone, by their own method and preferences."""
    _check(points, directions)
    weights = _stakeholder_weights(points, stakeholder)
    if stakeholder.method == "chebyshev":
        ranking = chebyshev(points, directions, weights, stakeholder.aspirations or None)
    elif stakeholder.method == "topsis":
        ranking = topsis(points, directions, weights)
    elif stakeholder.method == "lexicographic":
        owned = sorted(stakeholder.objectives, key=lambda n: -weights[n])
        rest = [c for c in points.columns if c not in owned]
        ranking = lexicographic(points, directions, owned + rest)
    else:
        ranking = weighted_sum(points, directions, weights)
    why = f"{stakeholder.name} would pick trial {ranking.winner}: {ranking.why}"
    return Ranking(ranking.method, ranking.scores, ranking.winner, why, ranking.better)


def shortlist(points: pd.DataFrame, directions: Mapping[str, str], stakeholders: Sequence[Stakeholder]) -> list[int]:
    """Candidates worth discussing: each stakeholder's pick, each method's winner, and the knee.

    Order is stable (stakeholders first, in the order given; then weighted sum, Chebyshev and TOPSIS
    with equal weights; then the knee) and duplicates are dropped. Lexicographic is left out here
    because without a stated priority order its winner is just "best on the first column".
    """
    picks = [stakeholder_pick(points, directions, s).winner for s in stakeholders]
    picks += [
        weighted_sum(points, directions).winner,
        chebyshev(points, directions).winner,
        topsis(points, directions).winner,
        knee(points, directions).winner,
    ]
    return list(dict.fromkeys(int(p) for p in picks))


def _signed_text(name: str, loss: float) -> str:
    """ "Latency p95: +7.40 ms worse" – the sign and the word both read as the stakeholder's loss."""
    if abs(loss) < 1e-12:
        return f"{_label(name)}: same"
    mark, word = ("+", "worse") if loss > 0 else ("−", "better")
    return f"{_label(name)}: {mark}{_fmt(name, abs(loss))} {word}"


def regret_table(
    points: pd.DataFrame,
    directions: Mapping[str, str],
    stakeholders: Sequence[Stakeholder],
    candidates: Sequence[int],
) -> Regret:
    """What each stakeholder gives up under each candidate, compared with their own pick.

    Normalised regret of a (candidate, stakeholder) pair is the largest normalised loss over the
    objectives they own, clipped at 0: gains on one objective do not cancel a loss on another,
    because the stakeholder feels the loss. It reads as "gives up at most this share of the
    range we saw". The compromise is the min-max-regret candidate: nobody is asked to give up more
    than necessary.
    """
    values = _check(points, directions)
    if not stakeholders:
        raise UserInputError("Add at least one stakeholder to compare regrets.", field="stakeholders")
    names = [s.name for s in stakeholders]
    if len(set(names)) != len(names):
        raise UserInputError("Two stakeholders have the same name; rename one.", field="stakeholders")
    cands = list(dict.fromkeys(int(c) for c in candidates))
    if not cands:
        raise UserInputError("The shortlist is empty; propose at least one trial.", field="candidates")
    for c in cands:
        if c not in values.index:
            raise UserInputError(f"Trial {c} is not in this Pareto set.", field="candidates")
    norm = normalise(values, directions)
    index = pd.Index(cands, name=points.index.name or "trial")
    normalised = pd.DataFrame(index=index, columns=names, dtype=float)
    in_units = pd.DataFrame(index=index, columns=names, dtype=object)
    loss_cols: dict[tuple[str, str], list[float]] = {}
    picks: dict[str, int] = {}
    for s in stakeholders:
        pick = stakeholder_pick(values, directions, s).winner
        picks[s.name] = pick
        owned = list(s.objectives)
        for name in owned:
            # signed so that positive = worse for this stakeholder (+ 0.0 turns -0.0 into 0.0)
            loss_cols[(s.name, name)] = [
                _sign(directions[name]) * (float(values.at[c, name]) - float(values.at[pick, name])) + 0.0
                for c in cands
            ]
        for row, c in enumerate(cands):
            gap = (norm.loc[c, owned] - norm.loc[pick, owned]).clip(lower=0.0)
            normalised.at[c, s.name] = float(gap.max())
            in_units.at[c, s.name] = "; ".join(_signed_text(n, loss_cols[(s.name, n)][row]) for n in owned)
    losses = pd.DataFrame(loss_cols, index=index)
    losses.columns = pd.MultiIndex.from_tuples(losses.columns, names=["stakeholder", "objective"])
    frame = pd.DataFrame(
        {
            "max": normalised.max(axis=1).round(12),
            "sum": normalised.sum(axis=1).round(12),
            "pos": range(len(cands)),
        },
        index=index,
    )
    compromise = int(frame.sort_values(["max", "sum", "pos"], kind="mergesort").index[0])
    return Regret(normalised, in_units, losses, picks, compromise)


def rank_all(
    points: pd.DataFrame,
    directions: Mapping[str, str],
    weights: Mapping[str, float] | None = None,
) -> dict[str, Ranking]:
    """Every weight-based method plus the knee, with the same weights: for a side-by-side view."""
    return {
        "weighted_sum": weighted_sum(points, directions, weights),
        "chebyshev": chebyshev(points, directions, weights),
        "topsis": topsis(points, directions, weights),
        "knee": knee(points, directions),
    }
