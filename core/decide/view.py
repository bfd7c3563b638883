"""What the Decide page and ``tradeoff room show`` display, built once from a study and its room.

Why a module of its own: the page must stay thin (it only draws) and the CLI must print the same
numbers as the page, so both call :func:`build` and read the same :class:`DecisionView`. Nothing here
imports streamlit.

The flow:

1. the study's Pareto set for the spec's objectives (feasible, complete trials only) →
   :func:`pareto_points`;
2. stakeholders: the room's saved profiles, or — before anyone saved one — one per objective owner
   in the spec (:func:`default_stakeholders`: equal weights over what they own, the spec's
   aspiration levels);
3. each stakeholder's own pick, every method's winner with equal weights (weighted sum, Chebyshev,
   TOPSIS, lexicographic in the spec's objective order, knee) and the shortlist: the union of those
   plus whatever the room proposed that is still on the front;
4. the regret table over the shortlist and the min-max-regret compromise (:func:`core.decide.mcdm.regret_table`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from core import objectives as obj
from core.decide import front, mcdm
from core.decide import limits as view_limits
from core.errors import UserInputError
from core.search import reader as study_reader
from core.spec import Spec

#: Display names of the methods, in the order the page shows them (from the method registry).
METHOD_LABELS = mcdm.METHOD_LABELS


@dataclass(frozen=True)
class DecisionView:
    """Everything the Decide page shows, as plain data.

    ``points`` is the Pareto set (index = trial number, columns = objectives in their units);
    ``normalised`` the same in [0, 1], 0 = best over the set (:func:`core.decide.mcdm.normalise`);
    ``families`` the model family per trial; ``picks`` each stakeholder's own ranking; ``methods``
    each method's ranking with equal weights; ``shortlist`` the candidates worth discussing, in a
    stable order; ``regret`` what each stakeholder gives up under each candidate; ``off_front`` the
    room's proposals that are no longer on the front (the study moved on) and so have no regret row;
    ``limits`` each point's hard-limit status on both parts (:data:`core.search.STATUS_TEXT`): the
    points are chosen on search data, so one may still break a limit on held-out data.
    """

    study_name: str
    objectives: tuple[str, ...]
    directions: dict[str, str]
    points: pd.DataFrame
    normalised: pd.DataFrame
    families: dict[int, str]
    stakeholders: tuple[mcdm.Stakeholder, ...]
    picks: dict[str, mcdm.Ranking]
    methods: dict[str, mcdm.Ranking]
    shortlist: tuple[int, ...]
    regret: mcdm.Regret
    off_front: tuple[int, ...] = field(default_factory=tuple)
    limits: dict[int, str] = field(default_factory=dict)
    value_model: Any = None  # the spec's: unpriced net value reads in utility units, never €

    def label(self, trial: int) -> str:
        """``"#12 Logistic regression"``: how every figure and table names a trial (registry label)."""
        from core.viz import trial_label

        return trial_label(trial, self.families.get(int(trial)))

    def chosen_by(self, trial: int) -> list[str]:
        """Who or what picks this trial: stakeholder names, then method labels."""
        who = [name for name, r in self.picks.items() if r.winner == trial]
        who += [METHOD_LABELS[m] for m, r in self.methods.items() if r.winner == trial]
        return who

    def shortlist_table(self) -> pd.DataFrame:
        """One row per shortlisted trial: label, objective values in units, who picks it, regret.

        Values are formatted text (units included) because this table is for reading in a
        meeting; the numbers themselves are in ``points`` and ``regret``.
        """
        rows = []
        for t in self.shortlist:
            row: dict[str, Any] = {"trial": t, "candidate": self.label(t)}
            for name in self.objectives:
                row[obj.get(name).label] = mcdm.fmt(name, float(self.points.at[t, name]), self.value_model)
            row["hard limits"] = self.limits.get(t, "")
            row["picked by"] = ", ".join(self.chosen_by(t)) or "proposed in the room"
            row["max regret"] = round(float(self.regret.normalised.loc[t].max()), 3)
            row["compromise"] = t == self.regret.compromise
            rows.append(row)
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (``tradeoff room show --json``)."""
        return {
            "study": self.study_name,
            "objectives": list(self.objectives),
            "shortlist": [
                {
                    "trial": t,
                    "family": self.families.get(t),
                    "values": {n: float(self.points.at[t, n]) for n in self.objectives},
                    "normalised": {n: float(self.normalised.at[t, n]) for n in self.objectives},
                    "limits_status": self.limits.get(t),
                    "picked_by": self.chosen_by(t),
                    "regret": {s: float(v) for s, v in self.regret.normalised.loc[t].items()},
                    "regret_in_units": {s: str(v) for s, v in self.regret.in_units.loc[t].items()},
                }
                for t in self.shortlist
            ],
            "stakeholders": [
                {
                    "name": s.name,
                    "objectives": list(s.objectives),
                    "weights": dict(s.weights),
                    "aspirations": dict(s.aspirations),
                    "method": s.method,
                    "pick": self.picks[s.name].winner,
                    "why": self.picks[s.name].why,
                }
                for s in self.stakeholders
            ],
            "methods": {m: {"winner": r.winner, "why": r.why} for m, r in self.methods.items()},
            "compromise": self.regret.compromise,
            "off_front": list(self.off_front),
        }


