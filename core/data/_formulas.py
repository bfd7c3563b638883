"""Text cells that a spreadsheet would run as a formula (``=HYPERLINK(…)``, ``@SUM(…)``, ``+cmd|…``).

Why only a note: the cells are data and are read as text, never evaluated; but a table or report
exported from here and opened in a spreadsheet could run them, so the room should know they exist.
"""

from __future__ import annotations

import pandas as pd

_FORMULA = r"^\s*(?:[=@]|[+\-][^\d.\s])"  # '-3' and '+.5' are numbers, '-' alone a placeholder


def formula_notes(df: pd.DataFrame) -> list[str]:
    """One note per text column with cells that start like a spreadsheet formula, with an example."""
    notes = []
    for col in df.columns:
        s = df[col]
        if not (pd.api.types.is_string_dtype(s) or s.dtype == object):
            continue
        text = s[s.map(lambda v: isinstance(v, str))] if s.dtype == object else s.dropna()
        hits = text[text.astype(str).str.contains(_FORMULA, regex=True)]
        if len(hits):
            example = str(hits.iloc[0])
            shown = example if len(example) <= 40 else example[:39] + "…"
            notes.append(
                f"Column {str(col)!r}: {len(hits):,} cell(s) look like spreadsheet formulas (e.g. {shown!r}); "
                "they are read as text and never run, but open files exported from this table in a "
                "spreadsheet with care."
            )
    return notes
