"""The value model on tables small enough to compute by hand."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

from core import objectives as obj
from core.metrics.value import default_value_model, display_metric, row_values, tune_threshold, value_per_1k
from core.spec import UTILITY_UNITS, ValueModel

Y = np.array([1, 1, 0, 0, 1])
PRED = np.array([1, 0, 1, 0, 1])  # TP, FN, FP, TN, TP
VM = ValueModel(  # a matrix the team set, in €, with the latency penalty switched on
    value_tp=10.0,
    value_fp=-2.0,
    value_fn=-1.0,
    value_tn=0.5,
    conversion_loss_per_100ms=0.002,
    vcpu_hour_price=0.05,
    money=True,
    latency_penalty=True,
)


def test_value_matrix_per_row():
    assert row_values(Y, PRED, VM).tolist() == [10.0, -1.0, -2.0, 0.5, 10.0]


def test_value_column_replaces_the_tp_value():
    fees = np.array([20.0, 5.0, 7.0, 3.0, 1.0])
    assert row_values(Y, PRED, VM, fees).tolist() == [20.0, -1.0, -2.0, 0.5, 1.0]


def test_value_per_1k_without_latency():
    v = value_per_1k(Y, PRED, VM)
    assert v.gross_per_1k == pytest.approx(1000 * 17.5 / 5)  # (10 − 1 − 2 + 0.5 + 10) / 5 per request
    assert v.tp_revenue_per_1k == pytest.approx(1000 * 20 / 5)
    assert v.latency_penalty_per_1k == 0 and v.infra_cost_per_1k == 0
    assert v.net_per_1k == pytest.approx(3500.0)


def test_latency_penalty_and_infra_cost_by_hand():
    fees = np.array([20.0, 5.0, 7.0, 3.0, 1.0])
    v = value_per_1k(Y, PRED, VM, tp_values=fees, mean_latency_ms=50.0)
    gross = 1000 * (20 - 1 - 2 + 0.5 + 1) / 5  # 3700
    tp_rev = 1000 * (20 + 1) / 5  # 4200
    penalty = tp_rev * 0.002 * 50 / 100  # 0.1 % of TP revenue = 4.2
    infra_1m = 1e6 * 0.050 * 0.05 / 3600  # 50 ms of a €0.05/h vCPU, a million times
    assert v.gross_per_1k == pytest.approx(gross)
    assert v.tp_revenue_per_1k == pytest.approx(tp_rev)
    assert v.latency_penalty_per_1k == pytest.approx(penalty)
    assert v.infra_cost_per_1m == pytest.approx(infra_1m) == pytest.approx(0.69444, rel=1e-4)
    assert v.infra_cost_per_1k == pytest.approx(infra_1m / 1000)
    assert v.net_per_1k == pytest.approx(gross - penalty - infra_1m / 1000)


def test_penalty_is_capped_at_all_revenue():
    v = value_per_1k(Y, PRED, VM, mean_latency_ms=1e9)
    assert v.latency_penalty_per_1k == pytest.approx(v.tp_revenue_per_1k)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tuned_threshold_maximises_value(seed):
    """Compare with every cut by enumeration: the tuned one selects the best top-k set (1 ≤ k < n;
    candidates lie between observed scores, so 'everyone' and 'no one' are not offered)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 60)
    p = np.clip(0.35 * y + rng.random(60) * 0.65, 0, 1)
    fees = rng.gamma(2.0, 5.0, 60)
    for vm, tp in ((VM, None), (ValueModel(value_tp=0.0, value_fp=-3.0), fees)):
        t = tune_threshold(y, p, vm, tp)
        best = max(row_values(y, p >= c, vm, tp).sum() for c in np.unique(p)[1:])
        assert row_values(y, p >= t, vm, tp).sum() == pytest.approx(best)
        assert p.min() < t <= p.max()


def test_threshold_moves_with_the_cost_of_a_false_positive():
    y = np.array([0, 0, 0, 1, 0, 1, 1, 1])
    p = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.9])
    cheap = tune_threshold(y, p, ValueModel(value_tp=1.0, value_fp=-0.1))
    dear = tune_threshold(y, p, ValueModel(value_tp=1.0, value_fp=-10.0))
    # a cheap false positive: take the positive at 0.4 even though it costs the negative at 0.5
    assert set(np.flatnonzero(p >= cheap)) == {3, 4, 5, 6, 7}
    # a false positive costing 10 true positives' worth: only rows ≥ 0.6 are worth selecting
    assert set(np.flatnonzero(p >= dear)) == {5, 6, 7}
    assert cheap < dear


