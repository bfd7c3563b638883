"""The typed ``config.json`` of a bundle: what was chosen, on which data, and what it measured.

Why typed: reproduce, predict and import all read this file, often months later and after it went
through e-mail or a ticket. Reading it once, field by field, turns a hand-edited or truncated config
into one sentence (the field, what it must be, what it holds, how to fix it) instead of a KeyError
deep inside reproduce. It reads every config written since schema version 1 (the legacy fixture is
one); the optional fields of a config written before them read as empty.
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from numbers import Real
from typing import Any

import core
from core import _constraints as cons
from core import catalog
from core._json import jsonable
from core.errors import UserInputError
from core.models import families as fam
from core.spec import Spec

SCHEMA_VERSION = 1
KIND = "tradeoff-room-bundle"
FIX = "Export the bundle again from its study (Tradeoff Room writes config.json; it is never edited by hand)."
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


def library_versions() -> dict[str, str]:
    """Versions that can change a number: Python, this package and every library in the pipeline."""
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


# -- reading one field ------------------------------------------------------------------------------

_MISSING: Any = object()
Kind = tuple[str, Callable[[Any], bool]]

TEXT: Kind = ("text", lambda v: isinstance(v, str))
MAPPING: Kind = ("a JSON object", lambda v: isinstance(v, dict))
RECORDS: Kind = ("a list of JSON objects", lambda v: isinstance(v, list) and all(isinstance(r, dict) for r in v))
NAMES: Kind = ("a list of column names", lambda v: isinstance(v, list) and all(isinstance(c, str) for c in v))
WHOLE: Kind = ("a whole number ≥ 0", lambda v: cons.check(v, cons.Interval(int, 0, None)))
LABEL: Kind = ("a class label (text or a number)", lambda v: isinstance(v, (str, Real)) and not isinstance(v, bool))
NUMBER: Kind = ("a finite number", lambda v: cons.check(v, cons.Interval(Real, None, None, finite=True)))
INTEGER: Kind = ("a whole number", lambda v: cons.check(v, cons.Interval(int, None, None)))
OPTIONAL_TEXT: Kind = ("text or empty", lambda v: v is None or isinstance(v, str))
THRESHOLD = cons.Interval(Real, 0, 1, finite=True)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


def bad_field(where: str, expected: str, got: Any) -> UserInputError:
    """The one refusal of a config field: which field, what it must be, what it holds, the fix."""
    held = "nothing (the field is missing)" if got is _MISSING else _show(got)
    return UserInputError(f"config.json: {where!r} must be {expected}, got {held}. {FIX}", field="bundle")


def _read(doc: dict[str, Any], key: str, kind: Kind, *, where: str = "", default: Any = _MISSING) -> Any:
    """``doc[key]`` if it is of ``kind``; ``default`` when absent (a required field has none)."""
    value = doc.get(key, _MISSING)
    if value is _MISSING and default is not _MISSING:
        return default
    expected, ok = kind
    if value is _MISSING or not ok(value):
        raise bad_field(where + key, expected, value)
    return value


# -- the typed parts --------------------------------------------------------------------------------


@dataclass(frozen=True)
class StudyRef:
    """Where the configuration came from: the study, its storage (password masked) and the trial."""

    name: str
    storage: str
    trial: int

    @classmethod
    def from_json(cls, doc: Any) -> StudyRef:
        if not isinstance(doc, dict):
            raise bad_field("study", MAPPING[0], doc)
        return cls(
            name=_read(doc, "name", TEXT, where="study."),
            storage=_read(doc, "storage", TEXT, where="study.", default=""),
            trial=_read(doc, "trial", WHOLE, where="study."),
        )


@dataclass(frozen=True)
class DataSummary:
    """The table the model was trained on: its fingerprint, feature columns, labels and sizes."""

    fingerprint: str
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    positive_label: Any
    negative_label: Any
    path: str | None = None
    target: str = ""
    columns: tuple[str, ...] = ()
    dropped: dict[str, str] = field(default_factory=dict)
    n_rows: int = 0
    n_train: int = 0
    n_test: int = 0
    positive_rate: float | None = None
    notes: tuple[str, ...] = ()
    sensitive: tuple[str, ...] = ()
    #: the table's decimal mark ("." or ","): predict reads numbers written as text the same way
    decimal: str = "."

    @property
    def features(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    @property
    def identifiers(self) -> list[str]:
        """Columns dropped as identifiers: predict passes them through so results join back."""
        return [c for c, why in self.dropped.items() if str(why).startswith("identifier")]

    @classmethod
    def from_json(cls, doc: Any) -> DataSummary:
        if not isinstance(doc, dict):
            raise bad_field("data", MAPPING[0], doc)
        w = "data."
        dropped = _read(doc, "dropped", MAPPING, where=w, default={})
        return cls(
            fingerprint=_read(doc, "fingerprint", TEXT, where=w),
            numeric=tuple(_read(doc, "numeric", NAMES, where=w)),
            categorical=tuple(_read(doc, "categorical", NAMES, where=w)),
            positive_label=_read(doc, "positive_label", LABEL, where=w),
            negative_label=_read(doc, "negative_label", LABEL, where=w),
            path=_read(doc, "path", OPTIONAL_TEXT, where=w, default=None),
            target=_read(doc, "target", TEXT, where=w, default=""),
            columns=tuple(_read(doc, "columns", NAMES, where=w, default=[])),
            dropped={str(k): str(v) for k, v in dropped.items()},
            n_rows=_read(doc, "n_rows", WHOLE, where=w, default=0),
            n_train=_read(doc, "n_train", WHOLE, where=w, default=0),
            n_test=_read(doc, "n_test", WHOLE, where=w, default=0),
            positive_rate=doc.get("positive_rate"),
            notes=tuple(_read(doc, "notes", NAMES, where=w, default=[])),
            sensitive=tuple(_read(doc, "sensitive", NAMES, where=w, default=[])),
            decimal=_decimal(doc.get("decimal", ".")),
        )

    def to_json(self) -> dict[str, Any]:
        return jsonable(
            {
                "path": self.path,
                "fingerprint": self.fingerprint,
                "target": self.target,
                "positive_label": self.positive_label,
                "negative_label": self.negative_label,
                "numeric": self.numeric,
                "categorical": self.categorical,
                "columns": self.columns,
                "dropped": self.dropped,
                "n_rows": self.n_rows,
                "n_train": self.n_train,
                "n_test": self.n_test,
                "positive_rate": self.positive_rate,
                "notes": self.notes,
                "sensitive": self.sensitive,
                "decimal": self.decimal,
            }
        )


def _decimal(raw: Any) -> str:
    """Bundles made before the decimal mark was recorded read numbers with a point."""
    if raw not in (".", ","):
        raise bad_field("data.decimal", "'.' or ','", raw)
    return str(raw)


# -- the whole config -------------------------------------------------------------------------------

# the mappings and lists a config carries as recorded (metrics, versions…): (field, kind, required)
_RECORDED: tuple[tuple[str, Kind, bool], ...] = (
    ("optuna_params", MAPPING, False),
    ("seeds", MAPPING, False),
    ("metrics", MAPPING, True),
    ("test_metrics", MAPPING, False),
    ("cv_std", MAPPING, False),
    ("groups_test", RECORDS, False),
    ("export_latency", MAPPING, False),
    ("versions", MAPPING, False),
    ("onnx", MAPPING, False),
    ("onnx_support", MAPPING, False),
    ("decision", MAPPING, False),
)


@dataclass(frozen=True)
class BundleConfig:
    """``config.json``, typed. ``threshold`` is the decision rule: positive when P(positive) ≥ it."""

    study: StudyRef
    spec: Spec
    family: str
    params: dict[str, Any]
    threshold: float
    data: DataSummary
    metrics: dict[str, Any]
    created_at: str = ""
    family_label: str = ""
    family_class: str = ""
    optuna_params: dict[str, Any] = field(default_factory=dict)
    seeds: dict[str, Any] = field(default_factory=dict)
    test_metrics: dict[str, Any] = field(default_factory=dict)
    cv_std: dict[str, Any] = field(default_factory=dict)
    groups_test: list[dict[str, Any]] = field(default_factory=list)
    export_latency: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    onnx: dict[str, Any] = field(default_factory=dict)
    onnx_support: dict[str, Any] = field(default_factory=dict)
    decision: dict[str, Any] = field(default_factory=dict)
    #: the exported option ("12" or "12@3", core.decide.options) and its decision rule as data
    #: (core.export.rules); a config written before them reads as the trial's own threshold rule
    option: str = ""
    rule: dict[str, Any] = field(default_factory=dict)
    rule_description: str = ""
    #: the trial's own tuned threshold when the exported rule is another of its operating points
    #: (``threshold`` is then the rule's): ``reproduce`` re-checks both
    trial_threshold: float | None = None
    schema_version: int = SCHEMA_VERSION
    kind: str = KIND

    @property
    def features(self) -> list[str]:
        return self.data.features

    @classmethod
    def from_json(cls, doc: Any) -> BundleConfig:
        """Read a parsed config.json (or raise a UserInputError that names the field and the fix)."""
        _check_header(doc)
        family = _read(doc, "family", TEXT)
        if family not in catalog.FAMILIES:
            raise bad_field("family", f"one of {', '.join(catalog.FAMILY_NAMES)}", family)
        params = _read(doc, "params", MAPPING)
        threshold = _read(doc, "threshold", (cons.describe(THRESHOLD), lambda v: cons.check(v, THRESHOLD)))
        _check_params(family, params)
        recorded = {name: _read(doc, name, kind, default=_MISSING if req else None) for name, kind, req in _RECORDED}
        return cls(
            study=StudyRef.from_json(_read(doc, "study", MAPPING)),
            spec=_spec(doc),
            family=family,
            params=dict(params),
            threshold=float(threshold),
            data=DataSummary.from_json(_read(doc, "data", MAPPING)),
            created_at=_read(doc, "created_at", TEXT, default=""),
            family_label=_read(doc, "family_label", TEXT, default=catalog.FAMILIES[family].label),
            family_class=_read(doc, "family_class", TEXT, default=catalog.FAMILIES[family].klass),
            option=_read(doc, "option", TEXT, default=""),
            rule=_rule(doc, float(threshold)),
            rule_description=_read(doc, "rule_description", TEXT, default=""),
            trial_threshold=_optional_number(doc, "trial_threshold"),
            **{k: v for k, v in recorded.items() if v is not None},
        )

    @property
    def rule_kind(self) -> str:
        return str(self.rule.get("kind", "threshold"))

    def to_json(self) -> dict[str, Any]:
        """The JSON document, fields in the order a person reads them."""
        doc: dict[str, Any] = {
            "schema_version": self.schema_version,
            "kind": self.kind,
            "created_at": self.created_at,
            "study": {"name": self.study.name, "storage": self.study.storage, "trial": self.study.trial},
            "spec": self.spec.to_dict(),
            "family": self.family,
            "family_label": self.family_label,
            "family_class": self.family_class,
            "params": self.params,
            "optuna_params": self.optuna_params,
            "threshold": self.threshold,
            "seeds": self.seeds,
            "data": self.data.to_json(),
        }
        doc.update({name: getattr(self, name) for name, _kind, _req in _RECORDED if name not in doc})
        if self.rule:
            doc.update(option=self.option, rule=self.rule, rule_description=self.rule_description)
        if self.trial_threshold is not None:
            doc["trial_threshold"] = self.trial_threshold
        return jsonable(doc)


def _optional_number(doc: dict[str, Any], key: str) -> float | None:
    value = _read(doc, key, NUMBER, default=None)
    return None if value is None else float(value)


def _rule(doc: dict[str, Any], threshold: float) -> dict[str, Any]:
    """The recorded rule, checked; the trial's own threshold for a config written before rules."""
    rule = _read(doc, "rule", MAPPING, default={"kind": "threshold", "threshold": threshold})
    if rule.get("kind") == "threshold":
        return {"kind": "threshold", "threshold": float(_read(rule, "threshold", NUMBER, where="rule."))}
    if rule.get("kind") != "group_thresholds":
        raise bad_field("rule.kind", "'threshold' or 'group_thresholds'", rule.get("kind", _MISSING))
    groups = _read(rule, "thresholds", MAPPING, where="rule.")
    for g in groups:
        _read(groups, g, NUMBER, where="rule.thresholds.")
    _read(rule, "column", TEXT, where="rule.")
    _read(rule, "default", NUMBER, where="rule.")
    return dict(rule)


