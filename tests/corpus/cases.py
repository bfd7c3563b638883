"""The bad-input corpus, data side: one row per case, the file it makes, the command, the message.

Why a table: a case is data, not code; ``test_corpus.py`` runs every row the same way (the real
CLI in-process, and the upload rows through the Data page too). ``accepted`` rows are inputs that
must be read, with the note (or line of output) in ``expect`` saying what was done to them.
"""

from __future__ import annotations

import gzip
import io
import pickle
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tests.corpus.tables import N_ROWS, base, csv, parquet, with_column

INIT = ("init", "{data}", "--target", "y", "-o", "{out}")


@dataclass(frozen=True)
class Case:
    """One bad input: ``make_file(folder)`` writes it and returns its path; ``argv`` is the
    command (``{data}``, ``{out}`` and ``{dir}``, the folder, filled in); ``expect`` must be in the one ``error:`` line
    (or, when ``accepted``, in the output of a run that succeeds)."""

    name: str
    make_file: Callable[[Path], Path]
    argv: tuple[str, ...]
    expect: str
    group: str
    accepted: bool = False
    upload: bool = False  # also uploaded on the Data page
    then: tuple[str, ...] = ()  # a command run afterwards, whose output must contain then_expect
    then_expect: str = ""


def _file(name: str, content: Callable[[], bytes]) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(content())
        return path

    return make


def _folder(folder: Path) -> Path:
    (folder / "a_folder.csv").mkdir()
    return folder / "a_folder.csv"


def _missing(folder: Path) -> Path:
    return folder / "no_such_file.csv"


def _random(nul: bool) -> bytes:
    raw = np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    return raw if nul else raw.replace(b"\x00", b"\x01")


def _xlsx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", "<worksheet/>")
    return buf.getvalue()


def _group(group: str, rows: list[tuple]) -> list[Case]:
    """Cases from ``(name, file name or maker, bytes maker, extra args, expect, accepted, upload)``."""
    out = []
    for name, filename, content, extra, expect, accepted, upload in rows:
        maker = content if filename is None else _file(filename, content)
        out.append(Case(name, maker, INIT + tuple(extra), expect, group, accepted, upload))
    return out


def _leaky(kind: str) -> pd.DataFrame:
    """The base table with one column of each way of giving the target away."""
    df = base()
    y = (df["y"] == "yes").to_numpy()
    if kind == "auc":
        df["score"] = np.where(y, 10.0, 0.0) + np.arange(len(df)) / 1000
    elif kind == "value":  # 'closed' only ever for 'no' rows, half the table
        df["status"] = np.where(y, "open", np.where(np.arange(len(df)) % 3 == 0, "open", "closed"))
    elif kind == "missing":
        df["refund"] = np.where(y, 1.0, np.nan) * np.arange(len(df))
    else:  # purity: each code is (almost) one class
        df["code"] = np.where(y, "A", "B")
    return df


def _comma(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False, sep=";", decimal=",").encode()


def _n_rows(n: int) -> pd.DataFrame:
    return base().head(n)


def _wide() -> bytes:
    rng = np.random.default_rng(2)
    n = 60
    frame = pd.DataFrame(rng.normal(size=(n, 5000)).round(2), columns=[f"c{i}" for i in range(5000)])
    frame.insert(0, "y", np.where(np.arange(n) % 2 == 0, "yes", "no"))
    return csv(frame)


