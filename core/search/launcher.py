"""Start and stop local worker processes for a study (what the app's Search page uses).

The search never runs inside a Streamlit script run: a rerun, a page switch or a closed browser
must not restart or lose it. Workers are ordinary ``tradeoff worker`` processes in their own session
(so a Ctrl-C in the app's terminal does not kill them), logging to the data directory.

The storage URL reaches the worker through ``TRADEOFF_STORAGE`` in its environment, not its command
line, because any local user can read another process's command line (``ps``) and the URL may hold
a database password. The CLI forks its workers instead where that is safe (:func:`fork`): the same
command, run in a child that starts without importing anything again.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from core import storage as st


@dataclass(frozen=True)
class LocalWorker:
    pid: int
    log: Path


def _log_dir() -> Path:
    d = st.home() / "logs"
    d.mkdir(parents=True, exist_ok=True)
    return d


def default_count() -> int:
    """How many local workers to offer by default: one per core (each fit is single-threaded)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def shareable(url: str) -> bool:
    """Whether other processes can open this storage (an in-memory SQLite database is this process's)."""
    return not url.startswith("sqlite") or st.sqlite_path(url) is not None


def start(
    study_name: str, url: str, n: int = 1, *, max_trials: int | None = None, timeout_s: float | None = None
) -> list[LocalWorker]:
    """Launch ``n`` worker processes on this machine; they share the study's global budget.

    ``max_trials`` and ``timeout_s`` limit each worker (its ``--trials`` and ``--timeout``).
    """
    out = []
    env = dict(os.environ)
    env[st.ENV_STORAGE] = st.resolve(url)  # not on the command line: see the module docstring
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    env.setdefault("PYTHONUNBUFFERED", "1")
    for i in range(max(1, n)):
        log = _log_file(study_name, i)
        cmd = [sys.executable, "-m", "core.cli", "worker", "--study", study_name, "--quiet"]
        if max_trials:
            cmd += ["--trials", str(max_trials)]
        if timeout_s:
            cmd += ["--timeout", repr(float(timeout_s))]
        with open(log, "ab") as fh:
            proc = subprocess.Popen(
                cmd,
                stdout=fh,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
                cwd=str(Path(__file__).resolve().parents[2]),
            )
        out.append(LocalWorker(pid=proc.pid, log=log))
    return out


def _log_file(study_name: str, i: int) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in study_name)[:80]
    return _log_dir() / f"worker-{safe}-{os.getpid()}-{i}-{len(os.listdir(_log_dir()))}.log"


def can_fork() -> bool:
    """Whether this process may fork its workers: Linux, and no other Python thread running.

    Why the thread rule: a thread holding a lock at the moment of the fork leaves it held for ever
    in the child. The app runs Streamlit's threads, so it always spawns (:func:`start`); the CLI has
    none before its bar starts. Other platforms spawn too (macOS frameworks are not fork-safe).
    """
    return sys.platform.startswith("linux") and hasattr(os, "fork") and threading.active_count() == 1


def fork(study_name: str, n: int, entry: Callable[[], int]) -> list[LocalWorker]:
    """Fork ``n`` workers that each run ``entry`` (the same worker command :func:`start` spawns,
    called in-process) and exit with its code; call only when :func:`can_fork`.

    Why fork: a spawned worker spends seconds importing what this process has imported already
    before its first trial; a forked one starts it at once. What a trial imports on first use
    (skops, the ONNX converters) is not imported here first: the workers import it side by side,
    which was quicker than one core importing it before the fork (bench/README.md). Every idle database
    connection is closed first, so no child inherits a connection of ours. Each child runs in its
    own session (Ctrl-C reaches only this process, as with :func:`start`) and writes to its own
    log file.
    """
    from core.search._storage import close_connections

    close_connections()
    sys.stdout.flush()
    sys.stderr.flush()
    out = []
    for i in range(max(1, n)):
        log = _log_file(study_name, i)
        pid = os.fork()
        if pid == 0:  # the child: never returns
            _run_child(entry, log)
        out.append(LocalWorker(pid=pid, log=log))
    return out


def _run_child(entry: Callable[[], int], log: Path) -> NoReturn:
    code = 1
    try:
        os.setsid()
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        os.close(null)
        # this process's sys.stdout may not write to descriptor 1 (replaced by a capture or a bar)
        sys.stdout = open(1, "w", buffering=1, encoding="utf-8", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", buffering=1, encoding="utf-8", closefd=False)  # noqa: SIM115
        print(f"worker forked from process {os.getppid()}", flush=True)
        code = int(entry() or 0)
    except BaseException:  # the child must never return into the parent's code
        traceback.print_exc()
    finally:
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)  # not sys.exit: the parent's atexit handlers and buffers are not the child's


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:  # reap our own finished children so they do not linger as zombies
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True


def stop(pid: int) -> None:
    """SIGTERM: the worker marks its running trial failed, gives back its budget slot and exits."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass


def wait(started: list[LocalWorker]) -> dict[int, int]:
    """Block until each of our worker processes has exited; their exit codes by pid.

    A worker already reaped (by :func:`alive`) reports 0: it has exited, which is all we wait for.
    """
    codes: dict[int, int] = {}
    for w in started:
        try:
            _, status = os.waitpid(w.pid, 0)
            codes[w.pid] = os.waitstatus_to_exitcode(status)
        except ChildProcessError:
            codes[w.pid] = 0
    return codes


def stop_all(started: list[LocalWorker]) -> dict[int, int]:
    """Stop our workers (each abandons its running trial cleanly) and wait until they have exited."""
    for w in started:
        if alive(w.pid):
            stop(w.pid)
    return wait(started)
