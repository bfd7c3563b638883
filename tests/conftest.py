"""Shared fixtures: small real data, real SQLite studies, a finished demo study for app tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from core.data import DEMO_PATH
from core.spec import Budget, DataRef, Objective, Spec, Validation

ROOT = Path(__file__).resolve().parents[1]
FAST = ("logreg", "decision_tree", "naive_bayes", "hist_gb")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Every test gets its own data directory, so no test sees another's database."""
    monkeypatch.setenv("TRADEOFF_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TRADEOFF_STORAGE", raising=False)


@pytest.fixture(scope="session")
def demo_frame() -> pd.DataFrame:
    return pd.read_parquet(DEMO_PATH)


@pytest.fixture(scope="session")
def small_csv(tmp_path_factory, demo_frame) -> Path:
    """A 1,500-row stratified sample of the demo as CSV: real data, fast fits."""
    sample = demo_frame.sample(n=1500, random_state=0)
    path = tmp_path_factory.mktemp("data") / "ads_small.csv"
    sample.to_csv(path, index=False)
    return path


def make_small_spec(
    path: Path,
    *,
    objectives=("roc_auc", "latency_p95_ms", "dp_diff"),
    families=FAST,
    trials: int = 6,
    sampler: str = "nsga2",
    seed: int = 0,
    limits: dict | None = None,
) -> Spec:
    limits = limits or {}
    return Spec(
        data=DataRef(path=str(path), target="converted", sensitive=("age_band",), value_column="fee_eur"),
        objectives=tuple(Objective(n, limit=limits.get(n)) for n in objectives),
        families=tuple(families),
        budget=Budget(n_trials=trials),
        sampler=sampler,
        seed=seed,
        validation=Validation(cv_folds=2, latency_repeats=20),
    )


@pytest.fixture
def small_spec(small_csv) -> Spec:
    return make_small_spec(small_csv)


@pytest.fixture(scope="session")
def finished_study(tmp_path_factory, small_csv):
    """A real finished study (8 trials, fast families) in its own SQLite file: (url, name, spec)."""
    from core import search

    home = tmp_path_factory.mktemp("studyhome")
    url = f"sqlite:///{home / 'study.db'}"
    spec = make_small_spec(small_csv, trials=8)
    study = search.create_study(spec, url, "finished-demo")
    search.run(study.study_name, url)
    return url, study.study_name, search.load_spec(study)
