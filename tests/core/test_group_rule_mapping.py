"""Issue 14: a group-threshold bundle labels raw rows exactly as the study labelled its rows.

The study's group labels are not always raw values (a numeric column with many values becomes its
quartiles, small groups are pooled, columns are intersected); a rule keyed by those labels that
read raw values at serving time decided every such row at its default threshold. These tests pin
the recorded grouping row for row against the study's labels, and an exported bundle's decisions
on raw rows against the curve's rule. Real data, real fits, real exports.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core import cli, search
from core.data import load_dataset, prepare, split
from core.data._sensitive import MISSING, sensitive_grouping, sensitive_groups
from core.export import bundle, reproduce, rules, safety
from core.metrics.operating_points import KIND_GROUP, group_decisions
from core.search import reader
from core.spec import DataRef
from tests.conftest import make_small_spec


def _people(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """A tiny table: a numeric age (many values: quartiles), a region with a rare value, a target."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n).astype(float)
    age[:7] = np.nan  # missing ages have a group of their own
    region = rng.choice(["north", "south", "east"], n, p=[0.5, 0.45, 0.05])
    return pd.DataFrame(
        {
            "age": age,
            "region": region,
            "income": rng.normal(50, 10, n).round(2),
            "y": rng.integers(0, 2, n),
        }
    )


def _old_labels(df: pd.DataFrame, col: str) -> pd.Series:
    """The study's labels as core.data wrote them before the grouping was recorded (the formula of
    the issue), so the recorded grouping cannot have changed any existing study's labels."""
    s = df[col]
    if pd.api.types.is_numeric_dtype(s) and s.nunique() > 10:
        s = pd.qcut(s, 4, duplicates="drop").astype(str)
    return s.astype(object).where(s.notna(), "missing").astype(str).str.strip().reset_index(drop=True)


def test_quartile_labels_of_the_study_equal_group_values_of_the_raw_rows():
    df = _people()
    ref = DataRef(path="people.csv", target="y", sensitive=("age",), min_group_rows=5)
    notes: list[str] = []
    groups, grouping = sensitive_grouping(df, ref, notes)
    assert groups.tolist() == sensitive_groups(df, ref, []).tolist() == _old_labels(df, "age").tolist()
    assert any("quartiles" in n for n in notes)
    assert grouping["columns"][0]["bins"] and not grouping["pooled"]
    json.dumps(grouping)  # plain data: it travels in config.json
    # the raw rows, labelled by the rule's own code with the recorded grouping: row for row
    got = rules.group_values(df.drop(columns=["y"]), ["age"], grouping)
    assert got.tolist() == groups.tolist()
    assert set(got) - {MISSING} == set(grouping["columns"][0]["labels"])  # all quartiles, not ages
    assert not set(got) & {str(a) for a in df["age"]}  # the raw values are no label: the old bug
    # without the grouping (how bundles read rows before): no quartile row gets its label
    raw = rules.group_values(df, ["age"])
    assert (raw == groups.to_numpy()).sum() == (groups == MISSING).sum()


def test_raw_rows_at_serving_get_the_studys_label_however_they_are_written():
    df = _people()
    ds = prepare(df, DataRef(path="people.csv", target="y", sensitive=("age",), min_group_rows=5))
    bins, labels = ds.grouping["columns"][0]["bins"], ds.grouping["columns"][0]["labels"]
    new = pd.DataFrame({"age": [bins[0], bins[0] - 5, bins[-1] + 30, "40", None, bins[1]]})
    got = rules.group_values(new, ["age"], ds.grouping).tolist()
    # the lowest edge is in the first bin; beyond the range: the nearest outer bin; text is read as a number
    want_40 = ds.groups[df["age"].reset_index(drop=True) == 40.0].iloc[0]
    assert got == [labels[0], labels[0], labels[-1], want_40, MISSING, labels[0]]
    # an integer column of few values keeps its spelling when serving reads it as floats
    small = pd.DataFrame({"slot": [1, 2, 3, 1, 2, 3] * 20, "y": [0, 1] * 60})
    ds2 = prepare(small, DataRef(path="s.csv", target="y", sensitive=("slot",), sensitive_as_feature=True))
    assert rules.group_values(pd.DataFrame({"slot": [1.0, 3.0]}), ["slot"], ds2.grouping).tolist() == ["1", "3"]


