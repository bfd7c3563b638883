"""Property tests (hypothesis) of the maths the room relies on: Pareto filter, hypervolume, MCDM.

Hand-picked examples check what we thought of; these check what must hold for every input, e.g. that
no point the front keeps is dominated, or that the hypervolume never falls when a point is added.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from core.decide import front as fr
from core.decide import mcdm

# roc_auc is maximised, latency and dp_diff minimised: the three senses the front must get right
NAMES = ("roc_auc", "latency_p95_ms", "dp_diff")
DIRECTIONS = {"roc_auc": "maximize", "latency_p95_ms": "minimize", "dp_diff": "minimize"}

# values on a 1/1000 grid: metrics are reported to a few digits, and a grid keeps rescaling exact
# enough (a difference of 1e-43 would vanish when a shift of 1.0 is added, which is rounding, not a bug)
value = st.integers(min_value=0, max_value=1000).map(lambda i: i / 1000)
point = st.tuples(value, value, value)
points = st.lists(point, min_size=1, max_size=25)


def _frame(rows) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=list(NAMES)).astype(float)
    df["state"] = "COMPLETE"
    df["feasible"] = True
    return df


def _dominates(a: np.ndarray, b: np.ndarray) -> bool:
    return bool((a <= b).all() and (a < b).any())


@settings(max_examples=150, deadline=None)
@given(points)
def test_pareto_filter_keeps_exactly_the_non_dominated(rows):
    df = _frame(rows)
    keep = fr.pareto_mask(df, NAMES)
    L = fr.losses(df, NAMES)
    for i in range(len(df)):
        dominated = any(_dominates(L[j], L[i]) for j in range(len(df)) if j != i)
        assert keep[i] == (not dominated), (i, L[i])


@settings(max_examples=100, deadline=None)
@given(points, st.integers(min_value=0, max_value=24), st.floats(min_value=0.01, max_value=0.5))
def test_adding_a_dominated_point_changes_nothing(rows, which, worse):
    df = _frame(rows)
    base = df.iloc[which % len(df)]
    # strictly worse on every objective than an existing point: dominated by construction
    extra = {"roc_auc": base["roc_auc"] - worse, "latency_p95_ms": base["latency_p95_ms"] + worse}
    extra |= {"dp_diff": base["dp_diff"] + worse, "state": "COMPLETE", "feasible": True}
    grown = pd.concat([df, pd.DataFrame([extra])], ignore_index=True)
    assert not fr.pareto_mask(grown, NAMES)[-1]
    assert (fr.pareto_mask(grown, NAMES)[:-1] == fr.pareto_mask(df, NAMES)).all()
    b = fr.bounds(grown, NAMES)
    assert abs(fr.hypervolume(grown, NAMES, b) - fr.hypervolume(df, NAMES, b)) < 1e-12


@settings(max_examples=100, deadline=None)
@given(points, point)
def test_hypervolume_never_falls_when_a_point_is_added(rows, new):
    df = _frame(rows)
    grown = _frame([*rows, new])
    b = fr.bounds(grown, NAMES)  # one normalisation for both, as the benchmarks compare searches
    assert fr.hypervolume(grown, NAMES, b) >= fr.hypervolume(df, NAMES, b) - 1e-12


@settings(max_examples=100, deadline=None)
@given(points, st.randoms(use_true_random=False))
def test_hypervolume_does_not_depend_on_the_order_of_points(rows, rnd):
    df = _frame(rows)
    shuffled = df.sample(frac=1.0, random_state=rnd.randint(0, 2**31 - 1)).reset_index(drop=True)
    assert abs(fr.hypervolume(df, NAMES) - fr.hypervolume(shuffled, NAMES)) < 1e-12


@settings(max_examples=100, deadline=None)
@given(
    points,
    st.floats(min_value=0.1, max_value=1000.0),
    st.floats(min_value=-100.0, max_value=100.0),
)
def test_normalisation_ignores_a_positive_affine_rescaling(rows, scale, shift):
    df = _frame(rows)[list(NAMES)]
    moved = df.copy()
    moved["latency_p95_ms"] = df["latency_p95_ms"] * scale + shift  # e.g. seconds instead of ms
    a, b = mcdm.normalise(df, DIRECTIONS), mcdm.normalise(moved, DIRECTIONS)
    assert np.allclose(a.to_numpy(), b.to_numpy(), atol=1e-6)
    # and the front itself does not move
    assert (fr.pareto_mask(_frame(df.to_numpy()), NAMES) == fr.pareto_mask(_frame(moved.to_numpy()), NAMES)).all()


def _distinct(rows) -> pd.DataFrame:
    df = _frame(rows).drop_duplicates(subset=list(NAMES)).reset_index(drop=True)
    return df[list(NAMES)]


@settings(max_examples=100, deadline=None)
@given(points)
def test_compensatory_winners_are_on_the_front(rows):
    """Weighted sum and TOPSIS, run on every trial, never pick one that another trial dominates."""
    df = _distinct(rows)
    on_front = fr.pareto_mask(_frame(df.to_numpy()), NAMES)
    for method in (mcdm.weighted_sum, mcdm.topsis):
        winner = method(df, DIRECTIONS).winner
        assert on_front[winner], (method.__name__, df.iloc[winner].to_dict())


@settings(max_examples=60, deadline=None)
@given(points)
def test_every_method_picks_from_the_front_it_is_given(rows):
    df = _distinct(rows)
    pool = df[fr.pareto_mask(_frame(df.to_numpy()), NAMES)]
    for method in (mcdm.weighted_sum, mcdm.chebyshev, mcdm.topsis, mcdm.knee):
        assert method(pool, DIRECTIONS).winner in pool.index, method.__name__
    assert mcdm.lexicographic(pool, DIRECTIONS, list(NAMES)).winner in pool.index


scores = st.lists(
    st.tuples(st.booleans(), st.integers(min_value=0, max_value=1000), st.sampled_from(["a", "b", "c"])),
    min_size=6,
    max_size=60,
).filter(lambda rows: len({r[0] for r in rows}) == 2 and all(any(r[0] and r[2] == g for r in rows) for g in "abc"))


@settings(max_examples=100, deadline=None)
@given(scores, st.lists(st.integers(min_value=0, max_value=1000), min_size=2, max_size=12, unique=True))
def test_operating_point_curves_are_monotone_where_they_must_be(rows, cuts):
    """A higher threshold never selects more rows, so no group's recall (nor the worst one) can rise."""
    from core.metrics.operating_points import Scores, curve_metrics
    from core.spec import ValueModel

    y = np.array([r[0] for r in rows], dtype=int)
    proba = np.array([r[1] / 1000 for r in rows])
    groups = pd.Series([r[2] for r in rows])
    thresholds = np.sort(np.array(cuts) / 1000)
    m = curve_metrics(thresholds, Scores(y=y, proba=proba, groups=groups), ValueModel())
    recall = m["worst_group_recall"]
    assert (np.diff(recall) <= 1e-12).all(), (thresholds, recall)
    from core.metrics import decide

    selected = np.asarray(decide(proba[None, :], thresholds[:, None])).sum(axis=1)  # the one decision rule
    assert (np.diff(selected) <= 0).all()