# fmt: off
FILE_FORMAT = _group(
    "file format",
    [
        ("empty file", "empty.csv", lambda: b"", (), "empty.csv is empty (0 bytes)", False, True),
        ("only whitespace", "blank.csv", lambda: b"\n \n\t\n", (), "blank.csv is empty", False, True),
        ("header only", "header.csv", lambda: b"y,x1,cat\n", (), "header.csv has a header but no data rows", False, True),
        ("missing file", None, _missing, (), "no_such_file.csv' does not exist", False, False),
        ("a folder", None, _folder, (), "is a folder; give a CSV or Parquet file", False, False),
        ("random bytes with NUL", "noise.csv", lambda: _random(True), (), "noise.csv looks binary, not CSV text", False, True),
        ("random bytes without NUL", "noise2.csv", lambda: _random(False), (), "noise2.csv looks binary, not CSV text", False, True),
        ("pickle named .csv", "table.csv", lambda: pickle.dumps(base()), (), "pickled files are never opened", False, True),
        ("pickle by suffix", "table.pkl", lambda: b"y,x\n1,2\n", (), "pickled files are never opened", False, False),
        ("corrupt parquet", "broken.parquet", lambda: b"PAR1" + _random(True), (), "broken.parquet as Parquet", False, True),
        ("truncated parquet", "cut.parquet", lambda: parquet(base())[:300], (), "cut.parquet as Parquet", False, True),
        ("parquet named .csv", "really.csv", lambda: parquet(base()), (), "really.csv is Parquet, not CSV text; read it as Parquet", True, True),
        ("csv named .parquet", "really.parquet", lambda: csv(base()), (), "really.parquet is CSV text, not Parquet; read it as CSV", True, True),
        ("gzip csv", "data.csv.gz", lambda: gzip.compress(csv(base())), (), "is compressed (gzip): decompress it", False, True),
        ("zip csv", "data.zip", lambda: _zip_csv(), (), "is a zip archive: extract the CSV", False, True),
        ("excel workbook", "book.xlsx", _xlsx, (), "is an Excel workbook, not CSV: save the sheet as CSV", False, True),
        ("old excel", "book.xls", lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), (), "is an Excel workbook", False, True),
        ("json file", "data.json", lambda: base().to_json(orient="records").encode(), (), "is JSON, not a table", False, True),
        ("json lines", "data.jsonl", lambda: base().to_json(orient="records", lines=True).encode(), (), "is JSON, not a table", False, True),
        ("ragged rows", "ragged.csv", lambda: csv(base()) + b"yes,1,2,red,F,3,4,2024-01-01,extra,more\n", (), "ragged.csv as CSV: Error tokenizing data. C error: Expected 8 fields in line 202, saw 10", False, True),
        ("more fields than header", "wider.csv", lambda: csv(base()).replace(b"\n", b",9\n").replace(b",when,9\n", b",when\n"), (), "the header and the rows have different numbers of fields", True, False),
    ],
)
# fmt: on


def _zip_csv() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("data.csv", csv(base()))
    return buf.getvalue()


# fmt: off
ENCODING = _group(
    "encoding",
    [
        ("CR-only line endings", "mac.csv", lambda: csv(base()).replace(b"\n", b"\r"), (), "wrote", True, True),
        ("CRLF line endings", "win.csv", lambda: csv(base()).replace(b"\n", b"\r\n"), (), "wrote", True, False),
        ("UTF-16 with BOM", "u16.csv", lambda: csv(base()).decode().encode("utf-16"), (), "u16.csv is UTF-16 text; read it as UTF-16", True, True),
        ("UTF-16 LE without BOM", "u16le.csv", lambda: csv(base()).decode().encode("utf-16-le"), (), "u16le.csv is UTF-16 text", True, False),
        ("Latin-1", "latin.csv", lambda: csv(with_column("cat", ["café", "Müller", "Ærø", "naïve"] * 50)).decode().encode("latin-1"), (), "latin.csv is not UTF-8; read it as Latin-1", True, True),
        ("UTF-8 with BOM", "bom.csv", lambda: b"\xef\xbb\xbf" + csv(base()), (), "wrote", True, True),
        ("NUL inside UTF-8 text", "nul.csv", lambda: csv(base()).replace(b"red", b"r\x00d", 1), (), "wrote", True, False),
        ("semicolon separated", "semi.csv", lambda: csv(base(), sep=";"), (), "wrote", True, False),
        ("tab separated", "tabs.tsv", lambda: csv(base(), sep="\t"), (), "wrote", True, False),
        ("space separated", "spaces.csv", lambda: csv(base(), sep=" "), (), "The table has a single column, so its fields are probably separated by something other than", False, False),
        ("decimal comma", "eu.csv", lambda: _comma(base()), (), "decimal comma", True, False),
        ("both decimal marks", "mixed.csv", lambda: _comma(base()).replace(b"\n", b";1,234.56\n").replace(b";when;1,234.56\n", b";when;p\n"), (), "with a decimal comma", False, False),
    ],
)
# fmt: on

