"""Benchmark: does the latency harness rank the same configurations the same way twice?

Fits 20 configurations of the demo (every family at least once, the rest drawn at random from the
search space with a fixed seed), then measures each with :func:`core.models.latency.measure` in two rounds
(round 2 in reverse order, so a slow drift of the machine cannot fake agreement) and prints:

- Spearman ρ between the two rounds' p50 ranks (goal ≥ 0.95), and of the p95 ranks (the 95th
  percentile of every normalised call: reported as it is, with no goal, since a real tail moves);
- the median coefficient of variation the harness reports (goal ≤ 5 %);
- per configuration: p50/p95 in both rounds and the CV.

    .venv/bin/python bench/latency_stability.py [--configs 20] [--repeats 200] [--train-rows 4000] [--path onnx]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def configurations(n: int, seed: int) -> list[tuple[str, dict]]:
    """``n`` configurations: each family once (in registry order), then random families/params."""
    import optuna

    from core.models import families as fam

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    names = list(fam.REGISTRY)
    out = []
    for i in range(n):
        if i < len(names):
            study.enqueue_trial({"family": names[i]})
        trial = study.ask()
        out.append(fam.suggest(trial, tuple(names)))
        study.tell(trial, 0.0)
    return out


DECISIVE = 0.25  # a latency difference a room would act on


def _decisive_pairs(r1: np.ndarray, r2: np.ndarray, margin: float) -> tuple[int, int]:
    """(pairs that keep their order, pairs whose round-1 figures differ by at least ``margin``)."""
    kept = decisive = 0
    for i in range(len(r1)):
        for j in range(i + 1, len(r1)):
            if abs(r1[i] - r1[j]) / min(r1[i], r1[j]) >= margin:
                decisive += 1
                kept += bool(np.sign(r1[i] - r1[j]) == np.sign(r2[i] - r2[j]))
    return kept, decisive


def main(argv: list[str] | None = None) -> int:
    from scipy.stats import spearmanr
    from threadpoolctl import threadpool_limits

    from core.data import DEMO, DEMO_SENSITIVE, DEMO_TARGET, DEMO_VALUE, load_dataset, split
    from core.models import latency
    from core.models.evaluate import make_pipeline
    from core.spec import DataRef, Validation

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=200, help="single-row calls per measurement")
    ap.add_argument("--train-rows", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--path",
        choices=("sklearn", "onnx"),
        default="sklearn",
        help="time the scikit-learn pipelines, or their ONNX graphs one request at a time (the served path)",
    )
    args = ap.parse_args(argv)

    ds = load_dataset(DataRef(path=DEMO, target=DEMO_TARGET, sensitive=DEMO_SENSITIVE, value_column=DEMO_VALUE))
    train, test = split(ds, Validation(max_train_rows=args.train_rows), args.seed)
    X_test = ds.X.iloc[test]
    configs = configurations(args.configs, args.seed)
    pipes = []
    t0 = time.perf_counter()
    with threadpool_limits(limits=1):  # fit as evaluate() does
        for family, params in configs:
            pipes.append(make_pipeline(family, params, ds, args.seed).fit(ds.X.iloc[train], ds.y[train]))
    if args.path == "onnx":  # the served path the search times (core.models.served)
        from core.models import served

        for i, (family, _) in enumerate(configs):
            predictor, why = served.path_of(pipes[i], family, X_test, ds.numeric, ds.categorical)
            if predictor is None or not predictor.records_ok:
                print(f"#{i} {family}: not served by ONNX ({why}); timed on scikit-learn")
            else:
                pipes[i] = predictor
    print(
        f"fitted {len(pipes)} configurations in {time.perf_counter() - t0:.1f} s ({args.path} path); "
        f"{args.repeats} single-row calls per measurement"
    )

    rounds: list[dict[int, latency.LatencyReport]] = [{}, {}]
    t0 = time.perf_counter()
    for r, order in enumerate([range(len(pipes)), reversed(range(len(pipes)))]):
        for i in order:
            rounds[r][i] = latency.measure(pipes[i], X_test, repeats=args.repeats)
    elapsed = time.perf_counter() - t0

    idx = range(len(pipes))
    p50 = [np.array([rounds[r][i].p50_ms for i in idx]) for r in (0, 1)]
    p95 = [np.array([rounds[r][i].p95_ms for i in idx]) for r in (0, 1)]
    cvs = np.array([rounds[r][i].cv for r in (0, 1) for i in idx])
    rho50 = float(spearmanr(p50[0], p50[1]).statistic)
    rho95 = float(spearmanr(p95[0], p95[1]).statistic)
    wall50 = [np.array([rounds[r][i].wall_p50_ms for i in idx]) for r in (0, 1)]
    rho_wall = float(spearmanr(wall50[0], wall50[1]).statistic)

    print(
        f"\n{'#':>2}  {'family':<14} {'p50 r1':>8} {'p50 r2':>8} {'p95 r1':>8} {'p95 r2':>8} {'CV r1':>6} {'CV r2':>6}"
    )
    for i in idx:
        print(
            f"{i:>2}  {configs[i][0]:<14} {p50[0][i]:8.3f} {p50[1][i]:8.3f} {p95[0][i]:8.3f} "
            f"{p95[1][i]:8.3f} {rounds[0][i].cv:6.1%} {rounds[1][i].cv:6.1%}"
        )
    med_cv = float(np.median(cvs))
    rel = np.abs(p50[0] - p50[1]) / np.minimum(p50[0], p50[1])
    print(f"\nmeasuring took {elapsed:.1f} s ({elapsed / (2 * len(pipes)):.2f} s per measurement)")
    print(
        f"Spearman rho of p50 ranks (round 1 vs 2): {rho50:.3f}  (goal >= 0.95) {'OK' if rho50 >= 0.95 else 'MISSED'}"
    )
    rel95 = np.abs(p95[0] - p95[1]) / np.minimum(p95[0], p95[1])
    print(
        f"Spearman rho of p95 ranks (round 1 vs 2): {rho95:.3f}  (over every normalised call); "
        f"median |r1 - r2| / p95 {float(np.median(rel95)):.2%}, max {float(rel95.max()):.1%}"
    )
    kept, decisive = _decisive_pairs(p50[0], p50[1], DECISIVE)
    print(
        f"pairs whose p50 differ by >= {DECISIVE:.0%} in round 1 and keep their order in round 2: "
        f"{kept} of {decisive}  (ties are noise either way: the order a room could act on)"
    )
    above = np.concatenate(p95) > np.concatenate(p50)
    print(f"measurements whose p95 exceeds their p50:  {int(above.sum())} of {above.size}")
    print(
        f"median CV reported by the harness:        {med_cv:.2%}  (goal <= 5 %) {'OK' if med_cv <= 0.05 else 'MISSED'}"
    )
    print(f"median |p50 r1 - p50 r2| / p50:           {float(np.median(rel)):.2%}")
    wall_rel = np.abs(wall50[0] - wall50[1]) / np.minimum(wall50[0], wall50[1])
    print(
        f"for comparison, plain wall-clock p50 of the same calls: rho {rho_wall:.3f}, median "
        f"|r1 - r2| / p50 {float(np.median(wall_rel)):.2%}; machine slowdown (reference now / "
        f"REFERENCE_MS) {np.median([rounds[r][i].ref_ratio for r in (0, 1) for i in idx]):.2f}×"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
