"""Export of an option that is not the trial's tuned rule ("12@3"): the bundle decides with that
point's rule, predict applies it, reproduce re-derives it bit for bit; bad keys are one line; a
room locked on an option is what ``tradeoff export`` follows. Real studies, real fits."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core import cli, search
from core.data import load_dataset, split
from core.export import bundle, reproduce
from core.metrics.operating_points import KIND_GROUP, group_decisions
from core.search import reader
from tests.app.helpers import copy_sqlite
from tests.conftest import make_small_spec


def _test_rows(spec) -> pd.DataFrame:
    """The held-out rows of the study's table as a user would hand them to ``predict``."""
    df = pd.read_csv(spec.data.path)
    ds = load_dataset(spec.data)
    assert len(df) == ds.n_rows  # no row dropped: table rows and dataset rows line up
    _train, test = split(ds, spec.validation, spec.seed)
    return df.iloc[test].drop(columns=[spec.data.target]).reset_index(drop=True)


def _threshold_point(url: str, name: str) -> tuple[int, int, float, dict]:
    """(trial, point, threshold, curve) of the threshold point furthest from its trial's tuned
    threshold — so a bundle that kept the tuned rule could not pass."""
    best = None
    for number, curve in reader.read_curves(url, name).items():
        kinds = curve.get("kinds") or ["threshold"] * len(curve["threshold"])
        for p, t in enumerate(curve["threshold"]):
            if p == curve["tuned"] or kinds[p] != "threshold":
                continue
            gap = abs(t - curve["threshold"][curve["tuned"]])
            if best is None or gap > best[0]:
                best = (gap, number, p, float(t), curve)
    assert best is not None, "the study stored no curve with another threshold point"
    return best[1], best[2], best[3], best[4]


def _front_point(url: str, name: str, spec) -> tuple[str, int, float]:
    """(key, trial, threshold) of a threshold option ``n@p`` on the options' front — one a view
    without curves (trials at their tuned rule only) reports as off the front."""
    from core.decide import view

    frame, curves = reader.read_frame(url, name, spec), reader.read_curves(url, name)
    on_front = view.build(spec, frame, curves=curves).points.index
    key = next(
        k
        for k in on_front
        if "@" in k
        and (curves[int(k.split("@")[0])].get("kinds") or ["threshold"] * 99)[int(k.split("@")[1])] == "threshold"
    )
    assert key in view.build(spec, frame, proposed=[key]).off_front  # without curves it would be
    number, point = (int(x) for x in key.split("@"))
    return key, number, float(curves[number]["threshold"][point])


def _export(capsys, url: str, name: str, out: Path, *extra: str) -> tuple[int, str, str]:
    code = cli.main(["export", "--storage", url, "--study", name, "--no-onnx", "-o", str(out), *extra])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def _predict(capsys, zip_path: Path, rows: pd.DataFrame, tmp_path: Path) -> pd.DataFrame:
    data, out = tmp_path / "rows.csv", tmp_path / "pred.csv"
    rows.to_csv(data, index=False)
    assert cli.main(["predict", str(zip_path), "--data", str(data), "-o", str(out)]) == 0
    capsys.readouterr()
    return pd.read_csv(out)


