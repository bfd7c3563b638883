"""The Spec: the one value that says what the team wants.

The app builds one from widgets, the CLI reads one from JSON; both hand it to the same core functions.
It is frozen and validated on construction, so a Spec that exists is a Spec that can run. Every
rejection names the field and the allowed values, because the person reading it is in a meeting.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from numbers import Real
from pathlib import Path
from typing import Any, NoReturn

from core import catalog
from core import objectives as obj
from core._constraints import Interval, Options, Rule, validate
from core.catalog import DEFAULT_SAMPLER, SAMPLERS
from core.errors import UserInputError
from core.objectives import UTILITY_UNITS, parse_limit

SCHEMA_VERSION = 1


def _fail(field_name: str, message: str) -> NoReturn:
    raise UserInputError(f"{field_name}: {message}", field=field_name)


@dataclass(frozen=True)
class Objective:
    """One thing someone in the room cares about, who that is, and where their red line lies."""

    name: str
    owner: str = ""
    limit: float | None = None
    aspiration: float | None = None
    direction: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or self.name not in obj.REGISTRY:
            _fail("objectives", f"unknown objective {self.name!r}. Allowed: {', '.join(obj.REGISTRY)}.")
        metric = obj.get(self.name)
        if not self.direction:
            object.__setattr__(self, "direction", metric.direction)
        elif self.direction != metric.direction:
            _fail(
                f"objectives.{self.name}.direction",
                f"{self.name} can only be '{metric.direction}'d (got {self.direction!r}).",
            )
        if not self.owner:
            object.__setattr__(self, "owner", metric.default_owner)
        for key in ("limit", "aspiration"):
            raw = getattr(self, key)
            object.__setattr__(self, key, parse_limit(self.name, raw, f"objectives.{self.name}.{key}"))
        if self.limit is not None and self.aspiration is not None and self.violation(self.aspiration) > 0:
            _fail(
                f"objectives.{self.name}.aspiration",
                f"the aspiration {metric.fmt(self.aspiration)} is worse than the hard limit "
                f"{metric.fmt(self.limit)}; an aspiration is the value hoped for, inside the limit "
                f"({'≤' if self.direction == 'minimize' else '≥'} {metric.fmt(self.limit)}).",
            )

    @property
    def metric(self) -> obj.MetricDef:
        return obj.get(self.name)

    def violation(self, value: float) -> float:
        """Optuna-style constraint value: ≤ 0 when the hard limit holds."""
        if self.limit is None:
            return -1.0
        return (value - self.limit) if self.direction == "minimize" else (self.limit - value)


@dataclass(frozen=True)
class DataRef:
    """Which table, and what each special column means.

    ``path`` is "demo" for the built-in data set. ``fingerprint`` is filled when the data is first
    loaded and checked by every later run, so a study never silently mixes two data versions.
    """

    path: str
    target: str
    positive_label: str | None = None
    sensitive: tuple[str, ...] = ()
    value_column: str | None = None
    exclude: tuple[str, ...] = ()
    fingerprint: str | None = None
    sensitive_as_feature: bool = False
    min_group_rows: int = 30
    keep_suspected_leaks: bool = False
    # real tables often have a few tiny groups (e.g. 11 rows of one race): pool them into one
    # "other" group instead of refusing the table
    merge_small_groups: bool = False
    # panel data: the rows of one person, customer or item must not be split between the training
    # and test parts (or across CV folds), or the model is scored on people it has already seen.
    # ``entity_column`` names the column that says whose row it is; when it is None and
    # ``detect_entity`` is on, a column named like an ID that repeats over rows is used. A spec
    # saved without ``detect_entity`` (older than this) reads as False: it reproduces as it ran.
    entity_column: str | None = None
    detect_entity: bool = True
    # a model is used on tomorrow's rows: with ``time_column`` the test part is the most recent rows
    # (and the training part everything before), instead of a random sample of all of them
    time_column: str | None = None

    def __post_init__(self) -> None:
        # a single name is a one-element tuple, not a tuple of its characters
        for key in ("sensitive", "exclude"):
            raw = getattr(self, key)
            if raw is None:
                raw = ()
            elif isinstance(raw, str):
                raw = (raw,) if raw.strip() else ()
            if not all(isinstance(c, str) and c.strip() for c in raw):
                _fail(f"data.{key}", f"expected column names, got {raw!r}.")
            object.__setattr__(self, key, tuple(raw))
        if not str(self.path).strip():
            _fail("data.path", "give a CSV/Parquet file path or 'demo'.")
        if not str(self.target).strip():
            _fail("data.target", "name the column to predict.")
        if self.target in self.sensitive:
            _fail("data.sensitive", f"the target {self.target!r} cannot also be a sensitive attribute.")
        if self.value_column is not None and self.value_column == self.target:
            _fail("data.value_column", "the value column cannot be the target.")
        validate(self, {"min_group_rows": Interval(int, 1, None)}, prefix="data.")
        roles: dict[str | None, str] = {
            self.target: "the target",
            self.value_column: "the value column",
            **{c: "a sensitive attribute" for c in self.sensitive},
            **{c: "an excluded column" for c in self.exclude},
        }
        for key, what in (
            ("entity_column", "says whose row it is (a person or customer ID)"),
            ("time_column", "says when a row happened (a date, or a year)"),
        ):
            col = getattr(self, key)
            if col is None:
                continue
            if not isinstance(col, str) or not col.strip():
                _fail(f"data.{key}", f"expected a column name or nothing, got {col!r}.")
            if col in roles:
                _fail(f"data.{key}", f"{col!r} is {roles[col]}; the {key.split('_')[0]} column {what}.")
            roles[col] = f"the {key.split('_')[0]} column"


@dataclass(frozen=True)
class ValueModel:
    """Constants that turn predictions into value; every one is a default the team can change.

    The ad marketplace reading: predicting "converts" means showing the ad. A shown ad that converts
    earns its fee (``value_tp``, or the per-row value column); one that does not costs the slot
    (``value_fp``). ``conversion_loss_per_100ms`` and ``vcpu_hour_price`` price latency and compute;
    see :mod:`core.metrics.value` for their sources.

    Value is money only when the team says so (``money``: a value column, or a matrix it set): the
    default matrix, a correct "yes" +1 and a wrong one −1, is a symmetric utility, so its figures
    read "utility units", never €. ``latency_penalty`` (the Google/Booking conversion loss) is
    applied only when switched on, because a latency cost is a claim about the team's business.
    """

    value_tp: float = 1.0
    value_fp: float = -1.0
    value_fn: float = 0.0
    value_tn: float = 0.0
    conversion_loss_per_100ms: float = 0.002
    vcpu_hour_price: float = 0.05
    money: bool = False
    latency_penalty: bool = False

    def __post_init__(self) -> None:
        validate(self, {n: _FINITE for n in _VALUE_NUMBERS}, prefix="value_model.")
        for name in _VALUE_NUMBERS:
            object.__setattr__(self, name, float(getattr(self, name)))
        validate(self, _VALUE_MODEL_RULES, prefix="value_model.")

    @property
    def unit(self) -> str:
        """What one unit of value is: "€" when the team priced its decisions, else "utility units"."""
        return "€" if self.money else UTILITY_UNITS

    def fmt(self, value: float) -> str:
        """A value in its unit: "€1,234.50" or "1,234.50 utility units"."""
        return f"€{value:,.2f}" if self.money else f"{value:,.2f} {UTILITY_UNITS}"

    @classmethod
    def legacy(cls, raw: dict[str, Any], value_column: str | None) -> dict[str, Any]:
        """A value model stored before ``money``/``latency_penalty`` existed, as it was computed then.

        Those studies and bundles always applied the latency penalty, so it stays on and their
        numbers reproduce; they are money when the team gave a value column or changed the matrix.
        """
        out = dict(raw)
        if "latency_penalty" not in out:
            out["latency_penalty"] = True
        if "money" not in out:
            matrix = tuple(float(out.get(k, getattr(cls, k))) for k in ("value_tp", "value_fp", "value_fn", "value_tn"))
            out["money"] = value_column is not None or matrix != (1.0, -1.0, 0.0, 0.0)
        return out


_VALUE_NUMBERS = (
    "value_tp",
    "value_fp",
    "value_fn",
    "value_tn",
    "conversion_loss_per_100ms",
    "vcpu_hour_price",
)
_FINITE: Rule = Interval(Real, None, None, finite=True)
_VALUE_MODEL_RULES: dict[str, Rule] = {
    "conversion_loss_per_100ms": Interval(
        Real,
        0,
        1,
        closed="left",
        message="is a fraction of conversions lost per +100 ms, in [0, 1); got {value:g} (0.002 means 0.2 %).",
    ),
    "vcpu_hour_price": Interval(Real, 0, None, message="a price cannot be negative."),
    "money": Options((True, False)),
    "latency_penalty": Options((True, False)),
}


@dataclass(frozen=True)
class Budget:
    """How much search the team pays for: trials, minutes, or both (whichever ends first)."""

    n_trials: int | None = 60
    timeout_s: float | None = None

    def __post_init__(self) -> None:
        if self.n_trials is None and self.timeout_s is None:
            _fail("budget", "give n_trials, timeout_s or both.")
        rules: dict[str, Rule] = {
            "n_trials": Interval(int, 0, None, closed="neither"),
            "timeout_s": Interval(Real, 0, None, closed="neither", unit="seconds"),
        }
        # either may be left out (the other one ends the search), so only the given ones are checked
        validate(self, {k: r for k, r in rules.items() if getattr(self, k) is not None}, prefix="budget.")


@dataclass(frozen=True)
class Validation:
    """How quality is estimated: stratified k-fold CV on the training part, a held-out test part.

    ``max_train_rows`` subsamples the training part for the search (stratified, seeded) when a
    table is too large to cross-validate every trial in a meeting's time.
    """

    test_size: float = 0.25
    cv_folds: int = 3
    max_train_rows: int | None = None
    latency_repeats: int = 200

    def __post_init__(self) -> None:
        validate(self, _VALIDATION_RULES, prefix="validation.")


_VALIDATION_RULES: dict[str, Rule] = {
    "test_size": Interval(Real, 0.05, 0.5),
    "cv_folds": Interval(int, 2, 10),
    "max_train_rows": [Interval(int, 100, None), None],
    "latency_repeats": Interval(int, 20, None),
}


_SPEC_RULES: dict[str, Rule] = {
    "sampler": Options(SAMPLERS, what="sampler"),
    # NumPy and scikit-learn take seeds below 2**32
    "seed": Interval(int, 0, 2**32 - 1),
    "allow_group_thresholds": Options((False, True)),
}


@dataclass(frozen=True)
class Spec:
    """What the team wants, end to end. See the module docstring."""

    data: DataRef
    objectives: tuple[Objective, ...] = ()
    families: tuple[str, ...] = ()
    budget: Budget = field(default_factory=Budget)
    sampler: str = DEFAULT_SAMPLER
    seed: int = 0
    validation: Validation = field(default_factory=Validation)
    value_model: ValueModel = field(default_factory=ValueModel)
    # decision rules may use the sensitive attribute (group-aware thresholds); unlawful in some
    # settings, so off unless the team says so
    allow_group_thresholds: bool = False
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        object.__setattr__(self, "objectives", tuple(self.objectives))
        if not self.objectives:  # defaults; fairness ones only when there are groups to compare
            object.__setattr__(
                self,
                "objectives",
                tuple(
                    Objective(n)
                    for n in obj.DEFAULT_OBJECTIVES
                    if self.data.sensitive or obj.get(n).group != "fairness"
                ),
            )
        if isinstance(self.families, str):
            object.__setattr__(self, "families", (self.families,))
        if not self.families:
            object.__setattr__(self, "families", catalog.DEFAULT_FAMILIES)
        object.__setattr__(self, "families", tuple(self.families))
        names = [o.name for o in self.objectives]
        if not 1 <= len(names) <= 5:
            _fail(
                "objectives",
                f"choose 1 to 5 objectives to optimise, got {len(names)}. Allowed: {', '.join(obj.REGISTRY)}.",
            )
        if len(set(names)) != len(names):
            _fail("objectives", f"each objective may appear once; got {names}.")
        group_metrics = [n for n in names if obj.get(n).group == "fairness"]
        if group_metrics and not self.data.sensitive:
            _fail(
                "objectives",
                f"{', '.join(group_metrics)} measure{'s' if len(group_metrics) == 1 else ''} "
                "gaps between sensitive groups, but no sensitive column is named: set "
                "data.sensitive or choose other objectives.",
            )
        unknown = [f for f in self.families if f not in catalog.FAMILIES]
        if unknown:
            _fail(
                "families",
                f"unknown famil{'y' if len(unknown) == 1 else 'ies'} "
                f"{', '.join(map(repr, unknown))}. Allowed: {', '.join(catalog.FAMILIES)}.",
            )
        if len(set(self.families)) != len(self.families):
            _fail("families", "each family may appear once.")
        validate(self, _SPEC_RULES)
        if self.schema_version != SCHEMA_VERSION:
            _fail(
                "schema_version",
                f"this Tradeoff Room reads spec version {SCHEMA_VERSION}, the file has {self.schema_version!r}.",
            )

    # -- derived -------------------------------------------------------------------------------
    @property
    def objective_names(self) -> list[str]:
        return [o.name for o in self.objectives]

    @property
    def directions(self) -> list[str]:
        return [o.direction for o in self.objectives]

    @property
    def has_limits(self) -> bool:
        return any(o.limit is not None for o in self.objectives)

    def with_fingerprint(self, fingerprint: str) -> Spec:
        return replace(self, data=replace(self.data, fingerprint=fingerprint))

    # -- JSON ----------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if not self.allow_group_thresholds:  # the default is left out: study names and bundles read as before
            d.pop("allow_group_thresholds")
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False)

    @classmethod
    def from_dict(cls, raw: Any) -> Spec:
        if not isinstance(raw, dict):
            _fail("spec", "expected a JSON object at the top level.")
        raw = dict(raw)
        _reject_unknown(raw, cls, "spec")
        if "data" not in raw:
            _fail("data", "missing; a spec needs at least data.path and data.target.")
        kwargs: dict[str, Any] = dict(raw)
        data = raw["data"]
        if isinstance(data, dict) and "detect_entity" not in data:
            # written before entity detection existed: its studies and bundles used row splits,
            # and must reproduce with them
            data = {**data, "detect_entity": False}
        kwargs["data"] = _build(DataRef, data, "data")
        if "objectives" in raw:
            if not isinstance(raw["objectives"], (list, tuple)):
                _fail("objectives", "expected a list of {name, owner, limit, aspiration}.")
            kwargs["objectives"] = tuple(
                _build(Objective, o if isinstance(o, dict) else {"name": o}, "objectives") for o in raw["objectives"]
            )
        if isinstance(raw.get("value_model"), dict):
            raw["value_model"] = ValueModel.legacy(raw["value_model"], kwargs["data"].value_column)
        for key, klass in (("budget", Budget), ("validation", Validation), ("value_model", ValueModel)):
            if key in raw:
                kwargs[key] = _build(klass, raw[key], key)
        if "families" in raw:
            if not isinstance(raw["families"], (list, tuple)):
                _fail("families", "expected a list of family names.")
            kwargs["families"] = tuple(raw["families"])
        return cls(**kwargs)

    @classmethod
    def from_json(cls, text: str) -> Spec:
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UserInputError(
                f"The spec is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.", field="spec"
            ) from None
        return cls.from_dict(raw)

    @classmethod
    def load(cls, path: str | Path) -> Spec:
        p = Path(path)
        if not p.is_file():
            raise UserInputError(f"Spec file {str(p)!r} does not exist.", field="spec")
        return cls.from_json(p.read_text(encoding="utf-8"))

    def save(self, path: str | Path) -> None:
        """Write atomically so a crash never leaves half a spec on disk."""
        p = Path(path)
        tmp = p.with_name(p.name + ".tmp")
        tmp.write_text(self.to_json(), encoding="utf-8")
        tmp.replace(p)


def _reject_unknown(raw: dict, klass: type, where: str) -> None:
    allowed = [f.name for f in fields(klass)]
    unknown = [k for k in raw if k not in allowed]
    if unknown:
        _fail(
            where,
            f"unknown field{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}. "
            f"Allowed: {', '.join(allowed)}.",
        )


def _build(klass: type, raw: Any, where: str) -> Any:
    if not isinstance(raw, dict):
        _fail(where, f"expected an object with fields {', '.join(f.name for f in fields(klass))}.")
    _reject_unknown(raw, klass, where)
    required = [
        f.name for f in fields(klass) if f.default is MISSING and f.default_factory is MISSING and f.name not in raw
    ]
    if required:
        _fail(where, f"missing {', '.join(map(repr, required))}; fields: {', '.join(f.name for f in fields(klass))}.")
    return klass(**raw)


__all__ = [
    "DEFAULT_SAMPLER",
    "SAMPLERS",
    "SCHEMA_VERSION",
    "UTILITY_UNITS",
    "Budget",
    "DataRef",
    "Objective",
    "Spec",
    "Validation",
    "ValueModel",
    "parse_limit",
]
