"""The demo table shipped with the repository, and the roles its columns play.

Why constants: the app's first screen, the CLI's ``--demo`` and the benchmarks all open the same
table with the same target, sensitive and value columns, so they are named once here.
"""

from __future__ import annotations

from pathlib import Path

DEMO = "demo"
DEMO_PATH = Path(__file__).resolve().parents[2] / "data" / "ads.parquet"
DEMO_TARGET = "converted"
DEMO_SENSITIVE = ("age_band",)
DEMO_VALUE = "fee_eur"
