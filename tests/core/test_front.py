"""Pareto set, hypervolume and knee on hand-made trials, and on a real study's stored metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import objectives as obj
from core import search
from core.decide import front
from core.spec import Objective

NAMES = ["roc_auc", "latency_p95_ms"]


def trials(rows: list[tuple], state: str = "COMPLETE") -> pd.DataFrame:
    """A trials frame from (number, roc_auc, latency_p95_ms) tuples."""
    df = pd.DataFrame(rows, columns=["number", "roc_auc", "latency_p95_ms"])
    df["state"] = state
    df["feasible"] = True
    return df


# A dominates C; B and D are identical (both kept: neither strictly dominates the other)
HAND = trials([(0, 0.90, 10.0), (1, 0.80, 5.0), (2, 0.85, 12.0), (3, 0.80, 5.0), (4, 0.70, 4.0), (5, 0.60, 4.5)])


def test_pareto_mask_on_a_hand_made_set():
    mask = front.pareto_mask(HAND, NAMES)
    assert HAND.loc[mask, "number"].tolist() == [0, 1, 3, 4]


def test_pareto_mask_ignores_rows_with_missing_values():
    df = pd.concat([HAND, trials([(6, np.nan, 1.0)])], ignore_index=True)
    assert not front.pareto_mask(df, NAMES)[-1]
    assert front.pareto_mask(df.iloc[:0], NAMES).shape == (0,)


def test_direction_matters():
    # AUC is maximised, size minimised: #2 (0.85, 1 B) beats #1 (0.80, 1 B); #0 has the best AUC
    df = HAND.assign(model_size_bytes=[5, 1, 1, 9, 9, 9])
    assert df.loc[front.pareto_mask(df, ["roc_auc", "model_size_bytes"]), "number"].tolist() == [0, 2]
    flipped = df.assign(roc_auc=-df["roc_auc"])  # the same numbers read as a loss give another front
    assert df.loc[front.pareto_mask(flipped, ["roc_auc", "model_size_bytes"]), "number"].tolist() == [1, 5]


def test_hypervolume_on_a_hand_computable_2d_case():
    # losses (−auc, latency); bounds −0.9…−0.5 and 0…10 → normalised points (0, 1), (1, 0), (0.25, 0.5)
    df = trials([(0, 0.9, 10.0), (1, 0.5, 0.0), (2, 0.8, 5.0)])
    b = front.bounds(df, NAMES)
    assert np.allclose(b, [[-0.9, 0.0], [-0.5, 10.0]])
    # two points: 1.1·0.1 + 0.1·1.1 − 0.1·0.1 = 0.21
    assert front.hypervolume(df.iloc[:2], NAMES, b) == pytest.approx(0.21)
    # staircase with the middle point: 0.25·0.1 + 0.75·0.6 + 0.1·1.1 = 0.585
    assert front.hypervolume(df, NAMES, b) == pytest.approx(0.585)
    hist = front.hypervolume_history(df, NAMES, b)
    assert hist["number"].tolist() == [0, 1, 2]
    assert hist["hypervolume"].tolist() == pytest.approx([0.11, 0.21, 0.585])
    # a point beyond the reference point adds nothing; no points → 0
    far = trials([(3, 0.1, 50.0)])
    assert front.hypervolume(pd.concat([df, far]), NAMES, b) == pytest.approx(0.585)
    assert front.hypervolume(df.iloc[:0], NAMES, b) == 0.0


def test_hypervolume_is_invariant_to_units_but_not_to_bounds():
    df = trials([(0, 0.9, 10.0), (1, 0.5, 0.0), (2, 0.8, 5.0)])
    in_seconds = df.assign(latency_p95_ms=df["latency_p95_ms"] / 1000)
    assert front.hypervolume(in_seconds, NAMES) == pytest.approx(front.hypervolume(df, NAMES))
    # wider bounds shrink the points towards the ideal corner: more volume for the same trials,
    # which is why runs are only compared under one set of bounds
    wider = np.array([[-1.0, 0.0], [0.0, 20.0]])
    assert front.hypervolume(df, NAMES, wider) > front.hypervolume(df, NAMES)


def test_front_bounds_ignore_dominated_outliers():
    # #2 (0.6, 40 ms) is dominated: the full range stretches latency to 40 ms, the front's to 10 ms
    df = trials([(0, 0.9, 10.0), (1, 0.7, 2.0), (2, 0.6, 40.0), (3, 0.8, 5.0)])
    assert np.allclose(front.bounds(df, NAMES), [[-0.9, 2.0], [-0.6, 40.0]])
    fb = front.front_bounds(df, NAMES)
    assert np.allclose(fb, [[-0.9, 2.0], [-0.7, 10.0]])
    # normalised to the front: (0, 1), (0.5, 0.375), (1, 0); #2 lies beyond the reference point.
    # Staircase to (1.1, 1.1): 0.5·0.1 + 0.5·0.725 + 0.1·1.1
    assert front.hypervolume(df, NAMES, fb) == pytest.approx(0.05 + 0.3625 + 0.11)
    # without the outlier the front bounds do not change, the full-range ones do
    assert np.allclose(front.front_bounds(df[df["number"] != 2], NAMES), fb)
    assert not np.allclose(front.bounds(df[df["number"] != 2], NAMES), front.bounds(df, NAMES))


def test_knee_of_a_convex_front():
    # the middle trial gives up 0.01 AUC for 9 ms: the obvious knee
    pf = trials([(10, 0.90, 10.0), (11, 0.89, 1.0), (12, 0.80, 0.0)])
    assert front.knee_index(pf, NAMES) == 11
    assert front.knee_index(pf.iloc[:0], NAMES) is None


def test_feasible_mask_and_annotate():
    limits = (Objective("roc_auc", limit=0.75), Objective("latency_p95_ms", limit="6 ms"))
    feas = front.feasible_mask(HAND, limits)
    assert HAND.loc[feas, "number"].tolist() == [1, 3]
    out = front.annotate(HAND, NAMES, limits)
    assert out.loc[out["on_front"], "number"].tolist() == [1, 3]
    no_limits = front.annotate(HAND, NAMES)
    assert no_limits.loc[no_limits["on_front"], "number"].tolist() == [0, 1, 3, 4]
    failed = HAND.assign(state=["COMPLETE", "FAIL", "COMPLETE", "COMPLETE", "COMPLETE", "COMPLETE"])
    assert not front.feasible_mask(failed, ())[1]


def test_front_skips_infeasible_unless_asked():
    df = HAND.assign(feasible=[False, True, True, True, True, True])
    assert front.front(df, NAMES)["number"].tolist() == [1, 2, 3, 4]
    assert front.front(df, NAMES, feasible_only=False)["number"].tolist() == [0, 1, 3, 4]


def _dominated_by_brute_force(df: pd.DataFrame, names: list[str]) -> list[int]:
    L = front.losses(df, names)
    keep = []
    for i in range(len(L)):
        dominated = any((L[j] <= L[i]).all() and (L[j] < L[i]).any() for j in range(len(L)) if j != i)
        if not dominated:
            keep.append(int(df["number"].iloc[i]))
    return keep


def test_real_study_frame_and_rechosen_objectives(finished_study):
    url, name, spec = finished_study
    study = search.open_study(url, name)
    frame = front.trials_frame(study.get_trials(deepcopy=False), spec)
    assert len(frame) == 8 and frame["number"].tolist() == list(range(8))
    for m in obj.REGISTRY:
        assert m in frame
    done = frame[frame["state"] == "COMPLETE"]
    assert done[list(obj.REGISTRY)].notna().all().all()
    for m in obj.TEST_METRICS:
        assert done[obj.TEST_ATTR + m].notna().all(), m
    for m in obj.QUALITY:
        assert (done[obj.STD_ATTR + m] >= 0).all()
    assert set(done["family"]) <= set(spec.families) and done["params"].map(len).gt(0).all()
    assert (done["duration_s"] > 0).all()
    # every choice of objectives gives the brute-force non-dominated set, from stored values only
    for names in (
        spec.objective_names,
        ["roc_auc", "model_size_bytes"],
        ["f1", "fit_time_s", "eo_diff"],
        ["value_per_1k", "n_parameters"],
    ):
        pf = front.front(frame, names)
        assert sorted(pf["number"].tolist()) == sorted(_dominated_by_brute_force(done, names)), names
    hv = front.current_hypervolume(frame, spec)
    assert 0 < hv <= 1.1**3


def test_empty_study_gives_an_empty_frame_with_every_column():
    frame = front.trials_frame([])
    assert frame.empty
    assert set(front.BASE_COLUMNS) <= set(frame.columns) and set(obj.REGISTRY) <= set(frame.columns)
    assert front.front(frame, NAMES).empty
    assert front.hypervolume_history(frame, NAMES).empty
