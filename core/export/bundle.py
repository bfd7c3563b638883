"""Export the configuration the room chose, check it reproduces, score new rows, carry it on.

A bundle is a folder or a zip with:

- ``config.json`` / ``config.yaml``: the Spec, the chosen family and hyperparameters, the decision
  threshold, seeds, the data fingerprint and columns, library versions, the study's stored metrics
  and the latency measured at export (what ``reproduce`` compares against);
- ``model.skops``: the re-fitted pipeline (preprocessing + model), trained on the study's full
  training part, saved with skops (never pickle);
- ``model.onnx`` when the family exports with parity (see :mod:`core.export.onnx`); the outcome,
  with both latencies or the reason, is in ``config.json["onnx"]``;
- ``decision.md`` and ``report.html`` (see :mod:`core.export.report`);
- ``MANIFEST.json``: the SHA-256 of every other file. A bundle whose files do not match it, that
  holds a file it does not list, or whose archive members try to leave the bundle is refused.

Why reproduce re-trains instead of only loading ``model.skops``: "anyone must be able to check it
later" means proving the recorded numbers come from this configuration on this data, not only that
a file loads. Deterministic metrics must be identical (to 1e-9 relative); timings must fall within
the latency harness's stated spread.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import platform
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from core import objectives as obj
from core import storage as st
from core.errors import UserInputError
from core.export import safety
from core.models import families as fam
from core.spec import Spec

SCHEMA_VERSION = 1
KIND = "tradeoff-room-bundle"
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
REL_TOL = 1e-9
LATENCY_FLOOR = 0.25  # relative; the band is max(floor, 3 × the harness's block CV)
LATENCY_JUDGED = ("latency_p50_ms", "latency_p95_ms")
LATENCY_INFO = ("latency_p99_ms", "model_latency_p95_ms", "throughput_rps", "latency_mean_ms", "latency_cv")
LATENCY_DERIVED = ("value_per_1k", "infra_cost_per_1m", "latency_penalty_per_1k", "fit_time_s")
VERSION_PACKAGES = (
    "scikit-learn",
    "xgboost",
    "optuna",
    "numpy",
    "pandas",
    "scipy",
    "skops",
    "onnx",
    "onnxruntime",
    "skl2onnx",
    "onnxmltools",
    "fairlearn",
    "pyarrow",
)


# -- small helpers ----------------------------------------------------------------------------------


def library_versions() -> dict[str, str]:
    """Versions that can change a number: Python, this package and every library in the pipeline."""
    from importlib.metadata import PackageNotFoundError, version

    import core

    out = {
        "python": platform.python_version(),
        "tradeoff-room": core.__version__,
        "platform": platform.platform(terse=True),
    }
    for name in VERSION_PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def _jsonable(x: Any) -> Any:
    """Plain JSON types; NaN/inf become None (JSON has no NaN)."""
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(float(x)) else None
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=1e-12)


# -- the bundle as data -----------------------------------------------------------------------------


@dataclass
class Bundle:
    """A checked bundle in memory: its files, its parsed config and where it came from."""

    files: dict[str, bytes]
    config: dict[str, Any]
    source: str = ""

    @property
    def spec(self) -> Spec:
        return Spec.from_dict(self.config["spec"])

    @property
    def family(self) -> str:
        return str(self.config["family"])

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.config["params"])

    @property
    def threshold(self) -> float:
        return float(self.config["threshold"])

    @property
    def numeric(self) -> list[str]:
        return list(self.config["data"]["numeric"])

    @property
    def categorical(self) -> list[str]:
        return list(self.config["data"]["categorical"])

    @property
    def features(self) -> list[str]:
        return self.numeric + self.categorical

    def model(self) -> Any:
        """The pipeline, opened with skops' trusted-type check against our allow-list."""
        return safety.load_model(self.files[MODEL])


@dataclass
class ExportResult:
    files: dict[str, bytes]
    config: dict[str, Any]
    onnx: Any  # core.export.onnx.OnnxExport | None
    path: Path | None = None

    def zip_bytes(self) -> bytes:
        return zip_bytes(self.files)


def default_trial(url: str, study_name: str) -> tuple[int | None, str]:
    """The trial to export by default: the room's locked decision, else the front's knee."""
    from core import search
    from core.export import report
    from core.search import reader as study_reader

    locked, why = report.room_lock(url, study_name)
    if locked is not None:
        return locked, f"the room's decision ({why})"
    spec = search.load_spec(search.open_study(url, study_name))
    pf, knee = report.front_of(study_reader.read_frame(url, study_name, spec), spec)
    if knee is not None:
        return knee, f"the knee of the front ({why.rstrip('.').lower()})"
    return None, "no feasible finished trial to export yet"


