"""Train/test split (by rows, by entity or by time) and the CV folds inside the training part.

Why one module: the test part must never be seen by the search, and the folds must respect the
same grouping as the split, or scores are for rows (or entities, or times) the model already saw.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold, train_test_split

from core.data._dataset import MIN_CLASS_ROWS, MIN_ROWS, Dataset
from core.errors import UserInputError
from core.spec import Validation


def split(ds: Dataset, validation: Validation, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified train/test indices; the test part is never shown to the search.

    With an entity column the split is by entity (each person's rows all train or all test), and
    ``max_train_rows`` keeps whole entities. With a time column the test part is the most recent
    rows instead (the CV folds inside the training part stay grouped by entity when there is one).
    """
    if ds.time is not None:
        train, test = _time_split(ds, ds.time, validation)
    elif ds.entity is not None:
        train, test = holdout(ds, np.arange(ds.n_rows), validation.test_size, seed)
        if validation.max_train_rows and len(train) > validation.max_train_rows:
            train = _whole_entities(ds.entity, train, validation.max_train_rows, seed)
    else:
        train, test = _row_split(ds, validation, seed)
    if ds.entity is not None:
        n_train = len(set(ds.entity[train]))
        if n_train < validation.cv_folds:
            raise UserInputError(
                f"Only {n_train} entities ({ds.entity_column!r}) are in the training part, fewer than "
                f"the {validation.cv_folds} CV folds. Use fewer folds, allow more training rows, or "
                "choose another entity column.",
                field="validation.cv_folds",
            )
    return np.sort(train), np.sort(test)


def _row_split(ds: Dataset, validation: Validation, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows drawn at random, stratified by target and sensitive group where every pair has rows."""
    idx = np.arange(ds.n_rows)
    strat = ds.y
    combo = pd.Series(ds.y.astype(str)) + "|" + ds.groups.astype(str)
    if combo.value_counts().min() >= 2:
        strat = combo.to_numpy()  # keep every group present in both parts
    try:
        train, test = train_test_split(idx, test_size=validation.test_size, random_state=seed, stratify=strat)
    except ValueError:
        train, test = train_test_split(idx, test_size=validation.test_size, random_state=seed, stratify=ds.y)
    if validation.max_train_rows and len(train) > validation.max_train_rows:
        train, _ = train_test_split(
            train, train_size=validation.max_train_rows, random_state=seed, stratify=ds.y[train]
        )
    return train, test


def _time_split(ds: Dataset, time: np.ndarray, validation: Validation) -> tuple[np.ndarray, np.ndarray]:
    """The most recent ``test_size`` of rows (all rows of the cut's moment included) as the test
    part, the rows before as training; ``max_train_rows`` keeps the most recent training rows."""
    n = ds.n_rows
    order = np.argsort(time, kind="stable")
    cut = time[order[n - max(1, int(round(validation.test_size * n)))]]
    test, train = np.flatnonzero(time >= cut), np.flatnonzero(time < cut)
    if validation.max_train_rows and len(train) > validation.max_train_rows:
        train = train[np.argsort(time[train], kind="stable")[-validation.max_train_rows :]]
    for part, rows in (("training", train), ("test", test)):
        counts = np.bincount(ds.y[rows], minlength=2)
        if len(rows) < MIN_ROWS // 2 or counts.min() < MIN_CLASS_ROWS // 2:
            raise UserInputError(
                f"The time split on {ds.time_column!r} leaves {len(rows)} row(s) in the {part} part "
                f"({int(counts[1])} {ds.positive_label!r}, {int(counts[0])} {ds.negative_label!r}): too "
                "few to train and test on. Use a time column with more distinct times, another test "
                "size, or no time split.",
                field="data.time_column",
            )
    return train, test


def holdout(ds: Dataset, idx: np.ndarray, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split rows ``idx`` of ``ds`` into a fitting and a held-out part, stratified by the target
    and, with an entity column, by entity (``StratifiedGroupKFold``: one fold held out)."""
    if ds.entity is None:
        fit, held = train_test_split(idx, test_size=test_size, random_state=seed, stratify=ds.y[idx])
        return fit, held
    n_splits = max(2, int(round(1 / test_size)))
    folds = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    fit_at, held_at = next(folds.split(idx, ds.y[idx], groups=ds.entity[idx]))
    return idx[fit_at], idx[held_at]


def cv_folds(
    n_splits: int, seed: int, y: np.ndarray, entity: np.ndarray | None
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The CV folds of a training part: stratified, and grouped by entity when there is one."""
    if entity is None:
        return StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed).split(np.zeros(len(y)), y)
    return StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed).split(
        np.zeros(len(y)), y, groups=entity
    )


def _whole_entities(entity: np.ndarray, rows: np.ndarray, max_rows: int, seed: int) -> np.ndarray:
    """A seeded random set of whole entities from ``rows`` with at most ``max_rows`` rows (at least one)."""
    rng = np.random.default_rng(seed)
    ids = pd.unique(entity[rows])
    rng.shuffle(ids)
    sizes = pd.Series(entity[rows]).value_counts()
    keep: set[Any] = set()
    total = 0
    for e in ids:
        if keep and total + sizes[e] > max_rows:
            continue
        keep.add(e)
        total += sizes[e]
    return rows[np.isin(entity[rows], list(keep))]
