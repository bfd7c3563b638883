"""Options (trial × operating point) keys and the options frame read from storage."""

from __future__ import annotations

import shutil

import pytest

from core.decide import options
from core.errors import UserInputError
from core.search import reader


def test_keys_round_trip():
    assert options.option_key(12) == "12"
    assert options.option_key(12, float("nan")) == "12"
    assert options.option_key(12, 3, tuned=3) == "12"
    assert options.option_key(12, 3, tuned=5) == "12@3"
    assert options.parse_option("12@3") == (12, 3)
    assert options.parse_option("#7") == (7, None)
    assert options.parse_option(4) == (4, None)
    with pytest.raises(UserInputError, match="not an option"):
        options.parse_option("twelve")


def test_options_frame_from_storage(finished_study):
    url, name, spec = finished_study
    frame = reader.read_frame(url, name, spec)
    curves = reader.read_curves(url, name)
    done = set(frame.loc[frame["state"] == "COMPLETE", "number"].astype(int))
    assert set(curves) == done  # every complete trial stored its curve
    opts = options.load_options(url, name, spec)
    # one row per stored point; each trial's own rule keyed by its bare number, exactly once
    assert len(opts) == sum(len(c["threshold"]) for c in curves.values()) + (len(frame) - len(done))
    assert opts["option"].is_unique
    own = opts[opts["tuned_rule"]]
    assert sorted(own["number"].astype(int)) == sorted(frame["number"].astype(int))
    n = min(done)
    other = next(k for k in opts["option"] if k.startswith(f"{n}@"))
    row = options.find(opts, other)
    point = options.parse_option(other)[1]
    assert row["threshold"] == pytest.approx(curves[n]["threshold"][point])
    rule = options.rule_of(curves, other, threshold=0.5)
    assert rule == {"kind": "threshold", "threshold": pytest.approx(curves[n]["threshold"][point])}
    assert "threshold" in options.label(row)
    with pytest.raises(UserInputError, match="no operating point"):
        options.find(opts, f"{n}@999")
    with pytest.raises(UserInputError, match="no finished trial"):
        options.find(opts, "9999")


def test_old_one_point_study_gives_one_option_per_trial(tmp_path):
    src = "tests/fixtures/legacy/legacy.db"
    db = tmp_path / "legacy.db"
    shutil.copy(src, db)
    url = f"sqlite:///{db}"
    name = reader.study_names(url)[0]
    assert reader.read_curves(url, name) == {}
    opts = options.load_options(url, name)
    frame = reader.read_frame(url, name)
    assert list(opts["option"]) == [str(int(n)) for n in frame["number"]]


def test_front_operating_points_names_each_option(capsys, finished_study):
    import json

    from core import cli

    url, name, _ = finished_study
    assert cli.main(["front", "--storage", url, "--study", name, "--operating-points", "--json"]) == 0
    points = json.loads(capsys.readouterr().out)["points"]
    opts = options.load_options(url, name)
    for p in points:
        row = options.find(opts, p["option"])
        assert int(row["number"]) == p["number"]
        assert ("@" in p["option"]) == (not bool(row["tuned_rule"]))
    assert cli.main(["front", "--storage", url, "--study", name, "--operating-points"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("option")
