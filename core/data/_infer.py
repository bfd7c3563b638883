"""Decide what each feature column is: a number, a category, or something no model should see.

Why every conversion is noted: a column read as numbers, or dropped, changes what the models learn
from, and the room must be able to see each such change.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from core.data._numbers import numbers_from_text, refuse_infinite

DATE_DROPPED = (
    "date/time column (dates rarely generalise; derive features if needed; to test on the "
    "most recent rows, choose it as the time column)"
)
_ID_NAME = re.compile(r"(^|[_\W])(id|uuid|guid|key|index)$|^(id|uuid|guid)([_\W]|$)", re.I)


def infer_features(
    X: pd.DataFrame, dropped: dict[str, str], notes: list[str], *, decimal: str = "."
) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Convert the feature columns in place of ``X``; return it with its numeric and categorical names.

    Each column that cannot be a feature is removed and put in ``dropped`` with the reason; a
    conversion (numbers stored as text, read with the table's ``decimal`` mark) goes to ``notes``.
    """
    numeric: list[str] = []
    categorical: list[str] = []
    for col in list(X.columns):
        kind, reason, converted = infer_column(X[col], col, len(X), decimal=decimal)
        if kind == "numeric" and reason:
            notes.append(f"Column {col!r}: {reason}.")
        if kind == "drop":
            dropped[col] = reason
            X = X.drop(columns=col)
            continue
        if kind == "numeric":
            refuse_infinite(
                converted,
                f"Column {col!r}",
                ", which no model can use: replace them with numbers, or leave those cells empty "
                f"(missing), or leave the column out (--exclude {col!r}, or 'Leave out columns' on the Data page).",
                field="data.features",
            )
        X[col] = converted
        (numeric if kind == "numeric" else categorical).append(col)
    return X, numeric, categorical


def infer_column(s: pd.Series, col: str, n: int, *, decimal: str = ".") -> tuple[str, str, pd.Series]:
    """Decide numeric / categorical / drop for one column, converting strings that hold numbers."""
    non_null = s.dropna()
    if non_null.empty:
        return "drop", "all values are missing", s
    if non_null.nunique() == 1:
        return "drop", "constant (one value)", s
    if pd.api.types.is_bool_dtype(s):
        return "numeric", "", s.astype(float)
    if pd.api.types.is_datetime64_any_dtype(s):
        return "drop", DATE_DROPPED, s
    if pd.api.types.is_numeric_dtype(s):
        return _infer_numeric(s, non_null, col, n)
    return _infer_text(s, non_null, n, decimal)


def _infer_numeric(s: pd.Series, non_null: pd.Series, col: str, n: int) -> tuple[str, str, pd.Series]:
    """A numeric column is a feature unless it is an integer ID (named like one, or a sequence)."""
    unique_share = non_null.nunique() / max(len(non_null), 1)
    if (
        pd.api.types.is_integer_dtype(non_null)
        and unique_share > 0.99
        and n > 50
        and (_ID_NAME.search(col) or _is_sequence(non_null))
    ):
        return "drop", "identifier (one distinct value per row)", s
    return "numeric", "", s.astype(float)


def _infer_text(s: pd.Series, non_null: pd.Series, n: int, decimal: str) -> tuple[str, str, pd.Series]:
    """Text is numbers, a date, an ID or free text, too many categories, or a category."""
    text = non_null.astype(str).str.strip()
    if numbers_from_text(non_null, decimal=decimal).notna().mean() >= 0.95:
        converted = numbers_from_text(s, decimal=decimal)
        return "numeric", _conversion_note(text, converted, s, decimal), converted
    if _looks_like_date(text):
        return "drop", DATE_DROPPED, s
    unique_share = text.nunique() / len(text)
    if unique_share > 0.9 and n > 50:
        return "drop", "identifier or free text (almost every value is different)", s
    if text.nunique() > max(200, n // 20):
        return "drop", f"too many categories ({text.nunique()}) to one-hot encode", s
    out = s.astype(object).where(s.notna(), np.nan)
    out = out.map(lambda v: v if v is np.nan or isinstance(v, float) and v != v else str(v).strip())
    return "categorical", "", out.astype(object)


def _conversion_note(text: pd.Series, converted: pd.Series, s: pd.Series, decimal: str) -> str:
    """What reading the column as numbers did, with an example when a comma was read as a decimal mark."""
    lost = int((converted.isna() & s.notna()).sum())
    how = "numbers stored as text, converted to numbers"
    with_comma = text[text.str.contains(",", regex=False)]
    if decimal == "," and len(with_comma):
        example = with_comma.iloc[0]
        value = numbers_from_text(pd.Series([example]), decimal=",").iloc[0]
        how = f"numbers written with a decimal comma, converted to numbers ({example!r} read as {value:g})"
    return how + (f" ({lost} value(s) that are not numbers treated as missing)" if lost else "")


def _is_sequence(s: pd.Series) -> bool:
    v = np.sort(s.to_numpy())
    return len(v) > 1 and bool(np.all(np.diff(v) > 0)) and (v[-1] - v[0]) < 3 * len(v)


def _looks_like_date(text: pd.Series) -> bool:
    sample = text.head(200)
    if not sample.str.contains(r"\d{1,4}[-/.:]\d{1,2}", regex=True).mean() > 0.9:
        return False
    parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return parsed.notna().mean() > 0.9
