"""The Pareto explorer (AppTest): empty storage, a real finished study, exact geometry on a built one,
and a view that lives in the address (it survives other pages and a reload)."""

from __future__ import annotations

import json

import optuna
import pytest
from streamlit.testing.v1 import AppTest

from app import explorer_view as ev
from core import search
from core import storage as st
from core.decide import front, options
from core.decide.operating_points import knee_position
from core.models import families as fam
from core.search import reader as study_reader
from tests.app import helpers
from tests.app.helpers import MAIN, add_finished_trial, assert_ok, page_path, run_page, synthetic_study, texts


def _live(at) -> list:
    """The live charts (app.plotly_live): components whose arguments carry the figure's JSON."""
    return [c for c in at.get("component_instance") if c.proto.component_name.endswith(".plotly_live")]


def figures(at) -> list[dict]:
    """Every figure on the page, the live 2-D chart first (its figure is the component's ``spec``)."""
    live = [json.loads(json.loads(c.proto.json_args)["spec"]) for c in _live(at)]
    return live + helpers.figures(at)


def test_empty_database_says_what_to_do_first():
    at = run_page("explorer")
    assert any("No study chosen yet" in i for i in texts(at, "info"))


def test_a_study_without_finished_trials(small_csv):
    url = st.resolve(None)
    synthetic_study(url, "fresh", small_csv, [])
    at = run_page("explorer", study="fresh")
    assert any("No finished trials yet" in i for i in texts(at, "info"))


def test_finished_study_front_table_knee_and_details(study_env):
    url, name, spec = study_env
    at = run_page("explorer", study=name)
    names = spec.objective_names
    frame = front.trials_frame(search.open_study(url, name).get_trials(), spec)
    # the front is over options: every trial's curve of operating points, each a model and a rule
    every = options.load_options(url, name, spec)
    expected = front.front(front.annotate(every, names, spec.objectives), names)
    metrics = {m.label: m.value for m in at.metric}
    done = int((frame["state"] == "COMPLETE").sum())
    assert metrics["Finished trials"] == f"{done} of {spec.budget.n_trials}"
    # the sidebar says the same count (one function for "finished of budget")
    assert any(
        c.startswith(f"{done} of {spec.budget.n_trials} trials finished") for c in (e.value for e in at.sidebar.caption)
    )
    assert metrics["On the front"] == str(len(expected))
    table = next(d.value for d in at.dataframe if "#" in d.value.columns and "knee" in d.value.columns)
    assert sorted(table["option"]) == sorted(expected["option"])
    knee = expected["option"].iloc[knee_position(expected, names)]
    assert table.loc[table["knee"] == "★", "option"].tolist() == [knee]
    # sorted best-first by the first objective (ROC AUC, higher is better)
    auc = table[ev.column_name(names[0])].tolist()
    assert auc == sorted(auc, reverse=True)
    # details default to the knee: family, its rule, hyperparameters, every metric, per-group table
    assert at.selectbox(key=ev.TRIAL).value == knee
    number = options.parse_option(knee)[0]
    trial = search.open_study(url, name).trials[number]
    header = next(m for m in texts(at, "markdown") if m.startswith("#### "))
    assert f"#{number}" in header and fam.get(trial.user_attrs["family"]).label.split(" ")[0] in header
    rule = next(m for m in texts(at, "markdown") if m.startswith("**Rule**")).replace("\\", "")
    assert "threshold" in rule and "chosen on search data" in rule
    tables = [d.value for d in at.dataframe]
    params = next(t for t in tables if list(t.columns) == ["parameter", "value"])
    _, own = fam.split_params(trial.params)
    assert sorted(params["parameter"]) == sorted(own)
    every_metric = next(t for t in tables if "held-out test" in t.columns)
    assert len(every_metric) == 21 and set(every_metric.loc[every_metric["objective"] == "★", "metric"]) == {
        "ROC AUC",
        "Latency p95",
        "Demographic parity difference",
    }
    groups = next(t for t in tables if "selection_rate" in t.columns)
    assert sorted(groups["group"]) == sorted(g["group"] for g in trial.user_attrs["groups_test"])
    # one scatter (2-D tab) and the per-group bars; the knee is marked in the scatter
    figs = figures(at)
    scatter = figs[0]
    assert any(t.get("meta") == "knee" for t in scatter["data"])
    assert "ROC AUC (score, ↑ better)" in scatter["layout"]["xaxis"]["title"]["text"]
    # the selected option's trial is drawn as a line through all its operating points
    if study_reader.read_curves(url, name).get(number):
        line = next(t for t in scatter["data"] if t.get("meta") == "curve")
        assert line["mode"] == "lines+markers" and len(_customdata(line)) == int((every["number"] == number).sum())
    # one point per trial: the trials' own rules only, the front as it was before curves
    at.toggle(key=ev.ONE_POINT).set_value(True).run()
    assert_ok(at)
    assert {m.label: m.value for m in at.metric}["On the front"] == str(len(front.front(frame, names)))


