"""Local worker processes (what the app's Search page starts) and the worker registry it shows.

Real processes on a real SQLite file: two workers share one budget exactly, one is stopped with
SIGTERM mid-fit (what `workers.stop` and Ctrl-C do) and exits 130 with its trial abandoned cleanly.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import optuna
import pytest
import sqlalchemy as sa
from optuna.trial import TrialState

from core import search
from core import storage as st
from core.search import _registry
from core.search import launcher as workers
from tests.conftest import make_small_spec

QUICK = ("logreg", "decision_tree", "naive_bayes")
ROOT = Path(__file__).resolve().parents[2]


# For tests in which no worker dies: a loaded CI machine can starve a live worker's heartbeat thread
# for more than 3 s, and its trial is then (rightly, by the rule) taken for dead and retried.
CALM_GRACE = "60"


@pytest.fixture(autouse=True)
def fast_heartbeat(monkeypatch):
    monkeypatch.setenv(search.ENV_HEARTBEAT, "1")
    monkeypatch.setenv(search.ENV_GRACE, "3")


@pytest.fixture
def url(tmp_path):
    u = f"sqlite:///{tmp_path / 'shared.db'}"
    yield u
    search.dispose(u)


def _trials(url: str, name: str) -> list[optuna.trial.FrozenTrial]:
    storage = optuna.storages.RDBStorage(url, engine_kwargs={"poolclass": sa.pool.NullPool})
    try:
        return optuna.load_study(study_name=name, storage=storage).get_trials()
    finally:
        storage.engine.dispose()


def _wait(what, fn, timeout=90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def _exit_code(pid: int, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.1)
    os.kill(pid, 9)
    pytest.fail(f"worker {pid} did not exit in {timeout} s")


def test_default_count_is_the_cores_we_may_use():
    assert workers.default_count() == len(os.sched_getaffinity(0))


@pytest.mark.slow
def test_two_local_workers_share_a_sqlite_budget_and_sigterm_abandons_cleanly(url, small_csv):
    # enough trials that a poll sees one running: a trial of these families takes a fraction of a second
    n = 16
    search.create_study(make_small_spec(small_csv, families=QUICK, trials=n), url, "local")
    started = workers.start("local", url, 2)
    assert len(started) == 2 and all(workers.alive(w.pid) for w in started)
    # the URL travels in the environment, not on the command line other users can read (ps)
    for w in started:
        with open(f"/proc/{w.pid}/cmdline", "rb") as fh:
            assert url.encode() not in fh.read()

    def victim():
        ts = _trials(url, "local")
        if not any(t.state == TrialState.COMPLETE for t in ts):
            return None
        rows = {r["current_trial"]: r for r in search.workers(url, "local") if r["state"] == "running"}
        for t in ts:
            if t.state == TrialState.RUNNING and "family" in t.user_attrs and t.number in rows:
                return t, rows[t.number]["pid"]
        return None

    trial, pid = _wait("a trial in its fit", victim)
    workers.stop(pid)
    assert _exit_code(pid) == 130
    other = next(w for w in started if w.pid != pid)
    assert _exit_code(other.pid) == 0
    assert not workers.alive(pid) and not workers.alive(other.pid)

    ts = _trials(url, "local")
    stopped = next(t for t in ts if t.number == trial.number)
    # On a busy machine the fit may end between our look and the signal: then the worker must stop
    # cleanly *between* trials, with that trial complete; otherwise the trial is abandoned.
    in_fit = stopped.state != TrialState.COMPLETE
    if in_fit:
        assert stopped.state == TrialState.FAIL and stopped.user_attrs["interrupted"] is True
        assert "SIGTERM" in stopped.user_attrs["error"]
    else:
        assert {"metrics", "test_metrics", "groups_test"} <= set(stopped.user_attrs)
    # the abandoned trial gave its slot back: the other worker ran the budget to exactly n
    assert search.counted(ts) == (n, 0)
    assert sum(t.state == TrialState.COMPLETE for t in ts) == n
    assert search.budget(url, "local") == (n, n)
    for t in ts:
        if t.state == TrialState.COMPLETE:
            assert {"metrics", "test_metrics", "groups_test"} <= set(t.user_attrs)
    # every warm-start configuration still ran (one that was abandoned is queued again)
    warm = {
        tuple(sorted(t.system_attrs["fixed_params"].items()))
        for t in ts
        if t.state == TrialState.COMPLETE and "fixed_params" in t.system_attrs
    }
    assert len(warm) == len(QUICK)

    rows = {r["pid"]: r for r in search.workers(url, "local")}
    assert rows[pid]["state"] == "interrupted" and "SIGTERM" in rows[pid]["message"]
    assert rows[other.pid]["state"] == "finished" and rows[other.pid]["trials_done"] >= 1
    log = next(w.log for w in started if w.pid == pid).read_text()
    if in_fit:
        assert "interrupted: trial" in log and "budget slot given back" in log
    else:
        assert "interrupted between trials" in log
    assert "Traceback" not in log


def test_registry_marks_silent_workers_lost(url, small_csv):
    """A worker that stopped heart-beating without saying goodbye (killed) shows as lost."""
    search.create_study(make_small_spec(small_csv, families=QUICK, trials=2), url, "reg")
    t = search.workers_table
    now = _registry.now()
    with search.engine(url).begin() as con:
        con.execute(
            sa.insert(t),
            [
                dict(
                    worker_id="alive",
                    study_name="reg",
                    host="a",
                    pid=1,
                    state="running",
                    current_trial=3,
                    trials_done=1,
                    started_at=now - timedelta(minutes=5),
                    last_seen=now,
                ),
                dict(
                    worker_id="dead",
                    study_name="reg",
                    host="b",
                    pid=2,
                    state="running",
                    current_trial=4,
                    trials_done=2,
                    started_at=now - timedelta(minutes=4),
                    last_seen=now - timedelta(seconds=30),
                ),
                dict(
                    worker_id="done",
                    study_name="reg",
                    host="c",
                    pid=3,
                    state="finished",
                    current_trial=None,
                    trials_done=5,
                    started_at=now - timedelta(minutes=3),
                    last_seen=now - timedelta(minutes=2),
                ),
                dict(
                    worker_id="other",
                    study_name="another-study",
                    host="d",
                    pid=4,
                    state="running",
                    current_trial=1,
                    trials_done=0,
                    started_at=now,
                    last_seen=now,
                ),
            ],
        )
    rows = search.workers(url, "reg")
    assert [r["worker_id"] for r in rows] == ["alive", "dead", "done"]
    status = {r["worker_id"]: (r["status"], r["lost"]) for r in rows}
    assert status == {"alive": ("running", False), "dead": ("lost", True), "done": ("finished", False)}
    dead = rows[1]
    assert dead["age_s"] == pytest.approx(30, abs=5) and dead["current_trial"] == 4 and dead["host"] == "b"


def test_run_in_process_registers_and_finishes(url, small_csv):
    """The registry row of an in-process run: pid, host, trials done, finished with its reason."""
    search.create_study(make_small_spec(small_csv, families=("naive_bayes",), trials=2), url, "inproc")
    result = search.run("inproc", url, max_trials=1)
    assert result.trials_run == 1 and result.stopped_because == "worker trial limit reached"
    (row,) = search.workers(url, "inproc")
    assert row["pid"] == os.getpid() and row["state"] == "finished"
    assert row["message"] == "worker trial limit reached" and row["trials_done"] == 1
    assert row["current_trial"] is None and not row["lost"]
    assert search.budget(url, "inproc") == (2, 1)


def test_two_workers_started_in_the_same_second_never_share_a_seed(url, small_csv, monkeypatch):
    """MariaDB keeps start times to the second: the second worker, registered in the same second
    with a smaller id, once counted 0 workers before it and drew the spec's seed like the first."""
    import uuid

    search.create_study(make_small_spec(small_csv, families=QUICK, trials=4), url, "same-second")
    first = _registry.Registry(url, "same-second")
    with search.engine(url).connect() as con:
        started = con.execute(sa.select(search.workers_table.c.started_at)).scalar_one()
    monkeypatch.setattr(_registry, "db_time", lambda con: started)  # the same second
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=1))  # and an id that sorts first
    second = _registry.Registry(url, "same-second")
    try:
        assert second.id < first.id
        assert (first.ordinal, second.ordinal) == (0, 1)
        seeds = {search.worker_seed(7, r.ordinal, r.id) for r in (first, second)}
        assert len(seeds) == 2 and 7 in seeds  # the first keeps the spec's seed, the second does not
    finally:
        first.close(state="finished")
        second.close(state="finished")


