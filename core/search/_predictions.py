"""What a finished trial keeps of its predictions and of its operating points, compactly, in user
attributes: its curve (``tradeoff.curve``) and, for in-memory studies and trials stored before the
artifacts table (:mod:`core.search.artifacts`, where a database-backed search now keeps them as raw
bytes), its out-of-fold and test probabilities (``tradeoff.predictions``), so rules can be
re-derived when the room changes its mind without re-fitting.

Why 16-bit quantised probabilities: a step of 1/65,535 is far below any threshold a room would
tell apart, and it halves float32's bytes (base64 adds a third). The fast trials reader does not
fetch these attributes, so the front of a 10,000-trial study does not read them.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import numpy as np

ATTR_CURVE = "tradeoff.curve"
ATTR_PREDICTIONS = "tradeoff.predictions"
ENCODING = "uint16-base64"
_SCALE = 65535.0


def encode_scores(proba: np.ndarray) -> str:
    """Probabilities in [0, 1] as base64 of little-endian uint16 (rounded to the nearest step)."""
    q = np.round(np.clip(np.asarray(proba, dtype=float), 0.0, 1.0) * _SCALE).astype("<u2")
    return base64.b64encode(q.tobytes()).decode("ascii")


def decode_scores(text: str) -> np.ndarray:
    """The probabilities :func:`encode_scores` wrote (to within 1/65,535)."""
    return np.frombuffer(base64.b64decode(text), dtype="<u2").astype(float) / _SCALE


def predictions_attr(oof: np.ndarray, test: np.ndarray) -> dict[str, Any]:
    """The ``tradeoff.predictions`` value: encoding, row counts and both encoded score vectors."""
    return {
        "encoding": ENCODING,
        "n_oof": len(oof),
        "n_test": len(test),
        "oof": encode_scores(oof),
        "test": encode_scores(test),
    }


def read_predictions(user_attrs: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray] | None:
    """(out-of-fold, test) probabilities of a trial, or None for a trial stored without them."""
    raw = user_attrs.get(ATTR_PREDICTIONS)
    if not isinstance(raw, dict) or raw.get("encoding") != ENCODING:
        return None
    return decode_scores(raw["oof"]), decode_scores(raw["test"])


def read_curve(user_attrs: Mapping[str, Any]) -> dict[str, Any] | None:
    """A trial's stored curve of operating points, or None (a trial from before curves existed)."""
    raw = user_attrs.get(ATTR_CURVE)
    return raw if isinstance(raw, dict) and raw.get("threshold") else None
