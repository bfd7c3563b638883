"""The ranking methods: weighted sum, augmented Chebyshev, TOPSIS, lexicographic and the knee.

Each takes the Pareto set and the directions (plus its own preferences) and returns a
:class:`Ranking` with a one-sentence reason; :mod:`._registry` names them for the pages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from core.decide.mcdm._normalise import check_points, normalise, normalised_weights, to_normalised
from core.decide.mcdm._ranking import Ranking, as_key, describe, label, order_best_first, with_weights
from core.decide.mcdm._ranking import name as point_name
from core.errors import UserInputError

#: Augmentation factor of the achievement scalarizing function: small enough not to change the pick
#: between clearly different points, large enough to prefer a Pareto-optimal point over a weakly
#: dominated one that has the same worst weighted deviation.
RHO = 1e-6


def weighted_sum(
    points: pd.DataFrame, directions: Mapping[str, str], weights: Mapping[str, float] | None = None
) -> Ranking:
    """Rank by the weighted sum of normalised losses (lower is better).

    The simplest compensatory rule: a gain on one objective can buy a loss on another at the rate
    the weights set. It can only pick points on the convex hull of the front, which is why the room
    also shows Chebyshev and the knee.
    """
    norm = normalise(points, directions)
    w = normalised_weights(points, weights)
    scores = norm.mul(w, axis=1).sum(axis=1)
    ranked = order_best_first(scores, norm.sum(axis=1), "lower")
    winner = as_key(ranked.index[0])
    why = (
        f"{point_name(points, winner)} has the lowest weighted sum of normalised losses "
        f"({ranked.iloc[0]:.3f}, 0 = best on everything) with {describe(points, winner)}"
    )
    return Ranking("weighted_sum", ranked, winner, with_weights(why, w) + ".")


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
    values = check_points(points, directions)
    norm = normalise(values, directions)
    w = normalised_weights(values, weights)
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
        ref[name] = to_normalised(values, directions, name, target)
    dev = norm.sub(ref, axis=1)
    scores = dev.mul(w, axis=1).max(axis=1) + RHO * dev.sum(axis=1)
    ranked = order_best_first(scores, norm.sum(axis=1), "lower")
    winner = as_key(ranked.index[0])
    goal = "the aspiration levels" if reference else "the ideal point"
    worst = dev.loc[winner].mul(w).idxmax()
    why = (
        f"{point_name(points, winner)} has the smallest worst weighted shortfall from {goal} "
        f"({ranked.iloc[0]:.3f}, tightest on {label(worst)}) with {describe(values, winner)}"
    )
    return Ranking("chebyshev", ranked, winner, with_weights(why, w) + ".")


def topsis(points: pd.DataFrame, directions: Mapping[str, str], weights: Mapping[str, float] | None = None) -> Ranking:
    """Rank by TOPSIS relative closeness to the ideal solution (higher is better).

    Classic Hwang & Yoon steps: vector-normalise each column (``x / sqrt(sum x^2)``), multiply by the
    weights, take the ideal (best per column) and anti-ideal (worst per column) points, and score
    ``C = d_minus / (d_plus + d_minus)``. Why offer it: many stakeholders know it from procurement
    decisions, and its answer differs from the weighted sum because it also rewards being far from
    the worst. A column that is all zeros contributes nothing; if every point is identical, all
    score 1.
    """
    values = check_points(points, directions)
    w = normalised_weights(values, weights)
    norms = np.sqrt((values**2).sum(axis=0)).replace(0.0, 1.0)
    v = values.div(norms, axis=1).mul(w, axis=1)
    maximise = pd.Series({c: directions[c] == "maximize" for c in values.columns})
    ideal = v.max().where(maximise, v.min())
    anti = v.min().where(maximise, v.max())
    d_plus = np.sqrt(((v - ideal) ** 2).sum(axis=1))
    d_minus = np.sqrt(((v - anti) ** 2).sum(axis=1))
    total = d_plus + d_minus
    closeness = (d_minus / total.where(total > 0, 1.0)).where(total > 0, 1.0)
    ranked = order_best_first(closeness, normalise(values, directions).sum(axis=1), "higher")
    winner = as_key(ranked.index[0])
    why = (
        f"{point_name(points, winner)} is relatively closest to the ideal and farthest from the worst "
        f"(closeness {ranked.iloc[0]:.3f} of 1) with {describe(values, winner)}"
    )
    return Ranking("topsis", ranked, winner, with_weights(why, w) + ".", better="higher")


def _priority(
    values: pd.DataFrame, order: Sequence[str] | str, tolerances: Mapping[str, float] | None
) -> tuple[list[str], dict[str, float]]:
    """Check a lexicographic priority order and its tolerances (0 where none is given)."""
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
    return order, tol


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
    values = check_points(points, directions)
    order, tol = _priority(values, order, tolerances)
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
    winner = as_key(ranked[0])
    steps = ", then ".join(f"{label(n)}" + (f" (within {tol[n]:.0%} of the range)" if tol[n] else "") for n in order)
    why = f"{point_name(points, winner)} comes first when choosing by {steps}, with {describe(values, winner, order)}."
    return Ranking("lexicographic", scores, winner, why)


def _extremes(norm: pd.DataFrame) -> list:
    """Per objective, the extreme point of its axis (as in NSGA-III): the trial nearest that axis,
    i.e. best on all the *other* objectives; ties go to the one better on the axis itself."""
    cols = list(norm.columns)
    extremes = []
    for col in cols:
        others = [c for c in cols if c != col]
        frame = pd.DataFrame({"o": norm[others].max(axis=1), "v": norm[col], "i": norm.index})
        extremes.append(frame.sort_values(["o", "v", "i"], kind="mergesort").index[0])
    return extremes


def _beyond_hyperplane(norm: pd.DataFrame, extremes: list) -> pd.Series | None:
    """Signed distance of every trial beyond the hyperplane through the extremes (positive = towards
    the ideal point), or None when that plane is undefined or no trial lies strictly beyond it."""
    cols = list(norm.columns)
    matrix = norm.loc[extremes, cols].to_numpy()
    if len(set(extremes)) != len(cols) or np.linalg.matrix_rank(matrix) != len(cols):
        return None
    normal = np.linalg.solve(matrix, np.ones(len(cols)))
    if not np.all(np.isfinite(normal)) or np.linalg.norm(normal) == 0:
        return None
    beyond = pd.Series((1.0 - norm.to_numpy() @ normal) / np.linalg.norm(normal), index=norm.index)
    # every trial on or behind the hyperplane (a concave front): the "furthest beyond" would be an
    # extreme at distance 0, which is no trade-off point at all
    return None if float(beyond.max()) <= 1e-9 else beyond


def _sorted(keys: set) -> list:
    try:
        return sorted(keys)
    except TypeError:  # trial numbers beside option keys
        return sorted(keys, key=str)


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
    values = check_points(points, directions)
    norm = normalise(values, directions)
    tiebreak = norm.sum(axis=1)
    cols = list(norm.columns)
    if len(cols) == 1:
        ranked = order_best_first(norm[cols[0]], tiebreak, "lower")
        winner = as_key(ranked.index[0])
        return Ranking(
            "knee",
            ranked,
            winner,
            f"{point_name(points, winner)} is best on the only objective: {describe(values, winner)}.",
        )
    extremes = _extremes(norm)
    beyond = _beyond_hyperplane(norm, extremes)
    if beyond is None:
        dist = np.sqrt((norm**2).sum(axis=1))
        ranked = order_best_first(dist, tiebreak, "lower")
        winner = as_key(ranked.index[0])
        why = (
            f"{point_name(points, winner)} is closest to the ideal point (distance {ranked.iloc[0]:.3f} in "
            f"normalised units; the front has no well-defined knee here) with "
            f"{describe(values, winner)}."
        )
        return Ranking("knee", ranked, winner, why)
    ranked = order_best_first(beyond, tiebreak, "higher")
    winner = as_key(ranked.index[0])
    ext = " and ".join(point_name(points, e, bare=True) for e in _sorted({as_key(e) for e in extremes}))
    why = (
        f"{point_name(points, winner)} is the knee of the front: furthest ({ranked.iloc[0]:.3f} normalised) "
        f"beyond the {'line' if len(cols) == 2 else 'plane'} through the extreme trials {ext}, "
        f"so leaving it costs most for what it gains, with {describe(values, winner)}."
    )
    return Ranking("knee", ranked, winner, why, better="higher")