def _trial(study: Any, number: int) -> Any:
    for t in study.get_trials(deepcopy=False):
        if t.number == number:
            return t
    raise UserInputError(f"Study {study.study_name!r} has no trial #{number}.", field="trial")


def _dataset_summary(ds: Any, train_idx: np.ndarray, test_idx: np.ndarray, spec: Spec) -> dict[str, Any]:
    ref = spec.data
    columns = list(ds.numeric) + list(ds.categorical) + [ref.target, *ref.sensitive]
    columns += ([ref.value_column] if ref.value_column else []) + list(ref.exclude) + list(ds.dropped)
    return {
        "path": ref.path,
        "fingerprint": ds.fingerprint,
        "target": ref.target,
        "positive_label": ds.positive_label,
        "negative_label": ds.negative_label,
        "numeric": list(ds.numeric),
        "categorical": list(ds.categorical),
        "columns": list(dict.fromkeys(columns)),
        "dropped": dict(ds.dropped),
        "n_rows": int(ds.n_rows),
        "n_train": int(len(train_idx)),
        "n_test": int(len(test_idx)),
        "positive_rate": float(np.mean(ds.y)),
        "notes": list(ds.notes),
        "sensitive": list(ref.sensitive),
    }


def build(
    url: str | None,
    study_name: str,
    trial_number: int,
    *,
    data: str | None = None,
    verdict: str | None = None,
    with_onnx: bool = True,
    with_report: bool = True,
    on_step: Callable[[str], None] | None = None,
) -> ExportResult:
    """Re-fit a trial and make every bundle file in memory (the page zips it, the CLI writes it).

    ``data`` points at the study's table when it moved (its fingerprint must still match).
    """
    from core import search
    from core.data import load_dataset
    from core.export import onnx as onnx_export
    from core.export import report
    from core.models import candidate

    step = on_step or (lambda _msg: None)
    url = st.resolve(url)
    study = search.open_study(url, study_name)
    spec = search.load_spec(study)
    ds = None
    if data is not None:
        ds = load_dataset(replace(spec.data, path=str(data)))
    step("re-fitting the chosen trial on the study's training part")
    with threadpool_limits(limits=1):  # see reproduce(): same numbers, no OpenMP oversubscription
        cand = candidate.load(url, study_name, int(trial_number), dataset=ds)
    t = _trial(study, int(trial_number))
    ua = t.user_attrs
    ev = cand.evaluation
    test = cand.dataset.subset(cand.test_idx)
    model_bytes = safety.dump_model(cand.pipeline)

    onnx_result = None
    if with_onnx:
        step("exporting to ONNX and checking parity")
        check = test.X
        if len(check) < onnx_export.MIN_ROWS:  # top up with training rows: parity needs enough rows
            extra = cand.dataset.subset(cand.train_idx).X.iloc[: onnx_export.MIN_ROWS - len(check)]
            check = pd.concat([check, extra], ignore_index=True)
        onnx_result = onnx_export.export(
            cand.pipeline,
            cand.family,
            check,
            cand.dataset.numeric,
            cand.dataset.categorical,
            latency_repeats=max(spec.validation.latency_repeats, 50),
        )
    config = {
        "schema_version": SCHEMA_VERSION,
        "kind": KIND,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "study": {"name": study_name, "storage": st.mask(url), "trial": int(trial_number)},
        "spec": spec.to_dict(),
        "family": cand.family,
        "family_label": fam.get(cand.family).label,
        "family_class": cand.klass,
        "params": dict(cand.params),
        "optuna_params": fam.flat_params(cand.family, cand.params),
        "threshold": float(cand.threshold),
        "seeds": {"spec_seed": spec.seed, "split": spec.seed, "cv_folds": spec.seed, "model_random_state": spec.seed},
        "data": _dataset_summary(cand.dataset, cand.train_idx, cand.test_idx, spec),
        "metrics": dict(ua.get("metrics") or cand.stored_metrics),
        "test_metrics": dict(ua.get("test_metrics") or ev.test),
        "cv_std": dict(ua.get("cv_std") or ev.cv_std),
        "groups_test": list(ua.get("groups_test") or json.loads(ev.groups_test.to_json(orient="records"))),
        "export_latency": ev.latency.to_dict(),
        "versions": library_versions(),
        "onnx": onnx_result.to_dict() if onnx_result is not None else {"exported": False, "reason": "not attempted"},
        "onnx_support": {f: {"exportable": s, "note": n} for f, (s, n) in onnx_export.SUPPORT.items()},
    }
    locked, _why = report.room_lock(url, study_name)
    config["decision"] = {"room_locked_trial": locked, "is_room_decision": locked == int(trial_number)}
    files: dict[str, bytes] = {MODEL: model_bytes}
    if onnx_result is not None and onnx_result.exported and onnx_result.model:
        files[ONNX] = onnx_result.model
    if with_report:
        step("writing decision.md and report.html")
        data_ = _report_data(url, study, spec, cand, config, verdict)
        config["decision"].update(
            {
                "by": data_.room.locked_by,
                "at": data_.room.locked_at,
                "rationale": data_.room.rationale,
                "note": data_.room.note,
            }
        )
        files[DECISION] = report.decision_markdown(data_).encode("utf-8")
        files[REPORT] = report.report_html(data_).encode("utf-8")
    config = _jsonable(config)
    files[CONFIG] = json.dumps(config, indent=2).encode("utf-8")
    files[CONFIG_YAML] = _yaml(config).encode("utf-8")
    files[MANIFEST] = json.dumps(
        {"kind": KIND, "schema_version": SCHEMA_VERSION, "files": {n: _sha(b) for n, b in sorted(files.items())}},
        indent=2,
    ).encode("utf-8")
    return ExportResult(files=files, config=config, onnx=onnx_result)


