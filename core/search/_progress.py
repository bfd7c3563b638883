"""How far a study is: trials that used budget (the same rule the budget gives slots back by),
failures, the best value per objective and, when the caller supplies the measure, the hypervolume."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState

from core.search._budget import budget
from core.search._frame import trials_frame
from core.search._objective import ATTR_DUPLICATE, ATTR_INTERRUPTED
from core.search._study import load_spec
from core.spec import Spec

# the front's hypervolume of a trials frame under a spec (core.decide.front.current_hypervolume):
# passed in, because the front sits above the search
Hypervolume = Callable[[pd.DataFrame, Spec], float | None]


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
        hypervolume=None if hypervolume is None else hypervolume(frame, spec),
        best=_best(frame, spec),
    )