def test_rechoosing_objectives_recomputes_the_front(study_env):
    url, name, spec = study_env
    at = run_page("explorer", study=name)
    at.multiselect(key=ev.OBJECTIVES).set_value(["accuracy", "model_size_bytes", "fit_time_s"]).run()
    assert_ok(at)
    chosen = ["accuracy", "model_size_bytes", "fit_time_s"]
    every = options.load_options(url, name, spec)
    expected = front.front(front.annotate(every, chosen, spec.objectives), chosen)
    table = next(d.value for d in at.dataframe if "knee" in d.value.columns)
    assert sorted(table["option"]) == sorted(expected["option"])
    assert {m.label: m.value for m in at.metric}["On the front"] == str(len(expected))
    at.multiselect(key=ev.OBJECTIVES).set_value(["accuracy"]).run()
    assert any("at least two objectives" in e for e in texts(at, "error"))


@pytest.fixture
def geometry(small_csv):
    """Four trials: #0 and #1 on the front, #2 dominated by #0, #3 breaks the 20 ms latency limit."""
    url = st.resolve(None)
    points = [
        {"roc_auc": 0.80, "latency_p95_ms": 10.0},
        {"roc_auc": 0.70, "latency_p95_ms": 5.0},
        {"roc_auc": 0.75, "latency_p95_ms": 12.0},
        {"roc_auc": 0.90, "latency_p95_ms": 30.0},
    ]
    synthetic_study(url, "geo", small_csv, points, limits={"latency_p95_ms": 20})
    return url, "geo"


def test_limits_faded_and_hidden_points_and_colour_by_class(geometry):
    at = run_page("explorer", study="geo")
    metrics = {m.label: m.value for m in at.metric}
    counts = (metrics["Finished trials"], metrics["Hold limits in search"], metrics["On the front"])
    assert counts == ("4 of 6", "3", "2")
    scatter = figures(at)[0]
    kinds = {t["meta"] for t in scatter["data"]}
    assert {"front", "dominated", "infeasible", "knee"} <= kinds
    numbers = {t["meta"]: [c[0] for c in _customdata(t)] for t in scatter["data"] if "customdata" in t}
    assert numbers["dominated"] == [2] and numbers["infeasible"] == [3]
    # the hard limit is drawn where it is: a dashed vertical line at 20 ms on the latency axis
    at.selectbox(key=ev.X).set_value("latency_p95_ms").run()
    at.selectbox(key=ev.Y).set_value("roc_auc").run()
    shapes = figures(at)[0]["layout"]["shapes"]
    assert [(s["x0"], s["line"]["dash"]) for s in shapes] == [(20.0, "dash")]
    at.radio(key=ev.OTHERS).set_value("hidden").run()
    kinds = {t["meta"] for t in figures(at)[0]["data"]}
    assert "dominated" not in kinds and "infeasible" not in kinds
    at.radio(key=ev.COLOR).set_value("family_class").run()
    front_names = {t["name"] for t in figures(at)[0]["data"] if t["meta"] == "front"}
    assert front_names <= {"simple", "complex", "ensemble"} and front_names


