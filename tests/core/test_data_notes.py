"""The data notes tell everything that was done to a table, and the usual leaks are caught.

Bad-input corpus of issue 16: a decimal-comma file, a header-less file, a table with each kind of
leak (post-outcome value, missingness as a signal, AUC with missing values, an exact copy).
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core import data
from core.data import DEMO, load_dataset, numbers_from_text, prepare, read_table
from core.errors import UserInputError
from core.spec import DataRef

# -- decimal commas -------------------------------------------------------------------------------


def _decimal_comma_csv(n: int = 200) -> bytes:
    """A ';'-separated export with '0,3197'-style numbers, as spreadsheets in most of Europe write."""
    rng = np.random.default_rng(0)
    y = rng.random(n) < 0.3
    score = np.round(rng.random(n) * 0.5 + 0.4 * y, 4)
    lines = ["score;visits;city;churn"]
    for i in range(n):
        lines.append(f"{score[i]:.4f}".replace(".", ",") + f";{i % 40};{'nsew'[i % 4]};{int(y[i])}")
    return ("\n".join(lines) + "\n").encode()


def test_decimal_commas_are_read_as_decimals_with_a_note():
    df, _ = read_table(_decimal_comma_csv(), name="eu.csv")
    ds = prepare(df, DataRef(path="eu.csv", target="churn"))
    expected = df["score"].str.replace(",", ".").astype(float).to_numpy()
    assert np.allclose(ds.X["score"].to_numpy(), expected)
    assert ds.X["score"].max() < 1.0  # never '0,3197' → 3197
    assert ds.decimal == "," and ds.subset(np.arange(5)).decimal == ","
    note = next(n for n in ds.notes if n.startswith("Column 'score':"))
    assert "decimal comma" in note and f"{df['score'].iloc[0]!r} read as {expected[0]:g}" in note


def test_a_table_without_decimal_commas_keeps_the_point():
    df = pd.DataFrame({"price": ["7,000", "12.5", "1,234,567.5"] * 20, "y": [0, 1] * 30})
    ds = prepare(df, DataRef(path="p.csv", target="y"))
    assert ds.decimal == "."
    assert ds.X["price"].iloc[:3].tolist() == [7000.0, 12.5, 1234567.5]
    assert "Column 'price': numbers stored as text, converted to numbers." in ds.notes


def test_mixed_decimal_marks_are_refused_with_the_fix():
    df = pd.DataFrame({"a": ["0,37", "1,5"] * 30, "b": ["2.25", "x"] * 30, "y": [0, 1] * 30})
    with pytest.raises(UserInputError) as err:
        prepare(df, DataRef(path="m.csv", target="y"))
    msg = str(err.value)
    assert "decimal comma ('0,37' in column 'a')" in msg and "decimal point ('2.25' in column 'b')" in msg
    assert "Save the file with one decimal mark" in msg and err.value.field == "data.path"


def test_numbers_from_text_reads_the_decimal_mark_it_is_told():
    """The one reader prepare and predict share: thousands separators read, no decimal comma mangled."""
    raw = pd.Series([" 7,000 ", "12.5", None, "n/a", "-3", "0,3197", "1,2,3"], dtype=object)
    got = numbers_from_text(raw)
    assert got.iloc[[0, 1, 4]].tolist() == [7000.0, 12.5, -3.0]
    assert got.iloc[[2, 3, 5, 6]].isna().all()  # '0,3197' is not 3197
    comma = numbers_from_text(pd.Series(["0,37", "1.234,5", "12", "-0,5", None, "0.37"]), decimal=",")
    assert comma.iloc[:4].tolist() == [0.37, 1234.5, 12.0, -0.5]
    assert comma.iloc[4:].isna().all()  # a point in a decimal-comma table is not guessed at
    assert data.decimal_mark(pd.DataFrame({"a": ["1,500", "2,250"]})) == "."  # undecided: a thousands separator


# -- placeholders, copies, header, sensitive columns ----------------------------------------------


def _census_like(n: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    df = pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "workclass": rng.choice(["Private", "State-gov", "Self-emp"], n).astype(object),
            "occupation": rng.choice(["Sales", "Tech", "Craft"], n).astype(object),
            "income": rng.choice(["<=50K", ">50K"], n),
        }
    )
    df.loc[:11, "workclass"] = "?"
    df.loc[5:9, "occupation"] = "?"
    df.loc[20:22, "occupation"] = "NA"
    return df


def test_placeholder_cells_are_counted_per_column_csv_and_parquet():
    df = _census_like()
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), buf)
    for raw, name in ((df.to_csv(index=False).encode(), "adult.csv"), (buf.getvalue(), "adult.parquet")):
        loaded, notes = read_table(raw, name=name)
        assert loaded["workclass"].isna().sum() == 12
        assert "17 cells written as '?' read as missing in: workclass (12), occupation (5)." in notes, name
        assert "3 cells written as 'NA' read as missing in: occupation (3)." in notes, name


def test_empty_cells_are_not_counted_as_placeholders():
    _, notes = read_table(b"a,b,y\n" + b"1,,0\n2,3,1\n" * 30, name="e.csv")
    assert not any("read as missing" in n for n in notes)


def test_exact_copies_are_dropped_naming_the_column_they_copy(demo_frame):
    frame = demo_frame.sample(n=400, random_state=1).reset_index(drop=True)
    df = frame.assign(relevance_again=frame["relevance"], band=frame["age_band"])
    ds = prepare(df, DataRef(path="x.csv", target="converted", sensitive=("age_band",)))
    assert "relevance" in ds.X and "relevance_again" not in ds.X and "band" not in ds.X
    assert "Dropped column 'relevance_again': an exact copy of column 'relevance'." in ds.notes
    assert "Dropped column 'band': an exact copy of the sensitive column 'age_band'." in ds.notes
    # the same names and a renamed duplicate from the file itself
    raw = b"a,a,b,y\n" + b"".join(f"{i},{i},{i % 3},{i % 2}\n".encode() for i in range(60))
    loaded, notes = read_table(raw, name="dup.csv")
    ds = prepare(loaded, DataRef(path="dup.csv", target="y"), notes=notes)
    assert "a__2" not in ds.X and ds.dropped["a__2"] == "an exact copy of column 'a'"


def _adult_rows(n: int = 80) -> list[str]:
    rng = np.random.default_rng(2)
    work = rng.choice(["State-gov", "Private", "Self-emp"], n)
    return [f"{rng.integers(18, 80)},{work[i]},{rng.integers(1, 10**5)},{['<=50K', '>50K'][i % 2]}" for i in range(n)]


def test_a_file_without_a_header_row_is_refused():
    raw = ("\n".join(_adult_rows()) + "\n").encode()
    with pytest.raises(UserInputError) as err:
        read_table(raw, name="adult.data")
    msg = str(err.value)
    assert msg.startswith("The first row of adult.data looks like data, not a header")
    assert "Add a header row naming the columns" in msg and err.value.field == "data.path"
    numbers = b"1,2,3\n" + b"4,5,6\n" * 40
    with pytest.raises(UserInputError, match=r"every cell is a number: '1', '2', '3'"):
        read_table(numbers, name="n.csv")
    df, notes = read_table(("age,work,fnlwgt,income\n" + "\n".join(_adult_rows())).encode(), name="ok.csv")
    assert list(df.columns) == ["age", "work", "fnlwgt", "income"] and notes == []


def test_a_header_that_partly_looks_like_data_is_noted():
    rows = "\n".join(f"{i % 7},{i * 3},{i % 2}" for i in range(60))
    _, notes = read_table(f"region_code,2019,2020\n{rows}\n".encode(), name="wide.csv")
    assert any(n.startswith("wide.csv: 2 of the 3 header cells look like data ('2019', '2020')") for n in notes)


def test_the_removal_of_sensitive_columns_is_in_the_notes(demo_frame):
    frame = demo_frame.sample(n=400, random_state=1).reset_index(drop=True)
    ds = prepare(frame, DataRef(path="x.csv", target="converted", sensitive=("age_band", "device"), min_group_rows=1))
    note = next(n for n in ds.notes if n.startswith("Sensitive column(s)"))
    assert "'age_band', 'device' removed from the features" in note and "--sensitive-as-feature" in note
    both = prepare(frame, DataRef(path="x.csv", target="converted", sensitive=("age_band",), sensitive_as_feature=True))
    assert "age_band" in both.X and not any("removed from the features" in n for n in both.notes)
    assert not any(
        n.startswith("Sensitive column") for n in prepare(frame, DataRef(path="x", target="converted")).notes
    )


# -- leaks ----------------------------------------------------------------------------------------


def _leaky_table(n: int = 1000) -> pd.DataFrame:
    """A recidivism-like table: each kind of leak, and honest features that must stay."""
    rng = np.random.default_rng(3)
    tier = np.where(rng.random(n) < 0.3, "premium", rng.choice(["basic", "plus"], n))
    y = (rng.random(n) < np.where(tier == "premium", 0.2, 0.55)).astype(int)  # strong but not pure
    is_recid = np.where(y == 1, 1, (rng.random(n) < 0.2).astype(int))  # is_recid = 0 ⇒ y = 0
    days = np.where(rng.random(n) < np.where(y == 1, 0.68, 0.03), rng.integers(0, 900, n), np.nan)
    end = np.where(y == 1, rng.integers(0, 700, n), rng.integers(800, 1000, n)).astype(float)
    end[(y == 0) & (rng.random(n) < 0.45)] = np.nan  # censored: missing, and the rest far away
    honest = rng.normal(size=n) + 1.5 * y  # strong, honest: AUC about 0.85
    sparse = np.where(rng.random(n) < 0.6, np.nan, rng.normal(size=n))  # 60 % missing, by chance
    return pd.DataFrame(
        {
            "is_recid": is_recid,
            "r_days_from_arrest": days,
            "end": end,
            "priors_score": honest,
            "sparse_measure": sparse,
            "tier": tier,
            "priors_copy": honest,
            "two_year_recid": y,
        }
    )


def test_each_usual_leak_is_dropped_with_its_evidence_and_the_override():
    ds = prepare(_leaky_table(), DataRef(path="compas.csv", target="two_year_recid"))
    why = ds.dropped
    assert why["is_recid"].startswith("suspected target leak: the value 0 always means '0' (")
    assert "% of all rows)" in why["is_recid"]
    days = why["r_days_from_arrest"]
    assert days.startswith("suspected target leak: whether it is missing alone separates the classes")
    assert "present for 6" in days and "of '1' rows and 3% of '0' rows" in days
    assert why["end"].startswith("suspected target leak: with its missing values it separates the classes (ROC AUC")
    assert why["priors_copy"] == "an exact copy of column 'priors_score'"
    for col in ("is_recid", "r_days_from_arrest", "end"):
        assert why[col].endswith(
            "(to keep it, tick 'Keep columns that look like target leaks' on the Data page, "
            "or pass --keep-suspected-leaks)"
        )
        assert any(n.startswith(f"Dropped column {col!r}: suspected target leak") for n in ds.notes)
    assert set(ds.X.columns) == {"priors_score", "sparse_measure", "tier"}  # honest features stay
    kept = prepare(_leaky_table(), DataRef(path="compas.csv", target="two_year_recid", keep_suspected_leaks=True))
    assert {"is_recid", "r_days_from_arrest", "end"} <= set(kept.X.columns) and "priors_copy" not in kept.X
    assert sum("looks like it leaks the target" in n for n in kept.notes) == 3


def test_a_leak_in_a_mostly_missing_column_is_caught():
    """A column more than half missing can leak through whether it is missing alone."""
    df = _leaky_table()
    assert df["r_days_from_arrest"].isna().mean() > 0.5
    leaks = data.suspected_leaks(
        df[["r_days_from_arrest"]], df["two_year_recid"].to_numpy(), ["r_days_from_arrest"], []
    )
    assert "r_days_from_arrest" in leaks


def test_nothing_of_the_demo_is_suspected():
    ds = load_dataset(DataRef(path=DEMO, target="converted"))
    assert set(ds.dropped) == {"ad_id", "shown_at"}
    assert not any("leak" in n or "exact copy" in n for n in ds.notes)


def test_a_value_column_with_decimal_commas_is_read_as_money():
    raw = _decimal_comma_csv().decode().splitlines()
    lines = [raw[0] + ";fee"] + [f"{row};{i % 9},50" for i, row in enumerate(raw[1:])]
    df, _ = read_table("\n".join(lines).encode(), name="eu.csv")
    ds = prepare(df, DataRef(path="eu.csv", target="churn", value_column="fee"))
    assert ds.value is not None and ds.value[:3].tolist() == [0.5, 1.5, 2.5]
