"""Plain JSON values from what our code produces (dataclasses, numpy scalars and arrays, NaN).

Why one helper: JSON has no NaN or inf, and numpy scalars are not JSON; every file we write (bundle
config, CLI ``--json``, comparison reports) must turn them into the same plain values.
"""

from __future__ import annotations

import math
from dataclasses import fields, is_dataclass
from typing import Any

import numpy as np


def jsonable(x: Any) -> Any:
    """Dataclasses, numpy scalars/arrays and NaN/inf made JSON-safe (NaN and inf become None)."""
    if is_dataclass(x) and not isinstance(x, type):
        return {f.name: jsonable(getattr(x, f.name)) for f in fields(x)}
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return [jsonable(v) for v in x.tolist()]
    if isinstance(x, (np.bool_, bool)):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, (float, np.floating)):
        v = float(x)
        return v if math.isfinite(v) else None
    return x