def _decode(data) -> list:
    """A figure array as a list: plotly ships numeric arrays as base64 typed arrays."""
    if isinstance(data, dict):
        import base64

        import numpy as np

        arr = np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"])
        shape = [int(v) for v in str(data.get("shape", len(arr))).split(",")]
        return arr.reshape(shape).tolist()
    return data


def _customdata(trace: dict) -> list:
    rows = _decode(trace["customdata"])
    return [[int(v) for v in (r if isinstance(r, list) else [r])] for r in rows]


def test_picked_trial_and_a_new_trial_show_up(geometry):
    url, name = geometry
    at = run_page("explorer", study=name)
    at.session_state[ev.CHART] = {"selection": {"points": [{"customdata": [3]}]}}  # a click on #3
    at.run()
    assert_ok(at)
    revision = figures(at)[0]["layout"]["uirevision"]  # names the view, so a redraw keeps the zoom
    assert name in revision
    header = next(m for m in texts(at, "markdown") if m.startswith("#### "))
    assert header.startswith("#### #3")
    assert any("breaks a hard limit" in c for c in texts(at, "caption"))
    # a trial finished by a worker meanwhile: the next rerun reads it (signature changed)
    before = study_reader.signature(url, name)
    add_finished_trial(url, name, {"roc_auc": 0.95, "latency_p95_ms": 4.0})
    assert study_reader.signature(url, name) != before
    at.run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Finished trials"] == "5 of 6" and metrics["On the front"] == "1"  # #4 dominates all
    assert figures(at)[0]["layout"]["uirevision"] == revision  # new trials drawn, the person's zoom kept
    assert next(m for m in at.metric if m.label == "Finished trials").delta == "1 new since you opened it"


def _view(at) -> dict:
    return {
        "objectives": at.multiselect(key=ev.OBJECTIVES).value,
        "x": at.selectbox(key=ev.X).value,
        "y": at.selectbox(key=ev.Y).value,
        "color": at.radio(key=ev.COLOR).value,
        "trial": at.selectbox(key=ev.TRIAL).value,
    }


def test_the_view_survives_another_page_and_a_reload(geometry):
    url, name = geometry
    at = run_page("explorer", study=name)
    knee = at.selectbox(key=ev.TRIAL).value
    # the spec's objectives by default, never an empty box
    assert at.multiselect(key=ev.OBJECTIVES).value == ["roc_auc", "latency_p95_ms"]
    at.selectbox(key=ev.X).set_value("latency_p95_ms").run()
    at.selectbox(key=ev.Y).set_value("roc_auc").run()
    at.radio(key=ev.COLOR).set_value("family_class").run()
    at.session_state[ev.CHART] = {"selection": {"points": [{"customdata": [3]}]}}  # a click on #3
    at.run()
    assert_ok(at)
    chosen = _view(at)
    assert chosen["trial"] == "3" != knee  # the option key: trial 3's own rule
    # another page and back: Streamlit drops unrendered widgets' state; the address keeps it
    at.switch_page(page_path("data")).run()
    assert_ok(at)
    at.switch_page(page_path("explorer")).run()
    assert_ok(at)
    assert not any("at least two objectives" in e for e in texts(at, "error"))
    assert _view(at) == chosen
    assert next(m for m in texts(at, "markdown") if m.startswith("#### ")).startswith("#### #3")
    # the address names the view, the selected trial included (the objectives as the picker writes them)
    params = {k: at.query_params.get(k) for k in at.query_params}
    assert params["study"] == name and params[ev.TRIAL] == "3"
    assert params[ev.X] == ev.metric_label("latency_p95_ms") and params[ev.COLOR] == "class"
    # a reload (or a colleague opening the link): a new session from the same address sees the same view
    again = AppTest.from_file(MAIN, default_timeout=120)
    for k, v in params.items():
        again.query_params[k] = v
    again.switch_page(page_path("explorer")).run()
    assert_ok(again)
    assert _view(again) == chosen


