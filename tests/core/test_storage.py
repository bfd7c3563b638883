"""Where the storage URL comes from, that its password is never shown, and our schema version."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import make_url

from core import cli, search
from core import storage as st
from core.errors import UserInputError
from core.storage import _schema, schema
from tests.conftest import make_small_spec
from tests.core.pg import pg_url  # noqa: F401  (fixture)

PASSWORD = "s3cret-pw"


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """An empty project folder as the working directory (where .streamlit/secrets.toml is read)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _secrets(root: Path, text: str) -> None:
    (root / ".streamlit").mkdir(exist_ok=True)
    (root / ".streamlit" / "secrets.toml").write_text(text)


# -- resolve: flag > environment > secrets.toml > default -------------------------------------------


def test_default_is_sqlite_under_the_data_directory(project, tmp_path):
    url = st.resolve()
    assert url == f"sqlite:///{tmp_path / 'home' / 'tradeoff.db'}"  # conftest sets TRADEOFF_HOME
    assert (tmp_path / "home").is_dir()  # the folder is made so SQLite can create the file
    assert st.source() == "default"


def test_secrets_then_env_then_flag_each_win(project, monkeypatch):
    _secrets(project, '[tradeoff]\nstorage = "postgresql+psycopg://app:pw@db.example/tr"\n')
    assert st.resolve() == "postgresql+psycopg://app:pw@db.example/tr"
    assert st.source() == "secrets"
    monkeypatch.setenv("TRADEOFF_STORAGE", "postgresql+psycopg://env@db.example/tr")
    assert st.resolve() == "postgresql+psycopg://env@db.example/tr"
    assert st.source() == "env"
    assert st.resolve("sqlite:///flag.db") == "sqlite:///flag.db"
    assert st.source("sqlite:///flag.db") == "flag"


def test_a_bare_path_means_a_sqlite_file(project):
    url = st.resolve("dbs/team.db")
    assert url == f"sqlite:///{project / 'dbs' / 'team.db'}"
    assert (project / "dbs").is_dir()


def test_secrets_without_our_section_fall_through_to_the_default(project):
    _secrets(project, '[other]\nstorage = "postgresql://x@y/z"\n[tradeoff]\ntheme = "dark"\n')
    assert st.resolve().startswith("sqlite:///")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("[tradeoff\nstorage = 1", "Cannot read"),
        ("[tradeoff]\nstorage = 42\n", "must be a SQLAlchemy URL string"),
    ],
)
def test_a_broken_secrets_file_is_a_clear_user_error(project, text, expected):
    _secrets(project, text)
    with pytest.raises(UserInputError, match=expected) as err:
        st.resolve()
    assert err.value.field == "storage"


# -- mask -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, shown",
    [
        ("postgresql+psycopg://bob:pw@db:5432/tr", "postgresql+psycopg://bob:***@db:5432/tr"),
        (
            "postgresql+psycopg://bob:p@ss/w0rd@db/tr?sslmode=require",  # raw '@' and '/' in the password
            "postgresql+psycopg://bob:***@db/tr?sslmode=require",
        ),
        (
            "postgresql+psycopg://db/tr?user=bob&password=pw&application_name=x",
            "postgresql+psycopg://db/tr?application_name=x&password=***&user=bob",
        ),
        ("mysql+pymysql://root:@127.0.0.1:3306/test", "mysql+pymysql://root:***@127.0.0.1:3306/test"),
        ("postgresql+psycopg://bob@db/tr", "postgresql+psycopg://bob@db/tr"),
        ("sqlite:////var/lib/tradeoff.db", "sqlite:////var/lib/tradeoff.db"),
    ],
)
def test_mask_hides_passwords_and_nothing_else(url, shown):
    assert st.mask(url) == shown


def test_cli_error_for_an_unreachable_database_shows_the_url_masked(capsys):
    url = f"postgresql+psycopg://bob:{PASSWORD}@127.0.0.1:1/nowhere?connect_timeout=2"
    assert cli.main(["studies", "--storage", url]) == cli.EXIT_USER
    out, err = capsys.readouterr()
    assert PASSWORD not in out + err
    assert "Cannot open storage postgresql+psycopg://bob:***@127.0.0.1:1/nowhere" in err
    assert len(err.strip().splitlines()) == 1  # one line, no traceback


