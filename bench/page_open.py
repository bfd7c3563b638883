"""Benchmark: how long a page takes to open by its address, in a real browser (issue 18).

A link pasted into the meeting chat opens a new Streamlit session: the server runs the router and the
page from the top. What the person waits for is the time from ``goto`` until the page's first
meaningful content (its title, and for a page with charts the first drawn chart). This starts
``streamlit run app/main.py`` on a copy of the legacy study (``tests/fixtures/legacy``), drives
Debian's Chromium with Playwright, and prints, per page:

- **cold**: the first open after the server started. Each page gets a server of its own, because
  the first page opened pays for importing what every page needs (modules stay imported in the
  server process) and would hide what the others cost on a fresh server;
- **warm**: the median of the later opens on that server (a new browser context each time, so a new
  session with an empty browser cache: what a second person clicking the same link waits for).

Then the server's own part, without a browser: the router and page run through ``AppTest`` in a
fresh interpreter, first run (imports included) and the median of later runs (what every rerun
costs). The browser's part is roughly the difference: Streamlit's JavaScript, the websocket,
drawing. Then the import cost of each heavy module in fresh interpreters, so a change that imports a
heavy library at the top of a page again shows here.

With ``--baseline-dir DIR`` every figure is measured for an older tree as well, in the same process
run and interleaved page by page (the machine's load changes by the minute), and printed side by
side with the ratio ``now / baseline``::

    mkdir -p /tmp/page_open_base && git archive HEAD~1 app pages core | tar -x -C /tmp/page_open_base
    .venv/bin/python bench/page_open.py --baseline-dir /tmp/page_open_base [--repeats 3]

A tree is run by putting it first on ``PYTHONPATH`` (ahead of the editable install of this
checkout); both use this checkout's fixtures and virtual environment.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LEGACY = ROOT / "tests" / "fixtures" / "legacy"
STUDY = "legacy"
LIVE = 'iframe[title$="plotly_live"]'  # the explorer's 2-D chart (app.plotly_live draws it in a frame)
#: (page, address, what must be on screen): the title, plus a drawn chart where the page has one
PAGES = (
    ("data", "data", "h1:has-text('Data')", False),
    ("explorer", f"explorer?study={STUDY}", "h1:has-text('Pareto explorer')", True),
    ("decide", f"decide?study={STUDY}", "h1:has-text('Decide')", False),
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
#: one page run through the router with AppTest: prints [first, later...] seconds as JSON
_APPTEST = """
import json, sys, time
from streamlit.testing.v1 import AppTest
page, study, repeats, main = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
times = []
for _ in range(1 + repeats):
    at = AppTest.from_file(main, default_timeout=300)
    if study:
        at.query_params["study"] = study
    start = time.perf_counter()
    at.switch_page(f"../pages/{page}.py").run()
    times.append(time.perf_counter() - start)
    assert not at.exception, [e.value for e in at.exception]
