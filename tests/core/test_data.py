"""Loading and validating tables: every bad input gets its own message, messy data is cleaned and noted."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core import data
from core.data import (
    DEMO,
    DEMO_SENSITIVE,
    DEMO_TARGET,
    DEMO_VALUE,
    build_preprocessor,
    fingerprint,
    load_dataset,
    prepare,
    read_table,
    split,
)
from core.errors import UserInputError
from core.spec import DataRef, Validation


@pytest.fixture
def frame(demo_frame) -> pd.DataFrame:
    """400 real demo rows (all five age bands present with ≥ 30 rows)."""
    return demo_frame.sample(n=400, random_state=1).reset_index(drop=True)


def ref(**kw) -> DataRef:
    kw.setdefault("target", DEMO_TARGET)
    return DataRef(path="x.csv", **kw)


def csv_bytes(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False).encode()


def parquet_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


# -- unreadable files -------------------------------------------------------------------------------


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(
        UserInputError,
        match=r"empty\.csv is empty \(0 bytes\)\. Choose a file with a "
        r"header row and data\.",
    ) as err:
        read_table(path)
    assert err.value.field == "data.path"


def test_header_only_file(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("age,income,converted\n")
    with pytest.raises(UserInputError, match=r"header\.csv has a header but no data rows\."):
        read_table(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(UserInputError, match=r"File '.*nope\.csv' does not exist\."):
        read_table(tmp_path / "nope.csv")
    with pytest.raises(UserInputError, match=r"is a folder; give a CSV or Parquet file\."):
        read_table(tmp_path)


def test_binary_file_is_unreadable():
    with pytest.raises(
        UserInputError,
        match=r"^upload\.csv looks binary, not CSV text\. Upload a CSV "
        r"\(UTF-8\) or Parquet file\.$",
    ):
        read_table(bytes(range(256)) * 8, name="upload.csv")


def test_corrupt_parquet():
    with pytest.raises(
        UserInputError,
        match=r"^Could not read t\.parquet as Parquet \(.*\)\. Is the file "
        r"complete and really Parquet\?$",
    ):
        read_table(b"PAR1 this is not really parquet", name="t.parquet")


@pytest.mark.parametrize("name", ["table.pkl", "table.csv", "table"])
def test_pickle_is_refused_whatever_its_name(tmp_path, name):
    payload = pickle.dumps(pd.DataFrame({"a": [1, 2], "converted": [0, 1]}))
    with pytest.raises(
        UserInputError,
        match=r"pickled files are never opened \(they can run code\)\. "
        r"Export the table as CSV or Parquet\.",
    ):
        read_table(payload, name=name)
    path = tmp_path / name
    path.write_bytes(payload)
    with pytest.raises(UserInputError, match=r"pickled files are never opened"):
        read_table(path)


# -- column checks ----------------------------------------------------------------------------------


def test_missing_column_lists_existing_columns(frame):
    with pytest.raises(UserInputError) as err:
        prepare(frame, ref(target="convertd"))
    assert str(err.value) == (
        "The target column 'convertd' is not in the table. Columns: " + ", ".join(frame.columns) + "."
    )
    assert err.value.field == "data.target"
    with pytest.raises(
        UserInputError,
        match=r"^The sensitive column 'gender' is not in the table\. "
        r"Columns: ad_id, shown_at, age_band",
    ):
        prepare(frame, ref(sensitive=("gender",)))
    with pytest.raises(UserInputError, match=r"^The value column 'fee' is not in the table"):
        prepare(frame, ref(value_column="fee"))


def test_target_with_one_class(frame):
    df = frame.assign(converted=1)
    with pytest.raises(
        UserInputError,
        match=r"^The target 'converted' has only one class \('1'\); a "
        r"classifier needs two\.",
    ):
        prepare(df, ref())


def test_target_with_more_than_two_classes_says_binary_is_the_scope(frame):
    df = frame.assign(converted=np.arange(len(frame)) % 3)
    with pytest.raises(UserInputError) as err:
        prepare(df, ref())
    msg = str(err.value)
    assert msg.startswith("The target 'converted' has 3 classes ('0', '1', '2').")
    assert "binary classification only" in msg and "one class vs the rest" in msg


def test_nan_target_rows_are_dropped_with_a_note(frame):
    df = frame.copy()
    df["converted"] = df["converted"].astype(float)
    df.loc[:9, "converted"] = np.nan
    ds = prepare(df, ref())
    assert ds.n_rows == len(frame) - 10 and len(ds.X) == ds.n_rows
    assert "Dropped 10 row(s) whose target 'converted' is missing (NaN)." in ds.notes
    df["converted"] = np.nan
    with pytest.raises(
        UserInputError,
        match=r"^The target 'converted' has no values \(all 400 are "
        r"missing\)\.$",
    ):
        prepare(df, ref())


def test_too_few_rows_left(frame):
    df = frame.copy()
    df["converted"] = df["converted"].astype(float)
    df.loc[30:, "converted"] = np.nan
    with pytest.raises(
        UserInputError,
        match=r"^Only 30 row\(s\) with a target value are left after "
        r"dropping 370 with a missing target; at least 40",
    ):
        prepare(df, ref())


def test_rare_class_needs_enough_rows(frame):
    df = frame.assign(converted=0)
    df.loc[:4, "converted"] = 1
    with pytest.raises(UserInputError, match=r"has only 5 row\(s\) of class '1'; at least 10 of each class"):
        prepare(df, ref())


def test_non_numeric_value_column(frame):
    df = frame.copy()
    df["fee_eur"] = df["fee_eur"].astype(object)
    df.loc[7, "fee_eur"] = "twelve euro"
    with pytest.raises(UserInputError) as err:
        prepare(df, ref(value_column="fee_eur"))
    assert str(err.value) == (
        "The value column 'fee_eur' must be numeric (the value of a correct 'yes', e.g. a price or a loan's margin); 1 "
        "value(s) are not numbers, e.g. 'twelve euro'."
    )
    assert err.value.field == "data.value_column"


def test_value_column_without_values(frame):
    with pytest.raises(UserInputError, match=r"The value column 'fee_eur' has no values"):
        prepare(frame.assign(fee_eur=np.nan), ref(value_column="fee_eur"))


def test_small_sensitive_group(frame):
    df = frame.copy()
    df.loc[:4, "age_band"] = "90+"
    with pytest.raises(UserInputError) as err:
        prepare(df, ref(sensitive=("age_band",)))
    assert str(err.value).startswith("Sensitive group(s) with fewer than 30 rows: '90+' (5 rows).")
    assert "--merge-small-groups" in str(err.value) and err.value.field == "data.sensitive"
    ds = prepare(df, ref(sensitive=("age_band",), min_group_rows=5))
    assert set(ds.groups) == {"18-24", "25-34", "35-44", "45-54", "55+", "90+"}


def test_small_sensitive_groups_pooled(frame):
    df = frame.copy()
    df.loc[:19, "age_band"] = "90+"  # 20 rows
    df.loc[20:34, "age_band"] = "80-89"  # 15 rows: alone each is too small, pooled 35 ≥ 30
    ds = prepare(df, ref(sensitive=("age_band",), merge_small_groups=True))
    pooled = "other (groups under 30 rows)"
    assert (ds.groups == pooled).sum() == 35 and not ds.groups.isin(["90+", "80-89"]).any()
    assert any(
        n.startswith(f"Sensitive groups with fewer than 30 rows pooled into {pooled!r}") and "'90+' (20)" in n
        for n in ds.notes
    )
    # one tiny group pooled alone is still too small: say so, not "pool them"
    tiny = frame.copy()
    tiny.loc[:9, "age_band"] = "90+"
    with pytest.raises(UserInputError) as err:
        prepare(tiny, ref(sensitive=("age_band",), merge_small_groups=True))
    assert f"{pooled!r} (10 rows)" in str(err.value) and "even pooled they are too few" in str(err.value)


def test_no_features_left(frame):
    df = frame[["age_band", "fee_eur", "converted", "ad_id"]]
    with pytest.raises(UserInputError) as err:
        prepare(df, ref(sensitive=("age_band",), value_column="fee_eur"))
    msg = str(err.value)
    assert msg.startswith(
        "No usable feature columns are left: 'converted' (target); 'age_band' "
        "(sensitive); 'fee_eur' (value); 'ad_id' (identifier"
    )
    assert err.value.field == "data.exclude"


def test_unknown_positive_label(frame):
    with pytest.raises(
        UserInputError,
        match=r"positive_label 'yes' is not a value of 'converted'; its "
        r"values are '0', '1'\.",
    ):
        prepare(frame, ref(positive_label="yes"))


# -- messy data -------------------------------------------------------------------------------------


def test_adult_style_labels_are_merged_with_the_positive_class_first(frame):
    rng = np.random.default_rng(0)
    df = frame.copy()
    suffix = rng.random(len(df)) < 0.5  # the Adult test file writes '>50K.', the train file '>50K'
    df["income"] = np.where(df["converted"] == 1, ">50K", "<=50K")
    df.loc[suffix, "income"] = df.loc[suffix, "income"] + "."
    df = df.drop(columns="converted")
    ds = prepare(df, ref(target="income"))
    assert (ds.positive_label, ds.negative_label) == (">50K", "<=50K")
    assert np.array_equal(ds.y, frame["converted"].to_numpy())
    assert any("merged labels" in n and "'<=50K.'" in n for n in ds.notes)
    assert "Positive class of 'income': '>50K' (choose another positive class to change it)." in ds.notes


def test_id_and_date_columns_are_dropped_with_notes(frame):
    ds = prepare(frame, ref(sensitive=DEMO_SENSITIVE, value_column=DEMO_VALUE))
    assert ds.dropped["ad_id"].startswith("identifier")
    assert ds.dropped["shown_at"].startswith("date/time column")
    assert "ad_id" not in ds.X and "shown_at" not in ds.X and "age_band" not in ds.X
    assert any(n.startswith("Dropped column 'ad_id': identifier") for n in ds.notes)
    assert any(n.startswith("Dropped column 'shown_at': date/time") for n in ds.notes)


def test_duplicate_column_names_csv():
    raw = b"a,a,b,converted\n" + b"".join(f"{i},{i % 7},{i % 3},{i % 2}\n".encode() for i in range(60))
    df, notes = read_table(raw, name="dup.csv")
    assert list(df.columns) == ["a", "a__2", "b", "converted"]
    assert "Duplicate column name 'a': the copy is called 'a__2'." in notes
    assert df["a__2"].tolist()[:8] == [0, 1, 2, 3, 4, 5, 6, 0]


def test_duplicate_column_names_parquet():
    table = pa.table([pa.array([1, 2, 3]), pa.array([4, 5, 6]), pa.array([0, 1, 0])], names=["a", "a", "converted"])
    df, notes = read_table(parquet_bytes(table), name="dup.parquet")
    assert list(df.columns) == ["a", "a__2", "converted"]
    assert df["a__2"].tolist() == [4, 5, 6]
    assert notes == ["Duplicate column name 'a': the copy is called 'a__2'."]


def test_target_copy_and_noisy_copy_are_dropped_as_leaks(frame):
    rng = np.random.default_rng(0)
    df = frame.assign(
        converted_copy=frame["converted"],
        converted_noisy=frame["converted"] + rng.normal(0, 1e-3, len(frame)),
        outcome_text=frame["converted"].map({0: "no sale", 1: "sale"}),
    )
    ds = prepare(df, ref())
    for col in ("converted_copy", "converted_noisy", "outcome_text"):
        assert ds.dropped[col].startswith("suspected target leak"), col
        assert col not in ds.X
    assert "relevance" in ds.X  # a real, strong-but-imperfect feature stays
    kept = prepare(df, ref(keep_suspected_leaks=True))
    assert "converted_copy" in kept.X
    assert any("looks like it leaks the target" in n for n in kept.notes)


def test_question_mark_is_missing_in_csv_and_parquet(frame):
    df = frame.copy().astype({"device": object})
    df.loc[:19, "device"] = "?"
    df_csv, _ = read_table(csv_bytes(df), name="q.csv")
    df_pq, _ = read_table(parquet_bytes(pa.Table.from_pandas(df, preserve_index=False)), name="q.parquet")
    for loaded in (df_csv, df_pq):
        assert loaded["device"].iloc[:20].isna().all()
        assert "?" not in set(loaded["device"].dropna())
        ds = prepare(loaded, ref())
        assert "device" in ds.categorical and ds.X["device"].isna().sum() >= 20


def test_numbers_stored_as_strings_are_converted(frame):
    df = frame.copy()
    df["bid_cpc"] = df["bid_cpc"].map(lambda v: f"{v:,.2f}")
    df["user_sessions_30d"] = df["user_sessions_30d"].astype(str)
    table = pa.Table.from_pandas(df, preserve_index=False)
    assert pa.types.is_large_string(table.schema.field("bid_cpc").type) or pa.types.is_string(
        table.schema.field("bid_cpc").type
    )
    loaded, _ = read_table(parquet_bytes(table), name="s.parquet")
    ds = prepare(loaded, ref())
    assert "bid_cpc" in ds.numeric and "user_sessions_30d" in ds.numeric
    assert ds.X["bid_cpc"].dtype == float
    assert np.allclose(ds.X["bid_cpc"], frame["bid_cpc"].round(2))
    assert "Column 'bid_cpc': numbers stored as text, converted to numbers." in ds.notes


def test_numbers_from_text_is_the_reading_prepare_uses():
    """Predict calls the same reader, so a served table is read as the training table was."""
    raw = pd.Series([" 7,000 ", "12.5", None, np.nan, "n/a", "-3"], dtype=object)
    got = data.numbers_from_text(raw)
    assert got.dtype == float
    assert got.iloc[[0, 1, 5]].tolist() == [7000.0, 12.5, -3.0]
    assert got.iloc[[2, 3, 4]].isna().all()  # missing stays missing, text becomes missing
    kind, why, converted = data.infer_column(raw.iloc[[0, 1, 5] * 20], "price", 60)
    assert kind == "numeric" and "numbers stored as text" in why
    assert converted.equals(data.numbers_from_text(raw.iloc[[0, 1, 5] * 20]))


def test_several_sensitive_columns_intersect(frame):
    ds = prepare(frame, ref(sensitive=("age_band", "device"), min_group_rows=1))
    assert any(" × " in g for g in ds.groups.unique())
    assert "device" not in ds.X


# -- fingerprint, demo, split -----------------------------------------------------------------------


def test_fingerprint_is_stable_and_sensitive_to_one_cell(frame, tmp_path):
    path = tmp_path / "a.csv"
    frame.to_csv(path, index=False)
    a1, _ = read_table(path)
    a2, _ = read_table(path.read_bytes(), name="a.csv")
    assert fingerprint(a1) == fingerprint(a2) == fingerprint(a1.copy())
    assert fingerprint(a1).startswith("sha256:")
    changed = a1.copy()
    changed.loc[123, "relevance"] += 0.0001
    assert fingerprint(changed) != fingerprint(a1)
    changed = a1.copy()
    changed.loc[5, "device"] = "desktop" if changed.loc[5, "device"] != "desktop" else "mobile"
    assert fingerprint(changed) != fingerprint(a1)
    assert fingerprint(a1.rename(columns={"hour": "hour_of_day"})) != fingerprint(a1)


def test_changed_data_is_refused_by_fingerprint(frame, tmp_path):
    path = tmp_path / "a.csv"
    frame.to_csv(path, index=False)
    ds = load_dataset(DataRef(path=str(path), target=DEMO_TARGET))
    frame.assign(hour=frame["hour"] + 1).to_csv(path, index=False)
    with pytest.raises(
        UserInputError, match=r"has changed since the study was made: expected fingerprint " + ds.fingerprint
    ):
        load_dataset(DataRef(path=str(path), target=DEMO_TARGET, fingerprint=ds.fingerprint))


def test_demo_loads_with_expected_roles():
    ds = load_dataset(DataRef(path=DEMO, target=DEMO_TARGET, sensitive=DEMO_SENSITIVE, value_column=DEMO_VALUE))
    assert ds.n_rows == 20_000 and ds.positive_label == "1"
    assert set(ds.dropped) == {"ad_id", "shown_at"}
    assert "fee_eur" not in ds.X and ds.value is not None and (ds.value > 0).all()
    assert set(ds.categorical) == {"device", "region", "ad_category"}
    rates = pd.Series(ds.y).groupby(ds.groups).mean()
    assert rates.max() - rates.min() > 0.05  # groups differ in base rate: fairness can conflict


def test_split_is_stratified_disjoint_and_seeded(frame):
    ds = prepare(frame, ref(sensitive=("age_band",)))
    tr, te = split(ds, Validation(test_size=0.25), 0)
    assert len(np.intersect1d(tr, te)) == 0 and len(tr) + len(te) == ds.n_rows
    assert abs(ds.y[te].mean() - ds.y.mean()) < 0.03
    assert set(ds.groups.iloc[te]) == set(ds.groups)
    tr2, te2 = split(ds, Validation(test_size=0.25), 0)
    assert np.array_equal(tr, tr2) and np.array_equal(te, te2)
    small, te3 = split(ds, Validation(test_size=0.25, max_train_rows=120), 0)
    assert len(small) == 120 and np.array_equal(te3, te) and set(small) <= set(tr)


def test_preprocessor_handles_missing_and_unseen_categories(frame):
    ds = prepare(frame, ref())
    prep = build_preprocessor(ds.numeric, ds.categorical, scale=True).fit(ds.X)
    row = ds.X.iloc[[0]].copy()
    row.loc[row.index[0], "device"] = "smartwatch"
    row.loc[row.index[0], "relevance"] = np.nan
    out = prep.transform(row)
    assert out.shape[0] == 1 and np.isfinite(out).all()


def test_min_rows_constant_is_what_the_message_says():
    assert data.MIN_ROWS == 40 and data.MIN_CLASS_ROWS == 10


# -- panel data: an entity's rows stay together ---------------------------------------------------


def _panel(n_people: int = 300, years: int = 6, id_name: str = "nr") -> pd.DataFrame:
    """A panel like Ecdat's Males: one row per person and year; whether a person is in a union
    mostly follows who they are, so a split that puts one person's years on both sides scores a
    model on people it has memorised."""
    rng = np.random.default_rng(0)
    person = np.repeat(np.arange(1, n_people + 1), years)
    who = np.repeat(rng.normal(size=n_people), years)
    df = pd.DataFrame(
        {
            id_name: person,
            "year": np.tile(np.arange(1980, 1980 + years), n_people),
            "school": np.repeat(rng.integers(8, 16, n_people), years),
            "exper": rng.integers(0, 20, n_people * years),
        }
    )
    df["union"] = np.where(who + 0.3 * rng.normal(size=len(df)) > 0.5, "yes", "no")
    return df


def test_a_repeating_id_column_is_detected_as_the_entity():
    ds = data.prepare(_panel(), DataRef(path="males.csv", target="union"))
    assert ds.entity_column == "nr" and "nr" not in ds.X.columns
    assert len(set(ds.entity)) == 300
    assert any("'nr' looks like the ID of an entity" in n and "--entity" in n for n in ds.notes)


@pytest.mark.parametrize("name", ["person_id", "customer", "PID", "household_nr", "account_no", "Tuna.id"])
def test_entity_names_that_are_detected(name):
    assert data.prepare(_panel(id_name=name), DataRef(path="p.csv", target="union")).entity_column == name


@pytest.mark.parametrize("name", ["customer_age", "number", "idle_time", "NO"])
def test_a_repeating_column_not_named_like_an_id_is_a_feature(name):
    ds = data.prepare(_panel(id_name=name), DataRef(path="p.csv", target="union"))
    assert ds.entity is None and name in ds.X.columns


def test_detection_can_be_turned_off_and_an_entity_named():
    off = data.prepare(_panel(), DataRef(path="p.csv", target="union", detect_entity=False))
    assert off.entity is None and "nr" in off.X.columns
    named = data.prepare(_panel(id_name="who"), DataRef(path="p.csv", target="union", entity_column="who"))
    assert named.entity_column == "who" and "who" not in named.X.columns
    assert any("grouped by the entity column 'who' (300 entities)" in n for n in named.notes)


def test_the_demo_has_no_entity(frame):
    assert data.prepare(frame, ref()).entity is None


def test_split_and_cv_folds_never_share_an_entity():
    ds = data.prepare(_panel(), DataRef(path="p.csv", target="union"))
    for seed in (0, 1):
        train, test = data.split(ds, Validation(test_size=0.25), seed)
        assert not set(ds.entity[train]) & set(ds.entity[test])
        assert 0.2 < len(test) / ds.n_rows < 0.3
        assert abs(ds.y[test].mean() - ds.y.mean()) < 0.05  # still stratified by the target
        folds = list(data.cv_folds(3, seed, ds.y[train], ds.entity[train]))
        assert len(folds) == 3
        for a, b in folds:
            assert not set(ds.entity[train][a]) & set(ds.entity[train][b])
    # a row split without the entity puts most people on both sides
    rows = data.prepare(_panel(), DataRef(path="p.csv", target="union", detect_entity=False))
    train, test = data.split(rows, Validation(), 0)
    people = _panel()["nr"].to_numpy()
    assert len(set(people[train]) & set(people[test])) > 200


def test_max_train_rows_keeps_whole_entities():
    ds = data.prepare(_panel(), DataRef(path="p.csv", target="union"))
    train, test = data.split(ds, Validation(max_train_rows=500), 0)
    assert len(train) <= 500 and len(train) % 6 == 0  # six years per person, all or none
    assert not set(ds.entity[train]) & set(ds.entity[test])


def test_grouped_scores_are_not_inflated_by_memorised_people():
    """The point of it: a deep tree that memorises people looks far better on a row split."""
    from dataclasses import replace as _replace

    from core.models.evaluate import evaluate
    from core.spec import Objective, Spec

    def test_auc(detect: bool) -> float:
        dref = DataRef(path="p.csv", target="union", detect_entity=detect)
        ds = data.prepare(_panel(), dref)
        spec = Spec(data=dref, objectives=(Objective("roc_auc"),), families=("decision_tree",))
        spec = _replace(spec, validation=Validation(latency_repeats=20))
        train, test = data.split(ds, spec.validation, 0)
        params = {"max_depth": 12, "min_samples_leaf": 1, "criterion": "gini", "class_weight": "none"}
        return evaluate("decision_tree", params, ds, train, test, spec).test["roc_auc"]

    assert test_auc(detect=False) > test_auc(detect=True) + 0.1


def test_entity_errors_say_what_to_do():
    with pytest.raises(UserInputError, match=r"entity column 'nope' is not in the table. Columns: nr"):
        data.prepare(_panel(), DataRef(path="p.csv", target="union", entity_column="nope"))
    with pytest.raises(UserInputError, match=r"'union' is the target; the entity column says whose row"):
        DataRef(path="p.csv", target="union", entity_column="union")
    with pytest.raises(UserInputError, match=r"only 6 distinct value\(s\).*at least 10 entities"):
        data.prepare(_panel(), DataRef(path="p.csv", target="union", entity_column="year"))
    ds = data.prepare(_panel(n_people=12), DataRef(path="p.csv", target="union"))
    with pytest.raises(
        UserInputError,
        match=r"Only \d entities \('nr'\) are in the training part, fewer "
        r"than the 10 CV folds",
    ):
        data.split(ds, Validation(cv_folds=10), 0)


def test_a_spec_saved_before_entity_detection_keeps_its_row_split():
    from core.spec import Spec

    new = Spec(data=DataRef(path="p.csv", target="union"))
    assert Spec.from_dict(new.to_dict()).data.detect_entity is True
    old = new.to_dict()
    del old["data"]["detect_entity"], old["data"]["entity_column"]
    assert Spec.from_dict(old).data.detect_entity is False


# -- time split: test on the most recent rows -----------------------------------------------------


def test_time_split_tests_on_the_most_recent_rows(frame):
    ds = data.prepare(frame, ref(sensitive=DEMO_SENSITIVE, time_column="shown_at"))
    assert "shown_at" not in ds.X and ds.time_column == "shown_at"
    assert any(n.startswith("Time split on 'shown_at' (dates)") for n in ds.notes)
    train, test = data.split(ds, Validation(test_size=0.25), 0)
    assert ds.time[train].max() < ds.time[test].min()
    assert len(test) == pytest.approx(0.25 * ds.n_rows, abs=5)
    assert sorted(np.r_[train, test].tolist()) == list(range(ds.n_rows))
    # the same whatever the seed: time, not chance, decides
    assert all(np.array_equal(a, b) for a, b in zip(data.split(ds, Validation(), 0), data.split(ds, Validation(), 7)))


def test_time_split_keeps_the_most_recent_training_rows(demo_frame):
    ds = data.prepare(demo_frame.iloc[:4000], ref(time_column="shown_at"))
    full, test = data.split(ds, Validation(), 0)
    small, test2 = data.split(ds, Validation(max_train_rows=500), 0)
    assert np.array_equal(test, test2) and len(small) == 500
    assert set(small) <= set(full) and ds.time[small].min() >= np.sort(ds.time[full])[-500]


def test_time_split_on_a_year_with_entity_folds():
    """Panel data split by year: the last years are the test part; the CV folds inside the
    training years still keep each person's rows together."""
    ds = data.prepare(_panel(), DataRef(path="p.csv", target="union", time_column="year"))
    assert ds.entity_column == "nr" and "year" not in ds.X
    train, test = data.split(ds, Validation(test_size=0.25), 0)
    years = _panel()["year"].to_numpy()
    assert set(years[test]) == {1984, 1985} and set(years[train]) == {1980, 1981, 1982, 1983}
    for a, b in data.cv_folds(3, 0, ds.y[train], ds.entity[train]):
        assert not set(ds.entity[train][a]) & set(ds.entity[train][b])


