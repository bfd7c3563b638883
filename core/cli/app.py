"""``tradeoff app``: start the Streamlit app from the project folder."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from core import storage as st


def cmd_app(args: argparse.Namespace) -> int:
    root = Path(__file__).resolve().parents[2]
    cmd = [sys.executable, "-m", "streamlit", "run", str(root / "app" / "main.py"), "--server.port", str(args.port)]
    print(
        f"Tradeoff Room on http://localhost:{args.port} (data in {st.home()}; Ctrl-C stops the app, "
        "not running searches)",
        flush=True,
    )
    # the app runs from the project folder (for .streamlit/config.toml) but keeps the data directory
    # of the folder it was started from, so `tradeoff demo` and `tradeoff app` there share a database
    env = dict(os.environ, TRADEOFF_HOME=str(st.home()))
    return subprocess.call(cmd, cwd=root, env=env)


def register_cli(sub: Any) -> None:
    """Add ``app`` to the ``tradeoff`` command."""
    sp = sub.add_parser("app", help="start the Streamlit app")
    sp.add_argument("--port", type=int, default=8501)
    sp.set_defaults(func=cmd_app)


__all__ = ["cmd_app", "register_cli"]
