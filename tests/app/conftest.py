"""Fixtures for the app's AppTest suites (Data, Objectives, Search, Pareto explorer, router).

Each AppTest runs a page in this process; Streamlit's caches are process-wide, but every test has
its own data directory (autouse ``TRADEOFF_HOME``) and so its own storage URL, so caches keyed by
URL never leak between tests.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def study_env(finished_study, monkeypatch):
    """The finished 8-trial study as the app's storage: (url, name, spec)."""
    url, name, spec = finished_study
    monkeypatch.setenv("TRADEOFF_STORAGE", url)
    return url, name, spec
