"""One comparison: a challenger against a baseline on the same test rows, statistics, costs, verdicts.

The challenger is always the more complex model of the pair (class rank simple < complex <
ensemble, then serialised size), so "+0.004" means the complex model is higher.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core._json import jsonable
from core.decide.compare._bootstrap import Difference, Scored, paired_bootstrap
from core.decide.compare._candidates import CandidateInfo, candidate_info, check_same_split, context_of, refit_times
from core.decide.compare._constants import (
    ALPHA,
    FIXED_METRICS,
    MIN_ROUND_REPEATS,
    N_BOOT,
    ProgressFn,
    no_progress,
)
from core.decide.compare._cost import Ratio, cost_ratios, measure_pair
from core.decide.compare._mcnemar import McNemar, mcnemar
from core.decide.compare._pair import complexity_order, primary_metric
from core.decide.compare._sentence import verdict_sentence
from core.decide.compare._verdict import ObjectiveVerdict, objective_verdicts


@dataclass(frozen=True)
class Comparison:
    """Everything the room needs to say whether the challenger's complexity pays, JSON-able."""

    challenger: CandidateInfo
    baseline: CandidateInfo
    primary: str
    alpha: float
    n_boot: int
    seed: int
    n_test: int
    differences: tuple[Difference, ...]
    ratios: tuple[Ratio, ...]
    mcnemar: McNemar
    objectives: tuple[ObjectiveVerdict, ...]
    sentence: str
    n_entities: int = 0  # > 0: the bootstrap resampled this many entities (panel data), not rows
    latency_scope: str = "search"  # "search": the stored figures; "re-measured now": rounds timed here

    def difference(self, metric: str) -> Difference | None:
        return next((d for d in self.differences if d.metric == metric), None)

    def ratio(self, metric: str) -> Ratio | None:
        return next((r for r in self.ratios if r.metric == metric), None)

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)


def _oriented(challenger, baseline) -> tuple[Any, Any]:
    """(more complex, simpler): class first, then serialised size."""
    size_a = challenger.evaluation.metrics["model_size_bytes"]
    size_b = baseline.evaluation.metrics["model_size_bytes"]
    if complexity_order(challenger.klass, size_a, baseline.klass, size_b):
        return challenger, baseline
    return baseline, challenger


def _fit_times(a, b, fit_repeats: int) -> tuple[list[float], list[float]]:
    """The re-fit's own fit time of each model, plus ``fit_repeats`` interleaved re-timed fits."""
    fit_a, fit_b = [a.evaluation.metrics["fit_time_s"]], [b.evaluation.metrics["fit_time_s"]]
    if fit_repeats and a.pipeline is not None and b.pipeline is not None:
        extra_a, extra_b = refit_times(a, b, fit_repeats)
        fit_a += extra_a
        fit_b += extra_b
    return fit_a, fit_b


def _fixed(cand) -> dict[str, float]:
    return {m: cand.evaluation.metrics[m] for m in FIXED_METRICS}


def compare(
    challenger,
    baseline,
    *,
    n_boot: int = N_BOOT,
    alpha: float = ALPHA,
    seed: int | None = None,
    latency_rounds: int = 3,
    latency_repeats: int | None = None,
    fit_repeats: int = 0,
    on_progress: ProgressFn | None = None,
) -> Comparison:
    """Compare two re-fitted candidates (:class:`core.models.candidate.Candidate`) on the same test rows.

    The pair is re-oriented so the challenger is the more complex model. ``fit_repeats`` extra fits of
    each model (interleaved) give fit time a spread; 0 uses the one fit the re-fit already timed.
    Net value prices each model's latency with its median mean latency over the rounds, so its
    interval covers the sampling of test rows, not timing noise (the cost ratios show that).
    """
    check_same_split(challenger, baseline)
    a, b = _oriented(challenger, baseline)
    spec = a.spec
    seed = spec.seed if seed is None else seed
    progress = on_progress or no_progress
    stored = a.pipeline is None or b.pipeline is None
    if stored:  # one stored figure per fact: the latency the search measured and every page shows
        lat_a, lat_b = [a.evaluation.latency], [b.evaluation.latency]
    else:
        progress("Timing both models in alternating rounds", 0.1)
        # the spec's timing budget split over the rounds: the same number of calls as one measurement
        repeats = latency_repeats or max(MIN_ROUND_REPEATS, spec.validation.latency_repeats // max(latency_rounds, 1))
        test_x = a.dataset.subset(a.test_idx).X
        lat_a, lat_b = measure_pair(a.pipeline, b.pipeline, test_x, rounds=latency_rounds, repeats=repeats)
    if fit_repeats:
        progress("Re-timing fits", 0.4)
    fit_a, fit_b = _fit_times(a, b, fit_repeats)
    progress(f"Paired bootstrap ({n_boot:,} resamples)", 0.6)
    ctx = context_of(a)
    sa = Scored(a.evaluation.test_proba, a.threshold, float(np.median([x.mean_ms for x in lat_a])))
    sb = Scored(b.evaluation.test_proba, b.threshold, float(np.median([x.mean_ms for x in lat_b])))
    diffs = paired_bootstrap(ctx, sa, sb, n_boot=n_boot, seed=seed, alpha=alpha)
    mc = mcnemar(ctx.y, sa.pred, sb.pred, clustered=ctx.clusters is not None)
    ratios = cost_ratios(lat_a, lat_b, _fixed(a), _fixed(b), fit_a, fit_b, value_model=spec.value_model, stored=stored)
    primary = primary_metric(spec)
    info_a, info_b = candidate_info(a, lat_a), candidate_info(b, lat_b)
    sentence = verdict_sentence(info_a, info_b, diffs, ratios, primary=primary, alpha=alpha)
    progress("Done", 1.0)
    verdicts = objective_verdicts(spec, diffs, ratios)
    return Comparison(
        info_a,
        info_b,
        primary,
        alpha,
        n_boot,
        seed,
        ctx.n,
        diffs,
        ratios,
        mc,
        verdicts,
        sentence,
        ctx.n_clusters,
        "search" if stored else "re-measured now",
    )
