"""How far a study is: trials that used budget (the same rule the budget gives slots back by),
failures, the best value per objective and, when the caller supplies the measure, the hypervolume.

The progress hypervolume is normalised once per run (:func:`run_bounds`): scaled to the range of
every trial so far, it fell whenever a new trial widened an axis, which reads as the search getting
worse when it only found a wider spread.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState

from core import objectives as obj
from core.search._budget import budget
from core.search._frame import trials_frame
from core.search._objective import ATTR_DUPLICATE, ATTR_INTERRUPTED
from core.search._study import load_spec
from core.spec import Spec

# the hypervolume of some trials for some objectives under given loss-space bounds
# (core.decide.front.hypervolume): passed in, because the front sits above the search
Hypervolume = Callable[[pd.DataFrame, Sequence[str], np.ndarray], float]

N_BOUNDS = 10  # finished trials whose range fixes the progress hypervolume's normalisation


@dataclass
class Progress:
    done: int
    budget: int | None
    failed: int
    elapsed_s: float
    last_trial: int | None
    last_state: str | None
    hypervolume: float | None
    best: dict[str, float] = field(default_factory=dict)

    @property
    def eta_s(self) -> float | None:
        if not self.budget or self.done == 0:
            return None
        return self.elapsed_s / self.done * max(self.budget - self.done, 0)


@dataclass
class RunResult:
    study_name: str
    trials_run: int
    stopped_because: str
    progress: Progress | None = None


def _abandoned(t: FrozenTrial) -> bool:
    """A failed trial that used no budget: interrupted by Ctrl-C/SIGTERM, or never started its fit."""
    return bool(t.user_attrs.get(ATTR_INTERRUPTED)) or ("family" not in t.user_attrs and not t.params)


def counted(trials: list[FrozenTrial]) -> tuple[int, int]:
    """Trials that used budget and, of those, failures.

    Counted: complete and pruned trials (but not a skipped duplicate configuration), and failed
    ones that were not retried (a retried trial's retry counts instead) and not abandoned (an
    interrupted trial gave its slot back).
    """
    retried: set[int] = set()
    for t in trials:
        if "failed_trial" in t.system_attrs:
            retried.add(t.system_attrs["failed_trial"])
            retried.update(t.system_attrs.get("retry_history", []))
    done = failed = 0
    for t in trials:
        if t.state == TrialState.COMPLETE or (t.state == TrialState.PRUNED and ATTR_DUPLICATE not in t.user_attrs):
            done += 1
        elif t.state == TrialState.FAIL and t.number not in retried and not _abandoned(t):
            done += 1
            failed += 1
    return done, failed


def _best(frame: pd.DataFrame, spec: Spec) -> dict[str, float]:
    ok = frame[frame["state"] == "COMPLETE"]
    best = {}
    for o in spec.objectives:
        if o.name in ok and len(ok):
            best[o.name] = float(ok[o.name].min() if o.direction == "minimize" else ok[o.name].max())
    return best


def run_bounds(frame: pd.DataFrame, names: Sequence[str], n_first: int = N_BOUNDS) -> np.ndarray:
    """(2, k) loss-space min/max of the first ``n_first`` trials to complete: a run's fixed scale.

    Losses are the objectives with maximised ones negated (as in :mod:`core.decide.front`). Once
    ``n_first`` trials have completed the bounds never move again, so the hypervolume of the
    feasible trials can only rise: a trial adds area or, worse than the bounds allow, none. Picked
    by completion time, not trial number, so a slow early trial finishing late moves nothing.
    """
    done = frame[frame["state"] == "COMPLETE"]
    if "datetime_complete" in done:
        done = done.sort_values(["datetime_complete", "number"], kind="stable")
    L = np.column_stack([done[n].astype(float).to_numpy() * obj.get(n).sign for n in names])
    L = L[np.isfinite(L).all(axis=1)][:n_first]
    if len(L) == 0:
        return np.vstack([np.zeros(len(names)), np.ones(len(names))])
    return np.vstack([L.min(axis=0), L.max(axis=0)])


def _hypervolume(frame: pd.DataFrame, spec: Spec, measure: Hypervolume) -> float | None:
    """The feasible complete trials' hypervolume under :func:`run_bounds`; None when there are none."""
    ok = frame[(frame["state"] == "COMPLETE") & frame["feasible"]]
    if ok.empty:
        return None
    return measure(ok, spec.objective_names, run_bounds(frame, spec.objective_names))


def progress_of(study: optuna.Study, url: str, started: float, *, hypervolume: Hypervolume | None = None) -> Progress:
    """The study's progress now; ``started`` is this worker's ``time.monotonic()`` at its start."""
    trials = study.get_trials(deepcopy=False)
    done, failed = counted(trials)
    n_budget, _ = budget(url, study.study_name)
    spec = load_spec(study)
    frame = trials_frame(trials, spec)
    last = max((t for t in trials if t.state.is_finished()), key=lambda t: t.number, default=None)
    return Progress(
        done=done,
        budget=n_budget,
        failed=failed,
        elapsed_s=time.monotonic() - started,
        last_trial=None if last is None else last.number,
        last_state=None if last is None else last.state.name,
        hypervolume=None if hypervolume is None else _hypervolume(frame, spec, hypervolume),
        best=_best(frame, spec),
    )
