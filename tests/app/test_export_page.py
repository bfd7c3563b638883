"""The Export page (AppTest): empty storage, a finished study (build + download), compare, import."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core import search
from core._text import md
from core.export import build as export_build
from core.export import bundle
from core.export import verdict as room_verdict

PAGE = "../../pages/export.py"


def _page(study: str | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    if study:
        at.query_params["study"] = study
    return at.run()


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def test_empty_storage_explains_and_offers_import(tmp_path, monkeypatch):
    monkeypatch.setenv("TRADEOFF_STORAGE", f"sqlite:///{tmp_path / 'empty.db'}")
    at = _page()
    _ok(at)
    infos = " ".join(i.value for i in at.info)
    assert "No study in this storage yet" in infos and "Comparing needs two studies" in infos
    assert [b.label for b in at.button] == ["Create the study"]
    at.button(key="import_go").click().run()
    _ok(at)
    assert any("Choose a bundle or spec file first" in e.value for e in at.error)


def test_finished_study_builds_a_bundle_for_the_default_trial(finished_study, monkeypatch):
    url, name, _ = finished_study
    monkeypatch.setenv("TRADEOFF_STORAGE", url)
    default, why = export_build.default_trial(url, name)
    at = _page(name)
    _ok(at)
    assert at.selectbox(key="export_trial").value == default
    assert any(f"Default: trial #{default}" in c.value for c in at.caption)
    assert not at.get("download_button")
    at.button(key="build_bundle").click().run()
    _ok(at)
    assert at.success or at.warning  # the ONNX outcome, either way with its reason
    assert [d.label for d in at.get("download_button")] == ["Download bundle (.zip)"]
    data, config = at.session_state[f"bundle:{name}:{default}"]
    b = bundle.open_bundle(data)  # what the button serves is a valid, verifiable bundle
    assert b.config.study.trial == default == config.study.trial
    assert {"report.html", "decision.md", "model.skops"} <= set(b.files)


def test_re_measure_latency_now_times_both_paths_again(finished_study, monkeypatch):
    """Unticked, a bundle of a kept ONNX-served model states the search's own latency of it; ticked,
    the export times both paths on this machine and the sentence says so."""
    from core.export import onnx as onnx_export
    from core.search import artifacts

    url, name, _ = finished_study
    monkeypatch.setenv("TRADEOFF_STORAGE", url)
    kept = [
        t.number
        for t in search.open_study(url, name).get_trials()
        if (t.user_attrs.get("tradeoff.latency") or {}).get("path") == "onnx"
        and artifacts.stored_model(url, name, t.number) is not None
    ]
    assert kept, "the search kept no ONNX-served model"
    at = _page(name)
    at.selectbox(key="export_trial").set_value(kept[0]).run()
    option = at.selectbox(key=f"export_rule:{kept[0]}").value
    scopes = []
    for tick in (False, True):
        at.checkbox(key="export_remeasure").set_value(tick).run()
        at.button(key="build_bundle").click().run()
        _ok(at)
        _, config = at.session_state[f"bundle:{name}:{option}"]
        assert config.onnx["exported"], config.onnx["reason"]
        scopes.append(config.onnx["latency_scope"])
        assert ("Re-measured now on this machine" in at.success[0].value) is tick
    assert scopes == [onnx_export.MEASURED_BY_SEARCH, onnx_export.MEASURED_NOW]


def test_unknown_study_and_single_study_compare(finished_study, monkeypatch):
    url, name, _ = finished_study
    monkeypatch.setenv("TRADEOFF_STORAGE", url)
    at = _page("no-such-study")
    _ok(at)
    assert any("Pick the study to export" in i.value for i in at.info)
    single = len(search.list_studies(url)) < 2
    assert any("Comparing needs two studies" in i.value for i in at.info) == single


def test_import_upload_then_compare_two_studies(finished_study, tmp_path, monkeypatch):
    import io
    import sqlite3
    import zipfile

    url, name, spec = finished_study
    copy = tmp_path / "two.db"
    src, dst = sqlite3.connect(url[len("sqlite:///") :]), sqlite3.connect(copy)
    src.backup(dst)
    src.close(), dst.close()
    monkeypatch.setenv("TRADEOFF_STORAGE", f"sqlite:///{copy}")
    at = _page(name)
    _ok(at)
    evil = io.BytesIO()
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../../evil.txt", b"x")
    at.file_uploader(key="import_file").upload("bundle.zip", evil.getvalue(), "application/zip")
    at.text_input(key="import_name").input("second")
    at.button(key="import_go").click().run()
    _ok(at)
    assert any("climbs out" in e.value for e in at.error)
    at.file_uploader(key="import_file").upload("spec.json", spec.to_json().encode(), "application/json")
    at.button(key="import_go").click().run()
    _ok(at)
    assert any("Created study" in m.value and "second" in m.value for m in at.success)
    at.run()  # the new study shows up in the compare tab (same objectives, no trials yet)
    _ok(at)
    assert at.selectbox(key="cmp_a").value == name and at.selectbox(key="cmp_b").value == "second"
    assert at.get("plotly_chart")
    assert any("Front sizes" in m.value for m in at.markdown)


def test_the_last_compare_verdict_reaches_the_bundle_without_an_upload(finished_study, monkeypatch):
    url, name, _ = finished_study
    monkeypatch.setenv("TRADEOFF_STORAGE", url)
    sentence = "Soft voting is +0.010 ROC AUC [0.002, 0.018]: worth its 3× latency."
    room_verdict.remember(url, name, {"baseline": 0, "candidates": [], "comparisons": [{"sentence": sentence}]})
    try:
        at = _page(name)
        _ok(at)
        assert any(md(sentence) in c.value and "goes into the bundle" in c.value for c in at.caption)
        at.button(key="build_bundle").click().run()
        _ok(at)
        default = at.selectbox(key="export_trial").value
        data, _config = at.session_state[f"bundle:{name}:{default}"]
        assert md(sentence) in bundle.open_bundle(data).files[bundle.DECISION].decode()
    finally:
        search.open_study(url, name).set_user_attr(room_verdict.ATTR_VERDICT, None)


def test_the_build_bar_estimates_its_time_from_the_search(finished_study, tmp_path):
    """A kept model is read, not fitted: the ETA is the documents' few seconds. Without it the
    bundle's re-fit does what the search did for the trial, so its recorded time is added."""
    from app import export_ui
    from core.search import artifacts, reader
    from tests.app.helpers import copy_sqlite

    url, name, _ = finished_study
    frame = reader.read_frame(url, name)
    n = int(frame.loc[frame["state"] == "COMPLETE", "number"].iloc[0])
    spent = reader.trial_attrs(url, name, n)["user_attrs"]["timings"]["total_s"]
    assert artifacts.has_model(url, name, n)  # the first trial is always kept: nothing dominates it
    assert export_ui.expected_build_s(url, name, n) == pytest.approx(export_ui.DOCUMENTS_S)
    copy = copy_sqlite(url, tmp_path)
    with artifacts.engine(copy).begin() as con:
        con.execute(artifacts.artifacts_table.delete().where(artifacts.artifacts_table.c.kind == artifacts.MODEL))
    assert not artifacts.has_model(copy, name, n)
    assert export_ui.expected_build_s(copy, name, n) == pytest.approx(spent + export_ui.DOCUMENTS_S)
    assert export_ui.expected_build_s(url, name, 9999) is None