# fmt: off
SHAPE = _group(
    "shape",
    [
        ("one row", "one.csv", lambda: csv(_n_rows(1)), (), "Only 1 row(s) with a target value", False, True),
        ("too few rows", "few.csv", lambda: csv(_n_rows(30)), (), "Only 30 row(s) with a target value", False, False),
        ("header-less file", "nohead.csv", lambda: csv(base(), header=False), (), "Its first row looks like data: if the file has no header row, add one", False, False),
        ("target column only", "only_y.csv", lambda: csv(base()[["y"]]), (), "No usable feature columns are left", False, False),
        ("duplicate column names", "dup.csv", lambda: csv(base()).replace(b",x2,", b",x1,", 1), (), "Duplicate column name 'x1'", True, True),
        ("5,000 columns", "wide.csv", _wide, (), "5000 numeric", True, False),
        ("very long column name", "long.csv", lambda: csv(base().rename(columns={"x1": "x" * 2000})), (), "wrote", True, False),
        ("unicode column names", "uni.csv", lambda: csv(base().rename(columns={"x1": "收入 💶", "cat": "فئة"})), (), "wrote", True, True),
        ("numeric header cells", "years.csv", lambda: csv(base().rename(columns={"x1": "2019", "x2": "2020"})), (), "wrote", True, False),
        ("formula-looking cells", "formula.csv", lambda: csv(with_column("link", ['=HYPERLINK("http://evil.example","Click")', "@SUM(A1)", "+cmd|' /C calc'!A0", "plain"] * 50)), (), "look like spreadsheet formulas", True, True),
    ],
)
# fmt: on

# fmt: off
TARGET = _group(
    "target",
    [
        ("target missing", "t.csv", lambda: csv(base()), ("--target", "label"), "The target column 'label' is not in the table", False, False),
        ("target one class", "t.csv", lambda: csv(with_column("y", ["yes"] * N_ROWS)), (), "has only one class ('yes')", False, False),
        ("target three classes", "t.csv", lambda: csv(with_column("y", ["a", "b", "c", "a"] * 50)), (), "has 3 classes", False, False),
        ("target all NaN", "t.csv", lambda: csv(with_column("y", [np.nan] * N_ROWS)), (), "has no values (all 200 are missing)", False, False),
        ("target continuous", "t.csv", lambda: csv(with_column("y", np.linspace(0, 1, N_ROWS))), (), "has 200 classes", False, False),
        ("inf in the target", "t.csv", lambda: csv(with_column("y", [0.0, 1.0, np.inf, 1.0] * 50)), (), "has 50 infinite value(s)", False, False),
        ("target rare class", "t.csv", lambda: csv(with_column("y", ["yes"] * 5 + ["no"] * 195)), (), "has only 5 row(s) of class 'yes'", False, False),
        ("positive label not a value", "t.csv", lambda: csv(base()), ("--positive", "maybe"), "positive_label 'maybe' is not a value", False, False),
        ("target spelled two ways", "t.csv", lambda: csv(with_column("y", [">50K", ">50K.", "<=50K", "<=50K."] * 50)), (), "merged labels", True, False),
        ("boolean target", "t.csv", lambda: csv(with_column("y", [True, False] * 100)), (), "Positive class of 'y': 'True'", True, False),
        ("some targets missing", "t.csv", lambda: csv(with_column("y", ["yes", "no", None, "no"] * 50)), (), "Dropped 50 row(s) whose target 'y' is missing", True, False),
    ],
)
# fmt: on

