"""decision.md and report.html: every section, user text escaped, self-contained, renders in Chromium."""

from __future__ import annotations

import dataclasses
import re
import sqlite3
from pathlib import Path

import pytest
from threadpoolctl import threadpool_limits

from core import search
from core.decide.room import RoomStore
from core.export import bundle, report
from core.models import candidate

EVIL_RATIONALE = "<img src=x onerror=alert(1)>\n# hack\n| pipe | table |"
EVIL_COMMENT = "<script>alert('comment')</script> **bold** [link](javascript:alert(2))"
EVIL_PERSON = "Ana <b>"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


@pytest.fixture(scope="module")
def decided(finished_study, tmp_path_factory):
    """A copy of the finished study whose room shortlisted, voted, commented and locked the knee,
    with names and text that try to inject HTML and Markdown."""
    url, name, spec = finished_study
    copy = tmp_path_factory.mktemp("decided") / "study.db"
    src, dst = sqlite3.connect(url[len("sqlite:///") :]), sqlite3.connect(copy)
    src.backup(dst)
    src.close(), dst.close()
    url2 = f"sqlite:///{copy}"
    knee, _ = bundle.default_trial(url2, name)
    other = next(
        t.number for t in search.open_study(url2, name).get_trials() if t.state.name == "COMPLETE" and t.number != knee
    )
    with RoomStore(url2) as s:
        rid = s.open_room(name, EVIL_PERSON)
        s.join(rid, "Bob")
        s.save_stakeholder(rid, "Legal <script>", ["dp_diff"], by=EVIL_PERSON)
        s.save_stakeholder(rid, "Product", ["latency_p95_ms", "roc_auc"], by=EVIL_PERSON)
        for t in (knee, other):
            s.propose(rid, t, EVIL_PERSON)
        s.vote_approval(rid, "Bob", knee, True)
        s.vote_ranked(rid, "Bob", [knee, other])
        s.comment(rid, "Bob", knee, EVIL_COMMENT)
        s.lock(rid, EVIL_PERSON, knee, EVIL_RATIONALE)
    study = search.open_study(url2, name)
    with threadpool_limits(limits=1):
        cand = candidate.load(url2, name, knee)
    config = {
        "metrics": study.trials[knee].user_attrs["metrics"],
        "test_metrics": study.trials[knee].user_attrs["test_metrics"],
        "cv_std": study.trials[knee].user_attrs["cv_std"],
        "groups_test": study.trials[knee].user_attrs["groups_test"],
        "data": bundle._dataset_summary(cand.dataset, cand.train_idx, cand.test_idx, spec),
        "onnx": {"exported": False, "reason": "not attempted in this test"},
        "versions": bundle.library_versions(),
    }
    data = bundle._report_data(url2, study, spec, cand, config, verdict="The ensemble is <b>not</b> worth it.")
    return data, url, knee


def test_room_data_reach_the_report(decided):
    data, _, knee = decided
    r = data.room
    assert r.available and r.locked_trial == knee and r.rationale == EVIL_RATIONALE
    assert r.regret is not None and set(r.regret.in_units.columns) == {"Legal <script>", "Product"}
    assert knee in r.shortlist and len(r.tally) == 2 and len(r.comments) == 1
    assert data.importance is not None and len(data.importance) == len(data.dataset["numeric"]) + len(
        data.dataset["categorical"]
    )