def test_export_of_a_point_uses_that_points_threshold(finished_study, tmp_path, capsys):
    url, name, spec = finished_study
    rows = _test_rows(spec)
    number, point, threshold, curve = _threshold_point(url, name)
    key = f"{number}@{point}"
    code, out, err = _export(capsys, url, name, tmp_path / "b.zip", "--trial", key)
    assert code == 0, err
    assert f"option {key}: trial #{number}" in out and "at least" in out  # the rule in words
    b = bundle.open_bundle(tmp_path / "b.zip")
    tuned = curve["threshold"][curve["tuned"]]
    assert b.config.option == key and b.config.study.trial == number
    assert b.config.rule == {"kind": "threshold", "threshold": threshold} and b.threshold == threshold
    assert b.config.trial_threshold == pytest.approx(tuned, abs=1e-6)
    # the figures are the point's (from its curve), never the tuned rule's relabelled
    assert b.config.test_metrics["accuracy"] == curve["test"]["accuracy"][point]
    assert b.config.metrics["dp_diff"] == curve["search"]["dp_diff"][point]
    assert "gross_value_per_1k" not in b.config.metrics
    pred = _predict(capsys, tmp_path / "b.zip", rows, tmp_path)
    assert pred["prediction"].tolist() == (pred["probability"] >= threshold).astype(int).tolist()
    assert (pred["prediction"] != (pred["probability"] >= b.config.trial_threshold)).any()
    doc = json.loads(b.files["config.json"])
    assert doc["option"] == key and doc["rule_description"].startswith("One threshold for everyone")
    md = b.files["decision.md"].decode()
    assert f"option {key}" in md and "Decision rule:" in md


@pytest.fixture(scope="module")
def group_study(tmp_path_factory, small_csv):
    """A real study whose spec allows group thresholds (two logistic-regression trials)."""
    home = tmp_path_factory.mktemp("grouphome")
    url = f"sqlite:///{home / 'study.db'}"
    spec = replace(make_small_spec(small_csv, families=("logreg",), trials=2), allow_group_thresholds=True)
    study = search.create_study(spec, url, "group-rules")
    search.run(study.study_name, url)
    return url, study.study_name, search.load_spec(study)


def test_group_rule_survives_export_predict_and_reproduce_bit_for_bit(group_study, tmp_path, capsys):
    url, name, spec = group_study
    col = spec.data.sensitive[0]
    number, curve = next((n, c) for n, c in sorted(reader.read_curves(url, name).items()) if KIND_GROUP in c["kinds"])
    point = max(p for p, k in enumerate(curve["kinds"]) if k == KIND_GROUP)
    key, cuts, default = f"{number}@{point}", curve["group_thresholds"][point], curve["threshold"][point]
    code, _out, err = _export(capsys, url, name, tmp_path / "g.zip", "--trial", key)
    assert code == 0, err
    b = bundle.open_bundle(tmp_path / "g.zip")
    assert b.config.option == key and b.config.rule_kind == "group_thresholds"
    assert b.config.rule["thresholds"] == cuts and b.config.rule["default"] == default
    assert f"uses {col} at decision time" in b.config.rule_description
    # the last group points equalise recall (equal opportunity); the bundle and its words say so
    assert curve["group_criteria"][point] == "recall" == b.config.rule["criterion"]
    assert "equal recall (equal opportunity)" in b.config.rule_description
    assert b.config.test_metrics["dp_diff"] == curve["test"]["dp_diff"][point]
    rows = _test_rows(spec)
    assert set(rows[col].astype(str).str.strip()) <= set(cuts)  # every held-out group has its own threshold
    pred = _predict(capsys, tmp_path / "g.zip", rows, tmp_path)
    want = group_decisions(pred["probability"], rows[col], cuts, default)
    assert pred["prediction"].tolist() == want.tolist()
    assert len({cuts[g] for g in cuts}) > 1  # really per group, not one threshold under another name
    # reproduce: re-train, re-derive the rule from the new curve, equal decisions row for row
    rep = reproduce.reproduce(tmp_path / "g.zip", spec.data.path)
    checks = {c.name: c for c in rep.checks}
    assert checks[f"decision rule of option {key}"].ok, checks[f"decision rule of option {key}"].note
    assert checks["decisions on the held-out part (rows that differ)"].new == 0
    assert checks["test.dp_diff"].ok and checks["trial threshold (tuned)"].ok
    assert not [c.name for c in rep.checks if c.kind == "deterministic" and not c.ok]
    assert cli.main(["reproduce", str(tmp_path / "g.zip"), "--data", spec.data.path]) in (0, 1)
    out = capsys.readouterr().out
    assert f"decision rule of option {key}" in out
    if "reproduced:" in out:  # latency may wander on a busy machine; the rule line is what we check
        assert f"decision rule of option {key} reproduced bit for bit" in out


