"""Scale-out benchmark: trials per minute with 1 vs 2 workers, and storage overhead per trial.

    python bench/scale.py --storage postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    python bench/scale.py                      # SQLite only (a temporary file)

What it measures, side by side in one run (these machines are noisy, so the two cases alternate):

1. **Throughput.** A fixed demo spec (the 20,000-row ad data, fast families, 2-fold CV on at most
   6,000 training rows, 50 latency repeats) and a fixed list of configurations (drawn once with a
   seeded random sampler and queued into each study, so 1 and 2 workers fit exactly the same
   models). Real ``tradeoff worker`` processes, one BLAS/OpenMP thread each. Reported: trials per
   minute over the span from the first trial's start to the last trial's end (excludes process
   start-up), the wall time including start-up, and the 2-vs-1 ratio (goal ≥ 1.8× on 2 free cores).
   Beside it, alternating with the workers, the **baseline**: the same configurations through the
   same ``evaluate()`` in 1 and 2 plain processes, without Optuna or a database. Its 2-vs-1 ratio is
   what the machine itself allows (a 2-vCPU VM gives two busy processes less than two cores' worth);
   the workers' ratio as a share of it is what coordination costs.
2. **Storage overhead per trial.** One in-process worker runs a batch of cheap trials on a SQLite
   file and on the given database. Reported per trial: time inside database calls (SQLAlchemy
   cursor executions, every engine in the process: Optuna's, ours, heartbeats) and the number of
   statements, plus everything that is not ``evaluate()`` (first trial start to last trial end,
   minus the time inside ``evaluate``), which adds Python-side ORM, sampler and bookkeeping costs.

For a PostgreSQL URL the benchmark creates a throwaway database on that server (``tr_bench_<hex>``,
the user needs CREATEDB) and drops it afterwards (``--keep`` keeps it). The URL is never printed
with its password.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import optuna
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from core import search
from core import storage as st
from core.cli import build_spec
from core.data import DEMO, DEMO_SENSITIVE, DEMO_TARGET, DEMO_VALUE
from core.models import families as fam
from core.search import _objective as objective_mod
from core.spec import Spec, Validation

ROOT = Path(__file__).resolve().parents[1]

FAMILIES = ("logreg", "decision_tree", "naive_bayes")


def demo_spec(n_trials: int, families: tuple[str, ...] = FAMILIES) -> Spec:
    spec = build_spec(
        DEMO,
        DEMO_TARGET,
        sensitive=DEMO_SENSITIVE,
        value=DEMO_VALUE,
        objectives=["roc_auc", "latency_p95_ms", "dp_diff"],
        families=families,
        trials=n_trials,
        sampler="random",
        seed=0,
    )
    return replace(spec, validation=Validation(cv_folds=2, max_train_rows=6000, latency_repeats=50))


def fixed_configs(spec: Spec, n: int, seed: int = 0) -> list[dict]:
    """n configurations drawn once, so every run fits the same models."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    scratch = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    out = []
    for _ in range(n):
        trial = scratch.ask()
        fam.suggest(trial, spec.families)
        out.append(dict(trial.params))
        scratch.tell(trial, 0.0)
    return out


def make_study(url: str, name: str, spec: Spec, configs: list[dict]) -> None:
    study = search.create_study(spec, url, name, warm_start=False, n_trials=len(configs))
    for params in configs:
        study.enqueue_trial(params)


# -- databases ----------------------------------------------------------------------------------------


class Database:
    """A throwaway database for the benchmark: a temp SQLite file, or a new database on a server."""

    def __init__(self, url: str | None, keep: bool = False) -> None:
        self.keep, self._admin, self._name, self._tmp = keep, None, None, None
        if url is None or st.is_sqlite(url):
            self._tmp = tempfile.mkdtemp(prefix="tr_bench_")
            self.url = f"sqlite:///{Path(self._tmp) / 'bench.db'}"
            return
        u = make_url(url)
        self._name = f"tr_bench_{secrets.token_hex(4)}"
        self._admin = u.set(database="postgres" if u.get_backend_name() == "postgresql" else u.database)
        with self._admin_engine().connect() as con:
            con.exec_driver_sql(f'CREATE DATABASE "{self._name}"')
        self.url = u.set(database=self._name).render_as_string(hide_password=False)

    def _admin_engine(self) -> sa.Engine:
        return sa.create_engine(self._admin, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)

    @property
    def kind(self) -> str:
        return make_url(self.url).get_backend_name()

    def close(self) -> None:
        search.dispose(self.url)
        if self.keep:
            print(f"kept {st.mask(self.url)}")
            return
        if self._name:
            with self._admin_engine().connect() as con:
                con.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self._name}" WITH (FORCE)')
        if self._tmp:
            import shutil

            shutil.rmtree(self._tmp, ignore_errors=True)


