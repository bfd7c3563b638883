"""A trial's fitted model kept in our own table, on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import os

import pytest

from core.search import artifacts
from tests.core.pg import MARIADB, POSTGRES, throwaway_database

BACKENDS = [
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("mariadb", marks=pytest.mark.mysql),
]


@pytest.fixture(params=BACKENDS)
def any_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tradeoff.db'}"
    else:
        with throwaway_database(server=POSTGRES if request.param == "postgres" else MARIADB) as url:
            yield url


def test_bytes_beyond_64_kb_round_trip_and_a_retry_replaces_them(any_url):
    big = os.urandom(300_000)  # MariaDB's plain BLOB would cut this at 64 kB
    assert artifacts.save_artifact(any_url, "s", 3, artifacts.MODEL, big)
    assert artifacts.load_artifact(any_url, "s", 3, artifacts.MODEL) == big
    assert artifacts.save_artifact(any_url, "s", 3, artifacts.MODEL, b"again")  # a retried trial
    assert artifacts.stored_model(any_url, "s", 3) == b"again"
    assert artifacts.stored_model(any_url, "s", 4) is None
    artifacts.delete_artifacts(any_url, "s")
    assert artifacts.stored_model(any_url, "s", 3) is None


def test_a_model_too_large_to_keep_is_not_kept(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'tradeoff.db'}"
    monkeypatch.setattr(artifacts, "MAX_MODEL_BYTES", 10)
    assert artifacts.save_artifact(url, "s", 0, artifacts.MODEL, b"x" * 11) is False
    assert artifacts.stored_model(url, "s", 0) is None


def test_the_search_keeps_the_model_of_every_trial_that_may_reach_the_front(finished_study):
    from core import search
    from core.export import safety

    url, name, _ = finished_study
    trials = search.open_study(url, name).get_trials()
    kept = 0
    for t in trials:
        if t.state.name != "COMPLETE":
            continue
        data = artifacts.stored_model(url, name, t.number)
        info = t.user_attrs.get("tradeoff.latency") or {}
        # hopeful: measured precisely on scikit-learn, or on ONNX with the other path timed beside it
        hopeful = info.get("sklearn_p95_ms") is not None if info.get("path") == "onnx" else info["scope"] == "precise"
        assert (data is not None) == hopeful, t.number
        if data is not None:
            model = safety.load_model(data)  # only our families' types are trusted
            assert hasattr(model, "predict_proba")
            kept += 1
    assert kept >= 1


def test_export_reads_the_kept_model_and_fits_nothing(finished_study, monkeypatch):
    import numpy as np
    from sklearn.pipeline import Pipeline

    from core import search
    from core.data import load_dataset, split
    from core.export import build, bundle, safety

    url, name, spec = finished_study
    done = [t for t in search.open_study(url, name).get_trials() if t.state.name == "COMPLETE"]
    trial = next(t for t in done if artifacts.stored_model(url, name, t.number) is not None)

    def refuse(self, *a, **k):
        raise AssertionError("Export fitted a model")

    monkeypatch.setattr(Pipeline, "fit", refuse)
    res = build.build(url, name, trial.number)
    assert res.config.metrics == trial.user_attrs["metrics"]  # the stored figures, one per fact
    model = safety.load_model(res.files[bundle.MODEL])
    ds = load_dataset(spec.data)
    _, test_idx = split(ds, spec.validation, spec.seed)
    proba = model.predict_proba(ds.subset(test_idx).X)[:, 1]
    _, stored_test = artifacts.load_predictions(url, name, trial.number)
    assert np.abs(proba - stored_test).max() <= 1 / 65535  # the very model the search scored


def test_predictions_round_trip_through_the_table_and_a_retry_replaces_them(any_url):
    import numpy as np

    rng = np.random.default_rng(0)
    oof, test = rng.random(40_000), rng.random(9_000)  # ~100 kB: beyond MariaDB's plain BLOB
    assert artifacts.save_predictions(any_url, "s", 5, oof, test)
    back_oof, back_test = artifacts.load_predictions(any_url, "s", 5)
    assert len(back_oof) == len(oof) and len(back_test) == len(test)
    assert np.abs(back_oof - oof).max() <= 0.5 / 65535 + 1e-12
    assert np.abs(back_test - test).max() <= 0.5 / 65535 + 1e-12
    assert artifacts.save_predictions(any_url, "s", 5, oof[:3], test[:2])  # a retried trial: one row, the new one
    assert [len(v) for v in artifacts.load_predictions(any_url, "s", 5)] == [3, 2]
    assert artifacts.load_predictions(any_url, "s", 6) is None
    artifacts.delete_study_artifacts(any_url, "s")
    assert artifacts.load_predictions(any_url, "s", 5) is None


def test_the_search_stores_predictions_in_the_table_not_as_an_attribute(finished_study):
    import sqlalchemy as sa

    from core import search
    from core.search._engine import engine
    from core.storage.tables import artifacts_table as t

    url, name, _ = finished_study
    done = [t_ for t_ in search.open_study(url, name).get_trials() if t_.state.name == "COMPLETE"]
    for trial in done:
        assert search.ATTR_PREDICTIONS not in trial.user_attrs
        oof, test = artifacts.load_predictions(url, name, trial.number)
        assert len(oof) > len(test) > 0
    with engine(url).connect() as con:
        rows = con.execute(
            sa.select(sa.func.count()).where(t.c.study_name == name, t.c.kind == artifacts.PREDICTIONS)
        ).scalar()
    assert rows == len(done)  # exactly one row per trial


def test_an_old_trial_reads_its_predictions_from_the_attribute(tmp_path):
    import numpy as np
    import optuna

    from core.search import _predictions as pred

    url = f"sqlite:///{tmp_path / 'old.db'}"
    study = optuna.create_study(study_name="old", storage=url)
    trial = study.ask()
    trial.set_user_attr(pred.ATTR_PREDICTIONS, pred.predictions_attr(np.array([0.25, 0.5]), np.array([1.0])))
    study.tell(trial, 1.0)
    oof, test = artifacts.load_predictions(url, "old", trial.number)
    assert np.allclose(oof, [0.25, 0.5], atol=1e-4) and np.allclose(test, [1.0])


def test_load_model_opens_the_stored_pipeline_trusting_only_our_types(finished_study, tmp_path):
    import argparse

    import skops.io as sio

    from core.errors import UserInputError
    from core.export import safety

    assert set(artifacts.TRUSTED_TYPES) == set(safety.ALLOWED_TYPES)  # the bundle's list, kept exact there
    url, name, _ = finished_study
    kept = [n for n in range(20) if artifacts.stored_model(url, name, n) is not None]
    assert kept
    assert hasattr(artifacts.load_model(url, name, kept[0]), "predict_proba")
    assert artifacts.load_model(url, name, 999) is None
    other = f"sqlite:///{tmp_path / 'bad.db'}"
    artifacts.save_artifact(other, "s", 1, artifacts.MODEL, sio.dumps({"m": argparse.Namespace(x=1)}))
    with pytest.raises(UserInputError, match=r"argparse\.Namespace"):
        artifacts.load_model(other, "s", 1)
