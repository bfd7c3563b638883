"""Build, run and resume the multi-objective Optuna study.

Shape: the spec lives in the study's user attributes; every trial stores every metric (a few JSON
user attributes, so optuna-dashboard shows them too); hard limits are Optuna constraints, so
infeasible trials stay in the study, visible and marked.

The trial budget is global across workers. Optuna's ``MaxTrialsCallback`` only checks after a
trial ends, so N workers overshoot by up to N−1; instead each worker atomically claims a slot in a
small ``tradeoff_budget`` table (one conditional UPDATE, atomic on SQLite and PostgreSQL) before it
asks for a trial. A trial abandoned by Ctrl-C/SIGTERM gives its slot back; a trial whose worker died
is failed by Optuna's heartbeat check, retried once (``RetryFailedTrialCallback``) and its slot is
given back so the retry can run.
"""

from __future__ import annotations

import functools
import json
import math
import os
import socket
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

import numpy as np
import optuna
import sqlalchemy as sa
import warnings

from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.trial import FrozenTrial, TrialState

from core import families as fam
from core import objectives as obj
from core import storage as st
from core.data import Dataset, load_dataset, split
from core.errors import UserInputError
from core.evaluate import evaluate
from core.spec import Spec

HEARTBEAT_S = 5
GRACE_S = 20
ATTR_SPEC = "spec"
ATTR_CANCEL = "cancel_requested"
ATTR_STARTED = "search_started_at"

_meta = sa.MetaData()
budget_table = sa.Table(
    "tradeoff_budget", _meta,
    sa.Column("study_name", sa.String(512), primary_key=True),
    sa.Column("n_trials", sa.Integer, nullable=True),
    sa.Column("claimed", sa.Integer, nullable=False, default=0),
)
workers_table = sa.Table(
    "tradeoff_workers", _meta,
    sa.Column("worker_id", sa.String(64), primary_key=True),
    sa.Column("study_name", sa.String(512), index=True, nullable=False),
    sa.Column("host", sa.String(255)),
    sa.Column("pid", sa.Integer),
    sa.Column("state", sa.String(32)),
    sa.Column("current_trial", sa.Integer, nullable=True),
    sa.Column("trials_done", sa.Integer, default=0),
    sa.Column("started_at", sa.DateTime(timezone=True)),
    sa.Column("last_seen", sa.DateTime(timezone=True)),
    sa.Column("message", sa.Text, nullable=True),
)


def _now() -> datetime:
    return datetime.now(timezone.utc)


# -- storage ----------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=16)
def engine(url: str) -> sa.Engine:
    """One engine per URL per process for our own tables (budget, workers)."""
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if st.is_sqlite(url):
        kwargs["connect_args"] = {"timeout": 60}
    eng = sa.create_engine(url, **kwargs)
    _meta.create_all(eng, checkfirst=True)
    return eng


def _enable_wal(url: str) -> None:
    """WAL lets readers (every browser polling) and one writer (a worker) work at the same time."""
    if url.startswith("sqlite:///") and not url.endswith(":memory:"):
        con = sqlite3.connect(url[len("sqlite:///"):], timeout=60)
        try:
            con.execute("PRAGMA journal_mode=WAL")
        finally:
            con.close()


@functools.lru_cache(maxsize=16)
def optuna_storage(url: str) -> RDBStorage:
    """Optuna RDB storage with heartbeats, stale-trial retry and budget give-back."""
    _enable_wal(url)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        retry = RetryHeartbeatStaleTrialCallback(max_retry=1)

    def on_stale(study: optuna.Study, trial: FrozenTrial) -> None:
        retry(study, trial)
        release_slot(url, study.study_name)

    engine_kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if st.is_sqlite(url):
        engine_kwargs["connect_args"] = {"timeout": 60}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # heartbeat options are marked experimental
            return RDBStorage(url, engine_kwargs=engine_kwargs, heartbeat_interval=HEARTBEAT_S,
                              grace_period=GRACE_S, heartbeat_stale_trial_callback=on_stale)
    except Exception as exc:  # driver/URL/connection problems are user-fixable
        raise UserInputError(f"Cannot open storage {st.mask(url)}: {type(exc).__name__}: "
                             f"{str(exc).splitlines()[0][:300]}", field="storage") from None


def claim_slot(url: str, study_name: str) -> bool:
    """Atomically take one trial of the global budget; False when the budget is spent."""
    t = budget_table
    with engine(url).begin() as con:
        res = con.execute(sa.update(t).where(t.c.study_name == study_name).where(
            sa.or_(t.c.n_trials.is_(None), t.c.claimed < t.c.n_trials)).values(claimed=t.c.claimed + 1))
        return res.rowcount == 1