@pytest.mark.postgres
def test_nothing_prints_or_logs_the_password_on_postgres(
    pg_url,  # noqa: F811
    small_csv,
    capsys,
    caplog,
    monkeypatch,
):
    """Optuna's and SQLAlchemy's own log lines, our CLI output: the password appears nowhere."""
    url = make_url(pg_url).set(password=PASSWORD).render_as_string(hide_password=False)
    monkeypatch.setenv("TRADEOFF_STORAGE", url)
    caplog.set_level(logging.DEBUG)
    for name in ("optuna", "sqlalchemy.engine", "sqlalchemy.pool", "core"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        search.create_study(make_small_spec(small_csv, families=("naive_bayes",), trials=1), None, "masked")
        assert cli.main(["worker", "--study", "masked"]) == 0
        assert cli.main(["studies"]) == 0
        out, err = capsys.readouterr()
        assert "masked\t1 of 1 run" in out
        assert "postgres:***@" in out
        assert PASSWORD not in out + err
        assert caplog.records and PASSWORD not in caplog.text
        assert search.workers(None, "masked")[0]["trials_done"] == 1
    finally:
        for name in ("optuna", "sqlalchemy.engine", "sqlalchemy.pool", "core"):
            logging.getLogger(name).setLevel(logging.NOTSET)
        logging.getLogger("optuna").setLevel(logging.INFO)
        search.dispose(url)


# -- heartbeat settings ----------------------------------------------------------------------------


def test_heartbeat_settings_come_from_the_environment_and_are_checked(monkeypatch):
    assert search.heartbeat_settings() == (search.HEARTBEAT_S, search.GRACE_S)
    monkeypatch.setenv(search.ENV_HEARTBEAT, "2")
    monkeypatch.setenv(search.ENV_GRACE, "7")
    assert search.heartbeat_settings() == (2, 7)
    monkeypatch.setenv(search.ENV_GRACE, "2")
    with pytest.raises(UserInputError, match="must be longer than"):
        search.heartbeat_settings()
    monkeypatch.setenv(search.ENV_GRACE, "soon")
    with pytest.raises(UserInputError, match="whole number of seconds"):
        search.heartbeat_settings()


# -- our schema: Alembic revisions in their own version table ----------------------------------------


@pytest.fixture
def sqlite_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'schema.db'}"
    yield url
    search.dispose(url)


_NEXT_REVISION = """
import sqlalchemy as sa
from alembic import op

revision = "0002_probe"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("tradeoff_upgrade_probe", sa.Column("x", sa.Integer))


def downgrade():
    op.drop_table("tradeoff_upgrade_probe")
"""


@pytest.fixture
def next_release(tmp_path, monkeypatch):
    """Turn this installation into the next release: one more revision after today's head."""

    def install() -> str:
        folder = tmp_path / "next_versions"
        folder.mkdir()
        (folder / "rev_0002_probe.py").write_text(_NEXT_REVISION.format(down=schema.head()))
        monkeypatch.setattr(_schema, "VERSION_LOCATIONS", (*_schema.VERSION_LOCATIONS, str(folder)))
        assert schema.head() == "0002_probe"
        return "0002_probe"

    return install


def _sql(url: str, statement: str) -> None:
    con = sqlite3.connect(url[len("sqlite:///") :])
    with con:
        con.execute(statement)
    con.close()


def test_first_use_creates_our_tables_at_the_newest_revision(sqlite_url):
    assert schema.state_at(sqlite_url).revision is None
    search.engine(sqlite_url)
    assert schema.state_at(sqlite_url).revision == schema.head()
    names = set(sa.inspect(search.engine(sqlite_url)).get_table_names())
    assert {schema.VERSION_TABLE, "tradeoff_budget", "tradeoff_workers", "room_rooms"} <= names


def test_a_newer_schema_is_refused_with_what_to_do(sqlite_url):
    search.engine(sqlite_url)
    search.dispose(sqlite_url)
    _sql(sqlite_url, f"UPDATE {schema.VERSION_TABLE} SET version_num = '0099_future'")
    with pytest.raises(UserInputError, match="newer than this installation") as err:
        search.budget(sqlite_url, "any")
    assert "pip install -U tradeoff-room" in str(err.value)


