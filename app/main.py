"""Tradeoff Room, the Streamlit entry point: page config, navigation, the shared sidebar.

    streamlit run app/main.py        (or: tradeoff app)

A router only: every page lives in ``pages/`` (listed in :mod:`app.nav`); shared helpers in
:mod:`app.ui`. Every page has its own address (``/data``, ``/search``…): Streamlit serves the
default page at ``/`` only, so the default is a hidden page that forwards to the first one, keeping
the shared study of a link someone sent.
"""

from __future__ import annotations

import streamlit as st

from app import nav, ui

st.set_page_config(
    page_title="Tradeoff Room", page_icon=":material/balance:", layout="wide", initial_sidebar_state="expanded"
)
_pages = [st.Page(f"../{p.path}", title=p.title, icon=p.icon, url_path=p.url_path) for p in nav.existing(nav.ROOT)]


def _forward_to_first_page() -> None:
    shared = st.query_params.get(ui.STUDY_KEY)
    if shared:
        ui.set_current_study(shared)  # ?study= is bound to the sidebar's picker: hand it over there
    st.switch_page(_pages[0])


_start = st.Page(_forward_to_first_page, title="Start", url_path="start", default=True, visibility="hidden")
page = st.navigation([_start, *_pages])
if page is not _start:  # the forwarding page draws nothing, not even the sidebar
    ui.sidebar()
page.run()
