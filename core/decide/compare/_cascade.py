"""The cascade "simple model when confident, complex model otherwise", beside both parents.

The routing band is chosen on training-part predictions (out-of-fold where the evaluation kept
them), never on the test part; the test part only scores the chosen cascade.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import clone

from core import objectives as obj
from core._json import jsonable
from core.data import holdout
from core.decide.compare._candidates import CandidateInfo, candidate_info, context_of
from core.decide.compare._constants import CASCADE_CRITERIA
from core.errors import UserInputError
from core.metrics import decide, quality, value_per_1k
from core.spec import ValueModel

LATENCY_ATTRS = ("latency_mean_ms", "latency_p95_ms", "model_latency_p95_ms")


@dataclass(frozen=True)
class CascadeResult:
    """Simple model answers when confident, complex model otherwise; beside both parents.

    ``band`` is the half-width around the simple model's own threshold inside which it defers:
    rows with |p − threshold| ≤ band go to the complex model. The band was chosen on training-part
    predictions (``chosen_on``), never on the test part.
    """

    simple: str
    complex: str
    band: float
    t_lo: float
    t_hi: float
    criterion: str
    keep: float
    chosen_on: str
    share_routed_train: float
    share_routed_test: float
    rows: tuple[dict, ...]  # one per model: name, every quality metric, value, latency, share
    curve: tuple[dict, ...]  # training-part criterion per routed share
    gain_kept: float
    summary: str

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)


def cascade_predict(
    p_simple: np.ndarray, p_complex: np.ndarray, thr_simple: float, thr_complex: float, band: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decisions, scores and routing mask of the cascade for a given band."""
    p_simple, p_complex = np.asarray(p_simple, dtype=float), np.asarray(p_complex, dtype=float)
    routed = np.abs(p_simple - thr_simple) <= band if band >= 0 else np.zeros(len(p_simple), bool)
    pred = np.where(routed, decide(p_complex, thr_complex), decide(p_simple, thr_simple)).astype(int)
    score = np.where(routed, p_complex, p_simple)
    return pred, score, routed


def _criterion(y, pred, score, tp_values, vm: ValueModel, criterion: str, mean_ms: float) -> float:
    if criterion == "value_per_1k":
        return value_per_1k(y, pred, vm, tp_values=tp_values, mean_latency_ms=mean_ms).net_per_1k
    return quality(y, score, pred)[criterion]


def choose_band(
    y,
    p_simple,
    p_complex,
    thr_simple: float,
    thr_complex: float,
    *,
    tp_values=None,
    vm: ValueModel | None = None,
    criterion: str = "value_per_1k",
    keep: float = 0.9,
    shares: Sequence[float] = tuple(np.linspace(0, 1, 21)),
    mean_simple_ms: float = 0.0,
    mean_complex_ms: float = 0.0,
) -> tuple[float, float, list[dict]]:
    """The narrowest band that keeps ``keep`` of the complex model's gain on training-part predictions.

    Returns (band, routed share, curve). When the complex model is not better than the simple one
    there, nothing is routed. Candidate bands are quantiles of |p − threshold|, i.e. routed shares.
    ``vm`` defaults to the default :class:`ValueModel`.
    """
    vm = vm if vm is not None else ValueModel()
    y = np.asarray(y)
    dist = np.abs(np.asarray(p_simple, dtype=float) - thr_simple)
    sign = obj.get(criterion).sign
    curve, bands = [], []
    for s in shares:
        band = -1.0 if s <= 0 else (np.inf if s >= 1 else float(np.quantile(dist, s)))
        pred, score, routed = cascade_predict(p_simple, p_complex, thr_simple, thr_complex, band)
        share = float(routed.mean())
        val = _criterion(y, pred, score, tp_values, vm, criterion, mean_simple_ms + share * mean_complex_ms)
        curve.append({"target_share": float(s), "share_routed": share, "value": float(val)})
        bands.append(band)
    base = curve[0]["value"]
    p_complex = np.asarray(p_complex)
    full_ms = mean_simple_ms + mean_complex_ms
    full = _criterion(y, decide(p_complex, thr_complex), p_complex, tp_values, vm, criterion, full_ms)
    gain = (full - base) * -sign  # positive when the complex model is better
    if not gain > 0:
        return -1.0, 0.0, curve
    for c, band in zip(curve, bands):
        if (c["value"] - base) * -sign >= keep * gain:
            return band, c["share_routed"], curve
    return np.inf, 1.0, curve


