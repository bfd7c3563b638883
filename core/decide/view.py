"""What the Decide page and ``tradeoff room show`` display, built once from a study and its room.

Why a module of its own: the page must stay thin (it only draws) and the CLI must print the same
numbers as the page, so both call :func:`build` and read the same :class:`DecisionView`. Nothing here
imports streamlit.

The flow:

1. the study's Pareto set for the spec's objectives over *options* — each feasible complete trial
   with its own tuned rule and with every other operating point stored on its curve, since the
   same fitted model at another threshold is another trade-off the room may choose — →
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

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from core import objectives as obj
from core.decide import front, mcdm, options
from core.decide import limits as view_limits
from core.errors import UserInputError
from core.search import reader as study_reader
from core.spec import Spec

#: Display names of the methods, in the order the page shows them (from the method registry).
METHOD_LABELS = mcdm.METHOD_LABELS


@dataclass(frozen=True)
class DecisionView:
    """Everything the Decide page shows, as plain data.

    Rows are *options* (:mod:`core.decide.options`): a trial with its own tuned rule (key ``"12"``,
    also every trial of an old study) or with another operating point of its curve (``"12@3"``), so
    a method's winner may be a rule the search did not tune. ``points`` is the Pareto set over
    options (index = option key, columns = objectives in their units); ``normalised`` the same in
    [0, 1], 0 = best over the set (:func:`core.decide.mcdm.normalise`); ``families`` the model
    family per option; ``labels`` each option in plain words; ``picks`` each stakeholder's own
    ranking; ``methods`` each method's ranking with equal weights; ``shortlist`` the candidates
    worth discussing, in a stable order; ``regret`` what each stakeholder gives up under each
    candidate; ``off_front`` the room's proposals that are no longer on the front (the study moved
    on) and so have no regret row; ``limits`` each point's hard-limit status on both parts
    (:data:`core.search.STATUS_TEXT`): the points are chosen on search data, so one may still break
    a limit on held-out data.
    """

    study_name: str
    objectives: tuple[str, ...]
    directions: dict[str, str]
    points: pd.DataFrame
    normalised: pd.DataFrame
    families: dict[str, str]
    stakeholders: tuple[mcdm.Stakeholder, ...]
    picks: dict[str, mcdm.Ranking]
    methods: dict[str, mcdm.Ranking]
    shortlist: tuple[str, ...]
    regret: mcdm.Regret
    off_front: tuple[str, ...] = field(default_factory=tuple)
    limits: dict[str, str] = field(default_factory=dict)
    value_model: Any = None  # the spec's: unpriced net value reads in utility units, never €
    labels: dict[str, str] = field(default_factory=dict)

    def label(self, key: str | int) -> str:
        """``"#12 Logistic regression"`` or ``"#12 Logistic regression at threshold 0.41"``: how
        every figure and table names an option (registry labels, never codes)."""
        from core.viz import trial_label

        k = canonical(key)
        if k in self.labels:
            return self.labels[k]
        number, point = options.parse_option(k)
        head = trial_label(number, self.families.get(str(number)))
        return head if point is None else f"{head} (operating point {point})"

    def chosen_by(self, key: str) -> list[str]:
        """Who or what picks this option: stakeholder names, then method labels."""
        who = [name for name, r in self.picks.items() if r.winner == key]
        who += [METHOD_LABELS[m] for m, r in self.methods.items() if r.winner == key]
        return who

    def shortlist_table(self) -> pd.DataFrame:
        """One row per shortlisted option: label, objective values in units, who picks it, regret.

        Values are formatted text (units included) because this table is for reading in a
        meeting; the numbers themselves are in ``points`` and ``regret``.
        """
        rows = []
        for t in self.shortlist:
            row: dict[str, Any] = {"option": t, "candidate": self.label(t)}
            for name in self.objectives:
                row[obj.get(name).label] = mcdm.fmt(name, float(self.points.at[t, name]), self.value_model)
            row["hard limits"] = self.limits.get(t, "")
            row["picked by"] = ", ".join(self.chosen_by(t)) or "proposed in the room"
            row["max regret"] = round(float(self.regret.normalised.loc[t].max()), 3)
            row["compromise"] = t == self.regret.compromise
            rows.append(row)
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (``tradeoff room show --json``).

        Every option has its key (``"option"``) beside its trial number (``"trial"``, the number
        alone, as before operating points existed), so old scripts read old studies unchanged.
        """
        return {
            "study": self.study_name,
            "objectives": list(self.objectives),
            "shortlist": [
                {
                    "trial": options.parse_option(t)[0],
                    "option": t,
                    "label": self.label(t),
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
                    **_pick("pick", self.picks[s.name].winner),
                    "why": self.picks[s.name].why,
                }
                for s in self.stakeholders
            ],
            "methods": {m: {**_pick("winner", r.winner), "why": r.why} for m, r in self.methods.items()},
            **_pick("compromise", self.regret.compromise),
            "off_front": list(self.off_front),
        }


