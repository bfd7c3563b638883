"""A verdict per objective, and the way a difference or a ratio is written in the tables.

The numbers are written the way the sentence reads them: a signed difference with its interval
("+0.004 AUC [−0.001, 0.009]"), value in its unit (€ when priced, else utility units), ratios as "3.1×"; minus signs are typographic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core import objectives as obj
from core.decide.compare._bootstrap import Difference
from core.decide.compare._constants import SAME
from core.decide.compare._cost import Ratio
from core.spec import Spec


@dataclass(frozen=True)
class ObjectiveVerdict:
    name: str
    label: str
    verdict: str
    source: str  # "bootstrap" or "ratio"
    text: str


def number(v: float, unit: str, *, signed: bool) -> str:
    """A difference (``signed``) or an interval bound: value to the cent (with "€" only when it is
    money), scores to 3 or 4 decimals."""
    v = v + 0.0  # −0.0 reads "−0.000"
    if unit.startswith(("€", obj.UTILITY_UNITS)):
        sign = ("+" if v >= 0 else "−") if signed else ("−" if v < 0 else "")
        return f"{sign}{'€' if unit.startswith('€') else ''}{abs(v):,.2f}"
    plus = "+" if signed else ""
    digits = 3 if abs(v) >= 0.0005 or v == 0 else 4
    return f"{v:{plus}.{digits}f}".replace("-", "−")


def fmt_ratio(r: float) -> str:
    """A cost ratio as '14×', '3.1×' or '0.05×'; '?×' when it could not be measured."""
    if not np.isfinite(r):
        return "?×"
    return f"{r:.0f}×" if r >= 10 else f"{r:.1f}×" if r >= 0.1 else f"{r:.2f}×"


def describe_difference(d: Difference) -> str:
    """'+0.004 ROC AUC [−0.001, 0.009]'."""
    label = "AUC" if d.metric == "roc_auc" else d.label
    low, high = number(d.low, d.unit, signed=False), number(d.high, d.unit, signed=False)
    return f"{number(d.diff, d.unit, signed=True)} {label} [{low}, {high}]"


def objective_verdicts(
    spec: Spec, diffs: Sequence[Difference], ratios: Sequence[Ratio]
) -> tuple[ObjectiveVerdict, ...]:
    """One verdict per spec objective, from the bootstrap or the measured ratio."""
    by_d = {d.metric: d for d in diffs}
    by_r = {r.metric: r for r in ratios}
    out = []
    for name in spec.objective_names:
        md = obj.get(name)
        if name in by_d:
            d = by_d[name]
            out.append(ObjectiveVerdict(name, md.label, d.verdict, "bootstrap", describe_difference(d)))
        elif name in by_r:
            r = by_r[name]
            text = f"{fmt_ratio(r.ratio)} [{fmt_ratio(r.low)}, {fmt_ratio(r.high)}]"
            out.append(ObjectiveVerdict(name, md.label, r.verdict, "ratio", text))
        else:
            out.append(ObjectiveVerdict(name, md.label, SAME, "not compared", "not measured here"))
    return tuple(out)
