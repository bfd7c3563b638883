"""The exported documents' figures on real exports: each table says where its figures were measured,
the latency is the trial's stored figure (a re-measurement only beside it), the too-good warning
fires on a leaky table and not on an honest one, and an unpriced study carries no money."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest

from core import cli, search
from core import objectives as obj
from core._text import md
from core.export import build, bundle, report
from core.models import candidate
from core.spec import Budget, DataRef, Objective, Spec, Validation, ValueModel

SCOPE_WORDS = ("cross-validated on the training part", "held-out test", "re-measured now on this machine")
#: sections whose tables hold no measured figure (limits people typed; vote counts)
NOT_MEASURED = ("Objectives and owners", "Votes")
P95 = obj.get("latency_p95_ms")


def _table(tmp_path, leak: bool) -> str:
    """A synthetic table where four columns carry the outcome equally (an honest model spreads its
    importance over them); ``leak`` adds a column that is the target plus a little noise."""
    rng = np.random.default_rng(7)
    n = 1200
    x = rng.normal(size=(n, 4))
    y = (rng.random(n) < 1 / (1 + np.exp(-(x.sum(axis=1) * 0.6 - 0.8)))).astype(int)
    df = pd.DataFrame(x, columns=["tenure", "visits", "basket", "rating"])
    df["region"] = rng.choice(["north", "south", "east"], size=n)
    df["group"] = rng.choice(["a", "b"], size=n)
    if leak:
        df["followup_score"] = y + rng.normal(0, 0.15, n)
    df["bought"] = y
    path = tmp_path / ("leaky.csv" if leak else "honest.csv")
    df.to_csv(path, index=False)
    return str(path)


def _export(tmp_path, leak: bool, with_onnx: bool):
    """A real study (no value column, no matrix: unpriced) searched and exported: (url, name, result)."""
    spec = Spec(
        data=DataRef(path=_table(tmp_path, leak), target="bought", sensitive=("group",), keep_suspected_leaks=leak),
        objectives=(Objective("roc_auc"), Objective("latency_p95_ms", limit=50.0), Objective("dp_diff")),
        families=("logreg",),
        budget=Budget(n_trials=3),
        sampler="random",
        seed=0,
        validation=Validation(cv_folds=2, latency_repeats=20),
    )
    url = f"sqlite:///{tmp_path / 'study.db'}"
    study = search.create_study(spec, url, "leaky" if leak else "honest")
    search.run(study.study_name, url)
    number, _ = build.default_trial(url, study.study_name)
    assert number is not None
    return url, study.study_name, build.build(url, study.study_name, number, with_onnx=with_onnx)


def _data(export) -> report.ReportData:
    url, name, result = export
    study = search.open_study(url, name)
    cand = candidate.refit(study, search.load_spec(study), result.config.study.trial)
    return build.report_data(url, study, cand.spec, cand, result.config.to_json(), None)


@pytest.fixture(scope="module")
def honest(tmp_path_factory):
    return _export(tmp_path_factory.mktemp("honest"), leak=False, with_onnx=True)


@pytest.fixture(scope="module")
def leaky(tmp_path_factory):
    return _export(tmp_path_factory.mktemp("leaky"), leak=True, with_onnx=False)


@pytest.fixture(scope="module")
def honest_data(honest) -> report.ReportData:
    """The honest export's report data (re-fitted as the export does), to vary one field at a time."""
    return _data(honest)


def _docs(result) -> tuple[str, str]:
    return result.files["decision.md"].decode("utf-8"), result.files["report.html"].decode("utf-8")


def _visible(html: str) -> str:
    html = html.split("<h3>Library versions</h3>")[0]
    return re.sub(r"<[^>]+>", " ", re.sub(r"<script.*?</script>", " ", html, flags=re.S))


def _stored(url: str, name: str, number: int) -> dict:
    trial = next(t for t in search.open_study(url, name).get_trials() if t.number == number)
    return trial.user_attrs["metrics"]


def _md_sections(text: str) -> dict[str, str]:
    parts = re.split(r"^## ", text, flags=re.M)[1:]
    return {p.splitlines()[0]: p for p in parts}


def test_every_metric_table_says_where_its_figures_were_measured(honest, honest_data):
    text, html = _docs(honest[2])
    tables = 0
    for title, body in _md_sections(text).items():
        if "\n|---" not in body or title.startswith(NOT_MEASURED):
            continue
        tables += 1
        assert any(w in body.lower() for w in SCOPE_WORDS), title
    assert tables >= 4  # front, regret, chosen model, groups, importance
    html_sections = re.split(r"<h2>", html.split("<h2>Model card</h2>")[0])[1:]
    for section in html_sections:
        title = section.split("</h2>")[0]
        if "<table>" in section and not title.startswith(NOT_MEASURED):
            assert any(w in _visible(section).lower() for w in SCOPE_WORDS), title
    card = report.model_card(honest_data)
    for line in card["Metrics"][:-1]:
        assert ": search (cross-validated on the training part) " in line or ": search's stored measurement" in line
    assert any("; held-out test " in line for line in card["Metrics"])
    assert all(line.endswith("(held-out test)") for line in card["Fairness"])


