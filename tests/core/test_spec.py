"""The Spec: JSON round trip, and every rejection names the field and the allowed values."""

from __future__ import annotations

import json

import pytest

from core import objectives as obj
from core.errors import UserInputError
from core.spec import Budget, DataRef, Objective, Spec, Validation, ValueModel, parse_limit

DATA = DataRef(path="demo", target="converted", sensitive=("age_band",), value_column="fee_eur")


def full_spec() -> Spec:
    return Spec(
        data=DataRef(
            path="demo",
            target="converted",
            positive_label="1",
            sensitive=("age_band",),
            value_column="fee_eur",
            exclude=("region",),
            fingerprint="sha256:abc",
            min_group_rows=50,
        ),
        objectives=(
            Objective("roc_auc", owner="ML", limit="70 %", aspiration=0.8),
            Objective("latency_p95_ms", limit="0.02 s", aspiration="5 ms"),
            Objective("dp_diff", owner="Legal", limit=0.1),
        ),
        families=("logreg", "xgboost", "stacking"),
        budget=Budget(n_trials=10, timeout_s=90.0),
        sampler="tpe",
        seed=7,
        validation=Validation(test_size=0.2, cv_folds=4, max_train_rows=500, latency_repeats=50),
        value_model=ValueModel(value_tp=2.5, value_fp=-0.5, conversion_loss_per_100ms=0.004),
    )


def test_json_round_trip_is_identical(tmp_path):
    spec = full_spec()
    again = Spec.from_json(spec.to_json())
    assert again == spec
    assert again.objectives[1].limit == 20.0 and again.objectives[0].limit == pytest.approx(0.7)
    path = tmp_path / "spec.json"
    spec.save(path)
    assert Spec.load(path) == spec
    assert json.loads(path.read_text())["data"]["sensitive"] == ["age_band"]
    assert Spec.from_dict(spec.to_dict()) == spec  # a dict round trip too (tuples, not lists)
    assert not (tmp_path / "spec.json.tmp").exists()


def test_defaults_and_derived_fields():
    spec = Spec(data=DATA)
    assert spec.objective_names == list(obj.DEFAULT_OBJECTIVES)
    assert spec.directions == ["maximize", "minimize", "minimize"]
    assert spec.objectives[0].owner == obj.get("roc_auc").default_owner
    no_groups = Spec(data=DataRef(path="demo", target="converted"))
    assert "dp_diff" not in no_groups.objective_names  # nothing to compare without groups
    assert Spec.from_dict(
        {"data": {"path": "demo", "target": "converted"}, "objectives": ["roc_auc"]}
    ).objective_names == ["roc_auc"]


def test_single_sensitive_name_is_not_split_into_characters():
    ref = DataRef(path="demo", target="converted", sensitive="age_band", exclude="region")
    assert ref.sensitive == ("age_band",) and ref.exclude == ("region",)


@pytest.mark.parametrize(
    ("raw", "metric", "expected"),
    [
        ("20 ms", "latency_p95_ms", 20.0),
        ("0.02 s", "latency_p95_ms", 20.0),
        ("20ms", "latency_p95_ms", 20.0),
        (20, "latency_p95_ms", 20.0),
        ("1e3 ms", "latency_p95_ms", 1000.0),
        ("80 %", "roc_auc", 0.8),
        ("80%", "roc_auc", 0.8),
        (".8", "roc_auc", 0.8),
        ("0.8", "roc_auc", 0.8),
        ("5 MB", "model_size_bytes", 5 * 1024**2),
        ("5 KB", "model_size_bytes", 5 * 1024),
        ("2 min", "fit_time_s", 120.0),
        ("250 ms", "fit_time_s", 0.25),
        ("20 €", "value_per_1k", 20.0),
        ("-5", "value_per_1k", -5.0),
        ("1000 rows/s", "throughput_rps", 1000.0),
        ("10 %", "dp_diff", 0.1),
        (None, "roc_auc", None),
        ("", "roc_auc", None),
    ],
)
def test_limit_units_are_parsed(raw, metric, expected):
    got = parse_limit(metric, raw, "f")
    assert got == (pytest.approx(expected) if expected is not None else None)


