"""Load a table, check it, and turn it into what every candidate model is trained on.

Real tables are messy: string labels such as ``>50K``/``>50K.``, ID and date columns, duplicate
column names, columns that leak the target. Each is handled here once, and everything we did to the
table is written down in ``Dataset.notes`` so the room can see it; anything we cannot handle is a
:class:`UserInputError` that says what is wrong and how to fix it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from core.errors import UserInputError
from core.spec import DataRef, Validation

DEMO = "demo"
DEMO_PATH = Path(__file__).resolve().parents[2] / "data" / "ads.parquet"
DEMO_TARGET = "converted"
DEMO_SENSITIVE = ("age_band",)
DEMO_VALUE = "fee_eur"

NA_VALUES = ["", "?", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "-"]
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
MAX_SENSITIVE_GROUPS = 50
MIN_ROWS = 40
MIN_CLASS_ROWS = 10
MIN_ENTITIES = 10
DATE_DROPPED = (
    "date/time column (dates rarely generalise; derive features if needed; to test on the "
    "most recent rows, make it the time column: --time-column)"
)
_PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".npy", ".npz", ".sav", ".dill")
_ID_NAME = re.compile(r"(^|[_\W])(id|uuid|guid|key|index)$|^(id|uuid|guid)([_\W]|$)", re.I)


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
        )


# -- reading --------------------------------------------------------------------------------------


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
    if not isinstance(source, bytes):
        path = Path(source)
        if not path.exists():
            raise UserInputError(f"File {str(path)!r} does not exist.", field="data.path")
        if path.is_dir():
            raise UserInputError(f"{str(path)!r} is a folder; give a CSV or Parquet file.", field="data.path")
        raw = path.read_bytes()
    else:
        raw = source
    if len(raw) == 0:
        raise UserInputError(
            f"{label} is empty (0 bytes). Choose a file with a header row and data.", field="data.path"
        )
    is_parquet = raw[:4] == b"PAR1"
    if suffix in _PICKLE_SUFFIXES or _looks_pickled(raw):
        raise UserInputError(
            f"{label}: pickled files are never opened (they can run code). Export the table as CSV or Parquet.",
            field="data.path",
        )
    if suffix in (".parquet", ".pq") or is_parquet:
        df = _read_parquet(raw, label)
        df = _na_strings_to_missing(df)
    else:
        df = _read_csv(raw, label, notes)
    if df.shape[1] == 0:
        raise UserInputError(f"{label} has no columns. Is it a CSV with a header row?", field="data.path")
    df, dup_notes = _unique_columns(df)
    notes += dup_notes
    if len(df) == 0:
        raise UserInputError(f"{label} has a header but no data rows.", field="data.path")
    return df, notes


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


def _read_csv(raw: bytes, label: str, notes: list[str]) -> pd.DataFrame:
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
    try:
        dialect = csv.Sniffer().sniff(text[:20000], delimiters=",;\t|")
        sep = dialect.delimiter
    except csv.Error:
        sep = ","
    header = next(csv.reader(io.StringIO(text), delimiter=sep))
    header = [h.strip() for h in header]
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
    out, notes = [], []
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


# -- fingerprint ----------------------------------------------------------------------------------


def fingerprint(df: pd.DataFrame) -> str:
    """A content hash of the table as loaded: column names, order and every cell.

    Stable across runs and machines (pandas' row hashing is deterministic); dtype-sensitive on
    purpose, since "1" and 1 are different data.
    """
    h = hashlib.sha256()
    h.update("\x1f".join(map(str, df.columns)).encode())
    h.update(str(df.shape).encode())
    for col in df.columns:
        s = df[col]
        if s.dtype == object or str(s.dtype).startswith(("string", "str", "category")):
            s = s.astype(object).where(s.notna(), None).astype(str)
        h.update(pd.util.hash_pandas_object(s, index=False).to_numpy().tobytes())
    return "sha256:" + h.hexdigest()[:32]


# -- validation and preparation -------------------------------------------------------------------


def prepare(df: pd.DataFrame, ref: DataRef, *, notes: list[str] | None = None) -> Dataset:
    """Check the named columns and infer feature types; raise a fixable message for each problem."""
    notes = list(notes or [])
    cols = list(df.columns)
    fp = fingerprint(df)

    def missing(col: str, role: str, field_name: str) -> UserInputError:
        return UserInputError(
            f"The {role} column {col!r} is not in the table. Columns: {', '.join(map(str, cols))}.", field=field_name
        )

    if ref.target not in df.columns:
        raise missing(ref.target, "target", "data.target")
    for s in ref.sensitive:
        if s not in df.columns:
            raise missing(s, "sensitive", "data.sensitive")
    if ref.value_column is not None and ref.value_column not in df.columns:
        raise missing(ref.value_column, "value", "data.value_column")
    for e in ref.exclude:
        if e not in df.columns:
            raise missing(e, "excluded", "data.exclude")
    if ref.entity_column is not None and ref.entity_column not in df.columns:
        raise missing(ref.entity_column, "entity", "data.entity_column")
    if ref.time_column is not None and ref.time_column not in df.columns:
        raise missing(ref.time_column, "time", "data.time_column")

    # target ----------------------------------------------------------------------------------
    target = df[ref.target]
    n_missing = int(target.isna().sum())
    if n_missing == len(df):
        raise UserInputError(
            f"The target {ref.target!r} has no values (all {len(df)} are missing).", field="data.target"
        )
    if n_missing:
        notes.append(f"Dropped {n_missing} row(s) whose target {ref.target!r} is missing (NaN).")
        df = df.loc[target.notna()].reset_index(drop=True)
        target = df[ref.target]
    if len(df) < MIN_ROWS:
        raise UserInputError(
            f"Only {len(df)} row(s) with a target value are left"
            + (f" after dropping {n_missing} with a missing target" if n_missing else "")
            + f"; at least {MIN_ROWS} are needed to train, cross-validate and test a model.",
            field="data.target",
        )
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

    # sensitive groups ------------------------------------------------------------------------
    groups = _groups(df, ref, notes)

    # value column ----------------------------------------------------------------------------
    value = None
    if ref.value_column is not None:
        raw_v = df[ref.value_column]
        v = pd.to_numeric(raw_v, errors="coerce")
        bad = int((v.isna() & raw_v.notna()).sum())
        if bad:
            example = raw_v[v.isna() & raw_v.notna()].iloc[0]
            raise UserInputError(
                f"The value column {ref.value_column!r} must be numeric (money per conversion); "
                f"{bad} value(s) are not numbers, e.g. {example!r}.",
                field="data.value_column",
            )
        if v.isna().all():
            raise UserInputError(
                f"The value column {ref.value_column!r} has no values (all {len(v)} are missing). "
                "Choose another column or leave the value column empty.",
                field="data.value_column",
            )
        if v.isna().any():
            notes.append(f"{int(v.isna().sum())} missing value(s) in {ref.value_column!r} counted as 0.")
        value = v.fillna(0.0).to_numpy(dtype=float)

    # features --------------------------------------------------------------------------------
    reserved = {ref.target, *ref.exclude}
    if ref.value_column:
        reserved.add(ref.value_column)
    if not ref.sensitive_as_feature:
        reserved |= set(ref.sensitive)
    dropped: dict[str, str] = {e: "excluded by you" for e in ref.exclude}
    time = _time(df, ref, notes)
    if time is not None:
        reserved.add(ref.time_column)
    entity, entity_col = _entity(df, ref, reserved | set(ref.sensitive), notes)
    if entity_col is not None:
        reserved.add(entity_col)
    X = df[[c for c in df.columns if c not in reserved]].copy()
    numeric, categorical = [], []
    for col in list(X.columns):
        kind, reason, converted = _infer(X[col], col, len(X))
        if kind == "numeric" and reason:
            notes.append(f"Column {col!r}: {reason}.")
        if kind == "drop":
            dropped[col] = reason
            X = X.drop(columns=col)
            continue
        X[col] = converted
        (numeric if kind == "numeric" else categorical).append(col)
    leaks = _suspected_leaks(X, y, numeric, categorical)
    for col, why in leaks.items():
        if ref.keep_suspected_leaks:
            notes.append(
                f"Column {col!r} looks like it leaks the target ({why}); kept because keep_suspected_leaks is on."
            )
        else:
            dropped[col] = f"suspected target leak: {why} (set keep_suspected_leaks to keep it)"
            X = X.drop(columns=col)
            numeric = [c for c in numeric if c != col]
            categorical = [c for c in categorical if c != col]
    if X.shape[1] == 0:
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
    for col, why in dropped.items():
        if why != "excluded by you":
            notes.append(f"Dropped column {col!r}: {why}.")
    return Dataset(
        X=X.reset_index(drop=True),
        y=y,
        groups=groups,
        value=value,
        positive_label=str(positive),
        negative_label=str(negative),
        numeric=numeric,
        categorical=categorical,
        fingerprint=fp,
        notes=notes,
        dropped=dropped,
        entity=entity,
        entity_column=entity_col,
        time=time,
        time_column=ref.time_column if time is not None else None,
    )


def _time(df: pd.DataFrame, ref: DataRef, notes: list[str]) -> np.ndarray | None:
    """When each row happened, as sortable numbers (see ``DataRef.time_column``).

    Dates become seconds since 1970 (UTC); a numeric column (a year, a week number) is used as it
    is. A row without a time counts as the oldest, so it can only ever be trained on.
    """
    col = ref.time_column
    if col is None:
        return None
    raw = df[col]
    if pd.api.types.is_datetime64_any_dtype(raw):
        kind, values = "dates", _seconds(raw)
    elif pd.api.types.is_numeric_dtype(raw):
        kind, values = "numbers", raw.to_numpy(dtype=float, na_value=np.nan)
    else:
        text = raw.astype(str).str.strip().where(raw.notna())
        as_num = _numbers_in_text(text)
        if as_num.notna().sum() >= 0.95 * raw.notna().sum():
            kind, values = "numbers", as_num.to_numpy(dtype=float)
        else:
            kind, values = "dates", _seconds(pd.to_datetime(text, errors="coerce", utc=True, format="mixed"))
    unreadable = np.isnan(values) & raw.notna().to_numpy()
    if unreadable.sum() > 0.05 * len(raw):
        example = raw[unreadable].iloc[0]
        raise UserInputError(
            f"The time column {col!r} has {int(unreadable.sum())} value(s) that are not dates or numbers, "
            f"e.g. {example!r}. Choose a column of dates (2024-03-01) or of numbers such as a year.",
            field="data.time_column",
        )
    n_missing = int(np.isnan(values).sum())
    if n_missing == len(values) or np.nanmin(values) == np.nanmax(values):
        raise UserInputError(
            f"The time column {col!r} has a single point in time; a time split needs rows from different times.",
            field="data.time_column",
        )
    notes.append(
        f"Time split on {col!r} ({kind}): the test part is the most recent rows and the "
        "training part the rows before them, as when the model goes live; the column is not "
        "a feature." + (f" {n_missing} row(s) without a time count as the oldest." if n_missing else "")
    )
    return np.where(np.isnan(values), -np.inf, values)


def _seconds(ts: pd.Series) -> np.ndarray:
    ts = pd.to_datetime(ts, utc=True)
    return ((ts - pd.Timestamp("1970-01-01", tz="UTC")) / pd.Timedelta(seconds=1)).to_numpy(dtype=float)


_ENTITY_NAME = re.compile(
    r"(^|[_\W])(id|nr)$|[_\W]no$|^(id|nr)([_\W]|$)|^(person|patient|customer|client|user|subject|household|"
    r"member|account|student|pupil|firm|company|participant|respondent|individual|pid|uid)"
    r"([_\W]?(id|nr|no|number|key))?$",
    re.I,
)


def _entity_like(s: pd.Series, col: str) -> str | None:
    """Why ``s`` looks like the ID of an entity that has several rows (a panel), or None.

    Only a column *named* like an ID counts (``nr``, ``person_id``, ``customer``, ``account_no``;
    not a bare ``NO``, which in an air-quality table is nitric oxide): values that
    repeat are common in real features, so the name is the evidence that they mean "the same
    person". It must also repeat: on average at least two rows per value, most rows sharing their
    value with another row, and hardly any missing.
    """
    if not _ENTITY_NAME.search(str(col)) or s.isna().mean() > 0.05:
        return None
    values = s.dropna()
    if pd.api.types.is_float_dtype(values) and not np.all(np.mod(values.to_numpy(), 1) == 0):
        return None  # a measurement, not an ID
    counts = values.astype(str).value_counts()
    k = len(counts)
    if k < MIN_ENTITIES or k > len(values) / 2 or counts[counts >= 2].sum() < 0.8 * len(values):
        return None
    return f"{k} values, {len(values) / k:.1f} rows each on average"


def _entity(
    df: pd.DataFrame, ref: DataRef, reserved: set[str], notes: list[str]
) -> tuple[np.ndarray | None, str | None]:
    """The entity label of every row, and the column it came from (see ``DataRef.entity_column``)."""
    col, why = ref.entity_column, None
    if col is None and ref.detect_entity:
        found = [(c, w) for c in df.columns if c not in reserved and (w := _entity_like(df[c], c))]
        if not found:
            return None, None
        col, why = found[0]
    if col is None:
        return None, None
    raw = df[col]
    labels = raw.astype(str).to_numpy(dtype=object)
    for i in np.flatnonzero(raw.isna().to_numpy()):  # a row without an ID is an entity of its own
        labels[i] = f"(row {i} without an ID)"
    k = len(set(labels))
    if k < MIN_ENTITIES:
        raise UserInputError(
            f"The entity column {col!r} has only {k} distinct value(s); keeping each entity's rows "
            f"together needs at least {MIN_ENTITIES} entities to split into training, test and CV "
            "folds. Choose the column that identifies a person, customer or item, or none.",
            field="data.entity_column",
        )
    where = (
        f"Column {col!r} looks like the ID of an entity with several rows ({why})"
        if why
        else f"Rows are grouped by the entity column {col!r} ({k} entities)"
    )
    notes.append(
        where + ": each entity's rows stay together in the train/test split and in the CV "
        "folds, so scores are for entities the model has not seen, and the column is not a "
        "feature."
        + (
            " Name another entity column (--entity), or turn detection off (--no-entity-detection), if that is wrong."
            if why
            else ""
        )
    )
    return labels, col


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
            notes.append(f"Positive class of {name!r}: {c!r} (set positive_label to change).")
            return c
    counts = labels.value_counts()
    minority = str(counts.index[-1])
    notes.append(f"Positive class of {name!r}: {minority!r}, the rarer class (set positive_label to change).")
    return minority


def _groups(df: pd.DataFrame, ref: DataRef, notes: list[str]) -> pd.Series:
    if not ref.sensitive:
        return pd.Series(["all"] * len(df), name="group")
    parts = []
    for col in ref.sensitive:
        s = df[col]
        if pd.api.types.is_numeric_dtype(s) and s.nunique() > 10:
            s = pd.qcut(s, 4, duplicates="drop").astype(str)
            notes.append(f"Sensitive column {col!r} is numeric with many values; grouped into quartiles.")
        parts.append(s.astype(object).where(s.notna(), "missing").astype(str).str.strip())
    groups = parts[0] if len(parts) == 1 else pd.Series([" × ".join(t) for t in zip(*parts)], index=df.index)
    groups = groups.reset_index(drop=True).rename("group")
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


def _infer(s: pd.Series, col: str, n: int) -> tuple[str, str, pd.Series]:
    """Decide numeric / categorical / drop for one column, converting strings that hold numbers."""
    non_null = s.dropna()
    if non_null.empty:
        return "drop", "all values are missing", s
    if non_null.nunique() == 1:
        return "drop", "constant (one value)", s
    if pd.api.types.is_bool_dtype(s):
        return "numeric", "", s.astype(float)
    if pd.api.types.is_datetime64_any_dtype(s):
        return "drop", DATE_DROPPED, s
    if pd.api.types.is_numeric_dtype(s):
        unique_share = non_null.nunique() / max(len(non_null), 1)
        if (
            pd.api.types.is_integer_dtype(non_null)
            and unique_share > 0.99
            and n > 50
            and (_ID_NAME.search(col) or _is_sequence(non_null))
        ):
            return "drop", "identifier (one distinct value per row)", s
        return "numeric", "", s.astype(float)
    text = non_null.astype(str).str.strip()
    as_num = _numbers_in_text(text)
    if as_num.notna().mean() >= 0.95:
        converted = _numbers_in_text(s.astype(str).str.strip()).astype(float)
        lost = int((converted.isna() & s.notna()).sum())
        why = "numbers stored as text, converted to numbers" + (
            f" ({lost} value(s) that are not numbers treated as missing)" if lost else ""
        )
        return "numeric", why, converted
    if _looks_like_date(text):
        return "drop", DATE_DROPPED, s
    unique_share = text.nunique() / len(text)
    if unique_share > 0.9 and n > 50:
        return "drop", "identifier or free text (almost every value is different)", s
    if text.nunique() > max(200, n // 20):
        return "drop", f"too many categories ({text.nunique()}) to one-hot encode", s
    out = s.astype(object).where(s.notna(), np.nan)
    out = out.map(lambda v: v if v is np.nan or isinstance(v, float) and v != v else str(v).strip())
    return "categorical", "", out.astype(object)


def _numbers_in_text(text: pd.Series) -> pd.Series:
    """Numbers written as text ("7,000" included); what is not a number becomes missing."""
    return pd.to_numeric(text.str.replace(",", "", regex=False), errors="coerce")


def _is_sequence(s: pd.Series) -> bool:
    v = np.sort(s.to_numpy())
    return len(v) > 1 and bool(np.all(np.diff(v) > 0)) and (v[-1] - v[0]) < 3 * len(v)


def _looks_like_date(text: pd.Series) -> bool:
    sample = text.head(200)
    if not sample.str.contains(r"\d{1,4}[-/.:]\d{1,2}", regex=True).mean() > 0.9:
        return False
    parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return parsed.notna().mean() > 0.9


def _suspected_leaks(X: pd.DataFrame, y: np.ndarray, numeric: list[str], categorical: list[str]) -> dict[str, str]:
    """Columns that alone (almost) determine the target: usually recorded after the outcome.

    A numeric column whose single-feature ROC AUC is ≥ 0.995 (or ≤ 0.005), or a categorical one
    whose every category is ≥ 99.5 % one class, is far more likely a leak than a signal.
    """
    from sklearn.metrics import roc_auc_score

    leaks = {}
    for col in numeric:
        v = X[col]
        if v.isna().mean() > 0.5:
            continue
        auc = roc_auc_score(y, v.fillna(v.median()))
        if auc >= 0.995 or auc <= 0.005:
            leaks[col] = f"alone it separates the classes (ROC AUC {max(auc, 1 - auc):.3f})"
    for col in categorical:
        v = X[col].fillna("__missing__")
        if v.nunique() > len(v) / 10:
            continue
        rates = pd.Series(y).groupby(v.to_numpy()).mean()
        sizes = v.value_counts()
        purity = sum(sizes[k] * max(r, 1 - r) for k, r in rates.items()) / len(v)
        if purity >= 0.995:
            leaks[col] = f"each of its values maps to one class ({purity:.1%} of rows)"
    return leaks


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


# -- split and preprocessing ----------------------------------------------------------------------


def split(ds: Dataset, validation: Validation, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified train/test indices; the test part is never shown to the search.

    With an entity column the split is by entity (each person's rows all train or all test), and
    ``max_train_rows`` keeps whole entities. With a time column the test part is the most recent
    rows instead (the CV folds inside the training part stay grouped by entity when there is one).
    """
    if ds.time is not None:
        train, test = _time_split(ds, validation)
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


def _time_split(ds: Dataset, validation: Validation) -> tuple[np.ndarray, np.ndarray]:
    """The most recent ``test_size`` of rows (all rows of the cut's moment included) as the test
    part, the rows before as training; ``max_train_rows`` keeps the most recent training rows."""
    n = ds.n_rows
    order = np.argsort(ds.time, kind="stable")
    cut = ds.time[order[n - max(1, int(round(validation.test_size * n)))]]
    test, train = np.flatnonzero(ds.time >= cut), np.flatnonzero(ds.time < cut)
    if validation.max_train_rows and len(train) > validation.max_train_rows:
        train = train[np.argsort(ds.time[train], kind="stable")[-validation.max_train_rows :]]
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
        return tuple(train_test_split(idx, test_size=test_size, random_state=seed, stratify=ds.y[idx]))
    from sklearn.model_selection import StratifiedGroupKFold

    n_splits = max(2, int(round(1 / test_size)))
    folds = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    fit, held = next(folds.split(idx, ds.y[idx], groups=ds.entity[idx]))
    return idx[fit], idx[held]


def cv_folds(n_splits: int, seed: int, y: np.ndarray, entity: np.ndarray | None):
    """The CV folds of a training part: stratified, and grouped by entity when there is one."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

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
    keep, total = set(), 0
    for e in ids:
        if keep and total + sizes[e] > max_rows:
            continue
        keep.add(e)
        total += sizes[e]
    return rows[np.isin(entity[rows], list(keep))]


def build_preprocessor(numeric: list[str], categorical: list[str], *, scale: bool) -> ColumnTransformer:
    """Impute, one-hot and (for distance/linear families) scale: part of every candidate pipeline."""
    num_steps: list = [("impute", SimpleImputer(strategy="median"))]
    if scale:
        num_steps.append(("scale", StandardScaler()))
    cat = Pipeline(
        [
            ("impute", SimpleImputer(strategy="constant", fill_value="missing")),
            (
                "onehot",
                OneHotEncoder(
                    handle_unknown="infrequent_if_exist", min_frequency=5, max_categories=30, sparse_output=False
                ),
            ),
        ]
    )
    transformers = []
    if numeric:
        transformers.append(("num", Pipeline(num_steps), numeric))
    if categorical:
        transformers.append(("cat", cat, categorical))
    return ColumnTransformer(transformers, remainder="drop", sparse_threshold=0.0, verbose_feature_names_out=False)
