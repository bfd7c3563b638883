"""The fast reader builds the same frame as ``front.trials_frame`` and follows a study as it grows."""

from __future__ import annotations

import optuna
import pandas as pd
import pytest
import sqlalchemy as sa
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState

from core import search
from core.decide import front
from core.errors import UserInputError
from core.search import reader as study_reader
from tests.conftest import make_small_spec


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)


def test_frame_equals_trials_frame_on_a_real_study(finished_study):
    url, name, spec = finished_study
    study = search.open_study(url, name)
    expected = front.trials_frame(study.get_trials(), spec)
    study_reader.forget()
    got = study_reader.read_frame(url, name, spec)
    _same(expected, got)
    assert len(got) == 8 and got["params"].map(lambda p: "family" in p).all()
    # cached read gives the same frame, and callers get a copy they may change
    got["extra"] = 1
    _same(expected, study_reader.read_frame(url, name, spec))


def test_trial_attrs_has_the_group_table(finished_study):
    url, name, _ = finished_study
    detail = study_reader.trial_attrs(url, name, 0)
    assert detail["state"] == "COMPLETE"
    assert detail["params"]["family"] == detail["user_attrs"]["family"]
    groups = detail["user_attrs"]["groups_test"]
    assert {"group", "n", "base_rate", "selection_rate", "recall"} <= set(groups[0])
    with pytest.raises(UserInputError, match="no trial #999"):
        study_reader.trial_attrs(url, name, 999)


@pytest.fixture
def empty_study(small_csv, tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    spec = make_small_spec(small_csv, objectives=("roc_auc", "latency_p95_ms"), limits={"latency_p95_ms": 50})
    study = search.create_study(spec, url, "grow", warm_start=False)
    return url, study, search.load_spec(study)


def _finished(number_seed: float, family: str = "logreg", **metrics):
    m = {"roc_auc": 0.7 + number_seed, "latency_p95_ms": 10 - number_seed * 10, **metrics}
    return optuna.trial.create_trial(
        params={"family": family, f"{family}.C": 1.0 + number_seed},
        distributions={
            "family": CategoricalDistribution(["logreg", "decision_tree"]),
            f"{family}.C": FloatDistribution(0.001, 100, log=True),
        },
        values=[m["roc_auc"], m["latency_p95_ms"]],
        user_attrs={
            "family": family,
            "family_class": "simple",
            "metrics": m,
            "test_metrics": {"roc_auc": m["roc_auc"] - 0.01},
            "cv_std": {"roc_auc": 0.01},
            "threshold": 0.4,
        },
    )


@pytest.mark.filterwarnings("ignore:Heartbeat of storage")
def test_follows_new_running_failed_and_finished_trials(empty_study):
    url, study, spec = empty_study
    name = study.study_name
    assert study_reader.read_frame(url, name, spec).empty
    assert study_reader.signature(url, name) == (0, 0, 0, "None", "[]")

    study.add_trial(_finished(0.0))
    sig1 = study_reader.signature(url, name)
    assert sig1[:3] == (1, 1, 0)
    frame = study_reader.read_frame(url, name, spec)
    assert frame["number"].tolist() == [0] and frame["roc_auc"].iloc[0] == pytest.approx(0.7)

    running = study.ask()  # a worker picked up a trial
    running.suggest_categorical("family", ["logreg", "decision_tree"])
    assert study_reader.signature(url, name)[2] == 1
    frame = study_reader.read_frame(url, name, spec)
    assert frame.set_index("number").loc[1, "state"] == "RUNNING"

    running.set_user_attr("error", "ValueError: boom")
    study.tell(running, state=TrialState.FAIL)
    study.add_trial(_finished(0.2, latency_p95_ms=80.0))  # breaks the 50 ms hard limit
    sig2 = study_reader.signature(url, name)
    assert sig2 != sig1 and sig2[:3] == (3, 3, 0)
    frame = study_reader.read_frame(url, name, spec)
    _same(front.trials_frame(search.open_study(url, name).get_trials(), spec), frame)
    by = frame.set_index("number")
    assert by.loc[1, "state"] == "FAIL" and by.loc[1, "error"] == "ValueError: boom"
    assert bool(by.loc[0, "feasible"]) and not bool(by.loc[2, "feasible"])


def test_unknown_study_is_a_user_error(empty_study):
    url, _, _ = empty_study
    with pytest.raises(UserInputError, match="No study named 'nope'"):
        study_reader.signature(url, "nope")


def test_falls_back_to_optuna_when_the_tables_cannot_be_read(empty_study, monkeypatch):
    url, study, spec = empty_study
    study.add_trial(_finished(0.1))

    def broken(*args, **kwargs):
        raise sa.exc.OperationalError("SELECT", {}, Exception("no such column"))

    monkeypatch.setattr(study_reader, "_refresh", broken)
    _same(front.trials_frame(study.get_trials(), spec), study_reader.read_frame(url, study.study_name, spec))


def test_study_attrs_match_optuna(empty_study):
    url, study, _ = empty_study
    search.request_cancel(study)
    got = study_reader.study_attrs(url, study.study_name)
    assert got == search.open_study(url, study.study_name).user_attrs
    assert got["cancel_requested"] is True and "spec" in got


@pytest.mark.filterwarnings("ignore:Heartbeat of storage")
def test_counted_follows_the_budget_rule(empty_study, finished_study):
    url, study, _ = empty_study
    name = study.study_name
    assert study_reader.counted(url, name) == (0, 0)
    study.add_trial(_finished(0.0))
    boom = study.ask()  # failed after choosing a family: counts, as a failure
    boom.suggest_categorical("family", ["logreg", "decision_tree"])
    boom.set_user_attr("family", "logreg")
    study.tell(boom, state=TrialState.FAIL)
    stopped = study.ask()  # interrupted by Ctrl-C: gave its slot back
    stopped.suggest_categorical("family", ["logreg", "decision_tree"])
    stopped.set_user_attr("interrupted", True)
    study.tell(stopped, state=TrialState.FAIL)
    early = study.ask()  # failed before choosing anything (lost its database): abandoned
    study.tell(early, state=TrialState.FAIL)
    died = study.ask()  # its worker died; the retry (below) counts instead
    died.suggest_categorical("family", ["logreg", "decision_tree"])
    died.set_user_attr("family", "logreg")
    study.tell(died, state=TrialState.FAIL)
    retry = study.ask()
    retry.suggest_categorical("family", ["logreg", "decision_tree"])
    search.optuna_storage(url).set_trial_system_attr(retry._trial_id, "failed_trial", died.number)
    study.tell(retry, state=TrialState.FAIL)
    trials = search.open_study(url, name).get_trials()
    assert study_reader.counted(url, name) == search.counted(trials) == (3, 2)
    f_url, f_name, _ = finished_study
    assert study_reader.counted(f_url, f_name) == search.counted(search.open_study(f_url, f_name).get_trials())
