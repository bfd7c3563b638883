"""Every page opens at its own address; ``/`` forwards to the first page with the shared study chosen.

Streamlit serves its default page only at ``/`` (``/data`` used to say "Page not found"), so a link
someone pasted into the meeting chat must open the page it names.
"""

from __future__ import annotations

import pytest

from app import nav
from tests.e2e.streamlit_server import launch, needs_chromium, serve_storage

pytestmark = [pytest.mark.e2e, needs_chromium]


@pytest.fixture
def server(finished_study, tmp_path):
    url, name, _ = finished_study
    with serve_storage(tmp_path, url) as base:
        yield base, name


def test_every_page_has_its_own_address(server):
    from playwright.sync_api import sync_playwright

    base, study = server
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{base}/?study={study}")
            page.get_by_role("heading", name=nav.PAGES[0].title).first.wait_for(timeout=30_000)
            assert page.url.startswith(f"{base}/{nav.PAGES[0].url_path}")
            sidebar = page.locator('[data-testid="stSidebar"]')
            sidebar.get_by_text("trials finished").first.wait_for(timeout=30_000)  # the shared study is chosen
            for p_def in nav.PAGES[:4]:
                page.goto(f"{base}/{p_def.url_path}?study={study}")
                page.get_by_role("heading", name=p_def.title.split(" &")[0]).first.wait_for(timeout=30_000)
                assert page.get_by_text("Page not found").count() == 0, p_def.url_path
                assert page.locator('[data-testid="stException"]').count() == 0, p_def.url_path
        finally:
            browser.close()
