"""Upload memory benchmark: peak memory of storing a CSV upload, ours vs the old in-memory approach.

    python bench/upload_memory.py              # a generated ~100 MB CSV
    python bench/upload_memory.py --mb 20      # a smaller one

What it measures, side by side in one run: each approach stores the same generated file in a fresh
child process (so one's peak cannot hide the other's), which reports its peak RSS
(``resource.getrusage``, ``ru_maxrss``) and its RSS after the imports, before the file is read. The
difference is what storing the upload cost; it is printed as a multiple of the file's size, next
to ``uploads.memory_needed`` (what the Data page states) and the old-vs-new ratio.

- **new**: ``core.data.uploads.save`` (the upload streamed to disk, read by pandas from the file,
  one table in memory at a time).
- **old**: what ``save`` did before: decode the bytes to text, parse it from a ``StringIO`` (and
  again for the columns with missing cells), write Parquet to a ``BytesIO``, read those bytes back
  while the first table is still alive.

The file is a mixed table like a real export: numbers, decimals, categories, missing cells written
as '?', a date and a free-text column.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd


def make_csv(path: Path, mb: float, seed: int = 0) -> int:
    """Write a mixed CSV of about ``mb`` megabytes to ``path``; return its size in bytes."""
    rng = np.random.default_rng(seed)
    rows_per_block = 100_000
    with path.open("w", encoding="utf-8") as out:
        first = True
        while out.tell() < mb * 2**20:
            n = rows_per_block
            block = pd.DataFrame(
                {
                    "y": rng.choice(["yes", "no"], n),
                    "age": rng.integers(18, 90, n),
                    "income": rng.normal(40_000, 12_000, n).round(2),
                    "score": rng.random(n).round(4),
                    "region": rng.choice(["north", "south", "east", "west", "?"], n),
                    "device": rng.choice(["mobile", "desktop", "tablet"], n),
                    "visits": rng.poisson(3, n),
                    "signup": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1500, n), unit="D"),
                    "comment": [f"note {i}" for i in rng.integers(0, 10**6, n)],
                }
            )
            block.loc[rng.random(n) < 0.05, "income"] = np.nan
            block.to_csv(out, index=False, header=first)
            first = False
    return path.stat().st_size


def _rss_now() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _old_save(raw: bytes, home: Path) -> None:
    """The pre-streaming ``uploads.save``: text in memory, two parses, Parquet in a buffer."""
    from core.data import NA_VALUES, fingerprint

    text = raw.decode("utf-8-sig")
    df = pd.read_csv(io.StringIO(text), header=None, skiprows=1, low_memory=False, na_values=NA_VALUES)
    missing = [i for i in range(df.shape[1]) if df.iloc[:, i].isna().any()]
    written = pd.read_csv(io.StringIO(text), header=None, skiprows=1, usecols=missing, dtype=str, na_filter=False)
    df.columns = text.split("\n", 1)[0].split(",")
    df = df.copy()  # the old de-duplication of column names copied the frame
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    stored = pd.read_parquet(io.BytesIO(buf.getvalue()))
    (home / "old.parquet").write_bytes(buf.getvalue())
    fingerprint(stored)
    del written


def child(approach: str, csv_path: str, home: str) -> None:
    """Run one approach on the file and print its memory as JSON (the child process's side)."""
    from core.data import uploads

    raw = Path(csv_path).read_bytes()  # the upload as the browser session holds it
    base = _rss_now()
    if approach == "new":
        uploads.save(raw, "bench.csv", root=Path(home))
    else:
        _old_save(raw, Path(home))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"base": base, "peak": peak}))


def _run(approach: str, csv_path: Path, home: Path) -> dict:
    cmd = [sys.executable, __file__, "--child", approach, str(csv_path), str(home)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mb", type=float, default=100.0, help="size of the generated CSV (default 100)")
    p.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(*args.child)
        return
    from core.data import uploads

    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "bench.csv"
        size = make_csv(csv_path, args.mb)
        print(f"file: {size / 2**20:.1f} MB")
        used = {}
        for approach in ("new", "old"):
            home = Path(tmp) / approach
            home.mkdir()
            m = _run(approach, csv_path, home)
            used[approach] = m["peak"] - m["base"]
            print(
                f"{approach}: peak RSS {m['peak'] / 2**20:,.0f} MB, {used[approach] / 2**20:,.0f} MB over the "
                f"{m['base'] / 2**20:,.0f} MB before reading = {used[approach] / size:.1f}× the file"
            )
        print(f"stated (uploads.memory_needed): {uploads.memory_needed(size) / 2**20:,.0f} MB")
        print(f"old / new: {used['old'] / max(used['new'], 1):.2f}×")


if __name__ == "__main__":
    main()
