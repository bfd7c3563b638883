"""``tradeoff front --operating-points``: the front over (trial, operating point), each row a model
and a decision rule, with its hypervolume beside the one-point front's under the same normalisation.

Old studies (trials stored without a curve) give one point per trial: the front they always had.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from core import objectives as obj

if TYPE_CHECKING:
    from core.spec import Spec

POINT_SCOPE = {
    "points": "one row per (trial, operating point): each rule chosen on search data, also shown on held-out test",
    "hypervolume": "both hypervolumes share one normalisation (bounds over every operating point), so they compare",
}


def _study_points(study_name: str, url: str | None) -> tuple[Spec, Any, Any]:
    """The spec (with the room's limits), the trials frame and the operating-points frame."""
    from core import search
    from core.decide import limits, options
    from core.search import reader

    study = search.open_study(url, study_name)
    spec = limits.view_spec(search.load_spec(study), study.user_attrs)
    frame = reader.read_frame(url, study_name, spec)
    points = options.options_frame(frame, reader.read_curves(url, study_name), spec.objectives)
    return spec, frame, points


def point_records(spec: Spec, frame: Any, points: Any, names: Sequence[str], study_name: str) -> dict:
    """The operating-point front as plain JSON-able data (``tradeoff front --operating-points --json``)."""
    from core.cli.front import SCOPES, _record
    from core.decide import front
    from core.decide.operating_points import POINT, RULE_KIND, knee_position

    for n in names:
        obj.get(n)
    b = front.bounds(points, names)
    pf = front.front(points, names).reset_index(drop=True)
    knee = knee_position(pf, names)
    rows = []
    for i, r in pf.iterrows():
        rec = _record(r, None, spec.objectives)
        point = r.get(POINT)
        rows.append(
            {
                **rec,
                "option": r.get("option", str(rec["number"])),
                "point": None if point != point else int(point),
                "rule_kind": r.get(RULE_KIND),
                "knee": i == knee,
            }
        )
    return {
        "study": study_name,
        "objectives": list(names),
        "directions": [obj.get(n).direction for n in names],
        "scope": {**SCOPES, **POINT_SCOPE},
        "operating_points": True,
        "hypervolume": front.hypervolume(pf, names, b),
        "hypervolume_one_point": front.hypervolume(front.front(frame, names), names, b),
        "limits_summary": front.limits_summary(frame, spec.objectives),
        "points": rows,
    }


def _print_table(data: dict) -> None:
    """One line per option (trial, rule; ``12@3`` is point 3 of trial 12, what ``export --trial`` and the room
    accept): its threshold and each objective in search and on held-out data."""
    from core.cli.front import _columns

    if not data["points"]:
        print("no feasible finished trials yet")
        return
    cols = _columns(data["objectives"])
    head = ["option", "family", "threshold"] + [h for h, _ in cols]
    rows = []
    for p in data["points"]:
        row = [str(p.get("option", p["number"])), str(p["family"])]
        row.append("–" if p["threshold"] is None else f"{p['threshold']:.4f}")
        for _, c in cols:
            name = c.removeprefix(obj.TEST_ATTR)
            part = p["test_metrics"] if c.startswith(obj.TEST_ATTR) else p["metrics"]
            row.append(obj.get(name).fmt(part.get(name)))
        rows.append(row)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    for r in [head, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())


def cmd_front_points(args: argparse.Namespace) -> int:
    """Print (or ``--json``) the front over (trial, operating point) and both hypervolumes."""
    from core.decide import front

    spec, frame, points = _study_points(args.study, args.storage)
    data = point_records(spec, frame, points, list(args.objectives or spec.objective_names), args.study)
    if args.json:
        print(json.dumps(data, indent=2, default=str))
        return 0
    _print_table(data)
    print(
        f"hypervolume {data['hypervolume']:.4f} over operating points, {data['hypervolume_one_point']:.4f} "
        f"with one point per trial (normalised alike, reference point {front.REF})"
    )
    return 0


__all__ = ["cmd_front_points", "point_records"]
