"""Tradeoff Room, the Streamlit entry point: page config, navigation, the shared sidebar.

    streamlit run app/main.py        (or: tradeoff app)

A router only: every page lives in ``pages/`` (listed in :mod:`app.nav`); shared helpers in
:mod:`app.ui`. Pages written by other engineers (Compare, Decide, Export) join the navigation as
soon as their file exists.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `streamlit run app/main.py` puts only app/ on the path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from app import nav, ui  # noqa: E402

st.set_page_config(
    page_title="Tradeoff Room", page_icon=":material/balance:", layout="wide", initial_sidebar_state="expanded"
)
page = st.navigation(
    [
        st.Page(f"../{p.path}", title=p.title, icon=p.icon, url_path=p.url_path, default=i == 0)
        for i, p in enumerate(nav.existing(ROOT))
    ]
)
ui.sidebar()
page.run()
