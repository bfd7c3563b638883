"""McNemar's test on two models' correct/incorrect decisions on the same test rows.

Exact binomial when the discordant count is small (< 25), where the chi-square approximation is
poor; chi-square with continuity correction otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import stats

from core.decide.compare._constants import ALPHA, EXACT_BELOW


@dataclass(frozen=True)
class McNemar:
    """McNemar's test on paired decisions: b = only the challenger right, c = only the baseline right."""

    both_right: int
    only_challenger_right: int
    only_baseline_right: int
    both_wrong: int
    statistic: float
    p_value: float
    method: str

    def significant(self, alpha: float = ALPHA) -> bool:
        return self.p_value < alpha


def mcnemar_table(
    b: int, c: int, *, both_right: int = 0, both_wrong: int = 0, exact_below: int = EXACT_BELOW
) -> McNemar:
    """McNemar's test from the discordant counts.

    Exact two-sided binomial test (b of b + c at p = ½) when b + c < ``exact_below``, where the
    chi-square approximation is poor; otherwise χ² = (|b − c| − 1)² / (b + c) with Edwards'
    continuity correction on 1 degree of freedom.
    """
    b, c = int(b), int(c)
    n = b + c
    if n == 0:
        return McNemar(both_right, b, c, both_wrong, 0.0, 1.0, "no discordant pairs")
    if n < exact_below:
        p = float(stats.binomtest(b, n, 0.5, alternative="two-sided").pvalue)
        return McNemar(both_right, b, c, both_wrong, float(min(b, c)), min(1.0, p), "exact binomial")
    chi2 = (abs(b - c) - 1) ** 2 / n
    return McNemar(
        both_right, b, c, both_wrong, float(chi2), float(stats.chi2.sf(chi2, 1)), "chi-square, continuity-corrected"
    )


def mcnemar(
    y: np.ndarray, pred_challenger: np.ndarray, pred_baseline: np.ndarray, *, clustered: bool = False
) -> McNemar:
    """McNemar's test on two models' test decisions (each at its own threshold).

    It takes rows as independent; ``clustered`` (panel data) says so in ``method``, because the
    rows of one entity are not, and the p-value is then optimistic (the bootstrap is not).
    """
    y = np.asarray(y)
    ra, rb = np.asarray(pred_challenger) == y, np.asarray(pred_baseline) == y
    mc = mcnemar_table(
        int((ra & ~rb).sum()), int((~ra & rb).sum()), both_right=int((ra & rb).sum()), both_wrong=int((~ra & ~rb).sum())
    )
    if clustered:
        mc = replace(
            mc,
            method=mc.method + "; rows taken as independent, which the rows of one "
            "entity are not: optimistic, trust the intervals",
        )
    return mc