def training_predictions(simple, complex_) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, str]:
    """(y, p_simple, p_complex, tp_values, where) on the training part, never the test part.

    Uses the out-of-fold predictions the evaluation kept when available (``Evaluation.oof_proba``);
    otherwise fits both pipelines on 75 % of the training part and predicts the other 25 %.
    """
    oof_s = getattr(simple.evaluation, "oof_proba", None)
    oof_c = getattr(complex_.evaluation, "oof_proba", None)
    train = simple.dataset.subset(simple.train_idx)
    if oof_s is not None and oof_c is not None:
        return np.asarray(train.y), np.asarray(oof_s), np.asarray(oof_c), train.value, "out-of-fold"
    fit_i, val_i = holdout(train, np.arange(len(train.y)), 0.25, simple.spec.seed)
    probs = []
    for cand in (simple, complex_):
        model = clone(cand.pipeline).fit(train.X.iloc[fit_i], train.y[fit_i])
        probs.append(model.predict_proba(train.X.iloc[val_i])[:, 1])
    tp = None if train.value is None else train.value[val_i]
    return np.asarray(train.y[val_i]), probs[0], probs[1], tp, "validation slice (25 % of training part)"


def check_cascade_settings(criterion: str, keep: float) -> None:
    """A clear error for a criterion the cascade cannot be judged by, or a share outside (0, 1]."""
    if criterion not in CASCADE_CRITERIA:
        raise UserInputError(
            f"The cascade criterion must be value_per_1k or a quality metric "
            f"({', '.join(CASCADE_CRITERIA[1:])}), got {criterion!r}.",
            field="criterion",
        )
    if not 0 < keep <= 1:
        raise UserInputError(
            f"keep is the share of the complex model's gain to keep, in (0, 1]; got {keep}.", field="keep"
        )


def _test_rows(simple, complex_, inf_s: CandidateInfo, inf_c: CandidateInfo, band: float) -> tuple[list[dict], float]:
    """Quality, value and expected latency on the test part: simple, cascade, complex; and the routed share.

    Latency is *expected* latency: every request pays the simple model, the routed share also pays
    the complex one (mean, and as the same approximation p95 and model-only p95).
    """
    ctx, vm = context_of(simple), simple.spec.value_model
    ps, pc = simple.evaluation.test_proba, complex_.evaluation.test_proba
    pred, score, routed = cascade_predict(ps, pc, simple.threshold, complex_.threshold, band)
    share = float(routed.mean())
    lat_s = {a: getattr(inf_s, a) for a in LATENCY_ATTRS}
    lat_c = {a: getattr(inf_c, a) for a in LATENCY_ATTRS}
    expected = {a: lat_s[a] + share * lat_c[a] for a in LATENCY_ATTRS}
    rows = []
    for name, p, sc, lat, sh in (
        (simple.label, decide(ps, simple.threshold), ps, lat_s, 0.0),
        ("Cascade", pred, score, expected, share),
        (complex_.label, decide(pc, complex_.threshold), pc, lat_c, 1.0),
    ):
        row = {"model": name, **quality(ctx.y, sc, p)}
        money = value_per_1k(ctx.y, p, vm, tp_values=ctx.tp_values, mean_latency_ms=lat["latency_mean_ms"])
        row["value_per_1k"] = money.net_per_1k
        row.update(lat)
        row["share_routed"] = sh
        rows.append(row)
    return rows, share


