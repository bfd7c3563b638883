"""Feature columns that are exact copies of another column of the table.

Why drop them: a copy adds nothing a model can learn, doubles the column's weight in some models
and its share in the importances, and a copy of a role column (a sensitive attribute, the value,
an excluded column) would bring back as a feature what the spec kept out. Nothing is lost by
dropping a copy, so there is no switch to keep it.
"""

from __future__ import annotations

import pandas as pd


def drop_copies(df: pd.DataFrame, X: pd.DataFrame, roles: dict[str, str], dropped: dict[str, str]) -> pd.DataFrame:
    """``X`` without the feature columns that copy an earlier column of ``df`` or a role column.

    ``df`` is the table as read, ``roles`` names the columns that are not features (column → role,
    e.g. ``"sensitive"``); the target is left to the leak check, which says why a copy of it is a
    leak. Each copy goes into ``dropped`` naming the column it copies.
    """
    firsts: dict[int, list[str]] = {}
    role_first = [c for c in df.columns if c in roles] + [c for c in df.columns if c not in roles]
    for col in role_first:
        key = _key(df[col])
        if key is None or roles.get(col) == "target":
            continue
        original = next((o for o in firsts.get(key, []) if df[o].equals(df[col])), None)
        if original is None:
            firsts.setdefault(key, []).append(col)
        elif col in X.columns and col not in dropped:
            role = roles.get(original)
            dropped[col] = f"an exact copy of {'the ' + role + ' column' if role else 'column'} {original!r}"
            X = X.drop(columns=col)
    return X


def _key(s: pd.Series) -> int | None:
    """A hash of the column's cells and type: equal columns have equal keys (None: not hashable)."""
    try:
        cells = pd.util.hash_pandas_object(s, index=False).to_numpy()
    except TypeError:  # a Parquet column of lists
        return None
    return hash((cells.tobytes(), str(s.dtype)))
