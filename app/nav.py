"""The app's pages in the meeting's order; a page joins the navigation once its file exists.

Kept apart from ``app/main.py`` (which runs Streamlit calls at import) so it can be tested alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]


class PageDef(NamedTuple):
    path: str  # repo-relative file
    title: str
    icon: str
    url_path: str  # equals the file stem, so tests can pick a page before the first run


PAGES: tuple[PageDef, ...] = (
    PageDef("pages/data.py", "Data", ":material/table:", "data"),
    PageDef("pages/objectives.py", "Objectives & stakeholders", ":material/flag:", "objectives"),
    PageDef("pages/search.py", "Search", ":material/travel_explore:", "search"),
    PageDef("pages/explorer.py", "Pareto explorer", ":material/scatter_plot:", "explorer"),
    PageDef("pages/compare.py", "Compare", ":material/compare_arrows:", "compare"),
    PageDef("pages/decide.py", "Decide", ":material/how_to_vote:", "decide"),
    PageDef("pages/export.py", "Export", ":material/download:", "export"),
)


def existing(root: Path = ROOT) -> list[PageDef]:
    """The pages whose files exist under ``root``, in order."""
    return [p for p in PAGES if (root / p.path).is_file()]