def _yaml(config: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(config, sort_keys=False, allow_unicode=True)


def _report_data(url: str, study: Any, spec: Spec, cand: Any, config: dict[str, Any], verdict: str | None) -> Any:
    from core.decide import front
    from core.export import report

    frame = front.trials_frame(study.get_trials(deepcopy=False), spec)
    pf, knee = report.front_of(frame, spec)
    test = cand.dataset.subset(cand.test_idx)
    note = ""
    try:
        with threadpool_limits(limits=1):
            imp = report.permutation_importance(cand.pipeline, test.X, test.y, seed=spec.seed, threshold=cand.threshold)
    except Exception as exc:  # e.g. a test part with one class: say so rather than fail the export
        imp, note = None, f"Not computed ({type(exc).__name__}: {exc})."
    return report.ReportData(
        study_name=study.study_name,
        trial_number=cand.number,
        spec=spec,
        family=cand.family,
        params=dict(cand.params),
        threshold=float(cand.threshold),
        metrics=config["metrics"],
        test_metrics=config["test_metrics"],
        cv_std=config["cv_std"],
        groups_test=pd.DataFrame(config["groups_test"]),
        frame=frame,
        front=pf,
        knee=knee,
        room=report.room_summary(url, study.study_name, spec, frame),
        dataset=config["data"],
        importance=imp,
        importance_note=note,
        onnx=config["onnx"],
        verdict=verdict,
        versions=config["versions"],
    )


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
        tmp.write_bytes(zip_bytes(files))
        tmp.replace(out)
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
    out.mkdir(parents=True, exist_ok=True)
    for name in KNOWN_FILES:
        if name not in files and (out / name).is_file():
            (out / name).unlink()
    for name, data in files.items():
        (out / name).write_bytes(data)
    return out


# -- reading a bundle back --------------------------------------------------------------------------


def _strip_folder(files: dict[str, bytes]) -> dict[str, bytes]:
    """Accept a zip of the bundle folder (one common top-level directory)."""
    tops = {n.split("/", 1)[0] for n in files}
    if len(tops) == 1 and all("/" in n for n in files):
        return {n.split("/", 1)[1]: b for n, b in files.items()}
    return files


def read_files(source: str | Path | bytes) -> tuple[dict[str, bytes], str]:
    """The bundle's files from a folder, a zip path or zip bytes, with archive checks."""
    if isinstance(source, (bytes, bytearray)):
        return _strip_folder(safety.read_zip(bytes(source))), "uploaded bundle"
    path = Path(source)
    if not path.exists():
        raise UserInputError(f"Bundle {str(path)!r} does not exist.", field="bundle")
    if path.is_dir():
        files = {}
        for p in sorted(path.iterdir()):
            if p.is_symlink():
                raise UserInputError(f"The bundle holds a symbolic link {p.name!r}; refused.", field="bundle")
            if p.is_dir():
                raise UserInputError(
                    f"Unexpected folder {p.name!r} in the bundle; a bundle is a flat "
                    f"set of files ({', '.join(KNOWN_FILES)}).",
                    field="bundle",
                )
            files[p.name] = p.read_bytes()
        return files, str(path)
    return _strip_folder(safety.read_zip(path.read_bytes())), str(path)


def open_bundle(source: str | Path | bytes) -> Bundle:
    """Read and verify a bundle: known files only, checksums, config schema, spec and family.

    Each refusal names what is wrong: an unexpected file (e.g. a pickle someone added), a file
    changed after export, a missing file, a config from another schema version.
    """
    files, label = read_files(source)
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
        manifest = json.loads(files[MANIFEST])
        listed = dict(manifest["files"])
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
        if listed[name] != _sha(data):
            raise UserInputError(
                f"{name} was changed after export (its SHA-256 does not match "
                "MANIFEST.json); refused. Export the bundle again from the study.",
                field="bundle",
            )
    gone = sorted(n for n in listed if n not in files)
    if gone:
        raise UserInputError(f"The bundle lacks {', '.join(gone)}, listed in MANIFEST.json.", field="bundle")
    try:
        config = json.loads(files[CONFIG])
    except ValueError as exc:
        raise UserInputError(f"config.json is not valid JSON ({exc}).", field="bundle") from None
    check_config(config)
    return Bundle(files=files, config=config, source=label)


def check_config(config: Any) -> None:
    """Schema version, kind, spec, family and parameters of a bundle config (or raise)."""
    if not isinstance(config, dict) or config.get("kind") != KIND:
        raise UserInputError("config.json is not a Tradeoff Room bundle config.", field="bundle")
    if config.get("schema_version") != SCHEMA_VERSION:
        raise UserInputError(
            f"This Tradeoff Room reads bundle schema version {SCHEMA_VERSION}; the bundle "
            f"has {config.get('schema_version')!r}.",
            field="bundle",
        )
    for key in ("spec", "family", "params", "threshold", "data", "metrics"):
        if key not in config:
            raise UserInputError(f"config.json lacks {key!r}; export the bundle again.", field="bundle")
    Spec.from_dict(config["spec"])
    family = fam.get(config["family"])
    try:
        family.build(dict(config["params"]), 0)
    except (KeyError, TypeError, ValueError) as exc:
        raise UserInputError(
            f"config.json: the parameters do not fit family {family.name!r} ({type(exc).__name__}: {exc}).",
            field="bundle",
        ) from None


# -- reproduce --------------------------------------------------------------------------------------


@dataclass
class Check:
    """One line of the reproduce report: ``kind`` is deterministic / latency / info."""

    name: str
    kind: str
    old: Any
    new: Any
    ok: bool | None
    note: str = ""


@dataclass
class ReproduceReport:
    checks: list[Check]
    data_changed: bool
    old_fingerprint: str
    new_fingerprint: str
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok is not False for c in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.ok is False]

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame([c.__dict__ for c in self.checks])