# -- 1. throughput ------------------------------------------------------------------------------------


def run_workers(url: str, name: str, n_workers: int) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env[st.ENV_STORAGE] = url  # not on the command line (ps shows it)
    t0 = time.monotonic()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "core.cli", "worker", "--study", name, "--quiet"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(n_workers)
    ]
    for p in procs:
        _, err = p.communicate()
        if p.returncode != 0:
            raise SystemExit(f"worker failed ({p.returncode}): {err.strip()[-500:]}")
    wall = time.monotonic() - t0
    trials = search.open_study(url, name).get_trials(deepcopy=False)
    done = [t for t in trials if t.state.is_finished()]
    span = (max(t.datetime_complete for t in done) - min(t.datetime_start for t in done)).total_seconds()
    fit = sum(float(t.user_attrs.get("timings", {}).get("total_s", 0.0)) for t in done)
    return {
        "workers": n_workers,
        "trials": len(done),
        "span_s": span,
        "wall_s": wall,
        "per_min": 60.0 * len(done) / span,
        "fit_s": fit,
    }


def _baseline_process(spec: Spec, configs: list[dict]) -> list[tuple[float, float, float]]:
    """One plain process: the same evaluate() calls as a worker, no Optuna, no database."""
    from core.data import load_dataset, split
    from core.models.evaluate import evaluate

    ds = load_dataset(spec.data)
    train_idx, test_idx = split(ds, spec.validation, spec.seed)
    out = []
    for params in configs:
        family, p = fam.split_params(params)
        t0 = time.time()
        ev = evaluate(family, p, ds, train_idx, test_idx, spec)
        out.append((t0, time.time(), float(ev.timings.get("total_s", 0.0))))
    return out


def run_baseline(spec: Spec, configs: list[dict], n_proc: int) -> dict:
    """The ceiling for the workers: n plain processes share the configurations round-robin.

    What two processes gain here over one is what the machine allows (cores, caches, memory
    bandwidth); the workers can only lose against it (database, heartbeats, claiming slots).
    """
    import multiprocessing as mp

    saved = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    os.environ.update({k: "1" for k in saved})  # as the workers get them; read when a child starts
    try:
        with mp.get_context("spawn").Pool(n_proc) as pool:
            parts = pool.starmap(_baseline_process, [(spec, configs[i::n_proc]) for i in range(n_proc)])
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    rows = [r for part in parts for r in part]
    span = max(r[1] for r in rows) - min(r[0] for r in rows)
    return {
        "workers": n_proc,
        "trials": len(rows),
        "span_s": span,
        "per_min": 60.0 * len(rows) / span,
        "fit_s": sum(r[2] for r in rows),
    }


def throughput(db: Database, n_trials: int, repeats: int) -> tuple[list[dict], list[dict]]:
    """Workers on the database and, alternating with them, the plain-process baseline."""
    spec = demo_spec(n_trials)
    configs = fixed_configs(spec, n_trials)
    rows, base = [], []
    for r in range(repeats):
        for k in (1, 2) if r % 2 == 0 else (2, 1):  # alternate, so drifting load hits both
            name = f"scale-{k}w-{r}"
            make_study(db.url, name, spec, configs)
            res = run_workers(db.url, name, k)
            res["repeat"] = r
            rows.append(res)
            print(
                f"  {db.kind:10s} {k} worker(s), repeat {r}: {res['trials']} trials in "
                f"{res['span_s']:6.1f} s ({res['per_min']:5.1f}/min; wall with start-up "
                f"{res['wall_s']:5.1f} s; fit time {res['fit_s']:5.1f} s)",
                flush=True,
            )
            b = run_baseline(search.load_spec(search.open_study(db.url, name)), configs, k)
            base.append(b)
            print(
                f"  {'baseline':10s} {k} process(es), repeat {r}: {b['trials']} evaluations in "
                f"{b['span_s']:6.1f} s ({b['per_min']:5.1f}/min; fit time {b['fit_s']:5.1f} s)",
                flush=True,
            )
    return rows, base


# -- 2. storage overhead ------------------------------------------------------------------------------


class SqlTimer:
    """Time spent in cursor executions on every SQLAlchemy engine of this process (all threads)."""

    def __init__(self) -> None:
        self.seconds, self.statements = 0.0, 0
        self._lock, self._local = threading.Lock(), threading.local()

    def _before(self, conn, cursor, statement, parameters, context, executemany):  # noqa: ARG002
        self._local.t0 = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):  # noqa: ARG002
        dt = time.perf_counter() - getattr(self._local, "t0", time.perf_counter())
        with self._lock:
            self.seconds += dt
            self.statements += 1

    def __enter__(self) -> SqlTimer:
        sa.event.listen(sa.Engine, "before_cursor_execute", self._before)
        sa.event.listen(sa.Engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *exc) -> None:
        sa.event.remove(sa.Engine, "before_cursor_execute", self._before)
        sa.event.remove(sa.Engine, "after_cursor_execute", self._after)


