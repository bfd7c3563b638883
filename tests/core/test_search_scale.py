"""One study, many workers, on a real PostgreSQL server: exact budget, dead workers, lost connections.

The budget and the dead-worker tests run on MariaDB too (the same code through SQLAlchemy).

Workers are real ``python -m core.cli worker`` processes. Heartbeat and grace are lowered through
the environment (TRADEOFF_HEARTBEAT_S=1, TRADEOFF_GRACE_S=3) so a dead worker's trial is retried in
seconds, not the production 20 s. Every test makes and drops its own database (tests/core/pg.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import optuna
import pytest
import sqlalchemy as sa
from optuna.trial import TrialState
from sqlalchemy.engine import make_url

from core import search
from core import storage as st
from core.search._recovery import fail_stale
from tests.conftest import make_small_spec
from tests.core.pg import (
    MARIADB,
    POSTGRES,
    pg_url,  # noqa: F401  (fixture)
    throwaway_database,
)

ROOT = Path(__file__).resolve().parents[2]
QUICK = ("logreg", "decision_tree", "naive_bayes")  # ~1 s per trial on the 1,500-row sample
PASSWORD = "s3cret-pw"  # trust auth ignores it; it must never be printed
FAST_HEARTBEAT = {search.ENV_HEARTBEAT: "1", search.ENV_GRACE: "3"}
# For tests in which no worker dies: a loaded CI machine can starve a live worker's heartbeat thread
# for more than 3 s, and its trial is then (rightly, by the rule) taken for dead and retried.
CALM = {search.ENV_GRACE: "60"}
ATTRS = ("metrics", "test_metrics", "cv_std", "threshold", "groups_test", "constraints", "timings")


# -- helpers ----------------------------------------------------------------------------------------


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(FAST_HEARTBEAT)
    env.update({"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"})
    env.pop(st.ENV_STORAGE, None)
    env.update(extra)
    return env


def worker(url: str, study: str, *extra: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """A real `tradeoff worker` process (the CLI entry point, not a function call)."""
    cmd = [sys.executable, "-m", "core.cli", "worker", "--storage", url, "--study", study, "--quiet", *extra]
    return subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env or _env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def finish(proc: subprocess.Popen, timeout: float = 120) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"worker did not finish in {timeout} s:\n{out}\n{err}")
    return proc.returncode, out, err


def wait_for(what: str, fn: Callable[[], object], timeout: float = 60, every: float = 0.05) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def trials(url: str, name: str) -> list[optuna.trial.FrozenTrial]:
    """Read the study through a plain storage (no heartbeat, no caches): what is really stored."""
    storage = optuna.storages.RDBStorage(url, engine_kwargs={"poolclass": sa.pool.NullPool})
    try:
        return optuna.load_study(study_name=name, storage=storage).get_trials()
    finally:
        storage.engine.dispose()


def running_in_fit(ts: list[optuna.trial.FrozenTrial]):
    """A RUNNING trial that has started its fit (its family is recorded), after ≥1 finished trial."""
    if not any(t.state == TrialState.COMPLETE for t in ts):
        return None
    return next((t for t in ts if t.state == TrialState.RUNNING and "family" in t.user_attrs), None)


def assert_whole(ts: list[optuna.trial.FrozenTrial]) -> None:
    """No half-written trial: every COMPLETE trial has every attribute; nothing left RUNNING."""
    for t in ts:
        assert t.state != TrialState.RUNNING, f"trial {t.number} left RUNNING"
        if t.state == TrialState.COMPLETE:
            missing = [a for a in ATTRS if a not in t.user_attrs]
            assert not missing, f"COMPLETE trial {t.number} lacks {missing}"
            assert len(t.values) == 3


@pytest.fixture(autouse=True)
def fast_heartbeat(monkeypatch):
    """The same short heartbeat/grace here as in the workers, so "lost" means the same to both."""
    for k, v in FAST_HEARTBEAT.items():
        monkeypatch.setenv(k, v)


def with_password(url: str) -> str:
    """The URL with a password in it (PostgreSQL's trust auth ignores it; it must never be printed)."""
    return make_url(url).set(password=PASSWORD).render_as_string(hide_password=False)


@pytest.fixture
def pg(pg_url):  # noqa: F811
    """The throwaway PostgreSQL database's URL, with a password."""
    url = with_password(pg_url)
    yield url
    search.dispose(url)


@pytest.fixture(
    params=[
        pytest.param(POSTGRES, id="postgres", marks=pytest.mark.postgres),
        pytest.param(MARIADB, id="mariadb", marks=pytest.mark.mysql),
    ]
)
def shared_db(request):
    """A throwaway database on each server kind a team may share; on PostgreSQL with a password
    in its URL (trust auth ignores it, MariaDB would refuse it) that must never be printed."""
    with throwaway_database(server=request.param) as raw:
        url = raw if request.param is MARIADB else with_password(raw)
        yield url
        search.dispose(url)


def make_study(url: str, small_csv: Path, name: str, trials_: int, latency_repeats: int = 20) -> None:
    from dataclasses import replace

    spec = make_small_spec(small_csv, families=QUICK, trials=trials_)
    spec = replace(spec, validation=replace(spec.validation, latency_repeats=latency_repeats))
    search.create_study(spec, url, name)


def pg_admin(sql: str, **params: object) -> None:
    from tests.core.pg import ADMIN_URL

    eng = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with eng.connect() as con:
            con.execute(sa.text(sql), params)
    finally:
        eng.dispose()


def outage(db: str, seconds: float = 0, until: Callable[[], object] | None = None) -> None:
    """What a database restart looks like to a worker: every connection cut, no new ones for a while
    (``seconds``, or until ``until()`` is true, at most 60 s).

    Done to our own throwaway database only; the shared server keeps running for everybody else.
    """
    pg_admin(f'ALTER DATABASE "{db}" ALLOW_CONNECTIONS false')
    try:
        pg_admin(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()",
            db=db,
        )
        if until is not None:
            wait_for("the end of the outage", until, timeout=60, every=0.2)
        else:
            time.sleep(seconds)
    finally:
        pg_admin(f'ALTER DATABASE "{db}" ALLOW_CONNECTIONS true')


# -- tests ------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_two_workers_reach_exactly_the_budget(shared_db, small_csv):
    pg = shared_db
    make_study(pg, small_csv, "two", 6)
    procs = [worker(pg, "two", env=_env(**CALM)), worker(pg, "two", env=_env(**CALM))]
    results = [finish(p) for p in procs]
    for rc, out, err in results:
        assert rc == 0, err
        assert PASSWORD not in out + err
        if make_url(pg).password:
            assert f"{make_url(pg).username}:***@" in out  # the URL is shown, masked

    ts = trials(pg, "two")
    assert len(ts) == 6 and [t.number for t in ts] == list(range(6))
    assert search.counted(ts) == (6, 0)
    assert_whole(ts)
    # each warm-start configuration ran exactly once although two workers popped the queue
    fixed = [tuple(sorted(t.system_attrs["fixed_params"].items())) for t in ts if "fixed_params" in t.system_attrs]
    assert len(fixed) == len(set(fixed)) == len(QUICK)
    # and the workers did not sample the same configurations (each draws from its own seed)
    configs = [tuple(sorted(t.params.items())) for t in ts]
    assert len(set(configs)) == len(configs), configs
    assert search.budget(pg, "two") == (6, 6)
    rows = search.workers(pg, "two")
    assert sorted(r["pid"] for r in rows) == sorted(p.pid for p in procs)
    assert all(r["status"] == "finished" and not r["lost"] for r in rows)
    assert sum(r["trials_done"] for r in rows) == 6
    assert all(r["trials_done"] >= 1 for r in rows), "both workers should have shared the work"


@pytest.mark.slow
def test_search_forks_its_helpers_on_a_shared_server(shared_db, small_csv, tmp_path):
    """``tradeoff search --workers 2`` as a user runs it: the helper is forked from it (it holds
    none of its connections) and the two reach the budget exactly; the parent still reads the
    study for its summary after the helper exits."""
    pg = shared_db
    spec_path = tmp_path / "spec.json"
    make_small_spec(small_csv, families=QUICK, trials=9).save(spec_path)
    cmd = [sys.executable, "-m", "core.cli", "search", str(spec_path), "--storage", pg, "--study", "fork"]
    env = _env(TRADEOFF_HOME=str(tmp_path / "home"), **CALM)
    proc = subprocess.run([*cmd, "--workers", "2"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert PASSWORD not in proc.stdout + proc.stderr
    assert "9 trial(s) run here" in proc.stdout
    logs = [p.read_text() for p in (tmp_path / "home" / "logs").glob("worker-*.log")]
    assert sum("worker forked from process" in text for text in logs) == 1
    assert not any("Traceback" in text or PASSWORD in text for text in logs)
    ts = trials(pg, "fork")
    assert search.counted(ts) == (9, 0) and search.budget(pg, "fork") == (9, 9)
    assert_whole(ts)
    rows = search.workers(pg, "fork")
    assert len({r["pid"] for r in rows}) == 2 and all(r["status"] == "finished" for r in rows)
    assert sum(r["trials_done"] for r in rows) == 9


def trials_by_number(url: str, name: str) -> dict[int, optuna.trial.FrozenTrial]:
    return {t.number: t for t in trials(url, name)}


#: trials of the killed-worker study: enough that a poll catches one in its fit (with 4, trials
#: made shorter by cheaper latency figures could all finish between two polls: CI timed out)
FAULT_TRIALS = 8


def _kill_a_worker_mid_trial(url: str, small_csv: Path, name: str):
    """A worker SIGKILLed in the same poll that saw its trial running (more latency calls make the
    trials longer): (the dead worker, its trial as seen, the trials finished before the kill)."""
    make_study(url, small_csv, name, FAULT_TRIALS, latency_repeats=400)
    a = worker(url, name)
    seen: dict[str, object] = {}

    def kill_in_fit():
        ts = trials(url, name)
        victim = running_in_fit(ts)
        if victim is not None:
            os.killpg(a.pid, signal.SIGKILL)
            seen["before"] = {t.number: t for t in ts if t.state == TrialState.COMPLETE}
        return victim

    victim = wait_for("a trial in its fit", kill_in_fit, timeout=90)
    a.wait(timeout=10)
    return a, victim, seen["before"]


@pytest.mark.slow
def test_killed_worker_loses_nothing_and_its_trial_is_retried(shared_db, small_csv):
    pg = shared_db
    for attempt in range(3):
        name = f"fault{attempt}"
        a, victim, before = _kill_a_worker_mid_trial(pg, small_csv, name)
        if trials_by_number(pg, name)[victim.number].state != TrialState.COMPLETE:
            break
        # the trial finished between the poll that saw it running and the kill: that tests nothing,
        # so that study is left as it is and the scenario runs again on a new one
    else:
        pytest.fail("three kills in a row landed after the trial had finished")

    b = worker(pg, name)
    rc, out, err = finish(b)
    assert rc == 0, err

    ts = trials(pg, name)
    by_number = {t.number: t for t in ts}
    for n, t in before.items():  # every trial finished before the kill is intact
        assert by_number[n].state == TrialState.COMPLETE
        assert by_number[n].user_attrs == t.user_attrs
        assert by_number[n].values == t.values
    killed = by_number[victim.number]
    assert killed.state == TrialState.FAIL
    retries = [t for t in ts if t.system_attrs.get("failed_trial") == victim.number]
    assert len(retries) == 1, "the dead worker's trial is retried exactly once"
    retry = retries[0]
    assert retry.state == TrialState.COMPLETE and retry.params == killed.params
    assert retry.system_attrs["retry_history"] == [victim.number]
    assert search.counted(ts) == (FAULT_TRIALS, 0)  # the budget is complete and not exceeded
    assert sum(t.state == TrialState.COMPLETE for t in ts) == FAULT_TRIALS
    assert_whole(ts)
    assert search.budget(pg, name) == (FAULT_TRIALS, FAULT_TRIALS)
    rows = {r["pid"]: r for r in search.workers(pg, name)}
    assert rows[a.pid]["lost"] and rows[a.pid]["status"] == "lost"
    assert rows[a.pid]["current_trial"] == victim.number
    assert rows[b.pid]["status"] == "finished"


@pytest.mark.postgres
@pytest.mark.slow
def test_worker_rides_out_a_database_restart(pg, small_csv, monkeypatch, caplog):
    """In-process worker; the database goes away for 3 s mid-fit: the worker waits, goes on, loses nothing."""
    monkeypatch.setenv(search.ENV_GRACE, "10")  # a 3 s outage must not make our own trial "stale"
    make_study(pg, small_csv, "restart", 4)
    db = make_url(pg).database
    cuts: list[int] = []

    def cut() -> None:
        wait_for("a running trial", lambda: running_in_fit(trials(pg, "restart")), timeout=90)
        outage(db, 3)
        cuts.append(1)

    t = threading.Thread(target=cut, daemon=True)
    t.start()
    result = search.run("restart", pg)
    t.join(timeout=60)
    assert cuts, "the outage never happened"
    assert result.stopped_because == "budget spent"
    ts = trials(pg, "restart")
    assert_whole(ts)
    assert search.counted(ts)[0] == 4
    assert search.budget(pg, "restart") == (4, 4)
    assert any("not answering" in r.getMessage() for r in caplog.records)
    assert PASSWORD not in caplog.text


@pytest.mark.postgres
@pytest.mark.slow
def test_worker_exits_clearly_when_the_database_stays_away(pg, small_csv):
    make_study(pg, small_csv, "away", 3, latency_repeats=400)  # trials long enough for a poll to see
    db = make_url(pg).database
    a = worker(pg, "away", env=_env(**{search.ENV_DB_RETRY: "1"}))
    wait_for("a trial in its fit", lambda: running_in_fit(trials(pg, "away")), timeout=90)
    outage(db, until=lambda: a.poll() is not None)  # the database stays away until the worker gives up
    rc, out, err = finish(a)
    assert rc == 2, (out, err)
    assert "Lost the connection to the database" in err and "Traceback" not in err
    assert "postgres:***@" in err and PASSWORD not in out + err

    b = worker(pg, "away")  # the database is back: another worker finishes the study
    rc, out, err = finish(b)
    assert rc == 0, err
    ts = trials(pg, "away")
    assert_whole(ts)
    abandoned = [t for t in ts if t.state == TrialState.FAIL]
    assert len(abandoned) == 1  # the trial the first worker could not write…
    assert [t.system_attrs.get("failed_trial") for t in ts].count(abandoned[0].number) == 1  # …retried
    assert search.counted(ts)[0] == 3
    assert search.budget(pg, "away") == (3, 3)


# -- without a server: the bookkeeping that keeps the count exact -----------------------------------


def _frozen(number: int, state: TrialState, *, user=None, system=None, params=None):
    from optuna.distributions import CategoricalDistribution

    params = {"family": "logreg"} if params is None else params
    return optuna.trial.FrozenTrial(
        number=number,
        state=state,
        value=None,
        values=[0.5] if state == TrialState.COMPLETE else None,
        datetime_start=None,
        datetime_complete=None,
        params=params,
        distributions={k: CategoricalDistribution([v]) for k, v in params.items()},
        user_attrs={"family": "logreg", **(user or {})},
        system_attrs=system or {},
        intermediate_values={},
        trial_id=number,
    )


def test_counted_skips_retried_interrupted_and_never_started_trials():
    ts = [
        _frozen(0, TrialState.COMPLETE),
        _frozen(1, TrialState.FAIL),  # a real failure (bad configuration): counts
        _frozen(2, TrialState.FAIL),  # stale, retried by 4, whose retry 5 went stale too
        _frozen(3, TrialState.FAIL, user={"interrupted": True}),  # Ctrl-C: slot given back
        _frozen(4, TrialState.FAIL, system={"failed_trial": 2, "retry_history": [2]}),
        _frozen(5, TrialState.FAIL, system={"failed_trial": 2, "retry_history": [2, 4]}),  # counts
        _frozen(6, TrialState.COMPLETE, system={"failed_trial": 7, "retry_history": [7]}),
        _frozen(7, TrialState.FAIL),  # retried by 6
        _frozen(8, TrialState.RUNNING),
        _frozen(9, TrialState.FAIL, user={}, params={}),  # never reached its fit (orphan)
    ]
    ts[9].user_attrs.pop("family")
    assert search.counted(ts) == (4, 2)


def test_a_worker_watches_a_dead_workers_trial_and_retries_it(tmp_path, small_csv, monkeypatch):
    """All slots claimed, one held by a dead worker: the live one waits, fails it, runs its retry."""
    monkeypatch.setenv(search.ENV_GRACE, "2")
    url = f"sqlite:///{tmp_path / 'watch.db'}"
    search.create_study(make_small_spec(small_csv, families=("naive_bayes",), trials=2), url, "watch", warm_start=False)
    study = search.open_study(url, "watch")
    # a "dead worker": claimed a slot, started a trial, beat once, then nothing
    assert search.claim_slot(url, "watch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "heartbeat is meant for optimize": we fake a dead worker
        dead = study.ask()
    dead.suggest_categorical("family", ["naive_bayes"])
    dead.set_user_attr("family", "naive_bayes")
    search.optuna_storage(url).record_heartbeat(dead._trial_id)

    result = search.run("watch", url)
    assert result.stopped_because == "budget spent"
    ts = trials(url, "watch")
    assert ts[dead.number].state == TrialState.FAIL
    (retry,) = [t for t in ts if t.system_attrs.get("failed_trial") == dead.number]
    assert retry.state == TrialState.COMPLETE and retry.params["family"] == "naive_bayes"
    assert search.counted(ts) == (2, 0) and search.budget(url, "watch") == (2, 2)
    assert result.trials_run == 2
    search.dispose(url)


def test_a_worker_whose_live_trial_was_taken_for_dead_goes_on(tmp_path, small_csv, monkeypatch, caplog):
    """Another worker failed our running trial as stale (we paused longer than the grace) and queued
    its retry: Optuna refuses our result ("Cannot tell a FAIL trial"); the worker drops it and goes
    on, the retry runs, the budget ends exact."""
    from core.models import evaluate as real
    from core.search import _objective
    from core.search._recovery import retry_stale

    url = f"sqlite:///{tmp_path / 'taken.db'}"
    search.create_study(make_small_spec(small_csv, families=("naive_bayes",), trials=3), url, "taken")
    taken: list[int] = []

    def evaluate_while_taken(*args, **kwargs):
        if not taken:  # what another worker's fail_stale does to our trial while we fit it
            storage = optuna.storages.RDBStorage(url, engine_kwargs={"poolclass": sa.pool.NullPool})
            study = optuna.load_study(study_name="taken", storage=storage)
            (running,) = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
            storage.set_trial_state_values(running._trial_id, TrialState.FAIL)
            retry_stale(url)(study, storage.get_trial(running._trial_id))
            storage.engine.dispose()
            taken.append(running.number)
        return real.evaluate(*args, **kwargs)

    monkeypatch.setattr(_objective, "evaluate", evaluate_while_taken)
    result = search.run("taken", url)
    assert result.stopped_because == "budget spent"
    ts = trials(url, "taken")
    assert ts[taken[0]].state == TrialState.FAIL
    (retry,) = [t for t in ts if t.system_attrs.get("failed_trial") == taken[0]]
    assert retry.state == TrialState.COMPLETE
    assert search.counted(ts) == (3, 0) and search.budget(url, "taken") == (3, 3)
    assert any("taken for dead by another worker" in r.getMessage() for r in caplog.records)
    search.dispose(url)


def test_a_trial_that_never_started_its_fit_is_failed_and_not_counted(tmp_path, small_csv, monkeypatch):
    """A worker lost the database right after creating its trial: no heartbeat, no params, RUNNING.
    After the grace period it is failed (not retried, not counted) and its queued config requeued."""
    monkeypatch.setenv(search.ENV_GRACE, "2")
    url = f"sqlite:///{tmp_path / 'orphan.db'}"
    search.create_study(make_small_spec(small_csv, families=("naive_bayes",), trials=2), url, "orphan")
    study = search.open_study(url, "orphan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        orphan = study.ask()  # pops the warm-start configuration, then "the worker is gone"
    assert "fixed_params" in orphan._cached_frozen_trial.system_attrs
    seen: dict[int, float] = {}
    fail_stale(study, search.optuna_storage(url), seen)
    assert trials(url, "orphan")[orphan.number].state == TrialState.RUNNING  # not before the grace
    time.sleep(2.2)
    fail_stale(study, search.optuna_storage(url), seen)
    ts = trials(url, "orphan")
    assert ts[orphan.number].state == TrialState.FAIL
    assert "abandoned before its fit started" in ts[orphan.number].user_attrs["error"]
    assert search.counted(ts) == (0, 0)
    waiting = [t for t in ts if t.state == TrialState.WAITING]
    assert [t.system_attrs["fixed_params"] for t in waiting] == [
        orphan._cached_frozen_trial.system_attrs["fixed_params"]
    ]
    search.dispose(url)