def test_a_link_to_other_objectives_and_a_missing_trial(geometry):
    url, name = geometry
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.query_params["study"] = name
    at.query_params[ev.OBJECTIVES] = [ev.metric_label("latency_p95_ms"), ev.metric_label("roc_auc")]
    at.query_params[ev.TRIAL] = "99"  # no such trial: the knee instead, no error
    at.switch_page(page_path("explorer")).run()
    assert_ok(at)
    assert at.multiselect(key=ev.OBJECTIVES).value == ["latency_p95_ms", "roc_auc"]
    points, knee = ev.analysis(url, name, study_reader.signature(url, name), ("latency_p95_ms", "roc_auc"))
    assert at.selectbox(key=ev.TRIAL).value == knee


def test_a_result_too_good_to_be_true_is_warned_about_first(small_csv):
    url = st.resolve(None)
    points = [{"roc_auc": 0.75, "latency_p95_ms": 1.0}, {"roc_auc": 0.999, "latency_p95_ms": 2.0}]
    synthetic_study(url, "too-good", small_csv, points)  # held-out AUC 0.989 on trial #1
    at = run_page("explorer", study="too-good")
    warnings = [w.replace("\\", "") for w in texts(at, "warning")]  # shown Markdown-escaped
    assert any("Held-out ROC AUC 0.989 (trial #1)" in w and "may carry the outcome" in w for w in warnings), warnings
    synthetic_study(
        url, "honest", small_csv, [{"roc_auc": 0.8, "latency_p95_ms": 1.0}, {"roc_auc": 0.75, "latency_p95_ms": 2.0}]
    )
    at = run_page("explorer", study="honest")
    assert not any("Held" in w and "ROC AUC" in w for w in texts(at, "warning"))


def test_the_live_chart_is_one_chart_while_trials_finish(geometry):
    """``st.plotly_chart`` gives a changed figure a new element id (the browser mounts a new chart,
    the zoom resets); the live chart keeps one id, its key, and only its figure moves on, under the
    same ``uirevision``, so Plotly.react keeps the person's zoom."""
    url, name = geometry
    at = run_page("explorer", study=name)
    assert not any(ev.CHART in c.proto.id for c in at.get("plotly_chart"))  # the 2-D chart is the live one
    assert not [t for t in at.toggle if t.label == "Hold the chart"]  # nothing to hold any more
    (before,) = _live(at)
    assert ev.CHART in before.proto.id
    _add_trial(url, name, {"roc_auc": 0.95, "latency_p95_ms": 4.0})
    at.run()
    assert_ok(at)
    (now,) = _live(at)
    assert {m.label: m.value for m in at.metric}["Finished trials"] == "5 of 6"
    old, new = (json.loads(json.loads(c.proto.json_args)["spec"]) for c in (before, now))
    assert now.proto.id == before.proto.id and new != old  # the same chart, a new figure
    assert new["layout"]["uirevision"] == old["layout"]["uirevision"]
    assert 4 in {c[0] for t in new["data"] if "customdata" in t for c in _customdata(t)}
    # drawn with the app's own light template, not the placeholder colours only st.plotly_chart swaps
    assert "#000001" not in json.dumps(new["layout"]["template"])


def test_a_second_click_on_the_same_point_selects_it_again(geometry):
    """The live chart tags each click; a point clicked, another option picked, then the point
    clicked again selects it again (the same event twice would read as no news)."""
    url, name = geometry
    at = run_page("explorer", study=name)
    at.session_state[ev.CHART] = {"selection": {"points": [{"customdata": [3, -1]}]}, "seq": "1-1"}
    at.run()
    assert at.selectbox(key=ev.TRIAL).value == "3"
    at.selectbox(key=ev.TRIAL).set_value("0").run()
    assert at.selectbox(key=ev.TRIAL).value == "0"  # the picker wins over an old click
    at.session_state[ev.CHART] = {"selection": {"points": [{"customdata": [3, -1]}]}, "seq": "2-2"}
    at.run()
    assert_ok(at)
    assert at.selectbox(key=ev.TRIAL).value == "3"


def _add_trial(url: str, name: str, metrics: dict, **attrs) -> None:
    study = optuna.load_study(study_name=name, storage=url)
    first = study.trials[0]
    study.add_trial(
        optuna.trial.create_trial(
            params=first.params,
            distributions=first.distributions,
            values=[metrics[k] for k in study.user_attrs.get("_objective_order", metrics)],
            user_attrs={**first.user_attrs, "metrics": metrics, **attrs},
        )
    )


