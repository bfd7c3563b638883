"""Benchmark: does our search find a better front than plain Optuna or random search in N trials?

For each seed, on the same data, split, families, objectives and objective function
(``core.search.make_objective``: the same fits and measurements), three searches of N trials each:

- **ours**: ``core.search`` exactly as ``tradeoff search`` runs it: the spec's sampler from
  ``make_sampler`` (the default: NSGA-II with a budget-sized population; ``--sampler tpe`` for
  multivariate TPE) and the per-family warm start of ``create_study``, through ``search.run``;
- **optuna**: ``optuna.samplers.NSGAIISampler(seed=seed)`` with Optuna's default settings, no warm
  start;
- **random**: ``optuna.samplers.RandomSampler(seed=seed)``.

The order of the three rotates from seed to seed, so a slow drift of the machine does not favour one.
A configuration is measured once per seed and its metrics shared by every method that proposes it
(common random numbers, :class:`SharedMeasurements`; ``--fresh-measurements`` turns this off), so
latency noise does not decide which sampler "wins".
Hypervolume is printed under two normalisations (``core.decide.front``), the same for every method:
objectives as losses, min–max scaled, reference point 1.1 in every coordinate, with bounds either

- **front** (the headline): the ideal and nadir point of the pooled Pareto front of all methods of
  that seed (each seed has its own split, so its own front): the usual normalisation in the
  multi-objective literature; it measures how much of the best known front each method found;
- **range**: the min and max of every finished trial of every run, as this benchmark printed
  before; one slow or poor trial stretches an axis, so most of the volume is easy and methods
  differ by a few per cent at most.

``--analyse STAMP --storage URL`` re-reads an earlier run's studies without fitting anything.

Printed: hypervolume after N/3, 2N/3 and N trials per run, the mean over seeds, and the ratios
ours / optuna and ours / random (goal on the demo, 3 objectives, 60 trials: ≥ 1.00× and ≥ 1.05×).

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

METHODS = ("ours", "optuna", "random")


def _spec(args: argparse.Namespace, seed: int, sampler: str | None = None):
    from core.spec import DEFAULT_SAMPLER, Budget, DataRef, Objective, Spec, Validation

    return Spec(
        data=DataRef(
            path=args.data, target=args.target, sensitive=tuple(args.sensitive or ()), value_column=args.value
        ),
        objectives=tuple(Objective(n) for n in args.objectives),
        families=tuple(args.families or ()),
        budget=Budget(n_trials=args.trials),
        sampler=sampler or DEFAULT_SAMPLER,
        seed=seed,
        validation=Validation(
            cv_folds=args.cv_folds, max_train_rows=args.max_train_rows, latency_repeats=args.latency_repeats
        ),
    )


class SharedMeasurements:
    """Common random numbers: a configuration proposed by two methods is measured once, for both.

    Fits are seeded, so quality and fairness metrics of a configuration are the same whoever
    proposes it; latency is a fresh noisy measurement each time. Without sharing, plain NSGA-II and
    random search, which propose the *same* 50 configurations, differed by up to 17 % in
    front-normalised hypervolume on one seed: pure measurement noise, larger than the differences
    between samplers. Sharing makes the comparison one of the samplers' choices only.
    """

    def __init__(self) -> None:
        import json

        from core.search import _objective  # where the objective looks evaluate up

        self._json, self._search = json, _objective
        self._real = _objective.evaluate
        self.cache: dict[tuple, object] = {}
        self.hits = self.calls = 0

    def install(self) -> None:
        """From now on every evaluate() of the search goes through the shared measurements."""

        def shared(family, params, ds, train_idx, test_idx, spec):
            key = (spec.seed, family, self._json.dumps(params, sort_keys=True, default=str))
            self.calls += 1
            if key in self.cache:
                self.hits += 1
                return self.cache[key]
            ev = self._real(family, params, ds, train_idx, test_idx, spec)
            self.cache[key] = ev
            return ev

        self._search.evaluate = shared

    def uninstall(self) -> None:
        self._search.evaluate = self._real


def run_ours(spec, url: str, name: str) -> None:
    from core import search

    study = search.create_study(spec, url, name)
    search.run(study.study_name, url)


def run_plain(spec, url: str, name: str, sampler, ds, train_idx, test_idx) -> None:
    import optuna

    from core import search

    study = optuna.create_study(
        study_name=name, storage=search.optuna_storage(url), sampler=sampler, directions=spec.directions
    )
    objective = search.make_objective(spec, ds, train_idx, test_idx)
    study.optimize(objective, n_trials=spec.budget.n_trials, catch=(Exception,), gc_after_trial=False)


def main(argv: list[str] | None = None) -> int:
    import optuna

    from core import search
    from core.data import DEMO, DEMO_SENSITIVE, DEMO_TARGET, DEMO_VALUE, load_dataset, split
    from core.decide import front

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
    ap.add_argument(
        "--methods",
        default=",".join(METHODS),
        help="comma-separated from ours, optuna, random; 'ours:tpe' runs our search with "
        "another spec sampler (nsga2, tpe, random, gp)",
    )
    ap.add_argument("--sampler", default=None, help="the spec's sampler for 'ours' (default: the spec's default)")
    ap.add_argument(
        "--fresh-measurements",
        action="store_true",
        help="measure a configuration anew each time a method proposes it (default: "
        "measured once per seed and shared, see SharedMeasurements)",
    )
    ap.add_argument(
        "--analyse",
        metavar="STAMP",
        default=None,
        help="re-read the studies of an earlier run (its time stamp, with --storage) instead of running new searches",
    )
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

    stamp = args.analyse or time.strftime("%Y%m%d-%H%M%S")
    if args.analyse and not args.storage:
        ap.error("--analyse needs the --storage of that run")
    if args.storage:
        url = args.storage
    else:
        folder = ROOT / "var" / "bench"
        folder.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{folder / f'search_quality-{stamp}.db'}"
    spec0 = _spec(args, 0)
    ds = load_dataset(spec0.data)
    print(
        f"data {args.data}: {ds.n_rows} rows; objectives {', '.join(args.objectives)}; "
        f"{len(spec0.families)} families; {args.trials} trials × {args.seeds} seed(s) × {len(methods)} "
        f"methods; training part ≤ {args.max_train_rows} rows, {args.cv_folds}-fold CV; storage {url}",
        flush=True,
    )

    names: dict[tuple[str, int], str] = {}
    wall: dict[tuple[str, int], float] = {}
    shared = SharedMeasurements()
    if not (args.fresh_measurements or args.analyse):
        shared.install()
    for seed in range(args.seeds):
        spec = _spec(args, seed).with_fingerprint(ds.fingerprint)
        train_idx, test_idx = split(ds, spec.validation, spec.seed)
        order = methods[seed % len(methods) :] + methods[: seed % len(methods)]
        for method in order:
            name = f"{method}-s{seed}-{stamp}"
            if args.analyse:
                names[(method, seed)] = name.replace(":", "-")
                continue
            t0 = time.perf_counter()
            if method == "ours" or method.startswith("ours:"):
                sampler = method.split(":", 1)[1] if ":" in method else args.sampler
                run_ours(_spec(args, seed, sampler).with_fingerprint(ds.fingerprint), url, name.replace(":", "-"))
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

    shared.uninstall()
    if shared.calls:
        print(
            f"measurements shared between methods: {shared.hits} of {shared.calls} evaluations "
            f"were a configuration another method (or trial) of the same seed had measured"
        )
    frames = {}
    for key, name in names.items():
        study = optuna.load_study(study_name=name, storage=search.optuna_storage(url))
        frames[key] = front.trials_frame(study.get_trials(deepcopy=False), spec0).sort_values("number")
    import pandas as pd

    checkpoints = sorted({max(1, args.trials // 3), max(1, 2 * args.trials // 3), args.trials})
    per_seed_union = {
        seed: pd.concat([frames[(m, seed)] for m in methods], ignore_index=True) for seed in range(args.seeds)
    }
    everything = pd.concat(list(frames.values()), ignore_index=True)
    everything = everything[everything["state"] == "COMPLETE"]
    global_range = front.bounds(everything, args.objectives)
    normalisations = (
        (
            "front",
            "bounds: ideal and nadir of the pooled Pareto front of all methods, per seed (core.decide.front.front_bounds)",
            {seed: front.front_bounds(u, args.objectives) for seed, u in per_seed_union.items()},
        ),
        (
            "range",
            f"bounds: min and max over all {len(everything)} trials of all seeds "
            "(core.decide.front.bounds; the figure this benchmark printed before)",
            {seed: global_range for seed in range(args.seeds)},
        ),
    )
    print(
        f"\nhypervolume, reference point {front.REF} in every coordinate "
        f"(max {front.REF ** len(args.objectives):.3f}), two normalisations:"
    )
    for label, what, b_of in normalisations:
        print(f"\n[{label}] {what}")
        table = _table(frames, methods, args, checkpoints, b_of, wall)
        _ratios(table, methods, args.trials, label)
    _front_shares(frames, methods, args)
    return 0


def _front_shares(frames, methods, args) -> None:
    """How many of the pooled front's trials each method found: the options a room can choose from."""
    import pandas as pd

    from core.decide import front

    print(f"\ntrials on the pooled Pareto front of all methods (per seed), after {args.trials} trials:")
    print(f"{'seed':>4}" + "".join(f"{m:>10}" for m in methods) + f"{'front':>8}")
    totals = {m: 0 for m in methods}
    for seed in range(args.seeds):
        pool = pd.concat([frames[(m, seed)].assign(_method=m) for m in methods], ignore_index=True)
        pool = pool[pool["state"] == "COMPLETE"]
        on = pool[front.pareto_mask(pool, args.objectives)]
        counts = on["_method"].value_counts()
        for m in methods:
            totals[m] += int(counts.get(m, 0))
        print(f"{seed:>4}" + "".join(f"{int(counts.get(m, 0)):>10}" for m in methods) + f"{len(on):>8}")
    print(f"{'sum':>4}" + "".join(f"{totals[m]:>10}" for m in methods))


