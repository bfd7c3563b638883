"""Read a CSV or Parquet table from a path or an upload's bytes, and never unpickle anything.

Why so careful: uploads come from anyone, in any encoding and separator, sometimes with duplicate
column names or pickle files renamed to ``.csv``; each case gets a note or a fixable message.
Why streamed: pandas and pyarrow read the file itself (a path, or the upload's bytes without a
copy), so the decoded text is never held in memory beside the table.
"""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

from core.data._demo import DEMO, DEMO_PATH
from core.data._encoding import line_terminator, sample_text, text_encoding
from core.data._formats import file_kind
from core.data._formulas import formula_notes
from core.data._header import check_header
from core.data._placeholders import Placeholders
from core.errors import UserInputError

NA_VALUES = ["", "?", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "-"]
_HEAD = 1 << 16  # bytes read to tell the format, the separator and the header
_MAX_HEAD = 1 << 24  # a header line longer than this is not a table's header
_CHUNK_ROWS = 200_000  # rows per chunk when re-reading how missing cells were written


def read_table(source: str | Path | bytes, *, name: str | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Read CSV or Parquet from a path or bytes (an upload); never unpickles anything.

    Duplicate column names are made unique (``a``, ``a__2``) and reported, because pandas would
    otherwise rename them silently or return a frame where ``df["a"]`` is two columns. Cells
    written as a placeholder ('?', 'NA') are read as missing and counted in a note; a CSV whose
    first row is data, not a header, is refused or noted.
    """
    notes: list[str] = []
    if isinstance(source, (str, Path)) and str(source) == DEMO:
        source, name = DEMO_PATH, "demo (ads.parquet)"
    label = name or str(source)
    suffix = Path(name or (str(source) if not isinstance(source, bytes) else "")).suffix.lower()
    with _opened(source, label) as f:
        head = _head(f)
        if file_kind(head, f, label, suffix, notes) == "parquet":
            df = _na_strings_to_missing(_read_parquet(f, label), notes)
        else:
            df = _read_csv(f, head, label, notes)
    if df.shape[1] == 0:
        raise UserInputError(f"{label} has no columns. Is it a CSV with a header row?", field="data.path")
    notes += _unique_columns(df)
    if len(df) == 0:
        raise UserInputError(f"{label} has a header but no data rows.", field="data.path")
    notes += formula_notes(df)
    return df, notes


@contextlib.contextmanager
def _opened(source: str | Path | bytes, label: str) -> Iterator[BinaryIO]:
    """The file as a binary stream; a missing file, a folder or an empty file is refused with what to do."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        f: BinaryIO = io.BytesIO(source)  # shares the bytes until written to
    else:
        path = Path(source)
        if not path.exists():
            raise UserInputError(f"File {str(path)!r} does not exist.", field="data.path")
        if path.is_dir():
            raise UserInputError(f"{str(path)!r} is a folder; give a CSV or Parquet file.", field="data.path")
        f = path.open("rb")
    with f:
        if not f.read(1):
            raise UserInputError(
                f"{label} is empty (0 bytes). Choose a file with a header row and data.", field="data.path"
            )
        f.seek(0)
        yield f


def _head(f: BinaryIO) -> bytes:
    """The first 64 KiB, or more until the first line ends (a very wide header); rewound."""
    head = f.read(_HEAD)
    while b"\n" not in head and b"\r" not in head and len(head) < _MAX_HEAD:
        more = f.read(_HEAD)
        if not more:
            break
        head += more
    f.seek(0)
    return head


def _read_parquet(f: BinaryIO, label: str) -> pd.DataFrame:
    """Read a Parquet file, tolerating duplicate column names.

    Why ``ParquetFile`` and not ``read_table``: the dataset reader behind ``read_table`` refuses a
    schema with two columns of the same name ("Multiple matches for FieldRef"), while a plain
    file read returns them; we rename positionally and let ``_unique_columns`` report the copy.
    """
    import pyarrow.parquet as pq

    try:
        table = pq.ParquetFile(f).read()
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
        df = table.to_pandas(self_destruct=True)
        df.columns = names
        return df
    return table.to_pandas(self_destruct=True)  # frees each Arrow column once converted


def _na_strings_to_missing(df: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Treat '?', 'NA', '' … in text columns as missing, as the CSV reader does, and count them.

    Why: the same table exported to Parquet keeps the literal '?' of a CSV export (the Adult data
    marks unknowns with '?'); the model would otherwise learn '?' as a category of its own.
    """
    na = set(NA_VALUES)
    found = Placeholders()
    for col in range(df.shape[1]):
        s = df.iloc[:, col]
        if s.dtype == object:
            stripped = s.map(lambda v: v.strip() if isinstance(v, str) else v)
            mask = stripped.map(lambda v: isinstance(v, str) and v in na).astype(bool)
        elif pd.api.types.is_string_dtype(s):  # vectorised: no Python string per cell
            stripped = s.str.strip()
            mask = stripped.isin(na).fillna(False).astype(bool)
        else:
            continue
        if mask.any():
            found.add(str(df.columns[col]), stripped[mask])
            df.iloc[:, col] = s.astype(object).where(~mask, np.nan)
    notes += found.notes()
    return df


def _separator(text: str) -> str:
    """The field separator the file's first lines use (comma when the sniffer cannot tell)."""
    try:
        return csv.Sniffer().sniff(text[:20000], delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _read_csv(f: BinaryIO, head: bytes, label: str, notes: list[str]) -> pd.DataFrame:
    encoding = text_encoding(f, head, label, notes)
    text = sample_text(head, encoding)
    sep = _separator(text)
    header = [h.strip() for h in next(csv.reader(io.StringIO(text), delimiter=sep), [])]
    options = {"sep": sep, "encoding": encoding, "lineterminator": line_terminator(head, encoding)}
    try:
        df = _parse(f, **options, na_values=NA_VALUES, keep_default_na=True)
    except pd.errors.EmptyDataError:
        raise UserInputError(f"{label} has a header but no data rows.", field="data.path") from None
    except (pd.errors.ParserError, ValueError, UnicodeError) as exc:
        why = " ".join(str(exc).split())
        raise UserInputError(
            f"Could not parse {label} as CSV: {why}. Check the separator and quoting.", field="data.path"
        ) from None
    if df.shape[1] != len(header):
        if df.shape[1] < len(header):
            header = header[: df.shape[1]]
        else:
            header = header + [f"unnamed_{i}" for i in range(len(header), df.shape[1])]
        notes.append(f"{label}: the header and the rows have different numbers of fields.")
    notes += check_header(header, df, label)
    notes += _csv_placeholders(f, df, header, options)
    df.columns = [h if h else f"unnamed_{i}" for i, h in enumerate(header)]
    return df


def _csv_placeholders(f: BinaryIO, df: pd.DataFrame, header: list[str], options: dict[str, Any]) -> list[str]:
    """How the missing cells of ``df`` were written ('?', 'NA' …), read again chunk by chunk.

    Only the columns with missing values are re-read, so a clean file is not read twice.
    """
    with_missing = [i for i in range(df.shape[1]) if df.iloc[:, i].isna().any()]
    if not with_missing:
        return []
    found = Placeholders()
    start = 0
    chunks = _parse(
        f, **options, usecols=with_missing, dtype=str, na_filter=False, keep_default_na=False, chunksize=_CHUNK_ROWS
    )
    with chunks:
        for written in chunks:
            rows = slice(start, start + len(written))
            for i in written.columns:
                missing = df.iloc[rows, i].isna().to_numpy()
                name = header[i] if i < len(header) and header[i] else f"unnamed_{i}"
                found.add(name, written[i][missing])
            start += len(written)
    return found.notes()


def _parse(f: BinaryIO, **options: Any) -> Any:
    """The rows after the header line, columns by position; the header is read apart (see above)."""
    f.seek(0)
    return pd.read_csv(f, header=None, skiprows=1, skipinitialspace=True, low_memory=False, **options)


def _unique_columns(df: pd.DataFrame) -> list[str]:
    """Rename duplicate column names of ``df`` in place (``a``, ``a__2``); one note per copy."""
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
    df.columns = out
    return notes
