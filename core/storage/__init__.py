"""Where studies and rooms live: one SQLAlchemy URL for Optuna's tables and ours.

Default: an embedded SQLite file under the data directory (``TRADEOFF_HOME``, default ``./var``).
A team that outgrows one machine points every worker and browser at the same PostgreSQL URL; the
code is the same. The URL comes from a flag, else ``TRADEOFF_STORAGE``, else
``.streamlit/secrets.toml`` (``[tradeoff] storage = "..."``), else the default.

A URL may carry a password; :func:`mask` is what every log line, CLI message and the app's sidebar
print instead of the URL itself.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from core.errors import UserInputError

ENV_STORAGE = "TRADEOFF_STORAGE"
ENV_HOME = "TRADEOFF_HOME"
SECRETS_PATH = Path(".streamlit") / "secrets.toml"


def home() -> Path:
    """The data directory: SQLite database, worker logs, exported bundles."""
    return Path(os.environ.get(ENV_HOME, "var")).resolve()


def default_url() -> str:
    return f"sqlite:///{home() / 'tradeoff.db'}"


def _from_secrets(root: Path | None = None) -> str | None:
    """``[tradeoff] storage`` from Streamlit's secrets file (relative to the working directory,
    where Streamlit itself looks), so the app and the CLI started from the project agree."""
    path = (root / "secrets.toml") if root is not None else SECRETS_PATH
    if not path.is_file():
        return None
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        return None
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UserInputError(
            f"Cannot read {str(path)!r}: {exc}. Fix the file, or give the storage with --storage or ${ENV_STORAGE}.",
            field="storage",
        ) from None
    section = data.get("tradeoff", {})
    if not isinstance(section, dict) or "storage" not in section:
        return None
    value = section["storage"]
    if not isinstance(value, str) or not value.strip():
        raise UserInputError(
            f"{str(path)!r}: [tradeoff] storage must be a SQLAlchemy URL string, "
            f'e.g. storage = "postgresql+psycopg://user:pass@host/db".',
            field="storage",
        )
    return value.strip()


def source(url: str | None = None) -> str:
    """Where :func:`resolve` takes the URL from: "flag", "env", "secrets" or "default"."""
    if url:
        return "flag"
    if os.environ.get(ENV_STORAGE):
        return "env"
    if _from_secrets() is not None:
        return "secrets"
    return "default"


def resolve(url: str | None = None) -> str:
    """Pick the storage URL (flag > env > secrets > default) and make sure SQLite's folder exists."""
    chosen = url or os.environ.get(ENV_STORAGE) or _from_secrets() or default_url()
    chosen = chosen.strip()
    if "://" not in chosen:
        # a bare path is taken as a SQLite file, which is what people mean by it
        chosen = f"sqlite:///{Path(chosen).resolve()}"
    if chosen.startswith("sqlite:///"):
        db_path = chosen[len("sqlite:///") :].split("?", 1)[0]
        if db_path and db_path != ":memory:":
            try:
                Path(db_path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise UserInputError(
                    f"Cannot create the folder for the database {db_path!r}: {exc}.", field="storage"
                ) from None
    return chosen


_QUERY_SECRET = re.compile(r"([?&](?:password|passwd|pwd|sslpassword|secret|token)=)([^&#]*)", re.I)


def mask(url: str) -> str:
    """The URL with its password replaced, for logs, the sidebar and CLI output.

    Covers ``user:password@host`` (a password may itself contain ``@`` or ``/`` when the user forgot
    to percent-encode it) and ``?password=`` query parameters.
    """
    text = str(url)
    scheme_end = text.find("://")
    if scheme_end >= 0:
        # the password runs from the first ':' after the user to the LAST '@' before the query,
        # so a raw '@' or '/' inside the password is masked too
        rest = text[scheme_end + 3 :]
        at = rest.split("?", 1)[0].rfind("@")
        if at >= 0 and ":" in rest[:at]:
            user = rest[:at].split(":", 1)[0]
            text = f"{text[: scheme_end + 3]}{user}:***{rest[at:]}"
    return _QUERY_SECRET.sub(r"\1***", text)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")
