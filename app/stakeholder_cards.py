"""The room's stakeholder cards on the Objectives page, kept live for every open browser.

Why a polling fragment: a card saved in another browser (on the Decide page or the CLI) lives only
in the database; without polling, this page would show it on its next interaction only. The fragment
re-reads the cards every few seconds and redraws just itself, so the rest of the form (what the
person is typing) is untouched. Names and notes people typed are escaped, never rendered as Markdown.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import streamlit as st

from app import ui
from core import objectives as obj

POLL_S = 3.0


def _label(name: str) -> str:
    return obj.get(name).label if name in obj.REGISTRY else name


def cards_frame(stakeholders: Sequence[Any]) -> pd.DataFrame:
    """One row per card: who, the objectives they speak for (plain labels), weights and aspirations."""
    rows = []
    for s in stakeholders:
        weights = dict(getattr(s, "weights", None) or {})
        aims = dict(getattr(s, "aspirations", None) or {})
        rows.append(
            {
                "stakeholder": str(s.name),
                "speaks for": ", ".join(_label(o) for o in s.objectives),
                "weights": ", ".join(f"{_label(o)} {float(w):g}" for o, w in weights.items()),
                "aspirations": ", ".join(
                    f"{_label(o)} {obj.get(o).fmt(v)}" for o, v in aims.items() if o in obj.REGISTRY
                ),
            }
        )
    return pd.DataFrame(rows, columns=["stakeholder", "speaks for", "weights", "aspirations"])


def read_cards(url: str, study: str) -> pd.DataFrame | None:
    """The study's cards, or None when nobody has opened its decision room yet."""
    store = ui.room_store(url)
    room_id = store.room_id(study)
    return None if room_id is None else cards_frame(store.stakeholders(room_id))


def draw(cards: pd.DataFrame | None) -> None:
    """The cards as bordered boxes, three a row (or how to get some when there are none)."""
    if cards is None:
        st.caption("No decision room for this study yet: open it on the Decide page; its stakeholder cards show here.")
        return
    if cards.empty:
        st.caption("No stakeholder cards yet: each person adds theirs on the Decide page; they appear here live.")
        return
    for start in range(0, len(cards), 3):
        for col, card in zip(st.columns(3), cards.iloc[start : start + 3].to_dict("records")):
            with col.container(border=True):
                st.markdown(f"**{ui.esc(card['stakeholder'])}**")
                st.caption(f"Speaks for: {ui.esc(card['speaks for'] or 'nothing yet')}")
                if card["weights"]:
                    st.caption(f"Weights: {ui.esc(card['weights'])}")
                if card["aspirations"]:
                    st.caption(f"Happy with: {ui.esc(card['aspirations'])}")


def live(url: str, study: str) -> None:
    """Draw the cards in a fragment that re-reads them every :data:`POLL_S` seconds."""

    @st.fragment(run_every=POLL_S)
    def cards() -> None:
        draw(read_cards(url, study))

    cards()
