"""Open Compare on a finished demo study in a real browser and keep a screenshot of the verdict.

A real ``streamlit run app/main.py`` server (the router, so the page runs with the shared sidebar)
and Playwright driving Debian's /usr/bin/chromium. The page re-fits two trials, times them and
bootstraps, so the wait for the verdict is generous.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
SHOT = ROOT / "artifacts" / "screenshots" / "compare.png"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium at /usr/bin"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(finished_study, tmp_path):
    """``streamlit run app/main.py`` on the finished study (the page only reads it)."""
    url, name, _ = finished_study
    env = dict(os.environ, TRADEOFF_STORAGE=url, TRADEOFF_HOME=str(tmp_path / "home"))
    port = _free_port()
    log_path = tmp_path / "streamlit.log"
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app" / "main.py"),
         "--server.port", str(port), "--server.headless", "true",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("streamlit did not start:\n" + log_path.read_text())
            time.sleep(0.3)
        yield base, name
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_compare_page_shows_the_verdict(server):
    from playwright.sync_api import sync_playwright

    base, study = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2400})
            page.goto(f"{base}/compare?study={study}")
            page.get_by_text("Compare: is the complexity worth it?").wait_for(timeout=60_000)
            verdict = page.get_by_text("AUC [").first
            verdict.wait_for(timeout=240_000)
            text = verdict.inner_text()
            assert "p95 latency" in text
            assert "defensible choice" in text or "earns its complexity" in text
            page.get_by_text("Differences (challenger − baseline)").first.wait_for(timeout=60_000)
            assert page.locator('[data-testid="stException"]').count() == 0
            SHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOT), full_page=True)
        finally:
            browser.close()
    assert SHOT.stat().st_size > 10_000