def _ratio(a: float, b: float) -> float:
    return a / b if b != 0 else float("nan")


def gain_share(simple: float, cascade_value: float, complex_value: float, criterion: str) -> float:
    """The share of the complex model's gain the cascade keeps, clipped to [0, 1]; NaN with no gain.

    Why clip: a cascade can do worse than its simple parent or better than its complex one on the
    test part, and "keeps −116 % of its gain" tells the room nothing it can act on; the rows beside
    the share give the actual values. With no gain (the complex model is not better on the test
    part) there is nothing to keep, and a percentage of nothing would only mislead.
    """
    good = -obj.get(criterion).sign  # +1 when higher is better
    gain = (complex_value - simple) * good
    if not gain > 1e-12:
        return float("nan")
    return float(np.clip((cascade_value - simple) * good / gain, 0.0, 1.0))


def cascade_summary(
    rows: list[dict], band: float, share: float, criterion: str, complex_label: str
) -> tuple[float, str]:
    """The share of the complex model's gain the cascade keeps, and the sentence that says so."""
    label = obj.get(criterion).label
    if band < 0:  # nothing routed means nothing kept or lost: the share is undefined, not 0 %
        return float("nan"), (
            f"On the training part the complex model was not better on {label}, so the cascade "
            f"routes nothing: it is the simple model."
        )
    gain_kept = gain_share(rows[0][criterion], rows[1][criterion], rows[2][criterion], criterion)
    lat_ratio = _ratio(rows[1]["latency_mean_ms"], rows[2]["latency_mean_ms"])
    model_ratio = _ratio(rows[1]["model_latency_p95_ms"], rows[2]["model_latency_p95_ms"])
    cost = f"{lat_ratio:.0%} of its mean pipeline latency ({model_ratio:.0%} of its model-only p95)"
    if not np.isfinite(gain_kept):
        return gain_kept, (
            f"On the test part {complex_label} has no {label} gain over the simple model, so there is "
            f"no gain to keep; routing {share:.0%} of test requests to it costs {cost}."
        )
    return (
        gain_kept,
        f"Routing {share:.0%} of test requests to {complex_label} keeps {gain_kept:.0%} of its {label} gain at {cost}.",
    )


def cascade(
    simple,
    complex_,
    *,
    simple_info: CandidateInfo | None = None,
    complex_info: CandidateInfo | None = None,
    criterion: str = "value_per_1k",
    keep: float = 0.9,
) -> CascadeResult:
    """Evaluate the cascade "simple when confident, else complex" on the test part.

    Pass the ``CandidateInfo`` of an interleaved comparison so both parents' latency was measured
    together; otherwise each parent's own re-fit measurement is used.
    """
    check_cascade_settings(criterion, keep)
    inf_s = simple_info or candidate_info(simple)
    inf_c = complex_info or candidate_info(complex_)
    y_tr, ps_tr, pc_tr, tp_tr, where = training_predictions(simple, complex_)
    band, share_tr, curve = choose_band(
        y_tr,
        ps_tr,
        pc_tr,
        simple.threshold,
        complex_.threshold,
        tp_values=tp_tr,
        vm=simple.spec.value_model,
        criterion=criterion,
        keep=keep,
        mean_simple_ms=inf_s.latency_mean_ms,
        mean_complex_ms=inf_c.latency_mean_ms,
    )
    rows, share = _test_rows(simple, complex_, inf_s, inf_c, band)
    gain_kept, summary = cascade_summary(rows, band, share, criterion, complex_.label)
    return CascadeResult(
        simple.label,
        complex_.label,
        float(band),
        float(simple.threshold - band),
        float(simple.threshold + band),
        criterion,
        keep,
        where,
        share_tr,
        share,
        tuple(rows),
        tuple(curve),
        gain_kept,
        summary,
    )