def test_reproduce_catches_a_bundle_whose_rule_the_model_does_not_offer(group_study, tmp_path, capsys):
    """The rule check can fail: thresholds edited (manifest recomputed) are not on the re-trained curve."""
    import zipfile

    from core.export import safety

    url, name, spec = group_study
    number, curve = next((n, c) for n, c in sorted(reader.read_curves(url, name).items()) if KIND_GROUP in c["kinds"])
    point = max(p for p, k in enumerate(curve["kinds"]) if k == "threshold" and p != curve["tuned"])
    assert _export(capsys, url, name, tmp_path / "t.zip", "--trial", f"{number}@{point}")[0] == 0
    with zipfile.ZipFile(tmp_path / "t.zip") as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    b = bundle.open_bundle(tmp_path / "t.zip")
    moved = round(b.threshold + 0.013, 6)
    doc = json.loads(files["config.json"])
    doc.update(threshold=moved, rule={"kind": "threshold", "threshold": moved})
    files["config.json"] = json.dumps(doc).encode()
    model = b.model()
    model.threshold = moved
    files["model.skops"] = safety.dump_model(model)
    files["MANIFEST.json"] = bundle.manifest(files)
    rep = reproduce.reproduce(bundle.zip_bytes(files), spec.data.path)
    bad = {c.name for c in rep.failed}
    assert f"decision rule of option {number}@{point}" in bad


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("abc", "'abc' is not an option: write a trial number (12) or a trial and an operating point (12@3)."),
        ("0@99", "Trial #0 has no operating point 99: its points are 0 to"),
        ("999", "has no trial #999"),
    ],
)
def test_a_bad_option_key_is_one_clear_line_and_exit_2(finished_study, tmp_path, capsys, key, message):
    url, name, _ = finished_study
    code, out, err = _export(capsys, url, name, tmp_path / "x.zip", "--trial", key)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err and "Traceback" not in err
    assert not (tmp_path / "x.zip").exists()


def test_export_without_trial_follows_the_rooms_locked_option(finished_study, tmp_path, capsys):
    from core.decide.room import RoomStore

    url, name, spec = finished_study
    url2 = copy_sqlite(url, tmp_path)
    key, number, threshold = _front_point(url2, name, spec)
    with RoomStore(url2) as s:
        ana = s.open_room(name, "Ana")
        bob = s.join(ana.room_id, "Bob")
        s.propose(ana.room_id, ana.token, key)
        s.mark(ana.room_id, bob.token, key, "approve")
        s.lock(ana.room_id, ana.token, key, "the stricter cut")
    code, _out, err = _export(capsys, url2, name, tmp_path / "r.zip")
    assert code == 0, err
    assert f"exporting option {key}: the room's decision" in err
    b = bundle.open_bundle(tmp_path / "r.zip")
    assert b.config.option == key and b.threshold == threshold
    assert b.config.decision["room_locked_option"] == key and b.config.decision["is_room_decision"] is True
    md = b.files["decision.md"].decode()
    assert f"The room locked trial #{number} " in md and f"(option {key}) (by Ana" in md.split("## Objectives")[0]
    votes = md.split("## Votes")[1].split("##")[0]
    assert f"(option {key}) | 1 |" in votes  # the tally names the option, not the bare trial
    assert "no longer on the front" not in md  # judged as its rule, as on the Decide page
    # naming another option than the lock is still possible, and the bundle says it differs
    assert _export(capsys, url2, name, tmp_path / "t.zip", "--trial", str(number))[0] == 0
    other = bundle.open_bundle(tmp_path / "t.zip")
    assert other.config.option == str(number) and other.config.decision["is_room_decision"] is False
    assert np.isclose(other.threshold, other.config.rule["threshold"])
