"""``tradeoff front``: a study's Pareto front as a table or as JSON.

Heavy modules (Optuna, scikit-learn) are imported inside the command, so ``tradeoff -h`` stays quick.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from typing import Any

from core import objectives as obj
from core.cli._options import csv_list, storage_option


def print_front_table(pf: Any, names: Sequence[str]) -> None:
    """The front's trials, one line each, with every objective formatted in its unit."""
    if pf.empty:
        print("no feasible finished trials yet")
        return
    head = ["#", "family"] + [obj.get(n).label for n in names]
    rows = [[str(int(r["number"])), str(r["family"])] + [obj.get(n).fmt(r[n]) for n in names] for _, r in pf.iterrows()]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    print("  ".join(h.ljust(w) for h, w in zip(head, widths)))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))


def _clean(v: Any) -> Any:
    """JSON has no inf/NaN: an unmeasurable number is written as null."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _record(r: Any, knee: int | None) -> dict[str, Any]:
    from core.models import families as fam

    family, params = fam.split_params(r["params"])
    test = {m: r.get(obj.TEST_ATTR + m) for m in obj.TEST_METRICS}
    return {
        "number": int(r["number"]),
        "family": family,
        "family_class": r["family_class"],
        "params": params,
        "threshold": _clean(r["threshold"]),
        "metrics": {m: _clean(float(r[m])) for m in obj.REGISTRY if m in r and r[m] == r[m]},
        "test_metrics": {m: _clean(float(v)) for m, v in test.items() if v is not None and v == v},
        "knee": int(r["number"]) == knee,
    }


def front_records(study_name: str, url: str | None, objectives: Sequence[str] | None = None) -> dict:
    """The Pareto set as plain JSON-able data (trial number, family, params, every metric)."""
    from core import search
    from core.decide import front

    study = search.open_study(url, study_name)
    spec = search.load_spec(study)
    names = list(objectives or spec.objective_names)
    for n in names:
        obj.get(n)
    frame = front.trials_frame(study.get_trials(deepcopy=False), spec)
    pf = front.front(frame, names)
    knee = front.knee_index(pf, names)
    return {
        "study": study_name,
        "objectives": names,
        "directions": [obj.get(n).direction for n in names],
        "hypervolume": front.hypervolume(pf, names, front.bounds(frame, names)),
        "trials": [_record(r, knee) for _, r in pf.iterrows()],
    }


def cmd_front(args: argparse.Namespace) -> int:
    from core import search
    from core.decide import front

    data = front_records(args.study, args.storage, args.objectives)
    if args.json:
        print(json.dumps(data, indent=2, default=str))
        return 0
    study = search.open_study(args.storage, args.study)
    spec = search.load_spec(study)
    frame = front.trials_frame(study.get_trials(deepcopy=False), spec)
    print_front_table(front.front(frame, data["objectives"]), data["objectives"])
    print(f"hypervolume {data['hypervolume']:.4f} (normalised, reference point {front.REF})")
    return 0


def register_cli(sub: Any) -> None:
    """Add ``front`` to the ``tradeoff`` command."""
    sp = sub.add_parser("front", help="print the Pareto front of a study")
    storage_option(sp)
    sp.add_argument("--study", required=True)
    sp.add_argument("--objectives", type=csv_list, help="re-choose objectives (from stored metrics)")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_front)


__all__ = ["cmd_front", "front_records", "print_front_table", "register_cli"]