def default_stakeholders(spec: Spec) -> list[mcdm.Stakeholder]:
    """One stakeholder per objective owner in the spec, in the order owners first appear.

    Equal weights over what they own (the weights are theirs to change in the room) and the
    spec's aspiration levels, which make their own method the reference-point one.
    """
    owned: dict[str, list[str]] = {}
    aspirations: dict[str, dict[str, float]] = {}
    for o in spec.objectives:
        owner = (o.owner or obj.get(o.name).default_owner).strip()
        owned.setdefault(owner, []).append(o.name)
        if o.aspiration is not None:
            aspirations.setdefault(owner, {})[o.name] = float(o.aspiration)
    return [mcdm.Stakeholder(owner, tuple(names), {}, aspirations.get(owner, {})) for owner, names in owned.items()]


def pareto_points(frame: pd.DataFrame, spec: Spec) -> tuple[pd.DataFrame, dict[int, str]]:
    """The Pareto set of the spec's objectives among feasible complete trials.

    Returns ``(points, families)``: points indexed by trial number with one float column per
    objective, and each trial's model family. Raises :class:`UserInputError` when there is nothing
    to decide between yet, saying why (no finished trial, or none holds the hard limits in search).
    """
    names = list(spec.objective_names)
    done = frame[frame["state"] == "COMPLETE"] if len(frame) else frame
    if len(done) == 0:
        raise UserInputError("No finished trial yet: run the search first, then come back to decide.", field="study")
    if not bool(done["feasible"].any()):
        summary = front.limits_summary(frame, spec.objectives) or "no finished trial holds every hard limit."
        raise UserInputError(
            f"Nothing to decide between yet: {summary} Relax a limit on the Objectives page or run more trials.",
            field="objectives",
        )
    pareto = front.front(frame, names)
    pareto = pareto.dropna(subset=names)
    points = pareto.set_index("number")[names].astype(float)
    points.index = points.index.astype(int)
    points.index.name = "trial"
    families = {int(n): str(f) for n, f in zip(pareto["number"], pareto["family"]) if pd.notna(f)}
    return points.sort_index(), families


def build(
    spec: Spec,
    frame: pd.DataFrame,
    *,
    study_name: str = "",
    stakeholders: Sequence[mcdm.Stakeholder] | None = None,
    proposed: Iterable[int] = (),
) -> DecisionView:
    """Compute the whole view from a trials frame (``study_reader.read_frame`` / ``trials_frame``).

    ``stakeholders=None`` (or empty) uses :func:`default_stakeholders`; ``proposed`` are trial
    numbers already on the room's shortlist: kept (in front of the computed candidates) when still
    on the front, reported in ``off_front`` otherwise.
    """
    points, families = pareto_points(frame, spec)
    status = front.limits_status(frame, spec.objectives)
    limits = {int(n): str(s) for n, s in zip(frame["number"], status) if int(n) in points.index}
    directions: dict[str, str] = {n: obj.get(n).direction for n in points.columns}
    people = list(stakeholders) if stakeholders else default_stakeholders(spec)
    picks = {s.name: mcdm.stakeholder_pick(points, directions, s) for s in people}
    methods = mcdm.rank_all(points, directions)
    proposed = [int(t) for t in proposed]
    computed = mcdm.shortlist(points, directions, people) + [methods["lexicographic"].winner]
    on_front = set(points.index)
    shortlist = tuple(dict.fromkeys([t for t in proposed if t in on_front] + [int(t) for t in computed]))
    regret = mcdm.regret_table(points, directions, people, shortlist, value_model=spec.value_model)
    return DecisionView(
        study_name=study_name,
        objectives=tuple(points.columns),
        directions=directions,
        points=points,
        normalised=mcdm.normalise(points, directions),
        families=families,
        stakeholders=tuple(people),
        picks=picks,
        methods=methods,
        shortlist=shortlist,
        regret=regret,
        off_front=tuple(t for t in dict.fromkeys(proposed) if t not in on_front),
        limits=limits,
        value_model=spec.value_model,
    )


