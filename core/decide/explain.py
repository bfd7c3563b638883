"""Why does a candidate decide what it decides? Interpretability the room can read.

- **Permutation importance** (scikit-learn) on the held-out test part: how much the chosen quality
  metric drops when one *original* column is shuffled. It works for every family, so a simple and an
  ensemble model are explained on the same scale; it measures reliance, not causation.
- **Partial dependence** for the top features: the average predicted probability as one column
  moves over its range (or categories), others as observed.
- **Native views** where a model has one: coefficients of a linear model (on the scaled, one-hot
  features it really uses) and the rules of a decision tree as text (``export_text``).

Threshold-based metrics (accuracy, F1, …) are scored at the candidate's own tuned threshold, not at
0.5, so importance means "importance for the decisions this model would actually make".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.inspection import partial_dependence as _sk_pd
from sklearn.inspection import permutation_importance as _sk_pi
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier, export_text

from core import objectives as obj
from core._json import jsonable
from core.errors import UserInputError
from core.metrics import QUALITY_METRICS, decide, quality

SCORERS = QUALITY_METRICS
MAX_IMPORTANCE_ROWS = 1000
MAX_PD_ROWS = 300
TREE_TEXT_DEPTH = 4


def scorer(metric: str, threshold: float = 0.5) -> Callable[[Any, pd.DataFrame, np.ndarray], float]:
    """A scikit-learn scoring callable for one quality metric (greater is better, as sklearn wants)."""
    if metric not in SCORERS:
        raise UserInputError(f"Permutation importance can score {', '.join(SCORERS)}; got {metric!r}.", field="scoring")
    sign = -obj.get(metric).sign  # +1 for maximised metrics, −1 for log loss

    def score(estimator, X, y) -> float:
        proba = estimator.predict_proba(X)[:, 1]
        return sign * quality(np.asarray(y), proba, decide(proba, threshold))[metric]

    return score


@dataclass(frozen=True)
class Importance:
    feature: str
    mean: float
    std: float


@dataclass(frozen=True)
class ImportanceResult:
    scoring: str
    n_rows: int
    n_repeats: int
    rows: tuple[Importance, ...]  # sorted, most important first

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame([r.__dict__ for r in self.rows])

    def top(self, k: int) -> list[str]:
        return [r.feature for r in self.rows[:k]]


def permutation_importance(
    pipeline,
    X: pd.DataFrame,
    y,
    *,
    scoring: str = "roc_auc",
    threshold: float = 0.5,
    n_repeats: int = 5,
    seed: int = 0,
    max_rows: int = MAX_IMPORTANCE_ROWS,
) -> ImportanceResult:
    """Drop in ``scoring`` when each original column is shuffled, on (up to ``max_rows``) test rows.

    The row cap keeps an ensemble's explanation to seconds; the rows are a seeded stratified-free
    random subset, recorded in ``n_rows``.
    """
    y = np.asarray(y)
    if len(X) > max_rows:
        idx = np.random.default_rng(seed).choice(len(X), size=max_rows, replace=False)
        X, y = X.iloc[np.sort(idx)], y[np.sort(idx)]
    res = _sk_pi(pipeline, X, y, scoring=scorer(scoring, threshold), n_repeats=n_repeats, random_state=seed, n_jobs=1)
    rows = [
        Importance(str(c), float(m), float(s)) for c, m, s in zip(X.columns, res.importances_mean, res.importances_std)
    ]
    rows.sort(key=lambda r: -r.mean)
    return ImportanceResult(scoring, len(X), n_repeats, tuple(rows))


@dataclass(frozen=True)
class PartialDependence:
    feature: str
    kind: str  # "numeric" or "categorical"
    grid: tuple
    average: tuple[float, ...]


def partial_dependence(
    pipeline,
    X: pd.DataFrame,
    features: Sequence[str],
    *,
    categorical: Sequence[str] = (),
    grid_resolution: int = 12,
    max_rows: int = MAX_PD_ROWS,
    seed: int = 0,
) -> tuple[PartialDependence, ...]:
    """Average predicted probability of the positive class over each feature's grid."""
    if len(X) > max_rows:
        X = X.sample(n=max_rows, random_state=seed)
    out = []
    for f in features:
        if f not in X.columns:
            raise UserInputError(
                f"Unknown feature {f!r}; the model uses {', '.join(map(str, X.columns))}.", field="features"
            )
        is_cat = f in categorical or not pd.api.types.is_numeric_dtype(X[f])
        Xf = X
        if is_cat:  # plain object strings: scikit-learn's categorical grid wants one dtype it can sort
            Xf = X.copy()
            Xf[f] = Xf[f].astype(object).where(Xf[f].notna(), "missing").astype(str).astype(object)
        res = _sk_pd(
            pipeline,
            Xf,
            [f],
            categorical_features=[f] if is_cat else None,
            grid_resolution=grid_resolution,
            kind="average",
            response_method="predict_proba",
            method="brute",
        )
        grid = res["grid_values"][0]
        out.append(
            PartialDependence(
                str(f),
                "categorical" if is_cat else "numeric",
                tuple(g.item() if hasattr(g, "item") else g for g in grid),
                tuple(float(v) for v in np.ravel(res["average"][0])),
            )
        )
    return tuple(out)


