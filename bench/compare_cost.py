"""Benchmark: what a full ensembles-vs-simple comparison costs, and what the cascade does, on the demo.

Makes a small demo study in a temporary directory (fast families, the full 20,000-row demo table;
or pass --storage/--study to use one you have), picks the default pair (best complex vs best
simple by cross-validated ROC AUC within the limits), re-fits both, then times each stage with
1,000 paired bootstrap resamples:

- re-fit of both trials (one data load; reported apart: it is the search's own cost);
- the comparison: interleaved latency rounds + paired bootstrap + McNemar + cost ratios
  (goal ≤ 20 s on a 2-core machine), and the bootstrap alone;
- fairness detail with bootstrap intervals, the cascade, explanations;

and prints the cascade beside both parents (quality, value, expected latency, share routed).

    .venv/bin/python bench/compare_cost.py [--trials 8] [--rows 20000] [--n-boot 1000]
    .venv/bin/python bench/compare_cost.py --storage sqlite:///var/tradeoff.db --study demo-12-fast
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

GOAL_S = 20.0


def make_demo_study(home: Path, trials: int, rows: int, seed: int) -> tuple[str, str]:
    """A fast-family demo search (optionally on a stratified sample of ``rows`` rows)."""
    import pandas as pd

    from core import search
    from core.cli import build_spec
    from core.data import DEMO, DEMO_PATH, DEMO_SENSITIVE, DEMO_TARGET, DEMO_VALUE
    from core.models.families import FAST_FAMILIES

    data = DEMO
    if rows < 20_000:
        sample = pd.read_parquet(DEMO_PATH).sample(n=rows, random_state=seed)
        data = str(home / "demo_sample.csv")
        sample.to_csv(data, index=False)
    spec = build_spec(
        data,
        DEMO_TARGET,
        sensitive=DEMO_SENSITIVE,
        value=DEMO_VALUE,
        objectives=["roc_auc", "latency_p95_ms", "dp_diff"],
        families=FAST_FAMILIES,
        trials=trials,
        seed=seed,
    )
    url = f"sqlite:///{home / 'bench.db'}"
    study = search.create_study(spec, url, "compare-bench")
    search.run(study.study_name, url)
    return url, study.study_name


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--storage")
    ap.add_argument("--study")
    ap.add_argument("--trials", type=int, default=8)
    ap.add_argument("--rows", type=int, default=20_000, help="demo rows when making a study (≤ 20,000)")
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved latency rounds")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pair", help="CHALLENGER,BASELINE trial numbers instead of the default pair")
    ap.add_argument("--home", help="make the demo study in this folder and keep it (default: a temp dir)")
    args = ap.parse_args(argv)

    import numpy as np
    from threadpoolctl import threadpool_limits

    from core import search
    from core.decide import compare as cmp
    from core.decide import front
    from core.storage import mask

    with tempfile.TemporaryDirectory() as tmp:
        if args.storage and args.study:
            url, name = args.storage, args.study
        else:
            t = time.perf_counter()
            home = Path(args.home or tmp)
            home.mkdir(parents=True, exist_ok=True)
            url, name = make_demo_study(home, args.trials, args.rows, args.seed)
            print(f"demo study: {args.trials} trials on {args.rows:,} rows in {time.perf_counter() - t:.1f} s")
        study = search.open_study(url, name)
        spec = search.load_spec(study)
        frame = front.trials_frame(study.get_trials(), spec)
        pair = cmp.default_pair(frame, spec)
        if args.pair:
            a, b = (int(x) for x in args.pair.split(","))
            pair = cmp.DefaultPair(a, b, pair.metric, "chosen with --pair")
        print(f"study {name!r} in {mask(url)}; default pair: #{pair.challenger} vs #{pair.baseline} ({pair.note})")
        if not pair.complete:
            print("no complete pair: nothing to compare")
            return 1

        t = time.perf_counter()
        cands = cmp.load_candidates(url, name, [pair.challenger, pair.baseline])
        t_refit = time.perf_counter() - t
        challenger, baseline = cands

        t = time.perf_counter()
        with threadpool_limits(limits=1):
            comp = cmp.compare(challenger, baseline, n_boot=args.n_boot, latency_rounds=args.rounds)
        t_compare = time.perf_counter() - t

        ctx = cmp.context_of(baseline)
        t = time.perf_counter()
        cmp.paired_bootstrap(
            ctx,
            cmp.Scored(challenger.evaluation.test_proba, challenger.threshold),
            cmp.Scored(baseline.evaluation.test_proba, baseline.threshold),
            n_boot=args.n_boot,
            seed=spec.seed,
        )
        t_boot = time.perf_counter() - t

        t = time.perf_counter()
        rep = cmp.report(cands, baseline=baseline.number, n_boot=args.n_boot, latency_rounds=args.rounds)

    print()
    print(f"test rows: {comp.n_test:,}; bootstrap resamples: {args.n_boot:,}; latency rounds: {args.rounds}")
    print(f"{'stage':<52}{'seconds':>9}")
    rows = [
        ("re-fit both trials (search cost, not the comparison)", t_refit),
        ("comparison: latency rounds + bootstrap + McNemar", t_compare),
        ("  of which the paired bootstrap (all 12 metrics)", t_boot),
    ]
    rows += [(f"report: {k.removesuffix('_s')}", v) for k, v in rep.timings.items()]
    for label, secs in rows:
        print(f"{label:<52}{secs:>9.2f}")
    verdict = "meets" if t_compare <= GOAL_S else "misses"
    print(
        f"\ncomparison {t_compare:.1f} s {verdict} the goal of ≤ {GOAL_S:.0f} s "
        f"(with fairness, cascade and explanations: {rep.timings['total_s']:.1f} s)"
    )
    print(f"\nverdict: {comp.sentence}")
    print(f"McNemar: {comp.mcnemar.method}, p = {comp.mcnemar.p_value:.3g}")

    casc = rep.cascade
    if casc is None:
        print("\nno cascade: both candidates are of the same class")
        return 0
    print(f"\ncascade ({casc.chosen_on}; keep {casc.keep:.0%} of the gain in {casc.criterion}):")
    print(f"{'model':<38}{'AUC':>8}{'value/1k':>11}{'mean ms':>9}{'p95 ms':>9}{'model p95':>11}{'routed':>8}")
    for r in casc.rows:
        print(
            f"{r['model']:<38}{r['roc_auc']:>8.4f}{r['value_per_1k']:>11.2f}{r['latency_mean_ms']:>9.2f}"
            f"{r['latency_p95_ms']:>9.2f}{r['model_latency_p95_ms']:>11.3f}{r['share_routed']:>8.0%}"
        )
    print(casc.summary)
    if np.isfinite(casc.gain_kept):
        print(f"share of the complex model's gain kept on the test part: {casc.gain_kept:.0%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
