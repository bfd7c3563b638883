"""Every corpus case through the real ``tradeoff`` CLI in-process, and the upload ones through the
Data page: one clear ``error:`` line (or the note of an accepted input), no traceback, nothing left.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core import cli
from tests.corpus.cases import CASES, Case
from tests.corpus.cli_cases import CLI_CASES


def _files(root: Path) -> set[Path]:
    """Every path under ``root``, but SQLite's own transient journal files of a database that exists."""
    if not root.exists():
        return set()
    return {p for p in root.rglob("*") if not p.name.endswith(("-wal", "-shm", "-journal"))}


def _argv(argv: tuple[str, ...], data: Path, out: Path) -> list[str]:
    return [a.replace("{data}", str(data)).replace("{out}", str(out)).replace("{dir}", str(data.parent)) for a in argv]


ALL = [*CASES, *CLI_CASES]


@pytest.mark.parametrize("case", ALL, ids=[f"{c.group}: {c.name}" for c in ALL])
def test_cli(case: Case, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    data = case.make_file(folder)
    out = tmp_path / "out" / "spec.json"
    out.parent.mkdir()
    before = _files(tmp_path)
    code = cli.main(_argv(case.argv, data, out))
    stdout, stderr = capsys.readouterr()
    assert "Traceback" not in stderr
    if case.accepted:
        assert code == 0, stderr
        assert case.expect in stdout, stdout
        if case.group not in CLI_GROUPS:  # those write to their database, not a new file
            assert _files(tmp_path) - before == {out}
        return
    lines = stderr.strip().splitlines()
    assert code == cli.EXIT_USER, stderr
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ") and case.expect in lines[0], lines[0]
    assert _files(tmp_path) == before  # no spec, no stored table, no database
    if case.then:
        assert cli.main(_argv(case.then, data, out)) == 0
        assert case.then_expect in capsys.readouterr().out  # nothing half-made in the database


CLI_GROUPS = {c.group for c in CLI_CASES}


UPLOADS = [c for c in CASES if c.upload]


@pytest.mark.parametrize("case", UPLOADS, ids=[f"{c.group}: {c.name}" for c in UPLOADS])
def test_upload(case: Case, tmp_path, small_csv):
    """The same file uploaded on the Data page: the message (or the note), nothing half-stored,
    and the page still takes a good file afterwards."""
    from core.data import uploads
    from tests.app.helpers import assert_ok, run_page, texts

    data = case.make_file(tmp_path)
    # the page takes these names only (the browser's picker and Streamlit enforce it): other files
    # arrive renamed, which is what the content checks are for
    name = data.name if data.suffix in (".csv", ".txt", ".tsv", ".parquet", ".pq") else data.name + ".csv"
    at = run_page("data")
    at.radio(key="data_source").set_value("Upload CSV or Parquet").run()
    at.file_uploader(key="data_file").set_value((name, data.read_bytes(), "text/csv")).run()
    assert_ok(at)
    assert any("needs about" in c for c in texts(at, "caption"))  # the memory storing it takes
    if case.accepted:
        assert not at.error, texts(at, "error")
        assert len(uploads.list_uploads()) == 1
        shown = " ".join(texts(at, "markdown")).replace("\\", "")
        assert case.expect == "wrote" or case.expect in shown, shown
    else:
        assert any(case.expect in e.replace("\\", "") for e in texts(at, "error")), texts(at, "error")
        assert not [p for p in uploads.folder().iterdir() if p.name.startswith(".")]  # no temporary file
        if case.group in ("file format", "encoding"):  # not a table: nothing stored
            assert uploads.list_uploads() == []
    at.file_uploader(key="data_file").set_value(("good.csv", small_csv.read_bytes(), "text/csv")).run()
    assert_ok(at)
    assert {m.label: m.value for m in at.metric}["Rows"] == "1,500"


@pytest.mark.slow
def test_a_million_rows_upload_within_the_stated_memory(tmp_path):
    """1,000,000 rows stored from a fresh process, whose peak memory stays within ``memory_needed``."""
    import json
    import subprocess
    import sys

    import numpy as np
    import pandas as pd

    from tests.conftest import ROOT
    from tests.corpus.tables import base, csv

    df = pd.concat([base()] * 5000, ignore_index=True)
    df["x1"] = np.random.default_rng(0).normal(size=len(df)).round(3)
    source = tmp_path / "million.csv"
    source.write_bytes(csv(df))
    del df
    # a fresh process: its peak before storing is the upload's bytes and the imports, nothing else
    script = (
        "import json, resource, sys\n"
        "from pathlib import Path\n"
        "from core.data import uploads\n"
        "raw = Path(sys.argv[1]).read_bytes()\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024\n"
        "up = uploads.save(raw, 'million.csv', root=Path(sys.argv[2]))\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024\n"
        "print(json.dumps({'rows': up.n_rows, 'size': len(raw), 'used': peak - before}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(source), str(tmp_path / "store")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    from core.data import uploads

    assert got["rows"] == 1_000_000
    assert got["used"] <= uploads.memory_needed(got["size"]), got
