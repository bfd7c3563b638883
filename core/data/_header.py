"""Whether a CSV file's first row is a header or the first row of data.

Why check: a file saved without a header row is read with its first data row as the column names,
so one row is lost and the target is named '<=50K'; a header that is clearly data is refused, one
that partly looks like data is noted.
"""

from __future__ import annotations

import pandas as pd

from core.data._numbers import numbers_from_text
from core.errors import UserInputError

_SAMPLE_ROWS = 1000


def check_header(header: list[str], df: pd.DataFrame, label: str) -> list[str]:
    """Refuse a first row that is clearly data; a note when part of it looks like data.

    Clearly data: every header cell is a number, or every cell is a value of the kind its column
    holds (a number over numbers, or one of the column's own categories).
    """
    cells = [c for c in header[: df.shape[1]] if c]
    if len(cells) < 2:
        return []
    fits = data_like_cells(header, df)
    numbers = [c for c, number in zip(cells, _are_numbers(cells)) if number]
    shown = ", ".join(map(repr, cells[:5])) + (", …" if len(cells) > 5 else "")
    if len(numbers) == len(cells) or len(fits) == len(cells):
        why = "every cell is a number" if len(numbers) == len(cells) else "every cell is a value like those below it"
        raise UserInputError(
            f"The first row of {label} looks like data, not a header ({why}: {shown}). Add a header "
            "row naming the columns as the file's first line, then load it again.",
            field="data.path",
        )
    if 2 * len(fits) >= len(cells):
        return [
            f"{label}: {len(fits)} of the {len(cells)} header cells look like data "
            f"({', '.join(map(repr, fits[:5]))}); if the file has no header row, add one naming the columns."
        ]
    return []


def data_like_cells(header: list[str], df: pd.DataFrame) -> list[str]:
    """The header cells that look like a value of their own column (an empty cell says nothing)."""
    named = [(i, c) for i, c in enumerate(header[: df.shape[1]]) if c]
    numbers = _are_numbers([c for _, c in named])
    return [c for (i, c), number in zip(named, numbers) if _fits(c, number, df.iloc[:_SAMPLE_ROWS, i])]


def _are_numbers(cells: list[str]) -> list[bool]:
    """Whether each cell is a number (with either decimal mark), in one pass: a wide header has
    thousands of cells, and one call per cell would take most of the read."""
    values = pd.Series(cells, dtype=object)
    return (numbers_from_text(values).notna() | numbers_from_text(values, decimal=",").notna()).tolist()


def _fits(cell: str, is_number: bool, column: pd.Series) -> bool:
    """A number over a column of numbers, or one of a text column's own values."""
    values = column.dropna()
    if values.empty:
        return False
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return is_number
    text = values.astype(str).str.strip()
    if cell in set(text):
        return True
    if not is_number:
        return False
    as_number = numbers_from_text(text).notna() | numbers_from_text(text, decimal=",").notna()
    return bool(as_number.mean() >= 0.95)