def _pick(name: str, key: str) -> dict[str, Any]:
    """``{name: trial number, name_option: key}``: the number alone reads as it did for old rooms."""
    return {name: options.parse_option(key)[0], f"{name}_option": key}


def canonical(key: str | int) -> str:
    """An option key as the view indexes it (``12`` → ``"12"``, ``"#12 @ 3"`` → ``"12@3"``)."""
    return options.option_key(*options.parse_option(key))


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


def as_options(frame: pd.DataFrame, spec: Spec, curves: Mapping[int, Any] | None = None) -> pd.DataFrame:
    """The options frame of a trials frame (one row per trial × operating point in ``curves``);
    a frame that is one already is returned as it is. Without curves every trial is one option,
    its own rule, as in a study from before operating points."""
    if options.OPTION in frame.columns:
        return frame
    return options.options_frame(frame, curves or {}, spec.objectives)


def _option_label(row: Mapping[str, Any]) -> str:
    """The trial's registry label, then the rule when it is not the trial's own (options.label)."""
    from core.viz import trial_label

    number = int(row["number"])
    family = row.get("family")
    head = trial_label(number, family if isinstance(family, str) else None)
    return head + options.label(row)[len(f"#{number}") :]


def pareto_points(frame: pd.DataFrame, spec: Spec) -> tuple[pd.DataFrame, dict[str, str]]:
    """The Pareto set of the spec's objectives among feasible complete options.

    ``frame`` is a trials frame (each trial one option, its own rule) or an options frame
    (:func:`as_options`). Returns ``(points, families)``: points indexed by option key with one
    float column per objective, and each option's model family. Raises :class:`UserInputError`
    when there is nothing to decide between yet, saying why (no finished trial, or none holds the
    hard limits in search).
    """
    frame = as_options(frame, spec)
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
    pareto = front.front(frame, names).dropna(subset=names)
    pareto = pareto.sort_values(["number", options.OPTION]).drop_duplicates(options.OPTION)
    points = pareto.set_index(options.OPTION)[names].astype(float)
    points.index.name = "option"
    families = {str(k): str(f) for k, f in zip(pareto[options.OPTION], pareto["family"]) if pd.notna(f)}
    points.attrs["names"] = {str(r[options.OPTION]): _option_label(r) for r in pareto.to_dict("records")}
    return points, families


def _labels_of(opts: pd.DataFrame, keys: Iterable[str]) -> dict[str, str]:
    rows = opts[opts[options.OPTION].isin(list(keys))]
    return {str(r[options.OPTION]): _option_label(r) for r in rows.to_dict("records")}


def _proposals(proposed: Iterable[str | int], opts: pd.DataFrame) -> list[str]:
    """The room's proposals as the view's keys; a tuned point named as ``"12@4"`` is trial 12's own rule."""
    out, known = [], set(opts[options.OPTION])
    for raw in proposed:
        key = canonical(raw)
        if key not in known:
            try:
                key = str(options.find(opts, key)[options.OPTION])
            except UserInputError:
                pass  # not an option of this study (any more): reported as off the front
        out.append(key)
    return out


def build(
    spec: Spec,
    frame: pd.DataFrame,
    *,
    study_name: str = "",
    stakeholders: Sequence[mcdm.Stakeholder] | None = None,
    proposed: Iterable[str | int] = (),
    curves: Mapping[int, Any] | None = None,
) -> DecisionView:
    """Compute the whole view from a trials frame (``study_reader.read_frame``) and the study's
    ``curves`` (``study_reader.read_curves``), or from an options frame.

    ``stakeholders=None`` (or empty) uses :func:`default_stakeholders`; ``proposed`` are option
    keys (or trial numbers) already on the room's shortlist: kept (in front of the computed
    candidates) when still on the front, reported in ``off_front`` otherwise.
    """
    opts = as_options(frame, spec, curves)
    points, families = pareto_points(opts, spec)
    points.attrs["value_model"] = spec.value_model
    status = front.limits_status(opts, spec.objectives)
    limits = {str(k): str(s) for k, s in zip(opts[options.OPTION], status) if str(k) in points.index}
    directions: dict[str, str] = {n: obj.get(n).direction for n in points.columns}
    people = list(stakeholders) if stakeholders else default_stakeholders(spec)
    picks = {s.name: mcdm.stakeholder_pick(points, directions, s) for s in people}
    methods = mcdm.rank_all(points, directions)
    wanted = _proposals(proposed, opts)
    computed = mcdm.shortlist(points, directions, people) + [methods["lexicographic"].winner]
    on_front = set(points.index)
    shortlist = tuple(dict.fromkeys([t for t in wanted if t in on_front] + [str(t) for t in computed]))
    regret = mcdm.regret_table(points, directions, people, shortlist, value_model=spec.value_model)
    off_front = tuple(t for t in dict.fromkeys(wanted) if t not in on_front)
    labels = dict(points.attrs["names"]) | _labels_of(opts, off_front)  # off the front, still named in words
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
        off_front=off_front,
        limits=limits,
        value_model=spec.value_model,
        labels=labels,
    )


