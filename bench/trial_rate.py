"""Benchmark: trials per minute with the precise latency harness on every trial (the old behaviour)
against screening for every trial and the precise harness only for those that may reach the front.

Both runs use one spec (``tradeoff init`` on the table, as a user runs it), the same trial count and
worker count, one after the other in this process's session (``tradeoff search`` subprocesses, the
mode set by ``TRADEOFF_LATENCY_MODE``). Printed per mode: trials, wall seconds, trials per minute,
how many trials carry the precise figure, and the ratio new / old.

    .venv/bin/python bench/trial_rate.py --data var/bench/german.csv --target credit_risk \\
        --sensitive sex --trials 40 [--workers 1] [--objectives roc_auc,latency_p95_ms,dp_diff]
    .venv/bin/python bench/trial_rate.py ... --modes screen --trials 60 --workers 2   # one mode only
    .venv/bin/python bench/trial_rate.py ... --baseline "CMD" --workers 1 --new-workers 2  # as users run each

``--baseline "CMD"`` adds a run of another checkout's ``tradeoff`` (say, the last commit before
screening, exported with ``git archive``), with ``--workers 1`` only (its helpers would start this
checkout's workers); its row is "baseline" and the ratio is also printed against it.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import tempfile
import time
from pathlib import Path

from core import search
from core.models import latency

ROOT = Path(__file__).resolve().parents[1]
TRADEOFF = str(ROOT / ".venv" / "bin" / "tradeoff")


def _init(args: argparse.Namespace, spec_path: Path) -> None:
    cmd = [TRADEOFF, "init", args.data, "--target", args.target, "--sensitive", args.sensitive]
    cmd += ["--trials", str(args.trials), "--seed", str(args.seed), "-o", str(spec_path)]
    if args.objectives:
        cmd += ["--objectives", args.objectives]
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)


def run_mode(mode: str, args: argparse.Namespace, folder: Path, spec_path: Path) -> dict:
    """One ``tradeoff search`` of ``args.trials`` trials with the latency mode ``mode``."""
    url, name = f"sqlite:///{folder / f'rate-{mode}.db'}", f"rate-{mode}"
    program = shlex.split(args.baseline) if mode == "baseline" else [TRADEOFF]
    cmd = [*program, "search", str(spec_path), "--storage", url, "--study", name, "--quiet"]
    workers = args.workers if mode == "baseline" or args.new_workers is None else args.new_workers
    cmd += ["--trials", str(args.trials), "--workers", str(workers)]
    # the baseline runs with its own default mode (screening, or whatever that checkout did)
    env = {k: v for k, v in os.environ.items() if k != latency.ENV_MODE}
    if mode != "baseline":
        env[latency.ENV_MODE] = mode
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, env=env)
    wall = time.perf_counter() - t0
    frame = search.trials_frame(search.open_study(url, name).get_trials(deepcopy=False))
    done = frame[frame["state"] == "COMPLETE"]
    return {
        "mode": mode,
        "workers": workers,
        "trials": len(done),
        "wall_s": wall,
        "per_min": 60.0 * len(done) / wall if wall > 0 else float("nan"),
        "precise": int((done["latency_scope"] == "precise").sum()),
        "trial_s": float(done["duration_s"].median()),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True)
    p.add_argument("--target", required=True)
    p.add_argument("--sensitive", required=True)
    p.add_argument("--objectives", default=None, help="comma-separated (default: the spec's defaults)")
    p.add_argument("--trials", type=int, default=40)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--new-workers", type=int, default=None, help="workers of this checkout's runs (default: --workers)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--modes", default=f"{latency.PRECISE_ALL},{latency.SCREEN}")
    p.add_argument("--baseline", default=None, help="another checkout's tradeoff command, run first")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="trial-rate-") as tmp:
        folder = Path(tmp)
        spec_path = folder / "spec.json"
        _init(args, spec_path)
        modes = (["baseline"] if args.baseline else []) + [m.strip() for m in args.modes.split(",") if m.strip()]
        rows = [run_mode(m, args, folder, spec_path) for m in modes]
    print(
        f"{'mode':<9} {'workers':>7} {'trials':>6} {'wall s':>8} {'trials/min':>10} {'precise':>8} {'median trial s':>15}"
    )
    for r in rows:
        print(
            f"{r['mode']:<9} {r['workers']:>7} {r['trials']:>6} {r['wall_s']:>8.1f} {r['per_min']:>10.1f} "
            f"{r['precise']:>8} {r['trial_s']:>15.2f}"
        )
    by = {r["mode"]: r for r in rows}
    if "baseline" in by and latency.SCREEN in by:
        print(
            f"ratio screen / baseline trials per minute: {by[latency.SCREEN]['per_min'] / by['baseline']['per_min']:.2f}×"
        )
    if latency.PRECISE_ALL in by and latency.SCREEN in by:
        print(
            f"ratio screen / precise trials per minute: {by[latency.SCREEN]['per_min'] / by['precise']['per_min']:.2f}×"
        )


if __name__ == "__main__":
    main()
