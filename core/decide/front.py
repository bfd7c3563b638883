"""The Pareto front, hypervolume and knee, computed from stored metrics.

Everything works on a plain DataFrame of trials (one row per trial, one column per metric), so the
room can re-choose objectives after the search and get the new front without re-running anything.

Hypervolume normalisation (documented because numbers are only comparable under the same one):
each objective is turned into a loss (negated when maximised), min-max scaled to [0, 1] with bounds
taken from all finished trials being compared (or given explicitly, as the benchmarks do to compare
several searches), and the reference point is 1.1 in every coordinate. The hypervolume is computed by
``moocore`` (maintained WFG-style algorithms); the non-dominated filter also by ``moocore``.

To compare searches, :func:`front_bounds` gives the stricter normalisation common in the
evolutionary multi-objective literature: bounds from the ideal and nadir point of the best known
front (the non-dominated set of all runs pooled), not from the range of every trial. One very slow
or very poor trial then no longer stretches an axis and squeezes the region where the searches
differ into a corner; what is worse than the pooled front's nadir scores nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import moocore
import numpy as np
import pandas as pd

from core import objectives as obj
from core.decide import mcdm
from core.decide.limits import limit_words
from core.search import BASE_COLUMNS as BASE_COLUMNS  # the trials frame and its limits are the search's
from core.search import BREAKS_SEARCH, with_limits
from core.search import BREAKS_TEST as BREAKS_TEST
from core.search import STATUS_TEXT as STATUS_TEXT
from core.search import check_status as check_status
from core.search import feasible_mask as feasible_mask
from core.search import limit_check as limit_check
from core.search import limits_status as limits_status
from core.search import trials_frame as trials_frame
from core.spec import Objective, Spec

REF = 1.1


def losses(frame: pd.DataFrame, names: Sequence[str]) -> np.ndarray:
    """Objective values as losses (smaller is better): maximised metrics are negated."""
    return (
        np.column_stack([frame[n].astype(float).to_numpy() * obj.get(n).sign for n in names])
        if len(frame)
        else np.empty((0, len(names)))
    )


def pareto_mask(frame: pd.DataFrame, names: Sequence[str]) -> np.ndarray:
    """Non-dominated rows among ``frame`` (call on the feasible, complete trials)."""
    if len(frame) == 0:
        return np.zeros(0, dtype=bool)
    L = losses(frame, names)
    valid = np.isfinite(L).all(axis=1)
    mask = np.zeros(len(frame), dtype=bool)
    if valid.any():
        mask[np.flatnonzero(valid)] = moocore.is_nondominated(L[valid], keep_weakly=True)
    return mask


def front(frame: pd.DataFrame, names: Sequence[str], *, feasible_only: bool = True) -> pd.DataFrame:
    """The Pareto-optimal trials for the chosen objectives, with ``on_front`` for the whole frame."""
    pool = frame[(frame["state"] == "COMPLETE") & (frame["feasible"] if feasible_only else True)]
    return pool[pareto_mask(pool, names)]


def annotate(frame: pd.DataFrame, names: Sequence[str], limits: Sequence[Objective] = ()) -> pd.DataFrame:
    """Add ``feasible`` and ``limits_status`` (for ``limits``) and ``on_front`` (for ``names``) columns."""
    out = with_limits(frame.copy(), limits)
    out["on_front"] = False
    pool = out[(out["state"] == "COMPLETE") & out["feasible"]]
    if len(pool):
        out.loc[pool.index[pareto_mask(pool, names)], "on_front"] = True
    return out


def blocking_limits(frame: pd.DataFrame, limits: Sequence[Objective]) -> list[tuple[str, int]]:
    """``(objective name, finished trials it rules out)`` for each hard limit that rules any out, the
    most blocking first (ties in the spec's order). Judged on search data, as feasibility is: this
    says which limit to discuss relaxing when few or no trials are feasible."""
    done = frame[frame["state"] == "COMPLETE"] if "state" in frame else frame
    counts = [
        (o.name, int((~feasible_mask(done, [o])).sum())) for o in limits if o.limit is not None and o.name in done
    ]
    return sorted([c for c in counts if c[1] > 0], key=lambda c: -c[1])


def limits_summary(frame: pd.DataFrame, limits: Sequence[Objective]) -> str | None:
    """One plain sentence on how the finished trials stand against the hard limits, or None when
    there are no limits or no finished trial: how many hold them in search, how many of those break
    on held-out data, and which limit blocks most when none is feasible. The Search page and the CLI
    print this same sentence."""
    done = frame[frame["state"] == "COMPLETE"] if "state" in frame else frame
    if not any(o.limit is not None for o in limits) or done.empty:
        return None
    status = limits_status(done, limits)
    n_search = int((status != BREAKS_SEARCH).sum())
    n_test = int((status == BREAKS_TEST).sum())
    text = f"{n_search} of {len(done)} finished trials hold every hard limit in search (CV)"
    if n_test:
        text += f"; {n_test} of them break{'s' if n_test == 1 else ''} one on held-out data"
    blocking = blocking_limits(done, limits)
    if n_search == 0 and blocking:
        name, n = blocking[0]
        text += f"; the limit that blocks most is {_limit_words(limits, name)} ({n} of {len(done)} trials break it)"
    return text + "."


def _limit_words(limits: Sequence[Objective], name: str) -> str:
    return limit_words(next(o for o in limits if o.name == name))


def _finished_losses(frame: pd.DataFrame, names: Sequence[str]) -> np.ndarray:
    done = frame[frame["state"] == "COMPLETE"] if "state" in frame else frame
    L = losses(done, names)
    return L[np.isfinite(L).all(axis=1)] if len(L) else L


def _min_max(L: np.ndarray, k: int) -> np.ndarray:
    if len(L) == 0:
        return np.vstack([np.zeros(k), np.ones(k)])
    return np.vstack([L.min(axis=0), L.max(axis=0)])


def bounds(frame: pd.DataFrame, names: Sequence[str]) -> np.ndarray:
    """(2, k) array of loss-space min/max over finished trials: the normalisation of the hypervolume."""
    return _min_max(_finished_losses(frame, names), len(names))


def front_bounds(frame: pd.DataFrame, names: Sequence[str]) -> np.ndarray:
    """(2, k) loss-space ideal and nadir point of the non-dominated finished trials of ``frame``."""
    L = _finished_losses(frame, names)
    return _min_max(L[moocore.is_nondominated(L, keep_weakly=True)] if len(L) else L, len(names))


def normalise(L: np.ndarray, b: np.ndarray) -> np.ndarray:
    span = np.where(b[1] - b[0] > 0, b[1] - b[0], 1.0)
    return (L - b[0]) / span


def hypervolume(frame: pd.DataFrame, names: Sequence[str], b: np.ndarray | None = None) -> float:
    """Normalised hypervolume of the rows given (see the module docstring); 0 for none."""
    L = losses(frame, names)
    L = L[np.isfinite(L).all(axis=1)] if len(L) else L
    if len(L) == 0:
        return 0.0
    b = bounds(frame, names) if b is None else b
    N = normalise(L, b)
    N = N[(N < REF).all(axis=1)]
    if len(N) == 0:
        return 0.0
    return float(moocore.hypervolume(N, ref=np.full(len(names), REF)))


def current_hypervolume(frame: pd.DataFrame, spec: Spec) -> float | None:
    names = spec.objective_names
    ok = frame[(frame["state"] == "COMPLETE") & frame["feasible"]]
    if ok.empty:
        return None
    return hypervolume(ok, names, bounds(frame, names))


def hypervolume_history(
    frame: pd.DataFrame, names: Sequence[str], b: np.ndarray | None = None, limits: Sequence[Objective] = ()
) -> pd.DataFrame:
    """Hypervolume of the feasible trials finished so far, after each trial (by trial number)."""
    frame = frame.sort_values("number")
    b = bounds(frame, names) if b is None else b
    feas = feasible_mask(frame, limits) if limits else frame["feasible"]
    ok = frame[(frame["state"] == "COMPLETE") & feas]
    out, hv = [], 0.0
    if len(ok):
        N = normalise(losses(ok, names), b)
        finite = np.isfinite(N).all(axis=1) & (N < REF).all(axis=1)
        numbers = ok["number"].to_numpy()
        ref = np.full(len(names), REF)
        pts: list[np.ndarray] = []
        for i in range(len(ok)):
            if finite[i]:
                pts.append(N[i])
                arr = np.array(pts)
                arr = arr[moocore.is_nondominated(arr)]
                pts = list(arr)
                hv = float(moocore.hypervolume(arr, ref=ref))
            out.append((int(numbers[i]), hv))
    return pd.DataFrame(out, columns=["number", "hypervolume"])


def knee_index(frame: pd.DataFrame, names: Sequence[str]) -> int | None:
    """Trial number of the knee of the given front (maximum trade-off); see ``core.decide.mcdm.knee``."""
    if len(frame) == 0:
        return None
    if len(frame) <= 2:
        return int(frame["number"].iloc[0])
    points = frame.set_index("number")[list(names)].astype(float)
    return int(mcdm.knee(points, {n: obj.get(n).direction for n in names}).winner)
