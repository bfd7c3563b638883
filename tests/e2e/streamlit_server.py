"""One way to start the real app for browser tests: ``streamlit run app/main.py`` on a free port.

Shared by every e2e test so they start the server, wait for health and clean up the same way.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
SHOTS = ROOT / "artifacts" / "screenshots"
# Debian's chromium as root in a sandbox; no background networking (the network is closed here).
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)"
)


def launch(playwright):
    """Headless Debian Chromium, never a downloaded browser build."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(tmp_path: Path, env: dict[str, str], *, start_timeout: float = 90, cwd: Path = ROOT) -> Iterator[str]:
    """Run the app with ``env`` added to the environment (in ``cwd``); yields its base URL, stops it after."""
    full_env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    full_env.pop("TRADEOFF_STORAGE", None)
    full_env.update(env)
    port = free_port()
    log_path = tmp_path / "streamlit.log"
    log = open(log_path, "wb")  # noqa: SIM115 (the server writes to it until the finally below)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app" / "main.py"),
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
        ],
        cwd=cwd,
        env=full_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
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


@contextlib.contextmanager
def serve_storage(tmp_path: Path, url: str, *, start_timeout: float = 60) -> Iterator[str]:
    """The app on the study storage ``url``, with a data directory of its own; yields its base URL."""
    with serve(
        tmp_path, {"TRADEOFF_STORAGE": url, "TRADEOFF_HOME": str(tmp_path / "home")}, start_timeout=start_timeout
    ) as base:
        yield base
