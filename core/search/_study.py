"""A study's lifecycle: create it (or reopen it for the same spec), warm-start it with one typical
configuration per family, keep the spec in its user attributes, open it by name, ask it to stop."""

from __future__ import annotations

import hashlib
import json
import math
import os
from typing import Any

import optuna
from optuna.study import StudyDirection

from core import storage as st
from core.data import load_dataset
from core.errors import UserInputError
from core.models import families as fam
from core.search._budget import set_budget
from core.search._registry import now
from core.search._storage import optuna_storage
from core.search.artifacts import delete_study_artifacts
from core.spec import Spec

ATTR_SPEC = "spec"
ATTR_CANCEL = "cancel_requested"
ATTR_STARTED = "search_started_at"
MAX_TRIALS = 1_000_000  # a trial takes seconds at least: more is a typo, and overflows the database


def _checked_budget(spec: Spec, n_trials: int | None) -> int | None:
    """The study's total budget, refused before anything is written when no run could spend it."""
    n = n_trials if n_trials is not None else spec.budget.n_trials
    if n is not None and not 1 <= n <= MAX_TRIALS:
        raise UserInputError(
            f"budget.n_trials: must be from 1 to {MAX_TRIALS:,} trials, got {n:.3g}.", field="budget.n_trials"
        )
    return n


def _spec_key(spec: Spec) -> dict:
    """What must match for two runs to be one study: everything but the budget."""
    d = spec.to_dict()
    d.pop("budget", None)
    return d


def default_study_name(spec: Spec) -> str:
    stem = os.path.splitext(os.path.basename(spec.data.path))[0] or "study"
    digest = hashlib.sha256(json.dumps(_spec_key(spec), sort_keys=True).encode()).hexdigest()[:6]
    return f"{stem}-{digest}"


class _Midpoint:
    """A deterministic "typical" configuration per family, used to warm-start the search."""

    def suggest_float(self, name, low, high, *, log=False):
        return float(math.sqrt(low * high)) if log else (low + high) / 2

    def suggest_int(self, name, low, high, *, log=False):
        return int(round(math.sqrt(low * high))) if log else (low + high) // 2

    def suggest_categorical(self, name, choices):
        return choices[0]


def typical_params(family: str) -> dict[str, Any]:
    """The deterministic "typical" configuration of a family that the warm start enqueues."""
    return fam.get(family).space(_Midpoint())


def _reopen(storage: optuna.storages.BaseStorage, name: str, spec: Spec) -> optuna.Study:
    study = optuna.load_study(study_name=name, storage=storage)
    stored = study.user_attrs.get(ATTR_SPEC)
    if stored is not None and _spec_key(Spec.from_dict(stored)) != _spec_key(spec):
        raise UserInputError(
            f"A study named {name!r} already exists with a different spec. Resume it with its own "
            "spec, or choose another study name.",
            field="study",
        )
    return study


def _create(storage: optuna.storages.BaseStorage, name: str, spec: Spec, notes: Any, warm_start: bool) -> optuna.Study:
    study = optuna.create_study(
        study_name=name, storage=storage, directions=[StudyDirection[o.direction.upper()] for o in spec.objectives]
    )
    study.set_user_attr(ATTR_SPEC, spec.to_dict())
    study.set_user_attr("created_at", now().isoformat())
    study.set_user_attr("data_notes", notes)
    study.set_user_attr("objective_names", spec.objective_names)
    if warm_start and spec.sampler != "random":
        for f in spec.families:
            study.enqueue_trial(fam.flat_params(f, typical_params(f)), skip_if_exists=True)
    return study


def _create_whole(
    storage: optuna.storages.BaseStorage,
    url: str,
    name: str,
    spec: Spec,
    notes: Any,
    warm_start: bool,
    budget: int | None,
) -> optuna.Study:
    """A new study with its queued trials and budget row, or none at all: a half-made study (trials
    queued, no budget) would later read as "budget spent" to every worker."""
    try:
        study = _create(storage, name, spec, notes, warm_start)
        set_budget(url, name, budget)
        delete_study_artifacts(url, name)  # rows of an earlier study of this name deleted outside Tradeoff Room
    except BaseException:
        if name in set(optuna.get_all_study_names(storage)):
            optuna.delete_study(study_name=name, storage=storage)
        raise
    return study


def create_study(
    spec: Spec, url: str | None = None, name: str | None = None, *, warm_start: bool = True, n_trials: int | None = None
) -> optuna.Study:
    """Create the study (or open it again for the same spec) and record the data fingerprint.

    Opening an existing name with a different spec is refused, because mixing two specs' trials
    in one front would compare different things.
    """
    budget = _checked_budget(spec, n_trials)
    url = st.resolve(url)
    ds = load_dataset(spec.data)  # validates the data before anything is written
    spec = spec.with_fingerprint(ds.fingerprint)
    name = name or default_study_name(spec)
    storage = optuna_storage(url)
    existed = name in set(optuna.get_all_study_names(storage))  # summaries scan every trial: slow
    if existed:
        study = _reopen(storage, name, spec)
    else:
        study = _create_whole(storage, url, name, spec, ds.notes, warm_start, budget)
    # The spec's budget (or the explicit n_trials) is the study's total: reopening with a larger
    # one tops the study up, a smaller one stops it where it is.
    set_budget(url, name, budget)
    if existed and study.user_attrs.get(ATTR_SPEC) != spec.to_dict():
        study.set_user_attr(ATTR_SPEC, spec.to_dict())
    return study


def load_spec(study: optuna.Study) -> Spec:
    raw = study.user_attrs.get(ATTR_SPEC)
    if raw is None:
        raise UserInputError(f"Study {study.study_name!r} was not made by Tradeoff Room (no spec).", field="study")
    return Spec.from_dict(raw)


def open_study(url: str | None, name: str) -> optuna.Study:
    url = st.resolve(url)
    storage = optuna_storage(url)
    names = optuna.get_all_study_names(storage)
    if name not in names:
        listing = ", ".join(names) if names else "none yet"
        raise UserInputError(f"No study named {name!r} in {st.mask(url)}. Studies: {listing}.", field="study")
    return optuna.load_study(study_name=name, storage=storage)


def list_studies(url: str | None = None) -> list[optuna.study.StudySummary]:
    return optuna.get_all_study_summaries(optuna_storage(st.resolve(url)))


def request_cancel(study: optuna.Study, cancel: bool = True) -> None:
    """Ask every worker to stop after its current trial (they check between trials)."""
    study.set_user_attr(ATTR_CANCEL, bool(cancel))
