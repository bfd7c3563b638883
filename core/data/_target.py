"""The target column as 0/1: missing rows dropped, label spellings merged, the positive class chosen.

Why so much care: real targets arrive as ``>50K``/``>50K.``, floats, booleans or words, and the
positive class decides what every metric and threshold means, so each choice is written to the notes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.data._dataset import MIN_CLASS_ROWS, MIN_ROWS
from core.data._numbers import refuse_infinite
from core.errors import UserInputError
from core.spec import DataRef

_POSITIVE_WORDS = {
    "1",
    "yes",
    "y",
    "true",
    "t",
    "positive",
    "pos",
    ">50k",
    "converted",
    "churn",
    "default",
    "fraud",
    "bad",
    "approved",
    "success",
}


def drop_rows_without_target(df: pd.DataFrame, ref: DataRef, notes: list[str]) -> pd.DataFrame:
    """The rows whose target is known; refuse when too few are left to train, validate and test."""
    target = df[ref.target]
    n_missing = int(target.isna().sum())
    if n_missing == len(df):
        raise UserInputError(
            f"The target {ref.target!r} has no values (all {len(df)} are missing).", field="data.target"
        )
    refuse_infinite(
        target,
        f"The target {ref.target!r}",
        "; a class label is a value like 0/1 or yes/no. Fix those rows, or leave their target empty to drop them.",
        field="data.target",
    )
    if n_missing:
        notes.append(f"Dropped {n_missing} row(s) whose target {ref.target!r} is missing (NaN).")
        df = df.loc[target.notna()].reset_index(drop=True)
    if len(df) < MIN_ROWS:
        raise UserInputError(
            f"Only {len(df)} row(s) with a target value are left"
            + (f" after dropping {n_missing} with a missing target" if n_missing else "")
            + f"; at least {MIN_ROWS} are needed to train, cross-validate and test a model.",
            field="data.target",
        )
    return df


def binary_target(target: pd.Series, ref: DataRef, notes: list[str]) -> tuple[np.ndarray, str, str]:
    """``y`` as 0/1 with 1 = the positive class, and the positive and negative labels."""
    labels = _normalise_labels(target, notes, ref.target)
    classes = sorted(labels.unique(), key=str)
    if len(classes) == 1:
        raise UserInputError(
            f"The target {ref.target!r} has only one class ({classes[0]!r}); a classifier needs two. "
            "Check the column or the rows you filtered.",
            field="data.target",
        )
    if len(classes) > 2:
        shown = ", ".join(map(repr, classes[:8])) + (" …" if len(classes) > 8 else "")
        raise UserInputError(
            f"The target {ref.target!r} has {len(classes)} classes ({shown}). Tradeoff Room does "
            "binary classification only: map the target to two classes (e.g. one class vs the rest) "
            "and load it again.",
            field="data.target",
        )
    positive = _positive_label(labels, classes, ref.positive_label, ref.target, notes)
    negative = next(c for c in classes if c != positive)
    y = (labels == positive).to_numpy().astype(np.int64)
    rare = min(int(y.sum()), int(len(y) - y.sum()))
    if rare < MIN_CLASS_ROWS:
        rare_label = positive if y.sum() <= len(y) - y.sum() else negative
        raise UserInputError(
            f"The target {ref.target!r} has only {rare} row(s) of class {rare_label!r}; at least "
            f"{MIN_CLASS_ROWS} of each class are needed for cross-validation and a test part.",
            field="data.target",
        )
    return y, str(positive), str(negative)


def _normalise_labels(target: pd.Series, notes: list[str], name: str) -> pd.Series:
    """Labels as strings; fold case, whitespace and a trailing '.' only if that makes two classes.

    Why: the Adult data's test file writes ``>50K.`` where the training file writes ``>50K``;
    concatenated they look like four classes but mean two.
    """
    if pd.api.types.is_bool_dtype(target):
        return target.map({True: "True", False: "False"})
    if pd.api.types.is_float_dtype(target) and (target == target.round()).all():
        target = target.astype(np.int64)
    labels = target.astype(str).str.strip()
    if labels.nunique() > 2:
        folded = labels.str.lower().str.rstrip(".").str.strip()
        if folded.nunique() == 2:
            # the canonical spelling of each class: its most frequent variant without the '.'
            bare = labels.str.rstrip(".").str.strip()
            canon = {k: grp.value_counts().index[0] for k, grp in bare.groupby(folded)}
            notes.append(
                f"Target {name!r}: merged labels that differ only in case, spaces or a "
                f"trailing '.' ({', '.join(sorted(map(repr, labels.unique())))}) into "
                f"{', '.join(sorted(map(repr, canon.values())))}."
            )
            labels = folded.map(canon)
    return labels


def _positive_label(labels: pd.Series, classes: list, given: str | None, name: str, notes: list[str]) -> str:
    if given is not None:
        if str(given) not in classes:
            raise UserInputError(
                f"positive_label {given!r} is not a value of {name!r}; its values are {', '.join(map(repr, classes))}.",
                field="data.positive_label",
            )
        return str(given)
    for c in classes:
        if str(c).strip().rstrip(".").lower() in _POSITIVE_WORDS:
            notes.append(f"Positive class of {name!r}: {c!r} (choose another positive class to change it).")
            return c
    counts = labels.value_counts()
    minority = str(counts.index[-1])
    notes.append(
        f"Positive class of {name!r}: {minority!r}, the rarer class (choose another positive class to change it)."
    )
    return minority