# -- `tradeoff search` uses every core by default ---------------------------------------------------


def test_search_starts_one_worker_per_core_and_two_reach_exactly_the_budget(url, small_csv, tmp_path, monkeypatch):
    """Spawned helpers (the path of a process with threads, and of other platforms)."""
    from core.cli.main import main

    monkeypatch.setattr(workers, "can_fork", lambda: False)
    monkeypatch.setattr(workers, "default_count", lambda: 2)
    monkeypatch.setenv(search.ENV_GRACE, CALM_GRACE)
    spec_path = tmp_path / "spec.json"
    make_small_spec(small_csv, families=QUICK, trials=8).save(spec_path)
    assert main(["search", str(spec_path), "--storage", url, "--study", "cores", "--quiet"]) == 0
    ts = _trials(url, "cores")
    assert search.counted(ts) == (8, 0) and search.budget(url, "cores") == (8, 8)
    assert sum(t.state == TrialState.COMPLETE for t in ts) == 8
    assert not any(t.state == TrialState.RUNNING for t in ts)
    rows = search.workers(url, "cores")
    assert len({r["pid"] for r in rows}) == 2 and {r["state"] for r in rows} == {"finished"}
    assert sum(r["trials_done"] for r in rows) == 8


def test_ctrl_c_in_search_stops_the_other_workers_cleanly(url, small_csv, tmp_path, monkeypatch):
    """Ctrl-C reaches only the foreground process; the workers it started are stopped with it."""
    from core.cli import search as cli_search
    from core.cli.main import main

    started: list = []
    real_start = workers.start
    monkeypatch.setattr(workers, "can_fork", lambda: False)
    monkeypatch.setattr(workers, "default_count", lambda: 3)
    monkeypatch.setattr(workers, "start", lambda *a, **k: started.extend(real_start(*a, **k)) or started)

    def interrupted(name, u, **_):
        _wait("a worker's trial in its fit", lambda: any(t.state == TrialState.RUNNING for t in _trials(u, name)))
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_search, "run_with_bar", interrupted)
    spec_path = tmp_path / "spec.json"
    make_small_spec(small_csv, families=QUICK, trials=40).save(spec_path)
    assert main(["search", str(spec_path), "--storage", url, "--study", "stop", "--quiet"]) == 130
    assert len(started) == 2 and not any(workers.alive(w.pid) for w in started)
    ts = _trials(url, "stop")
    assert not any(t.state == TrialState.RUNNING for t in ts)
    done, _ = search.counted(ts)
    assert search.budget(url, "stop") == (40, done) and done < 40  # abandoned slots were given back
    assert {r["state"] for r in search.workers(url, "stop")} <= {"interrupted", "finished"}


