"""The models being compared: trials re-fitted on their split, and what the report says about each.

Both models of a pair are re-fitted on the same split (:func:`core.models.candidate.refit`) and
scored on the same held-out rows; the data is loaded once for all of them.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

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


def load_candidates(
    url: str | None, study_name: str, numbers: Sequence[int], on_progress: ProgressFn | None = None
) -> list[candidate.Candidate]:
    """Re-fit trials of one study on their split, loading the data once for all of them.

    Fits run with one BLAS/OpenMP thread: on a busy 2-core machine a threaded histogram-boosting
    fit was 8× slower than a single-threaded one (oversubscription), with identical results.
    """
    progress = on_progress or no_progress
    study = search.open_study(url, study_name)
    for n in numbers:  # an unknown or unfinished trial is refused before minutes of re-fitting
        candidate.trial_config(study, int(n))
    spec = search.load_spec(study)
    with threadpool_limits(limits=1):
        ds = load_dataset(spec.data)
        out = []
        for i, n in enumerate(numbers):
            progress(f"Re-fitting trial #{n}", i / max(len(numbers), 1))
            out.append(candidate.refit(study, spec, int(n), dataset=ds))
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
