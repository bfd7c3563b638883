"""Read a table, check it, and turn it into what every candidate model is trained on.

Owns reading CSV/Parquet, numbers written as text, feature types, column roles, leak checks, prepare's
noted steps, splits and preprocessing.
"""

from __future__ import annotations

from core.data._dataset import MIN_CLASS_ROWS, MIN_ROWS, Dataset
from core.data._demo import DEMO, DEMO_PATH, DEMO_SENSITIVE, DEMO_TARGET, DEMO_VALUE
from core.data._fingerprint import fingerprint
from core.data._infer import DATE_DROPPED, infer_column
from core.data._leaks import suspected_leaks
from core.data._numbers import decimal_mark, numbers_from_text
from core.data._prepare import load_dataset, prepare
from core.data._preprocess import build_preprocessor
from core.data._read import NA_VALUES, read_table
from core.data._roles import MIN_ENTITIES
from core.data._sensitive import MAX_SENSITIVE_GROUPS, group_labels, grouping_columns
from core.data._split import cv_folds, holdout, split

__all__ = [
    "DATE_DROPPED",
    "DEMO",
    "DEMO_PATH",
    "DEMO_SENSITIVE",
    "DEMO_TARGET",
    "DEMO_VALUE",
    "MAX_SENSITIVE_GROUPS",
    "MIN_CLASS_ROWS",
    "MIN_ENTITIES",
    "MIN_ROWS",
    "NA_VALUES",
    "Dataset",
    "build_preprocessor",
    "cv_folds",
    "decimal_mark",
    "fingerprint",
    "group_labels",
    "grouping_columns",
    "holdout",
    "infer_column",
    "load_dataset",
    "numbers_from_text",
    "prepare",
    "read_table",
    "split",
    "suspected_leaks",
]
