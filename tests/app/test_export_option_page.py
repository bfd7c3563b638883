"""The Export page's option picker (AppTest): a trial, then one of its decision rules in plain words,
defaulting to the room's locked option, and the bundle built is that option. Real study, real room."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.decide import options
from core.decide import view as decide_view
from core.decide.room import RoomStore
from core.export import bundle
from core.search import reader
from tests.app.helpers import copy_sqlite

PAGE = "../../pages/export.py"


def _page(study: str) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.query_params["study"] = study
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _front_option(url: str, name: str, spec) -> str:
    """An ``n@p`` threshold option on the options' front (what a room would shortlist and lock)."""
    frame, curves = reader.read_frame(url, name, spec), reader.read_curves(url, name)
    opts = options.options_frame(frame, curves, spec.objectives).set_index(options.OPTION)
    keys = decide_view.build(spec, frame, curves=curves).points.index
    return next(k for k in keys if "@" in k and opts.loc[k, "rule_kind"] == "threshold")


def test_the_picker_defaults_to_the_locked_option_and_exports_the_rule_picked(finished_study, tmp_path, monkeypatch):
    url, name, spec = finished_study
    url = copy_sqlite(url, tmp_path)
    key = _front_option(url, name, spec)
    number = int(key.split("@")[0])
    with RoomStore(url) as s:
        ana = s.open_room(name, "Ana")
        s.propose(ana.room_id, ana.token, key)
        s.lock(ana.room_id, ana.token, key, "a stricter cut of the same model")
    monkeypatch.setenv("TRADEOFF_STORAGE", url)
    at = _page(name)
    assert at.selectbox(key="export_trial").value == number
    rule = at.selectbox(key=f"export_rule:{number}")
    assert rule.value == key
    words = {o for o in rule.options}
    own = next(w for w in words if "its own tuned rule" in w)
    picked = next(w for w in words if "locked decision" in w)
    assert picked.startswith(f"#{number} at threshold ") and own.startswith(f"#{number}: its own tuned rule")
    assert any(f"Default: trial #{number} at threshold" in c.value and f"(option {key})" in c.value for c in at.caption)
    at.button(key="build_bundle").click().run()
    assert not at.exception, [e.value for e in at.exception]
    data, config = at.session_state[f"bundle:{name}:{key}"]
    b = bundle.open_bundle(data)
    assert b.config.option == key == config.option and b.config.decision["is_room_decision"] is True
    assert b.threshold == b.config.rule["threshold"] != b.config.trial_threshold
    download = at.get("download_button")[0]
    assert download.proto.label == "Download bundle (.zip)"
    assert any(f"Decision rule of option {key}" in c.value for c in at.caption)
    # the person picks the trial's own rule instead: that is what the next bundle carries
    at.selectbox(key=f"export_rule:{number}").set_value(str(number)).run()
    assert not at.exception
    at.button(key="build_bundle").click().run()
    assert not at.exception, [e.value for e in at.exception]
    _data, config = at.session_state[f"bundle:{name}:{number}"]
    assert config.option == str(number) and config.trial_threshold is None
    assert config.decision["is_room_decision"] is False


def test_without_a_lock_the_picker_offers_every_rule_of_the_trial_in_words(finished_study, monkeypatch):
    url, name, _spec = finished_study
    monkeypatch.setenv("TRADEOFF_STORAGE", url)
    at = _page(name)
    number = at.selectbox(key="export_trial").value
    rule = at.selectbox(key=f"export_rule:{number}")
    assert rule.value == str(number)  # the knee with its own rule
    curve = reader.read_curves(url, name)[number]
    assert len(rule.options) == len(curve["threshold"])  # its own rule and every other point
    assert all(o.startswith(f"#{number}") for o in rule.options)
    assert sum("at threshold" in o for o in rule.options) == len(curve["threshold"]) - 1
