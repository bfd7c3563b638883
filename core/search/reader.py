"""Read a study's trials as a frame fast and incrementally, for pages that poll a 10,000-trial study.

Why not ``trials_frame(study.get_trials())``: Optuna builds a ``FrozenTrial`` per trial with
every attribute (including per-group tables and timings the frame never uses) and deep-copies them;
on 10,000 trials that is seconds per page rerun. Here the same frame is built from a handful of
SQL queries on Optuna's RDB tables, reading only the attributes the frame needs, and a process-wide
cache keeps the rows already read: a refresh reads only trials that are new or changed state.

Optuna's table layout is not a public API, so every read falls back to the public path
(``optuna.load_study(...).get_trials()``) if a query fails; the result is the same frame.

Public functions:
- :func:`signature` — a cheap tuple that changes whenever any trial is added or changes state
  (the key the app caches on);
- :func:`read_frame` — the frame, with exactly the columns of :func:`core.search.trials_frame`;
- :func:`trial_attrs` — every user attribute and parameter of one trial (the details panel);
- :func:`study_attrs` — the study's user attributes (spec, start time, cancel flag) in one query;
- :func:`load_predictions` — one trial's stored out-of-fold and test probabilities;
- :func:`read_curves` — every complete trial's curve of operating points (cached like the frame);
- :func:`study_names` — the studies in a storage (``optuna.get_all_study_summaries`` also computes
  each study's best trials: tens of seconds on a 10,000-trial study).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

import numpy as np
import optuna
import pandas as pd
import sqlalchemy as sa
from optuna.distributions import json_to_distribution

from core import objectives as obj
from core import storage as st
from core.errors import UserInputError
from core.search import _tables as tables
from core.search._engine import engine
from core.search._frame import (
    BASE_COLUMNS,
    FRAME_ATTRS,
    SYSTEM_ATTRS,
    trial_row,
    trials_frame,
    with_catalogue,
)
from core.search._limits import with_limits
from core.search._objective import ATTR_DUPLICATE, ATTR_INTERRUPTED
from core.search._precise import ATTR_REMEASURED
from core.search._predictions import ATTR_CURVE, read_curve, read_predictions
from core.search._progress import counted as counted_trials
from core.search._storage import optuna_storage
from core.search._study import open_study
from core.spec import Spec

FINAL_STATES = ("COMPLETE", "PRUNED", "FAIL")
_CHUNK = 500

_studies = tables.studies
_study_user = tables.study_user_attrs
_user = tables.trial_user_attrs
_system = tables.trial_system_attrs
_trials = tables.trials
_params = tables.trial_params
#: Optuna's studies and trials tables, as far as our readers need them (the room checks trial
#: numbers against them inside its own transaction)
studies_table = _studies
trials_table = _trials
trial_user_attrs_table = _user


@dataclass
class _Cache:
    """What has been read of one study. Optuna never changes a finished trial, so only trials that
    are new or were still running/waiting last time need reading again."""

    study_id: int
    frame: pd.DataFrame | None = None  # indexed by trial_id
    max_id: int = 0
    open_ids: set[int] = field(default_factory=set)  # read while RUNNING/WAITING
    states: dict[int, tuple[str, Any]] = field(default_factory=dict)
    remeasured: str = "[]"  # the end-of-run pass's list (it rewrites finished trials: read them again)


_caches: dict[tuple[str, str], _Cache] = {}
_lock = threading.Lock()


@lru_cache(maxsize=256)
def _distribution(text: str):
    return json_to_distribution(text)


def _local(dt: datetime | None) -> datetime | None:
    """Optuna stores naive UTC and hands out naive local time; do the same."""
    if dt is None or (isinstance(dt, float) and np.isnan(dt)):
        return None
    return dt.replace(tzinfo=timezone.utc).astimezone().replace(tzinfo=None)


def _study_id(con: sa.Connection, study_name: str) -> int:
    row = con.execute(sa.select(_studies.c.study_id).where(_studies.c.study_name == study_name)).first()
    if row is None:
        raise UserInputError(f"No study named {study_name!r} in this storage.", field="study")
    return int(row[0])


def signature(url: str | None, study_name: str) -> tuple[int, int, int, str, str]:
    """(trials, finished trials, running trials, latest completion time, re-measured trials):
    changes on every update, including the end-of-run pass rewriting finished trials' figures.

    Two small queries: cheap enough to run on every poll of every browser.
    """
    url = st.resolve(url)
    t = _trials
    finished = sa.func.sum(sa.case((t.c.state.in_(FINAL_STATES), 1), else_=0))
    running = sa.func.sum(sa.case((t.c.state == "RUNNING", 1), else_=0))
    try:
        with engine(url).connect() as con:
            sid = _study_id(con, study_name)
            row = con.execute(
                sa.select(sa.func.count(), finished, running, sa.func.max(t.c.datetime_complete)).where(
                    t.c.study_id == sid
                )
            ).one()
            again = _remeasured_json(con, sid)
    except sa.exc.SQLAlchemyError:
        study = open_study(url, study_name)
        trials = study.get_trials(deepcopy=False)
        done = [x for x in trials if x.state.is_finished()]
        last = max((x.datetime_complete for x in done if x.datetime_complete), default=None)
        again = json.dumps(study.user_attrs.get(ATTR_REMEASURED, []))
        return (len(trials), len(done), sum(x.state.name == "RUNNING" for x in trials), str(last), again)
    return (int(row[0] or 0), int(row[1] or 0), int(row[2] or 0), str(row[3]), again)


def _remeasured_json(con: sa.Connection, sid: int) -> str:
    """The study's list of trials whose finished figures the end-of-run pass replaced (JSON text)."""
    u = _study_user
    value = con.execute(sa.select(u.c.value_json).where(u.c.study_id == sid, u.c.key == ATTR_REMEASURED)).scalar()
    return value or "[]"


