"""Bundles: export → reproduce round trips, tampering refused, predict's schema checks, import."""

from __future__ import annotations

import io
import json
import sqlite3
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from threadpoolctl import threadpool_limits

from core import cli, search
from core._text import esc, md
from core.errors import UserInputError
from core.export import build as export_build
from core.export import bundle, importing, predict, reproduce
from core.export import verdict as room_verdict
from core.export.config import KIND, SCHEMA_VERSION
from core.models import families as fam
from tests.conftest import make_small_spec

VERDICT = "The ensemble is +0.004 AUC [-0.001, 0.009], not significant: keep the simple model."


def _trial_of(url: str, name: str, family: str) -> int:
    study = search.open_study(url, name)
    return min(
        t.number
        for t in study.get_trials(deepcopy=False)
        if t.state.name == "COMPLETE" and t.params.get("family") == family
    )


@pytest.fixture(scope="module")
def simple_zip(finished_study, tmp_path_factory) -> Path:
    """A full bundle (ONNX, report) of the first logistic-regression trial, made by the CLI."""
    url, name, _ = finished_study
    folder = tmp_path_factory.mktemp("bundle")
    out = folder / "simple.zip"
    verdict = folder / "comparison.json"  # as downloaded from the Compare page
    verdict.write_text(json.dumps({"comparisons": [{"sentence": VERDICT}]}))
    code = cli.main(
        [
            "export",
            "--storage",
            url,
            "--study",
            name,
            "--verdict",
            str(verdict),
            "--trial",
            str(_trial_of(url, name, "logreg")),
            "-o",
            str(out),
        ]
    )
    assert code == 0
    return out


def _deterministic_ok(rep: reproduce.ReproduceReport) -> None:
    det = [c for c in rep.checks if c.kind == "deterministic"]
    assert len(det) >= 27 and "model.skops vs re-trained (max |Δp|)" in {c.name for c in det}
    bad = [(c.name, c.old, c.new) for c in det if not c.ok]
    assert not bad, bad


def test_config_holds_everything_needed_to_rebuild(simple_zip, finished_study):
    url, name, spec = finished_study
    b = bundle.open_bundle(simple_zip)
    c = json.loads(b.files[bundle.CONFIG])
    assert b.config.to_json() == c  # the typed config reads back exactly what was written
    assert c["schema_version"] == SCHEMA_VERSION and c["kind"] == KIND
    assert b.config.study.name == name and b.config.study.trial == _trial_of(url, name, "logreg")
    assert b.spec == spec and b.family == "logreg" and set(b.params) == {"C", "class_weight"}
    assert c["optuna_params"] == fam.flat_params("logreg", b.params)
    assert 0 < b.threshold < 1 and c["seeds"]["spec_seed"] == spec.seed
    assert c["data"]["fingerprint"] == spec.data.fingerprint
    assert {"python", "scikit-learn", "xgboost", "optuna", "numpy", "pandas", "skops", "onnx"} <= set(c["versions"])
    stored = search.open_study(url, name).trials[c["study"]["trial"]].user_attrs
    assert c["metrics"] == pytest.approx(stored["metrics"], nan_ok=True)
    assert c["test_metrics"] == pytest.approx(stored["test_metrics"], nan_ok=True)
    yaml_text = b.files[bundle.CONFIG_YAML].decode()
    import yaml

    assert yaml.safe_load(yaml_text) == c
    assert set(b.files) == set(bundle.KNOWN_FILES)  # logistic regression exports to ONNX
    assert c["onnx"]["exported"] and c["onnx"]["max_abs_diff"] <= 1e-5
    assert c["onnx"]["onnx_latency"]["p50_ms"] < c["onnx"]["sklearn_latency"]["p50_ms"]
    assert md(VERDICT) in b.files[bundle.DECISION].decode() and esc(VERDICT) in b.files[bundle.REPORT].decode()


