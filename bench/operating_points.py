"""Benchmark: the same trials judged one point per trial and as curves of operating points (issue 14).

Runs ``tradeoff init … --trials N && tradeoff search …`` (a subprocess, as a user runs it) with the
objectives of both pairs, then scores the *same* N trials two ways: one point per trial (its own
tuned threshold, as before curves existed) and the front over (trial, operating point) from the
stored curves (``core.search.read_curve``, ``core.decide.operating_points.points_frame``). Each
front is chosen on search data and scored on the held-out test part; the hypervolume of both
shares one normalisation (``core.decide.front.hypervolume``, bounds from the pooled test points,
reference 1.1). Printed for a quality × fairness pair and a quality × value pair: points on each
front, both hypervolumes and the ratio curves / one point. Then what reading the stored
predictions saves: Compare of the default pair re-fitting both models (``refit=True``, as Compare
always did) against from the stored predictions and figures (no fit), and Export of the knee trial
from the model the search kept (``core.search.artifacts``); ``--no-costs`` skips this part.

    .venv/bin/python bench/operating_points.py --data data/ads.parquet --target converted \\
        --sensitive age_band --value fee_eur --trials 20
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from core import objectives as obj
from core import search
from core.decide import front
from core.decide.operating_points import points_frame

ROOT = Path(__file__).resolve().parents[1]
TRADEOFF = str(ROOT / ".venv" / "bin" / "tradeoff")


def run_search(args: argparse.Namespace, objectives: list[str]) -> tuple[str, str, float]:
    """A fresh study of N trials through the CLI; returns (url, study name, wall seconds)."""
    folder = ROOT / "var" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    spec_path, name = folder / f"op-{stamp}.json", f"op-{stamp}"
    url = f"sqlite:///{folder / f'op-{stamp}.db'}"
    init = [TRADEOFF, "init", args.data, "--target", args.target, "--sensitive", args.sensitive]
    init += ["--value", args.value] if args.value else []
    init += ["--objectives", ",".join(objectives), "--trials", str(args.trials), "--seed", str(args.seed)]
    init += ["-o", str(spec_path)]
    cmd = [TRADEOFF, "search", str(spec_path), "--storage", url, "--study", name, "--quiet"]
    print("search:", " ".join(init), "&&", " ".join(cmd), flush=True)
    subprocess.run(init, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT)
    return url, name, time.perf_counter() - t0


def on_test(pf: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """The front's rows with each objective's held-out value under the objective's own name."""
    return pd.DataFrame({n: pf[obj.TEST_ATTR + n].astype(float).to_numpy() for n in names})


def compare_pair(frame: pd.DataFrame, points: pd.DataFrame, names: list[str]) -> None:
    """Print both fronts' size and test hypervolume for one pair of objectives, and their ratio."""
    one = on_test(front.front(frame, names), names)
    curve = on_test(front.front(points, names), names)
    b = front.bounds(pd.concat([one, curve], ignore_index=True), names)
    hv_one, hv_curve = front.hypervolume(one, names, b), front.hypervolume(curve, names, b)
    ratio = f"{hv_curve / hv_one:.3f}×" if hv_one > 0 else "n/a"
    print(f"\n{' × '.join(names)}")
    print(f"  one point per trial: {len(one):4d} on the front, HV test {hv_one:.4f}")
    print(f"  operating points:    {len(curve):4d} on the front, HV test {hv_curve:.4f}")
    print(f"  ratio curves / one point: {ratio}")


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def costs(url: str, name: str, frame: pd.DataFrame, spec) -> None:
    """Compare's time re-fitting vs from stored predictions, and Export's time from the kept model."""
    from core.decide import compare
    from core.export import build
    from core.search import artifacts

    pair = compare.default_pair(frame, spec)
    numbers = [n for n in (pair.challenger, pair.baseline) if n is not None]
    if len(numbers) < 2:
        numbers = [int(n) for n in frame.loc[frame["state"] == "COMPLETE", "number"]][:2]
    stored_s = _timed(lambda: compare.run(url, name, numbers))  # first: the page's first open
    refit_s = _timed(lambda: compare.run(url, name, numbers, refit=True))
    print(f"Compare #{numbers[0]} vs #{numbers[1]}: re-fit {refit_s:.1f} s, stored {stored_s:.1f} s (goal ≤ 5 s)")
    trial, _ = build.default_trial(url, name)
    kept = artifacts.stored_model(url, name, int(trial)) is not None
    export_s = _timed(lambda: build.build(url, name, int(trial)))
    print(
        f"Export #{trial}: {export_s:.1f} s ({'from the kept model' if kept else 're-fitted: no model kept'}; goal ≤ 5 s)"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="CSV or Parquet file")
    ap.add_argument("--target", required=True)
    ap.add_argument("--sensitive", required=True)
    ap.add_argument("--value", default=None, help="per-row value of a true positive (for value_per_1k)")
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quality", default="balanced_accuracy")
    ap.add_argument("--fairness", default="dp_diff")
    ap.add_argument("--value-metric", default="value_per_1k")
    ap.add_argument("--no-costs", action="store_true", help="skip timing Compare and Export")
    args = ap.parse_args()
    objectives = [args.quality, args.fairness, args.value_metric]
    url, name, wall = run_search(args, objectives)
    study = search.open_study(url, name)
    spec = search.load_spec(study)
    trials = study.get_trials(deepcopy=False)
    frame = search.trials_frame(trials, spec)
    curves = {t.number: search.read_curve(t.user_attrs) for t in trials}
    points = points_frame(frame, curves, spec.objectives)
    done = int((frame["state"] == "COMPLETE").sum())
    n_curves = sum(c is not None for c in curves.values())
    print(f"{done} finished trials in {wall:.1f} s, {n_curves} with a curve, {len(points)} operating points")
    for pair in ([args.quality, args.fairness], [args.quality, args.value_metric]):
        compare_pair(frame, points, pair)
    print(f"(storage {url}; bounds over the pooled test points of both fronts, reference {front.REF})")
    if not args.no_costs:
        costs(url, name, frame, spec)
    return 0


if __name__ == "__main__":
    sys.exit(main())
