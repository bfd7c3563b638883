"""The content hash that ties a study, a room and a bundle to the exact table they were made on."""

from __future__ import annotations

import hashlib

import pandas as pd


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