@pytest.fixture
def curvy(small_csv):
    """Three one-point trials and #3, whose curve has three operating points (its own rule is point 1)
    and whose latency is only the screening estimate."""
    url = st.resolve(None)
    points = [
        {"accuracy": 0.70, "dp_diff": 0.10},
        {"accuracy": 0.80, "dp_diff": 0.30},
        {"accuracy": 0.75, "dp_diff": 0.40},
    ]
    synthetic_study(url, "curvy", small_csv, points, objectives=("accuracy", "dp_diff"))
    curve = {
        "kind": "threshold",
        "threshold": [0.2, 0.5, 0.8],
        "tuned": 1,
        "search": {"accuracy": [0.74, 0.78, 0.72], "dp_diff": [0.20, 0.15, 0.05]},
        "test": {"accuracy": [0.73, 0.77, 0.71], "dp_diff": [0.22, 0.16, 0.06]},
    }
    _add_trial(
        url,
        "curvy",
        {"accuracy": 0.78, "dp_diff": 0.15},
        **{"tradeoff.curve": curve, "threshold": 0.5, "tradeoff.latency": {"scope": "screening", "path": "sklearn"}},
    )
    return url, "curvy"


def test_options_a_clicked_rule_and_its_trials_curve(curvy):
    url, name = curvy
    at = run_page("explorer", study=name)
    table = next(d.value for d in at.dataframe if "knee" in d.value.columns)
    # #3's other rules are options of their own: 3@2 (dp 0.05) joins the front beside 3 and #1
    assert {"3", "3@2"} <= set(table["option"]) and "3@0" not in set(table["option"])
    assert table.loc[table["option"] == "3@2", "rule"].tolist() == ["threshold 0.80"]
    at.session_state[ev.CHART] = {"selection": {"points": [{"customdata": [3, 2]}]}}  # a click on 3@2
    at.run()
    assert_ok(at)
    assert at.selectbox(key=ev.TRIAL).value == "3@2" and at.query_params[ev.TRIAL] == "3@2"
    header = next(m for m in texts(at, "markdown") if m.startswith("#### "))
    assert header.startswith("#### #3 · ") and header.endswith(" · at threshold 0.80")
    rule = next(m for m in texts(at, "markdown") if m.startswith("**Rule**")).replace("\\", "")  # shown escaped
    assert "threshold 0.80 (another point of the trial's curve), chosen on search data" in rule
    every = next(d.value for d in at.dataframe if "held-out test" in d.value.columns)
    acc = every[every["metric"] == "Accuracy"].iloc[0]
    assert (acc["value (search)"], acc["held-out test"]) == ("0.7200", "0.7100")  # this rule's figures, both parts
    assert any("latency: screening estimate" in c for c in texts(at, "caption"))
    scatter = figures(at)[0]
    line = next(t for t in scatter["data"] if t.get("meta") == "curve")
    assert _decode(line["x"]) == [0.74, 0.78, 0.72] and [c[:2] for c in _customdata(line)] == [[3, 0], [3, 1], [3, 2]]
    hover = " ".join(str(t.get("text")) for t in scatter["data"] if t.get("meta") == "front")
    assert "at threshold 0.80 · " in hover
    # an old address naming a bare trial number selects that trial's own rule
    again = AppTest.from_file(MAIN, default_timeout=120)
    again.query_params["study"] = name
    again.query_params[ev.TRIAL] = "3"
    again.switch_page(page_path("explorer")).run()
    assert_ok(again)
    assert again.selectbox(key=ev.TRIAL).value == "3"
    assert next(m for m in texts(again, "markdown") if m.startswith("#### ")).startswith("#### #3 · ")
    # one point per trial: the trials' own rules only, for comparison
    again.toggle(key=ev.ONE_POINT).set_value(True).run()
    table = next(d.value for d in again.dataframe if "knee" in d.value.columns)
    assert "@" not in "".join(table["option"])
