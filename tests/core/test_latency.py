"""The latency harness: what it measures, its normalisation, and that it tells slow from fast."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from core.errors import UserInputError
from core.models import latency


class _Busy:
    """A stand-in 'pipeline' whose predict_proba burns a fixed amount of CPU (or sleeps)."""

    def __init__(self, work: int, sleep_s: float = 0.0) -> None:
        self.work, self.sleep_s = work, sleep_s
        self.a = np.random.default_rng(0).normal(size=(60, 60))

    def predict_proba(self, X):
        for _ in range(self.work):
            self.a = np.tanh(self.a @ self.a * 1e-3)
        if self.sleep_s:
            time.sleep(self.sleep_s)
        return np.full((len(X), 2), 0.5)


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return pd.DataFrame({"x": np.arange(60.0), "y": np.arange(60.0) % 7})


def test_report_is_consistent(rows):
    pipe, _ = latency.reference()
    X = pd.concat(latency.reference()[1])
    rep = latency.measure(pipe, X, repeats=30, warmup=5)
    assert rep.n_calls == 30
    assert 0 < rep.p50_ms <= rep.p95_ms <= rep.p99_ms
    assert rep.cv >= 0 and rep.throughput_rps > 0 and rep.ref_ratio > 0
    assert 0 < rep.model_p50_ms <= rep.model_p95_ms < rep.p95_ms  # the bare estimator is cheaper
    assert rep.wall_p50_ms > 0 and np.isfinite(rep.wall_p95_ms)
    # measuring the reference against itself gives back the reference cost, whatever the load
    assert rep.p50_ms == pytest.approx(latency.reference_ms(), rel=0.35)
    metrics = rep.as_metrics()
    assert metrics["latency_p95_ms"] == rep.p95_ms and metrics["model_latency_p95_ms"] == rep.model_p95_ms
    assert set(rep.to_dict()) >= {"p50_ms", "p95_ms", "p99_ms", "mean_ms", "cv", "n_calls"}


def test_ranks_more_work_as_slower(rows):
    fast = latency.measure(_Busy(1), rows, repeats=20, warmup=2)
    slow = latency.measure(_Busy(12), rows, repeats=20, warmup=2)
    assert slow.p50_ms > 3 * fast.p50_ms


def test_sleeping_is_not_cpu_time(rows):
    """CPU time: waiting (or being descheduled) is not counted; the wall figure shows it."""
    rep = latency.measure(_Busy(1, sleep_s=0.004), rows, repeats=20, warmup=2)
    assert rep.wall_p50_ms >= 4.0
    assert rep.p50_ms < rep.wall_p50_ms


def test_normalise_scales_by_the_nearest_reference_calls():
    cpu = np.array([2.0, 2.0, 8.0, 8.0])
    pos = np.array([0, 1, 5, 6])
    ref = np.array([1.0, 4.0])  # the machine got 4× slower between the two pairs
    ref_pos = np.array([2, 7])
    out = latency.normalise(cpu, pos, ref, ref_pos, ref_ms=3.0, window=1)
    assert out.tolist() == pytest.approx([6.0, 6.0, 6.0, 6.0])  # the same work, the same figure
    both = latency.normalise(cpu, pos, ref, ref_pos, ref_ms=3.0, window=2)
    assert both.tolist() == pytest.approx([2.4, 2.4, 9.6, 9.6])  # median of both = 2.5


class _Spiky:
    """Every ``every``-th call burns ``spike``× the work (a neighbour's burst); ``slow_row`` is a row
    that always costs ``spike``× (a genuinely expensive input)."""

    def __init__(self, every: int = 0, spike: int = 20, slow_row: float | None = None) -> None:
        self.every, self.spike, self.slow_row, self.calls = every, spike, slow_row, 0
        self.a = np.random.default_rng(0).normal(size=(60, 60))

    def predict_proba(self, X):
        heavy = (self.every and self.calls % self.every == 0) or (
            self.slow_row is not None and len(X) == 1 and X["x"].iloc[0] == self.slow_row
        )
        self.calls += 1
        for _ in range(self.spike if heavy else 1):
            self.a = np.tanh(self.a @ self.a * 1e-3)
        return np.full((len(X), 2), 0.5)


def test_a_burst_on_some_calls_shows_in_the_tail(rows):
    """15 % of calls hit by a burst (every row is among them once in a while): a request's p95 cost
    includes it, so the p95 stands well above the median instead of being floored at it."""
    X = rows.iloc[:20]
    rep = latency.measure(_Spiky(every=7), X, repeats=60, warmup=0)
    assert rep.p95_ms > 5 * rep.p50_ms
    assert rep.as_metrics()["latency_calls_p95_ms"] == rep.calls_p95_ms == rep.p95_ms


def test_the_p95_is_the_95th_percentile_of_all_normalised_calls(rows, monkeypatch):
    """No per-row minimum and no floor at the median: the tail is the calls' own percentile."""
    seen: dict[str, np.ndarray] = {}
    real = latency.normalise

    def spy(*args, **kwargs):
        seen["times"] = real(*args, **kwargs)
        return seen["times"]

    monkeypatch.setattr(latency, "normalise", spy)
    rep = latency.measure(_Spiky(every=9), rows.iloc[:20], repeats=60, warmup=0)
    times = seen["times"]
    assert rep.n_calls == len(times) == 60
    assert rep.p50_ms == pytest.approx(np.percentile(times, 50))
    assert rep.p95_ms == pytest.approx(np.percentile(times, 95))
    assert rep.p99_ms == pytest.approx(np.percentile(times, 99))
    assert rep.p95_ms > rep.p50_ms


def test_an_expensive_row_stays_in_the_tail(rows):
    X = rows.iloc[:20]
    rep = latency.measure(_Spiky(slow_row=0.0, spike=100), X, repeats=60, warmup=0)
    assert rep.p99_ms > 5 * rep.p50_ms


def test_block_cv():
    assert latency.block_cv(np.full(50, 3.0)) == 0.0
    times = np.repeat([1.0, 1.0, 1.0, 1.0, 2.0], 10)  # one block of five twice as slow
    medians = np.array([1, 1, 1, 1, 2.0])
    assert latency.block_cv(times) == pytest.approx(medians.std() / medians.mean())


def test_reference_ms_can_be_set_for_the_serving_machine(monkeypatch):
    monkeypatch.delenv(latency.ENV_REFERENCE, raising=False)
    assert latency.reference_ms() == latency.REFERENCE_MS_DEFAULT
    monkeypatch.setenv(latency.ENV_REFERENCE, "1.5")
    assert latency.reference_ms() == 1.5
    monkeypatch.setenv(latency.ENV_REFERENCE, "-2")
    with pytest.raises(UserInputError, match=r"TRADEOFF_LATENCY_REFERENCE_MS must be a positive number"):
        latency.reference_ms()


def test_calibrate_returns_the_reference_cost_here():
    ms = latency.calibrate(repeats=30)
    assert 0.1 < ms < 100


def test_a_slow_model_is_timed_within_a_budget_and_a_fast_one_with_every_call(rows):
    """A call several times the reference's cost is timed with fewer calls (it is clearly slow);
    one near or below the reference keeps every repeat, since close rankings are decided there."""
    unit = _Busy(1)
    t0 = time.thread_time()
    for _ in range(20):
        unit.predict_proba(rows)
    per_work_ms = (time.thread_time() - t0) / 20 * 1e3
    work = max(1, int(8 * latency.reference_ms() / per_work_ms))  # ~8 references a call
    fast = latency.measure(_Busy(1), rows, repeats=200, warmup=3)
    slow = latency.measure(_Busy(work), rows, repeats=200, warmup=3)
    assert fast.n_calls == 200
    assert latency.MIN_SLOW_CALLS <= slow.n_calls < 200
    assert slow.p50_ms > 4 * fast.p50_ms  # still ranked as slow as it is
    assert latency.slow_repeats(200, 4e6, 4e6) == 200 and latency.slow_repeats(200, 40e6, 4e6) == 50
