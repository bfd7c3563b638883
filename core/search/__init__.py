"""Build, run and resume the multi-objective Optuna study, on one machine or many.

Shape: the spec lives in the study's user attributes; every trial stores every metric (a few JSON
user attributes, so optuna-dashboard shows them too); hard limits are Optuna constraints, so
infeasible trials stay in the study, visible and marked.

Many workers, one study (what keeps the count exact and loses nothing):

* **Global budget.** Optuna's ``MaxTrialsCallback`` only checks after a trial ends, so N workers
  overshoot by up to N−1; instead each worker atomically claims a slot in ``tradeoff_budget`` (one
  conditional UPDATE, atomic on SQLite and PostgreSQL) before it asks for a trial. A trial that
  does not count (abandoned by Ctrl-C/SIGTERM, or failed as stale and retried) gives its slot back.
* **A worker that dies** (SIGKILL, power cut, lost network) stops heart-beating; after
  ``GRACE_S`` any other worker marks its running trial failed (Optuna's ``fail_stale_trials``) and
  queues one retry of the same configuration (``RetryHeartbeatStaleTrialCallback``, visible as the
  system attributes ``failed_trial``/``retry_history``). A worker whose budget is all claimed keeps
  watching while other trials are still running, so a trial that dies last is still retried.
* **Ctrl-C / SIGTERM** are only acted on where it is safe: inside the model fit (the trial is
  abandoned: marked failed with the user attribute ``interrupted``, not counted, slot given back)
  or between trials; never half-way through writing a trial or the budget.
* **SQLite** serves several workers on one machine: WAL mode, and Optuna's locking reads made
  atomic (SQLite ignores ``FOR UPDATE``; see :func:`_sqlite_transactions`).
* **Losing the database** (restart, network): every write is retried until the database answers
  again (``TRADEOFF_DB_RETRY_S``, default 60 s); the running trial is then finished (if its
  metrics were computed) or failed and retried. If the database stays away the worker exits with a
  one-line message. A trial is only ever COMPLETE after all its metrics were written.

Settings (environment, read when the storage is first opened in a process): ``TRADEOFF_HEARTBEAT_S``
(default 5), ``TRADEOFF_GRACE_S`` (default 20, must exceed the heartbeat), ``TRADEOFF_DB_RETRY_S``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import signal
import socket
import sqlite3
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TypeVar

import numpy as np
import optuna
import sqlalchemy as sa
from optuna.exceptions import UpdateFinishedTrialError
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.trial import FrozenTrial, TrialState

from core import storage as st
from core.data import Dataset, load_dataset, split
from core.errors import UserInputError
from core.models import families as fam
from core.models.evaluate import evaluate
from core.spec import Spec
from core.storage import schema

HEARTBEAT_S = 5
GRACE_S = 20
DB_RETRY_S = 60.0
MAX_RETRY = 1
ENV_HEARTBEAT = "TRADEOFF_HEARTBEAT_S"
ENV_GRACE = "TRADEOFF_GRACE_S"
ENV_DB_RETRY = "TRADEOFF_DB_RETRY_S"
ATTR_SPEC = "spec"
ATTR_CANCEL = "cancel_requested"
ATTR_STARTED = "search_started_at"
ATTR_INTERRUPTED = "interrupted"

# the tables live in core.storage.schema (with their version); kept here under their old names
budget_table = schema.budget_table
workers_table = schema.workers_table

_log = logging.getLogger(__name__)
T = TypeVar("T")


class StorageUnavailable(UserInputError):
    """The database stopped answering and did not come back in time (a one-line CLI message)."""


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _env_number(name: str, default: float, *, integer: bool = True) -> float:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        raise UserInputError(
            f"${name} must be a {'whole ' if integer else ''}number of seconds, got {raw!r}.", field="storage"
        ) from None
    if value <= 0:
        raise UserInputError(f"${name} must be positive, got {raw!r}.", field="storage")
    return value


def heartbeat_settings() -> tuple[int, int]:
    """(heartbeat interval, grace period) in seconds, from the environment or the defaults.

    Why configurable: the defaults suit real searches (a dead worker's trial is retried ~20 s
    later); tests and demos lower them to see a retry in seconds.
    """
    hb = int(_env_number(ENV_HEARTBEAT, HEARTBEAT_S))
    grace = int(_env_number(ENV_GRACE, GRACE_S))
    if grace <= hb:
        raise UserInputError(
            f"${ENV_GRACE} ({grace}) must be longer than ${ENV_HEARTBEAT} ({hb}), or a "
            "live worker's trial could be taken for a dead one.",
            field="storage",
        )
    return hb, grace


def db_retry_s() -> float:
    """How long a worker keeps retrying while the database does not answer."""
    return float(_env_number(ENV_DB_RETRY, DB_RETRY_S, integer=False))


# -- storage ----------------------------------------------------------------------------------------


def _is_connection_error(exc: BaseException) -> bool:
    """True for "the database did not answer" (worth retrying), false for real errors (bugs, bad data).

    Optuna wraps driver errors in ``StorageInternalError``; look through the cause chain.
    """
    seen = 0
    e: BaseException | None = exc
    while e is not None and seen < 8:
        if isinstance(e, (sa.exc.OperationalError, sa.exc.InterfaceError, sqlite3.OperationalError, ConnectionError)):
            return True
        if isinstance(e, sa.exc.DBAPIError) and e.connection_invalidated:
            return True
        if type(e).__module__.startswith("psycopg") and type(e).__name__ in (
            "OperationalError",
            "InterfaceError",
            "AdminShutdown",
            "ConnectionTimeout",
        ):
            return True
        e = e.__cause__ or e.__context__
        seen += 1
    return False


def _first_line(exc: BaseException) -> str:
    """A short, password-free description of a database error: the driver's own first line."""
    inner = exc
    for _ in range(8):
        if getattr(inner, "orig", None) is not None:
            inner = inner.orig  # type: ignore[attr-defined]
            break
        if inner.__cause__ is None:
            break
        inner = inner.__cause__
    text = str(inner).strip()
    text = text.splitlines()[0] if text else ""
    return st.mask(f"{type(inner).__name__}: {text}" if text else type(inner).__name__)[:300]


