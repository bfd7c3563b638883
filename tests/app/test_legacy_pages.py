"""An old one-point study (made by the code of 2026-12-02, before curves and stored predictions,
``tests/fixtures/legacy``) opens on every page with no exception and no error."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app import nav

LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "legacy"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def legacy_storage(tmp_path, monkeypatch) -> str:
    for name in ("legacy.db", "ads_small.csv"):
        shutil.copy(LEGACY / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)  # the study's spec names its table relative to where it was made
    url = f"sqlite:///{tmp_path / 'legacy.db'}"
    monkeypatch.setenv("TRADEOFF_STORAGE", url)
    return url


@pytest.mark.parametrize("page", [p.path for p in nav.PAGES], ids=[p.url_path for p in nav.PAGES])
def test_an_old_one_point_study_opens_on_every_page(legacy_storage, page):
    """Each page, opened on the old study by its address, draws it (a table at least)."""
    at = AppTest.from_file(str(ROOT / page), default_timeout=120)
    at.query_params["study"] = "legacy"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.dataframe, "the page drew none of the study's tables"
