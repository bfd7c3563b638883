"""Compare: is the complex model's complexity worth it? Honest statistics, fairness, explanations.

Reads the widgets, calls :func:`core.decide.compare.run` (from what the search stored, with no fit; re-fits
only when asked, for explanations and a latency re-measurement) and draws :mod:`core.viz` figures and :mod:`core.decide.compare.tables` tables. The report is
cached by (study, candidates, baseline, settings), so switching tabs or coming back costs nothing.
"""

from __future__ import annotations

import json
from collections import OrderedDict

import streamlit as st

from app import ui
from core import objectives as obj
from core import viz
from core._text import fmt_p
from core.decide import compare
from core.decide.compare import tables
from core.errors import UserInputError
from core.export import verdict as room_verdict
from core.models import families as fam


@st.cache_resource
def _reports() -> OrderedDict:
    """Finished reports by settings, shared by every session (a report is only ever read)."""
    return OrderedDict()


def cached_report(
    url: str,
    study: str,
    numbers: tuple[int, ...],
    baseline: int,
    n_boot: int,
    alpha: float,
    rounds: int,
    criterion: str,
    keep: float,
    refit: bool = False,
) -> dict:
    """The report for these settings; the first time with a progress bar."""
    key = (url, study, numbers, baseline, n_boot, alpha, rounds, criterion, keep, refit)
    cache = _reports()
    if key not in cache:
        bar = st.progress(0.0, text="Re-fitting the candidates…" if refit else "Reading the stored predictions…")

        def on_progress(msg: str, frac: float) -> None:
            bar.progress(min(max(frac, 0.0), 1.0), text=msg)

        try:
            rep = compare.run(
                url,
                study,
                list(numbers),
                baseline=baseline,
                n_boot=n_boot,
                alpha=alpha,
                latency_rounds=rounds,
                cascade_criterion=criterion,
                cascade_keep=keep,
                on_progress=on_progress,
                refit=refit,
            )
        finally:
            bar.empty()  # also when the comparison is refused: the error replaces the bar
        cache[key] = rep.to_dict()
        while len(cache) > 16:
            cache.popitem(last=False)
    return cache[key]


st.title("Compare: is the complexity worth it?")
st.caption(
    "A complex model must be *significantly* better than a simple one to justify its latency, "
    "size and harder deployment. Both are judged on the same held-out test rows, from the predictions and "
    "figures the search stored (nothing is re-fitted unless you ask for explanations)."
)
url, study_name = ui.require_study()
try:
    spec = ui.load_spec(url, study_name)
    frame = ui.load_frame(url, study_name)
except UserInputError as exc:
    ui.show_error(exc)
    st.stop()
done = frame[frame["state"] == "COMPLETE"]
if len(done) < 2:
    st.info(
        f"Study {ui.esc(study_name)} has {len(done)} finished trial(s); comparing needs two. "
        "Let the search run a little longer."
    )
    st.stop()
ui.too_good_warning(frame, spec)

primary = compare.primary_metric(spec)
pair = compare.default_pair(frame, spec)
st.caption(ui.esc(pair.note))
labels = {
    int(r["number"]): f"#{r['number']} {fam.get(r['family']).label} ({r['family_class']}) · "
    f"{obj.get(primary).label} {obj.get(primary).fmt(r[primary])}" + ("" if r["feasible"] else " · outside the limits")
    for _, r in done.iterrows()
}
defaults = [n for n in (pair.challenger, pair.baseline) if n is not None]
if len(defaults) < 2:  # fall back to the two best finished trials
    ranked = done.assign(_l=done[primary].astype(float) * obj.get(primary).sign).sort_values("_l")
    defaults = list(dict.fromkeys(defaults + [int(n) for n in ranked["number"]]))[:2]
left, right = st.columns([3, 1])
numbers = left.multiselect("Candidates (two or more)", list(labels), default=defaults, format_func=lambda n: labels[n])
with right:
    if len(numbers) >= 2:
        base_default = (
            pair.baseline
            if pair.baseline in numbers
            else min(numbers, key=lambda n: compare.KLASS_RANK.get(frame.set_index("number").loc[n, "family_class"], 1))
        )
        baseline = st.selectbox("Baseline", numbers, index=numbers.index(base_default), format_func=lambda n: f"#{n}")
with st.expander("Statistics and cascade settings"):
    c1, c2, c3 = st.columns(3)
    n_boot = c1.number_input("Bootstrap resamples", 1000, 20000, 1000, step=1000)
    alpha = c2.selectbox(
        "Interval level",
        [0.01, 0.05, 0.10],
        index=1,
        format_func=lambda a: f"{(1 - a) * 100:g} % (significant when p < {a:g})",
    )
    rounds = c3.slider("Latency rounds when re-measuring (interleaved)", 3, 9, 3)
    refit = st.checkbox(
        "Re-fit both models: adds explanations and re-measures latency now (slower)", key="cmp_refit", value=False
    )
    c4, c5 = st.columns(2)
    criteria = compare.CASCADE_CRITERIA
    criterion = c4.selectbox(
        "Cascade: judge the routing by", criteria, key="cmp_cascade_criterion", format_func=lambda n: obj.get(n).label
    )
    keep = c5.slider(
        "Cascade: keep this share of the complex model's gain",
        0.5,
        1.0,
        0.9,
        0.05,
        key="cmp_cascade_keep",
        format="%.2f",
    )