def test_html_escapes_every_user_string_and_is_self_contained(decided):
    data, _, _ = decided
    html = report.report_html(data)
    for raw in ("<img src=x", "<script>alert", "Legal <script>", "Ana <b>", "<b>not</b>"):
        assert raw not in html, raw
    for escaped in (
        "&lt;img src=x onerror=alert(1)&gt;",
        "&lt;script&gt;alert(&#x27;comment&#x27;)",
        "Legal &lt;script&gt;",
        "Ana &lt;b&gt;",
        "The ensemble is &lt;b&gt;not&lt;/b&gt;",
    ):
        assert escaped in html, escaped
    assert html.count("plotly.js v") == 1  # the library once, inline
    assert not re.search(r"<script[^>]+src=", html)  # nothing fetched (the e2e test checks requests)
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", html, flags=re.S)
    assert all("alert(" not in s for s in scripts)
    for section in (
        "Objectives and owners",
        "Rationale",
        "The front",
        "Shortlist",
        "Regret table",
        "Votes",
        "Chosen model",
        "Fairness per group",
        "Permutation importance",
        "Ensembles versus simple models",
        "Model card",
        "Intended use",
        "Limitations",
    ):
        assert f">{section}" in html, section


def test_markdown_neutralises_user_text(decided):
    data, _, knee = decided
    text = report.decision_markdown(data)
    assert text.startswith("# Decision: ")
    assert f"The room locked trial #{knee} (by Ana &lt;b&gt;" in text
    assert "> &lt;img src=x onerror=alert(1)&gt;\n> \\# hack\n> \\| pipe \\| table \\|" in text
    assert "<img" not in text and "<script" not in text and "<b>" not in text
    assert "\\*\\*bold\\*\\* \\[link\\](javascript:alert(2))" in text
    assert "\n# hack" not in text
    for section in (
        "## Objectives and owners",
        "## Rationale",
        "## Pareto front",
        "## Shortlist",
        "## Regret table",
        "## Votes",
        "## Chosen model",
        "## Fairness per group",
        "## Permutation importance",
        "## Model card",
        "### Intended use",
        "### Data",
        "### Metrics",
        "### Fairness",
        "### Limitations",
    ):
        assert section in text, section
    # the metric table carries the CV spread and the held-out value of the objectives
    roc = [line for line in text.splitlines() if line.startswith("| ROC AUC | 0.")]
    assert len(roc) == 1 and "± " in roc[0] and roc[0].count("| 0.") == 2


def test_no_room_is_said_not_failed(decided, finished_study):
    data, url, _ = decided
    _, name, spec = finished_study
    frame = data.frame
    bare = dataclasses.replace(data, room=report.room_summary(url, name, spec, frame), verdict=None)
    assert not bare.room.available and "No decision room was opened" in bare.room.note
    text, html = report.decision_markdown(bare), report.report_html(bare)
    assert "No decision room was opened for this study" in text and "No votes recorded." in text
    assert "No decision room was opened for this study" in html
    assert "Ensembles versus simple models" not in text
    assert bare.room.regret is not None  # the spec's owners stand in for stakeholders


def test_front_figure_marks_the_chosen_trial(decided):
    data, _, knee = decided
    fig = report.front_figure(data)
    names = [t.name for t in fig.data]
    assert f"chosen #{knee}" in names and "Pareto front" in names
    assert report.parallel_figure(data) is not None  # three objectives
    assert report.fairness_figure(data) is not None and report.importance_figure(data) is not None


@pytest.mark.e2e
def test_report_renders_offline_in_chromium(decided, tmp_path):
    from playwright.sync_api import sync_playwright

    data, _, _ = decided
    page_file = tmp_path / "report.html"
    page_file.write_text(report.report_html(data), encoding="utf-8")
    ARTIFACTS.mkdir(exist_ok=True)
    dialogs, errors, remote = [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("pageerror", lambda e: errors.append(str(e)))

            def block(route):
                if not route.request.url.startswith(("file:", "data:")):
                    remote.append(route.request.url)
                    return route.abort()
                return route.continue_()

            page.route("**/*", block)
            page.goto(page_file.as_uri())
            page.wait_for_selector(".plotly-graph-div .main-svg", timeout=30000)
            assert page.locator(".plotly-graph-div .main-svg").count() >= 4
            assert "<img src=x onerror=alert(1)>" in page.inner_text("blockquote")
            page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
        finally:
            browser.close()
    assert dialogs == [] and errors == [] and remote == []
