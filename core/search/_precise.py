"""Which trials get the precise latency figure, and the guarantee that the front always carries it.

Every trial is first timed by a cheap screening measurement; the precise harness (on the served path,
:mod:`core.models.served`) runs for a trial that may reach the front. The rule, and why it is honest
even when a latency metric is an objective:

* **While a trial runs** (before its objective values are returned, so Optuna's values are the
  precise ones for every trial that matters): the trial is measured precisely unless a complete
  trial that holds the hard limits dominates it even at its latency's plausible best (the served
  path's screening figure × the allowance in :mod:`core.models.evaluate`). A trial dominated now is
  dominated for good: the dominating trial stays in the study and its figures only get more precise.
  Judging against trials that hold the limits covers both fronts a page draws (the feasible one, and
  every trial's when none is feasible): a trial off the feasible front's reach is off the other too.
* **At the end of a run** (:func:`precise_pass`), a safety net for what the first rule cannot see
  (a dominating trial measured only by screening, say, or two workers finishing at once): every
  trial on the final front still carrying the screening figure is re-fitted on its split and measured
  precisely, and its stored metrics, curve and ``tradeoff.latency`` are replaced. Optuna's objective
  values of a finished trial cannot change; every page and limit reads the stored metrics, so they
  show the precise figure, and the trial records ``values_scope: "screening"`` so the mismatch is
  stated rather than hidden.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
from collections.abc import Callable, Sequence
from typing import Any

import moocore
import numpy as np
import optuna
import sqlalchemy as sa
from optuna.trial import FrozenTrial, TrialState

from core import objectives as obj
from core.data import Dataset
from core.models import families as fam
from core.models import latency
from core.models.evaluate import evaluate
from core.search import _tables as tables
from core.search import artifacts
from core.search._engine import engine
from core.spec import Spec

ATTR_LATENCY = "tradeoff.latency"
#: study attribute: the trials whose finished figures the pass replaced (readers re-read them)
ATTR_REMEASURED = "tradeoff.remeasured"
_log = logging.getLogger("core.search")


def _losses(metrics: dict[str, Any], names: Sequence[str]) -> list[float] | None:
    """The trial's objectives as losses (smaller is better), or None when one is missing."""
    out = []
    for n in names:
        v = metrics.get(n)
        if v is None or not math.isfinite(float(v)):
            return None
        out.append(float(v) * obj.get(n).sign)
    return out


def _feasible(t: FrozenTrial) -> bool:
    return all(c <= 0 for c in (t.user_attrs.get("constraints") or []))


def dominated(mine: Sequence[float], others: np.ndarray) -> bool:
    """Whether some row of ``others`` (losses) is at least as good everywhere and better somewhere."""
    if len(others) == 0:
        return False
    m = np.asarray(mine, dtype=float)
    return bool(np.any(np.all(others <= m, axis=1) & np.any(others < m, axis=1)))


def _complete_losses(study: optuna.Study, names: Sequence[str]) -> np.ndarray:
    rows = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        if not _feasible(t):
            continue
        loss = _losses(t.user_attrs.get("metrics") or {}, names)
        if loss is None and t.values is not None:
            loss = [v * obj.get(n).sign for v, n in zip(t.values, names, strict=False)]
        if loss is not None and len(loss) == len(names):
            rows.append(loss)
    return np.asarray(rows, dtype=float).reshape(-1, len(names))


def may_reach_front(spec: Spec, study: optuna.Study) -> Callable[[dict[str, float]], bool]:
    """``precise_if`` for :func:`core.models.evaluate.evaluate` (the rule in the module docstring)."""

    def check(hopeful: dict[str, float]) -> bool:
        mine = _losses(hopeful, spec.objective_names)
        if mine is None:
            return True
        return not dominated(mine, _complete_losses(study, spec.objective_names))

    return check


