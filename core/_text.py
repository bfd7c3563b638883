"""One escaper per target and one formatter per kind of quantity, shared by every page, table and file.

Why one module: user text (column names, category values, owners, comments) reaches HTML, Markdown,
Plotly labels and Streamlit's Markdown; a copy that forgets one character is an injection, and a
formatter per page is how the same figure came to read differently on two pages.
"""

from __future__ import annotations

import html as _html
import math
import re
from datetime import datetime, timezone
from decimal import ROUND_DOWN, Decimal
from typing import Any

_MD_INLINE = re.compile(r"([\\`*_\[\]|~])")
_MD_LINE_START = re.compile(r"^(\s*)(\d+(?=[.)](?:\s|$))|)([#+\-=.)])")
_ST_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>$~:])")


def esc(value: Any) -> str:
    """HTML-escape any value for element text or a quoted attribute (also Plotly labels, which render HTML)."""
    return _html.escape("" if value is None else str(value), quote=True)


def md(value: Any) -> str:
    """Neutralise Markdown (and raw HTML) in user text for one line of a Markdown file.

    Markdown renderers pass raw HTML through, so ``<`` and ``>`` become entities; the characters
    that make emphasis, code, links, tables and strike-through (``\\ ` * _ [ ] | ~``) are
    backslash-escaped everywhere, and block markers (``# + - = >`` or ``1.``) only at the start,
    which keeps ordinary text (numbers, dates, hyphenated words) readable as plain text. Newlines
    become spaces (use :func:`md_block` for multi-line text).
    """
    text = "" if value is None else str(value)
    text = text.replace("\r", " ").replace("\n", " ")
    text = _MD_INLINE.sub(r"\\\1", text).replace("<", "&lt;").replace(">", "&gt;")
    return _MD_LINE_START.sub(lambda m: m.group(1) + m.group(2) + "\\" + m.group(3), text, count=1)


def md_block(value: Any, *, prefix: str = "> ") -> str:
    """Multi-line user text as a quoted Markdown block, each line neutralised by :func:`md`."""
    lines = ("" if value is None else str(value)).splitlines() or [""]
    return "\n".join(prefix + md(line) for line in lines)


def st_md(text: Any) -> str:
    """Backslash-escape every character Streamlit's Markdown treats specially, so user text renders verbatim."""
    return _ST_MD_SPECIAL.sub(r"\\\1", str(text))


def fmt_bytes(n: float) -> str:
    """A size in B/kB/MB/GB (powers of 1,024), the way people read model sizes."""
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def fmt_duration(seconds: float | None) -> str:
    """Seconds as '42 s', '3 min 05 s' or '1 h 02 min'; '–' when unknown."""
    if seconds is None or seconds != seconds:
        return "–"
    whole = max(0, int(round(seconds)))
    if whole < 60:
        return f"{whole} s"
    minutes, s = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {s:02d} s"
    hours, m = divmod(minutes, 60)
    return f"{hours} h {m:02d} min"


def fmt_p(p: float | None, *, named: bool = False) -> str:
    """A p-value as '0.056' or '< 0.001' ('p = 0.056', 'p < 0.001' when ``named``); '–' when unknown.

    Two significant digits, truncated rather than rounded, so a p just under a significance level
    never prints as the level itself (0.0499 reads 0.049, not 0.050) and the text agrees with the
    verdict beside it; "0.000" would claim a certainty no resampling test has.
    """
    if p is None or p != p:
        return "–"
    if p < 0.001:
        return "p < 0.001" if named else "< 0.001"
    p = min(float(p), 1.0)
    digits = 1 - math.floor(math.log10(p))
    text = str(Decimal(repr(p)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_DOWN))
    return f"p = {text}" if named else text


def fmt_time(value: Any) -> str:
    """A moment as '2026-12-02 14:05 UTC', whatever form it was stored in; '–' when unknown.

    Accepts a datetime (naive means UTC), an ISO-8601 string (as the room and the bundle store
    them) or seconds since the epoch; text that is not a time is returned as it is.
    """
    if value is None or value == "" or (isinstance(value, float) and value != value):
        return "–"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        moment = datetime.fromtimestamp(float(value), tz=timezone.utc)
    elif isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            return str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


#: Where a figure was measured, in the words every page, table and document uses.
SCOPE_SEARCH = "search: cross-validated on the training part"
SCOPE_TEST = "held-out test part, never seen by the search"
SCOPE_NOW = "re-measured now on this machine"
