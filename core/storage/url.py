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
from urllib.parse import quote

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from core.errors import UserInputError

ENV_STORAGE = "TRADEOFF_STORAGE"
ENV_HOME = "TRADEOFF_HOME"
SECRETS_PATH = Path(".streamlit") / "secrets.toml"

_SECRET_KEYS = frozenset({"password", "passwd", "pwd", "sslpassword", "secret", "token"})
# a URL inside free text (a driver's error message), where the text as a whole does not parse
_INLINE_PASSWORD = re.compile(r"(\w[\w+.-]*://[^:/@\s]*:)[^@\s]*@")


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
    except ModuleNotFoundError:  # Python 3.10 has no TOML reader; the flag and environment still work
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


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and for in-memory SQLite)."""
    if not url.startswith("sqlite:///"):
        return None
    db_path = url[len("sqlite:///") :].split("?", 1)[0]
    if not db_path or db_path == ":memory:" or db_path.startswith("file:"):
        return None
    return Path(db_path).expanduser()


def make_sqlite_folder(url: str) -> None:
    """SQLite creates the file but not its folder; make the folder so first use just works."""
    path = sqlite_path(url)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserInputError(
            f"Cannot create the folder for the database {str(path)!r}: {exc}.", field="storage"
        ) from None


def resolve(url: str | None = None) -> str:
    """Pick the storage URL (flag > env > secrets > default) and make sure SQLite's folder exists."""
    chosen = url or os.environ.get(ENV_STORAGE) or _from_secrets() or default_url()
    chosen = chosen.strip()
    if "://" not in chosen:
        # a bare path is taken as a SQLite file, which is what people mean by it
        chosen = f"sqlite:///{Path(chosen).resolve()}"
    make_sqlite_folder(chosen)
    return chosen


def resolve_existing(url: str | None = None) -> str:
    """:func:`resolve` for commands that only read: a SQLite file that is not there is refused,
    never created (an empty database made by a typo would look like a storage without studies)."""
    chosen = url or os.environ.get(ENV_STORAGE) or _from_secrets() or default_url()
    chosen = chosen.strip()
    if "://" not in chosen:
        chosen = f"sqlite:///{Path(chosen).resolve()}"
    path = sqlite_path(chosen)
    if path is not None and not path.is_file():
        raise UserInputError(
            f"The database {str(path)!r} does not exist, so it holds no studies; check the path in --storage "
            f"(or ${ENV_STORAGE}), or run `tradeoff search` to create it.",
            field="storage",
        )
    return chosen


def _quote_raw_password(text: str) -> str:
    """Percent-encode a password typed with a raw ``@`` or ``/`` so the parser finds the host.

    The password runs from the first ``:`` after the user to the *last* ``@`` before the query.
    """
    scheme, sep, rest = text.partition("://")
    head, q, query = rest.partition("?")
    at = head.rfind("@")
    user, colon, password = head[:at].partition(":") if at >= 0 else ("", "", "")
    if not sep or not colon:
        return text
    return f"{scheme}://{user}:{quote(password, safe='')}@{head[at + 1 :]}{q}{query}"


def mask(url: object) -> str:
    """The URL with its password (``user:password@`` and ``?password=``) hidden, for display.

    Text that is not a URL (a driver's error message) has any URL inside it masked the same way.
    """
    text = str(url)
    try:
        parsed = make_url(_quote_raw_password(text))
    except (ArgumentError, ValueError):
        return _INLINE_PASSWORD.sub(r"\1***@", text)
    hidden = {k: "***" for k in parsed.query if k.lower() in _SECRET_KEYS}
    if parsed.password is None and not hidden:
        return text
    return parsed.update_query_dict(hidden).render_as_string(hide_password=True).replace("%2A%2A%2A", "***")


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")
