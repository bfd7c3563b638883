"""The ``tradeoff`` command: everything the app does, without a browser.

``main`` routes to one module per command group (data, search, front, app, export, room); the
console script is ``core.cli:main``.
"""

from __future__ import annotations

from core.cli._options import EXIT_INTERRUPTED, EXIT_USER, csv_list, storage_option
from core.cli.data import build_spec, build_spec_with_data, parse_limits
from core.cli.front import front_records
from core.cli.main import main, parser

__all__ = [
    "EXIT_INTERRUPTED",
    "EXIT_USER",
    "build_spec",
    "build_spec_with_data",
    "csv_list",
    "front_records",
    "main",
    "parse_limits",
    "parser",
    "storage_option",
]
