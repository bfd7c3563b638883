"""``tradeoff export``, ``reproduce``, ``predict`` and ``import``: bundles from the command line.

Each command parses its flags, calls one :mod:`core.export` function and prints what happened; a
user mistake is a :class:`~core.errors.UserInputError` that :func:`core.cli.main` prints in one line.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from core import objectives as obj
from core import storage as st
from core.cli._options import storage_option, tolerance, trial_count
from core.cli._spec_file import is_json_file, read_spec_document
from core.errors import UserInputError
from core.export import safety
from core.export.build import build
from core.export.bundle import write
from core.export.importing import import_study
from core.export.predict import predict
from core.export.reproduce import LATENCY_FLOOR, reproduce
from core.export.verdict import verdict_text


def _default_out(study: str, option: str) -> Path:
    folder = st.home() / "bundles"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{safety.safe_filename(study)}-trial{option.replace('@', '-point')}.zip"


def _option(args: argparse.Namespace, url: str) -> str:
    """The option to export: ``--trial`` (checked as a key), else what the room locked, else the
    front's knee — said on stderr, so nobody exports a default without knowing which."""
    from core.decide.options import option_key, parse_option
    from core.export.build import default_option

    if args.trial is not None:
        return option_key(*parse_option(args.trial))
    key, why = default_option(url, args.study)
    if key is None:
        raise UserInputError(f"Nothing to export from study {args.study!r}: {why}; pass --trial N.", field="trial")
    print(f"… exporting option {key}: {why} (pass --trial to choose another)", file=sys.stderr, flush=True)
    return key


def cmd_export(args: argparse.Namespace) -> int:
    url = st.resolve(args.storage)
    option = _option(args, url)
    out = Path(args.output) if args.output else _default_out(args.study, option)
    if out.suffix.lower() == ".zip" and not out.parent.is_dir():  # before the re-fit, not after it
        raise UserInputError(
            f"The folder {str(out.parent)!r} does not exist; create it or choose another -o.", field="output"
        )
    verdict = None
    if args.verdict:
        p = Path(args.verdict)
        verdict = verdict_text(p.read_bytes() if p.is_file() else args.verdict)
    res = build(
        url,
        args.study,
        option,
        data=args.data,
        with_onnx=not args.no_onnx,
        verdict=verdict,
        remeasure_latency=args.remeasure_latency,
        on_step=lambda m: print(f"… {m}", file=sys.stderr, flush=True),
    )
    path = write(res.files, out)
    c, onnx = res.config, res.config.onnx
    print(f"wrote {path}: {', '.join(sorted(res.files))}")
    print(
        f"option {c.option or c.study.trial}: trial #{c.study.trial} {c.family_label} ({c.family_class}), "
        f"threshold {c.threshold:.4f}, data {c.data.fingerprint}"
    )
    if c.rule_description:
        print(f"decision rule: {c.rule_description}")
    from core.export.onnx import serving_sentence

    print("ONNX: " + serving_sentence(onnx, (c.metrics or {}).get("latency_p95_ms")))
    return 0


def _fmt_value(name: str, v: Any, value_model: Any = None) -> str:
    """A recorded figure as reproduce prints it: quality to 6 decimals, others in their own unit."""
    if v is None:
        return "–"
    base = name.split(".", 1)[1] if name.startswith(obj.TEST_ATTR) else name
    if base in obj.REGISTRY:
        if base in obj.QUALITY:
            return f"{float(v):.6f}"
        from core.decide.mcdm import fmt

        return fmt(base, float(v), value_model)
    return f"{float(v):.6g}" if isinstance(v, (int, float)) else str(v)


def cmd_reproduce(args: argparse.Namespace) -> int:
    rep = reproduce(
        args.bundle, args.data, allow_data_change=args.allow_data_change, latency_tolerance=args.latency_tolerance
    )
    width = max(len(c.name) for c in rep.checks)
    vm = rep.value_model
    for c in rep.checks:
        mark = {True: "ok  ", False: "FAIL", None: "    "}[c.ok]
        print(
            f"{mark} {c.name.ljust(width)}  {_fmt_value(c.name, c.old, vm):>16} → {_fmt_value(c.name, c.new, vm):<16}"
            f"  {c.kind}{(': ' + c.note) if c.note else ''}"
        )
    for n in rep.notes:
        print(f"note: {n}")
    if rep.ok:
        if "@" in rep.option:
            print(f"decision rule of option {rep.option} reproduced bit for bit: {rep.rule_description}")
        print(f"reproduced: {sum(c.ok is True for c in rep.checks)} checks passed")
        return 0
    print(f"did NOT reproduce: {', '.join(c.name for c in rep.failed)}", file=sys.stderr)
    return 1


