"""Limits as views in the app (AppTest): a limit relaxed on the Explorer or re-saved on the Objectives
page makes stored trials feasible without a re-run; an invalid one is refused next to the form."""

from __future__ import annotations

from core import search
from core.decide import limits
from tests.app.helpers import assert_ok, run_page, texts
from tests.core.test_view_limits import POINTS, blocked  # noqa: F401  (the same study, as a fixture)


def _apply(at, value: str):
    at.text_input(key="ex_limit:blocked:0:latency_p95_ms").input(value)
    next(b for b in at.button if b.label == "Apply limits").click().run()
    assert_ok(at)
    return at


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_a_limit_relaxed_on_the_explorer_makes_trials_feasible_without_a_rerun(blocked):  # noqa: F811
    url, name = blocked
    at = run_page("explorer", study=name)
    assert _metrics(at)["Hold limits in search"] == "0" and _metrics(at)["On the front"] == "0"
    assert any("relax a limit under Limits below" in w for w in texts(at, "warning"))
    _apply(at, "35 ms")
    assert _metrics(at)["Hold limits in search"] == "2"
    assert _metrics(at)["On the front"] == "2"
    assert any("Last change" in c and "35" in c and "by app" in c and "UTC" in c for c in texts(at, "caption"))
    study = search.open_study(url, name)
    assert len(study.trials) == len(POINTS)  # nothing re-ran
    assert limits.load_view_spec(url, name).objectives[1].limit == 35.0
    # the form now shows the new limit (a fresh revision, a fresh form)
    assert at.text_input(key="ex_limit:blocked:1:latency_p95_ms").value == "35"


def test_an_invalid_limit_on_the_explorer_is_refused_clearly(blocked):  # noqa: F811
    url, name = blocked
    at = _apply(run_page("explorer", study=name), "20 kB")
    assert any("does not fit" in e for e in texts(at, "error"))
    assert limits.read(search.open_study(url, name).user_attrs) is None
    assert _metrics(at)["Hold limits in search"] == "0"


def test_resaving_with_only_a_limit_changed_updates_the_limits(blocked):  # noqa: F811
    url, name = blocked
    at = run_page("objectives", study=name)
    at.text_input(key="obj_study_name").input(name).run()
    at.text_input(key="obj_limit_latency_p95_ms").input("35 ms").run()
    at.button(key="btn_save").click().run()
    assert_ok(at)
    assert not texts(at, "error")
    assert any("Hard limits revised" in i for i in texts(at, "info"))
    assert limits.load_view_spec(url, name).objectives[1].limit == 35.0
    assert len(search.open_study(url, name).trials) == len(POINTS)


def test_resaving_with_another_change_says_to_start_a_new_study(blocked):  # noqa: F811
    url, name = blocked
    at = run_page("objectives", study=name)
    at.text_input(key="obj_study_name").input(name).run()
    at.number_input(key="obj_seed").set_value(7).run()
    at.button(key="btn_save").click().run()
    assert_ok(at)
    assert any("start a new study" in e for e in texts(at, "error"))
