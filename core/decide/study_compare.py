"""Compare two studies on the same objectives: did the choice survive new data?

The typical case: study A was decided last quarter; new data arrived; study B was warm-started from
A's bundle (``tradeoff import``), so B's first trial is A's chosen configuration re-evaluated on
the new data. The room then asks: does that configuration still sit on B's front, and how far did
it move?

Two answers, because they mean different things:

- *same configuration in B* (matched by family and hyperparameters): is that B trial on B's front,
  and how did each objective change (in units, and as a distance in normalised loss space)?
- *A's point against B's front*: would A's recorded numbers still be Pareto-optimal among B's
  trials, and how far is the point from B's front (0 when it is on or beyond it)?

Both fronts use A's objectives and hard limits, so they are comparable; normalisation uses bounds
over the finished trials of both studies together.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core import objectives as obj
from core import search
from core import storage as st
from core.decide import front as front_mod
from core.decide.room_lock import room_lock
from core.errors import UserInputError
from core.metrics import display_metric
from core.models import families as fam
from core.search import reader as study_reader
from core.spec import Objective


@dataclass
class StudyComparison:
    study_a: str
    study_b: str
    objectives: list[str]
    limits: list[Objective]
    frame_a: pd.DataFrame
    frame_b: pd.DataFrame
    front_a: pd.DataFrame
    front_b: pd.DataFrame
    chosen_a: int | None
    chosen_source: str
    point_a: dict[str, float] = field(default_factory=dict)
    match_b: int | None = None
    point_b: dict[str, float] | None = None
    match_on_front_b: bool | None = None
    point_a_dominated_by_b: bool | None = None
    distance_to_front_b: float | None = None
    moved: dict[str, float] = field(default_factory=dict)
    moved_distance: float | None = None
    hypervolume_a: float = 0.0
    hypervolume_b: float = 0.0
    value_model: Any = None  # study A's: unpriced net value reads in utility units, never €

    def summary(self) -> list[str]:
        """Sentences for a meeting (plain text; the UI escapes them)."""
        out = [
            f"Objectives: {', '.join(obj.get(n).label for n in self.objectives)}. Front sizes: "
            f"{self.study_a} {len(self.front_a)}, {self.study_b} {len(self.front_b)}; hypervolume "
            f"(shared normalisation) {self.hypervolume_a:.3f} → {self.hypervolume_b:.3f}."
        ]
        if self.chosen_a is None:
            out.append(f"{self.study_a} has no chosen or knee trial to follow.")
            return out
        out.append(f"Chosen in {self.study_a}: trial #{self.chosen_a} ({self.chosen_source}).")
        if self.match_b is None:
            out.append(
                f"{self.study_b} has no trial with the same configuration (import A's bundle into "
                "B to re-evaluate it there)."
            )
        else:
            where = "still on" if self.match_on_front_b else "no longer on"
            changes = "; ".join(f"{obj.get(n).label} {_signed(n, d, self.value_model)}" for n, d in self.moved.items())
            out.append(
                f"The same configuration is trial #{self.match_b} in {self.study_b}, {where} its front; "
                f"it moved by {self.moved_distance:.3f} (normalised): {changes}."
            )
        if self.point_a_dominated_by_b is not None:
            if self.point_a_dominated_by_b:
                out.append(
                    f"Trials of {self.study_b} dominate the numbers recorded for #{self.chosen_a}; "
                    f"its distance to {self.study_b}'s front is {self.distance_to_front_b:.3f} (normalised)."
                )
            else:
                out.append(f"No trial of {self.study_b} dominates the numbers recorded for #{self.chosen_a}.")
        return out


def _signed(name: str, delta: float, value_model: Any = None) -> str:
    m = obj.get(name) if value_model is None else display_metric(obj.get(name), value_model)
    better = (delta < 0) if m.direction == "minimize" else (delta > 0)
    word = "same" if abs(delta) < 1e-12 else ("better" if better else "worse")
    sign = "+" if delta >= 0 else "−"
    return f"{sign}{m.fmt(abs(delta))} ({word})"


def _params_equal(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if set(a) != set(b):
        return False
    for k, va in a.items():
        vb = b[k]
        if isinstance(va, float) or isinstance(vb, float):
            try:
                if not math.isclose(float(va), float(vb), rel_tol=1e-9, abs_tol=1e-12):
                    return False
            except (TypeError, ValueError):
                return False
        elif va != vb:
            return False
    return True


def find_config(frame: pd.DataFrame, flat_params: dict[str, Any]) -> int | None:
    """The first finished trial whose Optuna parameters equal ``flat_params`` (floats to 1e-9)."""
    done = frame[frame["state"] == "COMPLETE"]
    for _, row in done.sort_values("number").iterrows():
        if _params_equal(dict(row["params"] or {}), flat_params):
            return int(row["number"])
    return None


def _chosen(url: str, study_name: str, front: pd.DataFrame, names: Sequence[str]) -> tuple[int | None, str]:
    locked, why = room_lock(url, study_name)
    if locked is not None:
        return locked, f"the room's decision, {why}"
    if front.empty:
        return None, "no feasible trial"
    return front_mod.knee_index(front, names), "the knee of its front (no locked decision)"


def _specs(url: str, study_a: str, url_b: str, study_b: str, objectives: Sequence[str] | None) -> tuple:
    """Both studies' specs and the objectives to compare on (A's, unless named)."""
    spec_a = search.load_spec(search.open_study(url, study_a))
    spec_b = search.load_spec(search.open_study(url_b, study_b))
    names = list(objectives or spec_a.objective_names)
    for n in names:
        obj.get(n)
    if objectives is None and set(spec_b.objective_names) != set(names):
        raise UserInputError(
            f"{study_a} optimises {', '.join(names)} but {study_b} optimises "
            f"{', '.join(spec_b.objective_names)}; compare them on named objectives (every trial "
            "stores every metric).",
            field="objectives",
        )
    return spec_a, spec_b, names


def _against_front_b(out: StudyComparison, la: np.ndarray, bounds: Any) -> None:
    """Would A's recorded numbers still be Pareto-optimal among B's trials, and how far off are they?"""
    if not len(out.front_b):
        return
    lb = front_mod.normalise(front_mod.losses(out.front_b, out.objectives), bounds)
    lb = lb[np.isfinite(lb).all(axis=1)]
    if len(lb):
        dominated = ((lb <= la).all(axis=1) & (lb < la).any(axis=1)).any()
        out.point_a_dominated_by_b = bool(dominated)
        # how far A's point would have to improve to reach B's front (0 if not dominated)
        gaps = np.clip(la - lb, 0.0, None)
        out.distance_to_front_b = float(np.min(np.linalg.norm(gaps, axis=1))) if dominated else 0.0


def _follow_config(out: StudyComparison, row_a: pd.Series, la: np.ndarray, bounds: Any) -> None:
    """Find A's configuration among B's trials and how far it moved there."""
    names = out.objectives
    params = dict(row_a["params"] or {})
    if row_a["family"] and params:
        target = fam.flat_params(*fam.split_params(params)) if "family" in params else params
        out.match_b = find_config(out.frame_b, target)
    if out.match_b is None:
        return
    row_b = out.frame_b[out.frame_b["number"] == out.match_b].iloc[0]
    out.point_b = {n: float(row_b[n]) for n in names}
    out.match_on_front_b = bool(out.match_b in set(out.front_b["number"]))
    out.moved = {n: out.point_b[n] - out.point_a[n] for n in names}
    lbm = front_mod.normalise(front_mod.losses(row_b.to_frame().T, names), bounds)[0]
    out.moved_distance = float(np.linalg.norm(lbm - la))


def compare(
    url: str | None,
    study_a: str,
    study_b: str,
    *,
    objectives: Sequence[str] | None = None,
    chosen: int | None = None,
    url_b: str | None = None,
) -> StudyComparison:
    """Both fronts on A's objectives and limits, A's chosen configuration followed into B."""
    url = st.resolve(url)
    url_b = st.resolve(url_b) if url_b else url
    spec_a, spec_b, names = _specs(url, study_a, url_b, study_b, objectives)
    limits = [o for o in spec_a.objectives if o.name in names]
    fa = study_reader.read_frame(url, study_a, spec_a)
    fb = study_reader.read_frame(url_b, study_b, spec_b)
    for f in (fa, fb):
        f["feasible"] = front_mod.feasible_mask(f, limits)
    pa, pb = front_mod.front(fa, names), front_mod.front(fb, names)
    bounds = front_mod.bounds(pd.concat([fa, fb], ignore_index=True), names)
    out = StudyComparison(
        study_a=study_a,
        study_b=study_b,
        objectives=names,
        limits=limits,
        frame_a=fa,
        frame_b=fb,
        front_a=pa,
        front_b=pb,
        chosen_a=None,
        chosen_source="",
        hypervolume_a=front_mod.hypervolume(pa, names, bounds),
        hypervolume_b=front_mod.hypervolume(pb, names, bounds),
        value_model=spec_a.value_model,
    )
    if chosen is not None:
        out.chosen_a, out.chosen_source = int(chosen), "chosen by you"
    else:
        out.chosen_a, out.chosen_source = _chosen(url, study_a, pa, names)
    if out.chosen_a is None:
        return out
    row_a = fa[fa["number"] == out.chosen_a]
    if row_a.empty or row_a["state"].iloc[0] != "COMPLETE":
        raise UserInputError(f"Trial #{out.chosen_a} of {study_a} is not a finished trial.", field="trial")
    row_a = row_a.iloc[0]
    out.point_a = {n: float(row_a[n]) for n in names}
    la = front_mod.normalise(front_mod.losses(row_a.to_frame().T, names), bounds)[0]
    _against_front_b(out, la, bounds)
    _follow_config(out, row_a, la, bounds)
    return out
