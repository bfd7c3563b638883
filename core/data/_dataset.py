"""The prepared table every candidate model is trained on, and the sizes it must have.

Why the limits live here: the target check and the time split both refuse a table too small to
train, cross-validate and test on, and must agree on what "too small" means.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

MIN_ROWS = 40
MIN_CLASS_ROWS = 10


@dataclass
class Dataset:
    """A validated table ready for modelling.

    ``y`` is 0/1 with 1 = ``positive_label``; ``groups`` holds one sensitive-group label per row
    (the intersection when several sensitive columns are named); ``value`` is the per-row value of
    a true positive when a value column was named.
    """

    X: pd.DataFrame
    y: np.ndarray
    groups: pd.Series
    value: np.ndarray | None
    positive_label: str
    negative_label: str
    numeric: list[str]
    categorical: list[str]
    fingerprint: str
    notes: list[str] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)
    # whose row it is (panel data: a person or customer ID), so splits keep an entity's rows together
    entity: np.ndarray | None = None
    entity_column: str | None = None
    # when each row happened (seconds, or the column's own numbers; missing = -inf): time split
    time: np.ndarray | None = None
    time_column: str | None = None
    # the decimal mark of numbers written as text ("," reads "0,37" as 0.37): predict reads the same
    decimal: str = "."
    # how ``groups`` was made from the raw sensitive column(s) (core.data._sensitive.Grouping: quartile
    # bins, pooled groups), so a group-threshold rule can label new rows exactly as the study did
    grouping: dict[str, Any] = field(default_factory=dict)
    # the raw sensitive column(s) of every row: a check can then decide the study's own rows the way
    # serving will, from raw values, rather than from labels that already match by construction
    sensitive: pd.DataFrame | None = None

    @property
    def n_rows(self) -> int:
        return len(self.y)

    def subset(self, idx: np.ndarray) -> Dataset:
        return Dataset(
            X=self.X.iloc[idx].reset_index(drop=True),
            y=self.y[idx],
            groups=self.groups.iloc[idx].reset_index(drop=True),
            value=None if self.value is None else self.value[idx],
            positive_label=self.positive_label,
            negative_label=self.negative_label,
            numeric=self.numeric,
            categorical=self.categorical,
            fingerprint=self.fingerprint,
            notes=self.notes,
            dropped=self.dropped,
            entity=None if self.entity is None else self.entity[idx],
            entity_column=self.entity_column,
            time=None if self.time is None else self.time[idx],
            time_column=self.time_column,
            decimal=self.decimal,
            grouping=self.grouping,
            sensitive=None if self.sensitive is None else self.sensitive.iloc[idx].reset_index(drop=True),
        )
