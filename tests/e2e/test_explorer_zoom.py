"""The explorer's 2-D chart in a real browser keeps the person's zoom while trials arrive (issue 18).

``st.plotly_chart`` mounts a new chart whenever its figure changes, so each new trial reset the
zoom; the live chart (``app.plotly_live``) stays mounted and redraws with ``Plotly.react``. A real
``streamlit run app/main.py`` on a study built from known metrics, Playwright driving Debian's
Chromium: zoom by dragging a box, let a worker finish a trial that lands inside the box, and check
the same plot now draws it inside the same ranges; then a click on a point fills the details panel.
The test reads the plot wherever it is drawn (the component's iframe or the page itself), so with
plain ``st.plotly_chart`` it fails on the lost zoom, not on a missing iframe.
"""

from __future__ import annotations

import re

import pytest

from tests.app.helpers import add_finished_trial, synthetic_study
from tests.e2e.streamlit_server import SHOTS, launch, needs_chromium, serve_storage

pytestmark = [pytest.mark.e2e, needs_chromium]

STUDY = "e2e-zoom"
POINTS = [
    {"roc_auc": 0.80, "latency_p95_ms": 10.0, "accuracy": 0.81, "fit_time_s": 1.0},
    {"roc_auc": 0.70, "latency_p95_ms": 5.0, "accuracy": 0.74, "fit_time_s": 0.5},
    {"roc_auc": 0.75, "latency_p95_ms": 12.0, "accuracy": 0.77, "fit_time_s": 2.0},
    {"roc_auc": 0.90, "latency_p95_ms": 30.0, "accuracy": 0.86, "fit_time_s": 4.0},
]
NEW = {"roc_auc": 0.88, "latency_p95_ms": 4.5, "accuracy": 0.9, "fit_time_s": 0.4}  # trial #4: inside the box
BOX_X, BOX_Y = (0.72, 0.90), (4.0, 13.0)  # ROC AUC × latency (ms): #0, #2 and #4 inside, #1 and #3 outside

# The first Plotly plot of a frame (the 2-D chart: the left column comes first).
_GD = "document.querySelector('.js-plotly-plot')"
# Pixel position (in the frame) of data coordinates on the plot's axes.
_TO_PX = f"""([x, y]) => {{
    const gd = {_GD}, fl = gd._fullLayout, box = gd.getBoundingClientRect();
    return [box.left + fl.xaxis._offset + fl.xaxis.d2p(x), box.top + fl.yaxis._offset + fl.yaxis.d2p(y)];
}}"""
_RANGES = f"() => {{ const fl = {_GD}._fullLayout; return [fl.xaxis.range, fl.yaxis.range]; }}"
# Trial numbers of every drawn point (customdata rows start with the trial number).
_TRIALS = f"""() => {{
    const out = [];
    for (const t of {_GD}._fullData || []) {{
        for (const row of t.customdata || []) out.push(row && row.length !== undefined ? row[0] : row);
    }}
    return out;
}}"""
# Pixel positions (in the frame) of every drawn marker.
_MARKERS = """() => [...document.querySelectorAll('.js-plotly-plot .scatterlayer .points path')].map(p => {
    const r = p.getBoundingClientRect();
    return [r.left + r.width / 2, r.top + r.height / 2];
})"""


@pytest.fixture
def server(tmp_path, small_csv):
    url = f"sqlite:///{tmp_path / 'zoom.db'}"
    synthetic_study(url, STUDY, small_csv, [dict(p) for p in POINTS])
    with serve_storage(tmp_path, url) as base:
        yield base, url


def _add_trial(url: str) -> None:
    add_finished_trial(url, STUDY, NEW)