def test_export_takes_the_stored_compare_verdict_unless_one_is_given(finished_study, tmp_path, capsys):
    url, name, _ = finished_study
    trial = _trial_of(url, name, "logreg")
    stored = "Stored verdict: keep the simple model."
    room_verdict.remember(url, name, {"baseline": trial, "candidates": [], "comparisons": [{"sentence": stored}]})
    try:
        base = ["export", "--storage", url, "--study", name, "--trial", str(trial), "--no-onnx"]
        assert cli.main([*base, "-o", str(tmp_path / "a.zip")]) == 0
        assert stored in bundle.open_bundle(tmp_path / "a.zip").files[bundle.DECISION].decode()
        assert cli.main([*base, "-o", str(tmp_path / "b.zip"), "--verdict", "Given words."]) == 0
        decision = bundle.open_bundle(tmp_path / "b.zip").files[bundle.DECISION].decode()
        assert "Given words." in decision and stored not in decision
    finally:
        search.open_study(url, name).set_user_attr(room_verdict.ATTR_VERDICT, None)
    capsys.readouterr()


def test_verdict_text():
    assert room_verdict.verdict_text("  plain words ") == "plain words"
    assert room_verdict.verdict_text(b'{"comparisons": [{"sentence": "A."}, {"sentence": "B."}]}') == "A. B."
    with pytest.raises(UserInputError, match="not a comparison"):
        room_verdict.verdict_text('{"x": 1}')


