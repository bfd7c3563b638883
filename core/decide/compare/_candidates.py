"""The models being compared: trials as the search stored them (or re-fitted), and what the report
says about each.

By default nothing is fitted: each candidate is built from the trial's stored figures and its
out-of-fold and test probabilities (:mod:`core.search.artifacts`), judged on the same held-out rows;
a trial stored before predictions were kept is re-fitted on its split
(:func:`core.models.candidate.refit`). The data is loaded once for all of them (labels, groups and
values of the test rows).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from sklearn.base import clone
from threadpoolctl import threadpool_limits

from core import search
from core.data import Dataset, load_dataset
from core.decide.compare._bootstrap import Context
from core.decide.compare._constants import KLASS_NOUN, ProgressFn, no_progress
from core.errors import UserInputError
from core.models import candidate, latency
from core.search import artifacts
from core.search import reader as study_reader


@dataclass(frozen=True)
class CandidateInfo:
    """What the report needs to name and describe one re-fitted trial."""

    number: int
    family: str
    label: str
    klass: str
    threshold: float
    test: dict[str, float]
    size_bytes: float
    n_parameters: float
    fit_time_s: float
    latency_p95_ms: float
    latency_mean_ms: float
    model_latency_p95_ms: float

    @property
    def noun(self) -> str:
        return KLASS_NOUN.get(self.klass, "model")


def load_candidate(
    url: str | None, study_name: str, number: int, *, dataset: Dataset | None = None
) -> candidate.Candidate:
    """Re-fit trial ``number`` of a stored study on its original split (pass ``dataset`` to reuse a load)."""
    study = search.open_study(url, study_name)
    return candidate.refit(study, search.load_spec(study), number, dataset=dataset)


def _with_rule(cand: candidate.Candidate, key: str, curves: dict) -> candidate.Candidate:
    """The candidate judged at the option's rule (a point of its curve) instead of its own threshold."""
    from core.decide import options

    rule = options.rule_of(curves, key, cand.threshold)
    if rule["kind"] != "threshold":
        raise UserInputError(
            f"Option {key} uses a rule per group; Compare judges one-threshold rules. Compare trial "
            f"#{cand.number} at its own rule, or another point of its curve.",
            field="candidates",
        )
    _, point = options.parse_option(key)
    curve = curves.get(cand.number) or {}

    def at_point(part: str, base: dict) -> dict:  # the point's own figures for every metric its curve holds
        row = {m: float(v[point]) for m, v in (curve.get(part) or {}).items() if point is not None and point < len(v)}
        return {**base, **row}

    ev = replace(
        cand.evaluation,
        threshold=float(rule["threshold"]),
        metrics=at_point("search", dict(cand.evaluation.metrics)),
        test=at_point("test", dict(cand.evaluation.test)),
    )
    return replace(cand, evaluation=ev, option=key if "@" in key else None)


def load_candidates(
    url: str | None,
    study_name: str,
    numbers: Sequence[int | str],
    on_progress: ProgressFn | None = None,
    *,
    refit: bool = False,
) -> list[candidate.Candidate]:
    """The chosen options of one study (trial numbers, or keys like ``"12@3"``), loading the data once.

    By default nothing is fitted: each trial comes from what the search stored (its metrics, latency
    and out-of-fold and test probabilities; :func:`core.models.candidate.from_storage`). A trial
    stored before predictions were kept, or ``refit=True`` (explanations and a fresh latency
    measurement need the fitted model), is re-fitted on its split. Fits run with one BLAS/OpenMP
    thread: on a busy 2-core machine a threaded histogram-boosting fit was 8× slower than a
    single-threaded one (oversubscription), with identical results.
    """
    from core.decide import options

    progress = on_progress or no_progress
    keys = [str(k) for k in numbers]
    parsed = [options.parse_option(k) for k in keys]
    trial_numbers = [n for n, _ in parsed]
    if len(set(trial_numbers)) < len(trial_numbers):
        twice = next(n for n in trial_numbers if trial_numbers.count(n) > 1)
        raise UserInputError(
            f"Trial #{twice} is named twice; compare different trials (the rules of one trial are its "
            "curve on the Pareto explorer).",
            field="candidates",
        )
    study = search.open_study(url, study_name)
    for n in trial_numbers:  # an unknown or unfinished trial is refused before any work
        candidate.trial_config(study, int(n))
    spec = search.load_spec(study)
    curves = study_reader.read_curves(url, study_name) if any(p is not None for _, p in parsed) else {}
    with threadpool_limits(limits=1):
        ds = load_dataset(spec.data)
        out = []
        for i, (key, n) in enumerate(zip(keys, trial_numbers, strict=True)):
            cand = None
            if not refit:
                stored = artifacts.load_predictions(url, study_name, int(n))
                cand = candidate.from_storage(study, spec, int(n), stored, dataset=ds)
            if cand is None:
                progress(f"Re-fitting trial #{n}", i / max(len(keys), 1))
                cand = candidate.refit(study, spec, int(n), dataset=ds)
            out.append(_with_rule(cand, key, curves) if "@" in key else cand)
    return out


def check_same_split(a, b) -> None:
    """Two candidates are comparable only on the same data and the same test rows."""
    if a.dataset.fingerprint != b.dataset.fingerprint or not np.array_equal(a.test_idx, b.test_idx):
        raise UserInputError(
            "The two candidates were not evaluated on the same data and test rows; compare trials of one study.",
            field="candidates",
        )


def context_of(cand) -> Context:
    """The test rows a candidate is judged on: labels, groups, values and entities."""
    test = cand.dataset.subset(cand.test_idx)
    clusters = None if test.entity is None else pd.factorize(test.entity)[0]
    return Context(
        y=np.asarray(test.y),
        groups=np.asarray(test.groups).astype(str),
        tp_values=test.value,
        value_model=cand.spec.value_model,
        clusters=clusters,
    )


def candidate_info(cand, lat: Sequence[latency.LatencyReport] = ()) -> CandidateInfo:
    """Name, class, test metrics and costs; latency is the median over ``lat`` rounds when given."""
    m = cand.evaluation.metrics
    reports = list(lat) or [cand.evaluation.latency]

    def med(attr: str) -> float:
        return float(np.median([getattr(x, attr) for x in reports]))

    return CandidateInfo(
        int(cand.number),
        cand.family,
        cand.label,
        cand.klass,
        float(cand.threshold),
        {k: float(v) for k, v in cand.evaluation.test.items()},
        float(m["model_size_bytes"]),
        float(m["n_parameters"]),
        float(m["fit_time_s"]),
        med("p95_ms"),
        med("mean_ms"),
        med("model_p95_ms"),
    )


def refit_times(a, b, repeats: int) -> tuple[list[float], list[float]]:
    """Fit each pipeline ``repeats`` more times on the training part, alternating a/b."""
    train = a.dataset.subset(a.train_idx)
    out_a: list[float] = []
    out_b: list[float] = []
    for r in range(repeats):
        for cand, out in [(a, out_a), (b, out_b)] if r % 2 == 0 else [(b, out_b), (a, out_a)]:
            t0 = time.perf_counter()
            clone(cand.pipeline).fit(train.X, train.y)
            out.append(time.perf_counter() - t0)
    return out_a, out_b
