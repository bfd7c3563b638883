"""The ``tradeoff`` command, in-process (fast) and once as a real subprocess."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from core import cli, search
from core import objectives as obj
from core.decide import front
from core.spec import Spec
from tests.conftest import ROOT


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, text: str) -> None:
    assert code == cli.EXIT_USER
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and text in lines[0], lines[0]
    assert "Traceback" not in err


def test_init_writes_a_valid_spec(capsys, small_csv, tmp_path):
    out_path = tmp_path / "spec.json"
    code, out, err = run(
        capsys,
        "init",
        str(small_csv),
        "--target",
        "converted",
        "--sensitive",
        "age_band",
        "--value",
        "fee_eur",
        "--limit",
        "latency_p95_ms=0.05 s",
        "--trials",
        "9",
        "-o",
        str(out_path),
    )
    assert code == 0, err
    assert out.startswith(f"wrote {out_path}: target 'converted', objectives roc_auc, latency_p95_ms, dp_diff")
    spec = Spec.load(out_path)
    assert spec.data.sensitive == ("age_band",) and spec.data.value_column == "fee_eur"
    assert spec.data.fingerprint and spec.data.fingerprint in out
    assert spec.objectives[1].limit == pytest.approx(50.0) and spec.budget.n_trials == 9
    assert spec.value_model.value_tp == 0.0 and spec.value_model.value_fp < 0  # the value column prices TPs


def test_init_tells_what_it_did_to_a_messy_table(capsys, tmp_path):
    # an ID, a date, a leak and ' >50K.'-style labels: init must say what it dropped and merged
    rng = np.random.default_rng(0)
    n = 300
    y = rng.random(n) < 0.4
    df = pd.DataFrame(
        {
            "row_id": np.arange(n),
            "signup": pd.date_range("2024-01-01", periods=n).astype(str),
            "age": rng.integers(18, 80, n),
            "sex": rng.choice(["F", "M"], n),
            "income": np.where(y, " >50K.", "<=50K"),
            "income_code": y.astype(int),
        }
    )
    csv = tmp_path / "messy.csv"
    df.to_csv(csv, index=False)
    code, out, err = run(
        capsys, "init", str(csv), "--target", "income", "--sensitive", "sex", "-o", str(tmp_path / "s.json")
    )
    assert code == 0, err
    assert f"data: {n} rows, 1 numeric and 0 categorical feature(s)" in out
    assert "Dropped column 'row_id': identifier" in out
    assert "Dropped column 'signup': date/time column" in out
    assert "Dropped column 'income_code': suspected target leak" in out
    assert "Positive class of 'income': '>50K" in out
    assert Spec.load(tmp_path / "s.json").sampler == "nsga2"
    # two tiny groups: refused with the flag that fixes it, then pooled (15 + 16 rows) with it
    df.loc[:14, "sex"] = "X"
    df.loc[15:30, "sex"] = "Y"
    df.to_csv(csv, index=False)
    code, _, err = run(
        capsys, "init", str(csv), "--target", "income", "--sensitive", "sex", "-o", str(tmp_path / "s.json")
    )
    assert code == 2 and "'Y' (16 rows), 'X' (15 rows)" in err and "--merge-small-groups" in err
    code, out, err = run(
        capsys,
        "init",
        str(csv),
        "--target",
        "income",
        "--sensitive",
        "sex",
        "--merge-small-groups",
        "--max-train-rows",
        "200",
        "--cv-folds",
        "4",
        "-o",
        str(tmp_path / "s.json"),
    )
    assert code == 0, err
    assert "pooled into 'other (groups under 30 rows)': 'Y' (16), 'X' (15)." in out
    spec = Spec.load(tmp_path / "s.json")
    assert spec.data.merge_small_groups and spec.validation.max_train_rows == 200
    assert spec.validation.cv_folds == 4


def test_init_on_panel_data_groups_by_the_person(capsys, tmp_path):
    from tests.core.test_data import _panel

    csv = tmp_path / "males.csv"
    _panel().to_csv(csv, index=False)
    code, out, err = run(capsys, "init", str(csv), "--target", "union", "-o", str(tmp_path / "a.json"))
    assert code == 0, err
    assert "Column 'nr' looks like the ID of an entity" in out
    assert Spec.load(tmp_path / "a.json").data.detect_entity is True
    code, out, err = run(
        capsys, "init", str(csv), "--target", "union", "--no-entity-detection", "-o", str(tmp_path / "b.json")
    )
    assert code == 0 and "entity" not in out
    assert Spec.load(tmp_path / "b.json").data.detect_entity is False
    code, out, err = run(
        capsys, "init", str(csv), "--target", "union", "--entity", "nr", "-o", str(tmp_path / "c.json")
    )
    assert code == 0 and "grouped by the entity column 'nr' (300 entities)" in out
    assert Spec.load(tmp_path / "c.json").data.entity_column == "nr"
    code, _, err = run(capsys, "init", str(csv), "--target", "union", "--entity", "union")
    assert code == 2 and "'union' is the target" in err


def test_init_with_a_time_column_tests_on_the_latest_rows(capsys, small_csv, tmp_path):
    code, out, err = run(
        capsys,
        "init",
        str(small_csv),
        "--target",
        "converted",
        "--time-column",
        "shown_at",
        "-o",
        str(tmp_path / "t.json"),
    )
    assert code == 0, err
    assert "Time split on 'shown_at' (dates): the test part is the most recent rows" in out
    assert Spec.load(tmp_path / "t.json").data.time_column == "shown_at"
    code, _, err = run(
        capsys, "init", str(small_csv), "--target", "converted", "--time-column", "fee_eur", "--value", "fee_eur"
    )
    assert code == 2 and "'fee_eur' is the value column" in err


def test_init_without_sensitive_leaves_fairness_out(capsys, small_csv, tmp_path):
    code, _, err = run(capsys, "init", str(small_csv), "--target", "converted", "-o", str(tmp_path / "s.json"))
    assert code == 0, err
    assert Spec.load(tmp_path / "s.json").objective_names == ["roc_auc", "latency_p95_ms"]


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["init", "{dir}/nope.csv", "--target", "converted"], "nope.csv' does not exist."),
        (
            ["init", "{csv}", "--target", "convertd"],
            "The target column 'convertd' is not in the table. Columns: ad_id, shown_at, age_band,",
        ),
        (
            ["init", "{csv}", "--target", "converted", "--objectives", "roc_auc,speed"],
            "objectives: unknown objective 'speed'. Allowed: roc_auc",
        ),
        (
            ["init", "{csv}", "--target", "converted", "--objectives", "roc_auc,dp_diff"],
            "dp_diff measures gaps between sensitive groups",
        ),
        (
            ["init", "{csv}", "--target", "converted", "--limit", "roc_auc=80"],
            "objectives.roc_auc.limit: 80 is outside the possible range of roc_auc [0, 1]",
        ),
        (["init", "{csv}", "--target", "converted", "--limit", "fast"], "--limit expects NAME=VALUE"),
        (["init", "{csv}", "--target", "converted", "--trials", "0"], "argument --trials: must be at least 1"),
        (["init", "{csv}", "--target", "converted", "-o", "{dir}/no/such/dir/s.json"], "does not exist."),
        (["init", "{csv}", "--target", "converted", "-o", "{dir}"], "is a folder"),
        (["init", "{csv}"], "the following arguments are required: --target"),
        (["search", "{dir}/missing.json"], "Spec file '"),
        (["front", "--study", "nope"], "tradeoff.db' does not exist, so it holds no studies"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, small_csv, tmp_path, args, text):
    argv = [a.format(dir=tmp_path, csv=small_csv) for a in args]
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code
    _, err = capsys.readouterr()
    assert_one_line_error(code, err, text)


def test_search_front_and_studies_in_process(capsys, small_csv, tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    spec_path = tmp_path / "spec.json"
    assert (
        run(
            capsys,
            "init",
            str(small_csv),
            "--target",
            "converted",
            "--sensitive",
            "age_band",
            "--families",
            "logreg,naive_bayes",
            "-o",
            str(spec_path),
        )[0]
        == 0
    )
    spec = Spec.load(spec_path)
    spec = Spec.from_dict({**spec.to_dict(), "validation": {"cv_folds": 2, "latency_repeats": 20}})
    spec.save(spec_path)
    code, out, err = run(
        capsys, "search", str(spec_path), "--storage", url, "--study", "cli", "--trials", "2", "--quiet"
    )
    assert code == 0, err
    assert "2 trial(s) run here (budget spent); study has 2 finished, 0 failed" in out
    code, out, _ = run(capsys, "studies", "--storage", url)
    assert code == 0 and out.startswith("cli\t2 of 2 run, 0 queued")
    code, out, _ = run(capsys, "front", "--storage", url, "--study", "cli")
    assert code == 0 and "hypervolume" in out and "ROC AUC" in out
    code, out, err = run(capsys, "front", "--storage", url, "--study", "cli", "--objectives", "roc_auc,speed")
    assert_one_line_error(code, err, "Unknown objective 'speed'")


def test_front_json_lists_each_pareto_trial_with_everything(capsys, finished_study):
    url, name, spec = finished_study
    code, out, err = run(capsys, "front", "--storage", url, "--study", name, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["study"] == name and data["objectives"] == spec.objective_names
    frame = front.trials_frame(search.open_study(url, name).get_trials(deepcopy=False), spec)
    pf = front.front(frame, spec.objective_names)
    assert sorted(t["number"] for t in data["trials"]) == sorted(pf["number"].tolist())
    assert sum(t["knee"] for t in data["trials"]) == 1
    for t in data["trials"]:
        row = frame.set_index("number").loc[t["number"]]
        assert t["family"] == row["family"] and t["params"]
        assert all(not k.startswith(t["family"] + ".") for k in t["params"])
        assert set(t["metrics"]) == set(obj.REGISTRY)
        for m in obj.REGISTRY:
            assert t["metrics"][m] == pytest.approx(row[m]), m
        assert set(t["test_metrics"]) == set(obj.TEST_METRICS)
    assert data["hypervolume"] > 0
    # re-chosen objectives come from stored metrics, no re-run
    code, out, _ = run(
        capsys, "front", "--storage", url, "--study", name, "--json", "--objectives", "roc_auc,model_size_bytes"
    )
    other = json.loads(out)
    assert other["objectives"] == ["roc_auc", "model_size_bytes"]
    assert sorted(t["number"] for t in other["trials"]) == sorted(
        front.front(frame, ["roc_auc", "model_size_bytes"])["number"].tolist()
    )


@pytest.mark.slow
def test_demo_runs_end_to_end_as_a_subprocess(tmp_path):
    env = {**os.environ, "TRADEOFF_HOME": str(tmp_path / "home")}
    env.pop("TRADEOFF_STORAGE", None)
    proc = subprocess.run(
        [sys.executable, "-m", "core.cli", "demo", "--trials", "3", "--fast", "--quiet"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "demo study 'demo-3-fast'" in proc.stdout
    # on the 15,000 training rows of the demo a trial may stop early: "3 done: 2 finished in full, 1 stopped early"
    assert re.search(r"3 trial\(s\) run here \(budget spent\); study has 3 (finished|done: )", proc.stdout)
    assert (tmp_path / "home" / "tradeoff.db").is_file()
    assert "Traceback" not in proc.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "core.cli", "init", "nope.csv", "--target", "y"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and bad.stderr.strip() == "error: File 'nope.csv' does not exist."


def _subcommands(parser):
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield name, sub
                yield from ((f"{name} {n}", s) for n, s in _subcommands(sub))


def test_every_command_takes_the_one_shared_storage_option():
    from core.cli._options import STORAGE_HELP

    with_storage = {
        name: next(a for a in sp._actions if "--storage" in a.option_strings)
        for name, sp in _subcommands(cli.parser())
        if any("--storage" in a.option_strings for a in sp._actions)
    }
    assert {"demo", "search", "worker", "studies", "front", "export", "import"} <= set(with_storage)
    mine = ("demo", "search", "worker", "studies", "front")
    assert all(with_storage[n].help == STORAGE_HELP and with_storage[n].default is None for n in mine)


def test_help_lists_the_catalog_s_samplers_and_families(capsys):
    from core import catalog

    assert cli.main(["init", "-h"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert all(s in out for s in catalog.SAMPLERS)
    assert all(f in out for f in catalog.FAMILY_NAMES)


def test_studies_does_not_count_queued_starter_trials_as_run(capsys, small_csv, tmp_path):
    url = f"sqlite:///{tmp_path / 'queued.db'}"
    spec_path = tmp_path / "spec.json"
    families = "logreg,naive_bayes,decision_tree"
    assert (
        run(capsys, "init", str(small_csv), "--target", "converted", "--families", families, "-o", str(spec_path))[0]
        == 0
    )
    code, _, err = run(
        capsys, "search", str(spec_path), "--storage", url, "--study", "q", "--trials", "16", "--create-only"
    )
    assert code == 0, err
    code, out, _ = run(capsys, "studies", "--storage", url)
    # one typical configuration per family is queued by the warm start; none has run yet
    assert code == 0 and out.startswith("q\t0 of 16 run, 3 queued\t"), out
