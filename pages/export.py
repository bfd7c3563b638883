"""Export: bundle the chosen configuration, warm-start a new study from a bundle, compare two studies.

The default trial is the room's locked decision, else the knee of the front. Building a bundle
re-fits the trial (seconds to a minute), so the zip is kept in the session per (study, trial) and
the Download button serves it. Text that came from people or data is shown escaped.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app import export_ui as ui  # noqa: E402
from app import ui as app_ui  # noqa: E402
from core.decide import study_compare
from core.errors import UserInputError  # noqa: E402
from core.export import bundle, report
from core.export import onnx as onnx_export
from core.export.safety import md  # noqa: E402


def export_tab(url: str, names: list[str]) -> None:
    if not names:
        st.info(
            "No study in this storage yet: run a search, decide, then export here. "
            "You can still import a bundle or a spec in the next tab."
        )
        return
    cur = app_ui.current_study()
    if cur is None:
        st.info("Pick the study to export in the sidebar.")
        return
    study = cur[1]
    st.caption(f"Study **{app_ui.esc(study)}** (change it in the sidebar).")
    try:
        spec = app_ui.load_spec(url, study)
        frame = app_ui.load_frame(url, study)
        pf, knee = report.front_of(frame, spec)
        locked, _ = report.room_lock(url, study)
        default, why = bundle.default_trial(url, study)
    except UserInputError as exc:
        app_ui.show_error(exc)
        return
    numbers, labels, index = ui.trial_choices(frame, set(int(n) for n in pf["number"]), default, knee, locked)
    if not numbers:
        st.info("This study has no finished trial yet; come back when the search has results.")
        return
    number = st.selectbox("Trial to export", numbers, index=index, format_func=labels.get, key="export_trial")
    st.caption(md(f"Default: trial #{default}, {why}." if default is not None else f"Default: {why}."))
    st.dataframe(ui.trial_metrics(frame, number, spec.objective_names), hide_index=True)
    key = f"bundle:{study}:{number}"
    verdict_file = st.file_uploader(
        "Ensembles-vs-simple comparison (optional: the JSON downloaded from the Compare page)",
        type=["json"],
        key="export_verdict",
    )
    if st.button("Build bundle", type="primary", key="build_bundle"):
        steps = st.empty()
        try:
            verdict = bundle.verdict_text(verdict_file.getvalue()) if verdict_file else None
            with st.spinner("Re-fitting the trial, exporting ONNX, writing the report…"):
                res = bundle.build(url, study, number, verdict=verdict, on_step=lambda m: steps.caption(md(m)))
        except UserInputError as exc:
            app_ui.show_error(exc)
        else:
            st.session_state[key] = (res.zip_bytes(), res.config)
        steps.empty()
    if key in st.session_state:
        data, config = st.session_state[key]
        ok, text = ui.onnx_summary(config["onnx"])
        (st.success if ok else st.warning)(text)
        st.caption(
            f"Bundle: config.json/.yaml, model.skops, {'model.onnx, ' if ok else ''}decision.md, "
            f"report.html, MANIFEST.json ({len(data) / 1e6:.1f} MB). Check it later with "
            "`tradeoff reproduce BUNDLE --data FILE`."
        )
        st.download_button(
            "Download bundle (.zip)",
            data,
            file_name=ui.bundle_filename(study, number),
            mime="application/zip",
            key="download_bundle",
        )
    with st.expander("Which model families export to ONNX, and why not"):
        st.dataframe(onnx_export.exportability(), hide_index=True)


def import_tab(url: str, names: list[str]) -> None:
    st.write(
        "Start a new study from an exported bundle (its chosen configuration runs first) or "
        "from a spec JSON (the usual warm start)."
    )
    up = st.file_uploader("Bundle (.zip) or spec (.json)", type=["zip", "json"], key="import_file")
    name = st.text_input("Name of the new study", key="import_name")
    data = st.text_input("Data file for the new study (leave empty to use the spec's own file)", key="import_data")
    trials = st.number_input("Trial budget (0 = the spec's)", min_value=0, value=0, step=1, key="import_trials")
    if st.button("Create the study", key="import_go"):
        if up is None:
            st.error("Choose a bundle or spec file first.")
            return
        try:
            res = bundle.import_study(
                up.getvalue(),
                url,
                name.strip(),
                data=data.strip() or None,
                trials=int(trials) or None,
                filename=up.name,
            )
        except UserInputError as exc:
            app_ui.show_error(exc)
            return
        app_ui.list_study_names.clear()
        first = f" Its first trial is the chosen configuration ({res.enqueued['family']})." if res.enqueued else ""
        st.success(
            md(f"Created study {res.study_name!r} from a {res.source_kind}.{first} Start it on the Search page.")
        )


def compare_tab(url: str, names: list[str]) -> None:
    if len(names) < 2:
        st.info("Comparing needs two studies on the same objectives (e.g. import a bundle with newer data).")
        return
    a = st.selectbox("Before (A)", names, index=0, key="cmp_a")
    b = st.selectbox("After (B)", names, index=1, key="cmp_b")
    if a == b:
        st.warning("Choose two different studies.")
        return
    try:
        c = study_compare.compare(url, a, b)
    except UserInputError as exc:
        app_ui.show_error(exc)
        return
    st.plotly_chart(ui.compare_figure(c), key="cmp_chart")
    for line in c.summary():
        st.markdown(md(line))


st.title("Export")
url = app_ui.storage_url()
names = app_ui.list_study_names(url)
t1, t2, t3 = st.tabs(["Export a decision", "Import / warm-start", "Compare two studies"])
with t1:
    export_tab(url, names)
with t2:
    import_tab(url, names)
with t3:
    compare_tab(url, names)
