"""The whole Compare report: each challenger against the baseline, fairness per candidate, a cascade
and explanations — what the Compare page shows and the export bundle stores."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from threadpoolctl import threadpool_limits

from core._json import jsonable
from core.decide import explain
from core.decide.compare._candidates import CandidateInfo, candidate_info, load_candidates
from core.decide.compare._cascade import CascadeResult, cascade, check_cascade_settings
from core.decide.compare._comparison import Comparison, compare
from core.decide.compare._constants import ALPHA, KLASS_RANK, N_BOOT, ProgressFn, no_progress
from core.decide.compare._fairness_detail import FairnessDetail, candidate_fairness
from core.decide.compare._pair import primary_metric
from core.errors import UserInputError


@dataclass(frozen=True)
class Report:
    """A comparison of each challenger against the baseline, fairness detail for every candidate, an
    optional cascade and explanations: what the Compare page shows and the export bundle stores."""

    study: str
    primary: str
    baseline: int
    candidates: tuple[CandidateInfo, ...]
    comparisons: tuple[Comparison, ...]
    fairness: tuple[FairnessDetail, ...]
    cascade: CascadeResult | None
    explanations: tuple[Any, ...]
    timings: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)


def _baseline(cands: Sequence, baseline: int | None):
    """The chosen baseline, or the simplest candidate (class, then serialised size)."""
    if baseline is None:
        return min(cands, key=lambda c: (KLASS_RANK.get(c.klass, 1), c.evaluation.metrics["model_size_bytes"]))
    base = next((c for c in cands if c.number == baseline), None)
    if base is None:
        raise UserInputError(
            f"The baseline #{baseline} is not among the candidates {', '.join(f'#{c.number}' for c in cands)}.",
            field="baseline",
        )
    return base


def _comparisons(base, others: Sequence, progress: ProgressFn, **options: Any) -> list[Comparison]:
    out = []
    for i, c in enumerate(others):
        progress(f"Comparing #{c.number} with #{base.number}", 0.6 * i / len(others))
        out.append(compare(c, base, **options))
    return out


def _cascade_of(base, others: Sequence, infos: dict[int, CandidateInfo], **options: Any) -> CascadeResult | None:
    """The cascade of the baseline and the first challenger of another class; None when all share one."""
    pair = next(((base, c) for c in others if c.klass != base.klass), None)
    if pair is None:
        return None
    s, c = sorted(pair, key=lambda x: KLASS_RANK.get(x.klass, 1))
    return cascade(s, c, simple_info=infos.get(s.number), complex_info=infos.get(c.number), **options)


def _timed(timings: dict[str, float], key: str, fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    timings[key] = time.perf_counter() - t0
    return out


def report(
    cands: Sequence,
    *,
    baseline: int | None = None,
    n_boot: int = N_BOOT,
    alpha: float = ALPHA,
    seed: int | None = None,
    latency_rounds: int = 3,
    fit_repeats: int = 0,
    with_cascade: bool = True,
    with_explain: bool = True,
    on_progress: ProgressFn | None = None,
    cascade_criterion: str = "value_per_1k",
    cascade_keep: float = 0.9,
) -> Report:
    """Compare each re-fitted candidate with the baseline; fairness detail, cascade, explanations.

    ``baseline`` (a trial number) defaults to the simplest candidate. The cascade pairs the baseline
    with the first challenger of another class; its band keeps ``cascade_keep`` of the complex
    model's gain on ``cascade_criterion`` (see :func:`cascade`).
    """
    if len(cands) < 2:
        raise UserInputError("Pick at least two trials to compare.", field="candidates")
    check_cascade_settings(cascade_criterion, cascade_keep)  # before minutes of work, not after
    progress = on_progress or no_progress
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    base = _baseline(cands, baseline)
    primary = primary_metric(base.spec)
    others = [c for c in cands if c is not base]
    stats = dict(n_boot=n_boot, alpha=alpha, seed=seed, latency_rounds=latency_rounds, fit_repeats=fit_repeats)
    with threadpool_limits(limits=1):
        comps = _timed(timings, "compare_s", _comparisons, base, others, progress, **stats)
        infos: dict[int, CandidateInfo] = {}
        for comp in comps:
            for info in (comp.challenger, comp.baseline):
                infos.setdefault(info.number, info)
        progress("Fairness detail per group", 0.6)
        fair = _timed(
            timings,
            "fairness_s",
            lambda: tuple(candidate_fairness(c, n_boot=n_boot, seed=seed, alpha=alpha) for c in cands),
        )
        casc = None
        if with_cascade and any(c.klass != base.klass for c in others):
            progress("Cascade: simple when confident, complex otherwise", 0.7)
            casc = _timed(
                timings, "cascade_s", _cascade_of, base, others, infos, criterion=cascade_criterion, keep=cascade_keep
            )
        expl: tuple = ()
        if with_explain and all(c.pipeline is not None for c in cands):  # explanations need the fitted models
            progress("Permutation importance and partial dependence", 0.8)
            expl = _timed(timings, "explain_s", lambda: tuple(explain.explain(c, scoring=primary) for c in cands))
    timings["total_s"] = time.perf_counter() - t0
    progress("Done", 1.0)
    cand_infos = tuple(infos.get(c.number) or candidate_info(c) for c in cands)
    return Report(base.study_name, primary, int(base.number), cand_infos, tuple(comps), fair, casc, expl, timings)


def run(
    url: str | None,
    study_name: str,
    numbers: Sequence[int | str],
    *,
    baseline: int | None = None,
    on_progress: ProgressFn | None = None,
    refit: bool = False,
    **options: Any,
) -> Report:
    """Build the :class:`Report` for the chosen options (trial numbers or keys like ``"12@3"``).

    Nothing is fitted unless ``refit`` (explanations and a latency re-measurement need the fitted
    models) or a trial stored no predictions; options as :func:`report`.
    """
    keys = [str(n) for n in numbers]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if twice:
        raise UserInputError(
            f"Trial #{twice[0]} is named twice; name two different finished trials (e.g. 0,3).", field="candidates"
        )
    if baseline is not None and int(baseline) not in [int(k.split("@")[0].lstrip("#")) for k in keys]:
        keys.append(str(int(baseline)))
    if len(keys) < 2:
        raise UserInputError("Pick at least two trials to compare.", field="candidates")
    progress = on_progress or no_progress
    t0 = time.perf_counter()
    cands = load_candidates(url, study_name, keys, lambda m, f: progress(m, 0.5 * f), refit=refit)
    load_s = time.perf_counter() - t0
    options.setdefault("with_explain", refit)
    rep = report(cands, baseline=baseline, on_progress=lambda m, f: progress(m, 0.5 + 0.5 * f), **options)
    key = "refit_s" if any(c.refitted for c in cands) else "load_s"
    return replace(rep, timings={key: load_s, **rep.timings, "total_s": load_s + rep.timings["total_s"]})
