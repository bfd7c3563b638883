"""A stored trial re-fits to exactly the metrics the search recorded."""

import pytest

from core import objectives as obj
from core import search
from core.decide import compare as cmp
from core.errors import UserInputError
from core.models import candidate

DETERMINISTIC = [m for m in obj.REGISTRY if obj.get(m).group in ("quality", "fairness")] + [
    "model_size_bytes",
    "n_parameters",
]


def test_refit_reproduces_stored_metrics(finished_study):
    url, name, spec = finished_study
    study = search.open_study(url, name)
    cand = candidate.refit(study, search.load_spec(study), 0)
    assert cand.pipeline is not None and cand.study_name == name and cand.number == 0
    assert cand.evaluation.test_proba is not None and len(cand.evaluation.test_proba) == len(cand.test_idx)
    for m in DETERMINISTIC:
        assert cand.evaluation.metrics[m] == pytest.approx(cand.stored_metrics[m], rel=1e-12, abs=1e-12), m


def test_load_candidate_opens_the_study_and_refits(finished_study):
    url, name, _ = finished_study
    cand = cmp.load_candidate(url, name, 0)
    assert cand.evaluation.metrics["roc_auc"] == pytest.approx(cand.stored_metrics["roc_auc"], rel=1e-12)


def test_unknown_trial_is_a_clear_error(finished_study):
    url, name, _ = finished_study
    with pytest.raises(UserInputError, match=r"has no trial #999 \(it has 8 trials"):
        cmp.load_candidate(url, name, 999)
