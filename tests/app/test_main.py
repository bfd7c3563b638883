"""The router: page list and order, the shared sidebar, the study shared through the address."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import nav
from core import search
from tests.app.helpers import assert_ok, run_page, texts
from tests.core.pg import pg_url  # noqa: F401  (fixture)


def test_pages_in_meeting_order_and_only_those_that_exist(tmp_path):
    for p in ("pages/data.py", "pages/search.py", "pages/decide.py"):
        (tmp_path / p).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / p).write_text("")
    assert [p.title for p in nav.existing(tmp_path)] == ["Data", "Search", "Decide"]
    titles = [p.title for p in nav.PAGES]
    assert titles == ["Data", "Objectives & stakeholders", "Search", "Pareto explorer", "Compare", "Decide", "Export"]
    assert all(Path(p.path).stem == p.url_path for p in nav.PAGES)
    mine = [p.title for p in nav.existing()][:4]
    assert mine == titles[:4]


def test_sidebar_shows_the_study_and_the_storage(study_env):
    url, name, spec = study_env
    at = run_page("data", study=name)
    assert at.sidebar.selectbox[0].value == name
    captions = texts(at.sidebar, "caption")
    assert any("ROC AUC" in c for c in captions)
    done, _ = search.counted(search.open_study(url, name).get_trials())
    assert any(f"{done} of {spec.budget.n_trials} trials finished" in c for c in captions)
    assert any(url in c for c in captions)
    # the study stays chosen (and in the address) when switching pages
    at.switch_page("../pages/explorer.py").run()
    assert_ok(at)
    assert at.query_params.get("study") == name
    assert at.sidebar.selectbox[0].value == name


@pytest.mark.postgres
def test_storage_password_is_masked_in_the_sidebar(pg_url, monkeypatch):  # noqa: F811
    with_password = pg_url.replace("postgres@", "postgres:s3cret-pw@", 1)
    monkeypatch.setenv("TRADEOFF_STORAGE", with_password)
    at = run_page("data")
    shown = " ".join(texts(at.sidebar, "caption"))
    assert "s3cret-pw" not in shown and "postgres:***@" in shown
