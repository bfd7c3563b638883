"""The search: a multi-objective Optuna study per spec, run by any number of workers on one machine
or many, with an exact global budget, dead workers' trials retried once, and a fast trial reader.

Shape: the spec lives in the study's user attributes; every trial stores every metric (a few JSON
user attributes, so optuna-dashboard shows them too); hard limits are Optuna constraints, so
infeasible trials stay in the study, visible and marked.

What keeps the count exact and loses nothing when many workers share one study:

* **Global budget** (:mod:`._budget`). Optuna's ``MaxTrialsCallback`` only checks after a trial
  ends, so N workers overshoot by up to N−1; instead each worker atomically claims a slot in
  ``tradeoff_budget`` before it asks for a trial. A trial that does not count (abandoned by
  Ctrl-C/SIGTERM, or failed as stale and retried) gives its slot back.
* **A worker that dies** (:mod:`._recovery`; SIGKILL, power cut, lost network) stops
  heart-beating; after ``GRACE_S`` any other worker marks its running trial failed and queues one
  retry of the same configuration (system attributes ``failed_trial``/``retry_history``). A worker
  whose budget is all claimed keeps watching while other trials still run.
* **Ctrl-C / SIGTERM** (:mod:`._signals`) are acted on only inside the model fit (the trial is
  abandoned: failed with the user attribute ``interrupted``, not counted, slot given back) or
  between trials; never half-way through writing a trial or the budget.
* **SQLite** (:mod:`._storage`) serves several workers on one machine: WAL mode, and Optuna's
  locking reads made atomic (SQLite ignores ``FOR UPDATE``).
* **Losing the database** (:mod:`._errors`): every write is retried until the database answers
  again (``TRADEOFF_DB_RETRY_S``, default 60 s); the running trial is then finished (if its
  metrics were computed) or failed and retried. If the database stays away the worker exits with a
  one-line message. A trial is only ever COMPLETE after all its metrics were written.

Settings (environment, read when the storage is first opened in a process): ``TRADEOFF_HEARTBEAT_S``
(default 5), ``TRADEOFF_GRACE_S`` (default 20, must exceed the heartbeat), ``TRADEOFF_DB_RETRY_S``.
"""

from __future__ import annotations

from core.search._budget import budget, budget_table, claim_slot, release_slot, set_budget
from core.search._engine import engine
from core.search._errors import StorageUnavailable
from core.search._frame import BASE_COLUMNS, trials_frame
from core.search._limits import (
    BREAKS_SEARCH,
    BREAKS_TEST,
    HOLDS,
    NOT_FINISHED,
    STATUS_TEXT,
    UNTESTED,
    check_status,
    feasible_mask,
    limit_check,
    limit_checks,
    limits_status,
    with_limits,
)
from core.search._objective import ATTR_DUPLICATE, ATTR_INTERRUPTED, make_objective
from core.search._predictions import (
    ATTR_CURVE,
    ATTR_PREDICTIONS,
    decode_scores,
    encode_scores,
    read_curve,
    read_predictions,
)
from core.search._progress import N_BOUNDS, Progress, RunResult, counted, progress_of, run_bounds
from core.search._registry import stalled_note, stalled_trials, workers, workers_table
from core.search._samplers import SAMPLER_FACTORIES, make_sampler, worker_seed
from core.search._settings import (
    DB_RETRY_S,
    ENV_DB_RETRY,
    ENV_GRACE,
    ENV_HEARTBEAT,
    GRACE_S,
    HEARTBEAT_S,
    MAX_RETRY,
    db_retry_s,
    heartbeat_settings,
)
from core.search._storage import dispose, optuna_storage
from core.search._study import (
    ATTR_CANCEL,
    ATTR_SPEC,
    ATTR_STARTED,
    create_study,
    default_study_name,
    list_studies,
    load_spec,
    open_study,
    request_cancel,
    typical_params,
)
from core.search._worker import run
from core.search.artifacts import delete_study_artifacts, load_model, load_predictions, save_model, save_predictions

__all__ = [
    "ATTR_CANCEL",
    "ATTR_CURVE",
    "ATTR_PREDICTIONS",
    "decode_scores",
    "encode_scores",
    "read_curve",
    "read_predictions",
    "ATTR_DUPLICATE",
    "ATTR_INTERRUPTED",
    "ATTR_SPEC",
    "ATTR_STARTED",
    "BASE_COLUMNS",
    "BREAKS_SEARCH",
    "BREAKS_TEST",
    "DB_RETRY_S",
    "ENV_DB_RETRY",
    "ENV_GRACE",
    "ENV_HEARTBEAT",
    "GRACE_S",
    "HEARTBEAT_S",
    "HOLDS",
    "MAX_RETRY",
    "NOT_FINISHED",
    "N_BOUNDS",
    "SAMPLER_FACTORIES",
    "STATUS_TEXT",
    "UNTESTED",
    "Progress",
    "RunResult",
    "StorageUnavailable",
    "budget",
    "budget_table",
    "check_status",
    "claim_slot",
    "counted",
    "create_study",
    "db_retry_s",
    "default_study_name",
    "dispose",
    "engine",
    "feasible_mask",
    "heartbeat_settings",
    "limit_check",
    "limit_checks",
    "limits_status",
    "list_studies",
    "load_spec",
    "make_objective",
    "make_sampler",
    "open_study",
    "optuna_storage",
    "progress_of",
    "release_slot",
    "request_cancel",
    "run",
    "run_bounds",
    "set_budget",
    "trials_frame",
    "typical_params",
    "with_limits",
    "worker_seed",
    "stalled_note",
    "stalled_trials",
    "workers",
    "workers_table",
    "delete_study_artifacts",
    "load_model",
    "load_predictions",
    "save_model",
    "save_predictions",
]
