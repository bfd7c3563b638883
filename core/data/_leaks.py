"""Features that give the target away: usually recorded after the outcome they are meant to predict.

Why drop them by default: a leak makes every candidate look perfect in the search and useless in
production; the user can keep them when they know better. The rules are strict on purpose (an
honest strong feature, like the demo's, is never caught): a column is suspected when it alone
separates the classes, when one of its values always means one class, or when whether it is
missing does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.metrics.quality import ranking_metrics
from core.spec import DataRef

AUC_LEAK = 0.99  # single-column ROC AUC at or above which a column is a suspected leak
PURITY_LEAK = 0.995  # share of rows in one class, over every value of a categorical column
VALUE_SHARE = 0.25  # a value that always means one class must cover this share of the rows …
VALUE_ERRORS = 0.005  # … with at most this share of rows of the other class (and 1/10 of its base rate)
MISSING_MOST, MISSING_FEW = 0.5, 0.05  # missing (or present) for ≥ 50 % of one class, ≤ 5 % of the other
KEEP = "to keep it, tick 'Keep columns that look like target leaks' on the Data page, or pass --keep-suspected-leaks"
_MISSING = "__missing__"


def suspected_leaks(
    X: pd.DataFrame,
    y: np.ndarray,
    numeric: list[str],
    categorical: list[str],
    *,
    labels: tuple[str, str] = ("0", "1"),
) -> dict[str, str]:
    """Columns that give the target away, each with its evidence in words.

    ``labels`` name class 0 and class 1 in the evidence. Checked in order, the first that holds
    is the evidence: a numeric column's ROC AUC (alone, or with missing values ranked first or
    last) ≥ :data:`AUC_LEAK`; a categorical column whose values are each ≥ 99.5 % one class; a
    value (missing included) that always means one class and covers a quarter of the rows; and
    missingness that alone tells the classes apart.
    """
    leaks = {}
    for col in [*numeric, *categorical]:
        v = X[col]
        why = _auc_evidence(v, y) if col in numeric else _purity_evidence(v, y)
        why = why or _value_evidence(v, y, labels) or _missing_evidence(v, y, labels)
        if why:
            leaks[col] = why
    return leaks


def _auc_evidence(v: pd.Series, y: np.ndarray) -> str | None:
    """ROC AUC of the column alone (missing = median), or with missing values as its lowest/highest."""
    filled = [("alone", v.fillna(v.median()))]
    if v.isna().any() and v.notna().any():
        lo, hi = float(v.min()), float(v.max())
        filled += [("with its missing values", v.fillna(lo - 1)), ("with its missing values", v.fillna(hi + 1))]
    best, how = 0.5, ""
    for label, values in filled:
        if values.isna().any():
            continue
        auc = _auc(y, values.to_numpy(dtype=float))
        if max(auc, 1 - auc) > best:
            best, how = max(auc, 1 - auc), label
    if best >= AUC_LEAK:
        return f"{how} it separates the classes (ROC AUC {best:.3f})"
    return None


def _auc(y: np.ndarray, values: np.ndarray) -> float:
    """ROC AUC of one column: the metrics' own kernel (scikit-learn's validation would cost more than
    the sum itself, 5,000 times over on a wide table)."""
    auc, _ = ranking_metrics(np.ones((1, len(y))), y, values)
    return float(auc[0])


def _purity_evidence(v: pd.Series, y: np.ndarray) -> str | None:
    """Every value of a categorical column (missing included) is almost all one class."""
    c = v.astype(object).where(v.notna(), _MISSING)
    if c.nunique() > len(c) / 10:
        return None
    rates = pd.Series(y).groupby(c.to_numpy()).mean()
    sizes = c.value_counts()
    purity = sum(sizes[k] * max(r, 1 - r) for k, r in rates.items()) / len(c)
    if purity >= PURITY_LEAK:
        return f"each of its values maps to one class ({purity:.1%} of rows)"
    return None


def _value_evidence(v: pd.Series, y: np.ndarray, labels: tuple[str, str]) -> str | None:
    """A value covering a quarter of the rows that (almost) always means one class.

    Why relative to the base rate too: in a table with 1 % positives, a value with 0.3 % positives
    is ordinary; a post-outcome column (``is_recid = 0`` ⇒ not recidivated) has none at all.
    """
    counts = v.value_counts(dropna=False)
    base = float(np.mean(y))
    for value, n in counts[counts >= VALUE_SHARE * len(v)].items():
        missing = pd.isna(value)
        rows = y[(v.isna() if missing else v == value).to_numpy()]
        cls = int(rows.mean() >= 0.5)
        errors = int((rows != cls).sum())
        other_rate = 1 - base if cls == 1 else base
        if errors / n <= min(VALUE_ERRORS, 0.1 * other_rate):
            what = "when it is missing" if missing else f"the value {_shown(value)}"
            how = "always" if errors == 0 else f"in {1 - errors / n:.1%} of its rows"
            return f"{what} {how} means {labels[cls]!r} ({n:,} rows, {n / len(v):.0%} of all rows)"
    return None


def _shown(value: object) -> str:
    """A value as the table writes it: ``0`` rather than ``0.0`` for a whole number."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, str) else str(value)


def _missing_evidence(v: pd.Series, y: np.ndarray, labels: tuple[str, str]) -> str | None:
    """Whether the column is missing alone tells the classes apart (most of one class, few of the other)."""
    missing = v.isna().to_numpy()
    if not missing.any() or missing.all():
        return None
    present = ~missing
    rate = {k: float(present[y == k].mean()) for k in (0, 1)}
    for share in (rate, {k: 1 - r for k, r in rate.items()}):
        if max(share.values()) >= MISSING_MOST and min(share.values()) <= MISSING_FEW:
            return (
                f"whether it is missing alone separates the classes: present for {rate[1]:.0%} of "
                f"{labels[1]!r} rows and {rate[0]:.0%} of {labels[0]!r} rows"
            )
    return None


def drop_suspected_leaks(
    X: pd.DataFrame,
    y: np.ndarray,
    features: tuple[list[str], list[str]],
    ref: DataRef,
    dropped: dict[str, str],
    notes: list[str],
    *,
    labels: tuple[str, str] = ("0", "1"),
) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Drop each suspected leak into ``dropped``, or keep it with a note when the spec says so."""
    numeric, categorical = features
    for col, why in suspected_leaks(X, y, numeric, categorical, labels=labels).items():
        if ref.keep_suspected_leaks:
            notes.append(
                f"Column {col!r} looks like it leaks the target ({why}); kept because keep_suspected_leaks is on."
            )
        else:
            dropped[col] = f"suspected target leak: {why} ({KEEP})"
            X = X.drop(columns=col)
            numeric = [c for c in numeric if c != col]
            categorical = [c for c in categorical if c != col]
    return X, numeric, categorical