def final_front(trials: Sequence[FrozenTrial], names: Sequence[str]) -> list[FrozenTrial]:
    """Complete trials on the front over ``names``: the feasible trials' front and every trial's."""
    pool = [(t, _losses(t.user_attrs.get("metrics") or {}, names)) for t in trials if t.state == TrialState.COMPLETE]
    pool = [(t, loss) for t, loss in pool if loss is not None]
    chosen: dict[int, FrozenTrial] = {}
    for part in (pool, [(t, loss) for t, loss in pool if _feasible(t)]):
        if not part:
            continue
        mask = moocore.is_nondominated(np.asarray([loss for _, loss in part], dtype=float), keep_weakly=True)
        chosen.update({t.number: t for (t, _), keep in zip(part, mask, strict=True) if keep})
    return [chosen[n] for n in sorted(chosen)]


def screening(t: FrozenTrial) -> bool:
    """Whether the trial stores only the screening figure (old trials were all measured precisely)."""
    return (t.user_attrs.get(ATTR_LATENCY) or {}).get("scope") == latency.SCREENING


def precise_pass(study: optuna.Study, spec: Spec, data: tuple[Dataset, np.ndarray, np.ndarray], url: str) -> list[int]:
    """Measure precisely every trial on the final front that carries only the screening figure;
    returns their numbers (see the module docstring)."""
    from core.search._storage import optuna_storage  # here: the storage module imports the objective's

    done: list[int] = []
    storage = optuna_storage(url)  # uncached: a study's own storage keeps finished trials as first read
    for _ in range(len(storage.get_all_trials(study._study_id, deepcopy=False)) + 1):
        # a precise figure can move the front: repeat until it holds no screening trial
        trials = storage.get_all_trials(study._study_id, deepcopy=False)
        todo = [t for t in final_front(trials, spec.objective_names) if screening(t) and t.number not in done]
        if not todo:
            break
        for t in todo:
            _remeasure(url, study.study_name, spec, data, t)
            done.append(t.number)
            earlier = storage.get_study_user_attrs(study._study_id).get(ATTR_REMEASURED) or []
            storage.set_study_user_attr(study._study_id, ATTR_REMEASURED, sorted({*earlier, t.number}))
    if done:
        _log.info("precise latency measured after the run for front trials %s", done)
    return done


def _remeasure(
    url: str, study_name: str, spec: Spec, data: tuple[Dataset, np.ndarray, np.ndarray], t: FrozenTrial
) -> None:
    """Re-fit one finished trial on its split, measure it precisely and replace its stored figures."""
    family, params = fam.split_params(t.params)
    ev = evaluate(family, params, *data, spec, keep_model=True)
    lat_info = {**ev.latency_info, "values_scope": latency.SCREENING}
    attrs: dict[str, Any] = {
        "metrics": ev.metrics,
        "test_metrics": ev.test,
        "constraints": [o.violation(ev.metrics[o.name]) for o in spec.objectives if o.limit is not None] or [-1.0],
        ATTR_LATENCY: lat_info,
    }
    if ev.curve is not None:
        attrs["tradeoff.curve"] = ev.curve
    _replace_attrs(url, t._trial_id, attrs)
    with contextlib.suppress(sa.exc.SQLAlchemyError):  # too large for the database: Export re-fits it
        artifacts.save_model(url, study_name, t.number, ev.pipeline)  # it is on the front: Export reads it


def _replace_attrs(url: str, trial_id: int, attrs: dict[str, Any]) -> None:
    """Replace user attributes of a finished trial, in one transaction.

    Why not Optuna's API: its storage refuses any write to a finished trial; these rows are the same
    ones it reads (key and JSON value per trial), so every reader sees the new figures.
    """
    table = tables.trial_user_attrs
    with engine(url).begin() as con:
        con.execute(sa.delete(table).where(table.c.trial_id == trial_id, table.c.key.in_(list(attrs))))
        con.execute(
            sa.insert(table), [{"trial_id": trial_id, "key": k, "value_json": json.dumps(v)} for k, v in attrs.items()]
        )
