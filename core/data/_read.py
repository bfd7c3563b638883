"""Read a CSV or Parquet table from a path or an upload's bytes, and never unpickle anything.

Why so careful: uploads come from anyone, in any encoding and separator, sometimes with duplicate
column names or pickle files renamed to ``.csv``; each case gets a note or a fixable message.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from core.data._demo import DEMO, DEMO_PATH
from core.errors import UserInputError

NA_VALUES = ["", "?", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "-"]
_PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".npy", ".npz", ".sav", ".dill")


def read_table(source: str | Path | bytes, *, name: str | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Read CSV or Parquet from a path or bytes (an upload); never unpickles anything.

    Duplicate column names are made unique (``a``, ``a__2``) and reported, because pandas would
    otherwise rename them silently or return a frame where ``df["a"]`` is two columns.
    """
    notes: list[str] = []
    if isinstance(source, (str, Path)) and str(source) == DEMO:
        source, name = DEMO_PATH, "demo (ads.parquet)"
    label = name or str(source)
    suffix = Path(name or (str(source) if not isinstance(source, bytes) else "")).suffix.lower()
    raw = _raw_bytes(source, label)
    if suffix in _PICKLE_SUFFIXES or _looks_pickled(raw):
        raise UserInputError(
            f"{label}: pickled files are never opened (they can run code). Export the table as CSV or Parquet.",
            field="data.path",
        )
    if suffix in (".parquet", ".pq") or raw[:4] == b"PAR1":
        df = _na_strings_to_missing(_read_parquet(raw, label))
    else:
        df = _read_csv(raw, label, notes)
    if df.shape[1] == 0:
        raise UserInputError(f"{label} has no columns. Is it a CSV with a header row?", field="data.path")
    df, dup_notes = _unique_columns(df)
    notes += dup_notes
    if len(df) == 0:
        raise UserInputError(f"{label} has a header but no data rows.", field="data.path")
    return df, notes


def _raw_bytes(source: str | Path | bytes, label: str) -> bytes:
    """The file's bytes; a missing file, a folder or an empty file is refused with what to do."""
    if isinstance(source, bytes):
        raw = source
    else:
        path = Path(source)
        if not path.exists():
            raise UserInputError(f"File {str(path)!r} does not exist.", field="data.path")
        if path.is_dir():
            raise UserInputError(f"{str(path)!r} is a folder; give a CSV or Parquet file.", field="data.path")
        raw = path.read_bytes()
    if len(raw) == 0:
        raise UserInputError(
            f"{label} is empty (0 bytes). Choose a file with a header row and data.", field="data.path"
        )
    return raw


def _looks_pickled(raw: bytes) -> bool:
    """Pickle protocol 2+ starts with 0x80 and the protocol number; NumPy files with their magic."""
    return (len(raw) >= 2 and raw[0] == 0x80 and 2 <= raw[1] <= 5) or raw[:6] == b"\x93NUMPY"


def _read_parquet(raw: bytes, label: str) -> pd.DataFrame:
    """Read a Parquet file, tolerating duplicate column names.

    Why ``ParquetFile`` and not ``read_table``: the dataset reader behind ``read_table`` refuses a
    schema with two columns of the same name ("Multiple matches for FieldRef"), while a plain
    file read returns them; we rename positionally and let ``_unique_columns`` report the copy.
    """
    import pyarrow.parquet as pq

    try:
        table = pq.ParquetFile(io.BytesIO(raw)).read()
    except Exception as exc:  # pyarrow raises several types for corrupt files
        first = str(exc).splitlines()[0][:300] if str(exc) else ""
        raise UserInputError(
            f"Could not read {label} as Parquet ({type(exc).__name__}: {first}). "
            "Is the file complete and really Parquet?",
            field="data.path",
        ) from None
    names = [str(n) for n in table.column_names]
    if len(set(names)) != len(names):
        table = table.rename_columns([f"__col{i}" for i in range(len(names))])
        df = table.to_pandas()
        df.columns = names
        return df
    return table.to_pandas()


def _na_strings_to_missing(df: pd.DataFrame) -> pd.DataFrame:
    """Treat '?', 'NA', '' … in text columns as missing, as the CSV reader does.

    Why: the same table exported to Parquet keeps the literal '?' of a CSV export (the Adult data
    marks unknowns with '?'); the model would otherwise learn '?' as a category of its own.
    """
    na = set(NA_VALUES)
    for col in range(df.shape[1]):
        s = df.iloc[:, col]
        if s.dtype == object or pd.api.types.is_string_dtype(s):
            stripped = s.astype(object).map(lambda v: v.strip() if isinstance(v, str) else v)
            mask = stripped.map(lambda v: isinstance(v, str) and v in na).astype(bool)
            if mask.any():
                df.iloc[:, col] = s.astype(object).where(~mask, np.nan)
    return df


def _decode(raw: bytes, label: str, notes: list[str]) -> str:
    """UTF-8 (with or without BOM), else Latin-1 with a note; binary bytes are refused."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        if b"\x00" in raw[:4096]:
            raise UserInputError(
                f"{label} looks binary, not CSV text. Upload a CSV (UTF-8) or Parquet file.", field="data.path"
            ) from None
        text = raw.decode("latin-1")
        notes.append(f"{label} is not UTF-8; read it as Latin-1.")
    if not text.strip():
        raise UserInputError(f"{label} is empty. Choose a file with a header row and data.", field="data.path")
    return text


def _separator(text: str) -> str:
    """The field separator the file's first lines use (comma when the sniffer cannot tell)."""
    try:
        return csv.Sniffer().sniff(text[:20000], delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _read_csv(raw: bytes, label: str, notes: list[str]) -> pd.DataFrame:
    text = _decode(raw, label, notes)
    sep = _separator(text)
    header = [h.strip() for h in next(csv.reader(io.StringIO(text), delimiter=sep))]
    try:
        df = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            header=None,
            skiprows=1,
            names=None,
            na_values=NA_VALUES,
            keep_default_na=True,
            skipinitialspace=True,
            low_memory=False,
        )
    except pd.errors.EmptyDataError:
        raise UserInputError(f"{label} has a header but no data rows.", field="data.path") from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise UserInputError(
            f"Could not parse {label} as CSV: {exc}. Check the separator and quoting.", field="data.path"
        ) from None
    if df.shape[1] != len(header):
        if df.shape[1] < len(header):
            header = header[: df.shape[1]]
        else:
            header = header + [f"unnamed_{i}" for i in range(len(header), df.shape[1])]
        notes.append(f"{label}: the header and the rows have different numbers of fields.")
    df.columns = [h if h else f"unnamed_{i}" for i, h in enumerate(header)]
    return df


def _unique_columns(df: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    names = [str(c) for c in df.columns]
    seen: dict[str, int] = {}
    out: list[str] = []
    notes: list[str] = []
    for n in names:
        if n in seen:
            seen[n] += 1
            new = f"{n}__{seen[n]}"
            while new in names or new in out:
                seen[n] += 1
                new = f"{n}__{seen[n]}"
            notes.append(f"Duplicate column name {n!r}: the copy is called {new!r}.")
            out.append(new)
        else:
            seen[n] = 1
            out.append(n)
    df = df.copy()
    df.columns = out
    return df, notes