def _at_baseline(url: str) -> None:
    """Our tables as the first revision made them (what the releases before today's left behind)."""
    with st.get_engine(url).begin() as con:
        command.upgrade(_schema.config(con), schema.BASELINE)
    st.dispose_engine(url)


def test_a_pre_alembic_database_is_recognised_as_the_first_revision(sqlite_url):
    """Tables made by the releases before Alembic (version tables at 1) open as the first revision,
    then get the later revisions like any older database."""
    _at_baseline(sqlite_url)
    _sql(sqlite_url, "INSERT INTO tradeoff_budget (study_name, n_trials, claimed) VALUES ('kept', 7, 0)")
    _sql(sqlite_url, f"DROP TABLE {schema.VERSION_TABLE}")
    _sql(sqlite_url, "CREATE TABLE tradeoff_schema_version (id INTEGER PRIMARY KEY, version INTEGER, updated_at TEXT)")
    _sql(sqlite_url, "INSERT INTO tradeoff_schema_version VALUES (1, 1, '2026-01-01')")
    assert schema.state_at(sqlite_url).legacy == 1
    assert search.budget(sqlite_url, "kept") == (7, 0)
    assert schema.state_at(sqlite_url).revision == schema.head()


def test_a_pre_alembic_schema_of_another_version_is_refused(sqlite_url):
    search.engine(sqlite_url)
    search.dispose(sqlite_url)
    _sql(sqlite_url, f"DROP TABLE {schema.VERSION_TABLE}")
    _sql(sqlite_url, "CREATE TABLE tradeoff_schema_version (id INTEGER PRIMARY KEY, version INTEGER, updated_at TEXT)")
    _sql(sqlite_url, "INSERT INTO tradeoff_schema_version VALUES (1, 2, '2026-01-01')")
    with pytest.raises(UserInputError, match="newer than this installation"):
        search.engine(sqlite_url)


def test_an_older_schema_is_upgraded_when_opened(sqlite_url, next_release):
    """Pending revisions are additive, so the newer code applies them itself on first use."""
    search.set_budget(sqlite_url, "kept", 7)  # made by today's release, at today's head
    search.dispose(sqlite_url)
    old_head = schema.head()
    new_head = next_release()
    assert schema.state_at(sqlite_url).revision == old_head
    assert search.budget(sqlite_url, "kept") == (7, 0)  # data survived the upgrade
    assert schema.state_at(sqlite_url).revision == new_head
    assert "tradeoff_upgrade_probe" in sa.inspect(search.engine(sqlite_url)).get_table_names()


def test_an_older_schema_can_be_upgraded_explicitly(sqlite_url, next_release, capsys):
    search.set_budget(sqlite_url, "kept", 7)
    search.dispose(sqlite_url)
    old_head = schema.head()
    new_head = next_release()
    assert schema.main(["status", sqlite_url]) == 0
    assert f"at schema {old_head}; this installation writes {new_head}" in capsys.readouterr().out
    assert schema.main(["upgrade", sqlite_url]) == 0
    assert f"schema {old_head} -> {new_head}" in capsys.readouterr().out
    assert schema.state_at(sqlite_url).revision == new_head
    assert search.budget(sqlite_url, "kept") == (7, 0)
    assert schema.main(["status", sqlite_url]) == 0
    assert f"at schema {new_head}" in capsys.readouterr().out


def test_the_baseline_is_brought_to_the_newest_revision_on_first_use(sqlite_url):
    """A database a release at the first revision left behind opens with today's tables added."""
    _at_baseline(sqlite_url)
    assert schema.state_at(sqlite_url).revision == schema.BASELINE
    search.engine(sqlite_url)
    assert schema.state_at(sqlite_url).revision == schema.head()
    assert "room_tokens" in sa.inspect(search.engine(sqlite_url)).get_table_names()


def test_upgrade_without_a_step_fails_and_changes_nothing(sqlite_url, capsys):
    search.engine(sqlite_url)
    search.dispose(sqlite_url)
    _sql(sqlite_url, f"DROP TABLE {schema.VERSION_TABLE}")
    _sql(sqlite_url, "CREATE TABLE tradeoff_schema_version (id INTEGER PRIMARY KEY, version INTEGER, updated_at TEXT)")
    _sql(sqlite_url, "INSERT INTO tradeoff_schema_version VALUES (1, 0, '2026-01-01')")
    assert schema.main(["upgrade", sqlite_url]) == 2
    assert "No upgrade step" in capsys.readouterr().err
    assert schema.state_at(sqlite_url) == schema.Found(None, 0)


