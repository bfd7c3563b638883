"""The Compare page (AppTest): empty storage, and a real comparison on the finished study."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from core import objectives as obj
from core import search
from core.decide import compare, front

PAGE = "../../pages/compare.py"


def _page(name: str | None, timeout: float = 240) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=timeout)
    if name:
        at.query_params["study"] = name
    return at.run()


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def test_empty_storage_says_what_to_do_first():
    at = _page(None)
    _ok(at)
    assert any("No study chosen yet" in i.value for i in at.info)
    assert not at.multiselect


def test_compare_on_a_finished_study(finished_study, monkeypatch):
    url, name, spec = finished_study
    monkeypatch.setenv("TRADEOFF_STORAGE", url)
    runs, real_run = [], compare.run

    def counted_run(*a, **kw):  # the real comparison, counted, with its progress reports
        steps = []
        rep = real_run(
            *a,
            on_progress=lambda m, f: (steps.append(f), kw["on_progress"](m, f)),
            **{k: v for k, v in kw.items() if k != "on_progress"},
        )
        runs.append(steps)
        return rep

    monkeypatch.setattr(compare, "run", counted_run)
    at = _page(name)
    _ok(at)
    # one comparison, whose progress went from re-fitting to done
    assert len(runs) == 1 and runs[0][-1] == 1.0 and len(runs[0]) >= 4
    assert runs[0] == sorted(runs[0])
    at.run()  # a rerun with the same settings reuses the report
    assert len(runs) == 1
    # the default pair: best complex vs best simple within the limits
    frame = front.trials_frame(search.open_study(url, name).get_trials(), spec)
    pair = compare.default_pair(frame, spec)
    picker = at.multiselect[0]
    assert sorted(picker.value) == sorted([pair.challenger, pair.baseline])
    assert at.selectbox[0].value == pair.baseline
    # the verdict sentence comes first, in a success or info box, with the AUC interval
    boxes = [b.value for b in at.success] + [b.value for b in at.info]
    sentence = next(b for b in boxes if "AUC" in b)
    assert "95 % interval" in sentence and any(w in sentence for w in ("slower", "faster", "about as fast"))
    assert "α" not in sentence
    # tables: objective verdicts, metrics with intervals, cost ratios, fairness gaps, cascade
    tables = [t.value for t in at.dataframe]
    metric = next(t for t in tables if "interval" in t.columns and "difference" in t.columns)
    assert set(metric["verdict"]) <= {compare.BETTER, compare.SAME, compare.WORSE}
    assert "ROC AUC" in set(metric["metric"])
    assert any("share to complex" in t.columns for t in tables)
    # figures: forest plot with a zero line, fronts per class, fairness bars, importance, cascade
    figs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    titles = [json.dumps(f["layout"].get("title", "")) for f in figs]
    for wanted in (
        "Differences",
        "Pareto front of each class",
        "Per-group metrics",
        "Permutation importance",
        "Cascade",
    ):
        assert any(wanted in t for t in titles), wanted
    forest = figs[[i for i, t in enumerate(titles) if "Differences" in t][0]]
    assert any(s.get("x0") == 0 and s.get("x1") == 0 for s in forest["layout"]["shapes"])
    fairness = figs[[i for i, t in enumerate(titles) if "Per-group" in t][0]]
    assert all("error_y" in tr for tr in fairness["data"])
    # the JSON export is offered
    assert any(b.proto.label.startswith("Download the comparison") for b in at.get("download_button"))
    # the cascade's criterion and kept share are the room's choice: they reach the cascade's note
    assert any("keep 90%" in c.value and obj.get("value_per_1k").label in c.value for c in at.caption)
    at.selectbox(key="cmp_cascade_criterion").set_value("accuracy")
    at.slider(key="cmp_cascade_keep").set_value(0.6)
    at.run()
    _ok(at)
    assert len(runs) == 2  # new settings, new comparison
    assert any("keep 60%" in c.value and obj.get("accuracy").label in c.value for c in at.caption)
    # one candidate left: the page asks for a second instead of failing
    at.multiselect[0].set_value([pair.baseline]).run()
    _ok(at)
    assert any("Pick at least two candidates" in i.value for i in at.info)
    assert not at.get("plotly_chart")
