"""The sensitive group of every row, with groups too small to judge pooled or refused — and how the
labels were made, as data (:data:`Grouping`), so a bundle can label new rows the same way.

Why refuse small groups: a fairness gap measured on a handful of rows is noise, and the room would
argue about it as if it were a fact.

Why the grouping is recorded: a group label is not always a raw value (a numeric column with many
values becomes its quartiles, small groups are pooled, several columns are intersected). A rule
keyed by the study's labels that rebuilt labels from raw values at serving time would silently
miss every quartile and pooled group and decide those rows at the default threshold. One function
(:func:`group_labels`) makes the labels from the recorded grouping, for the study and for serving,
so the two cannot drift.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from core.errors import UserInputError
from core.spec import DataRef

MAX_SENSITIVE_GROUPS = 50
JOIN = " × "  # how the groups of several sensitive columns are intersected
MISSING = "missing"  # the label of a row with no value in a sensitive column
_QUARTILE_MIN_VALUES = 10  # a numeric column with more distinct values is grouped into quartiles

#: How group labels are made from raw rows, as plain JSON-able data (it travels in config.json and
#: in the bundle's rule estimator)::
#:
#:     {"columns": [{"column": "age", "bins": [18.0, 27.0, ...], "labels": ["(17.999, 27.0]", ...]},
#:                  {"column": "sex", "format": "text"}],
#:      "join": " × ", "pooled": {"a × b": "other (groups under 30 rows)", ...}}
#:
#: ``bins``/``labels``: the column was cut into quantiles (a value beyond the study's range falls in
#: the nearest outer bin); ``format`` is how a raw value becomes text: ``"int"``/``"float"`` write a
#: number the way the study's column wrote it (so 3, 3.0 and "3" all read as the study's label),
#: ``"text"`` as it is. ``pooled`` maps each label pooled at study time to the pooled label.
Grouping = dict[str, Any]


def sensitive_groups(df: pd.DataFrame, ref: DataRef, notes: list[str]) -> pd.Series:
    """One group label per row (the intersection ``a × b`` when several sensitive columns are named)."""
    return sensitive_grouping(df, ref, notes)[0]


def sensitive_grouping(df: pd.DataFrame, ref: DataRef, notes: list[str]) -> tuple[pd.Series, Grouping]:
    """The group label of every row and the :data:`Grouping` that made it (``{}``: no sensitive column)."""
    if not ref.sensitive:
        return pd.Series(["all"] * len(df), name="group"), {}
    columns = [_column_record(df[col], col, notes) for col in ref.sensitive]
    grouping: Grouping = {"columns": columns, "join": JOIN, "pooled": {}}
    groups = pd.Series(group_labels(df, grouping), name="group")
    counts = groups.value_counts()
    if len(counts) > MAX_SENSITIVE_GROUPS:
        raise UserInputError(
            f"The sensitive attribute {' × '.join(ref.sensitive)} has {len(counts)} groups; at most "
            f"{MAX_SENSITIVE_GROUPS} can be compared. Is it an ID or free-text column?",
            field="data.sensitive",
        )
    if len(counts) < 2:
        raise UserInputError(
            f"The sensitive attribute {' × '.join(ref.sensitive)} has a single group "
            f"({counts.index[0]!r}); fairness needs at least two.",
            field="data.sensitive",
        )
    groups, pooled = _small_groups(groups, ref, notes)
    grouping["pooled"] = pooled
    return groups, grouping


def group_labels(frame: pd.DataFrame, grouping: Mapping[str, Any]) -> np.ndarray:
    """Each row's group label under ``grouping``: every column's value as the study wrote it (its
    quantile bin when it was cut), intersected, then pooled as the study pooled it.

    ``frame`` holds the raw sensitive column(s); a label the study never saw stays as it is (the rule
    decides it at its default threshold)."""
    parts = [_labels(frame[rec["column"]], rec) for rec in grouping["columns"]]
    join = str(grouping.get("join", JOIN))
    labels = list(parts[0]) if len(parts) == 1 else [join.join(t) for t in zip(*parts, strict=True)]
    pooled = dict(grouping.get("pooled") or {})
    return np.array([pooled.get(g, g) for g in labels], dtype=object)


def grouping_columns(grouping: Mapping[str, Any]) -> list[str]:
    return [str(rec["column"]) for rec in grouping.get("columns") or []]


def _column_record(s: pd.Series, col: str, notes: list[str]) -> dict[str, Any]:
    """How one sensitive column becomes text: its quartile bins (numeric with many values), else its
    values written as the study's column writes them."""
    numeric = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
    if numeric and s.nunique() > _QUARTILE_MIN_VALUES:
        cut, bins = pd.qcut(s, 4, duplicates="drop", retbins=True)
        notes.append(f"Sensitive column {col!r} is numeric with many values; grouped into quartiles.")
        return {
            "column": col,
            "bins": [float(b) for b in bins],
            "labels": [str(c).strip() for c in cut.cat.categories],  # pandas' own interval labels
        }
    fmt = "text" if not numeric else "int" if pd.api.types.is_integer_dtype(s) else "float"
    return {"column": col, "format": fmt}