def test_decision_md_latency_is_the_trials_stored_figure(honest):
    """One stored figure per fact: the chosen trial's p95 in decision.md (front, chosen model, ONNX
    sentence) is what the search stored; the export's own ONNX timings are labelled re-measured now."""
    url, name, result = honest
    number = result.config.study.trial
    stored = float(_stored(url, name, number)["latency_p95_ms"])
    text, _ = _docs(result)
    chosen = _md_sections(text)["Chosen model"]
    row = next(x for x in chosen.splitlines() if x.startswith(f"| {md(P95.label)} |"))
    assert row.split(" | ")[1] == P95.fmt(stored)
    front = _md_sections(text)["Pareto front"]
    front_row = next(x for x in front.splitlines() if x.startswith(f"| {number} (chosen)"))
    assert P95.fmt(stored) in front_row
    assert result.onnx is not None and result.onnx.exported
    serving = _md_sections(text)["Serving (ONNX)"]
    assert "Measured by the search for this very model" in serving and f"vs {stored:.3f} ms)" in serving


def test_export_states_the_searchs_latency_of_the_kept_model_unless_told_to_time_again(
    honest, monkeypatch, tmp_path, capsys
):
    """The kept model's two serving paths were timed by the search: the export states those figures
    (no timing at all), so the ONNX p95 is the trial's stored one; ``remeasure_latency`` times both
    again and says so."""
    from core.export import onnx as onnx_export
    from core.models import latency

    url, name, result = honest
    number = result.config.study.trial
    stored = _stored(url, name, number)
    onnx = result.config.onnx
    assert onnx["exported"] and onnx["latency_scope"] == onnx_export.MEASURED_BY_SEARCH
    assert onnx["onnx_latency"]["p95_ms"] == pytest.approx(stored["latency_p95_ms"])
    assert onnx["sklearn_latency"]["p95_ms"] == pytest.approx(stored["sklearn_latency_p95_ms"])
    with monkeypatch.context() as m:
        m.setattr(latency, "measure", lambda *a, **k: pytest.fail("the export timed a path the search had timed"))
        quiet = build.build(url, name, number, with_report=False)
    assert quiet.config.onnx["onnx_latency"] == onnx["onnx_latency"]
    out = tmp_path / "again.zip"
    args = ["export", "--storage", url, "--study", name, "--trial", str(number), "-o", str(out)]
    assert cli.main([*args, "--remeasure-latency"]) == 0
    printed = capsys.readouterr().out
    again = bundle.open_bundle(out).config.onnx
    assert again["latency_scope"] == onnx_export.MEASURED_NOW and again["onnx_latency"]["p50_ms"] > 0
    assert "Re-measured now on this machine" in printed and f"p95 {stored['latency_p95_ms']:.3f} ms" in printed


def test_a_re_measured_latency_stands_beside_the_stored_one(honest, honest_data):
    url, name, result = honest
    stored = float(_stored(url, name, result.config.study.trial)["latency_p95_ms"])
    again = dict(result.config.export_latency, p95_ms=stored * 3 + 1.0)  # a busy machine now
    data = dataclasses.replace(honest_data, export_latency=again)
    text, html = report.decision_markdown(data), _visible(report.report_html(data))
    chosen = _md_sections(text)["Chosen model"]
    head = chosen.splitlines()[2]
    assert "| Re-measured now on this machine |" in head
    row = next(x for x in chosen.splitlines() if x.startswith(f"| {md(P95.label)} |")).split(" | ")
    assert row[1] == P95.fmt(stored) and row[3] == P95.fmt(again["p95_ms"])  # stored first, now beside
    assert "Re-measured now on this machine" in html and P95.fmt(again["p95_ms"]) in html
    card = report.model_card(data)
    line = next(x for x in card["Metrics"] if x.startswith(P95.label))
    assert line.index(P95.fmt(stored)) < line.index(P95.fmt(again["p95_ms"])) and "re-measured now" in line


def test_the_too_good_warning_fires_on_a_leaky_table_only(honest, leaky):
    for export, fires in ((leaky, True), (honest, False)):
        text, html = _docs(export[2])
        assert ("Too good to be true?" in text) == fires
        assert ("Too good to be true?" in _visible(html)) == fires
    text, _ = _docs(leaky[2])
    assert "followup" in text.split("## Objectives")[0]  # the warning names the leaking column


def test_an_unpriced_study_shows_no_money(honest, leaky, honest_data):
    for export in (honest, leaky):
        text, html = _docs(export[2])
        assert "€" not in text and "€" not in html.split("<h3>Library versions</h3>")[0]
        assert "utility units" in text and "utility units" in _visible(html)
    card = report.model_card(honest_data)
    assert not any("€" in line for lines in card.values() for line in lines)
    assert any("utility units, not money" in line for line in card["Metrics"])


def test_a_priced_value_column_reads_in_euros_and_names_the_column(honest_data):
    """With a value column the team priced, value reads in € and the documents name the column."""
    spec = honest_data.spec
    priced = dataclasses.replace(
        spec,
        data=dataclasses.replace(spec.data, value_column="basket"),
        value_model=ValueModel(value_tp=0.0, value_fp=-0.5, money=True, latency_penalty=True),
    )
    data = dataclasses.replace(honest_data, spec=priced)
    text = report.decision_markdown(data)
    label = md(obj.get("value_per_1k").label)
    row = next(x for x in _md_sections(text)["Chosen model"].splitlines() if x.startswith(f"| {label} |"))
    assert "€" in row and "utility units" not in row
    assert "Net value is in € from the value column 'basket'" in text
    assert "a latency penalty is applied" in text


def test_the_decision_rule_is_stated_in_words(honest_data):
    rule = "a threshold per group of region — uses region at decision time"
    data = dataclasses.replace(honest_data, rule_description=rule)
    text, html = report.decision_markdown(data), _visible(report.report_html(data))
    assert f"**Decision rule:** {md(rule)}." in text
    assert f"Decision rule: {rule}." in " ".join(html.split())
    assert f"Decision rule: {rule}." in report.model_card(data)["Intended use"]
    assert "Decision rule:" not in report.decision_markdown(honest_data)