def _in_chunks(ids: list[int]):
    for i in range(0, len(ids), _CHUNK):
        yield ids[i : i + _CHUNK]


def _read_rows(con: sa.Connection, sid: int, trial_rows: list[sa.Row]) -> dict[int, dict[str, Any]]:
    """Frame rows (as dicts) for the given trials."""
    ids = [r.trial_id for r in trial_rows]
    user: dict[int, dict[str, Any]] = {i: {} for i in ids}
    system: dict[int, dict[str, Any]] = {i: {} for i in ids}
    params: dict[int, list[tuple[int, str, Any]]] = {i: [] for i in ids}
    everything = len(ids) > _CHUNK  # one query over the study beats many IN lists

    def scoped(table: sa.Table, chunk: list[int]):
        if everything:
            return table.c.trial_id.in_(sa.select(_trials.c.trial_id).where(_trials.c.study_id == sid))
        return table.c.trial_id.in_(chunk)

    for chunk in [ids] if everything else list(_in_chunks(ids)):
        for tid, key, value in con.execute(
            sa.select(_user.c.trial_id, _user.c.key, _user.c.value_json).where(
                scoped(_user, chunk), _user.c.key.in_(FRAME_ATTRS)
            )
        ):
            if tid in user:
                user[tid][key] = json.loads(value)
        for tid, key, value in con.execute(
            sa.select(_system.c.trial_id, _system.c.key, _system.c.value_json).where(
                scoped(_system, chunk), _system.c.key.in_(SYSTEM_ATTRS)
            )
        ):
            if tid in system:
                system[tid][key] = json.loads(value)
        for pid, tid, name, value, dist in con.execute(
            sa.select(
                _params.c.param_id,
                _params.c.trial_id,
                _params.c.param_name,
                _params.c.param_value,
                _params.c.distribution_json,
            ).where(scoped(_params, chunk))
        ):
            if tid in params:
                params[tid].append((pid, name, _distribution(dist).to_external_repr(value)))
    out = {}
    for r in trial_rows:
        ps = {name: v for _, name, v in sorted(params[r.trial_id], key=lambda p: p[0])}
        start, end = _local(r.datetime_start), _local(r.datetime_complete)
        out[r.trial_id] = trial_row(r.number, r.state, user[r.trial_id], system[r.trial_id], ps, start, end)
    return out


