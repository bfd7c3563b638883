"""One verdict sentence per comparison, in plain words, that agrees with the tables beside it.

Why built from every row and not from the primary metric alone: a sentence that read "not
significant … the simple model is the defensible choice" sat above a table where accuracy and a
fairness gap were significantly better. Here every metric the tables call significantly better or
worse is named, nothing the tables call no difference is, and the simple model is recommended only
when the complex one gains nothing, or with what its gain costs said in the same sentence.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core import objectives as obj
from core.decide.compare._bootstrap import Difference
from core.decide.compare._candidates import CandidateInfo
from core.decide.compare._constants import ALPHA, BETTER, SAME, WORSE
from core.decide.compare._cost import Ratio
from core.decide.compare._verdict import fmt_ratio, number

# the costs the sentence names with their ratio; every other significant cost is listed by name
NAMED_COSTS = ("latency_p95_ms", "model_size_bytes")


def _name(label: str) -> str:
    """A label inside a sentence: 'accuracy', but 'ROC AUC' and 'F1' keep their capitals."""
    return label if label[:2].isupper() else label[:1].lower() + label[1:]


def _join(words: Sequence[str]) -> str:
    words = list(words)
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _level(alpha: float) -> str:
    return f"{(1 - alpha) * 100:g} % interval"


def _points(v: float, digits: int, *, signed: bool) -> str:
    v = 0.0 if round(v, digits) == 0 else v
    return f"{v:{'+' if signed else ''}.{digits}f}".replace("-", "−")


def amount(d: Difference, alpha: float = ALPHA) -> str:
    """'+2.3 points, 95 % interval 1.1 to 3.4' (scores in percentage points); '+€1.20, …' for money."""
    if d.unit == "score":
        scaled = [100 * x for x in (d.diff, d.low, d.high)]
        digits = 1 if max(abs(x) for x in scaled) >= 1 else 2
        diff, low, high = (_points(x, digits, signed=i == 0) for i, x in enumerate(scaled))
        return f"{diff} points, {_level(alpha)} {low} to {high}"
    low, high = number(d.low, d.unit, signed=False), number(d.high, d.unit, signed=False)
    return f"{number(d.diff, d.unit, signed=True)}, {_level(alpha)} {low} to {high}"


def _labels(diffs: Sequence[Difference], verdict: str, skip: str = "") -> list[str]:
    return [_name(d.label) for d in diffs if d.verdict == verdict and d.metric != skip]


def _quality(diffs: Sequence[Difference], primary: Difference | None, alpha: float) -> str:
    """The primary metric with its amount, then every other quality metric the table calls significant."""
    quality = [d for d in diffs if obj.get(d.metric).group == "quality"]
    skip = primary.metric if primary is not None else ""
    better, worse = _labels(quality, BETTER, skip), _labels(quality, WORSE, skip)
    if primary is None:
        head, also = "", ""
    else:
        how = {BETTER: "is better on", WORSE: "is worse on", SAME: "shows no significant difference on"}
        head = f"{how[primary.verdict]} {_name(primary.label)} ({amount(primary, alpha)})"
        also = " also" if primary.verdict == BETTER else ""
    parts = [head] if head else []
    if better:
        parts.append(f"is{also} better on {_join(better)}")
    if worse:
        parts.append(f"is{' also' if primary is not None and primary.verdict == WORSE else ''} worse on {_join(worse)}")
    return _join(parts) if parts else "shows no significant difference in quality"


def _value(d: Difference | None, alpha: float) -> str:
    if d is None or d.verdict == SAME:
        return ""
    low, high = number(d.low, d.unit, signed=False), number(d.high, d.unit, signed=False)
    more = "more" if d.diff > 0 else "less"
    earned = f"€{abs(d.diff):,.2f}" if d.unit.startswith("€") else f"{abs(d.diff):,.2f} {obj.UTILITY_UNITS}"
    return f"it earns {earned} {more} per 1,000 decisions ({_level(alpha)} {low} to {high})"


def _fairness(diffs: Sequence[Difference]) -> str:
    gaps = [d for d in diffs if obj.get(d.metric).group == "fairness"]
    if not gaps:
        return ""
    fairer, less = _labels(gaps, BETTER), _labels(gaps, WORSE)
    if not fairer and not less:
        return "it does not change fairness"
    parts = ([f"fairer on {_join(fairer)}"] if fairer else []) + ([f"less fair on {_join(less)}"] if less else [])
    return f"it is {' but '.join(parts)}"


def _named_cost(r: Ratio | None, worse: str, better: str, same: str) -> str:
    if r is None or not np.isfinite(r.ratio):
        return ""
    if r.verdict == WORSE:
        return f"{fmt_ratio(r.ratio)} {worse}"
    if r.verdict == BETTER:
        return f"{fmt_ratio(1 / r.ratio if r.ratio > 0 else np.inf)} {better}"
    return same


def _costs(ratios: Sequence[Ratio]) -> tuple[str, bool]:
    """'1.3× slower and 8.5× larger, costlier on fit time', and whether any cost is significantly higher."""
    by = {r.metric: r for r in ratios}
    named = [
        _named_cost(by.get("latency_p95_ms"), "slower", "faster", "about as fast"),
        _named_cost(by.get("model_size_bytes"), "larger", "smaller", "about the same size"),
    ]
    text = _join([n for n in named if n]) if any(named) else ""
    rest = [r for r in ratios if r.metric not in NAMED_COSTS]
    worse = [_name(r.label) for r in rest if r.verdict == WORSE]
    better = [_name(r.label) for r in rest if r.verdict == BETTER]
    if worse:
        text += f"{', ' if text else ''}costlier on {_join(worse)}"
    if better:
        text += f"{', ' if text else ''}cheaper on {_join(better)}"
    return text, bool(worse) or any(by[m].verdict == WORSE for m in NAMED_COSTS if m in by)


def _conclusion(
    who: CandidateInfo, other: str, same_class: bool, primary: Difference | None, value, gains: bool, costly: bool
) -> str:
    primary_better = primary is not None and primary.verdict == BETTER
    if primary_better and value is not None and value.verdict == WORSE:
        return (
            f"the quality gain is real but earns less, so {other} is the defensible choice unless quality comes first"
        )
    if not gains:
        return f"{other} is the defensible choice"
    if not costly:
        return "it is the better choice at no measured cost"
    if primary_better:
        if same_class:
            return "the gain is real, and it is the stronger choice if the room accepts those costs"
        return f"the gain is real, and the {who.noun} earns its complexity if the room accepts those costs"
    return "whether its gains are worth those costs is the room's call"


def verdict_sentence(
    challenger: CandidateInfo,
    baseline: CandidateInfo,
    diffs: Sequence[Difference],
    ratios: Sequence[Ratio],
    *,
    primary: str,
    alpha: float = ALPHA,
) -> str:
    """One sentence for a manager, e.g. "The ensemble is better on ROC AUC (+2.3 points, 95 % interval
    1.1 to 3.4); it does not change fairness, but it is 1.3× slower and 8.5× larger: the gain is real,
    and the ensemble earns its complexity if the room accepts those costs."
    """
    same_class = challenger.klass == baseline.klass
    who = challenger.label if same_class else f"The {challenger.noun}"
    other = baseline.label if same_class else f"the {baseline.noun}"
    by = {d.metric: d for d in diffs}
    head = by.get(primary)
    value = by.get("value_per_1k")
    cost, costly = _costs(ratios)
    costly = costly or any(d.verdict == WORSE for d in diffs)
    gains = any(d.verdict == BETTER for d in diffs) or any(r.verdict == BETTER for r in ratios)
    clauses = [c for c in (_value(value, alpha), _fairness(diffs)) if c]
    text = f"{who} {_quality(diffs, head, alpha)}"
    if clauses:
        text += "; " + _join(clauses)
    if cost:
        text += f"{', but' if gains else ';'} it is {cost}"
    return f"{text}: {_conclusion(challenger, other, same_class, head, value, gains, costly)}."