@pytest.mark.parametrize(
    ("name", "limit", "message"),
    [
        (
            "roc_auc",
            "20 s",
            r"objectives\.roc_auc\.limit: roc_auc is measured in score; the unit 's' does "
            r"not fit\. Write e\.g\. '0\.8 \(or 80 %\)'",
        ),
        (
            "roc_auc",
            80,
            r"objectives\.roc_auc\.limit: 80 is outside the possible range of roc_auc \[0, 1\] "
            r"score\. Check the sign and the unit",
        ),
        (
            "latency_p95_ms",
            -5,
            r"objectives\.latency_p95_ms\.limit: -5 is outside the possible range of "
            r"latency_p95_ms \[0, inf\] ms",
        ),
        ("latency_p95_ms", "-5 ms", r"-5 is outside the possible range"),
        (
            "latency_p95_ms",
            "20 MB",
            r"latency_p95_ms is measured in ms; the unit 'MB' does not fit\. "
            r"Write e\.g\. '20 ms'",
        ),
        ("model_size_bytes", "3 ms", r"measured in bytes; the unit 'ms' does not fit"),
        ("log_loss", "50 %", r"log_loss is measured in nats; the unit '%' does not fit"),
        ("dp_diff", 10, r"10 is outside the possible range of dp_diff \[0, 1\]"),
        ("latency_p95_ms", float("inf"), r"must be a finite number, got inf"),
        ("latency_p95_ms", float("nan"), r"must be a finite number, got nan"),
        ("latency_p95_ms", "fast", r"could not read 'fast' as a number \(unit: ms\)"),
        ("latency_p95_ms", True, r"expected a number in ms, got True"),
    ],
)
def test_wrong_limits_are_rejected_with_the_field(name, limit, message):
    with pytest.raises(UserInputError, match=message) as err:
        Objective(name, limit=limit)
    assert err.value.field == f"objectives.{name}.limit"


def test_aspiration_outside_the_limit_is_rejected():
    with pytest.raises(
        UserInputError,
        match=r"objectives\.latency_p95_ms\.aspiration: the aspiration "
        r"30\.00 ms is worse than the hard limit 20\.00 ms",
    ):
        Objective("latency_p95_ms", limit="20 ms", aspiration="30 ms")
    with pytest.raises(UserInputError, match=r"aspiration 0\.7000 is worse than the hard limit 0\.8000"):
        Objective("roc_auc", limit=0.8, aspiration=0.7)


def test_unknown_objective_names_the_field_and_lists_allowed():
    with pytest.raises(UserInputError) as err:
        Spec.from_dict({"data": {"path": "demo", "target": "converted"}, "objectives": [{"name": "speed"}]})
    assert str(err.value).startswith("objectives: unknown objective 'speed'. Allowed: roc_auc, pr_auc,")
    assert "latency_p95_ms" in str(err.value) and err.value.field == "objectives"


def test_wrong_direction_is_rejected():
    with pytest.raises(
        UserInputError,
        match=r"objectives\.roc_auc\.direction: roc_auc can only be "
        r"'maximize'd \(got 'minimize'\)",
    ):
        Objective("roc_auc", direction="minimize")


def test_unknown_family_and_sampler_list_the_allowed_values():
    with pytest.raises(
        UserInputError,
        match=r"^families: unknown family 'svm'\. Allowed: logreg, "
        r"decision_tree, .*stacking\.$",
    ):
        Spec(data=DATA, families=("logreg", "svm"))
    with pytest.raises(
        UserInputError,
        match=r"^sampler: unknown sampler 'cmaes'\. Allowed: nsga2, tpe, "
        r"random, gp\.$",
    ):
        Spec(data=DATA, sampler="cmaes")
    with pytest.raises(UserInputError, match=r"families: each family may appear once"):
        Spec(data=DATA, families=("logreg", "logreg"))


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"n_trials": 0}, "budget.n_trials", "must be a whole number > 0, got 0."),
        ({"n_trials": -3}, "budget.n_trials", "must be a whole number > 0, got -3."),
        ({"n_trials": 2.5}, "budget.n_trials", "must be a whole number > 0, got 2.5."),
        ({"n_trials": "10"}, "budget.n_trials", "must be a whole number > 0, got '10'."),
        ({"n_trials": None, "timeout_s": 0}, "budget.timeout_s", "must be a number of seconds > 0, got 0."),
        ({"n_trials": 5, "timeout_s": -1.0}, "budget.timeout_s", "must be a number of seconds > 0, got -1.0."),
        ({"n_trials": None, "timeout_s": None}, "budget", "give n_trials, timeout_s or both."),
    ],
)
def test_budgets_at_or_below_zero_are_rejected(kwargs, field, message):
    with pytest.raises(UserInputError) as err:
        Budget(**kwargs)
    assert str(err.value) == f"{field}: {message}" and err.value.field == field


def test_fairness_objective_needs_a_sensitive_column():
    with pytest.raises(
        UserInputError,
        match=r"^objectives: dp_diff measures gaps between sensitive "
        r"groups, but no sensitive column is named",
    ):
        Spec(data=DataRef(path="demo", target="converted"), objectives=(Objective("dp_diff"),))


