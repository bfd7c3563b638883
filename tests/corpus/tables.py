"""The clean table every corpus case starts from, and the writers that turn a frame into bytes.

Why one base table: each case changes one thing about a table that is otherwise accepted, so the
message a case expects can only come from that one thing.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

N_ROWS = 200


def base(n: int = N_ROWS, seed: int = 0) -> pd.DataFrame:
    """A table ``init`` accepts: target ``y`` (yes/no), features, sensitive ``g``, value ``fee``,
    entity ``pid`` (10 rows each) and time ``when``; no column gives the target away."""
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.4
    return pd.DataFrame(
        {
            "y": np.where(y, "yes", "no"),
            "x1": np.round(rng.normal(size=n) + 0.8 * y, 3),
            "x2": rng.integers(0, 50, n),
            "cat": rng.choice(["red", "green", "blue"], n),
            "g": rng.choice(["F", "M"], n),
            "fee": np.round(rng.uniform(5, 50, n), 2),
            "pid": np.repeat(np.arange(n // 10), 10)[:n],
            "when": pd.date_range("2024-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
        }
    )


def csv(df: pd.DataFrame, **options) -> bytes:
    return df.to_csv(index=False, **options).encode()


def parquet(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


def with_column(name: str, values, df: pd.DataFrame | None = None) -> pd.DataFrame:
    """The base table with column ``name`` set to ``values`` (added, or replaced)."""
    out = base() if df is None else df.copy()
    out[name] = values
    return out