def load(url: str, study_name: str, store: Any | None = None) -> tuple[Spec, DecisionView]:
    """Read a study and (when ``store`` has a room for it) the room's stakeholders and proposals."""
    spec = view_limits.load_view_spec(url, study_name)  # the room's limits, judged on stored metrics
    frame = study_reader.read_frame(url, study_name, spec)
    curves = study_reader.read_curves(url, study_name)
    people: list[mcdm.Stakeholder] = []
    proposed: list[str] = []
    if store is not None:
        room_id = store.room_id(study_name)
        if room_id is not None:
            people = store.stakeholders(room_id)
            proposed = store.candidates(room_id)
    return spec, build(spec, frame, study_name=study_name, stakeholders=people, proposed=proposed, curves=curves)


def open_room(store: Any, spec: Spec, view: DecisionView, facilitator: str, passcode: str | None = None) -> Any:
    """Open the study's room, seed it (default stakeholders, the computed shortlist) and return the
    facilitator's credential. An open room is refused by the store, so nothing can be reset."""
    cred = store.open_room(view.study_name, facilitator, passcode)
    for s in view.stakeholders or default_stakeholders(spec):
        store.save_stakeholder(cred.room_id, cred.token, s.name, s.objectives, s.weights, s.aspirations, s.method)
    sync_shortlist(store, cred.room_id, view, cred.token)
    return cred


def sync_shortlist(store: Any, room_id: int, view: DecisionView, by: str) -> list[str]:
    """Propose the view's shortlisted options the room does not list yet; returns those added.

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


def describe_event(
    kind: str, trial_number: int | str | None, detail: dict[str, Any], name: Callable[[Any], str] | None = None
) -> str:
    """One decision-log line in words ("approves trial 5", "locks #5 Logistic regression: <rationale>").

    ``trial_number`` is the event's option (a trial number or a key such as ``"12@3"``); ``name``
    (e.g. :meth:`DecisionView.label`) turns one into plain words, else it reads "trial 12@3".
    Plain text: the caller escapes it for its medium (the rationale inside is user-typed).
    """
    say = name or (lambda t: f"trial {t}")
    trial = say(trial_number) if trial_number is not None else ""
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
        order = " > ".join(str(t) if name is None else name(t) for t in detail.get("ranking") or [])
        return f"ranks {order} (round {detail.get('round')})"
    if kind == "comment":
        return f"commented{' on ' + trial if trial else ''}"
    if kind == "new_round":
        return f"started round {detail.get('round')}"
    if kind == "lock":
        return f"locked the decision on {trial}: {detail.get('rationale', '')}"
    return _describe_identity_event(kind, trial, detail, name)


def _describe_identity_event(kind: str, trial: str, detail: dict[str, Any], name: Callable[[Any], str] | None) -> str:
    """Ballots (only the marks cast; unmarked = no opinion), unlock, hand-over, new tokens."""
    if kind == "ballot":
        say = name or (lambda t: f"trial {t}")
        marks = ", ".join(f"{m}s {say(t)}" for t, m in (detail.get("marks") or {}).items()) or "marks nothing"
        order = " > ".join(str(t) if name is None else name(t) for t in detail.get("ranking") or [])
        return f"casts a ballot: {marks}" + (f"; ranks {order}" if order else "") + f" (round {detail.get('round')})"
    if kind == "unlock":
        return f"unlocked the decision on {trial}: {detail.get('reason', '')}"
    if kind == "hand_over":
        return f"handed the facilitator role to {detail.get('to', '')}"
    if kind == "reissue":
        return f"issued a new token to {detail.get('to', '')}"
    return f"{kind} {trial}".strip()