def _plot(page):
    """(the frame the 2-D chart is drawn in, its offset in the page), once its points are drawn."""
    page.locator('iframe[title$="plotly_live"], [data-testid="stPlotlyChart"]').first.wait_for()
    frame = page.main_frame
    offset = (0.0, 0.0)
    page.locator('iframe[title$="plotly_live"], [data-testid="stPlotlyChart"]').first.scroll_into_view_if_needed()
    iframe = page.locator('iframe[title$="plotly_live"]')
    if iframe.count():
        box = iframe.first.bounding_box()
        frame, offset = iframe.first.element_handle().content_frame(), (box["x"], box["y"])
    frame.wait_for_function(f"() => {_GD} && {_GD}._fullLayout && {_GD}.querySelector('.scatterlayer .points path')")
    return frame, offset


def _page_px(frame, offset, x: float, y: float) -> tuple[float, float]:
    px, py = frame.evaluate(_TO_PX, [x, y])
    return offset[0] + px, offset[1] + py


def _close(got: list, want: tuple, tol: float) -> bool:
    return abs(got[0] - want[0]) < tol and abs(got[1] - want[1]) < tol


def test_a_zoom_survives_new_trials_and_a_click_still_selects(server):
    from playwright.sync_api import sync_playwright

    base, url = server
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(60_000)
            page.goto(f"{base}/explorer?study={STUDY}")
            frame, offset = _plot(page)
            assert set(frame.evaluate(_TRIALS)) == {0, 1, 2, 3}
            # the person zooms: the modebar's zoom tool, a box dragged from one corner to the other
            page.mouse.move(*_page_px(frame, offset, 0.8, 8.0))
            frame.locator('.modebar-btn[data-val="zoom"]').first.click()
            start = _page_px(frame, offset, BOX_X[0], BOX_Y[1])
            end = _page_px(frame, offset, BOX_X[1], BOX_Y[0])
            page.mouse.move(*start)
            page.mouse.down()
            page.mouse.move(*end, steps=12)
            page.mouse.up()
            frame.wait_for_function(
                f"() => Math.abs({_GD}._fullLayout.xaxis.range[1] - {BOX_X[1]}) < 0.01", timeout=5_000
            )
            zoomed = frame.evaluate(_RANGES)
            assert _close(zoomed[0], BOX_X, 0.01) and _close(zoomed[1], BOX_Y, 0.2), zoomed
            frame.evaluate(f"() => {{ {_GD}.dataset.zoomTest = 'same plot'; }}")

            # a worker finishes trial #4 meanwhile: it is drawn, inside the same zoom, on the same plot
            _add_trial(url)
            page.get_by_text("5 of 6").first.wait_for(timeout=30_000)
            frame.wait_for_function(f"() => ({_TRIALS})().includes(4)", timeout=30_000)
            page.wait_for_timeout(500)
            assert frame.evaluate(f"() => {_GD}.dataset.zoomTest") == "same plot"  # redrawn, not mounted anew
            assert frame.evaluate(_RANGES) == zoomed
            new_at = frame.evaluate(_TO_PX, [NEW["roc_auc"], NEW["latency_p95_ms"]])
            assert any(_close(m, new_at, 3) for m in frame.evaluate(_MARKERS)), "no marker where #4 is"
            assert page.locator('[data-testid="stException"]').count() == 0

            # a click on #2 (dominated, drawn faded) fills the details panel; the zoom still holds
            frame, offset = _plot(page)  # the page grew above the chart meanwhile: measure again
            target = _page_px(frame, offset, 0.75, 12.0)
            page.mouse.move(*target)
            page.wait_for_timeout(300)
            page.mouse.click(*target)
            page.get_by_text(re.compile(r"^#2 · ")).first.wait_for(timeout=30_000)
            page.wait_for_function("() => location.search.includes('trial=2')")
            frame, offset = _plot(page)
            page.wait_for_timeout(500)
            assert frame.evaluate(_RANGES) == zoomed
            assert page.locator('[data-testid="stException"]').count() == 0
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "explorer-zoom-kept.png"), full_page=True)
        finally:
            browser.close()
