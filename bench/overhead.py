"""Benchmark: how much of a trial's wall time is *not* fitting and evaluating models?

Runs a real search with ``core.search`` (as ``tradeoff search`` does, SQLite storage) and compares,
per trial, what ``evaluate`` spent (the ``timings`` user attribute: CV fits, final fit, test
scoring, latency measurement, serialisation) with the wall time the search spent on that trial:

- **in-trial overhead** = trial duration (Optuna's start → complete) − evaluate's total: sampling,
  suggesting parameters, writing user attributes, telling the result;
- **between trials** = next trial's start − this trial's completion: claiming a budget slot,
  reloading the study, the worker registry, the progress callback.

Prints both per trial (median, mean, max in ms) and as a share of the wall time from the first
trial's start to the last trial's completion (goal: overhead ≤ 5 %).

    .venv/bin/python bench/overhead.py [--data demo] [--trials 20] [--families logreg,decision_tree,...]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    import optuna
    from optuna.trial import TrialState

    from core import search
    from core.data import DEMO, DEMO_SENSITIVE, DEMO_TARGET, DEMO_VALUE
    from core.models import families as fam
    from core.spec import Budget, DataRef, Objective, Spec, Validation

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=DEMO)
    ap.add_argument("--target", default=DEMO_TARGET)
    ap.add_argument("--sensitive", action="append")
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument(
        "--families",
        default=",".join(fam.FAST_FAMILIES),
        help="comma-separated; fast families are the worst case (overhead / short trials)",
    )
    ap.add_argument("--max-train-rows", type=int, default=2000)
    ap.add_argument("--latency-repeats", type=int, default=100)
    ap.add_argument("--sampler", default="nsga2")
    ap.add_argument("--storage", default=None)
    ap.add_argument(
        "--sqlite-synchronous",
        choices=("default", "NORMAL"),
        default="default",
        help="NORMAL: try SQLite's synchronous=NORMAL (WAL: no fsync per commit) for this "
        "run only, to measure what that change to core/search/__init__.py would save",
    )
    args = ap.parse_args(argv)
    sensitive = tuple(args.sensitive or (DEMO_SENSITIVE if args.data == DEMO else ()))
    objectives = ("roc_auc", "latency_p95_ms") + (("dp_diff",) if sensitive else ())

    stamp = time.strftime("%Y%m%d-%H%M%S")
    if args.storage:
        url = args.storage
    else:
        folder = ROOT / "var" / "bench"
        folder.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{folder / f'overhead-{stamp}.db'}"
    spec = Spec(
        data=DataRef(
            path=args.data,
            target=args.target,
            sensitive=sensitive,
            value_column=DEMO_VALUE if args.data == DEMO else None,
        ),
        objectives=tuple(Objective(n) for n in objectives),
        families=tuple(f.strip() for f in args.families.split(",") if f.strip()),
        budget=Budget(n_trials=args.trials),
        sampler=args.sampler,
        seed=0,
        validation=Validation(max_train_rows=args.max_train_rows, latency_repeats=args.latency_repeats),
    )
    if args.sqlite_synchronous == "NORMAL" and url.startswith("sqlite"):
        import sqlalchemy as sa

        engine = search.optuna_storage(url).engine

        @sa.event.listens_for(engine, "connect")
        def _normal(dbapi_con, _record) -> None:  # noqa: ANN001
            dbapi_con.execute("PRAGMA synchronous=NORMAL")

        engine.dispose()  # new connections get the pragma
    study = search.create_study(spec, url, f"overhead-{stamp}")
    t0 = time.perf_counter()
    search.run(study.study_name, url)
    run_wall = time.perf_counter() - t0

    trials = sorted(
        optuna.load_study(study_name=study.study_name, storage=search.optuna_storage(url)).get_trials(deepcopy=False),
        key=lambda t: t.number,
    )
    done = [t for t in trials if t.state == TrialState.COMPLETE and "timings" in t.user_attrs]
    dur = np.array([t.duration.total_seconds() for t in done])
    ev = np.array([t.user_attrs["timings"]["total_s"] for t in done])
    inside = dur - ev
    starts = [t.datetime_start for t in trials if t.datetime_start and t.datetime_complete]
    ends = [t.datetime_complete for t in trials if t.datetime_start and t.datetime_complete]
    gaps = np.array([(s - e).total_seconds() for e, s in zip(ends[:-1], starts[1:])])
    span = (ends[-1] - starts[0]).total_seconds()
    parts = {
        k: np.array([t.user_attrs["timings"].get(k, np.nan) for t in done])
        for k in ("cv_s", "fit_test_s", "latency_s", "size_s")
    }

    def ms(a: np.ndarray) -> str:
        return f"median {np.median(a) * 1000:7.1f}  mean {np.mean(a) * 1000:7.1f}  max {np.max(a) * 1000:7.1f} ms"

    print(
        f"{len(done)} complete trials ({len(trials) - len(done)} other) of {spec.families}; storage {url}; "
        f"SQLite synchronous: {args.sqlite_synchronous}"
    )
    print(f"search.run wall time {run_wall:.1f} s; first start → last completion {span:.1f} s")
    print(f"evaluate total per trial      {ms(ev)}")
    for k, v in parts.items():
        print(f"  of which {k:<18} {ms(v)}")
    print(f"in-trial overhead per trial   {ms(inside)}")
    if len(gaps):
        print(f"between trials                {ms(gaps)}")
    in_share = inside.sum() / dur.sum()
    total_over = inside.sum() + gaps.sum()
    share = total_over / span
    print(f"\nin-trial overhead / trial duration:                {in_share:.2%}")
    print(
        f"(in-trial + between-trial overhead) / search span: {share:.2%}  (goal <= 5 %) "
        f"{'OK' if share <= 0.05 else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