def _db_retry(fn: Callable[[], T], url: str, what: str) -> T:
    """Run a storage call, retrying while the database does not answer (restart, network blip)."""
    deadline = time.monotonic() + db_retry_s()
    delay, warned = 0.5, False
    while True:
        try:
            return fn()
        except Exception as exc:
            if not _is_connection_error(exc):
                raise
            if time.monotonic() + delay > deadline:
                raise StorageUnavailable(
                    f"Lost the connection to the database {st.mask(url)} while {what}, and it did not "
                    f"come back within {db_retry_s():.0f} s ({_first_line(exc)}). Finished trials are "
                    "safe in the database; a trial that was running is retried by the next worker. "
                    "Start the worker again when the database is back.",
                    field="storage",
                ) from None
            if not warned:
                _log.warning(
                    "database %s not answering while %s (%s); retrying for up to %.0f s",
                    st.mask(url),
                    what,
                    _first_line(exc),
                    db_retry_s(),
                )
                warned = True
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def _wrap_open_error(url: str, exc: Exception) -> UserInputError:
    if isinstance(exc, UserInputError):
        return exc
    return UserInputError(f"Cannot open storage {st.mask(url)}: {_first_line(exc)}", field="storage")


def _resolved(url: str | None) -> str:
    """Resolve only what needs it: these are called on every trial with an already resolved URL."""
    return url if url and "://" in url else st.resolve(url)


_engines: dict[str, sa.Engine] = {}
_storages: dict[str, RDBStorage] = {}
_cache_lock = threading.RLock()


def engine(url: str | None) -> sa.Engine:
    """One engine per URL per process for our own tables (budget, workers), schema checked once."""
    url = _resolved(url)
    with _cache_lock:
        eng = _engines.get(url)
        if eng is not None:
            return eng
        kwargs: dict[str, Any] = {"pool_pre_ping": True}
        if st.is_sqlite(url):
            kwargs["connect_args"] = {"timeout": 60}
        try:
            eng = sa.create_engine(url, **kwargs)
            schema.ensure(eng, url)
        except Exception as exc:
            if eng is not None:
                eng.dispose()
            raise _wrap_open_error(url, exc) from None
        _engines[url] = eng
        return eng


def _enable_wal(url: str) -> None:
    """WAL lets readers (every browser polling) and one writer (a worker) work at the same time."""
    if url.startswith("sqlite:///") and not url.endswith(":memory:"):
        con = sqlite3.connect(url[len("sqlite:///") :], timeout=60)
        try:
            con.execute("PRAGMA journal_mode=WAL")
        finally:
            con.close()


class _Storage(RDBStorage):
    """Optuna's RDB storage whose heartbeat survives a database blip.

    Optuna records heartbeats in a thread; one failed write would end that thread with a traceback
    and the trial, still running fine, would later be taken for dead. Here a failed heartbeat is
    logged once and tried again at the next beat.
    """

    _beat_failing = False

    def record_heartbeat(self, trial_id: int) -> None:
        try:
            super().record_heartbeat(trial_id)
        except Exception as exc:
            if not _is_connection_error(exc):
                raise
            if not self._beat_failing:
                _log.warning(
                    "heartbeat for trial id %s not recorded (%s); retrying at the next beat", trial_id, _first_line(exc)
                )
            self._beat_failing = True
        else:
            self._beat_failing = False


