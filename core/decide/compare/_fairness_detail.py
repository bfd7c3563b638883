"""Per-group metrics and fairness gaps of one candidate on the test part, with bootstrap intervals.

Point values and resamples come from the same :mod:`core.metrics.fairness` kernels (equal to
fairlearn's, which the tests assert); intervals resample test rows, all groups together, so group
sizes vary as in a new sample.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from core import objectives as obj
from core._json import jsonable
from core.decide.compare._bootstrap import bc_interval, resample_counts
from core.decide.compare._candidates import context_of
from core.decide.compare._constants import ALPHA, N_BOOT
from core.metrics import GROUP_METRICS, decide, gap_metrics, group_counts, group_rates


@dataclass(frozen=True)
class GroupStat:
    group: str
    n: int
    metric: str
    value: float
    low: float
    high: float


@dataclass(frozen=True)
class Interval:
    metric: str
    label: str
    value: float
    low: float
    high: float


@dataclass(frozen=True)
class FairnessDetail:
    """Per-group metrics (fairlearn ``MetricFrame`` values) and gap metrics, with bootstrap intervals."""

    label: str
    alpha: float
    n_boot: int
    groups: tuple[GroupStat, ...]
    gaps: tuple[Interval, ...]

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(g) for g in self.groups])

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)


def _resampled(y, pred, groups, n_boot: int, seed: int, clusters) -> tuple[dict, dict]:
    """Per-group rates (n_boot × k) and gaps (n_boot) over the resamples."""
    per_group: dict[str, list[np.ndarray]] = {m: [] for m in GROUP_METRICS}
    per_gap: dict[str, list[np.ndarray]] = {}
    for W in resample_counts(len(y), n_boot, seed, clusters=clusters):
        _, counts = group_counts(W, y, pred, groups)
        rates = group_rates(counts)
        for m in GROUP_METRICS:
            per_group[m].append(rates[m])
        for m, v in gap_metrics(rates).items():
            per_gap.setdefault(m, []).append(v)
    return {m: np.concatenate(v) for m, v in per_group.items()}, {m: np.concatenate(v) for m, v in per_gap.items()}


def fairness_detail(
    y,
    pred,
    groups,
    *,
    label: str = "",
    n_boot: int = N_BOOT,
    seed: int = 0,
    alpha: float = ALPHA,
    clusters: np.ndarray | None = None,
) -> FairnessDetail:
    """Per-group selection rate, recall, precision and accuracy, and the gap metrics, with intervals.

    With ``clusters`` whole entities are resampled (see :func:`resample_counts`).
    """
    y, pred = np.asarray(y).astype(int), np.asarray(pred).astype(int)
    groups = np.asarray(groups).astype(str)
    labels, counts = group_counts(np.ones((1, len(y))), y, pred, groups)
    point = group_rates(counts)
    gaps_point = {m: float(v[0]) for m, v in gap_metrics(point).items()}
    boot_groups, boot_gaps = _resampled(y, pred, groups, n_boot, seed, clusters)
    sizes = pd.Series(groups).value_counts()
    rows = []
    for m in GROUP_METRICS:
        for j, g in enumerate(labels):
            value = float(point[m][0, j])
            low, high = bc_interval(boot_groups[m][:, j], value, alpha)
            rows.append(GroupStat(g, int(sizes[g]), m, value, low, high))
    gaps = []
    for m, v in gaps_point.items():
        low, high = bc_interval(boot_gaps[m], v, alpha)
        gaps.append(Interval(m, obj.get(m).label, v, low, high))
    return FairnessDetail(label, alpha, n_boot, tuple(rows), tuple(gaps))


def candidate_fairness(cand, *, n_boot: int = N_BOOT, seed: int | None = None, alpha: float = ALPHA) -> FairnessDetail:
    """:func:`fairness_detail` of a re-fitted candidate's test decisions."""
    ctx = context_of(cand)
    return fairness_detail(
        ctx.y,
        decide(cand.evaluation.test_proba, cand.threshold),
        ctx.groups,
        label=cand.label,
        n_boot=n_boot,
        seed=cand.spec.seed if seed is None else seed,
        alpha=alpha,
        clusters=ctx.clusters,
    )
