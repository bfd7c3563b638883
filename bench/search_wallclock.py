"""Benchmark: `tradeoff search` against a plain Optuna script in the same wall time (issue 15).

Both get S seconds on the same train/test split (the one the spec's ``validation`` and seed give):

- **ours**: ``tradeoff init … && tradeoff search … --timeout S`` in a subprocess, exactly as a user
  runs it (default workers, the spec's defaults for everything but the objectives);
- **plain**: :mod:`plain_optuna` (NSGA-II, five families, threshold as a parameter, one
  validation split) in this process, on the same training rows.

Each method's front (chosen on its own search data) is then scored on the held-out test part: ours
from each trial's stored ``test.<metric>`` and, when the study has operating-point curves, also
the front over (trial, operating point); plain by scoring its fitted models on the test rows (no
refit). Printed: trials run, trials per minute, points on the front and hypervolume on the test part
of each, all under one normalisation (``core.decide.front.hypervolume``, bounds from the pooled
test points, reference 1.1), and the ratio ours / plain.

    .venv/bin/python bench/search_wallclock.py --data data/ads.parquet --target converted \\
        --sensitive age_band --seconds 60 [--objectives balanced_accuracy,dp_diff]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pandas as pd
import plain_optuna  # beside this file: python puts the script's folder on the path

from core import objectives as obj
from core import search
from core.data import load_dataset, split
from core.decide import front
from core.decide.operating_points import points_frame
from core.spec import Spec

ROOT = Path(__file__).resolve().parents[1]
TRADEOFF = str(ROOT / ".venv" / "bin" / "tradeoff")


def run_ours(args: argparse.Namespace, folder: Path, stamp: str) -> tuple[str, str, Spec, float]:
    """``tradeoff init`` then ``tradeoff search --timeout S``; returns (url, study, spec, wall seconds)."""
    spec_path = folder / f"wallclock-{stamp}.json"
    url, name = f"sqlite:///{folder / f'wallclock-{stamp}.db'}", f"wallclock-{stamp}"
    init = [TRADEOFF, "init", args.data, "--target", args.target, "--sensitive", args.sensitive]
    init += ["--objectives", args.objectives, "--trials", "100000", "--timeout", str(args.seconds)]
    init += ["--seed", str(args.seed), "-o", str(spec_path)]
    subprocess.run(init, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    cmd = [TRADEOFF, "search", str(spec_path), "--storage", url, "--study", name]
    cmd += ["--timeout", str(args.seconds), "--quiet"]
    print("ours:", " ".join(init), "&&", " ".join(cmd), flush=True)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT)
    return url, name, Spec.load(spec_path), time.perf_counter() - t0


def ours_fronts(url: str, name: str, names: list[str]) -> tuple[int, pd.DataFrame, pd.DataFrame | None]:
    """(finished trials, one-point front's test metrics, operating-point front's test metrics or None)."""
    study = search.open_study(url, name)
    spec = search.load_spec(study)
    trials = study.get_trials(deepcopy=False)
    frame = search.trials_frame(trials, spec)
    done = int((frame["state"] == "COMPLETE").sum())
    one = _on_test(front.front(frame, names), names)
    curves = {t.number: search.read_curve(t.user_attrs) for t in trials}
    if not any(c is not None for c in curves.values()):
        return done, one, None
    points = points_frame(frame, curves, spec.objectives)
    return done, one, _on_test(front.front(points, names), names)


def _on_test(pf: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """The front's rows with each objective's held-out value under the objective's own name."""
    return pd.DataFrame({n: pf[obj.TEST_ATTR + n].astype(float).to_numpy() for n in names})


def plain_front(study: optuna.Study, X_test, y_test, g_test, names: list[str]) -> pd.DataFrame:
    """The plain script's front, its fitted models scored on the test rows (nothing refitted)."""
    rows = []
    for model, threshold in study.user_attrs["front"]:
        y_pred = (model.predict_proba(X_test)[:, 1] >= threshold).astype(int)
        rows.append({n: plain_optuna.OBJECTIVES[n][1](y_test, y_pred, g_test) for n in names})
    return pd.DataFrame(rows, columns=names)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="CSV or Parquet file")
    ap.add_argument("--target", required=True)
    ap.add_argument("--sensitive", required=True)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--objectives", default="balanced_accuracy,dp_diff")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dump", default=None, help="folder to write each method's test front to (CSV)")
    args = ap.parse_args()
    names = [n.strip() for n in args.objectives.split(",") if n.strip()]
    unknown = [n for n in names if n not in plain_optuna.OBJECTIVES]
    if unknown:
        ap.error(f"the plain script knows {sorted(plain_optuna.OBJECTIVES)}, not {unknown}")
    folder = ROOT / "var" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    url, name, spec, wall_ours = run_ours(args, folder, stamp)
    ds = load_dataset(spec.data)
    train, test = split(ds, spec.validation, spec.seed)
    print(f"data {args.data}: {ds.n_rows} rows, {len(train)} train / {len(test)} test; objectives {names}")
    t0 = time.perf_counter()
    study = plain_optuna.search(
        ds.X.iloc[train], ds.y[train], ds.groups.iloc[train].to_numpy(), args.seconds, args.seed, tuple(names)
    )
    wall_plain = time.perf_counter() - t0
    plain = plain_front(study, ds.X.iloc[test], ds.y[test], ds.groups.iloc[test].to_numpy(), names)
    n_ours, one, curve = ours_fronts(url, name, names)

    fronts = {"ours (one point per trial)": one, "plain Optuna": plain}
    if curve is not None:
        fronts["ours (operating points)"] = curve
    b = front.bounds(pd.concat(list(fronts.values()), ignore_index=True), names)
    hv = {k: front.hypervolume(f, names, b) for k, f in fronts.items()}
    if args.dump:
        Path(args.dump).mkdir(parents=True, exist_ok=True)
        for k, f in fronts.items():
            f.sort_values(names[0]).to_csv(
                Path(args.dump) / f"{k.split(' (')[0].replace(' ', '_')}{'_curve' if 'operating' in k else ''}.csv",
                index=False,
            )
    counts = {"plain Optuna": (len(study.trials), wall_plain)}
    counts.update({k: (n_ours, wall_ours) for k in fronts if k.startswith("ours")})
    print(f"\n{'method':30} {'trials':>7} {'wall s':>7} {'/min':>7} {'front':>6} {'HV test':>8}")
    for k, f in fronts.items():
        n, wall = counts[k]
        print(f"{k:30} {n:7d} {wall:7.1f} {60 * n / wall:7.1f} {len(f):6d} {hv[k]:8.4f}")
    for k in fronts:
        if k.startswith("ours") and hv["plain Optuna"] > 0:
            print(f"ratio {k} / plain: {hv[k] / hv['plain Optuna']:.3f}×")
    print(f"(storage {url}; bounds over the pooled test points, reference {front.REF})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
