"""A Plotly chart that can be redrawn live without losing the person's zoom, pan or click.

Why it exists: Streamlit 1.67's ``st.plotly_chart`` derives the chart's element id from the figure
itself (``compute_and_register_element_id(..., key_as_main_identity=False, plotly_spec=...)``), even
when the chart has a ``key``. A figure with one more trial is therefore another element: the browser
mounts a new chart and Plotly's ``layout.uirevision``, which is meant to keep a zoom across redraws,
never gets the chance. The Pareto explorer redraws as trials finish, so every zoom was lost.

This component's identity is its ``key`` alone (components v1 keep ``name`` and ``url`` only), so the
same iframe stays mounted; it draws each new figure with ``Plotly.react``, which honours
``uirevision``, and reports clicks and box/lasso selections the way ``st.plotly_chart(on_select=...)``
does (``{"selection": {"points": [{"customdata": ..., "curve_number": ..., ...}]}}``), plus a ``seq``
token unique to each click, so the same point clicked again is still news.

Why components v1 and a folder: components v2 can only serve files (here the 4.8 MB plotly.min.js
shipped with the plotly package; the app must work without internet) for components declared by an
installed package's manifest, and inline JavaScript would be sent again with every rerun. A v1
component is served from a folder by the app's own server: this module copies its page
(``plotly_live.html``) and plotly's own ``plotly.min.js`` into a private temporary folder, once per
process. Only when plotly's file is missing does it fall back to ``st.plotly_chart``.
"""

from __future__ import annotations

import atexit
import json
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

import plotly
import plotly.graph_objects as go
import plotly.io as pio
import streamlit as st
import streamlit.components.v1 as components

from core.viz import MODEL_COLORS

_PAGE = Path(__file__).with_name("plotly_live.html")
_PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
_LOCK = threading.Lock()
_FOLDER: list[Path] = []  # the served folder, made once per process

#: Replaces the app's "streamlit" Plotly template, whose colours are placeholders that only
#: st.plotly_chart's frontend swaps for the theme's: drawn as they are, they would be near-black.
#: Matches .streamlit/config.toml (light base, its text colour) and the app's model colours.
TEMPLATE: dict[str, Any] = {
    "layout": {
        "font": {"family": '"Source Sans Pro", "Source Sans 3", sans-serif', "color": "#1B1F24", "size": 13},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "colorway": list(MODEL_COLORS),
        "hoverlabel": {"font": {"family": "sans-serif"}},
        "xaxis": {"gridcolor": "#E6EAF1", "zerolinecolor": "#D5DAE5", "linecolor": "#D5DAE5"},
        "yaxis": {"gridcolor": "#E6EAF1", "zerolinecolor": "#D5DAE5", "linecolor": "#D5DAE5"},
    }
}


def folder() -> Path | None:
    """The folder the component is served from (made on first use); None without plotly.min.js.

    A fresh ``mkdtemp`` folder (private to this user) rather than a fixed path: nobody else can put
    another script there, and it is removed when the process ends.
    """
    with _LOCK:
        if _FOLDER and (_FOLDER[0] / "plotly.min.js").is_file() and (_FOLDER[0] / "index.html").is_file():
            return _FOLDER[0]
        if not _PLOTLY_JS.is_file():
            return None
        made = Path(tempfile.mkdtemp(prefix="tradeoff-plotly-live-"))
        shutil.copyfile(_PLOTLY_JS, made / "plotly.min.js")
        shutil.copyfile(_PAGE, made / "index.html")
        atexit.register(shutil.rmtree, made, True)
        _FOLDER[:] = [made]
        return made


def spec(fig: go.Figure) -> str:
    """The figure as the component draws it: Plotly JSON with the app's light template."""
    data = json.loads(pio.to_json(fig, validate=False))
    data.setdefault("layout", {})["template"] = TEMPLATE
    layout = data["layout"]
    layout.setdefault("clickmode", "event")  # a click reports its point; the page rings the selection
    return json.dumps(data, separators=(",", ":"))


def live_plotly(fig: go.Figure, key: str, *, config: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """Draw ``fig`` in a chart that stays mounted under ``key``; the person's last click or selection.

    The figure's ``layout.uirevision`` decides what survives a redraw: the same value keeps the
    zoom, a new one starts a fresh view. The value (also in ``st.session_state[key]``) is None until
    the person clicks, then ``{"selection": {"points": [...]}, "seq": token}`` as ``st.plotly_chart``'s
    selection event, each point with its ``customdata`` as a list.
    """
    served = folder()
    if served is None:  # plotly without its bundled JavaScript: the plain chart, zoom lost on redraw
        return st.plotly_chart(fig, key=key, on_select="rerun", selection_mode="points")
    chart = components.declare_component("plotly_live", path=str(served))  # same folder: the same component
    return chart(spec=spec(fig), config=config or {}, key=key, default=None)