if len(numbers) < 2:
    st.info("Pick at least two candidates.")
    st.stop()

try:
    rep = cached_report(
        url,
        study_name,
        tuple(sorted(numbers)),
        int(baseline),
        int(n_boot),
        float(alpha),
        int(rounds),
        str(criterion),
        float(keep),
        bool(refit),
    )
except UserInputError as exc:
    ui.show_error(exc)
    st.stop()

room_verdict.remember(url, study_name, rep)  # Export puts the last verdict in the bundle by itself
for c in rep["comparisons"]:
    better = c["objectives"] and any(o["name"] == primary and o["verdict"] == compare.BETTER for o in c["objectives"])
    (st.success if better else st.info)(ui.esc(c["sentence"]))
for e in rep["explanations"]:  # the importance the Interpretability tab shows, already computed
    rows = [(r["feature"], r["mean"]) for r in e["importance"]["rows"]]
    ui.too_good_warning(None, spec, importance=rows, trial=e["number"])

tabs = st.tabs(["Statistics", "Fronts per class", "Fairness", "Interpretability", "Cascade", "Export"])
with tabs[0]:
    for c in rep["comparisons"]:
        st.subheader(ui.esc(f"{c['challenger']['label']} vs {c['baseline']['label']}"))
        st.dataframe(tables.objective_table(c), hide_index=True, width="stretch")
        st.dataframe(tables.metric_table(c), hide_index=True, width="stretch")
        m = c["mcnemar"]
        st.caption(
            f"McNemar ({m['method']}): only the challenger right on {m['only_challenger_right']} rows, "
            f"only the baseline on {m['only_baseline_right']}; {fmt_p(m['p_value'], named=True)}. "
            f"{c['n_boot']:,} paired bootstrap resamples of "
            + (
                f"the {c['n_entities']:,} entities ({c['n_test']:,} rows; an entity's rows are drawn together)"
                if c.get("n_entities")
                else f"{c['n_test']:,} test rows"
            )
            + f", seed {c['seed']}, "
            f"bias-corrected {1 - c['alpha']:.0%} intervals."
        )
        st.dataframe(tables.ratio_table(c), hide_index=True, width="stretch")
        st.caption(
            "Latency: "
            + (
                "re-measured now on this machine, in interleaved rounds"
                if c.get("latency_scope") == "re-measured now"
                else "the search's stored figure of each trial (the one every page shows and the limits judge)"
            )
            + ". Differences and intervals above: held-out test."
        )
    st.plotly_chart(viz.forest(rep["comparisons"]), width="stretch")
    st.plotly_chart(viz.ratios(rep["comparisons"]), width="stretch")
with tabs[1]:
    names = spec.objective_names
    x = names[0]
    y = names[1] if len(names) > 1 else ("latency_p95_ms" if x != "latency_p95_ms" else "roc_auc")
    points = viz.front_points(frame, compare.class_fronts(frame, spec), x, y)
    st.plotly_chart(viz.class_fronts(points, x, y, highlight=numbers), width="stretch")
    st.caption("Fronts are computed per class on all the spec's objectives; the chart shows the first two.")
with tabs[2]:
    st.plotly_chart(viz.fairness_bars(rep["fairness"]), width="stretch")
    st.dataframe(tables.gap_table(rep["fairness"]), hide_index=True, width="stretch")
    for f in rep["fairness"]:
        st.caption(ui.esc(f"{f['label']}: rows per group on the test part, rates with bootstrap intervals"))
        st.dataframe(compare.group_frame(f), hide_index=True, width="stretch")
with tabs[3]:
    if not rep["explanations"]:
        st.info("Explanations need the fitted models: tick *Re-fit both models* in the settings above.")
    st.plotly_chart(viz.importance_bars(rep["explanations"]), width="stretch")
    st.plotly_chart(viz.partial_dependence(rep["explanations"]), width="stretch")
    for e in rep["explanations"]:
        with st.expander(ui.esc(f"{e['label']}: {e['native']['title']}")):
            st.caption(ui.esc(e["native"]["note"]))
            if e["native"]["kind"] == "coefficients":
                st.dataframe(e["native"]["table"], hide_index=True, width="stretch")
            elif e["native"]["kind"] == "rules":
                st.code(e["native"]["text"], language=None)
with tabs[4]:
    casc = rep["cascade"]
    if casc is None:
        st.info("A cascade needs a simple model and a complex or ensemble model among the candidates.")
    else:
        st.write(ui.esc(casc["summary"]))
        st.dataframe(tables.cascade_table(casc), hide_index=True, width="stretch")
        st.caption(ui.esc(tables.cascade_note(casc)))
        st.plotly_chart(viz.cascade_curve(casc), width="stretch")
with tabs[5]:
    st.download_button(
        "Download the comparison (JSON)",
        json.dumps(rep, indent=2),
        file_name=f"compare-{study_name}.json",
        mime="application/json",
    )
    st.caption("Timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in rep["timings"].items()))