def _table(frames, methods, args, checkpoints, b_of, wall) -> dict[str, dict[int, list[float]]]:
    from core.decide import front

    def hv_at(frame, n: int, b) -> float:
        first = frame.iloc[:n]
        return front.hypervolume(first[first["state"] == "COMPLETE"], args.objectives, b)

    print(
        f"{'seed':>4}  {'method':<9}"
        + "".join(f"{'@' + str(n):>9}" for n in checkpoints)
        + f"{'failed':>8}{'time s':>8}"
    )
    table: dict[str, dict[int, list[float]]] = {m: {n: [] for n in checkpoints} for m in methods}
    for seed in range(args.seeds):
        for m in methods:
            fr = frames[(m, seed)]
            vals = [hv_at(fr, n, b_of[seed]) for n in checkpoints]
            for n, v in zip(checkpoints, vals):
                table[m][n].append(v)
            failed = int((fr["state"] == "FAIL").sum())
            print(
                f"{seed:>4}  {m:<9}" + "".join(f"{v:9.4f}" for v in vals) + f"{failed:>8}"
                f"{wall.get((m, seed), float('nan')):8.0f}"
            )
    for m in methods:
        sd = np.std(table[m][args.trials], ddof=1) if args.seeds > 1 else 0.0
        print(
            f"{'mean':>4}  {m:<9}"
            + "".join(f"{np.mean(table[m][n]):9.4f}" for n in checkpoints)
            + f"   ± {sd:.4f} (sd @{args.trials})"
        )
    return table


def _ratios(table, methods, n_trials: int, label: str) -> None:
    mine = [m for m in methods if m == "ours" or m.startswith("ours:")]
    if mine:
        print(f"ratios at {n_trials} trials [{label}] (mean of ours / mean of other; per seed in brackets):")
    for m in mine:
        for other, goal in (("optuna", 1.00), ("random", 1.05)):
            if other not in methods:
                continue
            ours, theirs = np.array(table[m][n_trials]), np.array(table[other][n_trials])
            ratio = ours.mean() / theirs.mean() if theirs.mean() > 0 else math.inf
            per_seed = ", ".join(f"{o / t:.3f}" if t > 0 else "inf" for o, t in zip(ours, theirs))
            print(
                f"  {m} / {other:<6} = {ratio:.3f}  [{per_seed}]  goal ≥ {goal:.2f}: "
                f"{'met' if ratio >= goal else 'MISSED'}"
            )


if __name__ == "__main__":
    sys.exit(main())
