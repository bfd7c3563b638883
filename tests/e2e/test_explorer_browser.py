"""The Pareto explorer in a real browser: the view survives another page, and it updates by itself.

A real ``streamlit run app/main.py`` on a study built from known metrics (no model fitting), driven
by Playwright in Debian's Chromium. One browser chooses objectives, visits the Data page and comes
back; a second browser opened on a link to one trial watches while the test adds a finished trial
to the study, and sees it arrive without touching the page, its selected trial kept. Screenshots go to ``artifacts/screenshots/``.
"""

from __future__ import annotations

import re

import pytest

from tests.app.helpers import add_finished_trial, synthetic_study
from tests.e2e.streamlit_server import SHOTS, launch, needs_chromium, serve_storage

pytestmark = [pytest.mark.e2e, needs_chromium]

STUDY = "e2e-explorer"
LIVE = 'iframe[title$="plotly_live"]'  # the 2-D chart (app.plotly_live draws it in its own frame)
POINTS = [
    {"roc_auc": 0.80, "latency_p95_ms": 10.0, "accuracy": 0.81, "fit_time_s": 1.0},
    {"roc_auc": 0.70, "latency_p95_ms": 5.0, "accuracy": 0.74, "fit_time_s": 0.5},
    {"roc_auc": 0.75, "latency_p95_ms": 12.0, "accuracy": 0.77, "fit_time_s": 2.0},
    {"roc_auc": 0.90, "latency_p95_ms": 30.0, "accuracy": 0.86, "fit_time_s": 4.0},
]


@pytest.fixture
def server(tmp_path, small_csv):
    url = f"sqlite:///{tmp_path / 'explorer.db'}"
    synthetic_study(url, STUDY, small_csv, [dict(p) for p in POINTS])
    with serve_storage(tmp_path, url) as base:
        yield base, url


def _add_trial(url: str) -> None:
    add_finished_trial(url, STUDY, {"roc_auc": 0.95, "latency_p95_ms": 4.0, "accuracy": 0.9, "fit_time_s": 0.4})


def _chart_drawn(page) -> None:
    page.frame_locator(LIVE).first.locator(".scatterlayer .trace").first.wait_for()


def _shot(page, name: str) -> None:
    _chart_drawn(page)
    page.wait_for_function(
        """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
        .every(c => c.querySelector('.main-svg'))""",
        timeout=30_000,
    )
    page.wait_for_timeout(500)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _nav(page, title: str) -> None:
    page.locator('[data-testid="stSidebarNavLink"]', has_text=title).click()
    page.get_by_role("heading", name=title, exact=False).first.wait_for(timeout=60_000)


def _no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0


def _chips(page) -> list[str]:
    box = page.locator('[data-testid="stMultiSelect"]').first
    tags = box.locator('.react-aria-ComboBox [aria-label="Selected values"] [data-tag]')
    return [t.get_attribute("aria-label") or "" for t in tags.all()]


def _finished(page) -> str:
    metric = page.locator('[data-testid="stMetric"]', has_text="Finished trials").first
    return metric.locator('[data-testid="stMetricValue"]').inner_text()


def test_explorer_keeps_its_view_and_updates_live(server):
    from playwright.sync_api import sync_playwright

    base, url = server
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(60_000)
            page.goto(f"{base}/explorer?study={STUDY}")
            _chart_drawn(page)
            assert _chips(page) == ["ROC AUC (score)", "Latency p95 (ms)"]  # the spec's objectives
            # the details sit beside the chart, not below it
            chart = page.locator(LIVE).first.bounding_box()
            header = page.get_by_text(re.compile(r"^#\d+ · ")).first.bounding_box()
            assert header["x"] > chart["x"] + chart["width"] and header["y"] < chart["y"] + chart["height"]

            # choose a third objective, visit another page, come back: the choice is still there
            page.locator('[data-testid="stMultiSelect"]').first.get_by_role("combobox").click()
            page.keyboard.type("Accuracy")
            page.keyboard.press("Enter")
            page.keyboard.press("Escape")
            page.wait_for_function("() => location.search.includes('objectives=')", timeout=30_000)
            page.wait_for_timeout(1000)
            chosen = _chips(page)
            assert len(chosen) == 3 and chosen[2].startswith("Accuracy")
            _nav(page, "Data")
            _no_exception(page)
            _nav(page, "Pareto explorer")
            _chart_drawn(page)
            assert _chips(page) == chosen
            assert page.get_by_text("Choose at least two objectives").count() == 0
            assert "objectives=" in page.url and f"study={STUDY}" in page.url
            _no_exception(page)
            _shot(page, "explorer-after-navigation")
            # a reload (a new session) opens the same view from the address
            page.reload()
            _chart_drawn(page)
            assert _chips(page) == chosen

            # a second browser opens a link to trial #2 (dominated); a trial finishes meanwhile; it appears without a
            # click, and the trial the link named stays selected though the new trial dominates it
            other = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
            other.set_default_timeout(60_000)
            other.goto(f"{base}/explorer?study={STUDY}&trial=2")
            _chart_drawn(other)
            other.get_by_text(re.compile(r"^#2 · ")).first.wait_for()
            assert _finished(other) == "4 of 6"
            _add_trial(url)
            other.get_by_text("5 of 6").first.wait_for(timeout=30_000)
            other.get_by_text("1 new since you opened it").first.wait_for()
            assert other.locator('[data-testid="stMetric"]', has_text="On the front").inner_text().endswith("1")
            assert other.get_by_text(re.compile(r"^#2 · ")).count() == 1 and "trial=2" in other.url
            sidebar = other.locator('[data-testid="stSidebar"]')
            assert sidebar.get_by_text(re.compile(r"^5 of 6 trials finished")).count() == 1  # same count
            _no_exception(other)
            _shot(other, "explorer-live-second-browser")
        finally:
            browser.close()
    for name in ("explorer-after-navigation", "explorer-live-second-browser"):
        assert (SHOTS / f"{name}.png").stat().st_size > 10_000