def cmd_predict(args: argparse.Namespace) -> int:
    res = predict(args.bundle, args.data, args.output, ignore_extra=args.ignore_extra)
    pos = int(res.frame["prediction"].sum())
    print(
        f"wrote {res.path}: {res.n_rows} rows scored, {pos} predicted positive"
        + (f"; kept {', '.join(res.passthrough)} to join back" if res.passthrough else "")
    )
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    if is_json_file(args.source):  # a spec or a bundle's config: the spec file's checks first
        read_spec_document(args.source)
    res = import_study(args.source, args.storage, args.study, data=args.data, trials=args.trials)
    url = st.resolve(args.storage)
    print(f"created study {res.study_name!r} in {st.mask(url)} from a {res.source_kind}")
    if res.enqueued:
        print(f"enqueued the chosen configuration as the first trial: {json.dumps(res.enqueued)}")
    print(f"run it with: tradeoff worker --storage '{st.mask(url)}' --study '{res.study_name}'")
    return 0


def _add_export(sub: Any) -> None:
    sp = sub.add_parser("export", help="bundle a trial: config, skops model, ONNX, decision.md, report.html")
    storage_option(sp)
    sp.add_argument("--study", required=True)
    sp.add_argument(
        "--trial",
        help="the option to export: a trial (12, its own tuned rule) or a trial and an operating point "
        "(12@3, from `front --operating-points`); default: the room's locked option, else the front's knee",
    )
    sp.add_argument(
        "-o",
        "--output",
        help="a folder, or a path ending in .zip (default: $TRADEOFF_HOME/bundles/<study>-trial<N>.zip)",
    )
    sp.add_argument("--data", help="the study's table, if it moved (the fingerprint must match)")
    sp.add_argument("--no-onnx", action="store_true", help="skip the ONNX export")
    sp.add_argument(
        "--remeasure-latency",
        action="store_true",
        help="time scikit-learn and onnxruntime again now, even when the search measured this model on both",
    )
    sp.add_argument(
        "--verdict",
        help="ensembles-vs-simple verdict for the report: text, or the comparison JSON downloaded from the Compare "
        "page (default: the verdict of the last comparison run on the study, if any)",
    )
    sp.set_defaults(func=cmd_export)


def _add_reproduce(sub: Any) -> None:
    sp = sub.add_parser("reproduce", help="re-train a bundle's configuration and compare every metric")
    sp.add_argument("bundle", help="bundle folder or .zip")
    sp.add_argument("--data", required=True, help="the table the study was made on")
    sp.add_argument(
        "--allow-data-change", action="store_true", help="re-evaluate even if the data's fingerprint differs"
    )
    sp.add_argument(
        "--latency-tolerance",
        type=tolerance,
        default=LATENCY_FLOOR,
        help=f"smallest relative latency band (default {LATENCY_FLOOR}; the band is the "
        "larger of this and 3× the harness's block CV)",
    )
    sp.set_defaults(func=cmd_reproduce)


def _add_predict_and_import(sub: Any) -> None:
    sp = sub.add_parser("predict", help="score a table with a bundle's model")
    sp.add_argument("bundle")
    sp.add_argument("--data", required=True, help="CSV or Parquet with the model's feature columns")
    sp.add_argument("-o", "--output", default="predictions.csv")
    sp.add_argument("--ignore-extra", action="store_true", help="ignore columns the study never saw")
    sp.set_defaults(func=cmd_predict)

    sp = sub.add_parser("import", help="warm-start a new study from a bundle or a spec JSON")
    sp.add_argument("source", help="bundle (.zip or folder), a bundle's config.json, or a spec .json")
    storage_option(sp)
    sp.add_argument("--study", required=True, help="name of the new study")
    sp.add_argument("--data", help="run the new study on this table (e.g. newer data)")
    sp.add_argument("--trials", type=trial_count, help="trial budget of the new study")
    sp.set_defaults(func=cmd_import)


def register_cli(sub: Any) -> None:
    """Add ``export``, ``reproduce``, ``predict`` and ``import`` to the ``tradeoff`` command."""
    _add_export(sub)
    _add_reproduce(sub)
    _add_predict_and_import(sub)


__all__ = ["cmd_export", "cmd_import", "cmd_predict", "cmd_reproduce", "register_cli"]