@dataclass(frozen=True)
class NativeView:
    """A model's own explanation, when it has one: "coefficients", "rules" or "none"."""

    kind: str
    title: str
    table: tuple[dict, ...] = ()
    text: str = ""
    note: str = ""


def _final_estimator(pipeline):
    est = pipeline.steps[-1][1] if hasattr(pipeline, "steps") else pipeline
    return est


def _feature_names(pipeline) -> list[str]:
    try:
        return [str(n) for n in pipeline[:-1].get_feature_names_out()]
    except Exception:  # a preprocessor without names: positional names still read
        n = getattr(_final_estimator(pipeline), "n_features_in_", 0)
        return [f"x{i}" for i in range(n)]


def native_view(pipeline, *, max_depth: int = TREE_TEXT_DEPTH, top: int = 25) -> NativeView:
    """Coefficients for a linear model, rules for a decision tree, otherwise an honest "none"."""
    est = _final_estimator(pipeline)
    names = _feature_names(pipeline)
    if isinstance(est, LogisticRegression):
        coef = np.ravel(est.coef_)
        order = np.argsort(-np.abs(coef))[:top]
        rows = tuple(
            {
                "feature": names[i] if i < len(names) else f"x{i}",
                "coefficient": float(coef[i]),
                "odds_ratio": float(np.exp(coef[i])),
            }
            for i in order
        )
        return NativeView(
            "coefficients",
            "Logistic-regression coefficients (scaled, one-hot features)",
            table=rows,
            note=f"Intercept {float(np.ravel(est.intercept_)[0]):.3f}. A coefficient is the "
            "change in log-odds per standard deviation (numeric) or for the category "
            f"(one-hot); the {min(top, len(coef))} largest in size of {len(coef)} are shown.",
        )
    if isinstance(est, DecisionTreeClassifier):
        depth = est.get_depth()
        text = export_text(
            est,
            feature_names=names if len(names) == est.n_features_in_ else None,
            max_depth=max_depth,
            decimals=3,
            show_weights=False,
        )
        note = f"The tree has depth {depth} and {est.get_n_leaves()} leaves" + (
            f"; rules deeper than {max_depth} levels are folded ('truncated branch')."
            if depth > max_depth
            else "; every rule is shown."
        )
        return NativeView("rules", "Decision-tree rules", text=text, note=note)
    return NativeView(
        "none",
        "No native view",
        note=f"{type(est).__name__} has no readable coefficients or rules; use permutation "
        "importance and partial dependence.",
    )


@dataclass(frozen=True)
class Explanation:
    number: int
    label: str
    importance: ImportanceResult
    partial_dependence: tuple[PartialDependence, ...]
    native: NativeView

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)


def explain(
    cand, *, scoring: str = "roc_auc", top_k: int = 3, n_repeats: int = 5, max_rows: int = MAX_IMPORTANCE_ROWS
) -> Explanation:
    """Permutation importance on the test part, partial dependence of the top ``top_k`` features and
    the native view, for one re-fitted candidate (:class:`core.models.candidate.Candidate`)."""
    test = cand.dataset.subset(cand.test_idx)
    seed = cand.spec.seed
    imp = permutation_importance(
        cand.pipeline,
        test.X,
        test.y,
        scoring=scoring,
        threshold=cand.threshold,
        n_repeats=n_repeats,
        seed=seed,
        max_rows=max_rows,
    )
    pdp = partial_dependence(cand.pipeline, test.X, imp.top(top_k), categorical=cand.dataset.categorical, seed=seed)
    return Explanation(int(cand.number), cand.label, imp, pdp, native_view(cand.pipeline))