def overhead(db: Database, n_trials: int) -> dict:
    spec = demo_spec(n_trials, families=("naive_bayes",))
    configs = fixed_configs(spec, n_trials, seed=1)
    name = "overhead"
    make_study(db.url, name, spec, configs)
    fit_s = [0.0]
    real_evaluate = objective_mod.evaluate  # looked up there by the objective

    def timed_evaluate(*a, **kw):  # the whole fit-and-measure step, whatever it contains
        t = time.perf_counter()
        try:
            return real_evaluate(*a, **kw)
        finally:
            fit_s[0] += time.perf_counter() - t

    objective_mod.evaluate = timed_evaluate
    try:
        with SqlTimer() as timer:
            t0 = time.perf_counter()
            search.run(name, db.url)
            wall = time.perf_counter() - t0
    finally:
        objective_mod.evaluate = real_evaluate
    trials = search.open_study(db.url, name).get_trials(deepcopy=False)
    fit = fit_s[0]
    n = len(trials)
    # from the first trial's start to the last one's end: leaves out loading the data set once
    span = (max(t.datetime_complete for t in trials) - min(t.datetime_start for t in trials)).total_seconds()
    return {
        "kind": db.kind,
        "trials": n,
        "sql_ms": 1000 * timer.seconds / n,
        "statements": timer.statements / n,
        "non_fit_ms": 1000 * (span - fit) / n,
        "wall_s": wall,
    }


# -- main ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--storage", help="a server URL (PostgreSQL); a throwaway database is made on it. Default: SQLite only"
    )
    p.add_argument("--trials", type=int, default=12, help="trials per throughput run (default 12)")
    p.add_argument("--repeats", type=int, default=1, help="throughput runs per worker count")
    p.add_argument("--overhead-trials", type=int, default=12)
    p.add_argument("--skip-throughput", action="store_true")
    p.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = p.parse_args(argv)

    print(
        f"cores usable: {len(os.sched_getaffinity(0))}; load average before: "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    target = Database(args.storage, keep=args.keep)
    sqlite = Database(None) if target.kind != "sqlite" else None
    try:
        print(f"storage: {st.mask(target.url)}")
        if not args.skip_throughput:
            print(
                f"\n1. throughput, {args.trials} fixed configurations of {', '.join(FAMILIES)} on the 20,000-row demo:"
            )
            rows, base = throughput(target, args.trials, args.repeats)

            def med(rs: list[dict], k: int, key: str = "per_min") -> float:
                return statistics.median(
                    r[key] / (r["trials"] if key == "fit_s" else 1) for r in rs if r["workers"] == k
                )

            one, two = med(rows, 1), med(rows, 2)
            b1, b2 = med(base, 1), med(base, 2)
            print(
                f"  -> 1 worker {one:.1f} trials/min, 2 workers {two:.1f} trials/min: "
                f"{two / one:.2f}x (goal >= 1.8x on 2 free cores)"
            )
            print(
                f"     baseline (plain processes, no database): {b1:.1f} -> {b2:.1f} evaluations/min: "
                f"{b2 / b1:.2f}x, the most 2 processes gain on this machine"
            )
            print(
                f"     workers' scaling as a share of the baseline's: {(two / one) / (b2 / b1):.0%}; "
                f"workers' throughput vs plain processes: 1: {one / b1:.0%}, 2: {two / b2:.0%}"
            )
            print(
                f"     fit time per trial: {med(rows, 1, 'fit_s'):.2f} s alone, "
                f"{med(rows, 2, 'fit_s'):.2f} s with 2 workers (baseline {med(base, 1, 'fit_s'):.2f} s, "
                f"{med(base, 2, 'fit_s'):.2f} s: >1 apart means the processes slowed each other down)"
            )

        print(f"\n2. storage overhead per trial ({args.overhead_trials} naive-Bayes trials, 1 in-process worker):")
        results = [overhead(db, args.overhead_trials) for db in (sqlite, target) if db is not None]
        for r in results:
            print(
                f"  {r['kind']:10s} SQL time {r['sql_ms']:7.1f} ms/trial over "
                f"{r['statements']:5.1f} statements; everything but the fit "
                f"{r['non_fit_ms']:7.1f} ms/trial (wall {r['wall_s']:.1f} s)"
            )
    finally:
        target.close()
        if sqlite is not None:
            sqlite.close()
    print(
        f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
        "(other processes on this machine share the cores; compare figures from one run only)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