def _search_process(url: str, spec_path: Path, study: str, home: Path, *extra: str) -> subprocess.Popen:
    """``tradeoff search`` as a user runs it: a process of its own, with no thread but its main one."""
    env = {**os.environ, "TRADEOFF_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    # the production heartbeat and grace: on a loaded CI machine a 3 s grace takes live trials for dead
    for key in (st.ENV_STORAGE, search.ENV_HEARTBEAT, search.ENV_GRACE):
        env.pop(key, None)
    cmd = [sys.executable, "-m", "core.cli", "search", str(spec_path), "--storage", url, "--study", study, *extra]
    return subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )


def _forked_logs(home: Path, parent: int) -> list[str]:
    logs = [p.read_text() for p in (home / "logs").glob("worker-*.log")]
    return [text for text in logs if f"worker forked from process {parent}" in text]


@pytest.mark.slow
def test_search_forks_its_helpers_and_they_reach_exactly_the_budget(url, small_csv, tmp_path):
    """The CLI forks its helper (no thread runs beside its main one): the two share the exact budget,
    write their own logs, and the parent's storage still answers after they exit."""
    spec_path = tmp_path / "spec.json"
    make_small_spec(small_csv, families=QUICK, trials=8).save(spec_path)
    proc = _search_process(url, spec_path, "forked", tmp_path / "home", "--workers", "2", "--quiet")
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err
    assert "8 trial(s) run here" in out  # the summary, read by the parent after its helpers exited
    forked = _forked_logs(tmp_path / "home", proc.pid)
    assert len(forked) == 1 and all("worker done:" in text and "Traceback" not in text for text in forked)
    ts = _trials(url, "forked")
    assert search.counted(ts) == (8, 0) and search.budget(url, "forked") == (8, 8)
    assert not any(t.state == TrialState.RUNNING for t in ts)
    rows = search.workers(url, "forked")
    assert len({r["pid"] for r in rows}) == 2 and {r["state"] for r in rows} == {"finished"}
    assert sum(r["trials_done"] for r in rows) == 8
    configs = [tuple(sorted(t.params.items())) for t in ts]
    assert len(set(configs)) == len(configs)  # forked workers do not share a sampler seed