def test_pooled_small_groups_map_to_the_pooled_label():
    df = _people()
    ref = DataRef(
        path="people.csv", target="y", sensitive=("age", "region"), min_group_rows=20, merge_small_groups=True
    )
    ds = prepare(df, ref)
    pooled = "other (groups under 20 rows)"
    assert pooled in set(ds.groups) and ds.grouping["pooled"]
    assert set(ds.grouping["pooled"].values()) == {pooled}
    assert any(" × east" in k for k in ds.grouping["pooled"])  # the rare region's groups were pooled
    assert ds.sensitive is not None
    got = rules.group_values(ds.sensitive, list(ref.sensitive), ds.grouping)
    assert got.tolist() == ds.groups.tolist()
    old = [f"{a} × {b}" for a, b in zip(_old_labels(df, "age"), _old_labels(df, "region"), strict=True)]
    assert [ds.grouping["pooled"].get(g, g) for g in old] == ds.groups.tolist()
    sub = ds.subset(np.arange(50, 120))  # a part keeps its rows' raw values and the grouping
    assert rules.group_values(sub.sensitive, ["age", "region"], sub.grouping).tolist() == sub.groups.tolist()


# -- an exported bundle ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def binned_study(tmp_path_factory, small_csv):
    """A real study deciding per group of hour (24 values: quartiles) × device (tablet and missing
    pooled under 30 rows), with group thresholds allowed: two logistic-regression trials."""
    home = tmp_path_factory.mktemp("binnedhome")
    url = f"sqlite:///{home / 'study.db'}"
    spec = make_small_spec(small_csv, families=("logreg",), trials=2)
    data = replace(spec.data, sensitive=("hour", "device"), merge_small_groups=True)
    spec = replace(spec, data=data, allow_group_thresholds=True)
    study = search.create_study(spec, url, "binned-groups")
    search.run(study.study_name, url)
    return url, study.study_name, search.load_spec(study)


def _group_option(url: str, name: str) -> tuple[str, dict[str, float], float]:
    """(key, thresholds, default) of a group point of a stored curve with really different thresholds."""
    for number, curve in sorted(reader.read_curves(url, name).items()):
        for p, kind in enumerate(curve.get("kinds") or []):
            cuts = (curve.get("group_thresholds") or [])[p]
            if kind == KIND_GROUP and len(set(cuts.values())) > 1:
                return f"{number}@{p}", dict(cuts), float(curve["threshold"][p])
    raise AssertionError("the study stored no group point with several thresholds")


@pytest.fixture(scope="module")
def binned_bundle(binned_study, tmp_path_factory):
    url, name, spec = binned_study
    key, cuts, default = _group_option(url, name)
    out = tmp_path_factory.mktemp("binnedbundle") / "g.zip"
    code = cli.main(["export", "--storage", url, "--study", name, "--no-onnx", "-o", str(out), "--trial", key])
    assert code == 0
    return out, key, cuts, default


def _held_out(spec) -> tuple[pd.DataFrame, np.ndarray]:
    """The held-out rows as a user hands them to predict (raw values), and the study's labels of them."""
    df = pd.read_csv(spec.data.path)
    ds = load_dataset(spec.data)
    assert len(df) == ds.n_rows
    _train, test = split(ds, spec.validation, spec.seed)
    rows = df.iloc[test].drop(columns=[spec.data.target]).reset_index(drop=True)
    return rows, ds.groups.iloc[test].to_numpy()


def _predict(zip_path: Path, rows: pd.DataFrame, tmp_path: Path, capsys) -> pd.DataFrame:
    data, out = tmp_path / "rows.csv", tmp_path / "pred.csv"
    rows.to_csv(data, index=False)
    assert cli.main(["predict", str(zip_path), "--data", str(data), "-o", str(out)]) == 0
    capsys.readouterr()
    return pd.read_csv(out)


