"""Columns that give rows meaning without being features: value, time, and entity (whose row it is).

Why here and not in the features: each steers how the data is scored or split (value per true
positive, most recent rows as test, an entity's rows kept together), so none may also be learned from.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from core.data._numbers import numbers_from_text, refuse_infinite
from core.errors import UserInputError
from core.spec import DataRef

MIN_ENTITIES = 10
_ENTITY_NAME = re.compile(
    r"(^|[_\W])(id|nr)$|[_\W]no$|^(id|nr)([_\W]|$)|^(person|patient|customer|client|user|subject|household|"
    r"member|account|student|pupil|firm|company|participant|respondent|individual|pid|uid)"
    r"([_\W]?(id|nr|no|number|key))?$",
    re.I,
)


def row_values(df: pd.DataFrame, ref: DataRef, notes: list[str], *, decimal: str = ".") -> np.ndarray | None:
    """The value of a true positive on each row (missing = 0), or None without a value column.

    Money written as text ("12,50" in a decimal-comma table, "1,200" otherwise) is read with the
    table's ``decimal`` mark, as the features are.
    """
    if ref.value_column is None:
        return None
    raw_v = df[ref.value_column]
    if pd.api.types.is_numeric_dtype(raw_v) or pd.api.types.is_bool_dtype(raw_v):
        v = pd.to_numeric(raw_v, errors="coerce")
    else:
        v = numbers_from_text(raw_v, decimal=decimal)
    bad = int((v.isna() & raw_v.notna()).sum())
    if bad:
        example = raw_v[v.isna() & raw_v.notna()].iloc[0]
        raise UserInputError(
            f"The value column {ref.value_column!r} must be numeric (the value of a correct 'yes', e.g. a price or a loan's margin); "
            f"{bad} value(s) are not numbers, e.g. {example!r}.",
            field="data.value_column",
        )
    refuse_infinite(
        v,
        f"The value column {ref.value_column!r}",
        "; a value is an amount (what a correct 'yes' is worth). Fix those cells, or leave them empty (counted as 0).",
        field="data.value_column",
    )
    if v.isna().all():
        raise UserInputError(
            f"The value column {ref.value_column!r} has no values (all {len(v)} are missing). "
            "Choose another column or leave the value column empty.",
            field="data.value_column",
        )
    if v.isna().any():
        notes.append(f"{int(v.isna().sum())} missing value(s) in {ref.value_column!r} counted as 0.")
    return v.fillna(0.0).to_numpy(dtype=float)


def row_times(df: pd.DataFrame, ref: DataRef, notes: list[str]) -> np.ndarray | None:
    """When each row happened, as sortable numbers (see ``DataRef.time_column``).

    Dates become seconds since 1970 (UTC); a numeric column (a year, a week number) is used as it
    is. A row without a time counts as the oldest, so it can only ever be trained on.
    """
    col = ref.time_column
    if col is None:
        return None
    raw = df[col]
    kind, values = _times(raw)
    unreadable = np.isnan(values) & raw.notna().to_numpy()
    if unreadable.sum() > 0.05 * len(raw):
        example = raw[unreadable].iloc[0]
        raise UserInputError(
            f"The time column {col!r} has {int(unreadable.sum())} value(s) that are not dates or numbers, "
            f"e.g. {example!r}. Choose a column of dates (2024-03-01) or of numbers such as a year.",
            field="data.time_column",
        )
    n_missing = int(np.isnan(values).sum())
    if n_missing == len(values) or np.nanmin(values) == np.nanmax(values):
        raise UserInputError(
            f"The time column {col!r} has a single point in time; a time split needs rows from different times.",
            field="data.time_column",
        )
    notes.append(
        f"Time split on {col!r} ({kind}): the test part is the most recent rows and the "
        "training part the rows before them, as when the model goes live; the column is not "
        "a feature." + (f" {n_missing} row(s) without a time count as the oldest." if n_missing else "")
    )
    return np.where(np.isnan(values), -np.inf, values)


def _times(raw: pd.Series) -> tuple[str, np.ndarray]:
    """``("dates", seconds)`` or ``("numbers", values)``; what cannot be read is NaN."""
    if pd.api.types.is_datetime64_any_dtype(raw):
        return "dates", _seconds(raw)
    if pd.api.types.is_numeric_dtype(raw):
        return "numbers", raw.to_numpy(dtype=float, na_value=np.nan)
    as_num = numbers_from_text(raw)
    if as_num.notna().sum() >= 0.95 * raw.notna().sum():
        return "numbers", as_num.to_numpy(dtype=float)
    text = raw.astype(str).str.strip().where(raw.notna())
    return "dates", _seconds(pd.to_datetime(text, errors="coerce", utc=True, format="mixed"))


def _seconds(ts: pd.Series) -> np.ndarray:
    ts = pd.to_datetime(ts, utc=True)
    return ((ts - pd.Timestamp("1970-01-01", tz="UTC")) / pd.Timedelta(seconds=1)).to_numpy(dtype=float)


def _entity_like(s: pd.Series, col: str) -> str | None:
    """Why ``s`` looks like the ID of an entity that has several rows (a panel), or None.

    Only a column *named* like an ID counts (``nr``, ``person_id``, ``customer``, ``account_no``;
    not a bare ``NO``, which in an air-quality table is nitric oxide): values that
    repeat are common in real features, so the name is the evidence that they mean "the same
    person". It must also repeat: on average at least two rows per value, most rows sharing their
    value with another row, and hardly any missing.
    """
    if not _ENTITY_NAME.search(str(col)) or s.isna().mean() > 0.05:
        return None
    values = s.dropna()
    if pd.api.types.is_float_dtype(values) and not np.all(np.mod(values.to_numpy(), 1) == 0):
        return None  # a measurement, not an ID
    counts = values.astype(str).value_counts()
    k = len(counts)
    if k < MIN_ENTITIES or k > len(values) / 2 or counts[counts >= 2].sum() < 0.8 * len(values):
        return None
    return f"{k} values, {len(values) / k:.1f} rows each on average"


def row_entities(
    df: pd.DataFrame, ref: DataRef, reserved: set[str], notes: list[str]
) -> tuple[np.ndarray | None, str | None]:
    """The entity label of every row, and the column it came from (see ``DataRef.entity_column``).

    Without a named column, the first column not in ``reserved`` that looks like an entity ID is
    used when ``detect_entity`` is on.
    """
    col, why = ref.entity_column, None
    if col is None and ref.detect_entity:
        found = [(c, w) for c in df.columns if c not in reserved and (w := _entity_like(df[c], c))]
        if not found:
            return None, None
        col, why = found[0]
    if col is None:
        return None, None
    raw = df[col]
    labels = raw.astype(str).to_numpy(dtype=object)
    for i in np.flatnonzero(raw.isna().to_numpy()):  # a row without an ID is an entity of its own
        labels[i] = f"(row {i} without an ID)"
    k = len(set(labels))
    if k < MIN_ENTITIES:
        raise UserInputError(
            f"The entity column {col!r} has only {k} distinct value(s); keeping each entity's rows "
            f"together needs at least {MIN_ENTITIES} entities to split into training, test and CV "
            "folds. Choose the column that identifies a person, customer or item, or none.",
            field="data.entity_column",
        )
    notes.append(_entity_note(col, why, k))
    return labels, col


def _entity_note(col: str, why: str | None, k: int) -> str:
    """What grouping by entity means for the scores, and how to undo a detection that is wrong."""
    where = (
        f"Column {col!r} looks like the ID of an entity with several rows ({why})"
        if why
        else f"Rows are grouped by the entity column {col!r} ({k} entities)"
    )
    return (
        where + ": each entity's rows stay together in the train/test split and in the CV "
        "folds, so scores are for entities the model has not seen, and the column is not a "
        "feature."
        + (
            " Name another entity column (--entity), or turn detection off (--no-entity-detection), if that is wrong."
            if why
            else ""
        )
    )
