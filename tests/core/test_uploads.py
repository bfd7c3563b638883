"""Uploads are stored as Parquet by fingerprint, readable by a worker through the spec's path."""

from __future__ import annotations

import io
import pickle

import pandas as pd
import pytest

from core.data import load_dataset, uploads
from core.errors import UserInputError
from core.spec import DataRef


def test_csv_upload_is_stored_and_loads_with_the_same_fingerprint(small_csv, tmp_path):
    up = uploads.save(small_csv.read_bytes(), "ads_small.csv")
    assert up.path.parent == uploads.folder()
    assert up.path.name == up.fingerprint.split(":")[1] + ".parquet"
    assert up.n_rows == 1500 and up.original_name == "ads_small.csv"
    ds = load_dataset(
        DataRef(
            path=str(up.path),
            target="converted",
            sensitive=("age_band",),
            value_column="fee_eur",
            fingerprint=up.fingerprint,
        )
    )
    assert ds.n_rows == 1500
    assert ds.fingerprint == up.fingerprint


def test_same_upload_twice_is_one_file(small_csv):
    a = uploads.save(small_csv.read_bytes(), "a.csv")
    b = uploads.save(small_csv.read_bytes(), "b.csv")
    assert a.path == b.path
    assert uploads.list_uploads() == [a.path]


def test_parquet_upload_round_trips(demo_frame):
    buf = io.BytesIO()
    demo_frame.head(300).to_parquet(buf, index=False)
    up = uploads.save(buf.getvalue(), "x.parquet")
    back = pd.read_parquet(up.path)
    assert list(back.columns) == list(demo_frame.columns)
    assert len(back) == 300


def test_mixed_column_is_stored_as_text():
    raw = b"target,code\n1,7\n0,abc\n1,8\n0,9\n"
    up = uploads.save(raw, "mixed.csv")
    back = pd.read_parquet(up.path)
    assert back["code"].tolist() == ["7", "abc", "8", "9"]


@pytest.mark.parametrize(
    "payload,name,fragment",
    [
        (b"", "empty.csv", "is empty"),
        (pickle.dumps({"a": 1}), "evil.pkl", "never opened"),
        (b"a,b\n", "header_only.csv", "no data rows"),
        (b"PAR1garbage", "broken.parquet", "Could not read"),
    ],
)
def test_bad_uploads_are_refused_with_a_reason(payload, name, fragment):
    with pytest.raises(UserInputError) as err:
        uploads.save(payload, name)
    assert fragment in str(err.value)
    assert err.value.field == "data.path"
    assert not uploads.list_uploads()


def test_path_for_rejects_non_fingerprints():
    with pytest.raises(UserInputError, match="not a table fingerprint"):
        uploads.path_for("../../etc/passwd")
    p = uploads.path_for("sha256:" + "a" * 32)
    assert p.name == "a" * 32 + ".parquet"


def test_upload_from_a_file_object_and_the_memory_it_needs(small_csv):
    with small_csv.open("rb") as f:
        up = uploads.save(f, "ads_small.csv")
    assert up.n_rows == 1500 and up.path.exists()
    assert [p.name for p in uploads.folder().iterdir()] == [up.path.name]  # no temporary file left
    size = 96 * 2**20
    assert uploads.memory_needed(size) == int(uploads.MEMORY_FACTOR * size) + uploads.MEMORY_BASE
    assert uploads.memory_needed(2 * size) > uploads.memory_needed(size)
    assert (
        uploads.memory_note(size)
        == f"Storing a 96.0 MB file needs about {uploads.memory_needed(size) / 2**20:.1f} MB of memory."
    )
