"""Tradeoff Room, the Streamlit entry point: page config, navigation, the shared sidebar.

    streamlit run app/main.py        (or: tradeoff app)

A router only: every page lives in ``pages/``; shared helpers in :mod:`app.ui`. Pages written by
other engineers (Compare, Decide, Export) join the navigation as soon as their file exists.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `streamlit run app/main.py` puts only app/ on the path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from app import ui  # noqa: E402

# (file, title, icon, url path): the order is the meeting's flow
PAGES = [
    ("pages/data.py", "Data", ":material/table:", "data"),
    ("pages/objectives.py", "Objectives & stakeholders", ":material/flag:", "objectives"),
    ("pages/search.py", "Search", ":material/travel_explore:", "search"),
    ("pages/explorer.py", "Pareto explorer", ":material/scatter_plot:", "explorer"),
    ("pages/compare.py", "Compare", ":material/compare_arrows:", "compare"),
    ("pages/decide.py", "Decide", ":material/how_to_vote:", "decide"),
    ("pages/export.py", "Export", ":material/download:", "export"),
]


def pages() -> list:
    """The pages whose files exist, as ``st.Page`` objects (paths relative to this file)."""
    out = []
    for path, title, icon, url_path in PAGES:
        if (ROOT / path).is_file():
            out.append(st.Page(f"../{path}", title=title, icon=icon, url_path=url_path,
                               default=not out))
    return out


st.set_page_config(page_title="Tradeoff Room", page_icon=":material/balance:", layout="wide",
                   initial_sidebar_state="expanded")
page = st.navigation(pages())
ui.sidebar()
page.run()