def test_exported_bundle_decides_raw_rows_as_the_curves_rule(binned_study, binned_bundle, tmp_path, capsys):
    url, name, spec = binned_study
    path, key, cuts, default = binned_bundle
    b = bundle.open_bundle(path)
    grouping = b.config.rule["grouping"]
    assert b.config.option == key and b.config.rule["thresholds"] == cuts
    assert grouping == rules.plain_grouping(load_dataset(spec.data).grouping)  # readable in config.json
    assert json.loads(b.files["config.json"])["rule"]["grouping"] == grouping
    assert [c["column"] for c in grouping["columns"]] == ["hour", "device"] and grouping["pooled"]
    edges = grouping["columns"][0]["bins"]
    words = b.config.rule_description  # a reader applying the thresholds by hand labels rows the same way
    assert f"hour is cut into the study's {len(edges) - 1} quantile bins (edges {edges[1]:g}," in words
    assert f"pooled into {sorted(set(grouping['pooled'].values()))[0]!r}" in words
    rows, labels = _held_out(spec)
    assert set(labels) <= set(cuts)  # every held-out group has its own threshold
    assert any(g.startswith("other (") for g in labels) and all(g.startswith("(") for g in labels if "×" in g)
    pred = _predict(path, rows, tmp_path, capsys)
    want = group_decisions(pred["probability"].to_numpy(), labels, cuts, default)
    assert pred["prediction"].tolist() == want.tolist()
    assert pred["prediction"].tolist() == (pred["probability"] >= [cuts[g] for g in labels]).astype(int).tolist()
    # the same bundle reading raw values (no grouping) decides otherwise: the bug this pins
    blind = rules.GroupThresholdClassifier(b.model().estimator, ["hour", "device"], cuts, default, b.features)
    assert (np.asarray(blind.predict(rows)) != want).any()


def test_reproduce_decides_through_the_bundles_own_grouping_and_catches_a_bundle_without_it(
    binned_study, binned_bundle, tmp_path
):
    import zipfile

    _url, _name, spec = binned_study
    path, key, _cuts, _default = binned_bundle
    rep = reproduce.reproduce(path, spec.data.path)
    checks = {c.name: c for c in rep.checks}
    assert checks["grouping of the sensitive column(s)"].ok
    assert checks[f"decision rule of option {key}"].ok
    assert checks["decisions on the held-out part (rows that differ)"].new == 0
    # the model without its grouping (as the export made it before issue 14): reproduce now fails it
    with zipfile.ZipFile(path) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    model = bundle.open_bundle(path).model()
    model.grouping = None
    files["model.skops"] = safety.dump_model(model)
    files["MANIFEST.json"] = bundle.manifest(files)
    rep = reproduce.reproduce(bundle.zip_bytes(files), spec.data.path)
    bad = {c.name: c for c in rep.failed}
    assert "decisions on the held-out part (rows that differ)" in bad
    assert bad["decisions on the held-out part (rows that differ)"].new > 0


def test_a_rule_without_grouping_and_an_old_bundle_decide_by_raw_values_as_before(binned_bundle):
    path, _key, _cuts, _default = binned_bundle
    b = bundle.open_bundle(path)
    model = b.model()
    assert isinstance(model, rules.GroupThresholdClassifier) and model.grouping  # skops trusts its state
    X = pd.read_csv(b.config.data.path).head(3).assign(hour=[3, 3, 20], device=["mobile", "tablet", "mobile"])
    proba = model.predict_proba(X)[:, 1]
    # an old bundle: keyed by raw values, its skops state without ``grouping`` (saved before the parameter)
    old_cuts = {"3 × mobile": 0.0, "3 × tablet": 1.0}
    old = rules.GroupThresholdClassifier(model.estimator, ["hour", "device"], old_cuts, 0.5, list(b.features))
    del old.__dict__["grouping"]
    loaded = safety.load_model(safety.dump_model(old))
    assert loaded.grouping is None and "grouping" not in loaded.__dict__
    assert loaded.predict(X).tolist() == [1, 0, int(proba[2] >= 0.5)]
    assert rules.group_values(X, ["hour", "device"]).tolist() == ["3 × mobile", "3 × tablet", "20 × mobile"]
    # a rule without a grouping (grouping=None) is the same rule
    fresh = rules.with_rule(model.estimator, rules.group_rule(["hour", "device"], old_cuts, 0.5), list(b.features))
    assert fresh.grouping is None and fresh.predict(X).tolist() == loaded.predict(X).tolist()
    # and a threshold rule is untouched by a grouping
    assert rules.with_grouping(rules.threshold_rule(0.4), b.config.rule["grouping"]) == rules.threshold_rule(0.4)