def _retry_stale(url: str) -> Callable[[optuna.Study, FrozenTrial], None]:
    """Queue one retry of a dead worker's trial and give its budget slot to that retry.

    Only a trial that is retried gives its slot back: a retry that dies too stays a counted
    failure, so the study still ends at exactly its budget.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        retry = RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY)

    def on_stale(study: optuna.Study, trial: FrozenTrial) -> None:
        if len(trial.system_attrs.get("retry_history", [])) + 1 > MAX_RETRY:
            _log.warning(
                "trial %d of %s went stale again; not retried (counted as failed)", trial.number, study.study_name
            )
            return
        retry(study, trial)
        _db_retry(lambda: release_slot(url, study.study_name), url, "giving back a budget slot")
        _log.warning(
            "trial %d of %s had no heartbeat for more than %s s (its worker died): marked failed, retried once",
            trial.number,
            study.study_name,
            heartbeat_settings()[1],
        )

    return on_stale


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")


def _sqlite_transactions(
    conn: sa.Connection, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    """Make Optuna's read-then-write steps atomic on SQLite, so two processes cannot run one trial.

    Optuna pops a queued (WAITING) trial by reading its state with ``SELECT … FOR UPDATE`` and then
    setting it RUNNING. SQLite ignores FOR UPDATE, and Python's sqlite3 runs that read outside any
    transaction, so two workers could both see the same trial waiting and both run it (seen here:
    "Cannot tell a COMPLETE trial", about 1 queued trial in 15 taken twice). With the driver's own
    transaction handling off, this hook opens the transaction itself: ``BEGIN IMMEDIATE`` (SQLite's
    write lock) before a locking read or the first write; plain reads stay outside a transaction,
    as before, so readers never wait. PostgreSQL honours FOR UPDATE and needs none of this.
    """
    raw = conn.connection.driver_connection
    if raw is None or raw.in_transaction:
        return
    compiled = getattr(context, "compiled", None)
    locking = getattr(getattr(compiled, "statement", None), "_for_update_arg", None) is not None
    if locking or statement.lstrip()[:7].upper().startswith(_WRITES):
        cursor.execute("BEGIN IMMEDIATE")


def optuna_storage(url: str | None) -> RDBStorage:
    """Optuna RDB storage with heartbeats, stale-trial retry and budget give-back (one per URL)."""
    url = _resolved(url)
    with _cache_lock:
        cached = _storages.get(url)
        if cached is not None:
            return cached
        hb, grace = heartbeat_settings()
        engine_kwargs: dict[str, Any] = {"pool_pre_ping": True}
        if st.is_sqlite(url):
            # the driver's own transaction handling off: we begin every transaction ourselves
            engine_kwargs["connect_args"] = {"timeout": 60, "isolation_level": None}
        try:
            _enable_wal(url)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # heartbeat options are marked experimental
                storage = _Storage(
                    url,
                    engine_kwargs=engine_kwargs,
                    heartbeat_interval=hb,
                    grace_period=grace,
                    heartbeat_stale_trial_callback=_retry_stale(url),
                )
            if st.is_sqlite(url):
                sa.event.listen(storage.engine, "before_cursor_execute", _sqlite_transactions)
        except Exception as exc:  # driver/URL/connection problems are user-fixable
            raise _wrap_open_error(url, exc) from None
        _storages[url] = storage
        return storage


def dispose(url: str | None = None) -> None:
    """Close this process's connections to ``url`` (all URLs when None): tests, benchmarks."""
    with _cache_lock:
        keys = [u for u in set(_engines) | set(_storages) if url is None or u == url]
        for u in keys:
            eng = _engines.pop(u, None)
            if eng is not None:
                eng.dispose()
            storage = _storages.pop(u, None)
            if storage is not None:
                storage.engine.dispose()


def claim_slot(url: str | None, study_name: str) -> bool:
    """Atomically take one trial of the global budget; False when the budget is spent."""
    t = budget_table
    with engine(url).begin() as con:
        res = con.execute(
            sa.update(t)
            .where(t.c.study_name == study_name)
            .where(sa.or_(t.c.n_trials.is_(None), t.c.claimed < t.c.n_trials))
            .values(claimed=t.c.claimed + 1)
        )
        return res.rowcount == 1


def release_slot(url: str | None, study_name: str) -> None:
    t = budget_table
    with engine(url).begin() as con:
        con.execute(
            sa.update(t).where(t.c.study_name == study_name).where(t.c.claimed > 0).values(claimed=t.c.claimed - 1)
        )


def set_budget(url: str | None, study_name: str, n_trials: int | None) -> None:
    t = budget_table
    with engine(url).begin() as con:
        row = con.execute(sa.select(t.c.claimed).where(t.c.study_name == study_name)).first()
        if row is None:
            con.execute(sa.insert(t).values(study_name=study_name, n_trials=n_trials, claimed=0))
        else:
            con.execute(sa.update(t).where(t.c.study_name == study_name).values(n_trials=n_trials))


def budget(url: str | None, study_name: str) -> tuple[int | None, int]:
    """(the study's trial budget or None, slots claimed so far by all workers)."""
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


def typical_params(family: str) -> dict[str, Any]:
    """The deterministic "typical" configuration of a family that the warm start enqueues."""
    return fam.get(family).space(_Midpoint())


class _Midpoint:
    """A deterministic "typical" configuration per family, used to warm-start the search."""

    def suggest_float(self, name, low, high, *, log=False):
        return float(math.sqrt(low * high)) if log else (low + high) / 2

    def suggest_int(self, name, low, high, *, log=False):
        return int(round(math.sqrt(low * high))) if log else (low + high) // 2

    def suggest_categorical(self, name, choices):
        return choices[0]