@pytest.mark.slow
def test_ctrl_c_in_search_stops_its_forked_helpers_cleanly(url, small_csv, tmp_path):
    spec_path = tmp_path / "spec.json"
    make_small_spec(small_csv, families=QUICK, trials=60).save(spec_path)
    proc = _search_process(url, spec_path, "stopfork", tmp_path / "home", "--workers", "2", "--quiet")

    def helpers_in_fits():
        rows = [r for r in search.workers(url, "stopfork") if r["pid"] != proc.pid] if _exists(url, "stopfork") else []
        return len(rows) == 1 and rows[0]["state"] == "running"

    _wait("a forked helper's trial in its fit", helpers_in_fits)
    pids = [r["pid"] for r in search.workers(url, "stopfork") if r["pid"] != proc.pid]
    os.kill(proc.pid, signal.SIGINT)  # Ctrl-C reaches the foreground process only
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert not any(workers.alive(p) or os.path.exists(f"/proc/{p}") for p in pids)
    ts = _trials(url, "stopfork")
    assert not any(t.state == TrialState.RUNNING for t in ts)
    done, _ = search.counted(ts)
    assert search.budget(url, "stopfork") == (60, done) and done < 60
    assert {r["state"] for r in search.workers(url, "stopfork")} <= {"interrupted", "finished"}


def _exists(url: str, study: str) -> bool:
    try:
        return study in optuna.get_all_study_names(url)
    except Exception:  # the parent is still creating the database
        return False


def test_can_fork_only_without_other_threads():
    # a fresh process has only its main thread (an earlier test here may have left one idle)
    code = "from core.search import launcher; print(launcher.can_fork())"
    fresh = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert fresh.stdout.strip() == str(sys.platform.startswith("linux"))
    release = threading.Event()
    t = threading.Thread(target=release.wait)
    t.start()
    try:
        assert not workers.can_fork()
    finally:
        release.set()
        t.join()


def test_a_forked_child_runs_its_entry_in_its_own_session_and_exits_with_its_code(tmp_path, monkeypatch):
    # fork() itself, whatever can_fork() says here (an earlier test may leave a thread idle): the
    # child only writes a file and a line, which no lock of another thread can block
    monkeypatch.setenv("TRADEOFF_HOME", str(tmp_path))
    seen = tmp_path / "seen.txt"

    def entry() -> int:
        seen.write_text(f"{os.getsid(0)} {os.getpid()}")
        print("hello from the child")
        return 3

    (child,) = workers.fork("unit", 1, entry)
    assert workers.wait([child]) == {child.pid: 3}
    sid, pid = seen.read_text().split()
    assert int(sid) == int(pid) == child.pid  # a session of its own: Ctrl-C here does not reach it
    assert child.log.read_text().splitlines() == [f"worker forked from process {os.getpid()}", "hello from the child"]


def test_close_connections_leaves_no_idle_connection_to_inherit(url, small_csv):
    from core.search import _storage
    from core.storage import engine as shared

    search.create_study(make_small_spec(small_csv, families=QUICK, trials=2), url, "idle")
    assert search.budget(url, "idle") == (2, 0)
    engines = [s.engine for s in _storage._storages.values()] + [e for _, e in shared._engines.values()]
    assert engines and any(e.pool.checkedin() > 0 for e in engines)
    _storage.close_connections()
    assert all(e.pool.checkedin() == 0 for e in engines)
    assert search.budget(url, "idle") == (2, 0)  # and the engines reconnect on use


def test_worker_count_flag_and_storages_other_processes_cannot_open(monkeypatch):
    import argparse

    from core.cli.search import _worker_count
    from core.errors import UserInputError

    monkeypatch.setattr(workers, "default_count", lambda: 4)
    file_db = "sqlite:////tmp/x.db"
    assert _worker_count(argparse.Namespace(workers=None), file_db) == 4
    assert _worker_count(argparse.Namespace(workers=1), file_db) == 1
    assert _worker_count(argparse.Namespace(workers=None), "postgresql+psycopg://u@h/db") == 4
    assert _worker_count(argparse.Namespace(workers=3), "sqlite://") == 1
    with pytest.raises(UserInputError, match="at least 1"):
        _worker_count(argparse.Namespace(workers=0), file_db)


def test_a_worker_without_a_slot_stops_watching_when_the_last_trial_ends(url, small_csv, monkeypatch):
    """A worker whose budget is all claimed watches the running trials; it must wake when one ends,
    not a whole heartbeat later (that wait was the tail of every search's wall time)."""
    import threading
    from types import SimpleNamespace

    from core.search import _worker
    from core.search._signals import Gate

    monkeypatch.setenv(search.ENV_HEARTBEAT, "30")
    monkeypatch.setenv(search.ENV_GRACE, "60")
    search.create_study(make_small_spec(small_csv, families=QUICK, trials=1), url, "tail")
    study = search.open_study(url, "tail")
    running = study.ask()
    threading.Timer(0.5, lambda: study.tell(running, state=TrialState.FAIL)).start()
    w = SimpleNamespace(limits=_worker._Limits(), gate=Gate(), _retry=lambda fn, what: fn(), study=study)
    t0 = time.monotonic()
    _worker._Worker._watch(w, 1)
    assert time.monotonic() - t0 < 10  # the heartbeat is 30 s: it woke when the trial ended