def _refresh(url: str, study_name: str) -> pd.DataFrame:
    """Bring the cached frame up to date, reading only new or unfinished trials; no feasibility."""
    key = (url, study_name)
    with _lock, engine(url).connect() as con:
        sid = _study_id(con, study_name)
        cache = _caches.get(key)
        if cache is None or cache.study_id != sid:
            cache = _caches[key] = _Cache(study_id=sid)
        t = _trials
        query = sa.select(t.c.trial_id, t.c.number, t.c.state, t.c.datetime_start, t.c.datetime_complete).where(
            t.c.study_id == sid
        )
        again = _remeasured_json(con, sid)
        rewritten = set(json.loads(again)) if again != cache.remeasured else set()
        if cache.frame is not None:
            query = query.where(
                sa.or_(
                    t.c.trial_id > cache.max_id,
                    t.c.trial_id.in_(sorted(cache.open_ids)),
                    t.c.number.in_(sorted(rewritten)),
                )
            )
        current = con.execute(query).all()
        cache.remeasured = again
        changed = [
            r
            for r in current
            if cache.states.get(r.trial_id) != (r.state, r.datetime_complete) or r.number in rewritten
        ]
        if cache.frame is not None and not changed:
            return cache.frame
        rows = _read_rows(con, sid, changed)
        for r in changed:
            cache.states[r.trial_id] = (r.state, r.datetime_complete)
            cache.max_id = max(cache.max_id, r.trial_id)
            if r.state in FINAL_STATES:
                cache.open_ids.discard(r.trial_id)
            else:
                cache.open_ids.add(r.trial_id)
        new = pd.DataFrame(list(rows.values()), index=pd.Index(list(rows), name="trial_id"))
        if cache.frame is None or cache.frame.empty:
            merged = new
        else:
            kept = cache.frame.drop(index=[i for i in rows if i in cache.frame.index])
            merged = pd.concat([kept, new]) if len(new) else kept
        cache.frame = _complete(merged)
        return cache.frame


def _complete(frame: pd.DataFrame) -> pd.DataFrame:
    """Every base and catalogue column present, rows in trial-number order."""
    # the dtypes a DataFrame built in one go would have (concat of parts keeps object columns)
    return with_catalogue(frame).infer_objects().sort_values("number", kind="mergesort")


_FIRST = BASE_COLUMNS[:-1]  # every base column but ``feasible``, judged per call


def _public_frame(cached: pd.DataFrame) -> pd.DataFrame:
    """The cached frame in :func:`core.search.trials_frame`'s shape (its column order, 0..n-1 index)."""
    if cached.empty:
        frame = pd.DataFrame(columns=BASE_COLUMNS + list(obj.REGISTRY))
        return frame.drop(columns="feasible")
    return cached[_FIRST + [c for c in cached.columns if c not in _FIRST]].reset_index(drop=True)


def read_frame(url: str | None, study_name: str, spec: Spec | None = None) -> pd.DataFrame:
    """The study's trials with the columns of :func:`core.search.trials_frame` (limits by ``spec``).

    The returned frame is a fresh copy: callers may add columns.
    """
    url = st.resolve(url)
    try:
        frame = _public_frame(_refresh(url, study_name)).copy()
    except sa.exc.SQLAlchemyError:
        # Optuna changed its tables: take the public (slower) path rather than fail
        return trials_frame(open_study(url, study_name).get_trials(deepcopy=False), spec)
    return with_limits(frame, spec.objectives if spec else ())


def forget(url: str | None = None, study_name: str | None = None) -> None:
    """Drop cached rows (all, or one study's): for tests and after a study is deleted."""
    with _lock:
        if url is None:
            _caches.clear()
        else:
            _caches.pop((st.resolve(url), study_name or ""), None)