def _deterministic_names() -> list[str]:
    return [m for m, d in obj.REGISTRY.items() if d.group in ("quality", "fairness")] + [
        "gross_value_per_1k",
        "model_size_bytes",
        "n_parameters",
    ]


def reproduce(
    source: str | Path | bytes | Bundle,
    data: str | Path,
    *,
    allow_data_change: bool = False,
    latency_tolerance: float = LATENCY_FLOOR,
) -> ReproduceReport:
    """Re-train from config.json on ``data`` and compare every metric with the recorded one."""
    from core.data import fingerprint, prepare, read_table, split
    from core.models.evaluate import evaluate

    b = source if isinstance(source, Bundle) else open_bundle(source)
    spec = b.spec
    expected = b.config["data"]["fingerprint"]
    df, notes = read_table(str(data))
    got = fingerprint(df)
    changed = got != expected
    if changed and not allow_data_change:
        raise UserInputError(
            f"The data in {str(data)!r} is not the data this bundle was trained on: the bundle records "
            f"fingerprint {expected}, the file has {got}. Use the original file, or pass "
            "--allow-data-change to re-evaluate on this data (metrics will then differ).",
            field="data",
        )
    ds = prepare(df, replace(spec.data, path=str(data), fingerprint=None), notes=notes)
    train_idx, test_idx = split(ds, spec.validation, spec.seed)
    # One BLAS/OpenMP thread: the predictions do not depend on the thread count (checked for the
    # boosting families), and on a busy machine OpenMP oversubscription makes fits many times slower.
    with threadpool_limits(limits=1):
        ev = evaluate(b.family, b.params, ds, train_idx, test_idx, spec, keep_model=True)
    checks: list[Check] = []
    old_m, old_t = b.config.get("metrics", {}), b.config.get("test_metrics", {})
    for name in _deterministic_names():
        if name in old_m or name in ev.metrics:
            old, new = old_m.get(name), ev.metrics.get(name)
            checks.append(Check(name, "deterministic", old, new, _same(old, new)))
    for name in obj.TEST_METRICS:
        if name in ("value_per_1k",):
            continue
        old, new = old_t.get(name), ev.test.get(name)
        checks.append(Check(obj.TEST_ATTR + name, "deterministic", old, new, _same(old, new)))
    checks.append(Check("threshold", "deterministic", b.threshold, ev.threshold, _same(b.threshold, ev.threshold)))
    # the bundled model must be the configuration re-trained: same probabilities on the test part
    test = ds.subset(test_idx)
    bundled = b.model().predict_proba(test.X)[:, 1]
    diff = float(np.max(np.abs(bundled - ev.test_proba))) if len(bundled) else 0.0
    checks.append(
        Check(
            "model.skops vs re-trained (max |Δp|)",
            "deterministic",
            0.0,
            diff,
            diff <= 1e-12,
            "the bundled model predicts exactly like the re-trained one",
        )
    )
    if ONNX in b.files:
        from core.export import onnx as onnx_export

        sess = onnx_export.session(b.files[ONNX])
        p = onnx_export.predict_proba(sess, test.X, b.numeric, b.categorical)
        d = float(np.max(np.abs(p - bundled))) if len(p) else 0.0
        checks.append(
            Check(
                "model.onnx vs model.skops (max |Δp|)",
                "deterministic",
                0.0,
                d,
                d <= onnx_export.TOLERANCE,
                f"tolerance {onnx_export.TOLERANCE:g}",
            )
        )
    checks += _latency_checks(b.config, ev, latency_tolerance)
    for name in LATENCY_DERIVED:
        checks.append(
            Check(name, "info", old_m.get(name), ev.metrics.get(name), None, "depends on timing; reported, not judged")
        )
    checks.append(
        Check(
            obj.TEST_ATTR + "value_per_1k",
            "info",
            old_t.get("value_per_1k"),
            ev.test.get("value_per_1k"),
            None,
            "depends on timing; reported, not judged",
        )
    )
    report = ReproduceReport(checks=checks, data_changed=changed, old_fingerprint=expected, new_fingerprint=got)
    now = library_versions()
    for lib, v in (b.config.get("versions") or {}).items():
        if lib != "platform" and now.get(lib) != v:
            report.notes.append(f"{lib}: exported with {v}, now {now.get(lib)}")
    if changed:
        report.notes.insert(0, f"data changed ({expected} → {got}): differences are expected")
    return report


