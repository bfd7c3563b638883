"""Numbers written as text, and the decimal mark a table writes them with.

Why one reader: training (``prepare``) and serving (``predict``) must read "7,000" and "0,37" the
same way, or the model is served other numbers than it was trained on. Why the mark is decided
once per table: "1,500" alone is 1500 or 1.5; only the table's other cells tell which.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from core.errors import UserInputError

_SAMPLE = 2000  # distinct cells looked at per column: enough to see the mark, cheap on big tables
_NUMBER_LIKE = re.compile(r"[+-]?[\d.,]*\d[\d.,]*")
# "0,37", "12,5", "0,3197", "1234,5", "1.234,56", "1.234.567": only a decimal comma writes these
_COMMA_DECIMAL = re.compile(
    r"[+-]?(\d*,\d{1,2}|\d*,\d{4,}|0,\d+|,\d+|\d{4,},\d+|\d{1,3}(\.\d{3})+,\d+|\d{1,3}(\.\d{3}){2,})"
)
# "1,234,567", "1,234.5", "0.37", "12.25": only a decimal point (and a thousands comma) writes these
_POINT_DECIMAL = re.compile(
    r"[+-]?(\d{1,3}(,\d{3}){2,}(\.\d+)?|\d{1,3}(,\d{3})+\.\d+|\d*\.\d{1,2}|\d*\.\d{4,}|0\.\d+|\d{4,}\.\d+)"
)
_THOUSANDS_COMMA = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")
_THOUSANDS_POINT = re.compile(r"[+-]?\d{1,3}(\.\d{3})+(,\d*)?")


def numbers_from_text(values: pd.Series, *, decimal: str = ".") -> pd.Series:
    """Numbers written as text as floats; what is not a number is missing.

    ``decimal`` is the table's decimal mark (see :func:`decimal_mark`). With ``"."``, "7,000" and
    " 12 " are read as 7000 and 12; a comma that is not a thousands separator ("0,3197") makes the
    cell not a number rather than 3197. With ``","``, "0,37" is 0.37 and "1.234,5" is 1234.5.
    """
    text = values.astype(str).str.strip().where(values.notna())
    if decimal == ",":
        grouped = text.str.fullmatch(_THOUSANDS_POINT.pattern).fillna(False).astype(bool)
        text = text.where(~grouped, text.str.replace(".", "", regex=False))
        text = text.where(~text.str.contains(".", regex=False).fillna(False).astype(bool))
        text = text.str.replace(",", ".", regex=False)
    else:
        grouped = text.str.fullmatch(_THOUSANDS_COMMA.pattern).fillna(False).astype(bool)
        text = text.where(~grouped, text.str.replace(",", "", regex=False))
    return pd.to_numeric(text, errors="coerce").astype(float)


def refuse_infinite(values: pd.Series, what: str, why: str, *, field: str) -> None:
    """Refuse ``inf`` in a column read as numbers: ``what`` names the column, ``why`` says what to do.

    Why refuse rather than read it as missing: an infinite value is a broken export or a division
    by zero, and neither the imputer, the fit nor the value model can use it.
    """
    if not pd.api.types.is_float_dtype(values):
        return
    n_inf = int(np.isinf(values.to_numpy(dtype=float, na_value=np.nan)).sum())
    if n_inf:
        raise UserInputError(f"{what} has {n_inf:,} infinite value(s) (inf or -inf){why}", field=field)


def decimal_mark(df: pd.DataFrame) -> str:
    """``","`` when the table's text cells write numbers with a decimal comma, else ``"."``.

    Only cells that can be read one way count ("0,37" is a decimal comma, "1,234,567" or "0.37" a
    decimal point); "1,500" alone decides nothing and is read with a thousands separator, 1500. A table whose cells
    say both is refused: guessing would silently change numbers by a factor of a thousand.
    """
    comma = point = None
    for col in df.columns:
        for cell in _number_cells(df[col]):
            if comma is None and _COMMA_DECIMAL.fullmatch(cell):
                comma = (col, cell)
            elif point is None and _POINT_DECIMAL.fullmatch(cell):
                point = (col, cell)
        if comma and point:
            raise UserInputError(
                f"The table writes numbers with a decimal comma ({comma[1]!r} in column {comma[0]!r}) "
                f"and with a decimal point ({point[1]!r} in column {point[0]!r}), so a value like "
                "'1,500' could be 1.5 or 1500. Save the file with one decimal mark (a point, as in "
                "0.37, and no thousands separators) and load it again.",
                field="data.path",
            )
    return "," if comma else "."


def _number_cells(s: pd.Series) -> Iterable[str]:
    """The distinct text cells of ``s`` that are written like a number with a ',' or a '.'."""
    if not (pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)):
        return ()
    cells = pd.Series(s.dropna().unique()[: _SAMPLE * 5], dtype=object)
    text = cells[cells.map(lambda v: isinstance(v, str))].astype(str).str.strip()
    text = text[text.str.contains(r"[.,]", regex=True) & text.str.fullmatch(_NUMBER_LIKE.pattern)]
    return text.head(_SAMPLE).tolist()