def test_symmetric_values_tie_break_towards_half():
    y = np.array([0, 1] * 10)
    p = np.array([0.2, 0.8] * 10)  # any cut in (0.2, 0.8] is optimal
    assert tune_threshold(y, p, ValueModel(value_tp=1.0, value_fp=-1.0)) == 0.5


def test_default_value_model(small_csv):
    from core.data import load_dataset
    from core.spec import DataRef

    ds = load_dataset(DataRef(path=str(small_csv), target="converted", value_column="fee_eur"))
    vm = default_value_model(ds)
    assert vm.value_tp == 0.0 and ds.value is not None
    assert vm.value_fp == pytest.approx(-round(ds.y.mean() * ds.value.mean(), 2))
    assert vm.money and vm.latency_penalty  # the table priced its decisions
    no_value = load_dataset(DataRef(path=str(small_csv), target="converted"))
    plain = default_value_model(no_value)
    assert (plain.value_tp, plain.value_fp, plain.value_fn, plain.value_tn) == (1.0, -1.0, 0.0, 0.0)
    assert not plain.money and not plain.latency_penalty  # no value given: no €, no penalty


def test_no_latency_penalty_unless_the_team_switches_it_on():
    fees = np.array([20.0, 5.0, 7.0, 3.0, 1.0])
    off = value_per_1k(Y, PRED, replace(VM, latency_penalty=False), tp_values=fees, mean_latency_ms=50.0)
    on = value_per_1k(Y, PRED, VM, tp_values=fees, mean_latency_ms=50.0)
    assert off.latency_penalty_per_1k == 0.0 and on.latency_penalty_per_1k > 0.0
    assert off.net_per_1k - on.net_per_1k == pytest.approx(on.latency_penalty_per_1k)
    assert value_per_1k(Y, PRED, ValueModel(), mean_latency_ms=50.0).latency_penalty_per_1k == 0.0


def test_unpriced_value_reads_in_utility_units_not_euros():
    net = obj.get("value_per_1k")
    plain = ValueModel()
    assert plain.unit == UTILITY_UNITS and plain.fmt(454.59) == "454.59 utility units"
    shown = display_metric(net, plain)
    assert "€" not in shown.unit and shown.unit.startswith(UTILITY_UNITS) and "€" not in shown.fmt(454.59)
    assert display_metric(net, VM) is net and VM.fmt(454.59) == "€454.59"
    infra = obj.get("infra_cost_per_1m")
    assert display_metric(infra, plain) is infra  # the vCPU price is money whatever the matrix


def test_every_combination_of_outcomes_is_priced():
    for yt, yp in itertools.product([0, 1], repeat=2):
        v = row_values(np.array([yt]), np.array([yp]), VM)[0]
        assert v == {(1, 1): 10.0, (0, 1): -2.0, (1, 0): -1.0, (0, 0): 0.5}[(yt, yp)]


def test_the_cut_never_selects_everyone_or_no_one():
    """A tree gives many rows exactly 0; selecting everyone may pay more, but decides nothing."""
    y = np.array([0, 1, 0, 0, 1, 1, 0, 1, 1, 1])
    p = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.6, 0.6, 0.8, 0.8, 0.9])
    vm = ValueModel(value_tp=10.0, value_fp=-1.0)  # a positive pays ten false alarms
    t = tune_threshold(y, p, vm)
    assert row_values(y, p >= 0, vm).sum() > row_values(y, p >= t, vm).sum()  # 'everyone' pays more…
    assert 0.0 < t <= 0.6 and set(np.flatnonzero(p >= t)) == {5, 6, 7, 8, 9}  # …the best real cut
    assert tune_threshold(y, np.full(10, 0.3), vm) == 0.5  # constant scores: nothing to cut
    assert 0.0 < tune_threshold(y, np.where(p > 0, 1.0, 0.0), ValueModel(value_tp=1.0, value_fp=-100.0)) < 1.0


def test_unit_weights_are_unweighted_and_integer_weights_repeat_rows():
    fees = np.array([20.0, 5.0, 7.0, 3.0, 1.0])
    plain = value_per_1k(Y, PRED, VM, tp_values=fees, mean_latency_ms=50.0)
    ones = value_per_1k(Y, PRED, VM, tp_values=fees, mean_latency_ms=50.0, sample_weight=np.ones(5))
    assert ones.__dict__ == pytest.approx(plain.__dict__, rel=1e-12)
    w = np.array([2, 0, 1, 3, 1])
    rows = np.repeat(np.arange(5), w)
    weighted = value_per_1k(Y, PRED, VM, tp_values=fees, mean_latency_ms=50.0, sample_weight=w)
    repeated = value_per_1k(Y[rows], PRED[rows], VM, tp_values=fees[rows], mean_latency_ms=50.0)
    assert weighted.__dict__ == pytest.approx(repeated.__dict__, rel=1e-12)