def _latency_checks(config: dict[str, Any], ev: Any, floor: float) -> list[Check]:
    """Judge p50/p95 against the export-time measurement within the harness's stated spread."""
    old = config.get("export_latency") or {}
    new = ev.latency.to_dict()
    old_metrics = config.get("metrics", {})
    cv = max(float(old.get("cv") or 0.0), float(new.get("cv") or 0.0))
    band = max(floor, 3.0 * cv)
    key = {
        "latency_p50_ms": "p50_ms",
        "latency_p95_ms": "p95_ms",
        "latency_p99_ms": "p99_ms",
        "model_latency_p95_ms": "model_p95_ms",
        "throughput_rps": "throughput_rps",
        "latency_mean_ms": "mean_ms",
        "latency_cv": "cv",
    }
    out = []
    for name in LATENCY_JUDGED + LATENCY_INFO:
        o = old.get(key[name], old_metrics.get(name))
        n = new.get(key[name])
        if name in LATENCY_JUDGED and o not in (None, 0) and n is not None:
            rel = abs(float(n) - float(o)) / float(o)
            out.append(
                Check(
                    name,
                    "latency",
                    o,
                    n,
                    rel <= band,
                    f"{rel:+.0%} vs band ±{band:.0%} (max of {floor:.0%} and 3× block CV {cv:.3f})",
                )
            )
        else:
            out.append(Check(name, "info", o, n, None, "timing; reported, not judged"))
    return out


# -- predict ----------------------------------------------------------------------------------------


@dataclass
class PredictResult:
    frame: pd.DataFrame
    path: Path | None
    n_rows: int
    passthrough: list[str]


def coerce_features(df: pd.DataFrame, numeric: list[str], categorical: list[str]) -> pd.DataFrame:
    """The feature columns converted the way :func:`core.data.prepare` converted them for training.

    Numbers written as text (with thousands separators) become floats; categories become stripped
    strings with missing values kept missing. A value that is not a number in a numeric column is
    refused with its column and first row numbers (1 = first data row).
    """
    X = pd.DataFrame(index=df.index)
    for c in numeric:
        s = df[c]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            X[c] = s.astype(float)
            continue
        text = s.astype(object).where(s.notna(), None)
        conv = pd.to_numeric(
            text.map(lambda v: None if v is None else str(v).strip().replace(",", "")), errors="coerce"
        )
        bad = conv.isna() & text.notna() & (text.map(lambda v: str(v).strip() if v is not None else "") != "")
        if bad.any():
            rows = [str(i + 1) for i in np.flatnonzero(bad.to_numpy())[:5]]
            raise UserInputError(
                f"Column {c!r} must be numeric (the model was trained on numbers); {int(bad.sum())} row(s) "
                f"hold text, e.g. {str(text[bad].iloc[0])!r} in row(s) {', '.join(rows)}.",
                field="data",
            )
        X[c] = conv.astype(float)
    for c in categorical:
        s = df[c].astype(object)
        X[c] = s.where(s.notna(), np.nan).map(lambda v: v if (isinstance(v, float) and v != v) else str(v).strip())
    return X


