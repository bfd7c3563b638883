"""Every page that shows a study's figures says where they were measured (search CV, held-out test)."""

from __future__ import annotations

import pytest

from core._text import SCOPE_SEARCH, SCOPE_TEST
from core.decide.room import RoomStore
from tests.app.helpers import run_page, texts
from tests.core.test_decide import copy_study


def _words(at) -> str:
    helps = [h.proto.help for h in at.subheader]  # a heading's (?) says what its table shows
    return " ".join(texts(at, "caption") + texts(at, "markdown") + texts(at, "info") + texts(at, "success") + helps)


@pytest.mark.parametrize("page", ["explorer", "search", "compare"])
def test_each_page_names_the_scope_of_its_figures(study_env, page):
    _, name, _ = study_env
    words = _words(run_page(page, study=name))
    if page == "compare":
        assert "held-out test" in words and "search's stored figure" in words
    else:
        assert SCOPE_SEARCH in words
    if page == "explorer":
        assert SCOPE_TEST in words


def test_decide_names_the_scope_of_its_shortlist(finished_study, tmp_path, monkeypatch):
    url, name, _ = finished_study
    copy = copy_study(url, tmp_path / "study.db")
    monkeypatch.setenv("TRADEOFF_STORAGE", copy)
    with RoomStore(copy) as s:
        s.open_room(name, "Ana")
    assert SCOPE_SEARCH in _words(run_page("decide", study=name))
