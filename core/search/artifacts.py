"""What a trial keeps beyond Optuna's attributes, in our own table (``tradeoff_trial_artifacts``):
its out-of-fold and test probabilities (every finished trial) and the fitted model of each trial
that may reach the front, as skops bytes.

Why a table of our own for predictions: as a user attribute they cost ~53 kB of JSON per trial in
Optuna's attribute table, which every Optuna query over a study's trials drags along; here they are
raw 16-bit bytes (:mod:`core.search._predictions`), read only by who asks for one trial (Compare,
Export, re-derived operating points). Trials stored before this table keep them as the attribute,
and :func:`load_predictions` reads them there.

Why: Export used to fit the chosen trial again (13 s on the demo) to get a model the search had
already fitted. The search keeps the fitted pipeline of every trial it measured precisely (those
that may reach the front, :mod:`core.search._precise`), so the trials a room exports are almost
always stored. Models above :data:`MAX_MODEL_BYTES` are not kept (Export re-fits those), so a study
of large forests does not grow without bound. The bytes are written by the search and read back by
Export through :func:`core.export.safety.load_model`, which trusts only our families' types: a
database is not a place to run code from.
"""

from __future__ import annotations

import struct
from datetime import datetime, timezone
from typing import Any

import numpy as np
import sqlalchemy as sa

from core import storage as st
from core.catalog import MODEL_TYPES
from core.search._engine import engine
from core.storage.tables import artifacts_table

MODEL = "model"
PREDICTIONS = "predictions"
MAX_MODEL_BYTES = 50 * 1024**2
_PRED_MAGIC = b"TRP1"  # format tag: uint32 n_oof, uint32 n_test, then little-endian uint16 scores
_SCALE = 65535.0

#: Types outside skops' default trust that a fitted pipeline of our families contains: the one list
#: every reader of our skops bytes uses (:data:`core.catalog.MODEL_TYPES`). Never "trust
#: everything": a database row is not a place to run code from.
TRUSTED_TYPES: tuple[str, ...] = MODEL_TYPES


def _one(study_name: str, number: int, kind: str) -> Any:
    """The condition naming the artifact (study, trial, kind): the table's key."""
    t = artifacts_table
    return (t.c.study_name == study_name) & (t.c.trial_number == int(number)) & (t.c.kind == kind)


def save_artifact(url: str | None, study_name: str, number: int, kind: str, data: bytes) -> bool:
    """Keep ``data`` for (study, trial, kind), replacing an earlier copy (a retried trial writes
    again); False when it is too large to keep."""
    if len(data) > MAX_MODEL_BYTES:
        return False
    t, key = artifacts_table, _one(study_name, number, kind)
    row = {"study_name": study_name, "trial_number": int(number), "kind": kind, "data": data}

    def write() -> bool:
        with engine(url).begin() as con:
            con.execute(sa.delete(t).where(key))
            con.execute(sa.insert(t).values(**row, created_at=datetime.now(timezone.utc)))
        return True

    return st.retrying(write, what=f"storing trial {number}'s {kind}")


def load_artifact(url: str | None, study_name: str, number: int, kind: str) -> bytes | None:
    """The bytes kept for (study, trial, kind), or None."""
    query = sa.select(artifacts_table.c.data).where(_one(study_name, number, kind))
    with engine(url).connect() as con:
        value = con.execute(query).scalar()
    return None if value is None else bytes(value)


def save_model(url: str | None, study_name: str, number: int, pipeline: Any, packed: bytes | None = None) -> bool:
    """Keep a trial's fitted pipeline (see the module docstring), from its skops bytes ``packed``
    when the caller has them; False when it is too large."""
    from core.models.evaluate import skops_bytes

    return save_artifact(url, study_name, number, MODEL, packed if packed is not None else skops_bytes(pipeline))


