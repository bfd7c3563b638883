"""Two people in two browsers on the Decide page: votes, comments and the lock appear live.

A real ``streamlit run app/main.py`` server on a copy of the finished study, and Playwright driving
Debian's /usr/bin/chromium with two browser contexts (two separate sessions, like two laptops).
"""

from __future__ import annotations

import re

import pytest

from tests.core.test_decide import copy_study
from tests.e2e.streamlit_server import SHOTS, launch, needs_chromium, serve_storage

SHOT = SHOTS / "decide.png"
COMMENT = "<b>x</b> **y**"
LIVE_MS = 20_000  # polling every 2 s: a change must show within seconds, no reload (CI runs tests beside it)

pytestmark = [pytest.mark.e2e, needs_chromium]


@pytest.fixture
def server(finished_study, tmp_path):
    """``streamlit run app/main.py`` on a private copy of the study; yields (base_url, study)."""
    url, name, _ = finished_study
    copy = copy_study(url, tmp_path / "study.db")
    with serve_storage(tmp_path, copy) as base:
        yield base, name, copy


def _enter(page, base: str, study: str, name: str, button: str) -> None:
    page.goto(f"{base}/decide?study={study}")
    page.get_by_label("Your name").fill(name)
    page.get_by_role("button", name=button).click()
    page.get_by_text(f"You are {name}").wait_for(timeout=30_000)


def test_two_browsers_see_each_others_votes_comments_and_the_lock(server):
    from playwright.sync_api import expect, sync_playwright

    base, study, storage = server
    with sync_playwright() as p:
        browser = launch(p)
        try:
            alice = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            bob = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            _enter(alice, base, study, "Alice", "Open the decision room")
            _enter(bob, base, study, "Bob", "Join")
            # a stakeholder card Bob saves (here from a terminal, with his token) reaches Alice's page
            # without her touching it
            from urllib.parse import parse_qs, urlparse

            from core.decide.room import RoomStore

            bob_token = parse_qs(urlparse(bob.url).query)["token"][0]
            with RoomStore(storage) as store:
                store.save_stakeholder(store.room_id(study), bob_token, "Bob", ["dp_diff"])
            expect(alice.get_by_text("Bob would pick").first).to_be_visible(timeout=LIVE_MS)
            tally = alice.get_by_text("Tally (round 1):")
            expect(tally).to_contain_text("0 approve", timeout=LIVE_MS)
            body = tally.inner_text().split("):", 1)[1]
            labels = [part.split(": ")[0].strip() for part in body.split(";")]
            # Bob marks each candidate as he means it; Alice's tally follows without a reload
            marks = dict(zip(labels, ["approve", "reject", "abstain"], strict=False))
            for label, mark in marks.items():
                radio = bob.locator("[data-testid='stRadio']").filter(has_text=label).first
                radio.get_by_text(mark, exact=True).click()
            bob.get_by_role("button", name="Cast my vote").click()
            live = alice.get_by_text("Tally (round 1):")
            expected = {"approve": "1 approve, 0 reject, 0 abstain", "reject": "0 approve, 1 reject, 0 abstain"}
            expected["abstain"] = "0 approve, 0 reject, 1 abstain"
            for label, mark in marks.items():
                expect(live).to_contain_text(f"{label}: {expected[mark]}", timeout=LIVE_MS)
            # a reload keeps who Bob is (his token rides in the URL), and he has no lock control
            bob.reload()
            bob.get_by_text("You are Bob").wait_for(timeout=30_000)
            assert "token=" in bob.url
            expect(bob.get_by_role("button", name="Lock decision")).to_have_count(0)
            expect(alice.get_by_role("button", name="Lock decision")).to_have_count(1)
            # the facilitator's reload keeps her the facilitator: the lock control is still shown to her
            alice.reload()
            alice.get_by_text("You are Alice").wait_for(timeout=30_000)
            assert "token=" in alice.url
            expect(alice.get_by_role("button", name="Lock decision")).to_have_count(1, timeout=LIVE_MS)
            expect(alice.get_by_role("button", name="Start a new vote round")).to_have_count(1)
            # Bob's comment shows in Alice's browser, literally: no bold, no HTML element
            bob.get_by_label("Comment", exact=True).fill(COMMENT)
            bob.get_by_role("button", name="Post comment").click()
            expect(alice.get_by_text(COMMENT, exact=True)).to_be_visible(timeout=LIVE_MS)
            assert alice.locator("b", has_text=re.compile("^x$")).count() == 0
            assert alice.locator("strong", has_text=re.compile("^y$")).count() == 0
            # Alice locks; Bob sees the decision and loses the vote form without reloading
            alice.get_by_label("Rationale (required, kept in the decision log)").fill(
                "Best compromise: nobody gives up more than they must."
            )
            alice.get_by_role("button", name="Lock decision").click()
            expect(alice.get_by_text("Decision locked")).to_be_visible(timeout=LIVE_MS)
            expect(bob.get_by_text("Decision locked")).to_be_visible(timeout=LIVE_MS)
            expect(bob.get_by_role("button", name="Cast my vote")).to_have_count(0, timeout=LIVE_MS)
            assert alice.locator("[data-testid='stException']").count() == 0
            assert bob.locator("[data-testid='stException']").count() == 0
            SHOT.parent.mkdir(parents=True, exist_ok=True)
            # Streamlit scrolls inside its own container: a tall window shows the whole page
            alice.set_viewport_size({"width": 1400, "height": 3400})
            alice.get_by_text("Tally (round 1):").scroll_into_view_if_needed()
            alice.wait_for_timeout(2500)  # let the charts redraw at the new size
            alice.screenshot(path=str(SHOT), full_page=True)
        finally:
            browser.close()
