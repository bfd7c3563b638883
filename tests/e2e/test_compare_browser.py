"""Open Compare on a finished demo study in a real browser and keep a screenshot of the verdict.

A real ``streamlit run app/main.py`` server (the router, so the page runs with the shared sidebar)
and Playwright driving Debian's /usr/bin/chromium. The page re-fits two trials, times them and
bootstraps, so the wait for the verdict is generous.
"""

from __future__ import annotations

import pytest

from tests.e2e.streamlit_server import SHOTS, launch, needs_chromium, serve_storage

SHOT = SHOTS / "compare.png"

pytestmark = [pytest.mark.e2e, needs_chromium]


@pytest.fixture
def server(finished_study, tmp_path):
    """``streamlit run app/main.py`` on the finished study (the page only reads it)."""
    url, name, _ = finished_study
    with serve_storage(tmp_path, url) as base:
        yield base, name


def test_compare_page_shows_the_verdict(server):
    from playwright.sync_api import sync_playwright

    base, study = server
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2400})
            page.goto(f"{base}/compare?study={study}")
            page.get_by_text("Compare: is the complexity worth it?").wait_for(timeout=60_000)
            # the verdict sentence: the AUC difference with its interval, and what the complexity costs
            verdict = page.get_by_text("95 % interval").first
            verdict.wait_for(timeout=240_000)
            text = verdict.inner_text()
            assert "AUC" in text and any(w in text for w in ("slower", "faster", "about as fast"))
            assert "α" not in text
            page.get_by_text("Differences (challenger − baseline)").first.wait_for(timeout=60_000)
            assert page.locator('[data-testid="stException"]').count() == 0
            SHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOT), full_page=True)
        finally:
            browser.close()
    assert SHOT.stat().st_size > 10_000
