"""Cells written as a placeholder ('?', 'NA', 'null', '-') that reading turned into missing values.

Why count them: a census table marks thousands of unknowns with '?'; reading them as missing is
right, but the room should see how many cells it was and in which columns, not find out later.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import pandas as pd


class Placeholders:
    """How many cells of each column were written as each placeholder, and the note that says so."""

    def __init__(self) -> None:
        self._counts: defaultdict[str, Counter[str]] = defaultdict(Counter)

    def add(self, column: str, tokens: pd.Series) -> None:
        """Count ``tokens``, the written text of cells read as missing; empty cells are not news."""
        for token, n in tokens.astype(str).str.strip().value_counts().items():
            if token:
                self._counts[str(token)][column] += int(n)

    def notes(self) -> list[str]:
        """One note per placeholder, the most frequent first, its columns by count."""
        out = []
        for token, by_col in sorted(self._counts.items(), key=lambda kv: -sum(kv[1].values())):
            cols = ", ".join(f"{c} ({n:,})" for c, n in by_col.most_common())
            out.append(f"{sum(by_col.values()):,} cells written as {token!r} read as missing in: {cols}.")
        return out
