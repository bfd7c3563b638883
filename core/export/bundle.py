"""A bundle on disk: a folder or a zip of known files, each listed with its SHA-256 in MANIFEST.json.

A bundle holds:

- ``config.json`` / ``config.yaml``: the :class:`~core.export.config.BundleConfig` (spec, family,
  hyperparameters, decision threshold, seeds, data fingerprint and columns, library versions, the
  study's stored metrics and the latency measured at export);
- ``model.skops``: the re-fitted pipeline wrapped with its decision rule
  (:class:`~sklearn.model_selection.FixedThresholdClassifier`), saved with skops (never pickle);
- ``model.onnx`` when the family exports with parity (see :mod:`core.export.onnx`);
- ``decision.md`` and ``report.html`` (see :mod:`core.export.report`);
- ``MANIFEST.json``: the SHA-256 of every other file.

Why refuse so much: a bundle travels between machines and people, so one whose files do not match
the manifest, that holds a file the manifest does not list, or whose archive members try to leave
the bundle was changed after export and is not opened.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sklearn.model_selection import FixedThresholdClassifier

from core.errors import UserInputError
from core.export import safety
from core.export.config import KIND, SCHEMA_VERSION, BundleConfig
from core.spec import Spec

CONFIG, CONFIG_YAML, MODEL, ONNX, DECISION, REPORT, MANIFEST = (
    "config.json",
    "config.yaml",
    "model.skops",
    "model.onnx",
    "decision.md",
    "report.html",
    "MANIFEST.json",
)
KNOWN_FILES = (CONFIG, CONFIG_YAML, MODEL, ONNX, DECISION, REPORT, MANIFEST)
REQUIRED_FILES = (CONFIG, MODEL, MANIFEST)


def with_threshold(pipeline: Any, threshold: float) -> FixedThresholdClassifier:
    """The fitted pipeline carrying its decision rule: ``predict`` is positive when P(positive) ≥ threshold.

    Prefit: the wrapper is never fitted (scikit-learn uses the fitted inner estimator as it is), so
    its probabilities are exactly the pipeline's.
    """
    return FixedThresholdClassifier(pipeline, threshold=float(threshold), response_method="predict_proba")


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def manifest(files: dict[str, bytes]) -> bytes:
    """MANIFEST.json for the other files of a bundle."""
    listed = {n: sha(b) for n, b in sorted(files.items()) if n != MANIFEST}
    return json.dumps({"kind": KIND, "schema_version": SCHEMA_VERSION, "files": listed}, indent=2).encode("utf-8")


@dataclass
class Bundle:
    """A checked bundle in memory: its files, its typed config and where it came from."""

    files: dict[str, bytes]
    config: BundleConfig
    source: str = ""

    @property
    def spec(self) -> Spec:
        return self.config.spec

    @property
    def family(self) -> str:
        return self.config.family

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.config.params)

    @property
    def threshold(self) -> float:
        return self.config.threshold

    @property
    def numeric(self) -> list[str]:
        return list(self.config.data.numeric)

    @property
    def categorical(self) -> list[str]:
        return list(self.config.data.categorical)

    @property
    def features(self) -> list[str]:
        return self.config.features

    def model(self) -> Any:
        """The classifier with its decision rule, opened with skops' trusted-type check.

        A bundle made before the rule travelled with the model holds the bare pipeline; it is
        wrapped here with the threshold its config records, so both kinds predict alike.
        """
        model = safety.load_model(self.files[MODEL])
        if self.config.rule_kind == "group_thresholds":
            return _group_model(model, self.config.rule)
        if not isinstance(model, FixedThresholdClassifier):
            return with_threshold(model, self.threshold)
        if not math.isclose(float(model.threshold), self.threshold, rel_tol=0.0, abs_tol=1e-12):
            raise UserInputError(
                f"model.skops decides at threshold {model.threshold!r} but config.json records "
                f"{self.threshold!r}; the files disagree. Export the bundle again from its study.",
                field="bundle",
            )
        return model


def _group_model(model: Any, rule: dict[str, Any]) -> Any:
    """A group-rule bundle's model: our rule estimator, deciding with the thresholds config.json records."""
    from core.export.rules import GroupThresholdClassifier

    if not isinstance(model, GroupThresholdClassifier) or dict(model.thresholds or {}) != dict(rule["thresholds"]):
        raise UserInputError(
            "model.skops does not apply the per-group thresholds config.json records; the files "
            "disagree. Export the bundle again from its study.",
            field="bundle",
        )
    return model


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            zf.writestr(name, files[name])
    return buf.getvalue()


def write(files: dict[str, bytes], out: str | Path) -> Path:
    """Write a bundle as ``*.zip`` or into a folder (bundle files only; stale ones removed)."""
    out = Path(out)
    if out.suffix.lower() == ".zip":
        if not out.parent.exists():
            raise UserInputError(f"The folder {str(out.parent)!r} does not exist.", field="output")
        tmp = out.with_name(out.name + ".tmp")
        try:
            tmp.write_bytes(zip_bytes(files))
            tmp.replace(out)
        except BaseException:  # interrupted or failed: no b.zip.tmp left behind
            tmp.unlink(missing_ok=True)
            raise
        return out
    if out.exists() and not out.is_dir():
        raise UserInputError(f"{str(out)!r} exists and is not a folder; give a folder or a .zip path.", field="output")
    if out.is_dir():
        foreign = sorted(p.name for p in out.iterdir() if p.name not in KNOWN_FILES)
        if foreign:  # a bundle folder must hold nothing else, or it would not open again
            raise UserInputError(
                f"The folder {str(out)!r} already holds other files "
                f"({', '.join(foreign[:5])}); choose an empty folder or a .zip path.",
                field="output",
            )
    out.parent.mkdir(parents=True, exist_ok=True)
    _swap_in(files, out)
    return out


