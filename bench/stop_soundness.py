"""Were the trials a search stopped early really unable to reach the front? (issue 15, multi-fidelity)

    .venv/bin/python bench/stop_soundness.py --storage sqlite:///var/bench/x.db --study NAME [--max 8] [--seconds 300]

Re-evaluates trials the search stopped (after their first fold, or after every fold before the
refit) in full, with no stopping rule, newest first, until ``--max`` of them or ``--seconds`` are
spent, and asks of each: would any of its operating points be on the front of the study's finished
trials' points plus its own? Printed per trial: family, when it stopped, seconds to evaluate in full,
and the verdict; then how many of those checked would have reached the front. A stop after every
fold is exact on the figures of the predictions, so a "yes" there means an estimated figure (latency,
size) was not at its best after all; a stop after the first fold rests on a margin, so an occasional
"yes" there is the price the margin's quantile sets.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import optuna
from optuna.trial import TrialState

from core import objectives as obj
from core import search
from core.data import load_dataset, split
from core.decide import front
from core.decide.operating_points import points_frame
from core.models import families as fam
from core.models.evaluate import evaluate
from core.search import _dominated as dominated
from core.search import _first_fold as first_fold


def front_losses(trials: list, spec) -> np.ndarray:
    """Losses of the finished trials' front over operating points."""
    frame = search.trials_frame(trials, spec)
    curves = {t.number: search.read_curve(t.user_attrs) for t in trials}
    pf = front.front(points_frame(frame, curves, spec.objectives), spec.objective_names)
    return np.column_stack([pf[n].astype(float) * obj.get(n).sign for n in spec.objective_names])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--storage", required=True)
    ap.add_argument("--study", required=True)
    ap.add_argument("--max", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=300)
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = search.open_study(args.storage, args.study)
    spec = search.load_spec(study)
    trials = study.get_trials(deepcopy=False)
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    stopped = sorted((t for t in trials if first_fold.stopped(t)), key=lambda t: -t.number)
    theirs = front_losses(done, spec)
    ds = load_dataset(spec.data)
    train_idx, test_idx = split(ds, spec.validation, spec.seed)
    print(f"{args.study}: {len(done)} finished, {len(stopped)} stopped early; checking up to {args.max}")
    t_end, checked, wrong = time.perf_counter() + args.seconds, 0, 0
    for t in stopped:
        if checked >= args.max or time.perf_counter() > t_end:
            break
        family, params = fam.split_params(t.params)
        t0 = time.perf_counter()
        ev = evaluate(family, params, ds, train_idx, test_idx, spec)
        took = time.perf_counter() - t0
        ours = dominated.losses(ev.curve, {**ev.metrics}, spec.objective_names)
        reaches = not dominated.beaten(ours, theirs)
        when = "after CV" if "cross-validation" in t.user_attrs[first_fold.ATTR_STOPPED] else "first fold"
        checked, wrong = checked + 1, wrong + reaches
        print(f"#{t.number:<4} {family:15} {when:10} {took:6.1f} s  {'REACHES the front' if reaches else 'dominated'}")
    print(f"{wrong} of {checked} stopped trials checked would have reached the front")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
