"""Where studies and rooms live: one SQLAlchemy URL for Optuna's tables and ours.

Default: an embedded SQLite file under the data directory (``TRADEOFF_HOME``, default ``./var``).
A team that outgrows one machine points every worker and browser at the same PostgreSQL URL; the
code is the same. The URL comes from a flag, else ``TRADEOFF_STORAGE``, else
``.streamlit/secrets.toml`` (``[tradeoff] storage = "..."``), else the default.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from core.errors import UserInputError

ENV_STORAGE = "TRADEOFF_STORAGE"
ENV_HOME = "TRADEOFF_HOME"


def home() -> Path:
    """The data directory: SQLite database, worker logs, exported bundles."""
    return Path(os.environ.get(ENV_HOME, "var")).resolve()


def default_url() -> str:
    return f"sqlite:///{home() / 'tradeoff.db'}"


def _from_secrets(root: Path = Path(".streamlit")) -> str | None:
    path = root / "secrets.toml"
    if not path.is_file():
        return None
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        return None
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    section = data.get("tradeoff", {})
    return section.get("storage") if isinstance(section, dict) else None


def resolve(url: str | None = None) -> str:
    """Pick the storage URL (flag > env > secrets > default) and make sure SQLite's folder exists."""
    chosen = url or os.environ.get(ENV_STORAGE) or _from_secrets() or default_url()
    if "://" not in chosen:
        # a bare path is taken as a SQLite file, which is what people mean by it
        chosen = f"sqlite:///{Path(chosen).resolve()}"
    if chosen.startswith("sqlite:///"):
        db_path = chosen[len("sqlite:///"):]
        if db_path and db_path != ":memory:":
            try:
                Path(db_path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise UserInputError(f"Cannot create the folder for the database {db_path!r}: {exc}.",
                                     field="storage") from None
    return chosen


def mask(url: str) -> str:
    """The URL with its password replaced, for logs, the sidebar and CLI output."""
    return re.sub(r"(://[^:/@]+:)([^@]*)(@)", r"\1***\3", url)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")