print(json.dumps(times))
"""


def _env(tree: Path, work: Path) -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    env.update(
        PYTHONPATH=os.pathsep.join([str(tree), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        TRADEOFF_STORAGE=f"sqlite:///{work / 'legacy.db'}",
        TRADEOFF_HOME=str(work / "home"),
    )
    return env


def _fresh_work(base: Path, label: str) -> Path:
    """A copy of the legacy study: every server gets its own, so no run warms another's files."""
    work = base / f"{label}-{time.monotonic_ns()}"
    work.mkdir(parents=True)
    for name in ("legacy.db", "ads_small.csv"):
        shutil.copy(LEGACY / name, work / name)
    return work


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _serve(tree: Path, work: Path) -> Iterator[str]:
    """``streamlit run TREE/app/main.py`` in ``work`` (the legacy spec names its table relative to
    where it was made); yields the base URL once healthy, stops the server after."""
    port = _free_port()
    log = open(work / "streamlit.log", "wb")  # noqa: SIM115 (the server writes to it until the end)
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(tree / "app" / "main.py"), "--server.port", str(port)]
        + ["--server.headless", "true", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=work,
        env=_env(tree, work),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("streamlit did not start:\n" + (work / "streamlit.log").read_text())
            time.sleep(0.3)
        yield base
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def _wait_chart(page, timeout_s: float = 60) -> None:
    """The first drawn Plotly chart, in the live chart's frame or on the page itself."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if page.locator('[data-testid="stPlotlyChart"] .main-svg').count():
            return
        if page.locator(LIVE).count() and page.frame_locator(LIVE).first.locator(".main-svg").count():
            return
        page.wait_for_timeout(50)
    raise TimeoutError("no chart drawn")


def _open(browser, base: str, address: str, title: str, chart: bool) -> float:
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = ctx.new_page()
        start = time.perf_counter()
        page.goto(f"{base}/{address}")
        try:
            page.locator(title).first.wait_for(timeout=60_000)
            if chart:
                _wait_chart(page)
        except Exception:
            page.screenshot(path=str(ROOT / "var" / "bench" / "page_open-failed.png"))
            raise
        return time.perf_counter() - start
    finally:
        ctx.close()


def _browser_times(browser, tree: Path, base_dir: Path, page: str, repeats: int) -> tuple[float, float]:
    """(cold, warm median) seconds for one page on a server of its own."""
    _, address, title, chart = next(p for p in PAGES if p[0] == page)
    work = _fresh_work(base_dir, page)
    with _serve(tree, work) as base:
        cold = _open(browser, base, address, title, chart)
        warm = [_open(browser, base, address, title, chart) for _ in range(repeats)]
    return cold, statistics.median(warm)


def _server_times(tree: Path, base_dir: Path, page: str, repeats: int) -> tuple[float, float]:
    """(first run, later median) seconds of the router and page in AppTest, fresh interpreter."""
    study = "" if page == "data" else STUDY
    work = _fresh_work(base_dir, f"apptest-{page}")
    args = [sys.executable, "-c", _APPTEST, page, study, str(repeats), str(tree / "app" / "main.py")]
    out = subprocess.run(args, cwd=work, env=_env(tree, work), capture_output=True, text=True, check=False)
    if out.returncode:
        raise RuntimeError(f"AppTest of {page} failed:\n{out.stderr[-3000:]}")
    times = json.loads(out.stdout.strip().splitlines()[-1])
    return times[0], statistics.median(times[1:])


def _import_cost(tree: Path, module: str) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = subprocess.run([sys.executable, "-c", code], cwd=tree, env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def _row(label: str, now: tuple[float, ...], base: tuple[float, ...] | None) -> str:
    cells = []
    for i, value in enumerate(now):
        if base is None:
            cells.append(f"{value:6.2f}")
        else:
            cells.append(f"{base[i]:6.2f} → {value:5.2f} ({value / base[i]:4.2f}×)")
    return f"  {label:<28} " + "   ".join(cells)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3, help="later opens (and later AppTest runs) per page")
    ap.add_argument(
        "--baseline-dir",
        type=Path,
        default=None,
        help="an older tree with app/, pages/ and core/ (git archive REV app pages core | tar -x -C DIR): "
        "measured too, interleaved, and printed as 'baseline → now (ratio)'",
    )
    ap.add_argument("--pages", nargs="*", default=[p[0] for p in PAGES], choices=[p[0] for p in PAGES])
    ap.add_argument("--no-browser", action="store_true", help="only the server's part and the imports")
    args = ap.parse_args()
    base_tree = args.baseline_dir.resolve() if args.baseline_dir else None
    trees = [t for t in (base_tree, ROOT) if t is not None]
    for tree in trees:
        for sub in ("app/main.py", "pages", "core"):
            if not (tree / sub).exists():
                ap.error(f"{tree} has no {sub}")
    head = "baseline → now (now/baseline)" if base_tree else "seconds"
    print(f"trees: now {ROOT}" + (f", baseline {base_tree}" if base_tree else ""))
    run_dir = ROOT / "var" / "bench" / f"page_open-{int(time.time())}"
    try:
        if not args.no_browser:
            from playwright.sync_api import sync_playwright

            from tests.e2e.streamlit_server import launch

            with sync_playwright() as p:
                browser = launch(p)
                print(f"page open by address in Chromium, seconds to first content, a server per page ({head})")
                print(f"  {'':<28} cold (first open)   warm (median of {args.repeats} later opens)")
                for page in args.pages:
                    got = {tree: _browser_times(browser, tree, run_dir, page, args.repeats) for tree in trees}
                    print(_row(f"/{page}", got[ROOT], got.get(base_tree) if base_tree else None), flush=True)
                browser.close()
        print(f"the server's part: router + page in AppTest, fresh interpreter ({head})")
        print(f"  {'':<28} first run (imports too)   later runs (median of {args.repeats})")
        for page in args.pages:
            got = {tree: _server_times(tree, run_dir, page, args.repeats) for tree in trees}
            print(_row(page, got[ROOT], got.get(base_tree) if base_tree else None), flush=True)
        print(f"import cost in a fresh interpreter, includes what each imports ({head})")
        for module in HEAVY:
            got_i = {tree: (_import_cost(tree, module),) for tree in trees}
            print(_row(module, got_i[ROOT], got_i.get(base_tree) if base_tree else None), flush=True)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
