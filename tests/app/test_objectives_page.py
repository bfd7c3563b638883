"""The Objectives & stakeholders page (AppTest): defaults, validation, saving, spec JSON in and out."""

from __future__ import annotations

import json
import re

from app import forms, stakeholder_cards
from app.ui import esc
from core import search
from core import storage as st
from core.data import DEMO_VALUE
from core.decide.room import RoomStore
from core.search import reader as study_reader
from core.spec import Spec
from tests.app.helpers import assert_ok, run_page, texts
from tests.conftest import make_small_spec


def test_empty_database_starts_from_the_demo_defaults():
    at = run_page("objectives")
    assert at.multiselect(key="obj_names").value == ["roc_auc", "latency_p95_ms", "dp_diff"]
    assert at.text_input(key="obj_owner_latency_p95_ms").value == "Product"
    # the value model's defaults fit the demo: a wrong "yes" costs the slot's opportunity cost
    assert at.number_input(key="obj_vm_value_fp").value < 0
    assert at.number_input(key="obj_vm_conversion_loss_per_100ms").value == 0.002
    assert "Brutlag" in at.number_input(key="obj_vm_conversion_loss_per_100ms").help
    # the demo has a value column: its figures are € and the latency penalty is on
    assert at.checkbox(key="obj_vm_money").value and at.checkbox(key="obj_vm_latency_penalty").value
    assert all(c.value for c in at.checkbox if c.key and c.key.startswith("obj_fam_"))
    download = at.get("download_button")
    assert len(download) == 1
    assert not at.error


def test_a_limit_with_the_wrong_unit_is_explained_next_to_it():
    at = run_page("objectives")
    at.text_input(key="obj_limit_latency_p95_ms").input("0.9 %").run()
    assert_ok(at)
    errors = texts(at, "error")
    assert len(errors) == 1 and "latency\\_p95\\_ms is measured in ms" in errors[0]
    # the slot under that objective's row holds it, and nothing can be saved meanwhile
    assert not at.get("download_button") and "btn_save" not in [b.key for b in at.button]
    at.text_input(key="obj_limit_latency_p95_ms").input("0.02 s").run()
    assert not at.error and at.get("download_button")


def test_fewer_than_two_objectives_is_refused():
    at = run_page("objectives")
    at.multiselect(key="obj_names").set_value(["roc_auc"]).run()
    assert_ok(at)
    assert any("at least 2 objectives" in e for e in texts(at, "error"))


def test_saving_creates_the_study_and_makes_it_current():
    at = run_page("objectives")
    at.multiselect(key="obj_names").set_value(["roc_auc", "model_size_bytes"]).run()
    at.text_input(key="obj_owner_model_size_bytes").input("Ops team").run()
    at.text_input(key="obj_limit_model_size_bytes").input("5 MB").run()
    at.button(key="btn_fast").click().run()
    at.number_input(key="obj_trials").set_value(5).run()
    at.text_input(key="obj_study_name").input("planning").run()
    at.button(key="btn_save").click().run()
    assert_ok(at)
    assert at.session_state["study"] == "planning"
    assert any("Saved as study" in s for s in texts(at, "success"))
    url = st.resolve(None)
    spec = Spec.from_dict(study_reader.study_attrs(url, "planning")["spec"])
    assert spec.objective_names == ["roc_auc", "model_size_bytes"]
    size = spec.objectives[1]
    assert size.owner == "Ops team" and size.limit == 5 * 1024**2
    assert spec.families == ("logreg", "decision_tree", "naive_bayes", "hist_gb", "voting")
    assert spec.budget.n_trials == 5 and search.budget(url, "planning") == (5, 0)
    assert spec.data.fingerprint  # the data was checked before anything was written
    # the sidebar shows the new study
    assert at.sidebar.selectbox[0].value == "planning"


def test_a_finished_study_fills_the_form_with_its_spec(study_env):
    url, name, spec = study_env
    at = run_page("objectives", study=name)
    assert at.multiselect(key="obj_names").value == spec.objective_names
    assert at.number_input(key="obj_trials").value == spec.budget.n_trials
    assert at.number_input(key="obj_cv").value == spec.validation.cv_folds
    ticked = [c.key[len("obj_fam_") :] for c in at.checkbox if c.key and c.key.startswith("obj_fam_") and c.value]
    assert ticked == list(spec.families)
    assert any(f"study {esc(name)}" in c for c in texts(at, "caption"))