def test_rows_without_a_time_are_only_trained_on(frame):
    f = frame.copy()
    f.loc[:9, "shown_at"] = None
    ds = data.prepare(f, ref(time_column="shown_at"))
    assert any("10 row(s) without a time count as the oldest" in n for n in ds.notes)
    train, test = data.split(ds, Validation(), 0)
    assert set(range(10)) <= set(train)


def test_time_split_errors_say_what_to_do(frame):
    with pytest.raises(UserInputError, match=r"time column 'when' is not in the table"):
        data.prepare(frame, ref(time_column="when"))
    with pytest.raises(UserInputError, match=r"'converted' is the target; the time column says when"):
        ref(time_column="converted")
    f = frame.assign(when="soon")
    with pytest.raises(UserInputError, match=r"400 value\(s\) that are not dates or numbers, e.g. 'soon'"):
        data.prepare(f, ref(time_column="when"))
    with pytest.raises(UserInputError, match=r"single point in time"):
        data.prepare(frame.assign(when=2024), ref(time_column="when"))
    late = frame.assign(when=np.where(np.arange(len(frame)) < 12, 2020, 2024))  # 97 % on the last day
    ds = data.prepare(late, ref(time_column="when"))
    with pytest.raises(UserInputError, match=r"leaves 12 row\(s\) in the training part"):
        data.split(ds, Validation(), 0)


def test_a_row_without_an_entity_id_is_an_entity_of_its_own():
    df = _panel()
    df["nr"] = df["nr"].astype(float)
    df.loc[:3, "nr"] = np.nan  # the first person's first four years lost their ID
    ds = data.prepare(df, DataRef(path="p.csv", target="union", entity_column="nr"))
    assert len(set(ds.entity)) == 300 + 4
    assert len(set(ds.entity[:4])) == 4 and not set(ds.entity[:4]) & set(ds.entity[4:])


def test_one_column_cannot_be_both_entity_and_time():
    with pytest.raises(UserInputError, match=r"'nr' is the entity column; the time column says when"):
        DataRef(path="p.csv", target="union", entity_column="nr", time_column="nr")
