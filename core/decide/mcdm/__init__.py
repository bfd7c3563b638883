"""Multi-criteria decision making (MCDM) over a Pareto set: who would pick which trial, and why.
Owns the ranking methods and their registry, stakeholders, the shortlist and the regret table.

A Pareto front does not choose a model; people do. This module turns preferences (weights,
aspiration levels, a priority order) into a ranked list of points with a one-sentence reason, so a
room can compare "what Product would pick" with "what Legal would pick" and look for a compromise.

Conventions used everywhere here:

* ``points`` is a :class:`pandas.DataFrame`; its index names the points — a trial number, or an
  option key (``"12"``, ``"12@3"``: a trial and one of its operating points, see
  :mod:`core.decide.options`) — and its columns are objective names (usually keys of
  :data:`core.objectives.REGISTRY`, but any name works). ``points.attrs`` may carry plain labels
  and the spec's value model for the sentences (:mod:`._ranking`).
* ``directions`` maps every column to ``"minimize"`` or ``"maximize"``.
* Weights are ``{objective: float >= 0}``; objectives left out weigh 0; they are normalised to sum 1.
* Every method works in the *normalised* space of :func:`normalise` (0 = best, 1 = worst over the
  set), so a millisecond and an AUC point can be traded off at all. TOPSIS is the exception: it uses
  its own classic vector normalisation, so it can be checked against textbook examples.

The methods are listed once, in :data:`METHODS` (name → function and plain label).
Nothing here imports streamlit or touches a database.
"""

from __future__ import annotations

from core.decide.mcdm._methods import RHO, chebyshev, knee, lexicographic, topsis, weighted_sum
from core.decide.mcdm._normalise import check_weights, normalise
from core.decide.mcdm._ranking import Better, Ranking, fmt
from core.decide.mcdm._registry import METHOD_LABELS, METHODS, STAKEHOLDER_METHODS, Method, rank_all
from core.decide.mcdm._regret import Regret, regret_table
from core.decide.mcdm._stakeholders import EPSILON_WEIGHT, Stakeholder, shortlist, stakeholder_pick

__all__ = [
    "EPSILON_WEIGHT",
    "METHODS",
    "METHOD_LABELS",
    "RHO",
    "STAKEHOLDER_METHODS",
    "Better",
    "Method",
    "Ranking",
    "Regret",
    "Stakeholder",
    "chebyshev",
    "check_weights",
    "knee",
    "lexicographic",
    "normalise",
    "rank_all",
    "fmt",
    "regret_table",
    "shortlist",
    "stakeholder_pick",
    "topsis",
    "weighted_sum",
]
