"""Results too good to be true: the check after the search that the leak detector cannot make alone.

A column recorded after the outcome (a re-arrest flag, an end date, a charge) makes every model look
near-perfect; the single-column detector misses leaks that only show in combination, and a team may
keep a flagged column on purpose. So the finished study is checked too: a held-out ROC AUC that
honest tables rarely give, or one column carrying most of a model's permutation importance. Each
finding is a plain sentence naming the figure and what to check, for every page and the CLI.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from core import objectives as obj

if TYPE_CHECKING:
    from core.decide.explain import ImportanceResult
    from core.spec import Spec

#: held-out ROC AUC at or above which a result is suspect (honest tabular tasks rarely pass it)
AUC_SUSPECT = 0.98
#: share of the positive permutation importance one column may carry before it is suspect
IMPORTANCE_SUSPECT = 0.5

_TEST_AUC = obj.TEST_ATTR + "roc_auc"


def _best_test_auc(frame: Any) -> tuple[int, float] | None:
    """(trial number, held-out ROC AUC) of the finished trial with the highest one, if any."""
    if frame is None or getattr(frame, "empty", True) or _TEST_AUC not in frame:
        return None
    done = frame[frame["state"] == "COMPLETE"] if "state" in frame else frame
    auc = done[_TEST_AUC].astype(float).dropna()
    if auc.empty:
        return None
    i = auc.idxmax()
    return int(done.at[i, "number"]), float(auc[i])


def importance_share(importance: ImportanceResult | Sequence[tuple[str, float]]) -> tuple[str, float] | None:
    """(column, share) of the column carrying the most positive permutation importance.

    Negative importances (shuffling helped, i.e. noise) count as zero, so the share is of the real
    drop; None when no column matters at all.
    """
    rows = [(r.feature, r.mean) for r in importance.rows] if hasattr(importance, "rows") else list(importance)
    positive = [(str(f), max(float(m), 0.0)) for f, m in rows]
    total = sum(m for _, m in positive)
    if total <= 0:
        return None
    feature, top = max(positive, key=lambda fm: fm[1])
    return feature, top / total


def too_good(
    frame: Any,
    spec: Spec,
    *,
    importance: ImportanceResult | Sequence[tuple[str, float]] | None = None,
    trial: int | None = None,
) -> list[str]:
    """Plain sentences, one per suspicious figure; empty when nothing looks too good.

    ``frame`` is the study's trials frame (:func:`core.search.trials_frame`); ``importance`` is the
    permutation importance of one trial (``trial``), passed only where a page computed it already,
    because computing it here would re-score a model for a warning.
    """
    out = []
    best = _best_test_auc(frame)
    if best is not None and best[1] >= AUC_SUSPECT:
        out.append(
            f"Held-out ROC AUC {best[1]:.3f} (trial #{best[0]}) is higher than honest tables give; a column "
            f"may carry the outcome. Look for columns recorded after {spec.data.target!r} was known "
            "(a later event, an end date, a follow-up flag) and exclude them in the data step"
            + (" (suspected leaks are kept in this spec)." if spec.data.keep_suspected_leaks else ".")
        )
    share = importance_share(importance) if importance is not None else None
    if share is not None and share[1] >= IMPORTANCE_SUSPECT:
        who = f"trial #{trial}" if trial is not None else "this model"
        out.append(
            f"Column {share[0]!r} carries {share[1]:.0%} of {who}'s permutation importance; check that it "
            f"is known before {spec.data.target!r} is, or the model leans on a leak."
        )
    return out


__all__ = ["AUC_SUSPECT", "IMPORTANCE_SUSPECT", "importance_share", "too_good"]
