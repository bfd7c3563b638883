"""decision.md and report.html: every section, user text escaped, self-contained, renders in Chromium."""

from __future__ import annotations

import dataclasses
import re
import sqlite3
from pathlib import Path

import pytest
from threadpoolctl import threadpool_limits

from core import catalog, search
from core import objectives as obj
from core._text import fmt_time, md
from core.decide.room import RoomStore
from core.export import build, report
from core.export.config import library_versions
from core.models import candidate
from core.spec import ValueModel

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
    src.close()
    dst.close()
    url2 = f"sqlite:///{copy}"
    knee, _ = build.default_trial(url2, name)
    assert knee is not None
    other = next(
        t.number for t in search.open_study(url2, name).get_trials() if t.state.name == "COMPLETE" and t.number != knee
    )
    with RoomStore(url2) as s:
        ana = s.open_room(name, EVIL_PERSON)
        rid = ana.room_id
        bob = s.join(rid, "Bob").token
        s.save_stakeholder(rid, ana.token, "Legal <script>", ["dp_diff"])
        s.save_stakeholder(rid, ana.token, "Product", ["latency_p95_ms", "roc_auc"])
        for t in (knee, other):
            s.propose(rid, ana.token, t)
        s.mark(rid, bob, knee, "approve")
        s.vote_ranked(rid, bob, [knee, other])
        s.comment(rid, bob, knee, EVIL_COMMENT)
        s.lock(rid, ana.token, knee, EVIL_RATIONALE)
    study = search.open_study(url2, name)
    with threadpool_limits(limits=1):
        cand = candidate.refit(study, spec, knee)
    config = {
        "metrics": study.trials[knee].user_attrs["metrics"],
        "test_metrics": study.trials[knee].user_attrs["test_metrics"],
        "cv_std": study.trials[knee].user_attrs["cv_std"],
        "groups_test": study.trials[knee].user_attrs["groups_test"],
        "data": build.dataset_summary(cand.dataset, cand.train_idx, cand.test_idx, spec),
        "onnx": {"exported": False, "reason": "not attempted in this test"},
        "versions": library_versions(),
    }
    data = build.report_data(url2, study, spec, cand, config, verdict="The ensemble is <b>not</b> worth it.")
    return data, url, knee


def test_room_data_reach_the_report(decided):
    data, _, knee = decided
    r = data.room
    assert r.available and r.locked_trial == knee and r.rationale == EVIL_RATIONALE
    assert r.regret is not None and set(r.regret.in_units.columns) == {"Legal <script>", "Product"}
    # judged over options (curves), as on the Decide page: the knee's tuned rule may be dominated by
    # another point of its own curve, and is then listed as proposed but off the front
    assert str(knee) in r.shortlist + r.off_front and len(r.tally) == 2 and len(r.comments) == 1  # option keys
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
    chosen = [t for t in fig.data if t.name == f"chosen #{knee}"]
    assert len(chosen) == 1 and [int(c[0]) for c in chosen[0].customdata] == [knee]
    front_numbers = {int(c[0]) for t in fig.data if t.meta == "front" for c in t.customdata}
    assert front_numbers == {int(n) for n in data.front["number"]}  # the front, drawn by core.viz
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

            def dismiss(dialog) -> None:
                dialogs.append(dialog.message)
                dialog.dismiss()

            page.on("dialog", dismiss)
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


ISO_STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")
STAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC")


def _visible_html(html: str) -> str:
    """report.html as a reader sees it: scripts (the charts' data) and tags removed; the library
    versions table left out (library names such as "xgboost" are what they are)."""
    html = html.split("<h3>Library versions</h3>")[0]
    return re.sub(r"<[^>]+>", " ", re.sub(r"<script.*?</script>", " ", html, flags=re.S))


def test_report_reads_in_plain_words_with_one_timestamp_format(decided):
    """No family or objective code, no raw byte counts, no ISO stamps, no ad wording: in decision.md,
    in report.html's text and in every one of its charts."""
    from tests.core.test_viz_labels import AD_WORDS, CODE_RE, visible_text

    data, _, knee = decided
    text, html = report.decision_markdown(data), _visible_html(report.report_html(data))
    for name, page in (("decision.md", text.replace("\\_", "_")), ("report.html", html)):
        assert CODE_RE.findall(page) == [], name
        assert not ISO_STAMP.search(page) and len(STAMP.findall(page)) >= 3, name  # export, lock, comment
        assert not AD_WORDS.search(page), name
        assert " bytes" not in page, name
    assert f"*Exported {fmt_time(data.created_at)} by Tradeoff Room.*" in text
    assert "| Objective | Direction |" in text and "| lower is better |" in text
    assert "| Group | Rows | Base rate | Selection rate |" in text
    front_part = text.split("## Pareto front")[1].split("## Shortlist")[0]
    front_table = [line for line in front_part.splitlines() if re.match(r"^\| \d", line)]
    front_families = {row.split(" | ")[1] for row in front_table}
    assert front_families and front_families <= {f.label for f in catalog.FAMILIES.values()}
    assert "Demographic parity difference: " in text  # the model card names the fairness figures
    for name, fig in report.figures(data).items():
        found = sorted({m for s in visible_text(fig) for m in CODE_RE.findall(s)})
        assert found == [], (name, found)


