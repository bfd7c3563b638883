"""What happens to a trial whose worker died or lost the database: failed once it is stale, retried
once with the same configuration (Optuna's ``RetryHeartbeatStaleTrialCallback``), its budget slot
handed to the retry, so the study still ends at exactly its budget and loses nothing."""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable

import optuna
import sqlalchemy as sa
from optuna.exceptions import UpdateFinishedTrialError
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.trial import FrozenTrial, TrialState

from core.search._budget import release_slot
from core.search._engine import ping
from core.search._errors import db_retry
from core.search._objective import Current
from core.search._registry import Registry
from core.search._settings import MAX_RETRY, heartbeat_settings
from core.storage.retry import first_line

_log = logging.getLogger("core.search")


def retry_stale(url: str) -> Callable[[optuna.Study, FrozenTrial], None]:
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
        db_retry(lambda: release_slot(url, study.study_name), url, "giving back a budget slot")
        _log.warning(
            "trial %d of %s had no heartbeat for more than %s s (its worker died): marked failed, retried once",
            trial.number,
            study.study_name,
            heartbeat_settings()[1],
        )

    return on_stale


def running_trials(study: optuna.Study) -> list[FrozenTrial]:
    return study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))


def _beating(storage: RDBStorage, ids: list[int]) -> set[int]:
    """Which of these trials ever recorded a heartbeat (Optuna's table, stable since Optuna 2.9)."""
    query = sa.text("SELECT trial_id FROM trial_heartbeats WHERE trial_id IN :ids").bindparams(
        sa.bindparam("ids", expanding=True)
    )
    with storage.engine.connect() as con:
        return {row[0] for row in con.execute(query, {"ids": ids})}


def fail_stale(study: optuna.Study, storage: RDBStorage, orphans: dict[int, float]) -> None:
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
    grace = heartbeat_settings()[1]
    running = running_trials(study)
    if not running:
        orphans.clear()
        return
    beating = _beating(storage, [t._trial_id for t in running])
    now = time.monotonic()
    for t in running:
        if t._trial_id in beating:
            orphans.pop(t._trial_id, None)
            continue
        first = orphans.setdefault(t._trial_id, now)
        if now - first > grace:
            orphans.pop(t._trial_id, None)
            _fail_orphan(study, storage, t)


def _fail_orphan(study: optuna.Study, storage: RDBStorage, t: FrozenTrial) -> None:
    try:
        storage.set_trial_user_attr(
            t._trial_id, "error", "abandoned before its fit started (its worker lost the database); not counted"
        )
        storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL)
    except UpdateFinishedTrialError:
        return
    fixed = t.system_attrs.get("fixed_params")
    if fixed:
        study.enqueue_trial(fixed, skip_if_exists=False)
    _log.warning("trial %d of %s never started (no heartbeat): marked failed, not counted", t.number, study.study_name)


def finish_after_error(
    study: optuna.Study, storage: RDBStorage, url: str, cur: Current, exc: BaseException, registry: Registry
) -> str:
    """Put the trial this worker was running into a final, consistent state after a storage error.

    Returns what happened: "completed" or "failed" (the trial counts), "retried" (failed and queued
    again, slot given back), "released" (no trial was created; slot given back), "taken" (another
    worker had already failed it as stale and queued its retry).
    """
    registry.update(state="reconnecting", message=first_line(exc))
    db_retry(lambda: ping(url), url, "reconnecting")
    number = cur.number
    if number is None:
        db_retry(lambda: release_slot(url, study.study_name), url, "giving back a budget slot")
        return "released"

    def fetch() -> FrozenTrial:
        trial_id = storage.get_trial_id_from_study_id_trial_number(study._study_id, number)
        return storage.get_trial(trial_id)

    trial = db_retry(fetch, url, "reading back the trial")
    if trial.state == TrialState.COMPLETE:
        return "completed"
    if trial.state == TrialState.FAIL:
        return "taken" if _was_retried(study, url, number) else "failed"
    if trial.state != TrialState.RUNNING:
        return "failed"
    values = cur.values
    if values is not None:
        db_retry(lambda: study.tell(number, list(values), skip_if_finished=True), url, f"finishing trial {number}")
        return "completed"
    reason = f"database connection lost during the trial ({first_line(exc)})"
    db_retry(lambda: storage.set_trial_user_attr(trial._trial_id, "error", reason), url, f"failing trial {number}")
    db_retry(lambda: study.tell(number, state=TrialState.FAIL, skip_if_finished=True), url, f"failing trial {number}")
    retry_stale(url)(study, db_retry(fetch, url, "reading back the trial"))
    return "retried"


def _was_retried(study: optuna.Study, url: str, number: int) -> bool:
    return db_retry(
        lambda: any(number in t.system_attrs.get("retry_history", []) for t in study.get_trials(deepcopy=False)),
        url,
        "reading the study",
    )


def requeue_fixed(study: optuna.Study, number: int | None) -> None:
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
        _log.warning("could not queue trial %s's configuration again (%s)", number, first_line(exc))
