"""Helpers for the app's AppTest suites: open a page through the router, read what it shows."""

from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
MAIN = str(ROOT / "app" / "main.py")


def page_path(name: str) -> str:
    return f"../pages/{name}.py"


def run_page(name: str, *, study: str | None = None, timeout: float = 120) -> AppTest:
    """Open the app through its router (sidebar included) on page ``name``."""
    at = AppTest.from_file(MAIN, default_timeout=timeout)
    if study:
        at.query_params["study"] = study
    # url paths equal the file stems, so the page can be chosen before the first run
    at.switch_page(page_path(name)).run()
    assert_ok(at)
    return at


def assert_ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def texts(at: AppTest, kind: str) -> list[str]:
    return [e.value for e in getattr(at, kind)]


def figures(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def synthetic_study(
    url: str,
    name: str,
    path,
    points: list[dict],
    *,
    limits: dict | None = None,
    objectives=("roc_auc", "latency_p95_ms"),
):
    """A real Optuna study in real storage whose finished trials carry the given metrics.

    For explorer tests that need exact geometry (which trial dominates which, which breaks a limit)
    without fitting models: ``points`` are metric dicts; each trial also gets a per-group table.
    """
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    from core import search
    from tests.conftest import make_small_spec

    spec = make_small_spec(path, objectives=objectives, limits=limits or {})
    study = search.create_study(spec, url, name, warm_start=False)
    families = ["logreg", "decision_tree", "hist_gb"]
    klass = {"logreg": "simple", "decision_tree": "simple", "hist_gb": "complex"}
    for i, metrics in enumerate(points):
        family = metrics.pop("family", families[i % 3])
        study.add_trial(
            optuna.trial.create_trial(
                params={"family": family, f"{family}.alpha": 0.1 * (i + 1)},
                distributions={
                    "family": CategoricalDistribution(families),
                    f"{family}.alpha": FloatDistribution(0.01, 10.0),
                },
                values=[metrics[o] for o in objectives],
                user_attrs={
                    "family": family,
                    "family_class": klass[family],
                    "metrics": metrics,
                    "test_metrics": {"roc_auc": metrics.get("roc_auc", 0.5) - 0.01},
                    "cv_std": {"roc_auc": 0.005},
                    "threshold": 0.4,
                    "groups_test": [
                        {
                            "group": g,
                            "n": 100 + j,
                            "base_rate": 0.2,
                            "selection_rate": 0.3,
                            "recall": 0.7,
                            "precision": 0.5,
                            "accuracy": 0.8,
                        }
                        for j, g in enumerate(("a", "b"))
                    ],
                },
            )
        )
    return study


def add_finished_trial(url: str, name: str, metrics: dict) -> None:
    """What a worker does when a trial finishes: a complete trial (the first trial's configuration
    and attributes, ``metrics`` as its figures) with the attributes the reader needs."""
    import optuna

    study = optuna.load_study(study_name=name, storage=url)
    model = study.trials[0]
    study.add_trial(
        optuna.trial.create_trial(
            params=model.params,
            distributions=model.distributions,
            values=[metrics["roc_auc"], metrics["latency_p95_ms"]],
            user_attrs={**model.user_attrs, "metrics": dict(metrics)},
        )
    )


def copy_sqlite(url: str, folder) -> str:
    """The SQLite study at ``url`` copied into ``folder`` (a room written there must not reach other tests)."""
    import sqlite3
    from pathlib import Path

    copy = Path(folder) / "copy.db"
    src, dst = sqlite3.connect(url[len("sqlite:///") :]), sqlite3.connect(copy)
    src.backup(dst)
    src.close(), dst.close()
    return f"sqlite:///{copy}"
