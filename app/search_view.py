"""What the Search page shows, computed from storage only (so every browser sees the same thing).

A search is *active* while one of its workers is alive: a local worker (same host) is checked by its
process id, a remote one by when it last reported. Progress, elapsed time and ETA come from the
trials and the study's start time, never from this browser session.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pandas as pd

from core import objectives as obj
from core import search
from core.metrics import display_metric
from core.search import launcher as workers
from core.search import reader as study_reader
from core.spec import Spec, ValueModel

REMOTE_STALE_S = 15 * 60  # fallback when a row carries no ``lost`` flag (older workers)
LAUNCH_ATTR = "app_launch"  # study user attribute: workers started from the Search page
LAUNCH_GRACE_S = 90  # a launched worker needs a few seconds (imports) before it registers
ENDED_STATES = ("finished", "interrupted", "failed")


def _utc(ts: Any) -> datetime | None:
    if ts is None or (isinstance(ts, float) and ts != ts):
        return None
    if isinstance(ts, str):
        ts = datetime.fromisoformat(ts)
    return ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)


def worker_alive(row: dict[str, Any], now: datetime | None = None) -> bool:
    """Is this worker row (``core.search.workers``) a worker that is still working?

    Ended states never are; a worker ``core.search`` calls ``lost`` (silent past the heartbeat grace)
    is not; a worker on this machine is checked by its process id; another machine's worker is
    trusted while its heartbeat is fresh.
    """
    state = str(row.get("state") or "")
    if state in ENDED_STATES or state.startswith("finished") or row.get("lost"):
        return False
    if row.get("host") == socket.gethostname() and row.get("pid"):
        return workers.alive(int(row["pid"]))
    if "lost" in row:
        return True
    last = _utc(row.get("last_seen"))
    now = now or datetime.now(timezone.utc)
    return last is not None and (now - last).total_seconds() < REMOTE_STALE_S


@dataclass
class Status:
    done: int
    failed: int
    running: int
    budget: int | None
    timeout_s: float | None
    started_at: float | None
    last_complete: float | None
    cancelled: bool
    live_workers: int
    now: float = field(default_factory=time.time)

    @property
    def active(self) -> bool:
        return self.live_workers > 0

    @property
    def elapsed_s(self) -> float | None:
        if self.started_at is None:
            return None
        end = self.now if self.active or self.last_complete is None else self.last_complete
        return max(0.0, end - self.started_at)

    @property
    def eta_s(self) -> float | None:
        if not self.active or self.elapsed_s is None:
            return None
        etas = []
        if self.budget and self.done:
            etas.append(self.elapsed_s / self.done * max(self.budget - self.done, 0))
        if self.timeout_s and self.started_at is not None:
            etas.append(max(0.0, self.started_at + self.timeout_s - self.now))
        return min(etas) if etas else None

    @property
    def fraction(self) -> float:
        parts = []
        if self.budget:
            parts.append(self.done / self.budget)
        if self.timeout_s and self.elapsed_s is not None:
            parts.append(self.elapsed_s / self.timeout_s)
        return float(min(1.0, max(parts))) if parts else 0.0

    @property
    def state(self) -> str:
        if self.active:
            return "cancelling" if self.cancelled else "running"
        if self.cancelled:
            return "cancelled"
        if (self.budget and self.done >= self.budget) or (
            self.timeout_s and self.elapsed_s is not None and self.elapsed_s >= self.timeout_s
        ):
            return "finished"
        return "not started" if self.done == 0 else "paused"


WORKERS_PARAM = "workers"  # query parameter: the worker count chosen on the Search page


def worker_count(asked: str | None, attrs: dict[str, Any], default: int, most: int = 64) -> int:
    """The worker count the page starts with: the address's (it survives a reload), else as many as
    the last launch from this page started, else ``default``; always within 1..``most``."""
    try:
        n = int(asked) if asked else 0
    except ValueError:
        n = 0
    if n <= 0:
        n = len((attrs.get(LAUNCH_ATTR) or {}).get("pids") or ()) or default
    return max(1, min(most, n))


def record_launch(study: Any, pids: list[int], now: float | None = None) -> None:
    """Write the launch into the study, so every browser (and a reload) knows workers are coming."""
    study.set_user_attr(
        LAUNCH_ATTR, {"at": now or time.time(), "host": socket.gethostname(), "pids": [int(p) for p in pids]}
    )


def pending_pids(attrs: dict[str, Any], worker_rows: list[dict[str, Any]], now: float | None = None) -> list[int]:
    """Workers launched from the app that have not registered yet and are still starting.

    On this machine a launched process is checked by its id; a launch from another machine counts
    for ``LAUNCH_GRACE_S`` seconds. Without this, a reload or a second browser in the seconds before
    the workers register would show "not started" and offer to start them again.
    """
    launch = attrs.get(LAUNCH_ATTR) or {}
    registered = {int(r["pid"]) for r in worker_rows if r.get("pid") and r.get("host") == launch.get("host")}
    pids = [int(p) for p in launch.get("pids", []) if int(p) not in registered]
    if not pids:
        return []
    if launch.get("host") == socket.gethostname():
        return [p for p in pids if workers.alive(p)]
    return pids if (now or time.time()) - float(launch.get("at", 0)) < LAUNCH_GRACE_S else []


def status(url: str, name: str, frame: pd.DataFrame, worker_rows: list[dict[str, Any]], spec: Spec) -> Status:
    attrs = study_reader.study_attrs(url, name)
    n_budget, _ = search.budget(url, name)
    finished = frame[frame["state"].isin(["COMPLETE", "FAIL", "PRUNED"])]
    done, failed = study_reader.counted(url, name)  # the budget's own rule (retries, interruptions)
    last = pd.to_datetime(finished["datetime_complete"]).max() if len(finished) else None
    started = attrs.get(search.ATTR_STARTED)
    return Status(
        done=done,
        failed=failed,
        running=int((frame["state"] == "RUNNING").sum()) if len(frame) else 0,
        budget=n_budget,
        timeout_s=spec.budget.timeout_s,
        started_at=float(started) if started is not None else None,
        last_complete=None if last is None or pd.isna(last) else last.timestamp(),
        cancelled=bool(attrs.get(search.ATTR_CANCEL)),
        live_workers=sum(worker_alive(r) for r in worker_rows) + len(pending_pids(attrs, worker_rows)),
    )


def workers_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    now = datetime.now(timezone.utc)
    out = []
    for r in rows:
        age = r.get("age_s")
        seen = _utc(r.get("last_seen"))
        if age is None and seen is not None:
            age = (now - seen).total_seconds()
        out.append(
            {
                "worker": r["worker_id"],
                "host": r.get("host"),
                "pid": r.get("pid"),
                "state": r.get("status") or r.get("state"),
                "alive": worker_alive(r, now),
                "running trial": r.get("current_trial"),
                "trials done": r.get("trials_done"),
                "last seen (s ago)": None if age is None else round(float(age)),
                "message": r.get("message") or "",
            }
        )
    return pd.DataFrame(out)


def latest_trials(
    frame: pd.DataFrame, names: list[str], n: int = 10, *, value_model: ValueModel | None = None
) -> pd.DataFrame:
    """The newest trials, objective values formatted with units (value in the team's)."""
    rows = frame.sort_values("number", ascending=False).head(n)
    out = pd.DataFrame({"#": rows["number"], "state": rows["state"], "family": rows["family"]})
    for name in names:
        m = obj.get(name) if value_model is None else display_metric(obj.get(name), value_model)
        out[f"{m.label}"] = [m.fmt(v) if st_ == "COMPLETE" else "" for v, st_ in zip(rows[name], rows["state"])]
    out["feasible"] = rows["feasible"].to_numpy()  # search data: what steers
    if "limits_status" in rows:
        out["hard limits"] = rows["limits_status"].to_numpy()  # search and held-out
    out["duration (s)"] = rows["duration_s"].astype(float).round(1).to_numpy()
    return out


def stopped_early(frame: pd.DataFrame) -> pd.DataFrame:
    """Trials stopped early on a large table (multi-fidelity: after their first CV fold, or after
    every fold but before the refit), with the reason."""
    if "stopped" not in frame:
        return pd.DataFrame(columns=["#", "family", "why"])
    rows = frame[frame["stopped"].notna()].sort_values("number", ascending=False)
    return pd.DataFrame({"#": rows["number"], "family": rows["family"], "why": rows["stopped"]})


def failures(frame: pd.DataFrame) -> pd.DataFrame:
    """Failed trials with their error; a failure whose worker died is retried once (``retried as``)."""
    rows = frame[frame["state"] == "FAIL"].sort_values("number", ascending=False)
    retries = (
        {int(r): int(n) for r, n in zip(frame["retry_of"], frame["number"]) if pd.notna(r)}
        if "retry_of" in frame
        else {}
    )
    return pd.DataFrame(
        {
            "#": rows["number"],
            "family": rows["family"],
            "retried as": [retries.get(int(n)) for n in rows["number"]],
            "error": rows["error"].fillna("(no message)"),
        }
    )


def local_pids(worker_rows: list[dict[str, Any]], attrs: dict[str, Any] | None = None) -> list[int]:
    """Process ids of this machine's live workers, registered or still starting ("stop now")."""
    host = socket.gethostname()
    pids = [int(r["pid"]) for r in worker_rows if r.get("host") == host and r.get("pid") and worker_alive(r)]
    launch = (attrs or {}).get(LAUNCH_ATTR) or {}
    if launch.get("host") == host:
        pids += [p for p in pending_pids(attrs or {}, worker_rows) if p not in pids]
    return pids