def test_simple_round_trip_reproduces_via_cli(simple_zip, finished_study, capsys):
    _, _, spec = finished_study
    code = cli.main(["reproduce", str(simple_zip), "--data", spec.data.path, "--latency-tolerance", "100"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "reproduced:" in out and "FAIL" not in out
    lines = {line[5:].split()[0]: line for line in out.splitlines() if line.startswith(("ok  ", "     "))}
    for name in (
        "roc_auc",
        "test.roc_auc",
        "dp_diff",
        "gross_value_per_1k",
        "model_size_bytes",
        "n_parameters",
        "threshold",
        "model.skops",
        "model.onnx",
        "latency_p95_ms",
    ):
        assert lines[name].startswith("ok"), lines[name]
    assert lines["fit_time_s"].startswith("    ")  # timing: reported, not judged


def test_complex_round_trip(finished_study, tmp_path):
    url, name, spec = finished_study
    res = export_build.build(url, name, _trial_of(url, name, "hist_gb"), with_report=False, with_onnx=False)
    folder = bundle.write(res.files, tmp_path / "complex")
    assert (folder / "config.json").is_file() and not (folder / "report.html").exists()
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(UserInputError, match=r"already holds other files \(notes\.txt\)"):
        bundle.write(res.files, tmp_path / "busy")
    _deterministic_ok(reproduce.reproduce(folder, spec.data.path, latency_tolerance=100))


@pytest.mark.slow
def test_ensemble_round_trip(small_csv, tmp_path):
    url = f"sqlite:///{tmp_path / 'ens.db'}"
    spec = make_small_spec(small_csv, families=("voting",), trials=1)
    study = search.create_study(spec, url, "ens")
    with threadpool_limits(limits=1):  # boosting's OpenMP threads crawl on a busy 2-core machine
        search.run(study.study_name, url)
    res = export_build.build(url, "ens", 0, with_report=False)
    onnx = res.config.onnx
    assert (bundle.ONNX in res.files) == onnx["exported"]
    if not onnx["exported"]:
        assert "parity check failed" in onnx["reason"]
    path = bundle.write(res.files, tmp_path / "ens.zip")
    _deterministic_ok(reproduce.reproduce(path, spec.data.path, latency_tolerance=100))


def test_latency_band_is_the_harness_spread():
    from core.models.latency import LatencyReport

    def report(p50: float, cv: float) -> LatencyReport:
        return LatencyReport(
            p50_ms=p50,
            p95_ms=p50 * 1.2,
            p99_ms=p50 * 1.5,
            mean_ms=p50,
            cv=cv,
            n_calls=200,
            model_p50_ms=0.1,
            model_p95_ms=0.2,
            throughput_rps=1e4,
        )

    then = report(4.0, 0.02).to_dict()
    ok = reproduce.latency_checks(then, {}, report(4.8, 0.02).to_dict(), 0.25)
    assert [c.ok for c in ok if c.kind == "latency"] == [True, True]  # +20 % inside ±25 %
    slow = reproduce.latency_checks(then, {}, report(6.0, 0.02).to_dict(), 0.25)
    assert [c.name for c in slow if c.ok is False] == ["latency_p50_ms", "latency_p95_ms"]
    noisy = reproduce.latency_checks(then, {}, report(6.0, 0.2).to_dict(), 0.25)
    assert all(c.ok is not False for c in noisy)  # a noisy harness states a wider band (3 × CV)
    assert "±60%" in noisy[0].note
    assert ok[0].note.startswith("20% slower than at export")
    faster = reproduce.latency_checks(then, {}, report(3.92, 0.02).to_dict(), 0.25)
    assert faster[0].ok and faster[0].note.startswith("2% faster than at export")  # a decrease is no "+2 %"


# -- data fingerprint -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def changed_csv(finished_study, tmp_path_factory) -> Path:
    _, _, spec = finished_study
    df = pd.read_csv(spec.data.path)
    df.loc[0, "relevance"] = df.loc[0, "relevance"] + 0.5
    path = tmp_path_factory.mktemp("changed") / "changed.csv"
    df.to_csv(path, index=False)
    return path


def test_wrong_data_is_refused_naming_both_hashes(simple_zip, changed_csv, capsys):
    b = bundle.open_bundle(simple_zip)
    from core.data import fingerprint, read_table

    new_fp = fingerprint(read_table(str(changed_csv))[0])
    with pytest.raises(UserInputError) as info:
        reproduce.reproduce(simple_zip, changed_csv)
    msg = str(info.value)
    assert b.config.data.fingerprint in msg and new_fp in msg and "--allow-data-change" in msg
    assert cli.main(["reproduce", str(simple_zip), "--data", str(changed_csv)]) == cli.EXIT_USER
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and new_fp in err[0]


def test_allow_data_change_re_evaluates(simple_zip, changed_csv, capsys):
    code = cli.main(
        ["reproduce", str(simple_zip), "--data", str(changed_csv), "--allow-data-change", "--latency-tolerance", "100"]
    )
    out = capsys.readouterr()
    assert "note: data changed (sha256:" in out.out
    assert "roc_auc" in out.out and "test.roc_auc" in out.out
    # the exit code says whether the metrics still match (they may, for one changed cell)
    assert code == (1 if "FAIL" in out.out else 0)
    assert (code == 1) == ("did NOT reproduce" in out.err)


# -- tampering --------------------------------------------------------------------------------------


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _rezip(path: Path, members: dict[str, bytes], extra: dict[str, bytes] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n, d in {**members, **(extra or {})}.items():
            zf.writestr(n, d)
    return buf.getvalue()


def test_edited_config_is_refused(simple_zip):
    m = _members(simple_zip)
    cfg = json.loads(m["config.json"])
    cfg["threshold"] = 0.01
    m["config.json"] = json.dumps(cfg).encode()
    with pytest.raises(UserInputError, match=r"config\.json was changed after export"):
        bundle.open_bundle(_rezip(simple_zip, m))


def test_foreign_pickle_is_refused(simple_zip):
    import pickle

    data = _rezip(simple_zip, _members(simple_zip), {"model.pkl": pickle.dumps({"x": 1})})
    with pytest.raises(UserInputError, match=r"Unexpected file\(s\) in the bundle: model\.pkl"):
        bundle.open_bundle(data)


def test_path_traversal_member_is_refused(simple_zip, tmp_path):
    data = _rezip(simple_zip, _members(simple_zip), {"../../outside.txt": b"x"})
    path = tmp_path / "evil.zip"
    path.write_bytes(data)
    with pytest.raises(UserInputError, match="climbs out"):
        bundle.open_bundle(path)
    assert not (tmp_path.parent / "outside.txt").exists()


def test_model_with_untrusted_type_is_refused_even_with_a_matching_manifest(simple_zip, capsys, finished_study):
    import argparse

    m = _members(simple_zip)
    m["model.skops"] = sio.dumps({"pipeline": argparse.Namespace(evil=True)})
    manifest = json.loads(m["MANIFEST.json"])
    manifest["files"]["model.skops"] = bundle.sha(m["model.skops"])
    m["MANIFEST.json"] = json.dumps(manifest).encode()
    path = simple_zip.with_name("untrusted.zip")
    path.write_bytes(_rezip(simple_zip, m))
    b = bundle.open_bundle(path)  # files and manifest agree...
    with pytest.raises(UserInputError, match=r"argparse\.Namespace"):
        b.model()  # ...but the model is never unpacked
    assert (
        cli.main(["predict", str(path), "--data", finished_study[2].data.path, "-o", str(path.with_suffix(".csv"))])
        == cli.EXIT_USER
    )
    assert "argparse.Namespace" in capsys.readouterr().err


def test_zipped_folder_and_folder_bundles_open(simple_zip, tmp_path):
    m = _members(simple_zip)
    nested = _rezip(simple_zip, {f"mybundle/{n}": d for n, d in m.items()})
    assert bundle.open_bundle(nested).family == "logreg"
    folder = tmp_path / "dir"
    folder.mkdir()
    for n, d in m.items():
        (folder / n).write_bytes(d)
    assert bundle.open_bundle(folder).family == "logreg"
    (folder / "notes.txt").write_text("hi")
    with pytest.raises(UserInputError, match=r"notes\.txt"):
        bundle.open_bundle(folder)


# -- predict ----------------------------------------------------------------------------------------


def test_predict_scores_rows_and_writes_a_safe_csv(simple_zip, finished_study, tmp_path, capsys):
    _, _, spec = finished_study
    df = pd.read_csv(spec.data.path).head(50)
    df["ad_id"] = ['=HYPERLINK("http://x")'] + [str(i) for i in range(49)]
    src = tmp_path / "new.csv"
    df.drop(columns=["converted"]).to_csv(src, index=False)
    out = tmp_path / "pred.csv"
    assert cli.main(["predict", str(simple_zip), "--data", str(src), "-o", str(out)]) == 0
    assert "50 rows scored" in capsys.readouterr().out
    got = pd.read_csv(out, dtype={"ad_id": str})
    assert list(got.columns) == ["ad_id", "row", "probability", "prediction", "predicted_label"]
    assert got["ad_id"].iloc[0] == '\'=HYPERLINK("http://x")'
    b = bundle.open_bundle(simple_zip)
    X = predict.coerce_features(df, b.numeric, b.categorical)[b.features]
    want = b.model().predict_proba(X)[:, 1]
    np.testing.assert_allclose(got["probability"], want, rtol=1e-12)
    assert (got["prediction"] == (want >= b.threshold).astype(int)).all()
    assert set(got["predicted_label"].astype(str)) <= {b.config.data.positive_label, b.config.data.negative_label}


def test_predict_schema_errors_name_the_columns(simple_zip, finished_study, tmp_path, capsys):
    _, _, spec = finished_study
    df = pd.read_csv(spec.data.path).head(20)
    missing = tmp_path / "missing.csv"
    df.drop(columns=["relevance", "device"]).to_csv(missing, index=False)
    assert cli.main(["predict", str(simple_zip), "--data", str(missing), "-o", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert "missing column(s) 'relevance', 'device'" in err and len(err.strip().splitlines()) == 1
    extra = tmp_path / "extra.csv"
    df.assign(surprise=1).to_csv(extra, index=False)
    with pytest.raises(UserInputError, match=r"extra column\(s\) 'surprise'.*--ignore-extra"):
        predict.predict(simple_zip, extra)
    assert predict.predict(simple_zip, extra, ignore_extra=True).n_rows == 20
    bad = df.astype({"hour": object})
    bad.loc[3, "hour"] = "noon"
    path = tmp_path / "bad.csv"
    bad.to_csv(path, index=False)
    with pytest.raises(UserInputError, match=r"Column 'hour' must be numeric.*'noon' in row\(s\) 4"):
        predict.predict(simple_zip, path)


# -- import -----------------------------------------------------------------------------------------


def test_import_bundle_enqueues_the_chosen_configuration_first(simple_zip, tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    assert cli.main(["import", str(simple_zip), "--storage", url, "--study", "warm"]) == 0
    assert "enqueued the chosen configuration" in capsys.readouterr().out
    b = bundle.open_bundle(simple_zip)
    study = search.open_study(url, "warm")
    waiting = [t.system_attrs["fixed_params"] for t in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)]
    assert waiting[0] == fam.flat_params(b.family, b.params)
    typical = [fam.flat_params(f, search.typical_params(f)) for f in b.spec.families]
    assert waiting[1:] == [p for p in typical if p != waiting[0]]  # then the usual warm start
    assert study.user_attrs["imported_from"]["study"]["trial"] == b.config.study.trial
    assert cli.main(["import", str(simple_zip), "--storage", url, "--study", "warm"]) == 2
    assert "already exists" in capsys.readouterr().err


def test_import_spec_json_and_bundle_config(simple_zip, finished_study, tmp_path):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    spec_path = tmp_path / "spec.json"
    finished_study[2].save(spec_path)
    res = importing.import_study(spec_path, url, "from-spec")
    assert res.source_kind == "spec" and res.enqueued is None
    cfg = tmp_path / "config.json"
    cfg.write_bytes(_members(simple_zip)["config.json"])
    res = importing.import_study(cfg, url, "from-config", trials=3)
    assert res.source_kind == "bundle config" and res.enqueued["family"] == "logreg"
    assert search.budget(url, "from-config")[0] == 3
    with pytest.raises(UserInputError, match="neither a bundle"):
        importing.import_study(b"\x00\x01garbage", url, "x")


def test_default_trial_is_the_knee_without_a_room(finished_study):
    from core.decide import front
    from core.export import report

    url, name, spec = finished_study
    number, why = export_build.default_trial(url, name)
    frame = front.trials_frame(search.open_study(url, name).get_trials(), spec)
    assert number == report.front_of(frame, spec)[1] and "knee" in why


def test_default_trial_is_the_room_decision(finished_study, tmp_path):
    from core.decide.room import RoomStore

    url, name, _ = finished_study
    copy = tmp_path / "room.db"
    src, dst = sqlite3.connect(url[len("sqlite:///") :]), sqlite3.connect(copy)
    src.backup(dst)
    src.close(), dst.close()
    url2 = f"sqlite:///{copy}"
    chosen = next(t.number for t in search.open_study(url2, name).get_trials() if t.state.name == "COMPLETE")
    with RoomStore(url2) as s:
        ana = s.open_room(name, "Ana")
        s.propose(ana.room_id, ana.token, chosen)
        s.lock(ana.room_id, ana.token, chosen, "fast enough")
    assert export_build.default_trial(url2, name)[0] == chosen


# -- the decision rule travels with the model -------------------------------------------------------


def test_bundled_model_carries_its_threshold(simple_zip, finished_study):
    from sklearn.model_selection import FixedThresholdClassifier

    b = bundle.open_bundle(simple_zip)
    raw = sio.loads(b.files[bundle.MODEL], trusted=sio.get_untrusted_types(data=b.files[bundle.MODEL]))
    assert isinstance(raw, FixedThresholdClassifier) and raw.threshold == b.threshold
    assert b.config.onnx["threshold"] == b.threshold  # stated beside the ONNX graph, which has no rule
    X = predict.coerce_features(pd.read_csv(finished_study[2].data.path).head(200), b.numeric, b.categorical)
    proba = raw.estimator.predict_proba(X[b.features])[:, 1]
    assert (b.model().predict(X[b.features]) == (proba >= b.threshold)).all()


def test_model_and_config_disagreeing_on_the_threshold_is_refused(simple_zip):
    m = _members(simple_zip)
    model = sio.loads(m["model.skops"], trusted=sio.get_untrusted_types(data=m["model.skops"]))
    model.threshold = 0.999
    m["model.skops"] = sio.dumps(model)
    m["MANIFEST.json"] = bundle.manifest(m)
    with pytest.raises(UserInputError, match=r"decides at threshold 0\.999.*config\.json records"):
        bundle.open_bundle(_rezip(simple_zip, m)).model()


def test_legacy_bundle_reads_typed_and_wraps_its_bare_pipeline():
    from sklearn.model_selection import FixedThresholdClassifier
    from sklearn.pipeline import Pipeline

    legacy = Path(__file__).resolve().parents[1] / "fixtures" / "legacy" / "bundle.zip"
    b = bundle.open_bundle(legacy)
    assert b.family == "logreg" and b.config.study.name == "legacy" and b.config.data.identifiers == ["ad_id"]
    assert b.threshold == pytest.approx(0.2450537514732209, abs=0)
    raw = sio.loads(b.files[bundle.MODEL], trusted=sio.get_untrusted_types(data=b.files[bundle.MODEL]))
    assert isinstance(raw, Pipeline)  # made before the rule travelled with the model...
    model = b.model()
    assert isinstance(model, FixedThresholdClassifier) and model.threshold == b.threshold  # ...wrapped on open


def _with_config(path: Path, edit) -> bytes:
    m = _members(path)
    cfg = json.loads(m["config.json"])
    edit(cfg)
    m["config.json"] = json.dumps(cfg).encode()
    m["MANIFEST.json"] = bundle.manifest(m)  # as a careful tamperer would
    return _rezip(path, m)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda c: c.update(threshold="0.3"), r"'threshold' must be a finite number from 0 to 1, got '0\.3'"),
        (lambda c: c.update(threshold=1.5), r"'threshold' must be a finite number from 0 to 1, got 1\.5"),
        (lambda c: c["data"].pop("numeric"), r"'data\.numeric' must be a list of column names, got nothing"),
        (lambda c: c["study"].update(trial="one"), r"'study\.trial' must be a whole number ≥ 0, got 'one'"),
        (lambda c: c.update(family="gpt"), r"'family' must be one of logreg, .*got 'gpt'"),
        (lambda c: c.update(metrics=[1, 2]), r"'metrics' must be a JSON object, got \[1, 2\]"),
        (lambda c: c["params"].update(C="big"), r"'params\.C' must be a finite number, got 'big'"),
        (
            lambda c: c["params"].pop("class_weight"),
            r"'params\.class_weight' must be text such as 'none' or 'balanced', got nothing",
        ),
    ],
)
def test_tampered_config_says_what_was_expected_and_the_fix(simple_zip, edit, message):
    with pytest.raises(UserInputError, match=message) as info:
        bundle.open_bundle(_with_config(simple_zip, edit))
    assert "Export the bundle again" in str(info.value)


def test_numbers_written_as_text_are_read_as_in_training(simple_zip, finished_study):
    df = pd.read_csv(finished_study[2].data.path).head(30)
    b = bundle.open_bundle(simple_zip)
    col = b.numeric[0]
    as_text = df.astype({col: object})
    as_text[col] = [f" {v:,} " if i % 2 else str(v) for i, v in enumerate(df[col] * 1000)]
    scaled = df.assign(**{col: df[col] * 1000})
    got = predict.coerce_features(as_text, b.numeric, b.categorical)
    want = predict.coerce_features(scaled, b.numeric, b.categorical)
    pd.testing.assert_frame_equal(got, want)


def test_predict_reads_decimal_commas_like_training(tmp_path):
    """A bundle trained on a ';'-separated table with decimal commas reads '0,37' as 0.37 at predict time."""
    from core.export.config import DataSummary

    doc = {"fingerprint": "sha256:x", "numeric": ["x"], "categorical": [], "positive_label": 1, "negative_label": 0}
    assert DataSummary.from_json(doc).decimal == "."  # bundles made before the mark was recorded
    summary = DataSummary.from_json({**doc, "decimal": ","})
    assert DataSummary.from_json(summary.to_json()).decimal == ","
    df = pd.DataFrame({"x": ["0,37", "1.234,5", ""]})
    got = predict.coerce_features(df, ["x"], [], decimal=summary.decimal)["x"].tolist()
    assert got[:2] == [0.37, 1234.5] and np.isnan(got[2])
    with pytest.raises(UserInputError, match="data.decimal"):
        DataSummary.from_json({**doc, "decimal": ";"})


def test_group_rule_bundle_predicts_per_group_and_refuses_a_table_without_the_column(simple_zip, finished_study):
    from core.export import rules
    from core.metrics.operating_points import group_decisions

    _, _, spec = finished_study
    col = spec.data.sensitive[0]
    df = pd.read_csv(spec.data.path).head(200)
    m = _members(simple_zip)
    inner = sio.loads(m["model.skops"], trusted=sio.get_untrusted_types(data=m["model.skops"])).estimator
    b0 = bundle.open_bundle(simple_zip)
    values = sorted(df[col].astype(str).str.strip().unique())
    cuts = {g: 0.2 + 0.6 * i / max(len(values) - 1, 1) for i, g in enumerate(values)}
    rule = rules.group_rule([col], cuts, 0.5)
    m["model.skops"] = sio.dumps(rules.with_rule(inner, rule, b0.features))
    doc = json.loads(m["config.json"])
    doc.update(rule=rule, option=str(b0.config.study.trial), rule_description=rules.rule_description(rule))
    m["config.json"] = json.dumps(doc).encode()
    m["MANIFEST.json"] = bundle.manifest(m)
    src = _rezip(simple_zip, m)
    b = bundle.open_bundle(src)
    assert b.config.rule_kind == "group_thresholds" and "uses " + col in b.config.rule_description
    res = predict.predict(b, df.drop(columns=[spec.data.target]).to_csv(index=False).encode(), name="new.csv")
    want = group_decisions(res.frame["probability"], df[col], cuts, 0.5)
    assert res.frame["prediction"].tolist() == want.tolist()
    with pytest.raises(UserInputError, match=repr(col)):
        predict.predict(b, df.drop(columns=[spec.data.target, col]).to_csv(index=False).encode(), name="new.csv")
