"""Trust boundaries: skops allow-list, archive members, file names, CSV formulas, HTML/Markdown."""

from __future__ import annotations

import argparse
import io
import pickle
import stat
import zipfile

import pandas as pd
import pytest
import skops.io as sio
from threadpoolctl import threadpool_limits

from core import _text
from core.data import load_dataset
from core.errors import UserInputError
from core.export import safety
from core.export.bundle import with_threshold
from core.models import families as fam
from core.models.evaluate import make_pipeline
from core.spec import DataRef


class _Low:
    """The cheapest point of every family's space: real fitted models in milliseconds."""

    def suggest_float(self, name, low, high, *, log=False):
        return float(low) if "learning_rate" not in name else float(high)

    def suggest_int(self, name, low, high, *, log=False):
        return int(low)

    def suggest_categorical(self, name, choices):
        return choices[0]


@pytest.fixture(scope="module")
def small_ds(small_csv):
    ds = load_dataset(DataRef(path=str(small_csv), target="converted", sensitive=("age_band",), value_column="fee_eur"))
    return ds.subset(list(range(400)))


def test_allow_list_is_exactly_what_our_families_need(small_ds):
    found: set[str] = set()
    configs = [(f, fam.get(f).space(_Low())) for f in fam.REGISTRY]
    configs.append(("naive_bayes", {"variant": "complement", "alpha": 1.0}))
    for family, params in configs:
        with threadpool_limits(limits=1):  # OpenMP in boosting crawls on a busy 2-core machine
            pipe = make_pipeline(family, params, small_ds, 0).fit(small_ds.X, small_ds.y)
        data = safety.dump_model(with_threshold(pipe, 0.5))  # exactly what a bundle holds
        found |= set(sio.get_untrusted_types(data=data))
        back = safety.load_model(data)  # every family loads with the allow-list alone
        assert back.predict_proba(small_ds.X.head(5)).shape == (5, 2)
        assert set(back.predict(small_ds.X.head(5))) <= {0, 1}
    assert found == set(safety.ALLOWED_TYPES)


def test_untrusted_type_is_refused_and_named():
    data = sio.dumps({"model": argparse.Namespace(payload="x")})
    with pytest.raises(UserInputError, match=r"argparse\.Namespace") as info:
        safety.load_model(data)
    assert "not opened" in str(info.value)


def test_a_pickle_is_never_opened_as_a_model():
    data = pickle.dumps({"a": 1})
    with pytest.raises(UserInputError, match="not a skops file"):
        safety.load_model(data)


def _zip(members: dict[str, bytes], *, symlink: str | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return buf.getvalue()


@pytest.mark.parametrize(
    "name, message",
    [
        ("../evil.txt", "climbs out"),
        ("a/../../evil.txt", "climbs out"),
        ("/etc/cron.d/x", "absolute path"),
        ("C:\\Windows\\x.dll", "absolute path"),
        ("..\\evil.txt", "climbs out"),
    ],
)
def test_zip_slip_members_are_refused(name, message):
    data = _zip({"config.json": b"{}", name: b"boom"})
    with pytest.raises(UserInputError, match=message):
        safety.read_zip(data)


def test_symlink_member_is_refused_and_plain_zip_reads():
    with pytest.raises(UserInputError, match="symbolic link"):
        safety.read_zip(_zip({"config.json": b"{}"}, symlink="link"))
    assert safety.read_zip(_zip({"a.txt": b"1", "b/c.txt": b"2"})) == {"a.txt": b"1", "b/c.txt": b"2"}
    with pytest.raises(UserInputError, match="not a zip"):
        safety.read_zip(b"plain text")


def test_zip_bomb_limit():
    with pytest.raises(UserInputError, match="expands to more than"):
        safety.read_zip(_zip({"a": b"0" * 5000}), max_bytes=1000)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("../../etc/passwd", "etc_passwd"),
        ("study name: Q3/EU", "study_name_Q3_EU"),
        ("Ünïcödé", "Unicode"),
        ("CON", "bundle_CON"),
        ("", "bundle"),
        ("...", "bundle"),
        ("a" * 300, "a" * 100),
    ],
)
def test_safe_filename(raw, expected):
    assert safety.safe_filename(raw) == expected


def test_csv_formula_injection_is_neutralised():
    df = pd.DataFrame(
        {'=HYPERLINK("x")': ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", "ok", None], "n": [-1.5, 2, 3, 4, 5, 6, 7]}
    )
    text = safety.to_safe_csv(df)
    back = pd.read_csv(io.StringIO(text), keep_default_na=False)
    assert list(back.columns) == ['\'=HYPERLINK("x")', "n"]
    col = back.iloc[:, 0].tolist()
    assert col[:5] == ["'=1+1", "'+SUM(A1)", "'-2+3", "'@cmd", "'\tx"]
    assert col[5] == "ok"
    assert back["n"].tolist()[0] == -1.5  # numbers stay numbers
    for line in text.splitlines()[1:]:
        assert not line.startswith(("=", "+", "-", "@"))


def test_html_and_markdown_escaping():
    """The escapers every file written for people uses (core._text), at the boundaries they guard."""
    evil = "<script>alert('x')</script>"
    assert _text.esc(evil) == "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;"
    assert "<" not in _text.md(evil)
    assert _text.md("# heading") == "\\# heading"
    assert _text.md("a | b *c* [l](u)") == "a \\| b \\*c\\* \\[l\\](u)"
    assert _text.md("3.5 ms, 2024-01-02") == "3.5 ms, 2024-01-02"  # ordinary text stays readable
    assert _text.md_block("one\n# two\n- three") == "> one\n> \\# two\n> \\- three"
    assert _text.md(None) == ""
