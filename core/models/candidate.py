"""Re-fit one stored trial exactly as the search evaluated it.

Compare, export and reproduce all need "the model of trial N": the same data (checked by
fingerprint), the same split, the same family and parameters and the same seed, so the metrics
they show equal the ones stored in the study. The caller opens the study and reads its spec (that
is the search layer's job); this module only reads the trial's own record and fits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.trial import TrialState

from core.data import Dataset, load_dataset, split
from core.errors import UserInputError
from core.models import families as fam
from core.models.evaluate import Evaluation, evaluate
from core.models.latency import LatencyReport
from core.spec import Spec


@dataclass
class Candidate:
    """A stored trial, re-fitted: its pipeline, test probabilities and every metric."""

    study_name: str
    number: int
    spec: Spec
    family: str
    params: dict[str, Any]
    dataset: Dataset
    train_idx: np.ndarray
    test_idx: np.ndarray
    evaluation: Evaluation
    stored_metrics: dict[str, float]
    refitted: bool = True  # False: built from what the search stored (no pipeline, no fit)
    option: str | None = None  # the option key when a rule other than the trial's own was chosen

    @property
    def pipeline(self):
        return self.evaluation.pipeline

    @property
    def threshold(self) -> float:
        return self.evaluation.threshold

    @property
    def klass(self) -> str:
        return fam.get(self.family).klass

    @property
    def label(self) -> str:
        at = "" if self.option is None or "@" not in self.option else f" at threshold {self.threshold:.2f}"
        return f"#{self.number} {fam.get(self.family).label}{at}"


def trial_config(study: optuna.Study, number: int) -> tuple[str, dict[str, Any], dict[str, float]]:
    """Family, parameters and stored metrics of a finished trial; a clear error otherwise."""
    trials = study.get_trials(deepcopy=False)
    by_number = {t.number: t for t in trials}
    if number not in by_number:
        raise UserInputError(
            f"Study {study.study_name!r} has no trial #{number} (it has {len(trials)} trials, numbered from 0).",
            field="trial",
        )
    t = by_number[number]
    if t.state != TrialState.COMPLETE:
        raise UserInputError(
            f"Trial #{number} did not complete (state {t.state.name}); choose a finished trial.", field="trial"
        )
    family, params = fam.split_params(t.params)
    return family, params, dict(t.user_attrs.get("metrics") or {})


def _groups(records: Any) -> pd.DataFrame:
    return pd.DataFrame(records or [])


def from_storage(
    study: optuna.Study,
    spec: Spec,
    number: int,
    predictions: tuple[np.ndarray, np.ndarray] | None,
    *,
    dataset: Dataset | None = None,
) -> Candidate | None:
    """Trial ``number`` as the search stored it, with no fit: its stored metrics, latency and
    out-of-fold and test probabilities (``predictions``). None when it stored no predictions (a trial
    from before they were kept), so the caller re-fits.

    Why: the search already fitted and measured this model; fitting it again costs seconds per model
    and gives a second latency figure for the same fact. The stored probabilities are 16-bit
    (steps of 1/65,535), so a decision can differ from the fitted model's only for a score within
    that step of the threshold.
    """
    trial = next((t for t in study.get_trials(deepcopy=False) if t.number == number), None)
    family, params, stored = trial_config(study, number)
    if predictions is None or trial is None:
        return None
    ua = trial.user_attrs
    ds = dataset if dataset is not None else load_dataset(spec.data)
    train_idx, test_idx = split(ds, spec.validation, spec.seed)
    oof, test_proba = predictions
    if len(oof) != len(train_idx) or len(test_proba) != len(test_idx):
        return None  # the data or split changed since: only a re-fit is honest
    ev = Evaluation(
        family=family,
        params=params,
        metrics=dict(stored),
        cv_std=dict(ua.get("cv_std") or {}),
        test=dict(ua.get("test_metrics") or {}),
        threshold=float(ua.get("threshold", 0.5)),
        groups_test=_groups(ua.get("groups_test")),
        latency=LatencyReport.from_metrics(stored),
        pipeline=None,
        test_proba=np.asarray(test_proba, dtype=float),
        oof_proba=np.asarray(oof, dtype=float),
        timings=dict(ua.get("timings") or {}),
    )
    return Candidate(study.study_name, number, spec, family, params, ds, train_idx, test_idx, ev, stored, False)


def _stored_path(study: optuna.Study, number: int) -> str:
    """The latency path the trial was measured on ("sklearn" for trials from before paths were stored)."""
    trial = next((t for t in study.get_trials(deepcopy=False) if t.number == number), None)
    return ((trial.user_attrs.get("tradeoff.latency") if trial else None) or {}).get("path") or "sklearn"


def refit(study: optuna.Study, spec: Spec, number: int, *, dataset: Dataset | None = None) -> Candidate:
    """Re-fit trial ``number`` of an open study on its original split (pass ``dataset`` to reuse a load)."""
    family, params, stored = trial_config(study, number)
    ds = dataset if dataset is not None else load_dataset(spec.data)
    train_idx, test_idx = split(ds, spec.validation, spec.seed)
    ev = evaluate(
        family, params, ds, train_idx, test_idx, spec, keep_model=True, latency_path=_stored_path(study, number)
    )
    return Candidate(
        study_name=study.study_name,
        number=number,
        spec=spec,
        family=family,
        params=params,
        dataset=ds,
        train_idx=train_idx,
        test_idx=test_idx,
        evaluation=ev,
        stored_metrics=stored,
    )
