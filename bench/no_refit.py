"""Benchmark: what Compare and Export cost when they read what the search stored, against re-fitting.

Makes a fast-family demo study (the full 20,000-row demo table by default) in a temporary
directory, then, side by side in one process run:

- Compare of the default pair (best complex vs best simple): ``compare.run(refit=True)`` (re-fits
  both, re-measures latency, explanations; what Compare always did) vs ``refit=False`` (the stored
  predictions and figures; the page's default);
- Export of the knee trial: with the model the search kept (``core.search.artifacts``) vs with it
  removed, so the bundle re-fits the trial (what Export always did).

Prints each time, the ratio, and the goals (Compare's first open ≤ 5 s, Export ≤ 5 s on the demo).

    .venv/bin/python bench/no_refit.py [--trials 8] [--rows 20000] [--n-boot 1000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from compare_cost import make_demo_study  # noqa: E402  (the bench folder's own helper)

GOAL_S = 5.0


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=8)
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from core import search
    from core.decide import compare
    from core.export import build
    from core.search import artifacts

    with tempfile.TemporaryDirectory() as tmp:
        url, name = make_demo_study(Path(tmp), args.trials, args.rows, args.seed)
        spec = search.load_spec(search.open_study(url, name))
        frame = search.trials_frame(search.open_study(url, name).get_trials(), spec)
        pair = compare.default_pair(frame, spec)
        numbers = [n for n in (pair.challenger, pair.baseline) if n is not None]
        if len(numbers) < 2:
            numbers = [int(n) for n in frame.loc[frame["state"] == "COMPLETE", "number"]][:2]
        print(f"study {name}: {len(frame)} trials; Compare #{numbers[0]} vs #{numbers[1]}")
        _, refit_s = _timed(lambda: compare.run(url, name, numbers, n_boot=args.n_boot, refit=True))
        _, stored_s = _timed(lambda: compare.run(url, name, numbers, n_boot=args.n_boot))
        print(f"Compare  re-fit {refit_s:6.1f} s   stored {stored_s:6.1f} s   ×{refit_s / stored_s:.1f} faster")
        kept = [n for n in frame["number"] if artifacts.stored_model(url, name, int(n)) is not None]
        trial, _ = build.default_trial(url, name)
        trial = trial if trial in kept else (kept[0] if kept else trial)
        _, with_model_s = _timed(lambda: build.build(url, name, int(trial)))
        data = artifacts.stored_model(url, name, int(trial))
        artifacts.delete_artifacts(url, name)
        _, refit_export_s = _timed(lambda: build.build(url, name, int(trial)))
        print(
            f"Export   re-fit {refit_export_s:6.1f} s   kept model {with_model_s:6.1f} s   "
            f"×{refit_export_s / with_model_s:.1f} faster (trial #{trial}; model kept: {data is not None})"
        )
        print(
            f"goals: Compare ≤ {GOAL_S:.0f} s: {stored_s <= GOAL_S}; Export ≤ {GOAL_S:.0f} s: {with_model_s <= GOAL_S}"
        )


if __name__ == "__main__":
    main()