@pytest.mark.postgres
def test_a_new_server_database_gets_our_tables_once_and_upgrades_cleanly(pg_url):  # noqa: F811
    engine = st.get_engine(pg_url)
    try:
        st.ensure_schema(engine)
        st.ensure_schema(engine)  # a second process finds it done
        assert schema.state_at(pg_url).revision == schema.head()
        assert schema.upgrade(pg_url) == schema.head()
    finally:
        st.dispose_engine(pg_url)


# -- one engine per URL per process --------------------------------------------------------------------


def test_one_engine_per_url_with_wal_and_a_busy_timeout(sqlite_url):
    engine = st.get_engine(sqlite_url)
    assert st.get_engine(sqlite_url) is engine
    with engine.connect() as con:
        assert con.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert con.exec_driver_sql("PRAGMA busy_timeout").scalar() == 60_000
    st.dispose_engine(sqlite_url)
    assert st.get_engine(sqlite_url) is not engine


def test_a_url_that_is_not_one_is_a_user_error():
    with pytest.raises(UserInputError, match="is not a database URL"):
        st.get_engine("no scheme at all")


def test_retrying_stops_at_a_real_error_and_gives_up_on_a_lasting_outage():
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise sa.exc.OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked"))
        return "ok"

    seen: list[int] = []
    assert st.retrying(flaky, what="a test", on_retry=lambda exc, n, wait: seen.append(n)) == "ok"
    assert seen == [1, 2]
    with pytest.raises(ValueError):
        st.retrying(lambda: (_ for _ in ()).throw(ValueError("bug")), what="a test")
    calls.clear()
    with pytest.raises(sa.exc.OperationalError):
        st.retrying(flaky, what="a test", attempts=2)  # two tries, both "locked": give up
    assert st.is_transient(sa.exc.OperationalError("x", {}, ConnectionError("gone")))
    assert not st.is_transient(KeyError("x"))


# -- SQLite: two processes never take the same queued trial ------------------------------------------

_POP_QUEUE = """
import json, sys, warnings
warnings.simplefilter("ignore")
import optuna
from core import search
optuna.logging.set_verbosity(optuna.logging.ERROR)
study = optuna.load_study(study_name="q", storage=search.optuna_storage(sys.argv[1]))
got = []
while True:
    trial = study.ask()
    x = trial.suggest_float("x", 0.5, 0.6)  # queued trials carry whole numbers; a sampled one does not
    if x != int(x):  # the queue is empty
        study.tell(trial, x)
        break
    got.append(trial.number)
    try:
        study.tell(trial, x)
    except Exception as exc:  # e.g. "Cannot tell a COMPLETE trial": another process ran it too
        got.append(repr(exc))
print(json.dumps(got))
"""


@pytest.mark.slow
def test_two_processes_never_run_the_same_queued_trial_on_sqlite(tmp_path):
    """Optuna's FOR UPDATE is a no-op on SQLite; without our BEGIN IMMEDIATE hook about 1 queued
    trial in 15 was taken by both processes (measured: 9-11 of 150; 2 of 40 with this test)."""
    import json
    import subprocess
    import sys

    import optuna

    url = f"sqlite:///{tmp_path / 'queue.db'}"
    study = optuna.create_study(study_name="q", storage=search.optuna_storage(url))
    for i in range(40):
        study.enqueue_trial({"x": float(i)})
    search.dispose(url)
    root = Path(__file__).resolve().parents[2]
    procs = [
        subprocess.Popen([sys.executable, "-c", _POP_QUEUE, url], cwd=root, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
    errors = [x for r in results for x in r if isinstance(x, str)]
    numbers = [x for r in results for x in r if isinstance(x, int)]
    assert not errors
    assert len(numbers) == len(set(numbers))  # no trial taken by both processes
    assert sorted(numbers) == list(range(40))  # and every queued trial taken once
    assert all(results), "both processes should have taken some trials"
