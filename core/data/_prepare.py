"""Turn a loaded table into a :class:`Dataset`, one small step per role a column can play.

Why steps: each check raises its own fixable :class:`UserInputError` and appends to the same
``notes`` list in a fixed order, which the room shows so everyone sees what was done to the table.
"""

from __future__ import annotations

import pandas as pd

from core.data._dataset import Dataset
from core.data._duplicates import drop_copies
from core.data._fingerprint import fingerprint
from core.data._header import data_like_cells
from core.data._infer import infer_features
from core.data._leaks import drop_suspected_leaks
from core.data._numbers import decimal_mark
from core.data._read import read_table
from core.data._roles import row_entities, row_times, row_values
from core.data._sensitive import sensitive_grouping
from core.data._target import binary_target, drop_rows_without_target
from core.errors import UserInputError
from core.spec import DataRef

_EXCLUDED = "excluded by you"


def prepare(df: pd.DataFrame, ref: DataRef, *, notes: list[str] | None = None) -> Dataset:
    """Check the named columns and infer feature types; raise a fixable message for each problem."""
    notes = list(notes or [])
    fp = fingerprint(df)
    check_named_columns(df, ref)
    decimal = decimal_mark(df)
    df = drop_rows_without_target(df, ref, notes)
    y, positive, negative = binary_target(df[ref.target], ref, notes)
    groups, grouping = sensitive_grouping(df, ref, notes)
    raw_sensitive = df[list(ref.sensitive)].reset_index(drop=True) if ref.sensitive else None
    value = row_values(df, ref, notes, decimal=decimal)
    time = row_times(df, ref, notes)
    reserved = _reserved(ref)
    entity, entity_col = row_entities(df, ref, reserved | set(ref.sensitive), notes)
    if entity_col is not None:
        reserved.add(entity_col)
    dropped = {e: _EXCLUDED for e in ref.exclude}
    X = df[[c for c in df.columns if c not in reserved]].copy()
    X = drop_copies(df, X, _roles(ref, entity_col), dropped)
    X, numeric, categorical = infer_features(X, dropped, notes, decimal=decimal)
    X, numeric, categorical = drop_suspected_leaks(
        X, y, (numeric, categorical), ref, dropped, notes, labels=(negative, positive)
    )
    _require_features(X, ref, dropped)
    notes += _sensitive_note(ref)
    notes += [f"Dropped column {col!r}: {why}." for col, why in dropped.items() if why != _EXCLUDED]
    return Dataset(
        X=X.reset_index(drop=True),
        y=y,
        groups=groups,
        value=value,
        positive_label=positive,
        negative_label=negative,
        numeric=numeric,
        categorical=categorical,
        fingerprint=fp,
        notes=notes,
        dropped=dropped,
        entity=entity,
        entity_column=entity_col,
        time=time,
        time_column=ref.time_column if time is not None else None,
        decimal=decimal,
        grouping=grouping,
        sensitive=raw_sensitive,
    )


def load_dataset(ref: DataRef) -> Dataset:
    """Read and prepare the table a spec names; refuse if it is not the data the study was made on."""
    df, notes = read_table(ref.path)
    ds = prepare(df, ref, notes=notes)
    if ref.fingerprint and ref.fingerprint != ds.fingerprint:
        raise UserInputError(
            f"The data at {ref.path!r} has changed since the study was made: expected fingerprint "
            f"{ref.fingerprint}, found {ds.fingerprint}. Use the original file, or start a new study "
            "for the new data.",
            field="data.path",
        )
    return ds


def check_named_columns(df: pd.DataFrame, ref: DataRef) -> None:
    """Refuse a spec that names a column the table does not have, listing the columns it has."""
    named: list[tuple[str | None, str, str]] = [(ref.target, "target", "data.target")]
    named += [(s, "sensitive", "data.sensitive") for s in ref.sensitive]
    named += [(ref.value_column, "value", "data.value_column")]
    named += [(e, "excluded", "data.exclude") for e in ref.exclude]
    named += [(ref.entity_column, "entity", "data.entity_column"), (ref.time_column, "time", "data.time_column")]
    for col, role, field_name in named:
        if col is not None and col not in df.columns:
            raise UserInputError(
                f"The {role} column {col!r} is not in the table. Columns: {_listing(df)}.{_why_missing(df)}",
                field=field_name,
            )


def _listing(df: pd.DataFrame, most: int = 50) -> str:
    names = [str(c) if len(str(c)) <= 60 else str(c)[:59] + "…" for c in df.columns[:most]]
    return ", ".join(names) + (f" … ({df.shape[1]} in all)" if df.shape[1] > most else "")


def _why_missing(df: pd.DataFrame) -> str:
    """A likely reason a named column is absent: the wrong separator, or no header row."""
    if df.shape[1] == 1:
        return (
            " The table has a single column, so its fields are probably separated by something "
            "other than ',', ';', a tab or '|': save it as CSV with commas and load it again."
        )
    cells = [str(c) for c in df.columns]
    if 2 * len(data_like_cells(cells, df)) >= len(cells):
        return " Its first row looks like data: if the file has no header row, add one naming the columns."
    return ""


def _reserved(ref: DataRef) -> set[str]:
    """The columns that play a role (target, excluded, value, time, sensitive unless a feature)."""
    reserved = {ref.target, *ref.exclude}
    if ref.value_column:
        reserved.add(ref.value_column)
    if not ref.sensitive_as_feature:
        reserved |= set(ref.sensitive)
    if ref.time_column is not None:
        reserved.add(ref.time_column)
    return reserved


def _roles(ref: DataRef, entity_col: str | None) -> dict[str, str]:
    """Each column that is not a feature and the role it plays (for naming what a copy copies)."""
    roles = {e: "excluded" for e in ref.exclude}
    if not ref.sensitive_as_feature:
        roles |= {s: "sensitive" for s in ref.sensitive}
    for col, role in ((ref.value_column, "value"), (ref.time_column, "time"), (entity_col, "entity")):
        if col is not None:
            roles[col] = role
    return roles | {ref.target: "target"}


def _sensitive_note(ref: DataRef) -> list[str]:
    """Say that the sensitive columns are kept out of the features (or that they are not)."""
    if not ref.sensitive:
        return []
    names = ", ".join(map(repr, ref.sensitive))
    if ref.sensitive_as_feature:
        return [f"Sensitive column(s) {names} are also features, because sensitive_as_feature is on."]
    return [
        f"Sensitive column(s) {names} removed from the features: fairness is measured on them, and "
        "no model sees them (tick 'Let models use the sensitive attribute as a feature' on the Data "
        "page, or pass --sensitive-as-feature, to let models use them)."
    ]


def _require_features(X: pd.DataFrame, ref: DataRef, dropped: dict[str, str]) -> None:
    """Refuse a table with no feature left, saying where each column went."""
    if X.shape[1]:
        return
    roles = [f"{ref.target!r} (target)"]
    if not ref.sensitive_as_feature:
        roles += [f"{s!r} (sensitive)" for s in ref.sensitive]
    if ref.value_column:
        roles.append(f"{ref.value_column!r} (value)")
    roles += [f"{k!r} ({v})" for k, v in dropped.items()]
    raise UserInputError(
        "No usable feature columns are left: " + "; ".join(roles) + ". Add feature columns, "
        "exclude fewer, or set sensitive_as_feature to use the sensitive column as a feature.",
        field="data.exclude",
    )
