"""Export: bundle the chosen configuration, warm-start a new study from a bundle, compare two studies.

The default option (trial and decision rule) is the room's locked decision, else the knee of the
front with its own rule: pick a trial, then one of its rules (its tuned threshold, or another point
of its curve). Building a bundle may re-fit the trial (seconds to a minute), so the zip is kept in
the session per (study, option) and the Download button serves it. Text that came from people or
data is shown escaped.
"""

from __future__ import annotations

import time

import streamlit as st

from app import export_ui as ui
from app import ui as app_ui
from core import viz
from core._text import fmt_duration, md
from core.decide import options as decide_options
from core.decide import study_compare
from core.decide.room_lock import locked_option
from core.errors import UserInputError
from core.export import build as export_build
from core.export import onnx as onnx_export
from core.export import report
from core.export import verdict as room_verdict
from core.export.importing import import_study
from core.search import reader as study_reader


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
        locked_key, _ = locked_option(url, study)
        default, why = export_build.default_option(url, study)
        opts = decide_options.options_frame(frame, study_reader.read_curves(url, study), spec.objectives)
    except UserInputError as exc:
        app_ui.show_error(exc)
        return
    app_ui.too_good_warning(frame, spec)
    picked = _pick_option(frame, pf, knee, opts, (default, why, locked_key))
    if picked is None:
        st.info("This study has no finished trial yet; come back when the search has results.")
        return
    number, option = picked
    row = opts[opts[decide_options.OPTION] == option] if decide_options.OPTION in opts else opts.iloc[:0]
    shown = row if len(row) else frame
    st.dataframe(ui.trial_metrics(shown, number, spec.objective_names, spec.value_model), hide_index=True)
    if "@" in option:
        st.caption("Figures of this rule: its point on the trial's stored curve (search and held-out test).")
    key = f"bundle:{study}:{option}"
    verdict_file = _verdict_input(url, study)
    remeasure = st.checkbox(
        "Re-measure latency now",
        key="export_remeasure",
        help="By default the bundle states the latency the search measured for this very model (ONNX Runtime "
        "and scikit-learn); tick to time both paths again on this machine (a few seconds more).",
    )
    if st.button("Build bundle", type="primary", key="build_bundle"):
        _build(url, study, option, key, verdict_file, remeasure=remeasure)
    if key in st.session_state:
        _offer(study, option, *st.session_state[key])
    with st.expander("Which model families export to ONNX, and why not"):
        st.dataframe(onnx_export.exportability(), hide_index=True)


def _pick_option(frame, pf, knee, opts, defaults: tuple) -> tuple[int, str] | None:
    """The trial and decision rule to export, from two pickers (None: no finished trial yet);
    ``defaults`` = (default option, why it is the default, the room's locked option)."""
    default, why, locked_key = defaults
    numbers, labels, index = ui.trial_choices(
        frame, set(int(n) for n in pf["number"]), _trial_of(default), knee, _trial_of(locked_key)
    )
    if not numbers:
        return None
    chosen = st.selectbox(
        "Trial to export", numbers, index=index, format_func=lambda n: labels.get(n, str(n)), key="export_trial"
    )
    number = int(chosen if chosen is not None else numbers[index])  # a selectbox with options never gives None
    keys, rule_labels, rule_index = ui.rule_choices(opts, number, default, locked_key)
    picked = st.selectbox(
        "Decision rule",
        keys,
        index=rule_index,
        format_func=lambda k: rule_labels.get(k, k),
        key=f"export_rule:{number}",  # one choice per trial: another trial's rules are other options
        help="The same fitted model can decide at its own tuned threshold or at another operating point of "
        "its curve (chosen on search data); the bundle's model applies the rule you pick.",
    )
    option = str(picked if picked is not None else keys[rule_index])
    st.caption(md(f"Default: {ui.option_words(opts, default)}, {why}." if default is not None else f"Default: {why}."))
    return number, option


def _verdict_input(url: str, study: str):
    """The Compare verdict that goes into the bundle: the room's last comparison, or an uploaded one."""
    kept = room_verdict.last(url, study)
    if kept:
        st.caption(
            md(
                f"Compare verdict (the last comparison, {kept['at'][:16].replace('T', ' ')} UTC), which goes into the "
                f"bundle: {kept['sentence']}"
            )
        )
    return st.file_uploader(
        "Ensembles-vs-simple comparison (optional: a JSON downloaded from the Compare page"
        + (", instead of the last comparison's verdict)" if kept else ")"),
        type=["json"],
        key="export_verdict",
    )


def _trial_of(key: str | None) -> int | None:
    """The trial of an option key (``"12@3"`` → 12), None for none."""
    return None if key is None else decide_options.parse_option(key)[0]


#: the steps ``export_build.build`` reports, in order: the bar moves one step per message
_BUILD_STEPS = 3


def _build(url: str, study: str, option: str, key: str, verdict_file, *, remeasure: bool = False) -> None:
    """Build the bundle of ``option`` (a trial, or ``"12@3"``) with a progress bar that moves at each
    step build() reports; ``remeasure`` times both serving paths again."""
    bar = st.progress(0.0, text="Preparing the bundle…")
    done = [0]
    eta = ui.expected_build_s(url, study, decide_options.parse_option(option)[0])
    t0 = time.monotonic()

    def step(message: str) -> None:
        left = "" if eta is None else f" (about {fmt_duration(max(eta - (time.monotonic() - t0), 1.0))} left)"
        bar.progress(min(done[0] / _BUILD_STEPS, 1.0), text=md(message[:1].upper() + message[1:]) + "…" + left)
        done[0] += 1

    try:
        verdict = room_verdict.verdict_text(verdict_file.getvalue()) if verdict_file else None  # None: the last
        res = export_build.build(url, study, option, verdict=verdict, remeasure_latency=remeasure, on_step=step)
    except UserInputError as exc:
        app_ui.show_error(exc)
    else:
        st.session_state[key] = (res.zip_bytes(), res.config)
    bar.empty()


def _offer(study: str, option: str, data: bytes, config) -> None:
    ok, text = ui.onnx_summary(config.onnx, (config.metrics or {}).get("latency_p95_ms"))
    (st.success if ok else st.warning)(text)
    if config.rule_description:
        st.caption(md(f"Decision rule of option {config.option or option}: {config.rule_description}"))
    st.caption(
        f"Bundle: config.json/.yaml, model.skops, {'model.onnx, ' if ok else ''}decision.md, "
        f"report.html, MANIFEST.json ({len(data) / 1e6:.1f} MB). Check it later with "
        "`tradeoff reproduce BUNDLE --data FILE`."
    )
    st.download_button(
        "Download bundle (.zip)",
        data,
        file_name=ui.bundle_filename(study, option),
        mime="application/zip",
        key="download_bundle",
    )


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
            res = import_study(
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
    st.plotly_chart(viz.two_studies(c), key="cmp_chart")
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
