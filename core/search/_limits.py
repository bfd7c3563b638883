"""Hard limits judged on both parts of the data: search (out-of-fold CV on the training part) and the
held-out test part, one status per trial that every page, the CLI and the report show.

Why both: a limit that holds in cross-validation can break on held-out data (fairness gaps on small
groups are noisy), and such a trial must never read as "within limit". Steering stays on search data
(``feasible``: the front, MCDM and Optuna's constraints), so the test part never chooses; the
held-out verdict (``limits_status``) is shown beside it. A metric with no held-out counterpart
(latency, size: properties of the model, not of the data) is judged by its one figure on both parts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from core import objectives as obj
from core.spec import Objective

HOLDS = "holds"
BREAKS_TEST = "breaks on held-out"
BREAKS_SEARCH = "breaks in search"
UNTESTED = "holds in search, not measured on held-out"
NOT_FINISHED = "not finished"

#: A status in words for a sentence ("#12 holds every hard limit, in search and on held-out data").
STATUS_TEXT = {
    HOLDS: "holds every hard limit, in search and on held-out data",
    BREAKS_TEST: "holds its hard limits in search but breaks one on held-out data",
    BREAKS_SEARCH: "breaks a hard limit in search",
    UNTESTED: "holds its hard limits in search; no held-out figure to check",
    NOT_FINISHED: "not finished",
}


def _meets(value: Any, o: Objective) -> Any:
    """``value`` within ``o``'s limit; works on a number and on a column alike (NaN never meets)."""
    return (value <= o.limit) if o.direction == "minimize" else (value >= o.limit)


def limited(limits: Sequence[Objective]) -> list[Objective]:
    """The objectives that carry a hard limit."""
    return [o for o in limits if o.limit is not None]


def has_test(name: str) -> bool:
    """True when the metric is also measured on the held-out part (``test.<name>``)."""
    m = obj.REGISTRY.get(name)
    return bool(m and m.on_test)


def _finished(frame: pd.DataFrame) -> pd.Series:
    if "state" in frame:
        return pd.Series(frame["state"] == "COMPLETE", index=frame.index)
    return pd.Series(True, index=frame.index)


def feasible_mask(frame: pd.DataFrame, limits: Sequence[Objective]) -> pd.Series:
    """True where every hard limit holds on search data; objectives without a limit never make a
    trial infeasible. This is what steers (front, MCDM, sampler): the test part never chooses."""
    ok = _finished(frame)
    for o in limited(limits):
        if o.name in frame:
            ok &= _meets(frame[o.name].astype(float), o)
    return ok.fillna(False).astype(bool)


def limits_status(frame: pd.DataFrame, limits: Sequence[Objective]) -> pd.Series:
    """Each trial's status on both parts: :data:`HOLDS`, :data:`BREAKS_TEST`, :data:`BREAKS_SEARCH`,
    :data:`UNTESTED` (an old trial without held-out figures) or :data:`NOT_FINISHED`."""
    broken = pd.Series(False, index=frame.index)
    unknown = pd.Series(False, index=frame.index)
    for o in limited(limits):
        if not has_test(o.name):
            continue
        col = obj.TEST_ATTR + o.name
        if col not in frame:
            unknown |= True
            continue
        v = frame[col].astype(float)
        unknown |= v.isna()
        broken |= v.notna() & ~_meets(v, o)
    status = np.select(
        [~_finished(frame), ~feasible_mask(frame, limits), broken, unknown],
        [NOT_FINISHED, BREAKS_SEARCH, BREAKS_TEST, UNTESTED],
        HOLDS,
    )
    return pd.Series(status, index=frame.index, dtype=object)


def with_limits(frame: pd.DataFrame, limits: Sequence[Objective]) -> pd.DataFrame:
    """Set ``feasible`` (search data) and ``limits_status`` (both parts) on ``frame``; returns it."""
    frame["feasible"] = feasible_mask(frame, limits)
    frame["limits_status"] = limits_status(frame, limits)
    return frame


def _number(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if f != f else f


def limit_check(o: Objective, search: Any, test: Any = None) -> dict[str, Any]:
    """One limit on one trial: ``{"limit", "search", "test", "holds_search", "holds_test"}``.

    ``test`` is None when the metric has no held-out counterpart; ``holds_test`` then repeats
    ``holds_search`` (the one figure applies to both parts), and is None when a held-out figure
    should exist but was not stored.
    """
    s, t = _number(search), _number(test) if has_test(o.name) else None
    holds_search = bool(s is not None and _meets(s, o))
    if not has_test(o.name):
        holds_test: bool | None = holds_search
    else:
        holds_test = None if t is None else bool(_meets(t, o))
    return {"limit": o.limit, "search": s, "test": t, "holds_search": holds_search, "holds_test": holds_test}


def limit_checks(row: Mapping[str, Any], limits: Sequence[Objective]) -> dict[str, dict[str, Any]]:
    """:func:`limit_check` for every hard limit, from one trials-frame row (``name``, ``test.name``)."""
    return {o.name: limit_check(o, row.get(o.name), row.get(obj.TEST_ATTR + o.name)) for o in limited(limits)}


def check_status(check: Mapping[str, Any]) -> str:
    """The status word of one :func:`limit_check` (the same words as :func:`limits_status`)."""
    if not check["holds_search"]:
        return BREAKS_SEARCH
    if check["holds_test"] is None:
        return UNTESTED
    return HOLDS if check["holds_test"] else BREAKS_TEST
