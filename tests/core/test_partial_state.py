"""State a failure leaves behind is either named or undone.

A RUNNING trial whose worker stopped responding stays RUNNING until another worker's recovery
fails it: `front` and `studies` say so, or the room sees a trial that never moves and cannot tell
a slow fit from a dead machine. A study whose creation fails half-way is removed, never left with
queued trials and no budget.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from core import cli, search
from core.storage import get_engine, tables
from tests.conftest import make_small_spec


def _lost_worker_holding(url: str, study: str, trial: int, *, minutes_ago: float) -> None:
    seen = datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)
    with get_engine(url).begin() as con:
        con.execute(
            sa.insert(tables.workers_table).values(
                worker_id="w-gone",
                study_name=study,
                host="elsewhere",
                pid=1,
                state="running",
                current_trial=trial,
                trials_done=0,
                started_at=seen,
                last_seen=seen,
                message=None,
            )
        )


def test_front_and_studies_name_the_trial_of_a_worker_that_stopped(tmp_path, small_csv, capsys):
    url = f"sqlite:///{tmp_path / 's.db'}"
    spec = make_small_spec(small_csv, families=("naive_bayes",), trials=3)
    study = search.create_study(spec, url, "stalled", warm_start=False)
    running = study.ask()  # a trial some worker took and never finished
    _lost_worker_holding(url, "stalled", running.number, minutes_ago=0)  # it reported just now: alive
    assert cli.main(["studies", "--storage", url]) == 0
    assert "stopped responding" not in capsys.readouterr().out

    with get_engine(url).begin() as con:  # the worker has now been silent for an hour
        old = datetime.now(timezone.utc) - timedelta(hours=1)
        con.execute(sa.update(tables.workers_table).values(last_seen=old))
    assert cli.main(["studies", "--storage", url]) == 0
    assert "1 trial of a worker that stopped responding" in capsys.readouterr().out
    assert cli.main(["front", "--storage", url, "--study", "stalled", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["stalled"] == "1 trial of a worker that stopped responding"


def test_a_study_whose_budget_row_cannot_be_written_is_not_left_half_made(tmp_path, small_csv, monkeypatch):
    """Queued starter trials without a budget row would read as "budget spent" to every later worker."""
    import optuna
    import pytest

    from core.search import _study

    url = f"sqlite:///{tmp_path / 's.db'}"
    spec = make_small_spec(small_csv, families=("naive_bayes", "logreg"), trials=3)

    def broken_budget(*_args, **_kwargs):
        raise RuntimeError("the database went away while the budget row was written")

    monkeypatch.setattr(_study, "set_budget", broken_budget)
    with pytest.raises(RuntimeError, match="went away"):
        search.create_study(spec, url, "half")  # the warm start queues trials before the budget row
    assert "half" not in optuna.get_all_study_names(search.optuna_storage(url))
    monkeypatch.undo()
    study = search.create_study(spec, url, "half")  # and the name can be used again
    assert search.budget(url, "half")[0] == 3 and len(study.get_trials()) >= 1