def test_objective_count_and_duplicates():
    with pytest.raises(UserInputError, match=r"objectives: choose 1 to 5 objectives to optimise, got 6"):
        Spec(data=DATA, objectives=tuple(Objective(n) for n in list(obj.REGISTRY)[:6]))
    with pytest.raises(UserInputError, match=r"objectives: each objective may appear once"):
        Spec(data=DATA, objectives=(Objective("roc_auc"), Objective("roc_auc")))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("[1, 2]", r"^spec: expected a JSON object at the top level\.$"),
        ("{", r"^The spec is not valid JSON: .* at line 1, column 2\.$"),
        ('{"objectives": []}', r"^data: missing; a spec needs at least data\.path and data\.target\.$"),
        (
            '{"data": {"path": "demo", "target": "converted"}, "colour": 1}',
            r"^spec: unknown field 'colour'\. Allowed: data, objectives, families, budget",
        ),
        (
            '{"data": {"path": "demo", "target": "converted", "foo": 1}}',
            r"^data: unknown field 'foo'\. Allowed: path, target,",
        ),
        ('{"data": {"path": "demo"}}', r"^data: missing 'target'; fields: path, target,"),
        (
            '{"data": {"path": "demo", "target": "converted"}, "objectives": [{"owner": "x"}]}',
            r"^objectives: missing 'name'; fields: name, owner, limit, aspiration, direction\.$",
        ),
        (
            '{"data": {"path": "demo", "target": "converted"}, "budget": 5}',
            r"^budget: expected an object with fields n_trials, timeout_s\.$",
        ),
        (
            '{"data": {"path": "demo", "target": "converted"}, "families": "logreg"}',
            r"^families: expected a list of family names\.$",
        ),
        (
            '{"data": {"path": "demo", "target": "converted"}, "seed": -1}',
            r"^seed: must be a whole number from 0 to 4294967295, got -1\.$",
        ),
        (
            '{"data": {"path": "demo", "target": "converted"}, "seed": 4294967296}',
            r"^seed: must be a whole number from 0 to 4294967295, got 4294967296\.$",
        ),
        (
            '{"data": {"path": "demo", "target": "converted"}, "validation": {"max_train_rows": 50}}',
            r"^validation\.max_train_rows: must be a whole number ≥ 100 or empty, got 50\.$",
        ),
        (
            '{"data": {"path": "demo", "target": "converted"}, "validation": {"cv_folds": 1}}',
            r"^validation\.cv_folds: must be a whole number from 2 to 10, got 1\.$",
        ),
        (
            '{"data": {"path": "demo", "target": "converted"}, "value_model": {"vcpu_hour_price": -1}}',
            r"^value_model\.vcpu_hour_price: a price cannot be negative\.$",
        ),
        (
            '{"data": {"path": "demo", "target": "converted"}, "schema_version": 9}',
            r"^schema_version: this Tradeoff Room reads spec version 1, the file has 9\.$",
        ),
    ],
)
def test_bad_json_specs_say_what_is_wrong(raw, message):
    with pytest.raises(UserInputError, match=message):
        Spec.from_json(raw)


def test_missing_spec_file(tmp_path):
    with pytest.raises(UserInputError, match=r"Spec file '.*nope\.json' does not exist\."):
        Spec.load(tmp_path / "nope.json")


def test_violation_sign_follows_direction():
    lat = Objective("latency_p95_ms", limit=20)
    auc = Objective("roc_auc", limit=0.8)
    assert lat.violation(25) == 5 and lat.violation(15) == -5
    assert auc.violation(0.7) == pytest.approx(0.1) and auc.violation(0.9) == pytest.approx(-0.1)
    assert Objective("dp_diff").violation(0.5) < 0  # no limit: always satisfied


def test_with_fingerprint_keeps_everything_else():
    spec = full_spec()
    other = spec.with_fingerprint("sha256:new")
    assert other.data.fingerprint == "sha256:new"
    assert other.objectives == spec.objectives and other.data.target == spec.data.target


def test_value_is_unpriced_and_without_latency_penalty_unless_the_team_says_so():
    plain = Spec(data=DataRef(path="demo", target="converted")).value_model
    assert not plain.money and not plain.latency_penalty and plain.unit == "utility units"
    hand_written = Spec.from_dict({"data": {"path": "demo", "target": "converted"}})
    assert hand_written.value_model == ValueModel()
    chosen = ValueModel(value_tp=3.0, money=True, latency_penalty=True)
    again = Spec.from_dict(Spec(data=DATA, value_model=chosen).to_dict())
    assert again.value_model == chosen  # the team's switches survive a round trip
    with pytest.raises(UserInputError, match=r"^value_model\.latency_penalty: must be one of True, False"):
        ValueModel(latency_penalty="yes")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("data", "matrix", "money"),
    [
        ({"path": "demo", "target": "converted"}, {}, False),  # the ±1 default: a utility
        ({"path": "demo", "target": "converted"}, {"value_tp": 4.0}, True),  # a matrix the team set
        ({"path": "demo", "target": "converted", "value_column": "fee_eur"}, {"value_tp": 0.0}, True),
    ],
)
def test_a_value_model_stored_before_the_switches_keeps_its_penalty(data, matrix, money):
    """Stored studies and bundles applied the latency penalty: it stays on so they reproduce."""
    old = {
        "value_tp": 1.0,
        "value_fp": -1.0,
        "value_fn": 0.0,
        "value_tn": 0.0,
        "conversion_loss_per_100ms": 0.002,
        "vcpu_hour_price": 0.05,
        **matrix,
    }
    vm = Spec.from_dict({"data": data, "value_model": old}).value_model
    assert vm.latency_penalty and vm.money is money