def _check_header(doc: Any) -> None:
    if not isinstance(doc, dict) or doc.get("kind") != KIND:
        raise UserInputError("config.json is not a Tradeoff Room bundle config.", field="bundle")
    if doc.get("schema_version") != SCHEMA_VERSION:
        raise UserInputError(
            f"This Tradeoff Room reads bundle schema version {SCHEMA_VERSION}; the bundle "
            f"has {doc.get('schema_version')!r}.",
            field="bundle",
        )


def _spec(doc: dict[str, Any]) -> Spec:
    raw = _read(doc, "spec", MAPPING)
    try:
        return Spec.from_dict(raw)
    except UserInputError as exc:
        raise UserInputError(f"config.json: 'spec' is not a valid study spec: {exc} {FIX}", field="bundle") from None


class _KindCheck:
    """Reads stored parameters back through the family's own search space, checking each one's kind.

    Kinds only, not ranges or choices: a space may be widened or narrowed after a bundle was made,
    and that bundle must still reproduce.
    """

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params

    def suggest_float(self, name: str, low: float, high: float, *, log: bool = False) -> float:
        return _read(self.params, name, NUMBER, where="params.")

    def suggest_int(self, name: str, low: int, high: int, *, log: bool = False) -> int:
        return _read(self.params, name, INTEGER, where="params.")

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        kinds = tuple({type(c) for c in choices})
        expected = f"{'text' if kinds == (str,) else 'a value'} such as {' or '.join(map(repr, list(choices)[:3]))}"
        return _read(self.params, name, (expected, lambda v: isinstance(v, kinds)), where="params.")


def _check_params(family: str, params: dict[str, Any]) -> None:
    """Each parameter the family's space asks for is there, of its kind, and builds the estimator."""
    fam.get(family).space(_KindCheck(params))
    try:
        fam.get(family).build(dict(params), 0)
    except (KeyError, TypeError, ValueError) as exc:
        raise UserInputError(
            f"config.json: the parameters do not fit family {family!r} ({type(exc).__name__}: {exc}). {FIX}",
            field="bundle",
        ) from None


__all__ = [
    "FIX",
    "KIND",
    "SCHEMA_VERSION",
    "BundleConfig",
    "DataSummary",
    "StudyRef",
    "bad_field",
    "library_versions",
]
