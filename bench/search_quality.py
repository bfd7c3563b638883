"""Benchmark: does our search find a better front than plain Optuna or random search in N trials?

For each seed, on the same data, split, families, objectives and objective function
(``core.search.make_objective``: the same fits and measurements), three searches of N trials each:

- **ours**: ``core.search`` exactly as ``tradeoff search`` runs it: the spec's sampler from
  ``make_sampler`` (NSGA-II with a budget-sized population) and the per-family warm start of
  ``create_study``, through ``search.run``;
- **optuna**: ``optuna.samplers.NSGAIISampler(seed=seed)`` with Optuna's default settings, no warm
  start;
- **random**: ``optuna.samplers.RandomSampler(seed=seed)``.

The order of the three rotates from seed to seed, so a slow drift of the machine does not favour one.
Hypervolume uses one normalisation for every run (``core.front``): objectives as losses, min–max
scaled with bounds from the union of all finished trials of all runs, reference point 1.1 in every
coordinate. Printed: hypervolume after N/3, 2N/3 and N trials per run, the mean over seeds, and the
ratios ours / optuna and ours / random (goal on the demo, 3 objectives, 60 trials: ≥ 1.00× and
≥ 1.05×).

    .venv/bin/python bench/search_quality.py --data demo --target converted --sensitive age_band \\
        --trials 60 --seeds 3 [--value fee_eur] [--max-train-rows 2000]

Each trial fits real models, so this takes a while (3 × seeds × trials fits); ``--max-train-rows``
subsamples the training part (stratified, seeded) to keep a run to minutes.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

METHODS = ("ours", "optuna", "random")


def _spec(args: argparse.Namespace, seed: int, sampler: str = "nsga2"):
    from core.spec import Budget, DataRef, Objective, Spec, Validation

    return Spec(
        data=DataRef(path=args.data, target=args.target, sensitive=tuple(args.sensitive or ()),
                     value_column=args.value),
        objectives=tuple(Objective(n) for n in args.objectives),
        families=tuple(args.families or ()), budget=Budget(n_trials=args.trials), sampler=sampler,
        seed=seed, validation=Validation(cv_folds=args.cv_folds, max_train_rows=args.max_train_rows,
                                         latency_repeats=args.latency_repeats))


def run_ours(spec, url: str, name: str) -> None:
    from core import search

    study = search.create_study(spec, url, name)
    search.run(study.study_name, url)


def run_plain(spec, url: str, name: str, sampler, ds, train_idx, test_idx) -> None:
    import optuna

    from core import search

    study = optuna.create_study(study_name=name, storage=search.optuna_storage(url), sampler=sampler,
                                directions=spec.directions)
    objective = search.make_objective(spec, ds, train_idx, test_idx)
    study.optimize(objective, n_trials=spec.budget.n_trials, catch=(Exception,), gc_after_trial=False)


def main(argv: list[str] | None = None) -> int:
    import optuna

    from core import front, search
    from core.data import DEMO, DEMO_SENSITIVE, DEMO_TARGET, DEMO_VALUE, load_dataset, split

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=DEMO, help="CSV/Parquet file or 'demo'")
    ap.add_argument("--target", default=None)
    ap.add_argument("--sensitive", action="append", help="sensitive column (repeat for several)")
    ap.add_argument("--value", default=None, help="per-row value column")
    ap.add_argument("--trials", type=int, default=60)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--objectives", default="roc_auc,latency_p95_ms,dp_diff")
    ap.add_argument("--families", default="", help="comma-separated (default: all)")
    ap.add_argument("--max-train-rows", type=int, default=2000)
    ap.add_argument("--cv-folds", type=int, default=3)
    ap.add_argument("--latency-repeats", type=int, default=100)
    ap.add_argument("--methods", default=",".join(METHODS),
                    help="comma-separated from ours, optuna, random; 'ours:tpe' runs our search with "
                         "another spec sampler (nsga2, tpe, random, gp)")
    ap.add_argument("--sampler", default="nsga2", help="the spec's sampler for 'ours' (default nsga2)")
    ap.add_argument("--storage", default=None, help="SQLAlchemy URL (default: a new SQLite file in var/bench)")
    args = ap.parse_args(argv)
    if args.data == DEMO:
        args.target = args.target or DEMO_TARGET
        args.sensitive = args.sensitive or list(DEMO_SENSITIVE)
        args.value = args.value or DEMO_VALUE
    if not args.target:
        ap.error("--target is required for your own data")
    args.objectives = [o.strip() for o in args.objectives.split(",") if o.strip()]
    args.families = [f.strip() for f in args.families.split(",") if f.strip()]
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    stamp = time.strftime("%Y%m%d-%H%M%S")
    if args.storage:
        url = args.storage
    else:
        folder = ROOT / "var" / "bench"
        folder.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{folder / f'search_quality-{stamp}.db'}"
    spec0 = _spec(args, 0)
    ds = load_dataset(spec0.data)
    print(f"data {args.data}: {ds.n_rows} rows; objectives {', '.join(args.objectives)}; "
          f"{len(spec0.families)} families; {args.trials} trials × {args.seeds} seed(s) × {len(methods)} "
          f"methods; training part ≤ {args.max_train_rows} rows, {args.cv_folds}-fold CV; storage {url}",
          flush=True)

    names: dict[tuple[str, int], str] = {}
    wall: dict[tuple[str, int], float] = {}
    for seed in range(args.seeds):
        spec = _spec(args, seed).with_fingerprint(ds.fingerprint)
        train_idx, test_idx = split(ds, spec.validation, spec.seed)
        order = methods[seed % len(methods):] + methods[: seed % len(methods)]
        for method in order:
            name = f"{method}-s{seed}-{stamp}"
            t0 = time.perf_counter()
            if method == "ours" or method.startswith("ours:"):
                sampler = method.split(":", 1)[1] if ":" in method else args.sampler
                run_ours(_spec(args, seed, sampler).with_fingerprint(ds.fingerprint), url,
                         name.replace(":", "-"))
                name = name.replace(":", "-")
            elif method == "optuna":
                run_plain(spec, url, name, optuna.samplers.NSGAIISampler(seed=seed), ds, train_idx, test_idx)
            elif method == "random":
                run_plain(spec, url, name, optuna.samplers.RandomSampler(seed=seed), ds, train_idx, test_idx)
            else:
                ap.error(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
            names[(method, seed)] = name
            wall[(method, seed)] = time.perf_counter() - t0
            print(f"  seed {seed} {method:<9} done in {wall[(method, seed)]:.0f} s", flush=True)

    frames = {}
    for key, name in names.items():
        study = optuna.load_study(study_name=name, storage=search.optuna_storage(url))
        frames[key] = front.trials_frame(study.get_trials(deepcopy=False), spec0).sort_values("number")
    import pandas as pd

    union = pd.concat(list(frames.values()), ignore_index=True)
    b = front.bounds(union, args.objectives)
    checkpoints = sorted({max(1, args.trials // 3), max(1, 2 * args.trials // 3), args.trials})

    def hv_at(frame, n: int) -> float:
        first = frame.iloc[:n]
        ok = first[(first["state"] == "COMPLETE")]
        return front.hypervolume(ok, args.objectives, b)

    print(f"\nhypervolume (normalised with bounds from all {len(union)} trials, reference point {front.REF}; "
          f"max {front.REF ** len(args.objectives):.3f})")
    header = f"{'seed':>4}  {'method':<9}" + "".join(f"{'@' + str(n):>9}" for n in checkpoints) + \
        f"{'failed':>8}{'time s':>8}"
    print(header)
    table: dict[str, dict[int, list[float]]] = {m: {n: [] for n in checkpoints} for m in methods}
    for seed in range(args.seeds):
        for m in methods:
            fr = frames[(m, seed)]
            vals = [hv_at(fr, n) for n in checkpoints]
            for n, v in zip(checkpoints, vals):
                table[m][n].append(v)
            failed = int((fr["state"] == "FAIL").sum())
            print(f"{seed:>4}  {m:<9}" + "".join(f"{v:9.4f}" for v in vals) + f"{failed:>8}"
                  f"{wall[(m, seed)]:8.0f}")
    print("mean  " + " " * 7)
    for m in methods:
        print(f"{'':>4}  {m:<9}" + "".join(f"{np.mean(table[m][n]):9.4f}" for n in checkpoints) +
              "   ± " + f"{np.std(table[m][args.trials], ddof=1) if args.seeds > 1 else 0.0:.4f} (sd @{args.trials})")
    mine = [m for m in methods if m == "ours" or m.startswith("ours:")]
    if mine:
        print(f"\nratios at {args.trials} trials (mean of ours / mean of other; per-seed ratios in brackets):")
    for m in mine:
        for other, goal in (("optuna", 1.00), ("random", 1.05)):
            if other not in methods:
                continue
            ours, theirs = np.array(table[m][args.trials]), np.array(table[other][args.trials])
            ratio = ours.mean() / theirs.mean() if theirs.mean() > 0 else math.inf
            per_seed = ", ".join(f"{o / t:.3f}" if t > 0 else "inf" for o, t in zip(ours, theirs))
            print(f"  {m} / {other:<6} = {ratio:.3f}  [{per_seed}]  goal ≥ {goal:.2f}: "
                  f"{'met' if ratio >= goal else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
