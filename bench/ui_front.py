"""Benchmark: server time of a Pareto-explorer rerun on a 10,000-trial study.

Builds (once, cached under ``var/bench``) a SQLite study with 10,000 finished trials whose user
attributes look like real ones (every metric, test metrics, CV spread, per-group table, timings),
written fast with ``optuna.trial.create_trial`` + ``study.add_trials``. Then, in one process and
close together in time (these machines are noisy):

1. the explorer page's server time in ``AppTest``: a first run (cold), reruns with nothing changed,
   and reruns right after one new trial arrived;
2. ``optuna.visualization.plot_pareto_front`` on the same study (the baseline a user of plain
   Optuna would wait for), including ``load_study`` + ``get_trials``.

Goal (issue 4): ≤ 0.5 s for a rerun with nothing changed, ≤ 2 s after a new trial arrives.

    .venv/bin/python bench/ui_front.py [--trials 10000] [--repeats 5] [--rebuild]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

STUDY = "bench-front"
FAMILY_PROFILES = {  # family: (roc_auc mean, latency p95 ms, size bytes, dp_diff mean)
    "logreg": (0.74, 3.0, 6e3, 0.05),
    "decision_tree": (0.71, 2.5, 4e4, 0.04),
    "naive_bayes": (0.70, 2.2, 3e3, 0.09),
    "knn": (0.72, 9.0, 2e6, 0.06),
    "linear_svm": (0.735, 3.2, 6e3, 0.05),
    "random_forest": (0.76, 14.0, 8e6, 0.06),
    "extra_trees": (0.755, 13.0, 1e7, 0.05),
    "hist_gb": (0.77, 6.0, 6e5, 0.07),
    "xgboost": (0.772, 5.0, 4e5, 0.07),
    "voting": (0.768, 12.0, 2e6, 0.06),
    "stacking": (0.775, 20.0, 9e6, 0.065),
}
GROUPS = ("18-24", "25-34", "35-44", "45-54", "55+")


class _Recorder:
    """A ``Suggester`` that draws random values and records Optuna distributions for them."""

    def __init__(self, rng: np.random.Generator, prefix: str) -> None:
        import optuna

        self.rng, self.prefix, self.optuna = rng, prefix, optuna
        self.params: dict[str, Any] = {}
        self.dists: dict[str, Any] = {}

    def _put(self, name, value, dist):
        key = f"{self.prefix}.{name}"
        self.params[key], self.dists[key] = value, dist
        return value

    def suggest_float(self, name, low, high, *, log=False):
        v = (
            float(math.exp(self.rng.uniform(math.log(low), math.log(high))))
            if log
            else float(self.rng.uniform(low, high))
        )
        return self._put(name, v, self.optuna.distributions.FloatDistribution(low, high, log=log))

    def suggest_int(self, name, low, high, *, log=False):
        v = (
            int(round(math.exp(self.rng.uniform(math.log(low), math.log(high)))))
            if log
            else int(self.rng.integers(low, high + 1))
        )
        v = min(max(v, low), high)
        return self._put(name, v, self.optuna.distributions.IntDistribution(low, high, log=log))

    def suggest_categorical(self, name, choices):
        v = choices[int(self.rng.integers(len(choices)))]
        return self._put(name, v, self.optuna.distributions.CategoricalDistribution(list(choices)))


def fake_trial(rng: np.random.Generator, spec, number: int):
    """A finished trial with realistic user attributes (every metric of the catalogue)."""
    import optuna

    from core import objectives as obj
    from core.models import families as fam

    names = list(FAMILY_PROFILES)
    family = names[int(rng.integers(len(names)))]
    auc0, lat0, size0, dp0 = FAMILY_PROFILES[family]
    rec = _Recorder(rng, family)
    fam.get(family).space(rec)
    params = {"family": family, **rec.params}
    dists = {"family": optuna.distributions.CategoricalDistribution(names), **rec.dists}
    auc = float(np.clip(auc0 + rng.normal(0, 0.02), 0.5, 0.99))
    lat = float(lat0 * rng.lognormal(0, 0.35))
    m: dict[str, float] = {
        "roc_auc": auc,
        "pr_auc": auc - 0.35 + rng.normal(0, 0.01),
        "accuracy": auc - 0.05,
        "balanced_accuracy": auc - 0.04,
        "f1": auc - 0.3,
        "log_loss": 0.9 - auc / 2,
        "latency_p50_ms": lat * 0.7,
        "latency_p95_ms": lat,
        "latency_p99_ms": lat * 1.3,
        "model_latency_p95_ms": lat * 0.2,
        "throughput_rps": 1000 / lat * 50,
        "value_per_1k": 40 * auc - 0.1 * lat + rng.normal(0, 1),
        "infra_cost_per_1m": lat * 0.014,
        "dp_diff": float(np.clip(dp0 + rng.normal(0, 0.02), 0, 1)),
        "dp_ratio": float(np.clip(0.9 + rng.normal(0, 0.05), 0, 1)),
        "eo_diff": float(np.clip(dp0 + rng.normal(0, 0.03), 0, 1)),
        "worst_group_recall": float(np.clip(0.6 + rng.normal(0, 0.05), 0, 1)),
        "worst_group_accuracy": float(np.clip(0.6 + rng.normal(0, 0.05), 0, 1)),
        "model_size_bytes": float(size0 * rng.lognormal(0, 0.5)),
        "fit_time_s": lat * 0.3,
        "n_parameters": float(int(size0 / 8)),
    }
    test = {k: m[k] + rng.normal(0, 0.005) for k in obj.TEST_METRICS}
    cv_std = {k: abs(rng.normal(0.01, 0.003)) for k in obj.QUALITY}
    groups = [
        {
            "group": g,
            "n": int(rng.integers(300, 1500)),
            "base_rate": 0.2 + 0.01 * i,
            "selection_rate": 0.45 + rng.normal(0, 0.03),
            "recall": 0.8,
            "precision": 0.36,
            "accuracy": 0.64,
        }
        for i, g in enumerate(GROUPS)
    ]
    values = [m[n] for n in spec.objective_names]
    return optuna.trial.create_trial(
        params=params,
        distributions=dists,
        values=values,
        user_attrs={
            "family": family,
            "family_class": fam.get(family).klass,
            "metrics": m,
            "test_metrics": test,
            "cv_std": cv_std,
            "threshold": 0.3,
            "groups_test": groups,
            "constraints": [-1.0],
            "timings": {"cv_s": 3.0, "fit_test_s": 1.0, "latency_s": 0.5, "total_s": 4.6},
        },
    )


def build_study(url: str, n_trials: int, *, name: str = STUDY, seed: int = 0) -> str:
    """Create the benchmark study with ``n_trials`` finished trials (skipped if it already has them)."""
    import optuna

    from core import search
    from core.data import DEMO, DEMO_SENSITIVE, DEMO_TARGET, DEMO_VALUE
    from core.spec import Budget, DataRef, Objective, Spec

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    from core.search import reader as study_reader

    storage = search.optuna_storage(url)
    if name in optuna.get_all_study_names(storage):
        if study_reader.signature(url, name)[1] >= n_trials:
            return name
        optuna.delete_study(study_name=name, storage=storage)
    spec = Spec(
        data=DataRef(path=DEMO, target=DEMO_TARGET, sensitive=DEMO_SENSITIVE, value_column=DEMO_VALUE),
        objectives=(Objective("roc_auc"), Objective("latency_p95_ms", limit=25.0), Objective("dp_diff")),
        budget=Budget(n_trials=n_trials),
        seed=seed,
    )
    study = search.create_study(spec, url, name, warm_start=False)
    rng = np.random.default_rng(seed)
    trials = [fake_trial(rng, spec, i) for i in range(n_trials)]
    study.add_trials(trials[:20])  # the public path, so the bulk rows below can be checked against it
    _bulk_add(url, name, trials[20:])
    check = optuna.load_study(study_name=name, storage=url).get_trials(deepcopy=False)
    assert len(check) == n_trials and check[-1].user_attrs == trials[-1].user_attrs, "bulk insert mismatch"
    return name


def _bulk_add(url: str, study_name: str, trials: list) -> None:
    """Insert finished trials with one executemany per table.

    ``study.add_trials`` commits each trial in its own ORM session (~15 ms a trial here, minutes
    for 10,000); the rows written here are the same ones (same tables, same encodings: internal
    parameter representation, distribution JSON, user attributes as JSON), checked by reading
    the study back through Optuna.
    """
    import json
    from datetime import datetime, timedelta, timezone

    import sqlalchemy as sa
    from optuna.distributions import distribution_to_json

    eng = sa.create_engine(url)
    md = sa.MetaData()
    md.reflect(eng, only=["studies", "trials", "trial_params", "trial_values", "trial_user_attributes"])
    T = md.tables
    with eng.begin() as con:
        sid = con.execute(
            sa.select(T["studies"].c.study_id).where(T["studies"].c.study_name == study_name)
        ).scalar_one()
        first_id = int(con.execute(sa.select(sa.func.coalesce(sa.func.max(T["trials"].c.trial_id), 0))).scalar())
        first_no = int(con.execute(sa.select(sa.func.count()).where(T["trials"].c.study_id == sid)).scalar())
        t0 = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(seconds=3 * len(trials))
        rows, params, values, attrs = [], [], [], []
        for i, t in enumerate(trials):
            tid = first_id + 1 + i
            start = t0 + timedelta(seconds=3 * i)
            rows.append(
                {
                    "trial_id": tid,
                    "number": first_no + i,
                    "study_id": sid,
                    "state": "COMPLETE",
                    "datetime_start": start,
                    "datetime_complete": start + timedelta(seconds=t.user_attrs["timings"]["total_s"]),
                }
            )
            for k, v in t.params.items():
                d = t.distributions[k]
                params.append(
                    {
                        "trial_id": tid,
                        "param_name": k,
                        "param_value": d.to_internal_repr(v),
                        "distribution_json": distribution_to_json(d),
                    }
                )
            for j, v in enumerate(t.values):
                values.append({"trial_id": tid, "objective": j, "value": v, "value_type": "FINITE"})
            for k, v in t.user_attrs.items():
                attrs.append({"trial_id": tid, "key": k, "value_json": json.dumps(v)})
        con.execute(T["trials"].insert(), rows)
        con.execute(T["trial_params"].insert(), params)
        con.execute(T["trial_values"].insert(), values)
        con.execute(T["trial_user_attributes"].insert(), attrs)
    eng.dispose()


def add_one(url: str, name: str = STUDY, seed: int = 1) -> None:
    """One more finished trial, as a worker would write it."""
    import optuna

    from core import search

    study = optuna.load_study(study_name=name, storage=search.optuna_storage(url))
    study.add_trial(fake_trial(np.random.default_rng(seed), search.load_spec(study), 0))


def _explorer_run(at) -> float:
    t0 = time.perf_counter()
    at.run(timeout=120)
    dt = time.perf_counter() - t0
    if at.exception:
        raise RuntimeError(f"the explorer raised: {at.exception[0].value}")
    return dt


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=10_000)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--rebuild", action="store_true")
    p.add_argument("--home", default=str(ROOT / "var" / "bench"))
    args = p.parse_args(argv)

    os.environ["TRADEOFF_HOME"] = args.home
    db = Path(args.home) / "ui_front.db"
    if args.rebuild and db.exists():
        db.unlink()
    from core import storage

    url = storage.resolve(f"sqlite:///{db}")  # creates the folder
    os.environ["TRADEOFF_STORAGE"] = url

    import optuna
    from streamlit.testing.v1 import AppTest

    t0 = time.perf_counter()
    build_study(url, args.trials)
    print(f"study {STUDY!r}: {args.trials:,} finished trials in {db} (ready in {time.perf_counter() - t0:.1f} s)")

    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=120)
    at.query_params["study"] = STUDY
    at.run(timeout=120)
    at.switch_page("../pages/explorer.py")
    cold = _explorer_run(at)
    same = [_explorer_run(at) for _ in range(args.repeats)]
    new = []
    for i in range(args.repeats):
        add_one(url, seed=100 + i)
        new.append(_explorer_run(at))
    n_points = sum(len(c.proto.spec) > 0 for c in at.get("plotly_chart"))

    base = []
    for _ in range(max(1, min(args.repeats, 3))):
        t0 = time.perf_counter()
        study = optuna.load_study(study_name=STUDY, storage=url)
        optuna.visualization.plot_pareto_front(study, target_names=study.user_attrs["objective_names"])
        base.append(time.perf_counter() - t0)

    def fmt(xs: list[float]) -> str:
        return f"median {statistics.median(xs):6.3f} s  (min {min(xs):.3f}, max {max(xs):.3f}, n={len(xs)})"

    print(f"\nPareto explorer server time, {args.trials:,} trials ({n_points} charts drawn):")
    print(f"  first run (cold caches)          {cold:6.3f} s")
    print(f"  rerun, nothing changed           {fmt(same)}   goal <= 0.5 s")
    print(f"  rerun after one new trial        {fmt(new)}   goal <= 2 s")
    print(f"optuna.visualization.plot_pareto_front (load_study + plot): {fmt(base)}")
    print(
        f"ratio plot_pareto_front / explorer rerun (nothing changed): "
        f"{statistics.median(base) / statistics.median(same):.1f}x; "
        f"(one new trial): {statistics.median(base) / statistics.median(new):.1f}x"
    )
    ok = statistics.median(same) <= 0.5 and statistics.median(new) <= 2.0
    print("goals met" if ok else "GOALS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
