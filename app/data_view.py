"""Helpers of the Data page: cached table reads, column-role guesses, the chosen DataRef.

The chosen data lives in ``st.session_state["data_ref"]`` (a DataRef as a dict, fingerprint
filled) until it is saved as part of a study's spec; the Objectives page reads it from there.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from core import data as core_data
from core.data import Dataset, uploads
from core.metrics import small_group_note, with_intervals
from core.spec import DataRef, Validation

DATA_REF = "data_ref"  # session key: the last valid DataRef (dict) chosen on the Data page
UPLOAD = "data_upload"  # session key: {"path", "name", "fingerprint"} of the stored upload
_TARGET_WORDS = ("target", "label", "class", "outcome", "converted", "churn", "default", "y")


@st.cache_data(max_entries=8, show_spinner="Reading the table…")
def read_table(path: str, mtime: float = 0.0) -> tuple[pd.DataFrame, list[str]]:
    """The table at ``path`` (or the demo) and the loader's notes; ``mtime`` keys the cache."""
    del mtime
    return core_data.read_table(path)


@st.cache_data(max_entries=16, show_spinner="Checking the columns…")
def prepare(path: str, ref: dict[str, Any], mtime: float = 0.0) -> Dataset:
    """Validate the column roles on the table (raises ``UserInputError`` with a ``field``)."""
    df, notes = read_table(path, mtime)
    return core_data.prepare(df, DataRef(**ref), notes=notes)


@st.cache_data(max_entries=4, show_spinner="Storing the upload…")
def store_upload(raw: bytes, name: str) -> dict[str, Any]:
    up = uploads.save(raw, name)
    return {"path": str(up.path), "name": up.original_name, "fingerprint": up.fingerprint, "notes": up.notes}


def mtime(path: str) -> float:
    p = core_data.DEMO_PATH if path == core_data.DEMO else Path(path)
    try:
        return p.stat().st_mtime
    except OSError:
        return 0.0


def guess_target(df: pd.DataFrame) -> str:
    """A column named like a label with two values, else the last two-valued column, else the last."""
    two = [c for c in df.columns if df[c].nunique(dropna=True) == 2]
    for word in _TARGET_WORDS:
        for c in two:
            if str(c).lower() == word or str(c).lower().endswith("_" + word):
                return c
    return two[-1] if two else df.columns[-1]


def index_of(options: list, value: Any, default: int | None = 0) -> int | None:
    return options.index(value) if value in options else default


def stored_ref() -> dict[str, Any] | None:
    return st.session_state.get(DATA_REF)


def start_from(current: tuple[str, str] | None) -> dict[str, Any]:
    """The column choices the page opens with: this session's, else the current study's data.

    So a second browser opening ``?study=NAME`` sees that study's table and roles, not the demo;
    a study on an uploaded table points at its stored Parquet file, offered as the upload.
    """
    chosen = stored_ref()
    if chosen is not None or current is None:
        return chosen or {}
    from app import ui
    from core.errors import UserInputError

    try:
        data = dict(ui.load_spec(*current).to_dict()["data"])
    except UserInputError:
        return {}
    path = str(data.get("path", ""))
    if path != core_data.DEMO and UPLOAD not in st.session_state and Path(path).is_file():
        st.session_state[UPLOAD] = {
            "path": path,
            "name": Path(path).name,
            "fingerprint": data.get("fingerprint") or "",
            "notes": [],
        }
    return data


def ref_key(ref: DataRef) -> dict[str, Any]:
    """The DataRef as a JSON-shaped dict without fingerprint: one cache key per column choice."""
    import json

    return json.loads(json.dumps({**asdict(ref), "fingerprint": None}))


def remember(ref: DataRef) -> None:
    st.session_state[DATA_REF] = asdict(ref)


def split_summary(ds: Dataset) -> tuple[str, str]:
    """How the held-out test part is chosen, as a metric value and its explanation."""
    if ds.time_column is not None:
        return "latest rows", f"The test part is the most recent rows by {ds.time_column!r}."
    if ds.entity_column is not None and ds.entity is not None:
        n = len(set(ds.entity))
        return "by entity", f"{n:,} entities in {ds.entity_column!r}: each one's rows are all training or all test."
    return "random rows", "A random, stratified sample of rows is held out for the test part."


def group_stats(ds: Dataset, *, min_rows: int | None = None, test_size: float | None = None) -> pd.DataFrame:
    """Rows and base rate (with its Wilson interval) per sensitive group, the rows each group will
    have in the held-out test part (about ``test_size`` of them: the split is stratified), and the
    flag on groups whose test rows fall under ``min_rows``: the held-out fairness numbers come from
    those rows, so a group can pass the whole-table minimum and still be too small to judge there."""
    frame = pd.DataFrame({"group": ds.groups.astype(str).to_numpy(), "y": ds.y})
    stats = frame.groupby("group")["y"].agg(n="size", base_rate="mean").reset_index()
    stats = with_intervals(stats.sort_values("group").reset_index(drop=True)).drop(columns="note")
    share = Validation().test_size if test_size is None else test_size
    stats["test_rows"] = np.round(stats["n"] * share).astype(int)
    stats["note"] = [small_group_note(n, min_rows) for n in stats["test_rows"]]
    return stats


def class_counts(ds: Dataset) -> dict[str, int]:
    pos = int(ds.y.sum())
    return {ds.negative_label: int(len(ds.y) - pos), ds.positive_label: pos}