def check_schema(df: pd.DataFrame, b: Bundle, *, ignore_extra: bool = False) -> None:
    """Refuse a table without the model's feature columns, or with columns the study never saw."""
    cols = [str(c) for c in df.columns]
    missing = [c for c in b.features if c not in cols]
    known = set(b.config["data"].get("columns") or b.features)
    extra = [c for c in cols if c not in known]
    problems = []
    if missing:
        problems.append(f"missing column(s) {', '.join(map(repr, missing))}")
    if extra and not ignore_extra:
        problems.append(f"extra column(s) {', '.join(map(repr, extra))} that the study's data did not have")
    if problems:
        raise UserInputError(
            "The table does not have the schema the model was trained on: "
            + "; ".join(problems)
            + f". Expected features: {', '.join(b.features)}"
            + (" (drop the extra columns or pass --ignore-extra)." if extra and not ignore_extra else "."),
            field="data",
        )


def predict(
    source: str | Path | bytes | Bundle,
    data: str | Path | bytes,
    out: str | Path | None = None,
    *,
    ignore_extra: bool = False,
    name: str | None = None,
) -> PredictResult:
    """Score a table with the bundled model; write a formula-injection-safe CSV when ``out`` is given.

    Output columns: the study's identifier columns present in the input (to join results back),
    ``row`` (1 = first data row), ``probability`` (of the positive class), ``prediction`` (1 at or
    above the bundle's threshold) and ``label`` (the class name).
    """
    from core.data import read_table

    b = source if isinstance(source, Bundle) else open_bundle(source)
    df, _notes = read_table(data if isinstance(data, bytes) else str(data), name=name)
    check_schema(df, b, ignore_extra=ignore_extra)
    X = coerce_features(df, b.numeric, b.categorical)[b.features]
    proba = b.model().predict_proba(X)[:, 1]
    pred = (proba >= b.threshold).astype(int)
    ids = [
        c
        for c, why in (b.config["data"].get("dropped") or {}).items()
        if str(why).startswith("identifier") and c in df.columns
    ]
    outf = df[ids].copy().reset_index(drop=True)
    outf["row"] = np.arange(1, len(df) + 1)
    outf["probability"] = proba
    outf["prediction"] = pred
    pos, neg = b.config["data"]["positive_label"], b.config["data"]["negative_label"]
    outf["label"] = np.where(pred == 1, pos, neg)
    path = None
    if out is not None:
        path = Path(out)
        if not path.parent.exists():
            raise UserInputError(f"The folder {str(path.parent)!r} does not exist.", field="output")
        path.write_text(safety.to_safe_csv(outf), encoding="utf-8")
    return PredictResult(frame=outf, path=path, n_rows=len(outf), passthrough=ids)


# -- import (warm start) ----------------------------------------------------------------------------


@dataclass
class ImportResult:
    study_name: str
    spec: Spec
    enqueued: dict[str, Any] | None
    source_kind: str  # "bundle", "bundle config" or "spec"


