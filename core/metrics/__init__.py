"""One implementation of every metric: quality, fairness and value kernels, and the decision rule.

Weights-aware (rows of ``sample_weight``), so the search, the pages and Compare's bootstrap call the same code.
"""

from core.metrics.decision import decide
from core.metrics.fairness import (
    GAP_METRICS,
    GROUP_METRICS,
    RATE_BASES,
    fairness_arrays,
    fairness_metrics,
    fairness_report,
    gap_metrics,
    group_counts,
    group_rates,
    group_table,
    rate_interval,
    rate_text,
    small_group_note,
    with_intervals,
)
from core.metrics.quality import QUALITY_METRICS, quality, quality_arrays, ranking_metrics
from core.metrics.value import (
    ValueBreakdown,
    default_value_model,
    display_metric,
    infra_cost_per_1m,
    row_values,
    tune_threshold,
    value_arrays,
    value_per_1k,
)

__all__ = [
    "GAP_METRICS",
    "GROUP_METRICS",
    "QUALITY_METRICS",
    "RATE_BASES",
    "ValueBreakdown",
    "decide",
    "default_value_model",
    "display_metric",
    "fairness_arrays",
    "fairness_metrics",
    "fairness_report",
    "gap_metrics",
    "group_counts",
    "group_rates",
    "group_table",
    "infra_cost_per_1m",
    "quality",
    "quality_arrays",
    "ranking_metrics",
    "rate_interval",
    "rate_text",
    "row_values",
    "small_group_note",
    "tune_threshold",
    "value_arrays",
    "value_per_1k",
    "with_intervals",
]
