"""``tradeoff front``: a study's Pareto front as a table or as JSON, every figure labelled with where
it was measured (search CV or held-out test) and every hard limit judged on both parts.

Heavy modules (Optuna, scikit-learn) are imported inside the command, so ``tradeoff -h`` stays quick.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from core import objectives as obj
from core import search
from core import storage as st
from core._json import jsonable
from core.cli._options import csv_list, storage_option

if TYPE_CHECKING:
    from core.spec import Objective, Spec, ValueModel


#: Where each figure of ``tradeoff front`` was measured, as the JSON's ``scope`` says it.
SCOPES = {
    "metrics": "search: out-of-fold CV mean on the training part (latency, size, cost: measured on the model at search time)",
    "test_metrics": "held-out test part, never seen by the search",
    "limits": "each hard limit judged on both parts; the front is chosen on search data only",
}


def _scope(name: str) -> str:
    return "search CV" if obj.get(name).on_test else "search"


def _columns(names: Sequence[str]) -> list[tuple[str, str]]:
    """(header, frame column) per shown figure: each objective in search, then on held-out data."""
    cols = []
    for n in names:
        label = obj.get(n).label
        cols.append((f"{label} ({_scope(n)})", n))
        if obj.get(n).on_test:
            cols.append((f"{label} (held-out test)", obj.TEST_ATTR + n))
    return cols


def print_front_table(
    pf: Any, names: Sequence[str], limits: Sequence[Objective] = (), *, value_model: ValueModel | None = None
) -> None:
    """The front's trials, one line each, every figure in its unit under a header naming its scope,
    and (with ``limits``) each trial's hard-limit status on both parts. With ``value_model``, value
    reads in the team's units (utility units unless it priced its decisions)."""
    if pf.empty:
        print("no feasible finished trials yet")
        return
    cols = _columns(names)
    head = ["#", "family"] + [h for h, _ in cols]
    rows = [
        [str(int(r["number"])), str(r["family"])]
        + [_shown(c.removeprefix(obj.TEST_ATTR), value_model).fmt(r.get(c)) for _, c in cols]
        for _, r in pf.iterrows()
    ]
    if any(o.limit is not None for o in limits) and "limits_status" in pf:
        head.append("hard limits")
        for row, status in zip(rows, pf["limits_status"]):
            row.append(str(status))
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    print("  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip())
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())


def _shown(name: str, vm: ValueModel | None) -> obj.MetricDef:
    """The metric as the team's value model reads it (net value in utility units when unpriced)."""
    from core.metrics import display_metric

    return obj.get(name) if vm is None else display_metric(obj.get(name), vm)


def print_suspicion(frame: Any, spec: Spec) -> None:
    """Each "too good to be true" finding (:func:`core.decide.suspicion.too_good`) on its own line."""
    from core.decide.suspicion import too_good

    for line in too_good(frame, spec):
        print("warning: " + line)


def print_limits(frame: Any, limits: Sequence[Objective]) -> None:
    """The one sentence on the hard limits (:func:`core.decide.front.limits_summary`), if any."""
    from core.decide import front

    text = front.limits_summary(frame, limits)
    if text:
        print("hard limits: " + text)


def _record(r: Any, knee: int | None, limits: Sequence[Objective]) -> dict[str, Any]:
    from core.models import families as fam
    from core.search import limit_checks

    family, params = fam.split_params(r["params"])
    test = {m: r.get(obj.TEST_ATTR + m) for m in obj.TEST_METRICS}
    return jsonable(
        {
            "number": int(r["number"]),
            "family": family,
            "family_class": r["family_class"],
            "params": params,
            "threshold": r["threshold"],
            "metrics": {m: float(r[m]) for m in obj.REGISTRY if m in r and r[m] == r[m]},
            "test_metrics": {m: float(v) for m, v in test.items() if v is not None and v == v},
            "limits": limit_checks(r, limits),
            "limits_status": r.get("limits_status"),
            "knee": int(r["number"]) == knee,
        }
    )


def _study_frame(study_name: str, url: str | None) -> tuple[Spec, Any]:
    from core import search
    from core.decide import limits

    study = search.open_study(url, study_name)
    spec = limits.view_spec(search.load_spec(study), study.user_attrs)  # the room's limits
    return spec, search.trials_frame(study.get_trials(deepcopy=False), spec)


def _records(study_name: str, spec: Spec, frame: Any, objectives: Sequence[str] | None) -> dict:
    from core.decide import front

    names = list(objectives or spec.objective_names)
    for n in names:
        obj.get(n)
    pf = front.front(frame, names)
    knee = front.knee_index(pf, names)
    return {
        "study": study_name,
        "objectives": names,
        "directions": [obj.get(n).direction for n in names],
        "scope": SCOPES,
        "hypervolume": front.hypervolume(pf, names, front.bounds(frame, names)),
        "limits_summary": front.limits_summary(frame, spec.objectives),
        "trials": [_record(r, knee, spec.objectives) for _, r in pf.iterrows()],
    }


def front_records(study_name: str, url: str | None, objectives: Sequence[str] | None = None) -> dict:
    """The Pareto set as plain JSON-able data: trial number, family, params, every metric in search
    (``metrics``) and on held-out data (``test_metrics``), and each hard limit on both parts."""
    spec, frame = _study_frame(study_name, url)
    return _records(study_name, spec, frame, objectives)


def cmd_front(args: argparse.Namespace) -> int:
    from core.decide import front

    args.storage = st.resolve_existing(args.storage)  # reading never creates a database
    if getattr(args, "operating_points", False):
        from core.cli._operating_points import cmd_front_points

        return cmd_front_points(args)
    spec, frame = _study_frame(args.study, args.storage)
    data = _records(args.study, spec, frame, args.objectives)
    running = [int(n) for n in frame.loc[frame["state"] == "RUNNING", "number"]] if len(frame) else []
    stalled = search.stalled_note(len(search.stalled_trials(args.storage, args.study, running)))
    if stalled:
        data["stalled"] = stalled
    if args.json:
        print(json.dumps(data, indent=2, default=str))
        return 0
    pf = front.front(frame, data["objectives"])
    print_front_table(pf, data["objectives"], spec.objectives, value_model=spec.value_model)
    print(f"hypervolume {data['hypervolume']:.4f} (normalised, reference point {front.REF})")
    print_limits(frame, spec.objectives)
    print_suspicion(frame, spec)
    if stalled:
        print(f"note: {stalled}; another worker's recovery fails it and runs it again")
    return 0


def register_cli(sub: Any) -> None:
    """Add ``front`` to the ``tradeoff`` command."""
    sp = sub.add_parser("front", help="print the Pareto front of a study")
    storage_option(sp)
    sp.add_argument("--study", required=True)
    sp.add_argument("--objectives", type=csv_list, help="re-choose objectives (from stored metrics)")
    sp.add_argument("--json", action="store_true")
    sp.add_argument(
        "--operating-points",
        action="store_true",
        help="the front over (trial, decision rule) from each trial's stored curve; old trials give one point",
    )
    sp.set_defaults(func=cmd_front)


__all__ = [
    "SCOPES",
    "cmd_front",
    "front_records",
    "print_front_table",
    "print_limits",
    "print_suspicion",
    "register_cli",
]