def read_import(source: str | Path | bytes, *, filename: str | None = None) -> tuple[Spec, dict | None, str]:
    """(spec, chosen configuration or None, kind) from a bundle (zip/folder), a bundle's config.json
    or a spec JSON."""
    raw: bytes | None = None
    if isinstance(source, (bytes, bytearray)):
        raw = bytes(source)
        is_zip = raw[:2] == b"PK"
    else:
        p = Path(source)
        if not p.exists():
            raise UserInputError(f"{str(p)!r} does not exist.", field="bundle")
        is_zip = p.is_dir() or p.read_bytes()[:2] == b"PK"
        if not is_zip:
            raw = p.read_bytes()
    if is_zip:
        b = open_bundle(source)
        return (
            b.spec,
            {
                "family": b.family,
                "params": b.params,
                "from_study": b.config["study"],
                "data_fingerprint": b.config["data"]["fingerprint"],
            },
            "bundle",
        )
    try:
        text = raw.decode("utf-8-sig")  # type: ignore[union-attr]
        doc = json.loads(text)
    except (UnicodeDecodeError, ValueError):
        raise UserInputError(f"{filename or 'The file'} is neither a bundle (.zip) nor JSON.", field="bundle") from None
    if isinstance(doc, dict) and doc.get("kind") == KIND:
        check_config(doc)
        return (
            Spec.from_dict(doc["spec"]),
            {
                "family": doc["family"],
                "params": dict(doc["params"]),
                "from_study": doc.get("study"),
                "data_fingerprint": doc["data"].get("fingerprint"),
            },
            "bundle config",
        )
    return Spec.from_dict(doc), None, "spec"


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
    from core import search

    spec, chosen, kind = read_import(source, filename=filename)
    if data is not None:
        spec = replace(spec, data=replace(spec.data, path=str(data), fingerprint=None))
    if chosen is not None and chosen["family"] not in spec.families:
        spec = replace(spec, families=tuple(spec.families) + (chosen["family"],))
    url = st.resolve(url)
    if not study_name or not str(study_name).strip():
        raise UserInputError("Name the new study.", field="study")
    existing = {s.study_name for s in search.list_studies(url)}
    if study_name in existing:
        raise UserInputError(
            f"A study named {study_name!r} already exists in {st.mask(url)}; choose "
            "another name for the imported study.",
            field="study",
        )
    study = search.create_study(spec, url, study_name, warm_start=chosen is None, n_trials=trials)
    enqueued = None
    if chosen is not None:
        enqueued = fam.flat_params(chosen["family"], chosen["params"])
        study.enqueue_trial(enqueued)
        if spec.sampler != "random":
            for f in spec.families:  # the same warm start a new study gets, after the chosen one
                study.enqueue_trial(fam.flat_params(f, search.typical_params(f)), skip_if_exists=True)
        study.set_user_attr(
            "imported_from",
            _jsonable(
                {"kind": kind, "study": chosen.get("from_study"), "data_fingerprint": chosen.get("data_fingerprint")}
            ),
        )
    return ImportResult(study_name=study_name, spec=search.load_spec(study), enqueued=enqueued, source_kind=kind)


def verdict_text(raw: str | bytes) -> str:
    """The ensembles-vs-simple verdict for the report: plain text, or the sentences of a comparison
    JSON downloaded from the Compare page (``{"comparisons": [{"sentence": ...}, ...]}``)."""
    text = raw.decode("utf-8-sig", errors="replace") if isinstance(raw, bytes) else str(raw)
    try:
        doc = json.loads(text)
    except ValueError:
        return text.strip()
    if isinstance(doc, dict) and isinstance(doc.get("comparisons"), list):
        sentences = [str(c.get("sentence")) for c in doc["comparisons"] if isinstance(c, dict) and c.get("sentence")]
        if sentences:
            return " ".join(sentences)
    raise UserInputError(
        "The verdict file is JSON but not a comparison from the Compare page (no comparisons with a sentence).",
        field="verdict",
    )


# -- CLI --------------------------------------------------------------------------------------------


def _default_out(study: str, trial: int) -> Path:
    folder = st.home() / "bundles"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{safety.safe_filename(study)}-trial{trial}.zip"


def cmd_export(args: argparse.Namespace) -> int:
    url = st.resolve(args.storage)
    out = Path(args.output) if args.output else _default_out(args.study, args.trial)
    verdict = None
    if args.verdict:
        p = Path(args.verdict)
        verdict = verdict_text(p.read_bytes() if p.is_file() else args.verdict)
    res = build(
        url,
        args.study,
        args.trial,
        data=args.data,
        with_onnx=not args.no_onnx,
        verdict=verdict,
        on_step=lambda m: print(f"… {m}", file=sys.stderr, flush=True),
    )
    path = write(res.files, out)
    onnx = res.config["onnx"]
    print(f"wrote {path}: {', '.join(sorted(res.files))}")
    print(
        f"trial #{args.trial} {res.config['family_label']} ({res.config['family_class']}), "
        f"threshold {res.config['threshold']:.4f}, data {res.config['data']['fingerprint']}"
    )
    if onnx.get("exported"):
        sk, ox = onnx["sklearn_latency"], onnx["onnx_latency"]
        print(
            f"ONNX: {onnx['reason']}; single-row p50 scikit-learn {sk['p50_ms']:.3f} ms, "
            f"onnxruntime {ox['p50_ms']:.4f} ms"
        )
    else:
        print(f"ONNX: not exported: {onnx.get('reason')}")
    return 0


def _fmt_value(name: str, v: Any) -> str:
    if v is None:
        return "–"
    base = name.split(".", 1)[1] if name.startswith(obj.TEST_ATTR) else name
    if base in obj.REGISTRY:
        return obj.get(base).fmt(float(v)) if base not in obj.QUALITY else f"{float(v):.6f}"
    return f"{float(v):.6g}" if isinstance(v, (int, float)) else str(v)