def load(url: str, study_name: str, store: Any | None = None) -> tuple[Spec, DecisionView]:
    """Read a study and (when ``store`` has a room for it) the room's stakeholders and proposals."""
    spec = view_limits.load_view_spec(url, study_name)  # the room's limits, judged on stored metrics
    frame = study_reader.read_frame(url, study_name, spec)
    people: list[mcdm.Stakeholder] = []
    proposed: list[int] = []
    if store is not None:
        room_id = store.room_id(study_name)
        if room_id is not None:
            people = store.stakeholders(room_id)
            proposed = store.candidates(room_id)
    return spec, build(spec, frame, study_name=study_name, stakeholders=people, proposed=proposed)


def open_room(store: Any, spec: Spec, view: DecisionView, facilitator: str, passcode: str | None = None) -> Any:
    """Open the study's room, seed it (default stakeholders, the computed shortlist) and return the
    facilitator's credential. An open room is refused by the store, so nothing can be reset."""
    cred = store.open_room(view.study_name, facilitator, passcode)
    for s in view.stakeholders or default_stakeholders(spec):
        store.save_stakeholder(cred.room_id, cred.token, s.name, s.objectives, s.weights, s.aspirations, s.method)
    sync_shortlist(store, cred.room_id, view, cred.token)
    return cred


def sync_shortlist(store: Any, room_id: int, view: DecisionView, by: str) -> list[int]:
    """Propose the view's shortlisted trials the room does not list yet; returns those added.

    Votes are only accepted on proposed trials, so when a stakeholder's changed weights bring a new
    pick, it is proposed (by the holder of token ``by``) before anyone can vote on it.
    """
    if store.room(room_id).locked:
        return []
    listed = set(store.candidates(room_id))
    added = []
    for t in view.shortlist:
        if t not in listed and store.propose(room_id, by, t):
            added.append(t)
    return added


def can_edit(room: Any, person: str | None, stakeholder: str) -> bool:
    """A stakeholder card is editable by that stakeholder (same name) or by the facilitator."""
    return bool(person) and not room.locked and person in (stakeholder, room.facilitator)


def describe_event(kind: str, trial_number: int | None, detail: dict[str, Any]) -> str:
    """One decision-log line in words ("approves trial 5", "locks trial 5: <rationale>").

    Plain text: the caller escapes it for its medium (the rationale inside is user-typed).
    """
    trial = f"trial {trial_number}" if trial_number is not None else ""
    if kind == "open":
        return "opened the room" + (" with a passcode" if detail.get("passcode") else "")
    if kind == "join":
        return "joined"
    if kind == "stakeholder":
        weights = ", ".join(
            f"{obj.get(k).label} {float(v):g}" for k, v in (detail.get("weights") or {}).items() if k in obj.REGISTRY
        )
        return f"saved stakeholder {detail.get('stakeholder', '')}" + (f" ({weights})" if weights else "")
    if kind == "remove_stakeholder":
        return f"removed stakeholder {detail.get('stakeholder', '')}"
    if kind == "propose":
        return f"proposed {trial}" + (" (already listed)" if detail.get("already_listed") else "")
    if kind == "vote_approval":
        return f"{'approves' if detail.get('approve') else 'rejects'} {trial} (round {detail.get('round')})"
    if kind == "vote_ranked":
        order = " > ".join(str(t) for t in detail.get("ranking") or [])
        return f"ranks {order} (round {detail.get('round')})"
    if kind == "comment":
        return f"commented{' on ' + trial if trial else ''}"
    if kind == "new_round":
        return f"started round {detail.get('round')}"
    if kind == "lock":
        return f"locked the decision on {trial}: {detail.get('rationale', '')}"
    return _describe_identity_event(kind, trial, detail)


def _describe_identity_event(kind: str, trial: str, detail: dict[str, Any]) -> str:
    """Ballots (only the marks cast; unmarked = no opinion), unlock, hand-over, new tokens."""
    if kind == "ballot":
        marks = ", ".join(f"{m}s trial {t}" for t, m in (detail.get("marks") or {}).items()) or "marks nothing"
        order = " > ".join(str(t) for t in detail.get("ranking") or [])
        return f"casts a ballot: {marks}" + (f"; ranks {order}" if order else "") + f" (round {detail.get('round')})"
    if kind == "unlock":
        return f"unlocked the decision on {trial}: {detail.get('reason', '')}"
    if kind == "hand_over":
        return f"handed the facilitator role to {detail.get('to', '')}"
    if kind == "reissue":
        return f"issued a new token to {detail.get('to', '')}"
    return f"{kind} {trial}".strip()
