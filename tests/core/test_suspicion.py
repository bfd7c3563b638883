""" "Too good to be true" after the search, and value in the team's units where nobody priced it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from core import cli
from core import objectives as obj
from core.decide import compare as cmp
from core.decide.compare import tables
from core.decide.suspicion import AUC_SUSPECT, importance_share, too_good
from core.spec import Budget, DataRef, Objective, Spec, Validation, ValueModel


def _frame(aucs, states=None) -> pd.DataFrame:
    states = states or ["COMPLETE"] * len(aucs)
    return pd.DataFrame({"number": range(len(aucs)), "state": states, obj.TEST_ATTR + "roc_auc": aucs})


def test_a_held_out_auc_honest_tables_do_not_give_is_named_with_its_trial(small_spec):
    (line,) = too_good(_frame([0.74, 0.991, 0.76]), small_spec)
    assert "Held-out ROC AUC 0.991 (trial #1)" in line and "'converted'" in line
    assert too_good(_frame([0.74, AUC_SUSPECT - 0.001]), small_spec) == []
    # a failed trial's figure is no result
    assert too_good(_frame([0.74, 0.999], ["COMPLETE", "FAIL"]), small_spec) == []
    assert too_good(None, small_spec) == [] and too_good(_frame([]), small_spec) == []


def test_one_column_carrying_most_of_the_importance_is_named(small_spec):
    rows = [("is_recid", 0.30), ("age", 0.05), ("noise", -0.02)]  # noise counts as zero, not as negative share
    assert importance_share(rows) == ("is_recid", pytest.approx(0.30 / 0.35))
    (line,) = too_good(None, small_spec, importance=rows, trial=3)
    assert "'is_recid' carries 86% of trial #3's permutation importance" in line
    assert too_good(None, small_spec, importance=[("a", 0.1), ("b", 0.1), ("c", 0.1)]) == []
    assert too_good(None, small_spec, importance=[("a", 0.0), ("b", -0.1)]) == []


@pytest.fixture(scope="module")
def leaky(tmp_path_factory, small_csv):
    """The demo without its value column, plus a copy of the target kept on purpose."""
    home = tmp_path_factory.mktemp("leaky")
    df = pd.read_csv(small_csv).drop(columns=["fee_eur"])
    df["converted_later"] = df["converted"].astype(str)
    path = home / "leaky.csv"
    df.to_csv(path, index=False)
    spec = Spec(
        data=DataRef(path=str(path), target="converted", sensitive=("age_band",), keep_suspected_leaks=True),
        objectives=(Objective("roc_auc"), Objective("value_per_1k")),
        families=("logreg", "decision_tree"),
        budget=Budget(n_trials=3),
        seed=0,
        validation=Validation(cv_folds=2, latency_repeats=20),
    )
    spec_path = home / "spec.json"
    spec.save(spec_path)
    return spec_path, f"sqlite:///{home / 'study.db'}"


def test_search_and_front_warn_on_a_kept_leak_and_show_no_euros(capsys, leaky):
    spec_path, url = leaky
    argv = ["--storage", url, "--study", "leaky"]
    assert cli.main(["search", str(spec_path), *argv, "--workers", "1", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "warning: Held-out ROC AUC" in out and "higher than honest tables give" in out
    assert "suspected leaks are kept" in out
    assert "€" not in out and "utility units" in out  # no value column: net value is not money
    assert cli.main(["front", *argv]) == 0
    out = capsys.readouterr().out
    assert "warning: Held-out ROC AUC" in out and "€" not in out and "utility units" in out


def test_unpriced_value_reads_in_utility_units_in_the_verdict_and_its_table():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 800)
    good = np.clip(y * 0.6 + rng.random(800) * 0.4, 0, 1)
    weak = rng.random(800)
    for vm, money in ((ValueModel(), False), (ValueModel(value_tp=5.0, money=True), True)):
        ctx = cmp.Context(y=y, value_model=vm)
        diffs = cmp.paired_bootstrap(ctx, cmp.Scored(good, 0.5), cmp.Scored(weak, 0.5), n_boot=300, seed=0)
        value = next(d for d in diffs if d.metric == "value_per_1k")
        assert value.verdict == cmp.BETTER
        info = cmp.CandidateInfo(1, "x", "Gradient boosting", "complex", 0.5, {}, 1e5, 10, 0.1, 4.0, 3.0, 0.1)
        base = dataclasses.replace(info, label="Logistic regression", klass="simple")
        sentence = cmp.verdict_sentence(info, base, diffs, [], primary="roc_auc")
        table = tables.metric_table(
            {"differences": [vars(d) for d in diffs], "baseline": {"label": "b"}, "challenger": {"label": "c"}}
        )
        row = table[table["metric"] == value.label].iloc[0]
        assert ("€" in sentence) == money and ("€" in " ".join(map(str, row))) == money, sentence
        assert ("utility units more per 1,000 decisions" in sentence) == (not money), sentence