def make_sampler(spec: Spec, *, n_trials: int | None = None, seed: int | None = None) -> optuna.samplers.BaseSampler:
    """Samplers tuned to a meeting-sized budget (tens of trials, not thousands).

    NSGA-II is the default (``core.spec.DEFAULT_SAMPLER``). Its default population (50) spends a
    60-trial budget almost entirely on its random first generation; we size the population to the
    budget instead. On our conditional space Optuna's NSGA-II crosses over only what every trial
    shares, ``family``, and draws each family parameter at random: in effect random search with an
    elite choice of family. A variant that bred family parameters from same-family parents (tried
    2026-12-01, bench/README.md) concentrated on a few families and did worse than random search on
    the demo (0.97×), so the default stays this. TPE is multivariate and grouped, because the space
    is conditional on the family.
    ``seed`` overrides the spec's seed: workers on one study must not share a seed, or each would
    propose the same configurations.
    """
    k = len(spec.objectives)
    spec_seed = spec.seed if seed is None else seed
    spec = _with_seed(spec, spec_seed)
    constraints = _constraints_func(k) if spec.has_limits else None
    budget_n = n_trials or spec.budget.n_trials or 100
    if spec.sampler == "nsga2":
        pop = int(max(8, min(50, budget_n // 4)))
        return optuna.samplers.NSGAIISampler(population_size=pop, seed=spec.seed, constraints_func=constraints)
    if spec.sampler == "tpe":
        # constant_liar: parallel workers treat each other's running trials as bad results, so
        # two workers do not propose the same configuration at the same moment.
        return optuna.samplers.TPESampler(
            seed=spec.seed,
            multivariate=True,
            group=True,
            constant_liar=True,
            n_startup_trials=int(max(5, min(20, budget_n // 5))),
            constraints_func=constraints,
        )
    if spec.sampler == "random":
        return optuna.samplers.RandomSampler(seed=spec.seed)
    if spec.sampler == "gp":
        try:
            import torch  # noqa: F401
        except ImportError:
            raise UserInputError(
                "The GP sampler needs PyTorch, which is not installed. Install it with "
                "`pip install -e '.[gp]'` or choose nsga2, tpe or random.",
                field="sampler",
            ) from None
        return optuna.samplers.GPSampler(seed=spec.seed, constraints_func=constraints)
    raise UserInputError(f"Unknown sampler {spec.sampler!r}.", field="sampler")


def _with_seed(spec: Spec, seed: int) -> Spec:
    from dataclasses import replace

    return spec if spec.seed == seed else replace(spec, seed=seed)


def worker_seed(spec_seed: int, ordinal: int, worker_id: str) -> int:
    """The sampler seed of a study's ``ordinal``-th worker (0-based, in order of joining).

    The first worker keeps the spec's seed, so a search run by one process is reproducible; every
    later one (a second machine, or a resumed search) draws from its own stream. Identical seeds
    in two workers would make them sample identical configurations and waste the budget.
    """
    if ordinal == 0:
        return spec_seed
    import hashlib

    digest = hashlib.sha256(f"{spec_seed}:{ordinal}:{worker_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def _constraints_func(k: int) -> Callable[[FrozenTrial], list[float]]:
    def constraints(trial: FrozenTrial) -> list[float]:
        return list(trial.user_attrs.get("constraints", [1.0]))

    return constraints


def create_study(
    spec: Spec, url: str | None = None, name: str | None = None, *, warm_start: bool = True, n_trials: int | None = None
) -> optuna.Study:
    """Create the study (or open it again for the same spec) and record the data fingerprint.

    Opening an existing name with a different spec is refused, because mixing two specs' trials
    in one front would compare different things.
    """
    url = st.resolve(url)
    ds = load_dataset(spec.data)  # validates the data before anything is written
    spec = spec.with_fingerprint(ds.fingerprint)
    name = name or default_study_name(spec)
    storage = optuna_storage(url)
    existing = set(optuna.get_all_study_names(storage))  # summaries scan every trial: slow
    if name in existing:
        study = optuna.load_study(study_name=name, storage=storage)
        stored = study.user_attrs.get(ATTR_SPEC)
        if stored is not None and _spec_key(Spec.from_dict(stored)) != _spec_key(spec):
            raise UserInputError(
                f"A study named {name!r} already exists with a different spec. Resume it with its own "
                "spec, or choose another study name.",
                field="study",
            )
    else:
        study = optuna.create_study(study_name=name, storage=storage, directions=[o.direction for o in spec.objectives])
        study.set_user_attr(ATTR_SPEC, spec.to_dict())
        study.set_user_attr("created_at", _now().isoformat())
        study.set_user_attr("data_notes", ds.notes)
        study.set_user_attr("objective_names", spec.objective_names)
        if warm_start and spec.sampler != "random":
            for f in spec.families:
                params = typical_params(f)
                study.enqueue_trial(fam.flat_params(f, params), skip_if_exists=True)
    # The spec's budget (or the explicit n_trials) is the study's total: reopening with a larger
    # one tops the study up, a smaller one stops it where it is.
    total = n_trials if n_trials is not None else spec.budget.n_trials
    set_budget(url, name, total)
    if name in existing and study.user_attrs.get(ATTR_SPEC) != spec.to_dict():
        study.set_user_attr(ATTR_SPEC, spec.to_dict())
    return study


def load_spec(study: optuna.Study) -> Spec:
    raw = study.user_attrs.get(ATTR_SPEC)
    if raw is None:
        raise UserInputError(f"Study {study.study_name!r} was not made by Tradeoff Room (no spec).", field="study")
    return Spec.from_dict(raw)


def open_study(url: str | None, name: str) -> optuna.Study:
    url = st.resolve(url)
    storage = optuna_storage(url)
    names = optuna.get_all_study_names(storage)
    if name not in names:
        listing = ", ".join(names) if names else "none yet"
        raise UserInputError(f"No study named {name!r} in {st.mask(url)}. Studies: {listing}.", field="study")
    return optuna.load_study(study_name=name, storage=storage)


def list_studies(url: str | None = None) -> list[optuna.study.StudySummary]:
    return optuna.get_all_study_summaries(optuna_storage(st.resolve(url)))


def request_cancel(study: optuna.Study, cancel: bool = True) -> None:
    """Ask every worker to stop after its current trial (they check between trials)."""
    study.set_user_attr(ATTR_CANCEL, bool(cancel))


# -- objective --------------------------------------------------------------------------------------


def _set_attrs(trial: optuna.Trial, attrs: dict[str, Any], url: str | None) -> None:
    """Write user attributes, riding out a database blip (each write is idempotent)."""
    for key, value in attrs.items():
        if url is None:
            trial.set_user_attr(key, value)
        else:
            _db_retry(lambda k=key, v=value: trial.set_user_attr(k, v), url, f"writing trial {trial.number}")


@dataclass
class _Current:
    """What this worker knows about the trial it runs, to finish it after a lost connection."""

    number: int | None = None
    values: tuple[float, ...] | None = None


class _Gate:
    """Where Ctrl-C / SIGTERM may land: inside the model fit or between trials, nowhere else.

    A KeyboardInterrupt in the middle of claiming a budget slot or writing a trial would leave the
    budget off by one or a trial half-written; instead the signal is noted and acted on at the next
    safe point. A second signal while one is pending acts at once (the user insists). Python runs
    signal handlers in the main thread only, so this is installed only there.
    """

    def __init__(self) -> None:
        self.pending: str | None = None
        self._open = False
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[sig] = signal.signal(sig, self._handler)
            except (ValueError, OSError):
                pass

    def uninstall(self) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous if previous is not None else signal.SIG_DFL)
        self._previous.clear()

    def _handler(self, signum: int, frame: Any) -> None:  # noqa: ARG002
        name = signal.Signals(signum).name
        if self._open or self.pending is not None:
            self.pending = self.pending or name
            raise KeyboardInterrupt(name)
        self.pending = name

    def checkpoint(self) -> None:
        if self.pending is not None:
            raise KeyboardInterrupt(self.pending)

    @contextlib.contextmanager
    def opened(self) -> Iterator[None]:
        self.checkpoint()
        self._open = True
        try:
            yield
        finally:
            self._open = False

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> None:
        with self.opened():
            if stop is not None:
                stop.wait(seconds)
            else:
                time.sleep(seconds)


class _QuietInterrupts(logging.Filter):
    """Optuna logs a failed trial with its traceback; for an interrupt or a lost database that is
    noise (the worker says what happened in one line), so keep the message and drop the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and (isinstance(exc, (KeyboardInterrupt, StorageUnavailable)) or _is_connection_error(exc)):
            record.exc_info, record.exc_text = None, None
        return True


def make_objective(
    spec: Spec,
    ds: Dataset,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
    *,
    url: str | None = None,
    gate: _Gate | None = None,
    current: _Current | None = None,
    on_start: Callable[[int], None] | None = None,
) -> Callable[[optuna.Trial], tuple[float, ...]]:
    """The Optuna objective: fit and measure one configuration, store every metric.

    Every metric is written before the values are returned, so a trial is COMPLETE only with all
    its attributes. With a ``gate``, a Ctrl-C/SIGTERM can only interrupt the fit itself.
    """

    def objective(trial: optuna.Trial) -> tuple[float, ...]:
        if current is not None:
            current.number, current.values = trial.number, None
        if on_start is not None:
            on_start(trial.number)
        family, params = fam.suggest(trial, spec.families)
        _set_attrs(trial, {"family": family, "family_class": fam.get(family).klass}, url)
        try:
            with gate.opened() if gate is not None else contextlib.nullcontext():
                ev = evaluate(family, params, ds, train_idx, test_idx, spec)
        except KeyboardInterrupt as exc:
            why = str(exc) or "SIGINT"
            _set_attrs(
                trial,
                {ATTR_INTERRUPTED: True, "error": f"interrupted by {why}: abandoned, not counted in the budget"},
                url,
            )
            raise
        except Exception as exc:
            _set_attrs(trial, {"error": f"{type(exc).__name__}: {exc}"[:2000]}, url)
            raise
        values = []
        for o in spec.objectives:
            v = ev.metrics[o.name]
            if v is None or not math.isfinite(v):
                raise ValueError(f"{o.name} is not a finite number ({v}) for this configuration")
            values.append(float(v))
        _set_attrs(
            trial,
            {
                "metrics": ev.metrics,
                "test_metrics": ev.test,
                "cv_std": ev.cv_std,
                "threshold": ev.threshold,
                "groups_test": json.loads(ev.groups_test.to_json(orient="records")),
                "constraints": [o.violation(ev.metrics[o.name]) for o in spec.objectives if o.limit is not None]
                or [-1.0],
                "timings": ev.timings,
            },
            url,
        )
        if current is not None:
            current.values = tuple(values)
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


def _abandoned(t: FrozenTrial) -> bool:
    """A failed trial that used no budget: interrupted by Ctrl-C/SIGTERM, or never started its fit."""
    return bool(t.user_attrs.get(ATTR_INTERRUPTED)) or ("family" not in t.user_attrs and not t.params)


def counted(trials: list[FrozenTrial]) -> tuple[int, int]:
    """Trials that used budget and, of those, failures.

    Counted: complete and pruned trials, and failed ones that were not retried (a retried trial's
    retry counts instead) and not abandoned (an interrupted trial gave its slot back).
    """
    retried: set[int] = set()
    for t in trials:
        if "failed_trial" in t.system_attrs:
            retried.add(t.system_attrs["failed_trial"])
            retried.update(t.system_attrs.get("retry_history", []))
    done = failed = 0
    for t in trials:
        if t.state == TrialState.COMPLETE or t.state == TrialState.PRUNED:
            done += 1
        elif t.state == TrialState.FAIL and t.number not in retried and not _abandoned(t):
            done += 1
            failed += 1
    return done, failed


def progress_of(study: optuna.Study, url: str, started: float) -> Progress:
    from core.decide import front

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
    return Progress(
        done=done,
        budget=n_budget,
        failed=failed,
        elapsed_s=time.monotonic() - started,
        last_trial=None if last is None else last.number,
        last_state=None if last is None else last.state.name,
        hypervolume=hv,
        best=best,
    )


def _db_time(con: sa.Connection) -> datetime:
    """The database's clock (UTC), so "last seen" compares across machines whose clocks differ."""
    if con.dialect.name == "sqlite":
        return _now()
    value = con.execute(sa.select(sa.func.now())).scalar()
    return _as_utc(value) if isinstance(value, datetime) else _now()


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class _Registry:
    """This worker's row in ``tradeoff_workers`` so the app can show who is doing what.

    A background thread refreshes ``last_seen`` every heartbeat, also during a long fit, so a row
    whose ``last_seen`` is older than the grace period means the worker is gone ("lost").
    """

    def __init__(self, url: str, study_name: str) -> None:
        import uuid

        self.url, self.id = url, uuid.uuid4().hex[:12]
        self._stop = threading.Event()
        self._warned = False
        self._lock = threading.Lock()

        def insert() -> None:
            with engine(url).begin() as con:
                now = _db_time(con)
                con.execute(
                    sa.insert(workers_table).values(
                        worker_id=self.id,
                        study_name=study_name,
                        host=socket.gethostname()[:255],
                        pid=os.getpid(),
                        state="starting",
                        trials_done=0,
                        started_at=now,
                        last_seen=now,
                    )
                )

        _db_retry(insert, url, "registering the worker")
        self.ordinal = _db_retry(lambda: self._ordinal(study_name), url, "registering the worker")
        self._thread = threading.Thread(target=self._beat, name="tradeoff-worker-heartbeat", daemon=True)
        self._thread.start()

    def _ordinal(self, study_name: str) -> int:
        """How many other workers this one sees registered on the study, counted after its own
        registration was committed.

        Not by start time: MySQL/MariaDB store it to the second, and two workers started together
        both counted 0 and drew the same seed. Counting every other committed row makes 0 unique:
        of two workers, the one that committed later always sees the other (both may see each
        other and both count 1, which only means neither keeps the spec's seed).
        """
        t = workers_table
        with engine(self.url).connect() as con:
            return int(
                con.execute(
                    sa.select(sa.func.count())
                    .select_from(t)
                    .where(t.c.study_name == study_name, t.c.worker_id != self.id)
                ).scalar_one()
            )

    def _beat(self) -> None:
        interval = heartbeat_settings()[0]
        while not self._stop.wait(interval):
            self.update()

    def update(self, **values: Any) -> None:
        if "state" in values and values["state"] is not None:
            values["state"] = str(values["state"])[:32]
        try:
            with self._lock, engine(self.url).begin() as con:
                con.execute(
                    sa.update(workers_table)
                    .where(workers_table.c.worker_id == self.id)
                    .values(last_seen=_db_time(con), **values)
                )
            self._warned = False
        except Exception as exc:  # the registry is informational; never fail a search over it
            if not self._warned:
                _log.warning("worker registry not updated (%s)", _first_line(exc))
            self._warned = True

    def close(self, **values: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.update(**values)


def workers(url: str | None, study_name: str) -> list[dict[str, Any]]:
    """Every worker that joined the study, oldest first, with what the app shows.

    Keys: worker_id, study_name, host, pid, state (starting|running|idle|waiting|reconnecting|
    finished|interrupted|failed), current_trial, trials_done, started_at, last_seen, message, plus
    ``age_s`` (seconds since last seen, by the database's clock), ``lost`` (an unfinished worker
    silent for longer than the grace period: killed, crashed or cut off) and ``status`` (``state``,
    or "lost").
    """
    url = st.resolve(url)
    t = workers_table
    grace = heartbeat_settings()[1]
    with engine(url).connect() as con:
        now = _db_time(con)
        rows = (
            con.execute(sa.select(t).where(t.c.study_name == study_name).order_by(t.c.started_at, t.c.worker_id))
            .mappings()
            .all()
        )
    out = []
    for r in rows:
        d = dict(r)
        seen = d.get("last_seen")
        age = max(0.0, (now - _as_utc(seen)).total_seconds()) if isinstance(seen, datetime) else None
        ended = str(d.get("state") or "") in ("finished", "interrupted", "failed") or str(
            d.get("state") or ""
        ).startswith("finished")
        d["age_s"] = age
        d["lost"] = bool(not ended and age is not None and age > grace)
        d["status"] = "lost" if d["lost"] else d.get("state")
        out.append(d)
    return out


def _running_trials(study: optuna.Study) -> list[FrozenTrial]:
    return study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))


def _fail_stale(study: optuna.Study, url: str, orphans: dict[int, float]) -> None:
    """Fail trials whose worker is gone, and RUNNING trials that never started their fit.

    Optuna's ``fail_stale_trials`` handles trials with a heartbeat; a trial whose worker lost the
    database between creating it and its first heartbeat has none and would stay RUNNING for ever.
    Such an orphan is failed once it has been seen for longer than the grace period (by this
    process's clock, so machines' clocks need not agree); it used no budget (its worker gave the
    slot back) and a queued configuration it held is queued again.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        optuna.storages.fail_stale_trials(study)
    storage = optuna_storage(url)
    grace = heartbeat_settings()[1]
    running = _running_trials(study)
    if not running:
        orphans.clear()
        return
    ids = [t._trial_id for t in running]
    query = sa.text("SELECT trial_id FROM trial_heartbeats WHERE trial_id IN :ids").bindparams(
        sa.bindparam("ids", expanding=True)
    )  # Optuna's heartbeat table (stable since Optuna 2.9)
    with storage.engine.connect() as con:
        beating = {row[0] for row in con.execute(query, {"ids": ids})}
    now = time.monotonic()
    for t in running:
        if t._trial_id in beating:
            orphans.pop(t._trial_id, None)
            continue
        first = orphans.setdefault(t._trial_id, now)
        if now - first <= grace:
            continue
        orphans.pop(t._trial_id, None)
        try:
            storage.set_trial_user_attr(
                t._trial_id, "error", "abandoned before its fit started (its worker lost the database); not counted"
            )
            storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL)
        except UpdateFinishedTrialError:
            continue
        fixed = t.system_attrs.get("fixed_params")
        if fixed:
            study.enqueue_trial(fixed, skip_if_exists=False)
        _log.warning(
            "trial %d of %s never started (no heartbeat): marked failed, not counted", t.number, study.study_name
        )


def _finish_after_error(study: optuna.Study, url: str, cur: _Current, exc: BaseException, registry: _Registry) -> str:
    """Put the trial this worker was running into a final, consistent state after a storage error.

    Returns what happened: "completed" or "failed" (the trial counts), "retried" (failed and queued
    again, slot given back), "released" (no trial was created; slot given back), "taken" (another
    worker had already failed it as stale and queued its retry).
    """
    registry.update(state="reconnecting", message=_first_line(exc))
    _db_retry(lambda: _ping(url), url, "reconnecting")
    if cur.number is None:
        _db_retry(lambda: release_slot(url, study.study_name), url, "giving back a budget slot")
        return "released"
    storage = optuna_storage(url)

    def fetch() -> FrozenTrial:
        trial_id = storage.get_trial_id_from_study_id_trial_number(study._study_id, cur.number)
        return storage.get_trial(trial_id)

    trial = _db_retry(fetch, url, "reading back the trial")
    if trial.state == TrialState.COMPLETE:
        return "completed"
    if trial.state == TrialState.FAIL:
        retried = _db_retry(
            lambda: any(
                trial.number in t.system_attrs.get("retry_history", []) for t in study.get_trials(deepcopy=False)
            ),
            url,
            "reading the study",
        )
        return "taken" if retried else "failed"
    if trial.state == TrialState.RUNNING and cur.values is not None:
        _db_retry(
            lambda: study.tell(cur.number, list(cur.values), skip_if_finished=True),
            url,
            f"finishing trial {cur.number}",
        )
        return "completed"
    if trial.state == TrialState.RUNNING:
        _db_retry(
            lambda: storage.set_trial_user_attr(
                trial._trial_id, "error", f"database connection lost during the trial ({_first_line(exc)})"
            ),
            url,
            f"failing trial {cur.number}",
        )
        _db_retry(
            lambda: study.tell(cur.number, state=TrialState.FAIL, skip_if_finished=True),
            url,
            f"failing trial {cur.number}",
        )
        _retry_stale(url)(study, _db_retry(fetch, url, "reading back the trial"))
        return "retried"
    return "failed"


def _requeue_fixed(study: optuna.Study, number: int | None) -> None:
    """Queue a queued configuration (a warm-start one) again when its trial was abandoned, so the
    next run still tries it; a sampled configuration is simply dropped."""
    if number is None:
        return
    try:
        trial = study.get_trials(deepcopy=False)[number]
        fixed = trial.system_attrs.get("fixed_params")
        if fixed and trial.state == TrialState.FAIL:
            study.enqueue_trial(fixed, skip_if_exists=False)
    except Exception as exc:  # best effort: never turn a clean interrupt into a traceback
        _log.warning("could not queue trial %s's configuration again (%s)", number, _first_line(exc))


def _ping(url: str) -> None:
    with engine(url).connect() as con:
        con.execute(sa.text("SELECT 1"))


def run(
    study_name: str,
    url: str | None = None,
    *,
    max_trials: int | None = None,
    timeout_s: float | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    stop: threading.Event | None = None,
) -> RunResult:
    """Work on a study until its budget is spent, it is cancelled, or a local limit is reached.

    ``max_trials``/``timeout_s`` limit this call only (a worker's share); the study's own budget
    (trials in ``tradeoff_budget``, minutes from the spec) is global across all workers. When the
    budget is all claimed but other workers' trials still run, this worker waits and watches them,
    so that a trial whose worker dies is still retried. Ctrl-C/SIGTERM raise KeyboardInterrupt after
    the running trial was abandoned cleanly (see the module docstring).
    """
    url = st.resolve(url)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = open_study(url, study_name)
    spec = load_spec(study)
    ds = load_dataset(spec.data)
    train_idx, test_idx = split(ds, spec.validation, spec.seed)
    n_budget, _ = budget(url, study_name)
    hb, _grace = heartbeat_settings()
    if ATTR_STARTED not in study.user_attrs:
        study.set_user_attr(ATTR_STARTED, time.time())
    global_deadline = (
        float(study.user_attrs[ATTR_STARTED]) + spec.budget.timeout_s if spec.budget.timeout_s else math.inf
    )
    local_deadline = time.time() + timeout_s if timeout_s else math.inf
    started = time.monotonic()
    gate = _Gate()
    gate.install()
    quiet = _QuietInterrupts()
    optuna_log = logging.getLogger("optuna.study._optimize")
    optuna_log.addFilter(quiet)
    registry: _Registry | None = None
    ran, reason, final_state = 0, "budget spent", "finished"
    progress: Progress | None = None
    cur = _Current()
    holding = False  # a budget slot is claimed and its trial not yet final
    orphans: dict[int, float] = {}

    def on_start(number: int) -> None:
        registry.update(state="running", current_trial=number, message=None)  # type: ignore[union-attr]

    objective = make_objective(spec, ds, train_idx, test_idx, url=url, gate=gate, current=cur, on_start=on_start)

    def after_trial(study_: optuna.Study, trial: FrozenTrial) -> None:
        nonlocal progress, ran
        ran += 1
        registry.update(state="idle", current_trial=None, trials_done=ran)  # type: ignore[union-attr]
        if on_progress is not None:
            progress = progress_of(study_, url, started)
            on_progress(progress)

    def next_slot() -> str | None:
        """Claim a budget slot (None) or say why this worker stops."""
        while True:
            gate.checkpoint()
            if stop is not None and stop.is_set():
                return "stopped"
            if _db_retry(lambda: study.user_attrs.get(ATTR_CANCEL), url, "reading the study"):
                return "cancelled"
            if time.time() >= min(global_deadline, local_deadline):
                return "time budget spent"
            if max_trials is not None and ran >= max_trials:
                return "worker trial limit reached"
            if _db_retry(lambda: claim_slot(url, study_name), url, "claiming a budget slot"):
                return None
            # all slots claimed: finished, or others still running (and may die: watch them)
            _db_retry(lambda: _fail_stale(study, url, orphans), url, "checking for dead workers")
            if _db_retry(lambda: claim_slot(url, study_name), url, "claiming a budget slot"):
                return None
            running = _db_retry(lambda: len(_running_trials(study)), url, "reading the study")
            if running == 0:
                return "budget spent"
            registry.update(
                state="waiting",
                current_trial=None,  # type: ignore[union-attr]
                message=f"budget claimed; watching {running} running trial(s)",
            )
            gate.sleep(hb, stop)

    try:
        registry = _Registry(url, study_name)
        study.sampler = make_sampler(
            spec, n_trials=n_budget, seed=worker_seed(spec.seed, registry.ordinal, registry.id)
        )
        while True:
            cur.number, cur.values = None, None
            why = next_slot()
            if why is not None:
                reason = why
                break
            holding = True
            done_before = ran
            try:
                study.optimize(
                    objective,
                    n_trials=1,
                    catch=(Exception,),
                    callbacks=[after_trial],
                    gc_after_trial=False,
                    show_progress_bar=False,
                )
                holding = False
            except KeyboardInterrupt:
                raise
            except Exception as exc:
                if not (_is_connection_error(exc) or isinstance(exc, (UpdateFinishedTrialError, StorageUnavailable))):
                    raise
                outcome = _finish_after_error(study, url, cur, exc, registry)
                holding = False
                if outcome in ("completed", "failed") and ran == done_before:
                    ran += 1
                registry.update(
                    state="idle",
                    current_trial=None,
                    trials_done=ran,
                    message=f"recovered from a lost database connection: trial {cur.number} {outcome}",
                )
                _log.warning("recovered from a lost database connection: trial %s %s", cur.number, outcome)
    except KeyboardInterrupt as exc:
        reason, final_state = f"interrupted by {exc or 'SIGINT'}", "interrupted"
        if holding and cur.values is None:
            # the fit was abandoned: Optuna marked the trial failed; it does not count, so its slot
            # goes back to the budget for another worker
            _db_retry(lambda: release_slot(url, study_name), url, "giving back a budget slot")
            _requeue_fixed(study, cur.number)
            _log.warning(
                "interrupted: trial %s abandoned (marked failed, not counted, budget slot given back)", cur.number
            )
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
        if registry is not None:
            registry.close(state=final_state, current_trial=None, trials_done=ran, message=reason)
    return RunResult(study_name=study_name, trials_run=ran, stopped_because=reason, progress=progress)
