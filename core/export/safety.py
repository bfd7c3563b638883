"""Guards for everything that crosses a trust boundary: model files, archives, file names, CSV.

Why one module: a bundle travels between machines and people (e-mail, tickets, shared drives), so
everything read back from one is treated as hostile until checked, and everything we write for
humans (CSV opened in a spreadsheet, HTML opened in a browser) must not let a value typed by someone
in the room turn into a formula or a script (HTML and Markdown escaping is :mod:`core._text`'s).
Each helper is small and tested on its own.

- Model files are opened with ``skops.io`` and an explicit allow-list of the types our model
  families produce (:data:`ALLOWED_TYPES`); anything else is refused, listing the unknown types.
  Never ``pickle``/``joblib`` (unpickling runs arbitrary code).
- Archive members with absolute paths, ``..`` parts, drive letters, NUL bytes or symlinks are
  refused (zip-slip), and so are archives that would expand beyond :data:`MAX_ARCHIVE_BYTES`.
- File names derived from user input keep only ``[A-Za-z0-9._-]``.
- CSV cells starting with ``= + - @`` (or tab / carriage return) are prefixed with ``'`` so a
  spreadsheet shows them as text instead of evaluating them (formula injection).
"""

from __future__ import annotations

import io
import re
import stat
import unicodedata
import zipfile
from collections.abc import Iterable
from typing import Any

import pandas as pd

from core.catalog import MODEL_TYPES
from core.errors import UserInputError

#: Types outside skops' default trust that the exported models of our families contain
#: (:data:`core.catalog.MODEL_TYPES`, the one list every reader of our skops bytes uses).
ALLOWED_TYPES: tuple[str, ...] = MODEL_TYPES
#: our own rule estimators a bundle may hold (core.export.rules: a threshold per sensitive group)
RULE_TYPES: tuple[str, ...] = ("core.export.rules.GroupThresholdClassifier",)

MAX_ARCHIVE_BYTES = 1024**3  # 1 GiB uncompressed: far above any model we make, far below a zip bomb
MAX_ARCHIVE_MEMBERS = 64
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


# -- skops ------------------------------------------------------------------------------------------


def untrusted_types(data: bytes) -> list[str]:
    """The types in a skops file that skops would not load without being told to trust them."""
    import skops.io as sio

    try:
        return list(sio.get_untrusted_types(data=data))
    except zipfile.BadZipFile:
        raise UserInputError(
            "The model file is not a skops file (it is not a zip archive). "
            "Only models saved by Tradeoff Room's export can be opened.",
            field="bundle",
        ) from None
    except Exception as exc:  # skops raises several types for malformed schemas
        raise UserInputError(
            f"The model file could not be read as skops ({type(exc).__name__}: {exc}).", field="bundle"
        ) from None


def load_model(data: bytes, *, allowed: Iterable[str] = ALLOWED_TYPES + RULE_TYPES) -> Any:
    """Open a skops model, trusting exactly the allow-listed types; refuse anything else.

    Why check first instead of catching skops' error: the refusal message must name every unknown
    type so the person can tell a tampered file from a newer Tradeoff Room version.
    """
    import skops.io as sio

    allow = list(allowed)
    found = untrusted_types(data)
    unknown = sorted(t for t in found if t not in allow)
    if unknown:
        raise UserInputError(
            "The model file contains types that Tradeoff Room does not trust, so it was not opened: "
            f"{', '.join(unknown)}. A bundle made by Tradeoff Room only holds scikit-learn / XGBoost "
            "pipelines; re-export it from the study instead of editing it.",
            field="bundle",
        )
    return sio.loads(data, trusted=[t for t in found if t in allow])


def dump_model(model: Any) -> bytes:
    """skops bytes of a fitted pipeline (never pickle)."""
    import skops.io as sio

    return sio.dumps(model)


# -- archives ---------------------------------------------------------------------------------------


def check_member_name(name: str) -> str:
    """Return the member name if it is a plain relative path; raise a UserInputError otherwise."""
    if not name or "\x00" in name:
        raise UserInputError("The archive holds a member with an empty or invalid name; refused.", field="bundle")
    norm = name.replace("\\", "/")
    if norm.startswith("/") or re.match(r"^[A-Za-z]:", norm):
        raise UserInputError(
            f"The archive member {name!r} has an absolute path; refused (it could overwrite files outside the bundle).",
            field="bundle",
        )
    if any(part == ".." for part in norm.split("/")):
        raise UserInputError(
            f"The archive member {name!r} climbs out of the bundle with '..'; refused.", field="bundle"
        )
    return norm


def read_zip(
    data: bytes, *, max_bytes: int = MAX_ARCHIVE_BYTES, max_members: int = MAX_ARCHIVE_MEMBERS
) -> dict[str, bytes]:
    """Every file of a zip archive in memory, after checking each member's name, type and size.

    Nothing is extracted to disk, so a member name can never point outside a folder; the checks
    still refuse such archives outright, because a bundle that carries one was tampered with.
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise UserInputError(
            "The file is not a zip archive. Upload the .zip made by Export, or a spec .json.", field="bundle"
        ) from None
    with zf:
        infos = zf.infolist()
        if len(infos) > max_members:
            raise UserInputError(
                f"The archive has {len(infos)} members; a bundle has at most {max_members}. Refused.", field="bundle"
            )
        total = 0
        for info in infos:
            check_member_name(info.filename)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise UserInputError(
                    f"The archive member {info.filename!r} is a symbolic link; refused.", field="bundle"
                )
            total += info.file_size
            if total > max_bytes:
                raise UserInputError(
                    f"The archive expands to more than {max_bytes // 1024**2} MB; refused.", field="bundle"
                )
        out = {}
        for info in infos:
            if info.is_dir():
                continue
            out[info.filename.replace("\\", "/")] = zf.read(info)
        return out


# -- names and CSV ---------------------------------------------------------------------------------


def safe_filename(raw: str, *, default: str = "bundle", max_len: int = 100) -> str:
    """A file name from user text (study names, uploads): ASCII letters, digits, ``._-`` only."""
    text = unicodedata.normalize("NFKD", str(raw or "")).encode("ascii", "ignore").decode()
    text = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._-")
    text = re.sub(r"\.{2,}", ".", text)[:max_len].strip("._-")
    if not text or text.split(".")[0].upper() in _WINDOWS_RESERVED:
        text = f"{default}_{text}" if text else default
    return text


def neutralise_cell(value: Any) -> Any:
    """Prefix ``'`` to a text cell a spreadsheet would evaluate as a formula; other values as-is."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def safe_csv_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy with every text cell and column name neutralised (numbers stay numbers)."""
    out = df.copy()
    out.columns = [neutralise_cell(str(c)) for c in out.columns]
    for col in out.columns:
        s = out[col]
        if s.dtype == object or pd.api.types.is_string_dtype(s):
            out[col] = s.astype(object).map(neutralise_cell)
    return out


def to_safe_csv(df: pd.DataFrame) -> str:
    """CSV text safe to open in a spreadsheet (see :func:`neutralise_cell`)."""
    return safe_csv_frame(df).to_csv(index=False)


__all__ = [
    "ALLOWED_TYPES",
    "MAX_ARCHIVE_BYTES",
    "MAX_ARCHIVE_MEMBERS",
    "check_member_name",
    "dump_model",
    "load_model",
    "neutralise_cell",
    "read_zip",
    "safe_csv_frame",
    "safe_filename",
    "to_safe_csv",
    "untrusted_types",
]
