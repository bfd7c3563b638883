"""ONNX export: parity with the scikit-learn pipeline per family, honest refusals, both latencies."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from threadpoolctl import threadpool_limits

from core.data import load_dataset, prepare
from core.export import onnx as onnx_export
from core.export.bundle import with_threshold
from core.models import families as fam
from core.models.evaluate import make_pipeline
from core.spec import DataRef
from tests.core.test_safety import _Low

EXPORTABLE = [f for f, (status, _) in onnx_export.SUPPORT.items() if status == "yes"]


@pytest.fixture(scope="module")
def parts(small_csv):
    """600 training rows and 250 held-out rows of the real sample, with missing values in both a
    numeric and a categorical column (the ONNX input convention must handle them)."""
    ds = load_dataset(DataRef(path=str(small_csv), target="converted", sensitive=("age_band",), value_column="fee_eur"))
    train, check = ds.subset(np.arange(600)), ds.subset(np.arange(600, 850))
    assert check.X["device"].isna().any() and check.X["page_quality"].isna().any()
    return ds, train, check


def _fit(family: str, params: dict, ds, train):
    with threadpool_limits(limits=1):
        return make_pipeline(family, params, ds, 0).fit(train.X, train.y)


@pytest.mark.parametrize(
    "family, params", [(f, None) for f in EXPORTABLE] + [("naive_bayes", {"variant": "complement", "alpha": 1.0})]
)
def test_parity_per_exportable_family(parts, family, params):
    ds, train, check = parts
    pipe = _fit(family, params or fam.get(family).space(_Low()), ds, train)
    res = onnx_export.export(pipe, family, check.X, ds.numeric, ds.categorical, latency_repeats=20)
    assert res.exported, res.reason
    assert res.n_rows_checked == len(check.X) >= onnx_export.MIN_ROWS
    assert res.max_abs_diff is not None and res.max_abs_diff <= onnx_export.TOLERANCE
    # the bytes we ship predict like the pipeline, on rows with missing values too
    got = onnx_export.predict_proba(onnx_export.session(res.model), check.X, ds.numeric, ds.categorical)
    np.testing.assert_allclose(got, pipe.predict_proba(check.X)[:, 1], atol=onnx_export.TOLERANCE)
    assert res.onnx_latency["p50_ms"] > 0 and res.sklearn_latency["p50_ms"] > 0
    d = res.to_dict()
    assert "model" not in d and d["speedup_p50"] > 0 and d["inputs"][0]["name"] == ds.numeric[0]


def test_a_pipeline_with_its_decision_rule_exports_its_probabilities_and_states_the_rule(parts):
    ds, train, check = parts
    pipe = _fit("logreg", fam.get("logreg").space(_Low()), ds, train)
    res = onnx_export.export(
        with_threshold(pipe, 0.3), "logreg", check.X, ds.numeric, ds.categorical, latency_repeats=8
    )
    assert res.exported, res.reason
    got = onnx_export.predict_proba(onnx_export.session(res.model), check.X, ds.numeric, ds.categorical)
    np.testing.assert_allclose(got, pipe.predict_proba(check.X)[:, 1], atol=onnx_export.TOLERANCE)
    d = res.to_dict()
    assert d["threshold"] == 0.3 and "positive when it is ≥ 0.3" in d["input_convention"]


def test_parity_failure_is_reported_not_exported(parts):
    ds, train, check = parts
    pipe = _fit("logreg", fam.get("logreg").space(_Low()), ds, train)
    res = onnx_export.export(pipe, "logreg", check.X, ds.numeric, ds.categorical, tolerance=0.0)
    assert not res.exported and res.model is None
    assert res.reason.startswith("parity check failed") and "tolerance 0" in res.reason
    assert res.max_abs_diff > 0 and res.onnx_latency is None


class _Opaque(ClassifierMixin, BaseEstimator):
    """An estimator no converter knows."""

    def fit(self, X, y):
        self.classes_ = np.array([0, 1])
        self.rate_ = float(np.mean(y))
        return self

    def predict_proba(self, X):
        return np.tile([1 - self.rate_, self.rate_], (len(X), 1))


def test_unconvertible_model_gives_the_converter_reason(parts):
    from sklearn.pipeline import Pipeline

    ds, train, check = parts
    pipe = Pipeline(
        [("prep", make_pipeline("logreg", fam.get("logreg").space(_Low()), ds, 0)[0]), ("model", _Opaque())]
    ).fit(train.X, train.y)
    res = onnx_export.export(pipe, "opaque", check.X, ds.numeric, ds.categorical)
    assert not res.exported and "converter failed" in res.reason and "_Opaque" in res.reason


def test_too_few_rows_for_a_parity_check_is_a_bug(parts):
    ds, train, check = parts
    pipe = _fit("logreg", fam.get("logreg").space(_Low()), ds, train)
    with pytest.raises(ValueError, match="at least 200 rows"):
        onnx_export.export(pipe, "logreg", check.X.head(10), ds.numeric, ds.categorical)


@pytest.mark.parametrize("family", ["voting", "stacking"])
def test_ensembles_export_with_parity(parts, family):
    """Ensembles scale only their linear member, so their tree members see the same float values in
    ONNX as in scikit-learn and the probabilities match."""
    ds, train, check = parts
    pipe = _fit(family, fam.get(family).space(_Low()), ds, train)
    res = onnx_export.export(pipe, family, check.X, ds.numeric, ds.categorical, latency_repeats=20)
    assert res.exported, res.reason
    assert res.max_abs_diff is not None and res.max_abs_diff <= onnx_export.TOLERANCE


def test_exportability_table_covers_every_family():
    table = onnx_export.exportability()
    assert list(table["family"]) == list(fam.REGISTRY)
    assert set(table["exportable"]) == {"yes"}
    assert table["note"].str.len().min() > 10


def test_input_convention_missing_values(parts):
    ds, _, check = parts
    feed = onnx_export.onnx_inputs(check.X, ds.numeric, ds.categorical)
    assert set(feed) == set(ds.numeric) | set(ds.categorical)
    dev = feed["device"].ravel()
    assert (dev == "").sum() == int(check.X["device"].isna().sum())
    assert np.isnan(feed["page_quality"]).sum() == int(check.X["page_quality"].isna().sum())
    assert feed["hour"].dtype == np.float32 and feed["hour"].shape == (len(check.X), 1)
    assert isinstance(pd.Series(dev).iloc[0], str)


# -- a census-like table: rare categories, unseen ones, and column names skl2onnx renames ----------


@pytest.fixture(scope="module")
def census():
    """Like the census table: a long-tailed country column (many categories seen a few times), a
    rare work class, names with spaces and punctuation; the check rows add missing values and
    categories the model never saw."""
    rng = np.random.default_rng(3)
    n = 900
    countries = ["United-States"] * 60 + ["Mexico"] * 6 + [f"country {i}" for i in range(40)]
    df = pd.DataFrame(
        {
            "page quality": rng.normal(size=n),
            "hours/week": rng.integers(1, 80, n).astype(float),
            "capital-gain ($)": rng.exponential(1000, n).round(),
            "native-country": rng.choice(countries, n),
            "work class": rng.choice(["Private", "Self-emp", "Gov", "Never-worked"], n, p=[0.7, 0.2, 0.097, 0.003]),
            "sex": rng.choice(["Female", "Male"], n),
        }
    )
    score = df["page quality"] + 0.02 * df["hours/week"] + (df["work class"] == "Gov") + rng.normal(size=n)
    df["income>50K"] = (score > score.median()).astype(int)
    ds = prepare(df, DataRef(path="census.csv", target="income>50K", sensitive=("sex",)))
    train, check = ds.subset(np.arange(600)), ds.subset(np.arange(600, n)).X.copy()
    check.iloc[:5, check.columns.get_loc("native-country")] = "Atlantis"
    check.iloc[5:10, check.columns.get_loc("work class")] = "Pirate"
    check.iloc[10:15, check.columns.get_loc("work class")] = np.nan
    check.iloc[15:20, check.columns.get_loc("page quality")] = np.nan
    return ds, train, check


CLAIMED = [
    f
    for f, status in zip(onnx_export.exportability()["family"], onnx_export.exportability()["exportable"])
    if status == "yes"
]


@pytest.mark.parametrize(
    "family, params", [(f, None) for f in CLAIMED] + [("naive_bayes", {"variant": "complement", "alpha": 1.0})]
)
def test_every_family_that_claims_to_export_does_so_on_a_census_like_table(census, family, params):
    ds, train, check = census
    assert {"native-country", "work class"} <= set(ds.categorical) and "page quality" in ds.numeric
    pipe = _fit(family, params or fam.get(family).space(_Low()), ds, train)
    encoder = pipe[0].named_transformers_["cat"].named_steps["onehot"]
    assert any(rare is not None for rare in encoder.infrequent_categories_), "the table must have rare categories"
    res = onnx_export.export(pipe, family, check, ds.numeric, ds.categorical, latency_repeats=8)
    assert res.exported, res.reason
    assert res.max_abs_diff is not None and res.max_abs_diff <= 1e-5
    sess = onnx_export.session(res.model)
    got = onnx_export.predict_proba(sess, check, ds.numeric, ds.categorical)
    np.testing.assert_allclose(got, pipe.predict_proba(check)[:, 1], atol=1e-5, rtol=0)
    # the graph's own input names are what a consumer must feed; the bundle states both
    names = onnx_export.input_names(sess)
    assert [i["name"] for i in res.inputs] == names and "page quality" not in names
    assert [i["column"] for i in res.inputs] == [*ds.numeric, *ds.categorical]


def test_unseen_and_rare_categories_take_the_infrequent_column_in_onnx_too(census):
    """One row per case, compared one by one: a rare category, an unseen one, and a missing one
    must each land where scikit-learn puts them."""
    ds, train, check = census
    pipe = _fit("logreg", fam.get("logreg").space(_Low()), ds, train)
    sess = onnx_export.session(onnx_export.convert(pipe, ds.numeric, ds.categorical))
    encoder = pipe[0].named_transformers_["cat"].named_steps["onehot"]
    rare = encoder.infrequent_categories_[ds.categorical.index("native-country")][0]
    base = check.iloc[[30]].copy()
    rows = []
    for value in [rare, "Atlantis", np.nan, "United-States"]:
        row = base.copy()
        row.iloc[0, row.columns.get_loc("native-country")] = value
        rows.append(row)
    X = pd.concat(rows, ignore_index=True)
    want = pipe.predict_proba(X)[:, 1]
    np.testing.assert_allclose(onnx_export.predict_proba(sess, X, ds.numeric, ds.categorical), want, atol=1e-6)
    assert want[0] == pytest.approx(want[1]) and want[0] != pytest.approx(want[3])
