"""What the challenger costs: latency, infra cost, size, parameters and fit time as ratios.

Latency is measured for both models in alternating rounds close in time (these machines are
noisy); the ratio of each round gives the spread. Size and parameter counts are deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core import objectives as obj
from core.decide.compare._constants import (
    BETTER,
    COST_TOLERANCE,
    FIXED_METRICS,
    LATENCY_METRICS,
    SAME,
    UNREPLICATED_TOLERANCE,
    WORSE,
)
from core.metrics import infra_cost_per_1m
from core.models import latency
from core.spec import ValueModel


@dataclass(frozen=True)
class Ratio:
    """challenger / baseline for a cost, with the spread over interleaved measurement rounds."""

    metric: str
    label: str
    direction: str
    challenger: float
    baseline: float
    ratio: float
    low: float
    high: float
    rounds: int
    verdict: str
    note: str = ""


def ratio_verdict(low: float, high: float, direction: str, tol: float = COST_TOLERANCE) -> str:
    """Better/worse when every round agrees and the gap exceeds ``tol`` (timing noise is real)."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return SAME
    lower_is_better = direction == "minimize"
    if high < 1 - tol:
        return BETTER if lower_is_better else WORSE
    if low > 1 + tol:
        return WORSE if lower_is_better else BETTER
    return SAME


def measure_pair(
    pipe_a, pipe_b, X: pd.DataFrame, *, rounds: int = 3, repeats: int = 200
) -> tuple[list[latency.LatencyReport], list[latency.LatencyReport]]:
    """Latency of two pipelines in alternating rounds (a b, b a, a b …), close together in time."""
    ra: list[latency.LatencyReport] = []
    rb: list[latency.LatencyReport] = []
    for r in range(rounds):
        order = [(pipe_a, ra), (pipe_b, rb)] if r % 2 == 0 else [(pipe_b, rb), (pipe_a, ra)]
        for pipe, out in order:
            out.append(latency.measure(pipe, X, repeats=repeats))
    return ra, rb


def ratio_row(
    metric: str, a: Sequence[float], b: Sequence[float], note: str = "", *, tol: float = COST_TOLERANCE
) -> Ratio:
    """The median ratio a/b over paired measurements, with its min–max spread and verdict."""
    md = obj.get(metric)
    a_arr, b_arr = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = a_arr / b_arr
    r = r[np.isfinite(r)]
    ratio = float(np.median(r)) if len(r) else float("nan")
    low, high = (float(r.min()), float(r.max())) if len(r) else (float("nan"),) * 2
    return Ratio(
        metric,
        md.label,
        md.direction,
        float(np.median(a_arr)),
        float(np.median(b_arr)),
        ratio,
        low,
        high,
        len(r),
        ratio_verdict(low, high, md.direction, tol),
        note,
    )


def _latency_values(reports: Sequence[latency.LatencyReport], metric: str, vm: ValueModel) -> list[float]:
    if metric == "infra_cost_per_1m":
        return [infra_cost_per_1m(x.mean_ms, vm) for x in reports]
    return [x.as_metrics()[metric] for x in reports]


def cost_ratios(
    lat_a: Sequence[latency.LatencyReport],
    lat_b: Sequence[latency.LatencyReport],
    fixed_a: dict[str, float],
    fixed_b: dict[str, float],
    fit_a: Sequence[float],
    fit_b: Sequence[float],
    *,
    value_model: ValueModel,
    stored: bool = False,
) -> tuple[Ratio, ...]:
    """Latency, infra cost, size, parameters and fit time as challenger/baseline ratios.

    ``stored``: the latency reports are the search's own figures (one per trial, the figure every
    page shows and the limits judge), not rounds measured now.
    """
    note = (
        "search figure: the stored measurement of each trial (normalised CPU time), one each"
        if stored
        else f"re-measured now: {len(lat_a)} interleaved rounds; spread = min–max ratio"
    )
    rows = [
        ratio_row(m, _latency_values(lat_a, m, value_model), _latency_values(lat_b, m, value_model), note)
        for m in LATENCY_METRICS
    ]
    for m in FIXED_METRICS:
        rows.append(
            ratio_row(
                m, [fixed_a.get(m, np.nan)], [fixed_b.get(m, np.nan)], "deterministic property of the fitted pipeline"
            )
        )
    n = min(len(fit_a), len(fit_b))
    # one unreplicated timing each: only a gap beyond 1.5× counts (fit times of one model vary that much)
    rows.append(
        ratio_row(
            "fit_time_s",
            fit_a[:n],
            fit_b[:n],
            f"{n} fit{'s' if n != 1 else ''} each" + ("" if n > 1 else "; no spread, 1.5× needed"),
            tol=COST_TOLERANCE if n > 1 else UNREPLICATED_TOLERANCE,
        )
    )
    return tuple(rows)
