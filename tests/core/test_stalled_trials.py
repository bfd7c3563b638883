"""A RUNNING trial whose worker stopped responding is named as such by `front` and `studies`.

Such a trial stays RUNNING until another worker's recovery fails it; without a note the room sees
a trial that never moves and cannot tell a slow fit from a dead machine.
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
