"""Figures and small helpers for the Export page, built from plain data (no widgets, testable alone).

Every string that came from a person or from the data (study names, family labels shown in hover
text) goes through :func:`core.export.safety.esc` before it reaches a Plotly figure, because Plotly
interprets a few HTML tags in labels.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from core import objectives as obj
from core.export.safety import esc, md, safe_filename

COLOR_A, COLOR_B = "#1f77b4", "#ff7f0e"


def bundle_filename(study: str, trial: int) -> str:
    """``<study>-trial<N>.zip`` with the study name reduced to safe characters."""
    return f"{safe_filename(study, default='study')}-trial{int(trial)}.zip"


def trial_choices(
    frame: pd.DataFrame, front_numbers: set[int], default: int | None, knee: int | None, locked: int | None
) -> tuple[list[int], dict[int, str], int]:
    """Finished trials (front first), a label for each, and the index of the default one."""
    done = frame[frame["state"] == "COMPLETE"].copy()
    done["on_front"] = done["number"].isin(front_numbers)
    done = done.sort_values(["on_front", "number"], ascending=[False, True])
    numbers = [int(n) for n in done["number"]]
    labels = {}
    for n, fam_name, on in zip(done["number"], done["family"], done["on_front"]):
        tags = [t for t, ok in (("locked decision", n == locked), ("knee", n == knee), ("on the front", on)) if ok]
        labels[int(n)] = f"#{int(n)} {fam_name}" + (f" — {', '.join(tags)}" if tags else "")
    index = numbers.index(default) if default in numbers else 0
    return numbers, labels, index


def trial_metrics(frame: pd.DataFrame, number: int, names: list[str]) -> pd.DataFrame:
    """The chosen trial's objective values (search and held-out test) in their units."""
    row = frame[frame["number"] == number].iloc[0]
    rows = []
    for n in names:
        m = obj.get(n)
        test_key = obj.TEST_ATTR + n
        rows.append(
            {
                "objective": m.label,
                "search (CV)": m.fmt(row.get(n)),
                "held-out test": m.fmt(row.get(test_key)) if m.on_test and test_key in row else "",
            }
        )
    return pd.DataFrame(rows)


def onnx_summary(onnx: dict[str, Any]) -> tuple[bool, str]:
    """(exported?, one Markdown-safe sentence) for the ONNX outcome in a bundle config."""
    if not onnx.get("exported"):
        return False, md(f"No ONNX model in this bundle: {onnx.get('reason', 'not attempted')}")
    sk, ox = onnx.get("sklearn_latency") or {}, onnx.get("onnx_latency") or {}
    return True, md(
        f"ONNX exported, {onnx.get('reason')}. Single-row p50: scikit-learn "
        f"{sk.get('p50_ms', float('nan')):.3f} ms, onnxruntime {ox.get('p50_ms', float('nan')):.4f} ms."
    )


def compare_figure(c: Any) -> go.Figure:
    """Both studies' trials on the first two shared objectives; fronts joined by lines; A's chosen
    trial starred, the same configuration in B starred, with an arrow for how far it moved."""
    names = c.objectives
    x, y = names[0], names[1] if len(names) > 1 else names[0]
    fig = go.Figure()
    for label, frame, front, color in (
        (c.study_a, c.frame_a, c.front_a, COLOR_A),
        (c.study_b, c.frame_b, c.front_b, COLOR_B),
    ):
        done = frame[frame["state"] == "COMPLETE"]
        fig.add_trace(
            go.Scatter(
                x=done[x],
                y=done[y],
                mode="markers",
                name=f"{esc(label)}: trials",
                opacity=0.3,
                marker={"color": color, "size": 7},
                text=[f"#{int(n)} {esc(f)}" for n, f in zip(done["number"], done["family"])],
                hovertemplate="%{text}<br>%{x:.4g}, %{y:.4g}<extra></extra>",
            )
        )
        pf = front.sort_values(x)
        fig.add_trace(
            go.Scatter(
                x=pf[x],
                y=pf[y],
                mode="lines+markers",
                name=f"{esc(label)}: front",
                line={"color": color, "shape": "hv" if len(names) == 2 else "linear"},
                marker={"color": color, "size": 10},
                text=[f"#{int(n)} {esc(f)}" for n, f in zip(pf["number"], pf["family"])],
                hovertemplate="%{text}<br>%{x:.4g}, %{y:.4g}<extra></extra>",
            )
        )
    if c.chosen_a is not None and c.point_a:
        fig.add_trace(
            go.Scatter(
                x=[c.point_a[x]],
                y=[c.point_a[y]],
                mode="markers",
                name=f"chosen in {esc(c.study_a)} (#{c.chosen_a})",
                marker={"symbol": "star", "size": 18, "color": COLOR_A, "line": {"width": 1, "color": "black"}},
            )
        )
    if c.point_b is not None:
        fig.add_trace(
            go.Scatter(
                x=[c.point_b[x]],
                y=[c.point_b[y]],
                mode="markers",
                name=f"same configuration in {esc(c.study_b)} (#{c.match_b})",
                marker={"symbol": "star", "size": 18, "color": COLOR_B, "line": {"width": 1, "color": "black"}},
            )
        )
        fig.add_annotation(
            x=c.point_b[x],
            y=c.point_b[y],
            ax=c.point_a[x],
            ay=c.point_a[y],
            xref="x",
            yref="y",
            axref="x",
            ayref="y",
            showarrow=True,
            arrowhead=3,
            arrowwidth=1.5,
            arrowcolor="#444",
        )
    fig.update_layout(
        title="Two studies on the same objectives",
        xaxis_title=f"{obj.get(x).label} ({obj.get(x).direction})",
        yaxis_title=f"{obj.get(y).label} ({obj.get(y).direction})",
        height=480,
        legend={"orientation": "h", "y": -0.2},
    )
    return fig
