"""``tradeoff compare``: the Compare page's comparison in a terminal, as tables or JSON, and its mistakes."""

from __future__ import annotations

import json
import sqlite3

import optuna
import pytest

from core import cli, search
from core.decide import compare, front
from core.export import verdict as room_verdict
from tests.core.test_cli import assert_one_line_error, run


@pytest.fixture(scope="module")
def pair(finished_study) -> tuple[str, str, list[int]]:
    """The page's default pair of the finished study: best complex vs best simple."""
    url, name, spec = finished_study
    frame = front.trials_frame(search.open_study(url, name).get_trials(), spec)
    p = compare.default_pair(frame, spec)
    assert p.challenger is not None and p.baseline is not None
    return url, name, [p.challenger, p.baseline]


def test_compare_prints_the_tables_and_the_verdict(capsys, pair):
    url, name, (challenger, baseline) = pair
    code, out, err = run(capsys, "compare", "--storage", url, "--study", name, "--trials", f"{challenger},{baseline}")
    assert code == 0, err
    assert f"baseline #{baseline}" in out
    for column in ("metric", "difference", "interval", "p (bootstrap)", "verdict", "cost", "ratio"):
        assert column in out, column
    assert "ROC AUC" in out and "Model size" in out and "McNemar" in out
    verdict = next(line for line in out.splitlines() if line.startswith("verdict: "))
    assert "ROC AUC (" in verdict and "95 % interval" in verdict
    assert "α" not in out and "p = 0.000" not in out
    assert "Comparing #" in err  # the progress bar is on stderr, never in the table
    # the verdict is kept in the study, so `tradeoff export` puts it in the bundle by itself
    kept = room_verdict.last(url, name)
    search.open_study(url, name).set_user_attr(room_verdict.ATTR_VERDICT, None)
    assert kept is not None and verdict == f"verdict: {kept['sentence']}"
    assert kept["trials"] == sorted([challenger, baseline]) and kept["baseline"] == baseline


def test_compare_json_is_the_pages_report(capsys, pair, monkeypatch):
    url, name, numbers = pair
    calls = []
    real = compare.run

    def spy(*a, **kw):  # the page's own function, with the page's defaults
        calls.append((a, kw))
        return real(*a, **kw)

    monkeypatch.setattr(compare, "run", spy)
    code, out, err = run(capsys, "compare", "--storage", url, "--study", name, "--trials", ",".join(map(str, numbers)))
    assert code == 0, err
    code, js, err = run(
        capsys, "compare", "--storage", url, "--study", name, "--trials", ",".join(map(str, numbers)), "--json"
    )
    assert code == 0, err
    data = json.loads(js)  # the whole stdout is JSON: the bar went to stderr
    assert len(calls) == 2 and calls[0][0] == (url, name, [str(n) for n in numbers])
    assert data["study"] == name and data["baseline"] == numbers[1]
    (comp,) = data["comparisons"]
    assert {comp["challenger"]["number"], comp["baseline"]["number"]} == set(numbers)
    assert comp["sentence"] in out  # both read the search's stored figures: the same sentence
    assert {d["metric"] for d in comp["differences"]} >= {"roc_auc", "accuracy"}
    assert "NaN" not in js and "Infinity" not in js


def test_compare_accepts_an_option_key(capsys, pair, monkeypatch):
    from sklearn.pipeline import Pipeline

    from core.search import reader

    url, name, (challenger, baseline) = pair
    curve = reader.read_curves(url, name)[challenger]
    point = next(i for i in range(len(curve["threshold"])) if i != curve["tuned"])

    def refuse(self, *a, **k):
        raise AssertionError("compare fitted a model")

    monkeypatch.setattr(Pipeline, "fit", refuse)  # an option is judged from the stored predictions
    trials = f"{challenger}@{point},{baseline}"
    code, js, err = run(capsys, "compare", "--storage", url, "--study", name, "--trials", trials, "--json")
    assert code == 0, err
    (comp,) = json.loads(js)["comparisons"]
    side = next(s for s in (comp["challenger"], comp["baseline"]) if s["number"] == challenger)
    assert side["threshold"] == pytest.approx(curve["threshold"][point])
    assert "at threshold" in side["label"]
    assert side["test"]["accuracy"] == pytest.approx(curve["test"]["accuracy"][point])


@pytest.fixture
def unfinished(finished_study, tmp_path) -> tuple[str, str, int]:
    """A copy of the finished study with one trial still running."""
    url, name, _ = finished_study
    copy = tmp_path / "copy.db"
    with sqlite3.connect(url.removeprefix("sqlite:///")) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)  # the backup API also copies what still sits in the write-ahead log
    copy_url = f"sqlite:///{copy}"
    trial = optuna.load_study(study_name=name, storage=copy_url).ask()
    return copy_url, name, trial.number


@pytest.mark.parametrize(
    "trials, text",
    [
        ("0", "--trials needs two or more trial numbers, got 1"),
        ("2,2", "--trials names trial #2 twice"),
        ("0,999", "has no trial #999"),
        ("0,x", "argument --trials: expected trial numbers (or options like 3@2) separated by commas"),
    ],
)
def test_bad_trials_are_one_line_and_exit_2(capsys, finished_study, trials, text):
    url, name, _ = finished_study
    try:
        code = cli.main(["compare", "--storage", url, "--study", name, "--trials", trials])
    except SystemExit as exc:  # argparse's own usage errors
        code = int(exc.code or 0)
    _, err = capsys.readouterr()
    assert_one_line_error(code, err, text)


def test_unknown_study_and_unfinished_trial_say_what_to_do(capsys, finished_study, unfinished):
    url, name, _ = finished_study
    code, _, err = run(capsys, "compare", "--storage", url, "--study", "nope", "--trials", "0,1")
    assert_one_line_error(code, err, "No study named 'nope'")
    assert name in err  # the studies there are listed
    copy_url, name, running = unfinished
    code, _, err = run(capsys, "compare", "--storage", copy_url, "--study", name, "--trials", f"0,{running}")
    assert_one_line_error(code, err, f"Trial #{running} did not complete (state RUNNING); choose a finished trial")
