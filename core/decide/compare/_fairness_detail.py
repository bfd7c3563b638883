"""Per-group metrics and fairness gaps of one candidate on the test part, with bootstrap intervals.

Point values and resamples come from the same :mod:`core.metrics.fairness` kernels (equal to
fairlearn's, which the tests assert); intervals resample test rows, all groups together, so group
sizes vary as in a new sample. Each rate carries the rows it is a share of and, for groups under the
spec's ``min_group_rows``, the flag :func:`core.metrics.small_group_note` writes, so a wide interval on
a handful of rows is read as "too few to judge", not as a finding.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from core import objectives as obj
from core._json import jsonable
from core.decide.compare._bootstrap import bc_interval, resample_counts
from core.decide.compare._candidates import context_of
from core.decide.compare._constants import ALPHA, N_BOOT
from core.metrics import GROUP_METRICS, decide, gap_metrics, group_counts, group_rates, rate_text, small_group_note


@dataclass(frozen=True)
class GroupStat:
    group: str
    n: int
    metric: str
    value: float
    low: float
    high: float
    rows: int = 0  # what the rate is a share of: the group's rows, positives (recall) or selected (precision)
    note: str = ""  # "only 11 rows: too few to judge" under the spec's minimum


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
    min_rows: int | None = None

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
    min_rows: int | None = None,
) -> FairnessDetail:
    """Per-group selection rate, recall, precision and accuracy, and the gap metrics, with intervals.

    With ``clusters`` whole entities are resampled (see :func:`resample_counts`); groups with fewer
    than ``min_rows`` rows are flagged.
    """
    y, pred = np.asarray(y).astype(int), np.asarray(pred).astype(int)
    groups = np.asarray(groups).astype(str)
    labels, counts = group_counts(np.ones((1, len(y))), y, pred, groups)
    point = group_rates(counts)
    gaps_point = {m: float(v[0]) for m, v in gap_metrics(point).items()}
    boot_groups, boot_gaps = _resampled(y, pred, groups, n_boot, seed, clusters)
    sizes = pd.Series(groups).value_counts()
    bases = _rate_bases(counts)
    rows = []
    for m in GROUP_METRICS:
        for j, g in enumerate(labels):
            value = float(point[m][0, j])
            low, high = bc_interval(boot_groups[m][:, j], value, alpha)
            n = int(sizes[g])
            rows.append(GroupStat(g, n, m, value, low, high, int(bases[m][j]), small_group_note(n, min_rows)))
    gaps = []
    for m, v in gaps_point.items():
        low, high = bc_interval(boot_gaps[m], v, alpha)
        gaps.append(Interval(m, obj.get(m).label, v, low, high))
    return FairnessDetail(label, alpha, n_boot, tuple(rows), tuple(gaps), min_rows)


def _rate_bases(counts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per metric, the rows each group's rate is a share of (one evaluation: the first count row)."""
    n = (counts["tp"] + counts["fp"] + counts["fn"] + counts["tn"])[0]
    return {
        "selection_rate": n,
        "accuracy": n,
        "recall": (counts["tp"] + counts["fn"])[0],
        "precision": (counts["tp"] + counts["fp"])[0],
    }


def group_frame(detail: Mapping[str, Any]) -> pd.DataFrame:
    """One row per group of a fairness detail's JSON form: rows, each rate with its interval as
    text, and the small-group flag, for the Compare page's table beside the bars."""
    by_group: dict[str, dict[str, Any]] = {}
    for g in detail.get("groups", []):
        row = by_group.setdefault(g["group"], {"group": g["group"], "n": g["n"], "note": g.get("note", "")})
        row[str(g["metric"]).replace("_", " ")] = rate_text(g.get("value"), g.get("low"), g.get("high"))
    cols = ["group", "n", *(m.replace("_", " ") for m in GROUP_METRICS), "note"]
    return pd.DataFrame(list(by_group.values())).reindex(columns=cols)


def candidate_fairness(cand, *, n_boot: int = N_BOOT, seed: int | None = None, alpha: float = ALPHA) -> FairnessDetail:
    """:func:`fairness_detail` of a re-fitted candidate's test decisions; groups under the spec's
    ``min_group_rows`` are flagged."""
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
        min_rows=cand.spec.data.min_group_rows,
    )