# fmt: off
COLUMNS = _group(
    "columns",
    [
        ("all-NaN column", "c.csv", lambda: csv(with_column("empty", [np.nan] * N_ROWS)), (), "Dropped column 'empty': all values are missing", True, False),
        ("constant column", "c.csv", lambda: csv(with_column("const", [7] * N_ROWS)), (), "Dropped column 'const': constant (one value)", True, False),
        ("inf in a feature", "c.csv", lambda: csv(with_column("x1", [1.0, np.inf, -np.inf, 2.0] * 50)), (), "Column 'x1' has 100 infinite value(s)", False, True),
        ("inf written as text", "c.csv", lambda: csv(with_column("ratio", ["1,5", "inf", "2", "3"] * 50)), (), "Column 'ratio' has 50 infinite value(s)", False, False),
        ("identifier column", "c.csv", lambda: csv(with_column("row_id", np.arange(N_ROWS))), (), "'row_id': identifier", True, False),
        ("excluded column missing", "c.csv", lambda: csv(base()), ("--exclude", "nope"), "The excluded column 'nope' is not in the table", False, False),
        ("copy of a feature", "c.csv", lambda: csv(with_column("x1_copy", base()["x1"])), (), "an exact copy of column 'x1'", True, False),
        ("placeholders", "c.csv", lambda: csv(with_column("cat", ["red", "?", "blue", "n/a"] * 50)), (), "cells written as '?' read as missing", True, False),
        ("thousands separators", "c.csv", lambda: csv(with_column("income", ["1,200", "7,000", "12,500", "950"] * 50)), (), "numbers stored as text", True, False),
        ("leak: separates the classes", "c.csv", lambda: csv(_leaky("auc")), (), "'score': suspected target leak", True, False),
        ("leak: one value means one class", "c.csv", lambda: csv(_leaky("value")), (), "'status': suspected target leak", True, False),
        ("leak: missing means one class", "c.csv", lambda: csv(_leaky("missing")), (), "'refund': suspected target leak", True, False),
        ("leak: codes map to classes", "c.csv", lambda: csv(_leaky("purity")), (), "'code': suspected target leak", True, False),
    ],
)
# fmt: on

# fmt: off
VALUES = _group(
    "values",
    [
        ("sensitive column missing", "v.csv", lambda: csv(base()), ("--sensitive", "race"), "The sensitive column 'race' is not in the table", False, False),
        ("sensitive one group", "v.csv", lambda: csv(with_column("g", ["F"] * N_ROWS)), ("--sensitive", "g"), "has a single group ('F')", False, False),
        ("tiny sensitive groups", "v.csv", lambda: csv(with_column("g", ["F"] * 190 + ["X"] * 10)), ("--sensitive", "g"), "Sensitive group(s) with fewer than 30 rows: 'X' (10 rows)", False, False),
        ("sensitive ID-like", "v.csv", lambda: csv(with_column("g", [f"u{i}" for i in range(N_ROWS)])), ("--sensitive", "g"), "has 200 groups; at most 50", False, False),
        ("value column with text", "v.csv", lambda: csv(with_column("fee", ["12.5", "high", "3", "4"] * 50)), ("--value", "fee"), "The value column 'fee' must be numeric", False, False),
        ("value column missing", "v.csv", lambda: csv(base()), ("--value", "price"), "The value column 'price' is not in the table", False, False),
        ("value column all NaN", "v.csv", lambda: csv(with_column("fee", [np.nan] * N_ROWS)), ("--value", "fee"), "The value column 'fee' has no values", False, False),
        ("inf in the value column", "v.csv", lambda: csv(with_column("fee", [1.0, np.inf, 2.0, 3.0] * 50)), ("--value", "fee"), "The value column 'fee' has 50 infinite value(s)", False, False),
        ("entity column missing", "v.csv", lambda: csv(base()), ("--entity", "person"), "The entity column 'person' is not in the table", False, False),
        ("entity with few values", "v.csv", lambda: csv(with_column("pid", [1, 2, 3, 4] * 50)), ("--entity", "pid"), "has only 4 distinct value(s)", False, False),
        ("time column missing", "v.csv", lambda: csv(base()), ("--time-column", "date"), "The time column 'date' is not in the table", False, False),
        ("time column unparsable", "v.csv", lambda: csv(with_column("when", ["soon", "later", "yesterday", "2024-01-01"] * 50)), ("--time-column", "when"), "The time column 'when' has 150 value(s) that are not dates or numbers", False, False),
        ("time column one moment", "v.csv", lambda: csv(with_column("when", ["2024-01-01"] * N_ROWS)), ("--time-column", "when"), "has a single point in time", False, False),
    ],
)
# fmt: on

CASES: list[Case] = [*FILE_FORMAT, *ENCODING, *SHAPE, *TARGET, *COLUMNS, *VALUES]
