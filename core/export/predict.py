"""Score a new table with a bundle: the columns checked, converted as in training, decided by the model.

Why no threshold here: the bundled classifier carries its decision rule, so ``predict`` is the
model's own ``predict``; and numbers written as text are read by :func:`core.data.numbers_from_text`,
the reader training used, so serving cannot drift from training.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.data import numbers_from_text, read_table
from core.errors import UserInputError
from core.export import safety
from core.export.bundle import Bundle, open_bundle


@dataclass
class PredictResult:
    frame: pd.DataFrame
    path: Path | None
    n_rows: int
    passthrough: list[str]


def _finite(x: pd.Series, col: str) -> pd.Series:
    """Infinity is refused with its column and rows: no model was trained on it, and scikit-learn
    would stop with a bare ValueError that names neither."""
    inf = np.isinf(x.to_numpy(dtype=float))
    if inf.any():
        rows = [str(i + 1) for i in np.flatnonzero(inf)[:5]]
        raise UserInputError(
            f"Column {col!r} has {int(inf.sum())} infinite value(s), in row(s) {', '.join(rows)}; "
            "replace them with a number or leave them empty (missing).",
            field="data",
        )
    return x


def _numeric(s: pd.Series, col: str, decimal: str = ".") -> pd.Series:
    """A numeric feature as floats; a value that is not a number is refused with its row numbers."""
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
        return _finite(s.astype(float), col)
    conv = numbers_from_text(s, decimal=decimal)
    written = s.notna() & (s.astype(str).str.strip() != "")
    bad = conv.isna() & written
    if bad.any():
        rows = [str(i + 1) for i in np.flatnonzero(bad.to_numpy())[:5]]
        raise UserInputError(
            f"Column {col!r} must be numeric (the model was trained on numbers); {int(bad.sum())} row(s) "
            f"hold text, e.g. {str(s[bad].iloc[0])!r} in row(s) {', '.join(rows)}.",
            field="data",
        )
    return _finite(conv, col)


def coerce_features(
    df: pd.DataFrame, numeric: list[str], categorical: list[str], *, decimal: str = "."
) -> pd.DataFrame:
    """The feature columns converted the way :func:`core.data.prepare` converted them for training.

    Numbers written as text (with thousands separators, or decimal commas when the training table
    used them: ``decimal``) become floats; categories become stripped
    strings with missing values kept missing. A value that is not a number in a numeric column is
    refused with its column and first row numbers (1 = first data row).
    """
    X = pd.DataFrame(index=df.index)
    for c in numeric:
        X[c] = _numeric(df[c], c, decimal)
    for c in categorical:
        s = df[c].astype(object)
        X[c] = s.where(s.notna(), np.nan).map(lambda v: v if (isinstance(v, float) and v != v) else str(v).strip())
    return X


def check_schema(df: pd.DataFrame, b: Bundle, *, ignore_extra: bool = False) -> None:
    """Refuse a table without the model's feature columns, or with columns the study never saw."""
    cols = [str(c) for c in df.columns]
    missing = [c for c in b.features if c not in cols]
    known = set(b.config.data.columns or b.features)
    extra = [c for c in cols if c not in known]
    problems = []
    if missing:
        problems.append(f"missing column(s) {', '.join(map(repr, missing))}")
    if extra and not ignore_extra:
        problems.append(f"extra column(s) {', '.join(map(repr, extra))} that the study's data did not have")
    if problems:
        raise UserInputError(
            "The table does not have the schema the model was trained on: "
            + "; ".join(problems)
            + f". Expected features: {', '.join(b.features)}"
            + (" (drop the extra columns or pass --ignore-extra)." if extra and not ignore_extra else "."),
            field="data",
        )


def predict(
    source: str | Path | bytes | Bundle,
    data: str | Path | bytes,
    out: str | Path | None = None,
    *,
    ignore_extra: bool = False,
    name: str | None = None,
) -> PredictResult:
    """Score a table with the bundled model; write a formula-injection-safe CSV when ``out`` is given.

    Output columns: the study's identifier columns present in the input (to join results back),
    ``row`` (1 = first data row), ``probability`` (of the positive class), ``prediction`` (the
    model's decision: 1 at or above the bundle's threshold) and ``predicted_label`` (that decision as
    the class name; named so nobody mistakes it for the true label).
    """
    b = source if isinstance(source, Bundle) else open_bundle(source)
    df, _notes = read_table(data if isinstance(data, bytes) else str(data), name=name)
    check_schema(df, b, ignore_extra=ignore_extra)
    X = coerce_features(df, b.numeric, b.categorical, decimal=b.config.data.decimal)[b.features]
    model = b.model()
    if b.config.rule_kind == "group_thresholds":  # the rule reads the sensitive column(s) too
        from core.export.rules import group_values

        cols = list(b.config.rule.get("columns") or [b.config.rule["column"]])
        group_values(df, cols)  # a table without them: the error names the column
        X = X.assign(**{c: df[c].to_numpy() for c in cols if c not in X.columns})
    pred = np.asarray(model.predict(X)).astype(int)
    ids = [c for c in b.config.data.identifiers if c in df.columns]
    outf = df[ids].copy().reset_index(drop=True)
    outf["row"] = np.arange(1, len(df) + 1)
    outf["probability"] = model.predict_proba(X)[:, 1]
    outf["prediction"] = pred
    outf["predicted_label"] = np.where(pred == 1, b.config.data.positive_label, b.config.data.negative_label)
    path = None
    if out is not None:
        path = Path(out)
        if not path.parent.exists():
            raise UserInputError(f"The folder {str(path.parent)!r} does not exist.", field="output")
        path.write_text(safety.to_safe_csv(outf), encoding="utf-8")
    return PredictResult(frame=outf, path=path, n_rows=len(outf), passthrough=ids)


__all__ = ["PredictResult", "check_schema", "coerce_features", "predict"]
