"""The Data page (AppTest): demo, a real upload, bad uploads and bad column choices."""

from __future__ import annotations

import pickle

import pandas as pd

from app import data_view as dv
from core.data import uploads
from tests.app.helpers import assert_ok, run_page, texts


def test_demo_renders_on_an_empty_database_with_its_checks(demo_frame):
    at = run_page("data")
    assert [t.value for t in at.title] == ["Data"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Rows"] == f"{len(demo_frame):,}"
    share = (demo_frame["converted"] == 1).mean()
    assert metrics["Positive: 1"] == f"{share:.1%}"
    assert metrics["Sensitive groups"] == str(demo_frame["age_band"].nunique())
    notes = " ".join(texts(at, "markdown"))
    assert "ad\\_id" in notes and "shown\\_at" in notes  # the loader's dropped columns are shown
    # class balance and group sizes / base rates
    assert len(at.get("plotly_chart")) == 2
    ref = at.session_state[dv.DATA_REF]
    assert ref["target"] == "converted" and list(ref["sensitive"]) == ["age_band"]
    assert ref["fingerprint"].startswith("sha256:")
    assert "no study yet" in at.sidebar.selectbox[0].placeholder


def _upload(at, name: str, content: bytes, mime: str = "text/csv"):
    at.radio(key="data_source").set_value("Upload CSV or Parquet").run()
    at.file_uploader(key="data_file").set_value((name, content, mime)).run()
    return at


def test_a_csv_upload_is_stored_for_workers_and_checked(small_csv):
    at = _upload(run_page("data"), "ads_small.csv", small_csv.read_bytes())
    assert_ok(at)
    stored = uploads.list_uploads()
    assert len(stored) == 1
    assert at.session_state[dv.DATA_REF]["path"] == str(stored[0])
    assert at.selectbox(key="data_target").value == "converted"  # guessed from its name
    assert {m.label: m.value for m in at.metric}["Rows"] == "1,500"
    # without a sensitive attribute the page says what fairness objectives will mean
    at.multiselect(key="data_sensitive").set_value([]).run()
    assert any("No sensitive attribute" in w for w in texts(at, "warning"))
    assert len(at.get("plotly_chart")) == 1  # class balance only
    at.multiselect(key="data_sensitive").set_value(["age_band"]).run()
    assert_ok(at)
    assert not at.warning and len(at.get("plotly_chart")) == 2


def test_bad_uploads_show_what_is_wrong():
    at = _upload(run_page("data"), "empty.csv", b"")
    assert_ok(at)
    assert any("is empty" in e for e in texts(at, "error"))
    assert dv.UPLOAD not in at.session_state
    # a pickle renamed to .csv (Streamlit itself refuses other extensions) is never unpickled
    at.file_uploader(key="data_file").set_value(("model.csv", pickle.dumps({"a": 1}), "text/csv")).run()
    assert_ok(at)
    assert any("never opened" in e for e in texts(at, "error"))
    assert not uploads.list_uploads()


def test_one_class_target_error_sits_next_to_the_target_picker():
    frame = pd.DataFrame({"outcome": ["yes"] * 60, "x": range(60), "g": ["a", "b"] * 30})
    at = _upload(run_page("data"), "one.csv", frame.to_csv(index=False).encode())
    assert_ok(at)
    assert at.selectbox(key="data_target").value == "g"  # the only two-valued column
    at.selectbox(key="data_target").set_value("outcome").run()
    assert_ok(at)
    left = at.columns[0]
    errors = [e.value for e in left.error]
    assert errors and "only one class" in errors[0] and "outcome" in errors[0]


def test_sensitive_intersections_and_a_refused_sensitive_column(demo_frame):
    at = run_page("data")
    at.multiselect(key="data_sensitive").set_value(["age_band", "device"]).run()
    assert_ok(at)
    pairs = demo_frame[["age_band", "device"]].fillna("missing").drop_duplicates()
    assert {m.label: m.value for m in at.metric}["Sensitive groups"] == str(len(pairs))
    at.multiselect(key="data_sensitive").set_value(["shown_at"]).run()
    assert_ok(at)
    errors = [e.value for e in at.columns[1].error]  # under the sensitive picker, not elsewhere
    assert errors and "at most 50" in errors[0]
    assert not at.columns[0].error and not at.metric


def test_small_groups_refused_then_pooled(demo_frame):
    sizes = demo_frame["age_band"].value_counts().sort_values()
    cut = int(sizes.iloc[1]) + 1  # the two smallest bands fall under it, the rest do not
    at = run_page("data")
    at.number_input(key="data_min_rows").set_value(cut).run()
    assert_ok(at)
    errors = [e.value for e in at.columns[1].error]
    assert errors and f"fewer than {cut} rows" in errors[0]
    at.checkbox(key="data_merge_small").check().run()
    assert_ok(at)
    assert {m.label: m.value for m in at.metric}["Sensitive groups"] == str(len(sizes) - 1)
    assert at.session_state[dv.DATA_REF]["merge_small_groups"] is True


def test_a_new_browser_on_a_study_sees_that_studys_data(small_csv):
    from core import storage as st
    from tests.app.helpers import synthetic_study

    synthetic_study(st.resolve(None), "theirs", small_csv, [])
    at = run_page("data", study="theirs")
    assert at.radio(key="data_source").value == "Upload CSV or Parquet"
    assert at.selectbox(key="data_target").value == "converted"
    assert at.multiselect(key="data_sensitive").value == ["age_band"]
    assert {m.label: m.value for m in at.metric}["Rows"] == "1,500"


def test_panel_upload_keeps_each_persons_rows_together():
    from tests.core.test_data import _panel

    at = _upload(run_page("data"), "males.csv", _panel().to_csv(index=False).encode())
    assert_ok(at)
    at.selectbox(key="data_target").set_value("union").run()
    assert_ok(at)
    notes = " ".join(texts(at, "markdown"))
    assert "looks like the ID of an entity" in notes
    ref = at.session_state[dv.DATA_REF]
    assert ref["entity_column"] is None and ref["detect_entity"] is True
    assert {m.label: m.value for m in at.metric}["Test part"] == "by entity"
    at.selectbox(key="data_entity").set_value("(none: every row is its own case)").run()
    assert_ok(at)
    assert "looks like the ID of an entity" not in " ".join(texts(at, "markdown"))
    assert at.session_state[dv.DATA_REF]["detect_entity"] is False
    assert {m.label: m.value for m in at.metric}["Test part"] == "random rows"
    at.selectbox(key="data_entity").set_value("nr").run()
    assert_ok(at)
    assert "grouped by the entity column" in " ".join(texts(at, "markdown"))
    assert at.session_state[dv.DATA_REF]["entity_column"] == "nr"


def test_a_time_column_makes_the_latest_rows_the_test_part():
    at = run_page("data")
    at.selectbox(key="data_time").set_value("shown_at").run()
    assert_ok(at)
    assert "Time split on 'shown\\_at'" in " ".join(texts(at, "markdown"))
    assert at.session_state[dv.DATA_REF]["time_column"] == "shown_at"
    assert {m.label: m.value for m in at.metric}["Test part"] == "latest rows"
    at.selectbox(key="data_time").set_value("(none: a random sample of rows)").run()
    assert_ok(at)
    assert at.session_state[dv.DATA_REF]["time_column"] is None


def test_group_table_shows_test_rows_and_flags_groups_too_small_to_judge_there(demo_frame):
    """A group can pass the whole-table minimum and still have too few held-out rows for its
    fairness numbers: the page's group table says so beside its size and base-rate interval."""
    sizes = demo_frame["age_band"].value_counts().sort_values()
    cut = int(sizes.iloc[0])  # every group passes on the whole table; the smallest has about a quarter in test
    at = run_page("data")
    at.multiselect(key="data_sensitive").set_value(["age_band"]).run()
    at.number_input(key="data_min_rows").set_value(cut).run()
    assert_ok(at)
    table = next(d.value for d in at.dataframe if "test_rows" in d.value.columns).set_index("group")
    smallest = str(sizes.index[0])
    assert table.loc[smallest, "n"] == cut
    assert table.loc[smallest, "test_rows"] == round(cut * 0.25)
    assert table.loc[smallest, "note"] == f"only {round(cut * 0.25):,} rows: too few to judge"
    assert (table["base_rate_low"] <= table["base_rate"]).all() and (
        table["base_rate"] <= table["base_rate_high"]
    ).all()
    big = table[table["test_rows"] >= cut]
    assert (big["note"] == "").all()