def trial_attrs(url: str | None, study_name: str, number: int) -> dict[str, Any]:
    """One trial's user attributes, parameters and state, for the details panel.

    Returns ``{"number", "state", "params", "user_attrs"}``; raises :class:`UserInputError` when the
    study has no such trial.
    """
    url = st.resolve(url)
    try:
        with engine(url).connect() as con:
            sid = _study_id(con, study_name)
            row = con.execute(
                sa.select(_trials.c.trial_id, _trials.c.state).where(
                    _trials.c.study_id == sid, _trials.c.number == int(number)
                )
            ).first()
            if row is None:
                raise UserInputError(f"Study {study_name!r} has no trial #{number}.", field="trial")
            ua = {
                k: json.loads(v)
                for k, v in con.execute(
                    sa.select(_user.c.key, _user.c.value_json).where(_user.c.trial_id == row.trial_id)
                )
            }
            ps = con.execute(
                sa.select(_params.c.param_name, _params.c.param_value, _params.c.distribution_json)
                .where(_params.c.trial_id == row.trial_id)
                .order_by(_params.c.param_id)
            ).all()
            params = {n: _distribution(d).to_external_repr(v) for n, v, d in ps}
            return {"number": int(number), "state": row.state, "params": params, "user_attrs": ua}
    except sa.exc.SQLAlchemyError:
        study = open_study(url, study_name)
        for t in study.get_trials(deepcopy=False):
            if t.number == int(number):
                return {
                    "number": t.number,
                    "state": t.state.name,
                    "params": dict(t.params),
                    "user_attrs": dict(t.user_attrs),
                }
        raise UserInputError(f"Study {study_name!r} has no trial #{number}.", field="trial") from None


def study_attrs(url: str | None, study_name: str) -> dict[str, Any]:
    """The study's user attributes (``search_started_at``, ``cancel_requested``, ``spec`` …).

    One query instead of ``open_study`` (which lists every study) for pages that poll.
    """
    url = st.resolve(url)
    try:
        with engine(url).connect() as con:
            sid = _study_id(con, study_name)
            return {
                k: json.loads(v)
                for k, v in con.execute(
                    sa.select(_study_user.c.key, _study_user.c.value_json).where(_study_user.c.study_id == sid)
                )
            }
    except sa.exc.SQLAlchemyError:
        return dict(open_study(url, study_name).user_attrs)


def study_names(url: str | None) -> list[str]:
    """Names of the studies in storage, sorted."""
    url = st.resolve(url)
    return sorted(optuna.get_all_study_names(storage=optuna_storage(url)))


def _retried(con: sa.Connection, sid: int) -> set[int]:
    """Numbers of the failed trials that a retry took over (its ``failed_trial``/``retry_history``)."""
    in_study = _system.c.trial_id.in_(sa.select(_trials.c.trial_id).where(_trials.c.study_id == sid))
    retried: set[int] = set()
    for (value,) in con.execute(
        sa.select(_system.c.value_json).where(in_study, _system.c.key.in_(("failed_trial", "retry_history")))
    ):
        v = json.loads(value)
        retried.update(v if isinstance(v, list) else [v])
    return retried


def _abandoned(con: sa.Connection, ids: list[int]) -> set[int]:
    """Of these failed trials, those that used no budget: interrupted, or failed before their fit."""
    attrs: dict[int, dict[str, Any]] = {i: {} for i in ids}
    with_params: set[int] = set()
    for chunk in _in_chunks(ids):
        for tid, key, value in con.execute(
            sa.select(_user.c.trial_id, _user.c.key, _user.c.value_json).where(
                _user.c.trial_id.in_(chunk), _user.c.key.in_((ATTR_INTERRUPTED, "family"))
            )
        ):
            attrs[tid][key] = json.loads(value)
        with_params.update(
            con.execute(sa.select(_params.c.trial_id).distinct().where(_params.c.trial_id.in_(chunk))).scalars()
        )
    return {i for i in ids if attrs[i].get(ATTR_INTERRUPTED) or ("family" not in attrs[i] and i not in with_params)}


def _duplicates(con: sa.Connection, sid: int) -> int:
    """Pruned trials that were skipped as a configuration the study already had."""
    pruned = sa.select(_trials.c.trial_id).where(_trials.c.study_id == sid, _trials.c.state == "PRUNED")
    query = sa.select(sa.func.count()).where(_user.c.trial_id.in_(pruned), _user.c.key == ATTR_DUPLICATE)
    return int(con.execute(query).scalar_one())


