"""The Compare tables, built from the JSON form of :class:`core.decide.compare.Report`
(``Report.to_dict()``): what the page caches, the export bundle stores and ``tradeoff compare``
prints, so a table shown today, one rebuilt from a bundle and one in a terminal read the same.

Cells are plain text (``st.dataframe`` never renders HTML); differences are challenger − baseline,
signed, in the metric's unit. The figures are :mod:`core.viz`'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import pandas as pd

from core import objectives as obj
from core._text import fmt_p
from core.decide.compare._verdict import number


def _fmt(metric: str, v: float | None, unit: str | None = None) -> str:
    """``v`` in the unit the comparison stored (utility units when value was unpriced)."""
    if v is None:
        return "–"
    if metric not in obj.REGISTRY:
        return f"{v:.4g}"
    m = obj.get(metric)
    return (m if not unit or unit == m.unit else replace(m, unit=unit)).fmt(v)


def _fmt_diff(metric: str, v: float | None, unit: str | None = None) -> str:
    if v is None:
        return "–"
    return number(v, unit or (obj.get(metric).unit if metric in obj.REGISTRY else ""), signed=True)


def metric_table(comparison: Mapping) -> pd.DataFrame:
    """Side by side: baseline, challenger, difference [interval], verdict — one row per metric."""
    rows = []
    for d in comparison["differences"]:
        unit = d.get("unit")
        rows.append(
            {
                "metric": d["label"],
                comparison["baseline"]["label"]: _fmt(d["metric"], d["baseline"], unit),
                comparison["challenger"]["label"]: _fmt(d["metric"], d["challenger"], unit),
                "difference": _fmt_diff(d["metric"], d["diff"], unit),
                "interval": f"[{_fmt_diff(d['metric'], d['low'], unit)}, {_fmt_diff(d['metric'], d['high'], unit)}]",
                "p (bootstrap)": fmt_p(d["p_value"]),
                "verdict": d["verdict"],
            }
        )
    return pd.DataFrame(rows)


def ratio_table(comparison: Mapping) -> pd.DataFrame:
    """Costs as challenger / baseline with the spread over measurement rounds."""
    rows = []
    for r in comparison["ratios"]:
        rows.append(
            {
                "cost": r["label"],
                comparison["baseline"]["label"]: _fmt(r["metric"], r["baseline"]),
                comparison["challenger"]["label"]: _fmt(r["metric"], r["challenger"]),
                "ratio": "–" if r["ratio"] is None else f"{r['ratio']:.2f}×",
                "spread": "–" if r["low"] is None else f"{r['low']:.2f}× – {r['high']:.2f}×",
                "verdict": r["verdict"],
                "how measured": r["note"],
            }
        )
    return pd.DataFrame(rows)


def objective_table(comparison: Mapping) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"objective": o["label"], "verdict": o["verdict"], "evidence": o["text"], "from": o["source"]}
            for o in comparison["objectives"]
        ]
    )


def cascade_table(cascade: Mapping) -> pd.DataFrame:
    """Simple model, cascade and complex model side by side (test part; latency expected)."""
    cols = ["roc_auc", "pr_auc", "accuracy", "f1", "value_per_1k", "latency_p95_ms", "model_latency_p95_ms"]
    rows = []
    for r in cascade["rows"]:
        row = {"model": r["model"], "share to complex": f"{r['share_routed']:.0%}"}
        row.update({obj.get(c).label: _fmt(c, r.get(c)) for c in cols})
        row["Latency mean"] = "–" if r.get("latency_mean_ms") is None else f"{r['latency_mean_ms']:.2f} ms"
        rows.append(row)
    return pd.DataFrame(rows)


def cascade_note(cascade: Mapping) -> str:
    """How the cascade routes and how its band was chosen, in words (band may be None = route all)."""
    band = cascade["band"]
    label = obj.get(cascade["criterion"]).label
    if band is None:
        how = "The simple model always defers: only routing every request kept enough of the gain"
    elif band < 0:
        how = "The simple model never defers: the complex model was not better on the training part"
    else:
        how = (
            f"The simple model defers when its probability is within ±{band:.3f} of its threshold "
            f"({cascade['t_lo']:.3f} to {cascade['t_hi']:.3f})"
        )
    return (
        f"{how}. The band was chosen on the {cascade['chosen_on']} to keep {cascade['keep']:.0%} of the "
        f"complex model's gain in {label}, never on the test part. Latency is expected latency: every "
        "request pays the simple model, the routed share also pays the complex one."
    )


def gap_table(fairness: Sequence[Mapping]) -> pd.DataFrame:
    rows = []
    for f in fairness:
        for g in f["gaps"]:
            rows.append(
                {
                    "model": f["label"],
                    "metric": g["label"],
                    "value": _fmt(g["metric"], g["value"]),
                    "interval": f"[{_fmt(g['metric'], g['low'])}, {_fmt(g['metric'], g['high'])}]",
                }
            )
    return pd.DataFrame(rows)