def test_fmt_time_reads_every_stored_form_the_same_way():
    from datetime import datetime

    assert fmt_time("2026-12-02T14:05:33.123456+00:00") == "2026-12-02 14:05 UTC"  # the room's stamps
    assert fmt_time("2026-12-02T15:05:00+01:00") == "2026-12-02 14:05 UTC"  # another zone, converted
    assert fmt_time(datetime(2026, 12, 2, 14, 5)) == "2026-12-02 14:05 UTC"  # naive means UTC
    assert fmt_time(0) == "1970-01-01 00:00 UTC"
    assert fmt_time(None) == "–" and fmt_time("not a time") == "not a time"


def test_unpriced_value_reads_in_utility_units_in_decision_md(decided):
    """Without a value column or a matrix the team set, net value is no money: no "€" beside it."""
    data, _, _ = decided
    label = obj.get("value_per_1k").label
    plain = dataclasses.replace(data, spec=dataclasses.replace(data.spec, value_model=ValueModel()))
    priced = dataclasses.replace(data, spec=dataclasses.replace(data.spec, value_model=ValueModel(money=True)))
    for d, money in ((plain, False), (priced, True)):
        lines = [x for x in report.decision_markdown(d).splitlines() if x.startswith(f"| {md(label)} |")]
        assert lines, label
        assert all(("€" in x) == money and ("utility units" in x) != money for x in lines), lines


def test_group_table_shows_rows_intervals_and_flags_small_groups(decided):
    """Each group's rows, each rate with its Wilson interval, and the flag on a group under the
    spec's minimum, in decision.md, report.html and the fairness chart's error bars."""
    import pandas as pd

    from core.metrics import rate_interval

    data, _, _ = decided
    stored = pd.DataFrame(
        [  # the stored form (no intervals), as trials and bundles made before them carry it
            {
                "group": "big",
                "n": 200,
                "base_rate": 0.25,
                "selection_rate": 0.3,
                "recall": 0.6,
                "precision": 0.5,
                "accuracy": 0.8,
            },
            {
                "group": "tiny",
                "n": 11,
                "base_rate": 4 / 11,
                "selection_rate": 5 / 11,
                "recall": 0.5,
                "precision": 0.4,
                "accuracy": 7 / 11,
            },
        ]
    )
    assert data.spec.data.min_group_rows > 11
    data = dataclasses.replace(data, groups_test=stored)
    text = report.decision_markdown(data)
    section = text.split("## Fairness per group")[1].split("##")[0]
    assert "Wilson" in section.splitlines()[0]
    tiny = next(line for line in section.splitlines() if line.startswith("| tiny |"))
    low, high = (float(v) for v in rate_interval(7, 11))
    assert "| 11 |" in tiny and f"0.636 ({low:.3f}–{high:.3f})" in tiny
    assert tiny.rstrip().endswith("| only 11 rows: too few to judge |")
    big = next(line for line in section.splitlines() if line.startswith("| big |"))
    assert "too few" not in big
    html = report.report_html(data)
    assert "only 11 rows: too few to judge" in _visible_html(html)
    bars = report.figures(data)["fairness"].data
    assert all(b.error_y.array is not None and len(b.error_y.array) == 2 for b in bars)


def test_every_exported_figure_says_where_it_was_measured(decided):
    """decision.md, report.html and the model card label search, held-out test and re-measured figures."""
    data, _, _ = decided
    text, html = report.decision_markdown(data), _visible_html(report.report_html(data))
    for page in (text, html):
        assert "Search figures: cross-validated on the training part" in page  # the front
        assert "Search (cross-validated on the training part, mean ± std)" in page and "Held-out test" in page
    card = report.model_card(data)
    for line in card["Metrics"][:-1]:  # the last line says where value comes from
        assert ": search (cross-validated on the training part) " in line or ": search's stored measurement" in line
    assert any("; held-out test " in line for line in card["Metrics"])
    assert "utility units" in card["Metrics"][-1] or "€" in card["Metrics"][-1]
    assert card["Fairness"] and all(line.endswith("(held-out test)") for line in card["Fairness"])


def test_decision_md_shows_the_stored_latency_and_labels_a_re_measurement(decided):
    """One stored figure per fact: the chosen model's p95 is the trial's stored metric; the export's own
    measurement appears only beside it, labelled re-measured now."""
    data, _, _ = decided
    stored = data.metrics["latency_p95_ms"]
    label = md(obj.get("latency_p95_ms").label)
    chosen = report.decision_markdown(data).split("## Chosen model")[-1]
    row = next(x for x in chosen.splitlines() if x.startswith(f"| {label} |"))
    assert row.split(" | ")[1] == obj.get("latency_p95_ms").fmt(stored)
    onnx = {
        "exported": True,
        "reason": "parity 1e-7",
        "sklearn_latency": {"p50_ms": 3.0, "p95_ms": 4.0},
        "onnx_latency": {"p50_ms": 0.5, "p95_ms": 0.7},
    }
    text = report.decision_markdown(dataclasses.replace(data, onnx=onnx))
    serving = text.split("## Serving (ONNX)")[1].split("##")[0]
    assert "Re-measured now on this machine" in serving and f"p95 {stored:.3f} ms" in serving


def test_the_too_good_warning_reaches_decision_md_and_the_report(decided):
    data, _, _ = decided
    assert "Too good to be true?" not in report.decision_markdown(data)  # the demo is honest
    frame = data.frame.copy()
    frame[obj.TEST_ATTR + "roc_auc"] = 0.999  # what a post-outcome column gives
    leaky = dataclasses.replace(data, frame=frame)
    assert "Too good to be true?" in report.decision_markdown(leaky)
    assert "Too good to be true?" in _visible_html(report.report_html(leaky))