def cmd_reproduce(args: argparse.Namespace) -> int:
    rep = reproduce(
        args.bundle, args.data, allow_data_change=args.allow_data_change, latency_tolerance=args.latency_tolerance
    )
    width = max(len(c.name) for c in rep.checks)
    for c in rep.checks:
        mark = {True: "ok  ", False: "FAIL", None: "    "}[c.ok]
        print(
            f"{mark} {c.name.ljust(width)}  {_fmt_value(c.name, c.old):>16} → {_fmt_value(c.name, c.new):<16}"
            f"  {c.kind}{(': ' + c.note) if c.note else ''}"
        )
    for n in rep.notes:
        print(f"note: {n}")
    if rep.ok:
        print(f"reproduced: {sum(c.ok is True for c in rep.checks)} checks passed")
        return 0
    print(f"did NOT reproduce: {', '.join(c.name for c in rep.failed)}", file=sys.stderr)
    return 1


def cmd_predict(args: argparse.Namespace) -> int:
    res = predict(args.bundle, args.data, args.output, ignore_extra=args.ignore_extra)
    pos = int(res.frame["prediction"].sum())
    print(
        f"wrote {res.path}: {res.n_rows} rows scored, {pos} predicted positive"
        + (f"; kept {', '.join(res.passthrough)} to join back" if res.passthrough else "")
    )
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    res = import_study(args.source, args.storage, args.study, data=args.data, trials=args.trials)
    url = st.resolve(args.storage)
    print(f"created study {res.study_name!r} in {st.mask(url)} from a {res.source_kind}")
    if res.enqueued:
        print(f"enqueued the chosen configuration as the first trial: {json.dumps(res.enqueued)}")
    print(f"run it with: tradeoff worker --storage '{st.mask(url)}' --study '{res.study_name}'")
    return 0


def register_cli(sub: Any) -> None:
    """Add ``export``, ``reproduce``, ``predict`` and ``import`` to the ``tradeoff`` command."""

    def storage_opt(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--storage",
            help="SQLAlchemy URL (default: $TRADEOFF_STORAGE, "
            ".streamlit/secrets.toml, or SQLite under $TRADEOFF_HOME=./var)",
        )

    sp = sub.add_parser("export", help="bundle a trial: config, skops model, ONNX, decision.md, report.html")
    storage_opt(sp)
    sp.add_argument("--study", required=True)
    sp.add_argument("--trial", type=int, required=True)
    sp.add_argument(
        "-o",
        "--output",
        help="a folder, or a path ending in .zip (default: $TRADEOFF_HOME/bundles/<study>-trial<N>.zip)",
    )
    sp.add_argument("--data", help="the study's table, if it moved (the fingerprint must match)")
    sp.add_argument("--no-onnx", action="store_true", help="skip the ONNX export")
    sp.add_argument(
        "--verdict",
        help="ensembles-vs-simple verdict for the report: text, or the "
        "comparison JSON downloaded from the Compare page",
    )
    sp.set_defaults(func=cmd_export)

    sp = sub.add_parser("reproduce", help="re-train a bundle's configuration and compare every metric")
    sp.add_argument("bundle", help="bundle folder or .zip")
    sp.add_argument("--data", required=True, help="the table the study was made on")
    sp.add_argument(
        "--allow-data-change", action="store_true", help="re-evaluate even if the data's fingerprint differs"
    )
    sp.add_argument(
        "--latency-tolerance",
        type=float,
        default=LATENCY_FLOOR,
        help=f"smallest relative latency band (default {LATENCY_FLOOR}; the band is the "
        "larger of this and 3× the harness's block CV)",
    )
    sp.set_defaults(func=cmd_reproduce)

    sp = sub.add_parser("predict", help="score a table with a bundle's model")
    sp.add_argument("bundle")
    sp.add_argument("--data", required=True, help="CSV or Parquet with the model's feature columns")
    sp.add_argument("-o", "--output", default="predictions.csv")
    sp.add_argument("--ignore-extra", action="store_true", help="ignore columns the study never saw")
    sp.set_defaults(func=cmd_predict)

    sp = sub.add_parser("import", help="warm-start a new study from a bundle or a spec JSON")
    sp.add_argument("source", help="bundle (.zip or folder), a bundle's config.json, or a spec .json")
    storage_opt(sp)
    sp.add_argument("--study", required=True, help="name of the new study")
    sp.add_argument("--data", help="run the new study on this table (e.g. newer data)")
    sp.add_argument("--trials", type=int, help="trial budget of the new study")
    sp.set_defaults(func=cmd_import)