def _labels(s: pd.Series, rec: Mapping[str, Any]) -> np.ndarray:
    """One column's labels (missing values: :data:`MISSING`)."""
    s = s.reset_index(drop=True)
    if "bins" in rec:
        num = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bins, names = np.asarray(rec["bins"], dtype=float), np.asarray(rec["labels"], dtype=object)
        # right-closed bins, the first closed on the left too (pandas' include_lowest); beyond the
        # study's range: the nearest outer bin (the oldest quarter stays the oldest quarter)
        code = np.clip(np.searchsorted(bins, num, side="left") - 1, 0, len(names) - 1)
        return np.where(np.isnan(num), MISSING, names[code]).astype(object)
    fmt = str(rec.get("format", "text"))
    if fmt == "text" or _spelled_as(s, fmt):  # the study's own dtype: its own spelling, vectorised
        return s.astype(object).where(s.notna(), MISSING).astype(str).str.strip().to_numpy(dtype=object)
    return np.array([_text(v, fmt) for v in s.astype(object)], dtype=object)


def _spelled_as(s: pd.Series, fmt: str) -> bool:
    if pd.api.types.is_bool_dtype(s):
        return False
    return pd.api.types.is_integer_dtype(s) if fmt == "int" else pd.api.types.is_float_dtype(s)


def _text(v: Any, fmt: str) -> str:
    """A raw value as the study's label: numbers in the study's own spelling (``int``: 3, ``float``: 3.0)."""
    if v is None or (not isinstance(v, str) and bool(pd.isna(v))):
        return MISSING
    if fmt in ("int", "float") and not isinstance(v, (bool, np.bool_)):
        try:
            x = float(str(v).strip()) if isinstance(v, str) else float(v)
        except ValueError:
            return str(v).strip()
        if fmt == "int" and x.is_integer():
            return str(int(x))
        if fmt == "float":
            return str(x)
    return str(v).strip()


def _small_groups(groups: pd.Series, ref: DataRef, notes: list[str]) -> tuple[pd.Series, dict[str, str]]:
    """Pool groups under ``min_group_rows`` when the spec allows it; refuse any left too small.
    Returns the groups and the pooling (each pooled label → the pooled group's label)."""
    counts = groups.value_counts()
    small = counts[counts < ref.min_group_rows]
    mapping: dict[str, str] = {}
    if len(small) and ref.merge_small_groups:
        pooled = f"other (groups under {ref.min_group_rows} rows)"
        mapping = {str(g): pooled for g in small.index}
        groups = groups.where(~groups.isin(small.index), pooled)
        notes.append(
            f"Sensitive groups with fewer than {ref.min_group_rows} rows pooled into "
            f"{pooled!r}: " + ", ".join(f"{g!r} ({n})" for g, n in small.items()) + "."
        )
        counts = groups.value_counts()
        small = counts[counts < ref.min_group_rows]
        if len(counts) < 2:
            raise UserInputError(
                f"Every group of {' × '.join(ref.sensitive)} has fewer than {ref.min_group_rows} rows; "
                "pooled, they leave a single group and nothing to compare. Lower min_group_rows "
                "(--min-group-rows) or choose another sensitive column.",
                field="data.sensitive",
            )
    if len(small):
        listing = ", ".join(f"{g!r} ({n} rows)" for g, n in small.items())
        fix = (
            "even pooled they are too few: merge them into a broader group in the file, or lower "
            "min_group_rows (--min-group-rows)"
            if ref.merge_small_groups
            else "pool small groups into one (merge_small_groups, --merge-small-groups), merge them "
            "into a broader group in the file, or lower min_group_rows (--min-group-rows)"
        )
        raise UserInputError(
            f"Sensitive group(s) with fewer than {ref.min_group_rows} rows: {listing}. Fairness "
            f"numbers for so few rows are noise: {fix}.",
            field="data.sensitive",
        )
    return groups, mapping