def release_slot(url: str, study_name: str) -> None:
    t = budget_table
    with engine(url).begin() as con:
        con.execute(sa.update(t).where(t.c.study_name == study_name).where(t.c.claimed > 0)
                    .values(claimed=t.c.claimed - 1))


def set_budget(url: str, study_name: str, n_trials: int | None) -> None:
    t = budget_table
    with engine(url).begin() as con:
        row = con.execute(sa.select(t.c.claimed).where(t.c.study_name == study_name)).first()
        if row is None:
            con.execute(sa.insert(t).values(study_name=study_name, n_trials=n_trials, claimed=0))
        else:
            con.execute(sa.update(t).where(t.c.study_name == study_name).values(n_trials=n_trials))


def budget(url: str, study_name: str) -> tuple[int | None, int]:
    t = budget_table
    with engine(url).connect() as con:
        row = con.execute(sa.select(t.c.n_trials, t.c.claimed).where(t.c.study_name == study_name)).first()
    return (row[0], row[1]) if row else (None, 0)


# -- study ------------------------------------------------------------------------------------------

def _spec_key(spec: Spec) -> dict:
    """What must match for two runs to be one study: everything but the budget."""
    d = spec.to_dict()
    d.pop("budget", None)
    return d


def default_study_name(spec: Spec) -> str:
    import hashlib

    stem = os.path.splitext(os.path.basename(spec.data.path))[0] or "study"
    digest = hashlib.sha256(json.dumps(_spec_key(spec), sort_keys=True).encode()).hexdigest()[:6]
    return f"{stem}-{digest}"


class _Midpoint:
    """A deterministic "typical" configuration per family, used to warm-start the search."""

    def suggest_float(self, name, low, high, *, log=False):
        return float(math.sqrt(low * high)) if log else (low + high) / 2

    def suggest_int(self, name, low, high, *, log=False):
        return int(round(math.sqrt(low * high))) if log else (low + high) // 2

    def suggest_categorical(self, name, choices):
        return choices[0]


