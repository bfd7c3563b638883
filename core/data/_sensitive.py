"""The sensitive group of every row, with groups too small to judge pooled or refused.

Why refuse small groups: a fairness gap measured on a handful of rows is noise, and the room would
argue about it as if it were a fact.
"""

from __future__ import annotations

import pandas as pd

from core.errors import UserInputError
from core.spec import DataRef

MAX_SENSITIVE_GROUPS = 50


def sensitive_groups(df: pd.DataFrame, ref: DataRef, notes: list[str]) -> pd.Series:
    """One group label per row (the intersection ``a × b`` when several sensitive columns are named)."""
    if not ref.sensitive:
        return pd.Series(["all"] * len(df), name="group")
    groups = _group_labels(df, ref, notes)
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
    return _small_groups(groups, ref, notes)


def _group_labels(df: pd.DataFrame, ref: DataRef, notes: list[str]) -> pd.Series:
    """Each sensitive column as text (numeric ones with many values as quartiles), intersected."""
    parts = []
    for col in ref.sensitive:
        s = df[col]
        if pd.api.types.is_numeric_dtype(s) and s.nunique() > 10:
            s = pd.qcut(s, 4, duplicates="drop").astype(str)
            notes.append(f"Sensitive column {col!r} is numeric with many values; grouped into quartiles.")
        parts.append(s.astype(object).where(s.notna(), "missing").astype(str).str.strip())
    groups = parts[0] if len(parts) == 1 else pd.Series([" × ".join(t) for t in zip(*parts)], index=df.index)
    return groups.reset_index(drop=True).rename("group")


def _small_groups(groups: pd.Series, ref: DataRef, notes: list[str]) -> pd.Series:
    """Pool groups under ``min_group_rows`` when the spec allows it; refuse any left too small."""
    counts = groups.value_counts()
    small = counts[counts < ref.min_group_rows]
    if len(small) and ref.merge_small_groups:
        pooled = f"other (groups under {ref.min_group_rows} rows)"
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
    return groups
