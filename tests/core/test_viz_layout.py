"""Rendered in Chromium at the widths the pages give a chart: no title, legend, axis title or
annotation overlaps another, and no label is cut off at the figure's edge (issue 18, point 6)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import plotly.io as pio
import pytest

from core import viz
from tests.core.test_viz_labels import _figures, trials  # noqa: F401  (trials is a fixture)

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
METRICS = [("roc_auc", "ROC AUC"), ("latency_p95_ms", "Latency p95"), ("dp_diff", "Demographic parity difference")]

#: The boxes of the text a person reads, per figure; parcoords axis titles and tick names included.
BOXES_JS = r"""
() => [...document.querySelectorAll('.plotly-graph-div')].map(div => {
  const s = div.querySelector('.main-svg').getBoundingClientRect();
  const kinds = {title: '.g-gtitle text', legend: '.legend', xtitle: '.g-xtitle text', ytitle: '.g-ytitle text',
                 note: '.annotation-text-g', xtick: '.xtick text', pc: '.axis-title, .parcoords .tick text'};
  const boxes = [];
  for (const [k, q] of Object.entries(kinds))
    for (const el of div.querySelectorAll(q)) {
      const r = el.getBoundingClientRect();
      if (r.width > 0 && r.height > 0)
        boxes.push({k, t: (el.textContent || '').slice(0, 40), x0: r.left, x1: r.right, y0: r.top, y1: r.bottom});
    }
  return {svg: {x0: s.left, x1: s.right, y0: s.top, y1: s.bottom}, boxes};
})
"""


def _compare_figures() -> dict:
    pair = {"challenger": {"number": 3, "label": "#3 Stacking"}, "baseline": {"number": 0, "label": "#0 LR"}}
    diffs = [
        {"metric": m, "label": lab, "diff": 0.02 * k - 0.01, "low": -0.02, "high": 0.04, "verdict": v}
        for k, ((m, lab), v) in enumerate(zip(METRICS, ("significantly better", "no significant difference") * 2))
    ]
    ratios = [{"label": "Model size", "ratio": 8.0, "low": 7.0, "high": 9.0, "verdict": "significantly worse"}]
    comparisons = [{**pair, "differences": diffs, "ratios": ratios}]
    groups = [
        {"metric": m, "group": g, "value": 0.5, "low": 0.4, "high": 0.6, "n": 100}
        for m in ("selection_rate", "recall", "precision", "accuracy")
        for g in ("18-24", "25-34")
    ]
    cascade = {
        "curve": [{"share_routed": s / 10, "value": 0.6 + s / 50} for s in range(11)],
        "criterion": "accuracy",
        "chosen_on": "out-of-fold",
        "share_routed_train": 0.4,
    }
    tally = pd.DataFrame(
        {"approvals": [2, 0], "rejections": [1, 3], "borda": [4, 1], "first_choices": [2, 0]},
        index=pd.Index([3, 0], name="trial_number"),
    )
    return {
        "forest": viz.forest(comparisons),
        "ratios": viz.ratios(comparisons),
        "fairness": viz.fairness_bars(
            [{"label": "#3 Stacking", "groups": groups}, {"label": "#0 LR", "groups": groups}]
        ),
        "cascade": viz.cascade_curve(cascade),
        "tally": viz.tally_bar(tally, labels={3: "#3 Stacking (LR + forest + boosting → LR)"}, locked=3),
    }


def _overlaps(a: dict, b: dict) -> bool:
    return min(a["x1"], b["x1"]) - max(a["x0"], b["x0"]) > 2 and min(a["y1"], b["y1"]) - max(a["y0"], b["y0"]) > 2


def _problems(name: str, found: dict) -> list[str]:
    svg, boxes = found["svg"], found["boxes"]
    out = [
        f"{name}: {b['k']} {b['t']!r} cut off"
        for b in boxes
        if b["x0"] < svg["x0"] - 1 or b["x1"] > svg["x1"] + 1 or b["y0"] < svg["y0"] - 1 or b["y1"] > svg["y1"] + 1
    ]
    text = [b for b in boxes if b["k"] in ("title", "legend", "xtitle", "ytitle", "note", "xtick")]
    for i, a in enumerate(text):
        for b in text[i + 1 :]:
            if {a["k"], b["k"]} <= {"note", "xtick"}:
                continue  # subplot titles side by side, tick labels among themselves
            if _overlaps(a, b):
                out.append(f"{name}: {a['k']} {a['t']!r} overlaps {b['k']} {b['t']!r}")
    return out


def _settled(page, *, tries: int = 40) -> list:
    """The boxes once two readings 0.5 s apart agree: automargin re-lays a figure out after its
    first draw, later on a loaded machine, and a reading in between sees text that still moves."""
    before = page.evaluate(BOXES_JS)
    for _ in range(tries):
        page.wait_for_timeout(500)
        now = page.evaluate(BOXES_JS)
        if now == before:
            return now
        before = now
    return before


@pytest.mark.e2e
@pytest.mark.parametrize("template", ["plotly", "none"])
@pytest.mark.parametrize("width", [640, 1300])
def test_no_text_overlaps_or_is_cut_off(trials, tmp_path, monkeypatch, width, template):  # noqa: F811
    """At a narrow column and a wide page, with Plotly's default template and with none (importing
    streamlit makes its own, empty one the default: nothing may rely on a template's margins)."""
    from playwright.sync_api import sync_playwright

    monkeypatch.setattr(pio.templates, "default", template)
    figures = {**_figures(trials), **_compare_figures()}
    divs = [
        f"<div style='width:{width}px'>{pio.to_html(f, include_plotlyjs=i == 0, full_html=False)}</div>"
        for i, f in enumerate(figures.values())
    ]
    page_file = tmp_path / "figures.html"
    page_file.write_text("<html><body style='margin:0'>" + "".join(divs) + "</body></html>", encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": width + 40, "height": 900})
            page.goto(page_file.as_uri())
            page.wait_for_selector(".plotly-graph-div .main-svg", timeout=30000)
            found = _settled(page)
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"figures-{width}-{template}.png"), full_page=True)
        finally:
            browser.close()
    assert len(found) == len(figures)
    problems = [p for name, f in zip(figures, found) for p in _problems(name, f)]
    assert problems == []