def _swap_in(files: dict[str, bytes], out: Path) -> None:
    """Write the bundle into a temporary folder next to ``out``, then rename it into place: an
    interrupted export leaves the older bundle whole (never a half-written one, read as tampered)."""
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    try:
        tmp.mkdir()
        for name, data in files.items():
            (tmp / name).write_bytes(data)
        if out.exists():
            out.rename(old)
        tmp.rename(out)
    except BaseException:
        if old.exists() and not out.exists():
            old.rename(out)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)


# -- reading a bundle back --------------------------------------------------------------------------


def _strip_folder(files: dict[str, bytes]) -> dict[str, bytes]:
    """Accept a zip of the bundle folder (one common top-level directory)."""
    tops = {n.split("/", 1)[0] for n in files}
    if len(tops) == 1 and all("/" in n for n in files):
        return {n.split("/", 1)[1]: b for n, b in files.items()}
    return files


def _read_folder(path: Path) -> dict[str, bytes]:
    files = {}
    for p in sorted(path.iterdir()):
        if p.is_symlink():
            raise UserInputError(f"The bundle holds a symbolic link {p.name!r}; refused.", field="bundle")
        if p.is_dir():
            raise UserInputError(
                f"Unexpected folder {p.name!r} in the bundle; a bundle is a flat set of files ({', '.join(KNOWN_FILES)}).",
                field="bundle",
            )
        files[p.name] = p.read_bytes()
    return files


def read_files(source: str | Path | bytes) -> tuple[dict[str, bytes], str]:
    """The bundle's files from a folder, a zip path or zip bytes, with archive checks."""
    if isinstance(source, (bytes, bytearray)):
        return _strip_folder(safety.read_zip(bytes(source))), "uploaded bundle"
    path = Path(source)
    if not path.exists():
        raise UserInputError(f"Bundle {str(path)!r} does not exist.", field="bundle")
    if path.is_dir():
        return _read_folder(path), str(path)
    return _strip_folder(safety.read_zip(path.read_bytes())), str(path)


def check_manifest(files: dict[str, bytes]) -> None:
    """Known files only, the required ones present, each matching its SHA-256 in MANIFEST.json."""
    unexpected = sorted(n for n in files if n not in KNOWN_FILES)
    if unexpected:
        raise UserInputError(
            f"Unexpected file(s) in the bundle: {', '.join(unexpected)}. A bundle holds only "
            f"{', '.join(KNOWN_FILES)}; nothing else is opened (pickle files never are).",
            field="bundle",
        )
    missing = [n for n in REQUIRED_FILES if n not in files]
    if missing:
        raise UserInputError(f"The bundle lacks {', '.join(missing)}; export it again.", field="bundle")
    try:
        listed = dict(json.loads(files[MANIFEST])["files"])
    except (ValueError, KeyError, TypeError):
        raise UserInputError(
            "MANIFEST.json is not a valid bundle manifest; export the bundle again.", field="bundle"
        ) from None
    for name, data in files.items():
        if name == MANIFEST:
            continue
        if name not in listed:
            raise UserInputError(
                f"{name} is not listed in MANIFEST.json: it was added after export; refused.", field="bundle"
            )
        if listed[name] != sha(data):
            raise UserInputError(
                f"{name} was changed after export (its SHA-256 does not match "
                "MANIFEST.json); refused. Export the bundle again from the study.",
                field="bundle",
            )
    gone = sorted(n for n in listed if n not in files)
    if gone:
        raise UserInputError(f"The bundle lacks {', '.join(gone)}, listed in MANIFEST.json.", field="bundle")


def open_bundle(source: str | Path | bytes) -> Bundle:
    """Read and verify a bundle: known files only, checksums, then the typed config.

    Each refusal names what is wrong: an unexpected file (e.g. a pickle someone added), a file
    changed after export, a missing file, a config field that is not what it must be.
    """
    files, label = read_files(source)
    check_manifest(files)
    try:
        doc = json.loads(files[CONFIG])
    except ValueError as exc:
        raise UserInputError(f"config.json is not valid JSON ({exc}).", field="bundle") from None
    config = BundleConfig.from_json(doc)
    _check_numbers(config)
    return Bundle(files=files, config=config, source=label)


def _check_numbers(config: BundleConfig) -> None:
    """Recorded metrics are numbers (or missing): a value changed to text with the manifest
    recomputed is refused here, by name, not deep inside ``reproduce``."""
    for section in ("metrics", "test_metrics"):
        for name, value in (getattr(config, section) or {}).items():
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise UserInputError(
                    f"config.json: {section}.{name}: expected a number, got {type(value).__name__} {value!r}; "
                    "the bundle was edited after export. Export it again from the study.",
                    field="bundle",
                )


__all__ = [
    "CONFIG",
    "CONFIG_YAML",
    "DECISION",
    "KNOWN_FILES",
    "MANIFEST",
    "MODEL",
    "ONNX",
    "REPORT",
    "REQUIRED_FILES",
    "Bundle",
    "check_manifest",
    "manifest",
    "open_bundle",
    "read_files",
    "sha",
    "with_threshold",
    "write",
    "zip_bytes",
]