def make_sampler(spec: Spec, *, n_trials: int | None = None) -> optuna.samplers.BaseSampler:
    """Samplers tuned to a meeting-sized budget (tens of trials, not thousands).

    NSGA-II's default population (50) spends a 60-trial budget almost entirely on its random first
    generation; we size the population to the budget instead.
    """
    k = len(spec.objectives)
    constraints = _constraints_func(k) if spec.has_limits else None
    budget_n = n_trials or spec.budget.n_trials or 100
    if spec.sampler == "nsga2":
        pop = int(max(8, min(50, budget_n // 4)))
        return optuna.samplers.NSGAIISampler(population_size=pop, seed=spec.seed,
                                             constraints_func=constraints)
    if spec.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=spec.seed, multivariate=True, group=True,
                                          n_startup_trials=int(max(5, min(20, budget_n // 5))),
                                          constraints_func=constraints)
    if spec.sampler == "random":
        return optuna.samplers.RandomSampler(seed=spec.seed)
    if spec.sampler == "gp":
        try:
            import torch  # noqa: F401
        except ImportError:
            raise UserInputError(
                "The GP sampler needs PyTorch, which is not installed. Install it with "
                "`pip install -e '.[gp]'` or choose nsga2, tpe or random.", field="sampler") from None
        return optuna.samplers.GPSampler(seed=spec.seed, constraints_func=constraints)
    raise UserInputError(f"Unknown sampler {spec.sampler!r}.", field="sampler")


def _constraints_func(k: int) -> Callable[[FrozenTrial], list[float]]:
    def constraints(trial: FrozenTrial) -> list[float]:
        return list(trial.user_attrs.get("constraints", [1.0]))
    return constraints


def create_study(spec: Spec, url: str | None = None, name: str | None = None, *,
                 warm_start: bool = True, n_trials: int | None = None) -> optuna.Study:
    """Create the study (or open it again for the same spec) and record the data fingerprint.

    Opening an existing name with a different spec is refused, because mixing two specs' trials
    in one front would compare different things.
    """
    url = st.resolve(url)
    ds = load_dataset(spec.data)  # validates the data before anything is written
    spec = spec.with_fingerprint(ds.fingerprint)
    name = name or default_study_name(spec)
    storage = optuna_storage(url)
    existing = {s.study_name: s for s in optuna.get_all_study_summaries(storage)}
    if name in existing:
        study = optuna.load_study(study_name=name, storage=storage)
        stored = study.user_attrs.get(ATTR_SPEC)
        if stored is not None and _spec_key(Spec.from_dict(stored)) != _spec_key(spec):
            raise UserInputError(
                f"A study named {name!r} already exists with a different spec. Resume it with its own "
                "spec, or choose another study name.", field="study")
    else:
        study = optuna.create_study(study_name=name, storage=storage,
                                    directions=[o.direction for o in spec.objectives])
        study.set_user_attr(ATTR_SPEC, spec.to_dict())
        study.set_user_attr("created_at", _now().isoformat())
        study.set_user_attr("data_notes", ds.notes)
        study.set_user_attr("objective_names", spec.objective_names)
        if warm_start and spec.sampler != "random":
            for f in spec.families:
                params = fam.get(f).space(_Midpoint())
                study.enqueue_trial(fam.flat_params(f, params), skip_if_exists=True)
    total = n_trials if n_trials is not None else spec.budget.n_trials
    if name not in existing or n_trials is not None:
        set_budget(url, name, total)
    return study


def load_spec(study: optuna.Study) -> Spec:
    raw = study.user_attrs.get(ATTR_SPEC)
    if raw is None:
        raise UserInputError(f"Study {study.study_name!r} was not made by Tradeoff Room (no spec).",
                             field="study")
    return Spec.from_dict(raw)


def open_study(url: str | None, name: str) -> optuna.Study:
    url = st.resolve(url)
    storage = optuna_storage(url)
    names = [s.study_name for s in optuna.get_all_study_summaries(storage)]
    if name not in names:
        listing = ", ".join(names) if names else "none yet"
        raise UserInputError(f"No study named {name!r} in {st.mask(url)}. Studies: {listing}.",
                             field="study")
    return optuna.load_study(study_name=name, storage=storage)


def list_studies(url: str | None = None) -> list[optuna.study.StudySummary]:
    return optuna.get_all_study_summaries(optuna_storage(st.resolve(url)))


def request_cancel(study: optuna.Study, cancel: bool = True) -> None:
    """Ask every worker to stop after its current trial (they check between trials)."""
    study.set_user_attr(ATTR_CANCEL, bool(cancel))


# -- objective --------------------------------------------------------------------------------------

def make_objective(spec: Spec, ds: Dataset, train_idx: np.ndarray, test_idx: np.ndarray
                   ) -> Callable[[optuna.Trial], tuple[float, ...]]:
    def objective(trial: optuna.Trial) -> tuple[float, ...]:
        family, params = fam.suggest(trial, spec.families)
        trial.set_user_attr("family", family)
        trial.set_user_attr("family_class", fam.get(family).klass)
        try:
            ev = evaluate(family, params, ds, train_idx, test_idx, spec)
        except Exception as exc:
            trial.set_user_attr("error", f"{type(exc).__name__}: {exc}"[:2000])
            raise
        values = []
        for o in spec.objectives:
            v = ev.metrics[o.name]
            if v is None or not math.isfinite(v):
                raise ValueError(f"{o.name} is not a finite number ({v}) for this configuration")
            values.append(float(v))
        trial.set_user_attr("metrics", ev.metrics)
        trial.set_user_attr("test_metrics", ev.test)
        trial.set_user_attr("cv_std", ev.cv_std)
        trial.set_user_attr("threshold", ev.threshold)
        trial.set_user_attr("groups_test", json.loads(ev.groups_test.to_json(orient="records")))
        trial.set_user_attr("constraints", [o.violation(ev.metrics[o.name]) for o in spec.objectives
                                            if o.limit is not None] or [-1.0])
        trial.set_user_attr("timings", ev.timings)
        return tuple(values)
    return objective


# -- running ----------------------------------------------------------------------------------------

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


def counted(trials: list[FrozenTrial]) -> tuple[int, int]:
    """Trials that used budget (complete + failed, minus failures that were retried) and failures."""
    retried = {t.system_attrs.get("failed_trial") for t in trials if "failed_trial" in t.system_attrs}
    done = failed = 0
    for t in trials:
        if t.state == TrialState.COMPLETE or t.state == TrialState.PRUNED:
            done += 1
        elif t.state == TrialState.FAIL and t.number not in retried:
            done += 1
            failed += 1
    return done, failed


def progress_of(study: optuna.Study, url: str, started: float) -> Progress:
    from core import front

    trials = study.get_trials(deepcopy=False)
    done, failed = counted(trials)
    n_budget, _ = budget(url, study.study_name)
    spec = load_spec(study)
    frame = front.trials_frame(trials, spec)
    hv = front.current_hypervolume(frame, spec)
    best = {}
    ok = frame[frame["state"] == "COMPLETE"]
    for o in spec.objectives:
        if o.name in ok and len(ok):
            best[o.name] = float(ok[o.name].min() if o.direction == "minimize" else ok[o.name].max())
    last = max((t for t in trials if t.state.is_finished()), key=lambda t: t.number, default=None)
    return Progress(done=done, budget=n_budget, failed=failed, elapsed_s=time.monotonic() - started,
                    last_trial=None if last is None else last.number,
                    last_state=None if last is None else last.state.name, hypervolume=hv, best=best)


class _Registry:
    """This worker's row in ``tradeoff_workers`` so the app can show who is doing what."""

    def __init__(self, url: str, study_name: str) -> None:
        import uuid

        self.url, self.id = url, uuid.uuid4().hex[:12]
        with engine(url).begin() as con:
            con.execute(sa.insert(workers_table).values(
                worker_id=self.id, study_name=study_name, host=socket.gethostname(), pid=os.getpid(),
                state="starting", trials_done=0, started_at=_now(), last_seen=_now()))

    def update(self, **values: Any) -> None:
        try:
            with engine(self.url).begin() as con:
                con.execute(sa.update(workers_table).where(workers_table.c.worker_id == self.id)
                            .values(last_seen=_now(), **values))
        except sa.exc.OperationalError:
            pass  # the registry is informational; never fail a search over it


def workers(url: str | None, study_name: str) -> list[dict[str, Any]]:
    url = st.resolve(url)
    t = workers_table
    with engine(url).connect() as con:
        rows = con.execute(sa.select(t).where(t.c.study_name == study_name)
                           .order_by(t.c.started_at)).mappings().all()
    return [dict(r) for r in rows]


def run(study_name: str, url: str | None = None, *, max_trials: int | None = None,
        timeout_s: float | None = None, on_progress: Callable[[Progress], None] | None = None,
        stop: threading.Event | None = None) -> RunResult:
    """Work on a study until its budget is spent, it is cancelled, or a local limit is reached.

    ``max_trials``/``timeout_s`` limit this call only (a worker's share); the study's own budget
    (trials in ``tradeoff_budget``, minutes from the spec) is global across all workers.
    """
    url = st.resolve(url)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = open_study(url, study_name)
    spec = load_spec(study)
    ds = load_dataset(spec.data)
    train_idx, test_idx = split(ds, spec.validation, spec.seed)
    n_budget, _ = budget(url, study_name)
    study.sampler = make_sampler(spec, n_trials=n_budget)
    objective = make_objective(spec, ds, train_idx, test_idx)
    if ATTR_STARTED not in study.user_attrs:
        study.set_user_attr(ATTR_STARTED, time.time())
    global_deadline = (float(study.user_attrs[ATTR_STARTED]) + spec.budget.timeout_s
                       if spec.budget.timeout_s else math.inf)
    local_deadline = time.time() + timeout_s if timeout_s else math.inf
    started = time.monotonic()
    registry = _Registry(url, study_name)
    ran, reason = 0, "budget spent"
    progress: Progress | None = None

    def after_trial(study_: optuna.Study, trial: FrozenTrial) -> None:
        nonlocal progress
        registry.update(state="idle", current_trial=None, trials_done=ran + 1)
        if on_progress is not None:
            progress = progress_of(study_, url, started)
            on_progress(progress)

    try:
        while True:
            if stop is not None and stop.is_set():
                reason = "stopped"
                break
            if study.user_attrs.get(ATTR_CANCEL):
                reason = "cancelled"
                break
            if time.time() >= min(global_deadline, local_deadline):
                reason = "time budget spent"
                break
            if max_trials is not None and ran >= max_trials:
                reason = "worker trial limit reached"
                break
            if not claim_slot(url, study_name):
                reason = "budget spent"
                break
            registry.update(state="running", current_trial=len(study.get_trials(deepcopy=False)))
            try:
                study.optimize(objective, n_trials=1, catch=(Exception,), callbacks=[after_trial],
                               gc_after_trial=False, show_progress_bar=False)
            except KeyboardInterrupt:
                release_slot(url, study_name)
                reason = "interrupted"
                raise
            ran += 1
            # refresh cancel flag and other workers' news
            study = optuna.load_study(study_name=study_name, storage=optuna_storage(url),
                                      sampler=study.sampler)
    finally:
        registry.update(state=f"finished: {reason}", current_trial=None, trials_done=ran)
    return RunResult(study_name=study_name, trials_run=ran, stopped_because=reason, progress=progress)
