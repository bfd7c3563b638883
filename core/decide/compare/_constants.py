"""Compare's settings and words: significance level, resample count, tolerances, class order, verdicts.

Why one module: the statistics, the cost ratios, the verdicts and the pages must use the same
thresholds and the same three verdict words, or a "better" in one place reads "same" in another.
"""

from __future__ import annotations

from collections.abc import Callable

from core import objectives as obj
from core.metrics import GAP_METRICS, QUALITY_METRICS

ALPHA = 0.05
N_BOOT = 1000
EXACT_BELOW = 25  # discordant pairs under which McNemar uses the exact binomial test
MIN_ROUND_REPEATS = 20  # single-row calls per model per latency round, at least (the harness minimum)
COST_TOLERANCE = 0.05  # cost ratios within 5 % of 1 are "no difference" even when consistent
UNREPLICATED_TOLERANCE = 0.5  # a single timing per model: only a ratio beyond 1.5× (or 1/1.5) counts
KLASS_RANK = {"simple": 0, "complex": 1, "ensemble": 2}
KLASS_NOUN = {"simple": "simple model", "complex": "complex model", "ensemble": "ensemble"}
# what a cascade's routing band can be judged by: money, or a quality metric of the decisions
CASCADE_CRITERIA = ("value_per_1k",) + tuple(n for n, m in obj.REGISTRY.items() if m.group == "quality")
BETTER, SAME, WORSE = "significantly better", "no significant difference", "significantly worse"
# metrics the bootstrap covers (quality at each model's own threshold, money, fairness gaps)
BOOT_METRICS = (*QUALITY_METRICS, "value_per_1k", *GAP_METRICS)
LATENCY_METRICS = (
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "model_latency_p95_ms",
    "throughput_rps",
    "infra_cost_per_1m",
)
FIXED_METRICS = ("model_size_bytes", "n_parameters")

ProgressFn = Callable[[str, float], None]


def no_progress(msg: str, frac: float) -> None:
    """The progress callback when the caller passes none."""
