"""The worker's run loop: claim a budget slot, run one trial, repeat until the study's budget is
spent, it is cancelled or a local limit is reached; recover from a lost database and stop cleanly
on Ctrl-C/SIGTERM (see the package docstring for the guarantees)."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import FrozenTrial

from core import storage as st
from core.data import Dataset, load_dataset, split
from core.search._budget import budget, claim_slot, release_slot
from core.search._errors import StorageUnavailable, db_retry
from core.search._objective import Current, make_objective
from core.search._precise import precise_pass
from core.search._progress import Hypervolume, Progress, RunResult, progress_of
from core.search._recovery import fail_stale, finish_after_error, requeue_fixed, running_trials
from core.search._registry import Registry
from core.search._samplers import make_sampler, worker_seed
from core.search._settings import heartbeat_settings
from core.search._signals import Gate, QuietInterrupts
from core.search._storage import optuna_storage
from core.search._study import ATTR_CANCEL, ATTR_STARTED, load_spec, open_study
from core.spec import Spec
from core.storage.retry import is_transient

_log = logging.getLogger("core.search")
# proposals in a row that the study already had: the space looks exhausted, stop rather than spin
MAX_DUPLICATES = 50
WATCH_STEP_S = 0.25  # how often a worker with no slot left looks whether the last trials ended


@dataclass
class _Limits:
    """When this worker stops on its own: the study's time budget, this call's share, a stop event."""

    deadline: float = math.inf
    max_trials: int | None = None
    stop: threading.Event | None = None


@dataclass
class _Worker:
    url: str
    study: optuna.Study
    spec: Spec
    limits: _Limits
    registry: Registry
    gate: Gate = field(default_factory=Gate)
    cur: Current = field(default_factory=Current)
    ran: int = 0
    holding: bool = False  # a budget slot is claimed and its trial not yet final
    orphans: dict[int, float] = field(default_factory=dict)
    progress: Progress | None = None
    duplicates: int = 0  # proposals in a row that the study already had

    @property
    def name(self) -> str:
        return self.study.study_name

    def _retry(self, fn: Callable, what: str):
        return db_retry(fn, self.url, what)

    def _stop_reason(self) -> str | None:
        if self.limits.stop is not None and self.limits.stop.is_set():
            return "stopped"
        if self._retry(lambda: self.study.user_attrs.get(ATTR_CANCEL), "reading the study"):
            return "cancelled"
        if time.time() >= self.limits.deadline:
            return "time budget spent"
        if self.limits.max_trials is not None and self.ran >= self.limits.max_trials:
            return "worker trial limit reached"
        if self.duplicates >= MAX_DUPLICATES:
            return f"no new configuration in {MAX_DUPLICATES} proposals (the search space looks exhausted)"
        return None

    def _claim(self) -> bool:
        return self._retry(lambda: claim_slot(self.url, self.name), "claiming a budget slot")

    def next_slot(self) -> str | None:
        """Claim a budget slot (None) or say why this worker stops.

        With every slot claimed but trials still running elsewhere, keep watching them: a trial
        whose worker dies is failed as stale and its retry takes the slot it gives back.
        """
        storage = optuna_storage(self.url)
        while True:
            self.gate.checkpoint()
            why = self._stop_reason()
            if why is not None:
                return why
            if self._claim():
                return None
            self._retry(lambda: fail_stale(self.study, storage, self.orphans), "checking for dead workers")
            if self._claim():
                return None
            running = self._retry(lambda: len(running_trials(self.study)), "reading the study")
            if running == 0:
                return "budget spent"
            self.registry.update(
                state="waiting", current_trial=None, message=f"budget claimed; watching {running} running trial(s)"
            )
            self._watch(running)

    def _watch(self, running: int) -> None:
        """Wait for a heartbeat interval, or less: until one of the ``running`` trials ends. Why not
        the whole interval: the run's last trial ends the run, and waking up to a heartbeat (5 s)
        later added that much to every search's wall time (the study's tail)."""
        until = time.monotonic() + heartbeat_settings()[0]
        while time.monotonic() < until and not (self.limits.stop is not None and self.limits.stop.is_set()):
            self.gate.sleep(min(WATCH_STEP_S, max(until - time.monotonic(), 0.0)), self.limits.stop)
            if self._retry(lambda: len(running_trials(self.study)), "reading the study") < running:
                return

    def run_one(self, objective: Callable, after_trial: Callable) -> None:
        """One trial in the claimed slot; a lost database is recovered from, not raised."""
        self.holding = True
        done_before = self.ran
        try:
            self.study.optimize(
                objective,
                n_trials=1,
                catch=(Exception,),
                callbacks=[after_trial],
                gc_after_trial=False,
                show_progress_bar=False,
            )
            self.holding = False
            self._after_duplicate()
        except KeyboardInterrupt:
            raise
        except Exception as exc:
            known = is_transient(exc) or isinstance(exc, (UpdateFinishedTrialError, StorageUnavailable))
            if not (known or self._finished_elsewhere()):
                raise
            outcome = finish_after_error(self.study, optuna_storage(self.url), self.url, self.cur, exc, self.registry)
            self.holding = False
            if outcome in ("completed", "failed") and self.ran == done_before:
                self.ran += 1
            message = f"recovered from a lost database connection: trial {self.cur.number} {outcome}"
            if outcome == "taken":
                message = (
                    f"trial {self.cur.number} was taken for dead by another worker (no heartbeat for longer than "
                    "the grace period) and queued again there; this worker's result for it is dropped"
                )
            self.registry.update(state="idle", current_trial=None, trials_done=self.ran, message=message)
            _log.warning("%s", message)

    def _finished_elsewhere(self) -> bool:
        """Whether this worker's running trial was finished by another worker meanwhile: failed as
        stale after a pause longer than the grace period (an overloaded machine, a suspended
        laptop). Optuna then refuses to record our result with a plain ValueError ("Cannot tell a
        FAIL trial"); the trial's retry is already queued, so this worker goes on, not crashes."""
        if self.cur.number is None:
            return False
        try:
            storage = optuna_storage(self.url)
            trial_id = storage.get_trial_id_from_study_id_trial_number(self.study._study_id, self.cur.number)
            return storage.get_trial(trial_id).state.is_finished()
        except Exception:  # the database is away too: not this case
            return False

    def _after_duplicate(self) -> None:
        """A skipped duplicate used no budget: its slot goes back for a new configuration."""
        if self.cur.duplicate_of is None:
            self.duplicates = 0
            return
        self.duplicates += 1
        self._retry(lambda: release_slot(self.url, self.name), "giving back a budget slot")

    def abandon(self) -> None:
        """After Ctrl-C/SIGTERM: an abandoned fit does not count, so its slot goes back."""
        if self.holding and self.cur.values is None:
            self._retry(lambda: release_slot(self.url, self.name), "giving back a budget slot")
            requeue_fixed(self.study, self.cur.number)
            _log.warning(
                "interrupted: trial %s abandoned (marked failed, not counted, budget slot given back)", self.cur.number
            )
        else:
            _log.warning("interrupted between trials; finished trials are kept")


def _deadline(study: optuna.Study, spec: Spec, timeout_s: float | None) -> float:
    """The earlier of the study's time budget (from its first worker's start) and this call's."""
    if ATTR_STARTED not in study.user_attrs:
        study.set_user_attr(ATTR_STARTED, time.time())
    spent = float(study.user_attrs[ATTR_STARTED]) + spec.budget.timeout_s if spec.budget.timeout_s else math.inf
    return min(spent, time.time() + timeout_s if timeout_s else math.inf)


def _loop(
    w: _Worker,
    data: tuple[Dataset, np.ndarray, np.ndarray],
    n_budget: int | None,
    on_progress: Callable[[Progress], None] | None,
    hypervolume: Hypervolume | None,
) -> str:
    """Run trials until a reason to stop; returns it."""
    started = time.monotonic()

    def on_start(number: int) -> None:
        w.registry.update(state="running", current_trial=number, message=None)

    def after_trial(study: optuna.Study, trial: FrozenTrial) -> None:
        if w.cur.duplicate_of is None:
            w.ran += 1
        w.registry.update(state="idle", current_trial=None, trials_done=w.ran)
        if on_progress is not None:
            w.progress = progress_of(study, w.url, started, hypervolume=hypervolume)
            on_progress(w.progress)

    objective = make_objective(w.spec, *data, url=w.url, gate=w.gate, current=w.cur, on_start=on_start)
    seed = worker_seed(w.spec.seed, w.registry.ordinal, w.registry.id)
    w.study.sampler = make_sampler(w.spec, n_trials=n_budget, seed=seed)
    while True:
        w.cur.reset()
        why = w.next_slot()
        if why is not None:
            return why
        w.run_one(objective, after_trial)


def _precise_front(w: _Worker, data: tuple[Dataset, np.ndarray, np.ndarray]) -> None:
    """The run's last step: the final front's trials carry the precise latency (:mod:`._precise`)."""
    w.registry.update(state="idle", current_trial=None, message="measuring the front's latency precisely")
    done = w._retry(lambda: precise_pass(w.study, w.spec, data, w.url), "measuring the front precisely")
    if done:
        w.registry.update(message=f"precise latency measured for front trials {done}")


def run(
    study_name: str,
    url: str | None = None,
    *,
    max_trials: int | None = None,
    timeout_s: float | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    stop: threading.Event | None = None,
    hypervolume: Hypervolume | None = None,
) -> RunResult:
    """Work on a study until its budget is spent, it is cancelled, or a local limit is reached.

    ``max_trials``/``timeout_s`` limit this call only (a worker's share); the study's own budget
    (trials in ``tradeoff_budget``, minutes from the spec) is global across all workers. When the
    budget is all claimed but other workers' trials still run, this worker waits and watches them,
    so that a trial whose worker dies is still retried. Ctrl-C/SIGTERM raise KeyboardInterrupt after
    the running trial was abandoned cleanly (see the package docstring). ``on_progress`` gets a
    :class:`Progress` after each trial, with the hypervolume when ``hypervolume`` measures it.
    """
    url = st.resolve(url)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = open_study(url, study_name)
    spec = load_spec(study)
    ds = load_dataset(spec.data)
    train_idx, test_idx = split(ds, spec.validation, spec.seed)
    n_budget, _ = budget(url, study_name)
    heartbeat_settings()  # refuse bad settings before anything starts
    limits = _Limits(_deadline(study, spec, timeout_s), max_trials, stop)
    gate, quiet = Gate(), QuietInterrupts()
    gate.install()
    optuna_log = logging.getLogger("optuna.study._optimize")
    optuna_log.addFilter(quiet)
    w: _Worker | None = None
    reason, final_state = "budget spent", "finished"
    try:
        w = _Worker(url, study, spec, limits, Registry(url, study_name), gate=gate)
        reason = _loop(w, (ds, train_idx, test_idx), n_budget, on_progress, hypervolume)
        _precise_front(w, (ds, train_idx, test_idx))
    except KeyboardInterrupt as exc:
        reason, final_state = f"interrupted by {exc or 'SIGINT'}", "interrupted"
        if w is not None:
            w.abandon()
        else:
            _log.warning("interrupted between trials; finished trials are kept")
        raise
    except StorageUnavailable as exc:
        reason, final_state = str(exc), "failed"
        raise
    except Exception as exc:
        reason, final_state = f"{type(exc).__name__}: {exc}"[:500], "failed"
        raise
    finally:
        gate.uninstall()
        optuna_log.removeFilter(quiet)
        if w is not None:
            w.registry.close(state=final_state, current_trial=None, trials_done=w.ran, message=reason)
    return RunResult(study_name=study_name, trials_run=w.ran, stopped_because=reason, progress=w.progress)
