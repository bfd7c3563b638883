"""Small helpers of the Export page, built from plain data (no widgets, testable alone).

The page's figure (two studies compared) is :func:`core.viz.two_studies`; text that reaches
Streamlit's Markdown goes through :func:`core._text.md` here.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from core import objectives as obj
from core import viz
from core._text import md
from core.errors import UserInputError
from core.export.safety import safe_filename
from core.metrics import display_metric
from core.search import reader as study_reader
from core.spec import ValueModel


def bundle_filename(study: str, trial: int | str) -> str:
    """``<study>-trial<N>.zip`` (``-trial<N>-point<P>.zip`` for option ``N@P``) with the study name
    reduced to safe characters."""
    from core.decide.options import option_key, parse_option

    key = option_key(*parse_option(trial))
    return f"{safe_filename(study, default='study')}-trial{key.replace('@', '-point')}.zip"


def option_words(opts: pd.DataFrame, key: str) -> str:
    """``trial #12`` for a trial's own rule, ``trial #12 at threshold 0.41 (option 12@3)`` for another
    point of its curve (``core.decide.options.label``'s words)."""
    from core.decide import options

    number, point = options.parse_option(key)
    if point is None:
        return f"trial #{number}"
    rows = opts[opts[options.OPTION] == key] if options.OPTION in opts else opts.iloc[:0]
    words = options.label(rows.iloc[0]) if len(rows) else f"#{number} (operating point {point})"
    return f"trial {words} (option {key})"


def rule_choices(
    opts: pd.DataFrame, number: int, default: str | None, locked: str | None
) -> tuple[list[str], dict[str, str], int]:
    """The decision rules trial ``number`` offers (option keys: its own tuned rule first, then the
    other points of its stored curve), each in plain words, and the index of the default one.

    Why a second choice after the trial: a trial is a fitted model, a rule is how it decides; the
    room may have locked trial 12 *at another threshold* (``"12@3"``), and that is what to export.
    """
    from core.decide import options

    rows = opts[opts["number"] == int(number)]
    if options.TUNED in rows:
        rows = pd.concat([rows[rows[options.TUNED]], rows[~rows[options.TUNED].astype(bool)]])
    keys: list[str] = []
    labels: dict[str, str] = {}
    for _, r in rows.iterrows():
        key = str(r.get(options.OPTION, int(number)))
        if key in labels:
            continue
        words = options.label(r)
        if "@" not in key:
            t = r.get("threshold")
            at = f" (threshold {float(t):.2f})" if t is not None and t == t else ""
            words = f"{words}: its own tuned rule{at}"
        tags = [t for t, ok in (("locked decision", key == locked), ("default", key == default)) if ok]
        keys.append(key)
        labels[key] = words + (f" — {', '.join(tags)}" if tags else "")
    if not keys:  # a trial without a stored row: its own rule
        keys, labels = [str(int(number))], {str(int(number)): f"#{int(number)}: its own tuned rule"}
    index = keys.index(default) if default in keys else 0
    return keys, labels, index


def trial_choices(
    frame: pd.DataFrame, front_numbers: set[int], default: int | None, knee: int | None, locked: int | None
) -> tuple[list[int], dict[int, str], int]:
    """Finished trials (front first), a label for each, and the index of the default one."""
    done = frame[frame["state"] == "COMPLETE"].copy()
    done["on_front"] = done["number"].isin(front_numbers)
    done = done.sort_values(["on_front", "number"], ascending=[False, True])
    numbers = [int(n) for n in done["number"]]
    labels = {}
    for n, fam_name, on in zip(done["number"], done["family"], done["on_front"]):
        tags = [t for t, ok in (("locked decision", n == locked), ("knee", n == knee), ("on the front", on)) if ok]
        labels[int(n)] = viz.trial_label(int(n), str(fam_name)) + (f" — {', '.join(tags)}" if tags else "")
    index = numbers.index(default) if default in numbers else 0
    return numbers, labels, index


def trial_metrics(
    frame: pd.DataFrame, number: int, names: list[str], value_model: ValueModel | None = None
) -> pd.DataFrame:
    """The chosen trial's objective values (search and held-out test) in their units, value in the
    team's (utility units unless ``value_model`` is money)."""
    row = frame[frame["number"] == number].iloc[0]
    rows = []
    for n in names:
        m = obj.get(n) if value_model is None else display_metric(obj.get(n), value_model)
        test_key = obj.TEST_ATTR + n
        rows.append(
            {
                "objective": m.label,
                "search (CV)": m.fmt(row.get(n)),
                "held-out test": m.fmt(row.get(test_key)) if m.on_test and test_key in row else "",
            }
        )
    return pd.DataFrame(rows)


def onnx_summary(onnx: dict[str, Any], stored_p95_ms: float | None = None) -> tuple[bool, str]:
    """(exported?, one Markdown-safe sentence) for the ONNX outcome in a bundle config."""
    if not onnx.get("exported"):
        return False, md(f"No ONNX model in this bundle: {onnx.get('reason', 'not attempted')}")
    from core.export.onnx import serving_sentence

    return True, md(serving_sentence(onnx, stored_p95_ms))


def expected_build_s(url: str, study: str, number: int) -> float | None:
    """How long the build should take: a few seconds for ONNX and the documents, plus, when the
    search kept no model for this trial, what it spent evaluating it (the re-fit does the same
    work); None when that was not recorded."""
    from core.search import artifacts

    try:
        timings = study_reader.trial_attrs(url, study, number)["user_attrs"].get("timings") or {}
    except UserInputError:  # a trial that is gone: no estimate, the build says why
        return None
    if artifacts.has_model(url, study, number):
        return DOCUMENTS_S
    total = timings.get("total_s")
    return None if total is None else float(total) + DOCUMENTS_S


DOCUMENTS_S = 3.0  # ONNX conversion, parity check and the two documents, about
