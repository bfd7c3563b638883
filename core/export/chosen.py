"""The option a bundle exports: a trial and the decision rule to ship with it, resolved from the
study's stored curve of operating points (:mod:`core.decide.options`).

Why a module of its own: ``export``, the Export page and ``reproduce`` must agree on what ``"12@3"``
means — trial 12's model deciding with point 3's rule (its threshold, or its thresholds per group) —
and on the figures of that rule. The figures are the curve's (the same kernels the search used, on
the same out-of-fold and held-out scores), never the trial's tuned-rule figures relabelled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.decide import options
from core.errors import UserInputError
from core.export import rules
from core.metrics.operating_points import KIND_GROUP, THRESHOLD_METRICS
from core.search import reader as study_reader
from core.spec import Spec

#: figures of the tuned rule that no curve point carries; an option's config leaves them out
#: rather than showing the tuned rule's number beside another rule
NOT_ON_CURVE = ("gross_value_per_1k",)


@dataclass(frozen=True)
class ChosenOption:
    """``key`` is canonical (``"12"`` for the trial's own rule, also when named as its tuned point);
    ``rule`` is None for the trial's own rule (the bundle then decides at the tuned threshold),
    else the bundle's rule as data (:mod:`core.export.rules`); ``search``/``test`` are the rule's
    figures from the stored curve (empty for the own rule: the trial's figures are the rule's)."""

    key: str
    number: int
    point: int | None = None
    rule: dict[str, Any] | None = None
    search: dict[str, float] = field(default_factory=dict)
    test: dict[str, float] = field(default_factory=dict)

    @property
    def tuned(self) -> bool:
        return self.rule is None


def bundle_rule(curve: Mapping[str, Any], point: int, sensitive: Sequence[str]) -> dict[str, Any]:
    """Point ``point`` of ``curve`` as a bundle rule: one threshold, or thresholds per group of the
    ``sensitive`` columns (a group point's ``threshold`` is its threshold for unknown groups)."""
    kinds = curve.get("kinds")
    kind = kinds[point] if isinstance(kinds, list) else curve.get("kind", rules.KIND_THRESHOLD)
    threshold = float(curve["threshold"][point])
    if kind != KIND_GROUP:
        return rules.threshold_rule(threshold)
    cuts = (curve.get("group_thresholds") or [])[point]
    return rules.group_rule(list(sensitive), dict(cuts), threshold, criterion=options.criterion_of(curve, point))


def point_figures(curve: Mapping[str, Any], point: int) -> tuple[dict[str, float], dict[str, float]]:
    """(search, test) figures of one point of a stored curve (missing values left out)."""
    out: list[dict[str, float]] = []
    for part in ("search", "test"):
        values = curve.get(part) or {}
        out.append({m: float(v[point]) for m, v in values.items() if v[point] is not None})
    return out[0], out[1]


def resolve(url: str | None, study_name: str, key: str | int, spec: Spec) -> ChosenOption:
    """The option ``key`` names in the study, or one clear :class:`UserInputError` saying why not
    (not a key, no such trial is checked by the caller's trial lookup, no such point)."""
    number, point = options.parse_option(key)
    if point is None:
        return ChosenOption(key=str(number), number=number)
    curve = study_reader.read_curves(url, study_name).get(number)
    if not curve:
        raise UserInputError(
            f"Trial #{number} has no stored operating points (it was searched before curves were kept, "
            f"or did not finish): export it with its own rule, --trial {number}.",
            field="trial",
        )
    n = len(curve.get("threshold") or [])
    if not 0 <= point < n:
        raise UserInputError(
            f"Trial #{number} has no operating point {point}: its points are 0 to {n - 1} "
            "(list them with `tradeoff front --operating-points`).",
            field="trial",
        )
    if point == int(curve.get("tuned", -1)):
        return ChosenOption(key=str(number), number=number)
    search, test = point_figures(curve, point)
    rule = bundle_rule(curve, point, spec.data.sensitive)
    return ChosenOption(options.option_key(number, point), number, point, rule, search, test)


def decision_threshold(rule: Mapping[str, Any]) -> float:
    """The one threshold a rule names: its threshold, or a group rule's threshold for unknown groups."""
    return float(rule["default"] if rule.get("kind") == KIND_GROUP else rule["threshold"])


def with_figures(
    chosen: ChosenOption, metrics: Mapping[str, Any], test: Mapping[str, Any], cv_std: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The trial's (search, test, CV spread) figures with the option's rule-dependent ones in place.

    The threshold-free figures (ROC AUC, latency, size) are the trial's; a rule-dependent figure the
    curve does not carry, and the tuned rule's fold spread, are dropped rather than misattributed.
    """
    if chosen.tuned:
        return dict(metrics), dict(test), dict(cv_std)
    m = {k: v for k, v in metrics.items() if k not in NOT_ON_CURVE and k not in THRESHOLD_METRICS}
    t = {k: v for k, v in test.items() if k not in THRESHOLD_METRICS}
    s = {k: v for k, v in cv_std.items() if k not in THRESHOLD_METRICS}
    return m | chosen.search, t | chosen.test, s


def find_point(curve: Mapping[str, Any] | None, rule: Mapping[str, Any], sensitive: Sequence[str]) -> int | None:
    """The point of ``curve`` whose rule is exactly ``rule`` (every threshold equal), or None:
    ``reproduce`` asks it of the re-trained model's curve. A curve names thresholds, not how labels
    are made, so the rule's grouping is left out of the comparison (``reproduce`` checks it apart)."""
    if not curve:
        return None
    want = rules.without_grouping(rule)
    for p in range(len(curve.get("threshold") or [])):
        got = bundle_rule(curve, p, sensitive)
        if "criterion" not in want:  # a bundle from before rules named their criterion
            got.pop("criterion", None)
        if got == want:
            return p
    return None


__all__ = [
    "NOT_ON_CURVE",
    "ChosenOption",
    "bundle_rule",
    "decision_threshold",
    "find_point",
    "point_figures",
    "resolve",
    "with_figures",
]
