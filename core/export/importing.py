"""Warm-start a new study from a bundle (its chosen configuration runs first) or from a spec JSON.

Why a bundle's configuration is enqueued rather than only its spec: the team re-running on newer
data wants to know first how the configuration it chose does there, then whether a better one exists.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from core import search
from core import storage as st
from core._json import jsonable
from core.errors import UserInputError
from core.export.bundle import open_bundle
from core.export.config import KIND, BundleConfig
from core.models import families as fam
from core.spec import Spec


@dataclass
class ImportResult:
    study_name: str
    spec: Spec
    enqueued: dict[str, Any] | None
    source_kind: str  # "bundle", "bundle config" or "spec"


def _chosen(config: BundleConfig) -> dict[str, Any]:
    """The configuration to run first, and where it came from (recorded on the new study)."""
    study = {"name": config.study.name, "storage": config.study.storage, "trial": config.study.trial}
    return {
        "family": config.family,
        "params": dict(config.params),
        "from_study": study,
        "data_fingerprint": config.data.fingerprint,
    }


def _raw(source: str | Path | bytes) -> tuple[bytes | None, bool]:
    """(the file's bytes unless it is a bundle, whether it is a bundle: a zip or a folder)."""
    if isinstance(source, (bytes, bytearray)):
        return bytes(source), source[:2] == b"PK"
    p = Path(source)
    if not p.exists():
        raise UserInputError(f"{str(p)!r} does not exist.", field="bundle")
    if p.is_dir():
        return None, True
    raw = p.read_bytes()
    return raw, raw[:2] == b"PK"


def read_import(source: str | Path | bytes, *, filename: str | None = None) -> tuple[Spec, dict[str, Any] | None, str]:
    """(spec, chosen configuration or None, kind) from a bundle (zip/folder), a bundle's config.json
    or a spec JSON."""
    raw, is_bundle = _raw(source)
    if is_bundle or raw is None:
        b = open_bundle(source)
        return b.spec, _chosen(b.config), "bundle"
    try:
        doc = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise UserInputError(f"{filename or 'The file'} is neither a bundle (.zip) nor JSON.", field="bundle") from None
    if isinstance(doc, dict) and doc.get("kind") == KIND:
        config = BundleConfig.from_json(doc)
        return config.spec, _chosen(config), "bundle config"
    return Spec.from_dict(doc), None, "spec"


def _new_name(url: str, study_name: str) -> str:
    if not study_name or not str(study_name).strip():
        raise UserInputError("Name the new study.", field="study")
    if study_name in {s.study_name for s in search.list_studies(url)}:
        raise UserInputError(
            f"A study named {study_name!r} already exists in {st.mask(url)}; choose "
            "another name for the imported study.",
            field="study",
        )
    return study_name


def import_study(
    source: str | Path | bytes,
    url: str | None,
    study_name: str,
    *,
    data: str | None = None,
    trials: int | None = None,
    filename: str | None = None,
) -> ImportResult:
    """Create a new study from a bundle or spec; a bundle's configuration is enqueued as trial 0.

    ``data`` points the new study at another table (new data: its fingerprint is recorded afresh);
    without it, the spec's own path and fingerprint are used (and checked).
    """
    spec, chosen, kind = read_import(source, filename=filename)
    if data is not None:
        spec = replace(spec, data=replace(spec.data, path=str(data), fingerprint=None))
    if chosen is not None and chosen["family"] not in spec.families:
        spec = replace(spec, families=tuple(spec.families) + (chosen["family"],))
    url = st.resolve(url)
    study = search.create_study(spec, url, _new_name(url, study_name), warm_start=chosen is None, n_trials=trials)
    enqueued = None
    if chosen is not None:
        enqueued = fam.flat_params(chosen["family"], chosen["params"])
        study.enqueue_trial(enqueued)
        if spec.sampler != "random":
            for f in spec.families:  # the same warm start a new study gets, after the chosen one
                study.enqueue_trial(fam.flat_params(f, search.typical_params(f)), skip_if_exists=True)
        origin = {"kind": kind, "study": chosen["from_study"], "data_fingerprint": chosen["data_fingerprint"]}
        study.set_user_attr("imported_from", jsonable(origin))
    return ImportResult(study_name=study_name, spec=search.load_spec(study), enqueued=enqueued, source_kind=kind)


__all__ = ["ImportResult", "import_study", "read_import"]
