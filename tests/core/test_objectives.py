"""The metric catalogue, and quality numbers checked against cases small enough to work out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core import objectives as obj
from core.errors import UserInputError
from core.metrics import quality

# y = [0, 0, 1, 1], scores [0.1, 0.4, 0.35, 0.8], decisions at 0.5: [0, 0, 0, 1]
Y = np.array([0, 0, 1, 1])
P = np.array([0.1, 0.4, 0.35, 0.8])
PRED = (P >= 0.5).astype(int)


def test_quality_on_a_hand_checkable_case():
    q = quality(Y, P, PRED)
    # ROC AUC: of the 4 (positive, negative) pairs only (0.35, 0.4) is mis-ordered → 3/4
    assert q["roc_auc"] == pytest.approx(0.75)
    # ranked: 0.8 (+), 0.4 (−), 0.35 (+), 0.1 (−): AP = ½·1 + ½·⅔ = 5/6
    assert q["pr_auc"] == pytest.approx(5 / 6)
    assert q["accuracy"] == pytest.approx(3 / 4)
    # recall of class 1 = ½, of class 0 = 1 → balanced accuracy ¾
    assert q["balanced_accuracy"] == pytest.approx(3 / 4)
    # precision 1, recall ½ → F1 = ⅔
    assert q["f1"] == pytest.approx(2 / 3)
    assert q["log_loss"] == pytest.approx(-np.mean(np.log([0.9, 0.6, 0.35, 0.8])))


def test_quality_extremes():
    perfect = quality(Y, np.array([0.0, 0.0, 1.0, 1.0]), np.array([0, 0, 1, 1]))
    assert perfect["roc_auc"] == perfect["accuracy"] == perfect["f1"] == 1.0
    assert perfect["log_loss"] < 1e-12  # clipped, not log(0)
    inverted = quality(Y, 1 - P, (1 - P >= 0.5).astype(int))
    assert inverted["roc_auc"] == pytest.approx(0.25)
    none_selected = quality(Y, P, np.zeros(4, dtype=int))
    assert none_selected["f1"] == 0.0 and none_selected["balanced_accuracy"] == 0.5


def test_registry_is_consistent():
    assert len(obj.REGISTRY) == len(obj._DEFS) >= 20
    for m in obj.REGISTRY.values():
        assert m.direction in ("minimize", "maximize")
        assert m.sign == (1.0 if m.direction == "minimize" else -1.0)
        assert m.bounds[0] < m.bounds[1]
        assert m.label and m.unit and m.description and m.default_owner
    assert set(obj.QUALITY) == {"roc_auc", "pr_auc", "accuracy", "balanced_accuracy", "f1", "log_loss"}
    assert set(obj.QUALITY) <= set(obj.TEST_METRICS)
    groups = {m.group for m in obj.REGISTRY.values()}
    assert groups == {"quality", "latency", "value", "fairness", "complexity"}
    assert all(n in obj.REGISTRY for n in obj.DEFAULT_OBJECTIVES)


def test_unknown_metric_lists_the_allowed_ones():
    with pytest.raises(UserInputError, match=r"^Unknown objective 'auc'\. Allowed: roc_auc, pr_auc, "):
        obj.get("auc")


@pytest.mark.parametrize(
    ("name", "value", "text"),
    [
        ("roc_auc", 0.81234, "0.8123"),
        ("latency_p95_ms", 4.5678, "4.57 ms"),
        ("fit_time_s", 1.23456, "1.235 s"),
        ("model_size_bytes", 512, "512 B"),
        ("model_size_bytes", 5 * 1024**2, "5.0 MB"),
        ("throughput_rps", 12345.6, "12,346 rows/s"),
        ("value_per_1k", 1234.5, "€1,234.50"),
        ("n_parameters", 1234567, "1,234,567"),
        ("roc_auc", None, "–"),
        ("roc_auc", math.nan, "–"),
    ],
)
def test_fmt(name, value, text):
    assert obj.get(name).fmt(value) == text


def test_attr_keys():
    assert obj.attr_key("roc_auc") == "metric.roc_auc"
    assert obj.attr_key("roc_auc", test=True) == obj.TEST_ATTR + "roc_auc" == "test.roc_auc"


@pytest.mark.parametrize(
    ("raw", "ms"),
    [("20 seconds", 20_000.0), ("20 s", 20_000.0), ("20s", 20_000.0), ("20 secs", 20_000.0), ("0.02 s", 20.0)]
    + [("20 ms", 20.0), ("20 msec", 20.0), ("20", 20.0), ("0.5 min", 30_000.0)],
)
def test_time_limits_parse_to_milliseconds(raw, ms):
    assert obj.parse_limit("latency_p95_ms", raw, "limit") == pytest.approx(ms)


@pytest.mark.parametrize("raw", ["20 furlongs", "20 sec.", "20 kg"])
def test_an_unknown_time_unit_is_refused_naming_the_accepted_units(raw):
    with pytest.raises(UserInputError, match=r"accepted units: ms, s, min, h"):
        obj.parse_limit("latency_p95_ms", raw, "limit")