def has_model(url: str | None, study_name: str, number: int) -> bool:
    """Whether the search kept trial ``number``'s fitted pipeline (without reading its bytes)."""
    query = sa.select(sa.func.count()).select_from(artifacts_table).where(_one(study_name, number, MODEL))
    with engine(url).connect() as con:
        return bool(con.execute(query).scalar())


def stored_model(url: str | None, study_name: str, number: int) -> bytes | None:
    """The skops bytes of a trial's fitted pipeline, or None (not kept: Export re-fits it)."""
    return load_artifact(url, study_name, number, MODEL)


def load_model(url: str | None, study_name: str, number: int) -> Any:
    """A trial's fitted pipeline as the search stored it, or None (not kept). Opened with skops,
    trusting exactly :data:`TRUSTED_TYPES`; a row holding any other type is refused, naming it."""
    import skops.io as sio

    from core.errors import UserInputError

    data = stored_model(url, study_name, number) if url is not None else None
    if data is None:
        return None
    unknown = sorted(set(sio.get_untrusted_types(data=data)) - set(TRUSTED_TYPES))
    if unknown:
        raise UserInputError(
            f"The stored model of trial #{number} holds types Tradeoff Room does not trust ({', '.join(unknown)}); "
            "it was not opened. Re-fit the trial instead (Compare: 'Re-fit both models'; Export re-fits it).",
            field="model",
        )
    return sio.loads(data, trusted=list(TRUSTED_TYPES))


def predictions_bytes(oof: np.ndarray, test: np.ndarray) -> bytes:
    """Both probability vectors as compact bytes (16-bit steps of 1/65,535, as the old attribute)."""

    def q(p: np.ndarray) -> bytes:
        return np.round(np.clip(np.asarray(p, dtype=float), 0.0, 1.0) * _SCALE).astype("<u2").tobytes()

    return _PRED_MAGIC + struct.pack("<II", len(oof), len(test)) + q(oof) + q(test)


def predictions_of(data: bytes) -> tuple[np.ndarray, np.ndarray] | None:
    """(out-of-fold, test) probabilities from :func:`predictions_bytes`, or None for bytes it did not write."""
    if not data.startswith(_PRED_MAGIC) or len(data) < 12:
        return None
    n_oof, n_test = struct.unpack("<II", data[4:12])
    scores = np.frombuffer(data, dtype="<u2", offset=12).astype(float) / _SCALE
    if len(scores) != n_oof + n_test:
        return None
    return scores[:n_oof], scores[n_oof:]


def save_predictions(url: str | None, study_name: str, number: int, oof: np.ndarray, test: np.ndarray) -> bool:
    """Keep a trial's out-of-fold and test probabilities (a retried trial replaces its row)."""
    return save_artifact(url, study_name, number, PREDICTIONS, predictions_bytes(oof, test))


def load_predictions(url: str | None, study_name: str, number: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Trial ``number``'s (out-of-fold, test) probabilities: from this table, else from the user
    attribute older trials stored them in; None for a trial stored without them."""
    from core.search import reader  # reader → _objective → here: imported when called

    if url is not None:
        try:
            data = load_artifact(url, study_name, number, PREDICTIONS)
        except sa.exc.SQLAlchemyError:
            data = None
        got = predictions_of(data) if data is not None else None
        if got is not None:
            return got
    return reader.attr_predictions(url, study_name, number)


def delete_artifacts(url: str | None, study_name: str) -> None:
    """Forget everything kept for a study (when the study itself is deleted)."""
    with engine(url).begin() as con:
        con.execute(sa.delete(artifacts_table).where(artifacts_table.c.study_name == study_name))


delete_study_artifacts = delete_artifacts


__all__ = [
    "MAX_MODEL_BYTES",
    "MODEL",
    "PREDICTIONS",
    "TRUSTED_TYPES",
    "delete_artifacts",
    "delete_study_artifacts",
    "load_artifact",
    "load_model",
    "load_predictions",
    "predictions_bytes",
    "predictions_of",
    "save_artifact",
    "save_model",
    "save_predictions",
    "stored_model",
]