def test_spec_json_upload(small_csv):
    at = run_page("objectives")
    at.file_uploader(key="spec_upload").set_value(("spec.json", b"{not json", "application/json")).run()
    assert_ok(at)
    assert any("not valid JSON" in e for e in texts(at, "error"))
    bad = json.dumps({"data": {"path": "demo", "target": "converted"}, "sampler": "annealing"}).encode()
    at.file_uploader(key="spec_upload").set_value(("spec.json", bad, "application/json")).run()
    assert any("unknown sampler 'annealing'" in e for e in texts(at, "error"))
    good = make_small_spec(small_csv, objectives=("accuracy", "fit_time_s"), trials=7).to_json().encode()
    at.file_uploader(key="spec_upload").set_value(("spec.json", good, "application/json")).run()
    assert_ok(at)
    assert at.multiselect(key="obj_names").value == ["accuracy", "fit_time_s"]
    assert at.number_input(key="obj_trials").value == 7
    assert at.number_input(key="obj_cv").value == 2


def test_the_typed_study_name_survives_a_validation_error_and_no_stray_study_is_made():
    at = run_page("objectives")
    at.text_input(key="obj_study_name").input("planning").run()
    at.text_input(key="obj_limit_latency_p95_ms").input("0.9 %").run()
    assert_ok(at)
    assert texts(at, "error") and "btn_save" not in [b.key for b in at.button]
    # the name field stays on the page with what was typed, while the error is fixed
    assert at.text_input(key="obj_study_name").value == "planning"
    at.text_input(key="obj_limit_latency_p95_ms").input("20 ms").run()
    at.number_input(key="obj_trials").set_value(3).run()
    at.button(key="btn_save").click().run()
    assert_ok(at)
    assert at.session_state["study"] == "planning"
    assert study_reader.study_names(st.resolve(None)) == ["planning"]


def test_the_study_name_suggestion_is_the_data_file_and_the_date():
    from datetime import date

    from app import forms

    at = run_page("objectives")
    placeholder = at.text_input(key="obj_study_name").placeholder
    assert placeholder == f"demo-{date.today().isoformat()}"  # the demo's data is named "demo"
    day = date(2025, 3, 14)
    assert forms.suggest_study_name("data/ads.parquet", [], day) == "ads-2025-03-14"
    taken = ["ads-2025-03-14", "ads-2025-03-14-2"]
    assert forms.suggest_study_name("/x/ads.parquet", taken, day) == "ads-2025-03-14-3"


def test_a_typed_limit_is_shown_back_in_the_metric_s_unit():
    at = run_page("objectives")
    at.text_input(key="obj_limit_latency_p95_ms").input("20 seconds").run()
    assert_ok(at)
    assert "= 20,000 ms" in texts(at, "caption")
    at.text_input(key="obj_limit_latency_p95_ms").input("0.02 s").run()
    assert "= 20 ms" in texts(at, "caption") and "= 20,000 ms" not in texts(at, "caption")


def test_stakeholder_cards_saved_in_another_browser_appear(small_csv):
    url = st.resolve(None)
    search.create_study(make_small_spec(small_csv), url, "cards", warm_start=False)
    at = run_page("objectives", study="cards")
    assert any("No decision room for this study yet" in c for c in texts(at, "caption"))
    # another browser (here: the room's store directly) opens the room and saves a card
    with RoomStore(url) as store:
        ana = store.open_room("cards", "Ana")
        store.save_stakeholder(ana.room_id, ana.token, "Ana <b>", ["roc_auc", "dp_diff"], {"roc_auc": 2, "dp_diff": 1})
    at.run()  # what the fragment's next poll draws
    assert_ok(at)
    assert "**Ana &lt;b&gt;**" in texts(at, "markdown") or any("Ana" in m for m in texts(at, "markdown"))
    captions = texts(at, "caption")
    assert any("Speaks for: ROC AUC, Demographic parity difference" in c for c in captions)
    assert not any("<b>" in m for m in texts(at, "markdown"))  # typed text is escaped
    frame = stakeholder_cards.read_cards(url, "cards")
    assert frame is not None and frame["stakeholder"].tolist() == ["Ana <b>"]


def test_value_objective_reads_in_the_specs_words():
    label, about = forms.value_words("fee_eur", True)
    assert label == "Net value per 1,000 decisions (fee_eur)" and "fee_eur" in about
    assert forms.value_words(None, True)[0] == "Net value per 1,000 decisions (€)"
    neutral, about = forms.value_words(None, False)
    assert neutral == "Net value per 1,000 decisions (utility units)" and "€" not in neutral + about
    for text in (label, about, neutral, *forms.VALUE_HELP.values()):
        assert not re.search(r"\bads?\b|conversion", text.lower()), text  # no ad words for any table
    at = run_page("objectives")  # the demo has a value column: the picker names it
    at.multiselect(key="obj_names").set_value(["roc_auc", "value_per_1k"]).run()
    assert_ok(at)
    shown = [m.replace("\\", "") for m in texts(at, "markdown")]  # shown Markdown-escaped
    assert f"**Net value per 1,000 decisions ({DEMO_VALUE})**" in [m.split("  ")[0] for m in shown]
