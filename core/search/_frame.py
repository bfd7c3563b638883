"""A study's trials as one frame (one row per trial: identity, state, params, every stored metric,
``test.*`` and ``cv_std.*``, the spec's hard limits judged on both parts), built by one row rule that the
fast SQL reader and the public Optuna path share, so both give the same frame."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from optuna.trial import FrozenTrial

from core import objectives as obj
from core.search._first_fold import ATTR_STOPPED
from core.search._limits import with_limits
from core.spec import Spec

BASE_COLUMNS = [
    "number",
    "state",
    "family",
    "family_class",
    "threshold",
    "error",
    "datetime_start",
    "datetime_complete",
    "duration_s",
    "params",
    "retry_of",
    "latency_scope",
    "stopped",
    "feasible",
]
# the user and system attributes a row reads; the fast reader fetches only these
FRAME_ATTRS = (
    "family",
    "family_class",
    "threshold",
    "error",
    "metrics",
    "test_metrics",
    "cv_std",
    "tradeoff.latency",
    ATTR_STOPPED,
)
SYSTEM_ATTRS = ("failed_trial", "fail_reason")


def trial_row(
    number: int,
    state: str,
    user: Mapping[str, Any],
    system: Mapping[str, Any],
    params: dict[str, Any],
    start: datetime | None,
    end: datetime | None,
) -> dict[str, Any]:
    """One frame row from a trial's stored parts (a zero duration reads as unknown, like Optuna's)."""
    row: dict[str, Any] = {
        "number": number,
        "state": state,
        "family": user.get("family", params.get("family")),
        "family_class": user.get("family_class"),
        "threshold": user.get("threshold"),
        "error": user.get("error") or system.get("fail_reason"),
        "datetime_start": start,
        "datetime_complete": end,
        "duration_s": (end - start).total_seconds() if start and end and end != start else None,
        "params": params,
        "retry_of": system.get("failed_trial"),
        # which latency figure the trial stores; trials from before screening were all measured precisely
        "latency_scope": (user.get("tradeoff.latency") or {}).get("scope", "precise") if user.get("metrics") else None,
        # multi-fidelity (core.search._first_fold): why the trial stopped after its first fold
        "stopped": user.get(ATTR_STOPPED),
    }
    for k, v in (user.get("metrics") or {}).items():
        row[k] = v
    for k, v in (user.get("test_metrics") or {}).items():
        row[obj.TEST_ATTR + k] = v
    for k, v in (user.get("cv_std") or {}).items():
        row[obj.STD_ATTR + k] = v
    return row


def with_catalogue(frame: pd.DataFrame) -> pd.DataFrame:
    """Every base column and every catalogue metric present (NaN where a trial has none)."""
    for col in BASE_COLUMNS[:-1]:
        if col not in frame:
            frame[col] = None
    for name in obj.REGISTRY:
        if name not in frame:
            frame[name] = np.nan
    return frame


def trials_frame(trials: Iterable[FrozenTrial], spec: Spec | None = None) -> pd.DataFrame:
    """One row per trial: identity, state, params, every metric (``name``), ``test.name`` and
    ``cv_std.name``; ``feasible`` (search data) and ``limits_status`` (search and held-out) are judged
    against the spec's hard limits (:mod:`core.search._limits`)."""
    rows = [
        trial_row(
            t.number, t.state.name, t.user_attrs, t.system_attrs, dict(t.params), t.datetime_start, t.datetime_complete
        )
        for t in trials
    ]
    frame = pd.DataFrame(rows)
    if frame.empty:
        frame = pd.DataFrame(columns=BASE_COLUMNS + list(obj.REGISTRY))
    frame = with_limits(with_catalogue(frame), spec.objectives if spec else ())
    return frame.sort_values("number").reset_index(drop=True)
