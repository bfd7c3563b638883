"""The ensembles-vs-simple verdict that reaches the bundle's report.

It comes from plain text, a comparison JSON downloaded from the Compare page, or, by itself, the
last comparison the room ran (the page and ``tradeoff compare`` keep its sentences in the study), so
the room's Compare verdict needs no download-and-upload to reach the bundle.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from core import search
from core.errors import UserInputError
from core.search import reader as study_reader

#: study user attribute: the last comparison's verdict (sentence, when, trials, baseline)
ATTR_VERDICT = "compare_verdict"


def sentences(doc: Any) -> str | None:
    """The comparisons' verdict sentences of a Compare report, joined; None when it has none."""
    if not isinstance(doc, Mapping) or not isinstance(doc.get("comparisons"), list):
        return None
    found = [str(c["sentence"]) for c in doc["comparisons"] if isinstance(c, Mapping) and c.get("sentence")]
    return " ".join(found) or None


def verdict_text(raw: str | bytes) -> str:
    """The verdict for the report: plain text, or the sentences of a comparison JSON downloaded from
    the Compare page (``{"comparisons": [{"sentence": ...}, ...]}``)."""
    text = raw.decode("utf-8-sig", errors="replace") if isinstance(raw, bytes) else str(raw)
    try:
        doc = json.loads(text)
    except ValueError:
        return text.strip()
    found = sentences(doc)
    if found:
        return found
    raise UserInputError(
        "The verdict file is JSON but not a comparison from the Compare page (no comparisons with a sentence).",
        field="verdict",
    )


def remember(url: str | None, study_name: str, report: Mapping[str, Any]) -> None:
    """Keep the verdict of this comparison (a Compare report as a dict) in the study, replacing the last."""
    found = sentences(report)
    trials = sorted(int(c["number"]) for c in report.get("candidates") or () if "number" in c)
    kept = last(url, study_name) or {}
    if not found or (kept.get("sentence"), kept.get("trials")) == (found, trials):
        return  # pages rerun often: write only when the room ran (or reopened) another comparison
    record = {
        "sentence": found,
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "baseline": report.get("baseline"),
        "trials": trials,
    }
    search.open_study(url, study_name).set_user_attr(ATTR_VERDICT, record)


def last(url: str | None, study_name: str) -> dict[str, Any] | None:
    """The last comparison's verdict kept in the study (``sentence``, ``at`` …), or None."""
    record = study_reader.study_attrs(url, study_name).get(ATTR_VERDICT)
    return record if isinstance(record, dict) and record.get("sentence") else None


__all__ = ["ATTR_VERDICT", "last", "remember", "sentences", "verdict_text"]