def counted(url: str | None, study_name: str) -> tuple[int, int]:
    """``core.search.counted`` from a few queries: (trials that used budget, failures among them).

    Same rule: complete and pruned trials count, except a skipped duplicate configuration; a
    failed one counts unless it was retried (``failed_trial`` / ``retry_history`` system attributes
    of its retry) or abandoned (flagged ``interrupted``, or failed before it chose a family and
    parameters).
    """
    url = st.resolve(url)
    try:
        with engine(url).connect() as con:
            sid = _study_id(con, study_name)
            t = _trials
            rows = con.execute(sa.select(t.c.trial_id, t.c.number, t.c.state).where(t.c.study_id == sid)).all()
            retried = _retried(con, sid)
            fails = [r.trial_id for r in rows if r.state == "FAIL" and r.number not in retried]
            abandoned = _abandoned(con, fails) if fails else set()
            skipped = _duplicates(con, sid)
    except sa.exc.SQLAlchemyError:
        return counted_trials(open_study(url, study_name).get_trials(deepcopy=False))
    done = sum(r.state in ("COMPLETE", "PRUNED") for r in rows) - skipped
    failed = len(set(fails) - abandoned)
    return done + failed, failed


_curve_cache: dict[tuple[str, str], tuple[int, str, dict[int, dict[str, Any]]]] = {}


def read_curves(url: str | None, study_name: str) -> dict[int, dict[str, Any]]:
    """Trial number → stored curve of operating points (``tradeoff.curve``), for complete trials.

    Why a reader of its own: the trials frame does not carry curves (they are ~100× a trial's other
    attributes), but every page that judges (trial, operating point) needs all of them. A finished
    trial's curve changes only when the end-of-run pass re-measures it (and says so in the study's
    ``tradeoff.remeasured``), so a process-wide cache keeps those already read and a refresh reads
    only trials that completed or were re-measured since.
    """
    url = st.resolve(url)
    key = (url, study_name)
    try:
        with engine(url).connect() as con:
            sid = _study_id(con, study_name)
            cached_sid, seen_again, curves = _curve_cache.get(key, (sid, "[]", {}))
            again = _remeasured_json(con, sid)
            if cached_sid != sid:
                curves = {}
            elif again != seen_again:  # the end-of-run pass replaced these trials' curves
                curves = {n: c for n, c in curves.items() if n not in set(json.loads(again))}
            done = dict(
                con.execute(
                    sa.select(_trials.c.trial_id, _trials.c.number).where(
                        _trials.c.study_id == sid, _trials.c.state == "COMPLETE"
                    )
                ).all()
            )
            known = {n for n in curves}
            missing = [tid for tid, n in done.items() if n not in known]
            for chunk in _in_chunks(missing):
                for tid, value in con.execute(
                    sa.select(_user.c.trial_id, _user.c.value_json).where(
                        _user.c.trial_id.in_(chunk), _user.c.key == ATTR_CURVE
                    )
                ):
                    curve = read_curve({ATTR_CURVE: json.loads(value)})
                    if curve is not None:
                        curves[int(done[tid])] = curve
            _curve_cache[key] = (sid, again, curves)
            return {n: c for n, c in curves.items() if n in set(done.values())}
    except sa.exc.SQLAlchemyError:
        trials = open_study(url, study_name).get_trials(deepcopy=False)
        out = {t.number: read_curve(t.user_attrs) for t in trials if t.state.name == "COMPLETE"}
        return {n: c for n, c in out.items() if c is not None}


def load_predictions(url: str | None, study_name: str, number: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Trial ``number``'s stored (out-of-fold, test) probabilities, or None (a trial from before
    they were kept, or no such trial); see :func:`core.search.artifacts.load_predictions`."""
    from core.search import artifacts

    return artifacts.load_predictions(url, study_name, number)


def attr_predictions(url: str | None, study_name: str, number: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The probabilities a trial kept as its ``tradeoff.predictions`` user attribute (trials from
    before the artifacts table, and in-memory studies), or None."""
    try:
        attrs = trial_attrs(url, study_name, number)
    except UserInputError:
        return None
    return read_predictions(attrs["user_attrs"])
