"""The meeting in a real browser: demo data → objectives → live search → Pareto explorer → details.

A real ``streamlit run app/main.py`` on a free port with an empty data directory, and Playwright
driving Debian's Chromium. The search runs in real worker processes started from the Search page;
a second browser context opened on the same address sees the same progress. A screenshot of each
page is saved under ``artifacts/screenshots/``.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from tests.e2e.streamlit_server import SHOTS, launch, needs_chromium, serve

STUDY = "e2e-demo"

pytestmark = [pytest.mark.e2e, needs_chromium]


@pytest.fixture
def server(tmp_path):
    """``streamlit run app/main.py`` on an empty SQLite database under a temporary data directory."""
    home = tmp_path / "home"
    url = f"sqlite:///{home / 'tradeoff.db'}"
    try:
        with serve(tmp_path, {"TRADEOFF_HOME": str(home)}) as base:
            yield base, url
    finally:
        _stop_workers(url)


def _stop_workers(url: str) -> None:
    """Workers run in their own sessions: end any this test started (normally they have exited)."""
    from core import search
    from core.search import launcher as workers

    try:
        rows = search.workers(url, STUDY)
    except Exception:
        return
    for r in rows:
        if r.get("pid") and r.get("host") == socket.gethostname() and not str(r.get("state")).startswith("finished"):
            workers.stop(int(r["pid"]))


def _shot(page, name: str) -> Path:
    """Screenshot once the page's charts have drawn (Streamlit scrolls inside its own container,
    so the viewport is made tall rather than relying on full_page)."""
    page.wait_for_function(
        """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
        .every(c => c.querySelector('.main-svg'))""",
        timeout=30_000,
    )
    page.wait_for_timeout(500)
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


#: the two screen sizes a meeting room projects at; every step is checked and kept at both
SIZES = ((1400, 900), (1920, 1080))

#: the bounding boxes of each chart's title, legend and axis titles, as [name, left, top, right, bottom]
_CHART_TEXT_BOXES = """() => [...document.querySelectorAll('.js-plotly-plot')].map(gd => {
    const boxes = [];
    for (const [name, sel] of [['title', '.gtitle'], ['legend', '.legend'], ['xtitle', '.xtitle'],
                               ['ytitle', '.ytitle']]) {
        for (const el of gd.querySelectorAll(sel)) {
            const r = el.getBoundingClientRect();
            if (r.width > 0 && r.height > 0) boxes.push([name, r.left, r.top, r.right, r.bottom]);
        }
    }
    return boxes;
})"""


def _chart_boxes(page, tries: int = 5) -> list:
    """Every chart's text boxes, in the page and in each frame (a live chart draws in its own).
    A rerun may replace a chart's frame while it is read: then the page is read again once the
    new frame is there, so what is checked is what the room sees."""
    from playwright.sync_api import Error as PlaywrightError

    for attempt in range(tries):
        try:
            return [c for frame in page.frames for c in frame.evaluate(_CHART_TEXT_BOXES)]
        except PlaywrightError as exc:
            if "detached" not in str(exc) or attempt == tries - 1:
                raise
            page.wait_for_timeout(1000)
    return []


def _overlaps(page) -> tuple[list[str], int]:
    """Chart titles that overlap a legend or an axis title (text drawn over text), and how many
    text boxes were looked at (so a check that found no charts cannot pass unnoticed)."""
    found = []
    charts = _chart_boxes(page)
    for boxes in charts:
        titles = [b for b in boxes if b[0] == "title"]
        others = [b for b in boxes if b[0] != "title"]
        for t in titles:
            for o in others:
                if t[1] < o[3] - 1 and o[1] < t[3] - 1 and t[2] < o[4] - 1 and o[2] < t[4] - 1:
                    found.append(f"title over {o[0]}")
    return found, sum(len(b) for b in charts)


def _shots(page, name: str) -> int:
    """The step at both projector sizes (what the room sees, no scrolling), each checked for text
    drawn over text in its charts; the tall page screenshot as before. Returns the text boxes checked."""
    checked = 0
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(800)  # charts re-lay out to the new width
        found, n = _overlaps(page)
        assert found == [], (name, width, found)
        checked += n
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}-{width}x{height}.png"))
    page.set_viewport_size({"width": 1400, "height": 1800})
    _shot(page, name)
    return checked


def _no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, page.locator(
        '[data-testid="stException"]'
    ).first.inner_text()


def _nav(page, title: str) -> None:
    page.locator('[data-testid="stSidebarNavLink"]', has_text=title).click()
    page.get_by_role("heading", name=title, exact=False).first.wait_for(timeout=60_000)


def _commit(page, label: str, value: str, role: str = "textbox") -> None:
    """Type into a text (``textbox``) or number (``spinbutton``) input and commit it with Enter."""
    box = page.get_by_role(role, name=label, exact=True).first
    box.fill(value)
    box.press("Enter")
    page.wait_for_timeout(700)


def test_meeting_flow_in_chromium(server):
    from playwright.sync_api import expect, sync_playwright

    base, url = server
    with sync_playwright() as p:
        browser = launch(p)
        try:
            ctx = browser.new_context(viewport={"width": 1400, "height": 1800})
            page = ctx.new_page()
            page.set_default_timeout(60_000)

            # 1 · Data: the demo loads with its checks
            page.goto(base)
            page.get_by_text("20,000", exact=True).first.wait_for(timeout=120_000)
            expect(page.get_by_text("Sensitive groups")).to_be_visible()
            _no_exception(page)
            _shots(page, "1-data")

            # 2 · Objectives: add an objective, a limit, fast families, a tiny budget, save
            _nav(page, "Objectives & stakeholders")
            objectives = page.locator('[data-testid="stMultiSelect"]').first
            objectives.get_by_role("combobox").click()
            page.keyboard.type("Net value")
            page.keyboard.press("Enter")
            page.keyboard.press("Escape")
            page.get_by_text("Net value per 1,000 decisions", exact=True).first.wait_for()
            # a latency limit nobody meets: the room relaxes it after the search, with no re-run
            _commit(page, "Hard limit (at most)", "0.001 ms")  # the first "at most" row: latency
            page.get_by_role("button", name="Fast families only").click()
            page.wait_for_timeout(700)
            page.get_by_text("Histogram gradient boosting", exact=True).click()  # keep the fastest three
            page.wait_for_timeout(700)
            _commit(page, "Trials", role="spinbutton", value="4")
            page.get_by_text("Validation (how each trial is measured)").click()
            _commit(page, "CV folds", role="spinbutton", value="2")
            _commit(page, "Max training rows (0 = all)", role="spinbutton", value="1500")
            _commit(page, "Latency repeats", role="spinbutton", value="20")
            _commit(page, "Study name", STUDY)
            page.get_by_role("button", name="Save and use this study").click()
            page.get_by_text("Saved as study").wait_for(timeout=120_000)
            assert f"study={STUDY}" in page.url  # the address now names the shared study
            _no_exception(page)
            _shots(page, "2-objectives")

            # 3 · Search: start two local workers and watch; a second browser sees the same study
            _nav(page, "Search")
            assert f"study={STUDY}" in page.url
            _commit(page, "Local worker processes", role="spinbutton", value="2")
            page.get_by_role("button", name="Start search").click()
            page.get_by_text(re.compile(r"Running|Search finished")).first.wait_for(timeout=60_000)
            page.reload()  # a reload starts a new session: the study comes back from the address
            page.get_by_text(re.compile(r"of 4 trials")).first.wait_for(timeout=60_000)
            assert (
                page.get_by_role("button", name="Start search").is_disabled()
                or page.get_by_text("Search finished").count() > 0
            )  # the search was not restarted
            second_ctx = browser.new_context(viewport={"width": 1400, "height": 1800})
            second = second_ctx.new_page()
            second.goto(page.url)
            second.get_by_role("heading", name="Search").wait_for(timeout=60_000)
            second.get_by_text(re.compile(r"of 4 trials")).first.wait_for(timeout=60_000)
            page.get_by_text("Search finished").first.wait_for(timeout=240_000)
            second.get_by_text("Search finished").first.wait_for(timeout=60_000)
            progress = re.compile(r"\d+ of 4 trials · \d+ failed · \d+ running")
            first_text = page.get_by_text(progress).first.inner_text()
            assert first_text.startswith("4 of 4 trials")
            assert second.get_by_text(progress).first.inner_text() == first_text
            _no_exception(page)
            _no_exception(second)
            _shots(page, "3-search")
            _shot(second, "3-search-second-browser")
            second_ctx.close()

            # 4 · Pareto explorer: no trial holds the latency limit; relaxing it makes them feasible, no re-run
            _nav(page, "Pareto explorer")
            page.get_by_text("No finished trial holds every hard limit").first.wait_for(timeout=60_000)
            limit_box = page.get_by_role("textbox", name=re.compile(r"^Latency p95 \(at most")).first
            limit_box.fill("60")
            page.get_by_role("button", name="Apply limits").click()
            feasible = page.locator('[data-testid="stMetric"]', has_text="Hold limits in search")
            expect(feasible.locator('[data-testid="stMetricValue"]')).not_to_have_text("0", timeout=60_000)
            # the rerun replaces the page's elements one by one: the old warning goes when it ends
            expect(page.get_by_text("No finished trial holds every hard limit")).to_have_count(0, timeout=60_000)
            _shots(page, "4-explorer-limit-relaxed")

            # click a front point that is not the knee, see its details
            chart = page.frame_locator('iframe[title$="plotly_live"]').first.locator("body")  # app.plotly_live
            chart.locator(".scatterlayer .trace").first.wait_for()
            knee_header = page.get_by_text(re.compile(r"^#\d+ · ")).first
            knee_header.wait_for()
            knee = int(re.match(r"#(\d+)", knee_header.inner_text()).group(1))
            target = chart.evaluate(
                """(el, knee) => {
                // plotly.js decodes the typed arrays the server sends into _fullData
                const gd = el.querySelector('.js-plotly-plot');
                for (let i = 0; i < gd._fullData.length; i++) {
                    const t = gd._fullData[i];
                    if (t.meta !== 'front' && t.meta !== 'dominated') continue;
                    for (let j = 0; j < t.customdata.length; j++) {
                        const n = Number(t.customdata[j][0]);
                        if (n !== knee) return {trace: i, point: j, number: n};
                    }
                }
                return null; }""",
                knee,
            )
            assert target is not None, "the front has only the knee"
            point = (
                chart.locator(".scatterlayer .trace").nth(target["trace"]).locator("path.point").nth(target["point"])
            )
            point.click(force=True)
            page.get_by_text(re.compile(rf"^#{int(target['number'])} · ")).first.wait_for(timeout=60_000)
            expect(page.get_by_text("Per-group fairness")).to_be_visible()
            expect(page.get_by_text("Every metric")).to_be_visible()
            _no_exception(page)
            _shots(page, "4-explorer")

            # 5 · away and back: the explorer keeps the selected trial (it lives in the address)
            selected = re.compile(rf"^#{int(target['number'])} · ")
            _nav(page, "Decide")
            _nav(page, "Pareto explorer")
            page.get_by_text(selected).first.wait_for(timeout=60_000)
            expect(page.get_by_text("Every metric")).to_be_visible()

            # 6 · Compare: the default pair, from what the search stored, with its verdict sentence
            _nav(page, "Compare")
            page.get_by_role("tab", name="Statistics").wait_for(timeout=120_000)
            expect(page.get_by_text(re.compile("search's stored figure")).first).to_be_visible()
            _no_exception(page)
            assert _shots(page, "6-compare") > 4  # its charts' titles, legends and axis titles were looked at

            # 7 · Export: build the bundle (progress bar) and get the download
            _nav(page, "Export")
            page.get_by_role("button", name="Build bundle").click()
            page.get_by_role("button", name="Download bundle (.zip)").wait_for(timeout=180_000)
            _no_exception(page)
            _shots(page, "7-export")
        finally:
            browser.close()
    names = ["1-data", "2-objectives", "3-search", "4-explorer-limit-relaxed", "4-explorer", "6-compare", "7-export"]
    for name in names:
        for width, height in SIZES:
            assert (SHOTS / f"{name}-{width}x{height}.png").stat().st_size > 10_000
    assert (SHOTS / "3-search-second-browser.png").stat().st_size > 10_000
