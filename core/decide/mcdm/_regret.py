"""Regret: what each stakeholder gives up under each candidate, and the min-max-regret compromise."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from core.decide.mcdm._normalise import check_points, normalise, sign
from core.decide.mcdm._ranking import Key, as_key, fmt, label
from core.decide.mcdm._stakeholders import Stakeholder, stakeholder_pick
from core.errors import UserInputError


@dataclass(frozen=True)
class Regret:
    """What each stakeholder gives up, per candidate, versus the trial they would pick alone.

    * ``normalised``: rows = candidates, columns = stakeholders; the largest normalised loss
      (share of the objective's range over the set, clipped at 0) over the objectives they own.
    * ``in_units``: same shape, a readable string per cell, e.g.
      ``"Latency p95: +7.40 ms worse; ROC AUC: −0.0100 better"``.
    * ``losses``: rows = candidates, columns = (stakeholder, objective) MultiIndex; the signed loss
      in the metric's units (positive = worse for that stakeholder).
    * ``picks``: each stakeholder's own pick (index labels: trial numbers or option keys).
    * ``compromise``: the candidate with the smallest maximum regret (ties: smallest total regret,
      then shortlist order).
    """

    normalised: pd.DataFrame
    in_units: pd.DataFrame
    losses: pd.DataFrame
    picks: dict[str, Key]
    compromise: Key


def _signed_text(name: str, loss: float, value_model: Any = None) -> str:
    """ "Latency p95: +7.40 ms worse" – the sign and the word both read as the stakeholder's loss."""
    if abs(loss) < 1e-12:
        return f"{label(name)}: same"
    mark, word = ("+", "worse") if loss > 0 else ("−", "better")
    return f"{label(name)}: {mark}{fmt(name, abs(loss), value_model)} {word}"


def _check_inputs(
    values: pd.DataFrame, stakeholders: Sequence[Stakeholder], candidates: Sequence[Key]
) -> tuple[list[str], list[Key]]:
    """The stakeholders' names and the candidates (duplicates dropped), refusing what cannot be compared."""
    if not stakeholders:
        raise UserInputError("Add at least one stakeholder to compare regrets.", field="stakeholders")
    names = [s.name for s in stakeholders]
    if len(set(names)) != len(names):
        raise UserInputError("Two stakeholders have the same name; rename one.", field="stakeholders")
    cands = list(dict.fromkeys(as_key(c) for c in candidates))
    if not cands:
        raise UserInputError("The shortlist is empty; propose at least one trial.", field="candidates")
    for c in cands:
        if c not in values.index:
            raise UserInputError(f"Trial {c} is not in this Pareto set.", field="candidates")
    return names, cands


def regret_table(
    points: pd.DataFrame,
    directions: Mapping[str, str],
    stakeholders: Sequence[Stakeholder],
    candidates: Sequence[Key],
    *,
    value_model: Any = None,
) -> Regret:
    """What each stakeholder gives up under each candidate, compared with their own pick.

    Normalised regret of a (candidate, stakeholder) pair is the largest normalised loss over the
    objectives they own, clipped at 0: gains on one objective do not cancel a loss on another,
    because the stakeholder feels the loss. It reads as "gives up at most this share of the
    range we saw". The compromise is the min-max-regret candidate: nobody is asked to give up more
    than necessary.
    """
    values = check_points(points, directions)
    value_model = points.attrs.get("value_model") if value_model is None else value_model
    names, cands = _check_inputs(values, stakeholders, candidates)
    norm = normalise(values, directions)
    index = pd.Index(cands, name=points.index.name or "trial")
    normalised = pd.DataFrame(index=index, columns=names, dtype=float)
    in_units = pd.DataFrame(index=index, columns=names, dtype=object)
    loss_cols: dict[tuple[str, str], list[float]] = {}
    picks: dict[str, Key] = {}
    for s in stakeholders:
        pick = stakeholder_pick(values, directions, s).winner
        picks[s.name] = pick
        owned = list(s.objectives)
        for name in owned:
            # signed so that positive = worse for this stakeholder (+ 0.0 turns -0.0 into 0.0)
            loss_cols[(s.name, name)] = [
                sign(directions[name]) * (float(values.at[c, name]) - float(values.at[pick, name])) + 0.0 for c in cands
            ]
        for row, c in enumerate(cands):
            gap = (norm.loc[c, owned] - norm.loc[pick, owned]).clip(lower=0.0)
            normalised.at[c, s.name] = float(gap.max())
            in_units.at[c, s.name] = "; ".join(_signed_text(n, loss_cols[(s.name, n)][row], value_model) for n in owned)
    losses = pd.DataFrame(loss_cols, index=index)
    losses.columns = pd.MultiIndex.from_tuples(losses.columns, names=["stakeholder", "objective"])
    frame = pd.DataFrame(
        {
            "max": normalised.max(axis=1).round(12),
            "sum": normalised.sum(axis=1).round(12),
            "pos": range(len(cands)),
        },
        index=index,
    )
    compromise = as_key(frame.sort_values(["max", "sum", "pos"], kind="mergesort").index[0])
    return Regret(normalised, in_units, losses, picks, compromise)
