"""Benchmark: how long a page takes to open by its address, in a real browser.

A link pasted into the meeting chat opens a new Streamlit session: the server runs the router and the
page from the top. What the person waits for is the time from ``goto`` until the page's first
meaningful content (its title, and for a page with charts the first drawn chart). This starts
``streamlit run app/main.py`` on a copy of the legacy study (``tests/fixtures/legacy``), drives
Debian's Chromium with Playwright, and prints, per page:

- the *first* open after the server started (it pays for importing the libraries the page needs),
- the median of the later opens (a new browser context each time, so a new session).

Then, in fresh interpreters, the import cost of each heavy module, so a change that imports a heavy
library at the top of a page again shows here.

    .venv/bin/python bench/page_open.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LEGACY = ROOT / "tests" / "fixtures" / "legacy"
STUDY = "legacy"
#: (address, what must be on screen): the page's title, plus a drawn chart where the page has one
PAGES = (
    ("data", "h1:has-text('Data')", None),
    (f"explorer?study={STUDY}", "h1:has-text('Pareto explorer')", '[data-testid="stPlotlyChart"] .main-svg'),
    (f"decide?study={STUDY}", "h1:has-text('Decide')", None),
)
HEAVY = (
    "streamlit",
    "pandas",
    "plotly.graph_objects",
    "sklearn",
    "xgboost",
    "scipy.stats",
    "optuna",
    "core.viz",
    "core.data",
    "core.search",
    "app.ui",
)


def _open(browser, base: str, address: str, title: str, chart: str | None) -> float:
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = ctx.new_page()
        start = time.perf_counter()
        page.goto(f"{base}/{address}")
        try:
            page.locator(title).first.wait_for(timeout=60_000)
            if chart:
                page.locator(chart).first.wait_for(timeout=60_000)
        except Exception:
            page.screenshot(path=str(ROOT / "var" / "bench" / "page_open-failed.png"))
            raise
        return time.perf_counter() - start
    finally:
        ctx.close()


def _import_cost(module: str) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    from tests.e2e.streamlit_server import launch, serve

    work = ROOT / "var" / "bench" / f"page_open-{int(time.time())}"
    work.mkdir(parents=True)
    for name in ("legacy.db", "ads_small.csv"):
        shutil.copy(LEGACY / name, work / name)
    env = {"TRADEOFF_STORAGE": f"sqlite:///{work / 'legacy.db'}", "TRADEOFF_HOME": str(work / "home")}
    cwd = os.getcwd()
    os.chdir(work)  # the legacy spec names its table relative to where it was made
    try:
        with serve(work, env, cwd=work) as base, sync_playwright() as p:
            browser = launch(p)
            print("page open by address, seconds to first content")
            for address, title, chart in PAGES:
                first = _open(browser, base, address, title, chart)
                later = [_open(browser, base, address, title, chart) for _ in range(args.repeats)]
                print(f"  /{address:<28} first {first:5.2f}   later median {statistics.median(later):5.2f}")
            browser.close()
    finally:
        os.chdir(cwd)
    print("import cost in a fresh interpreter, seconds (includes what each imports)")
    for module in HEAVY:
        print(f"  {module:<22} {_import_cost(module):5.2f}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
