"""The ``tradeoff`` command: everything the app does, without a browser.

A user mistake ends with one line on stderr and exit code 2, never a traceback; Ctrl-C or SIGTERM
stops a search cleanly (finished trials are kept, the running one is marked failed and its budget
slot given back) with exit code 130.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import math
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core import objectives as obj
from core import storage as st
from core.errors import UserInputError

EXIT_USER = 2
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake in one line (exit code 2), like every other mistake."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"error: {message} (see '{self.prog} -h')", file=sys.stderr)
        raise SystemExit(EXIT_USER)


def _csv_list(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _sigterm_to_interrupt() -> None:
    def handler(signum, frame):  # noqa: ARG001
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not in the main thread (tests)
        pass


# -- init -------------------------------------------------------------------------------------------


def build_spec(data: str, target: str, **options: Any) -> Any:
    """A spec with sensible defaults for a data file, validated against the data itself
    (options as :func:`build_spec_with_data`)."""
    return build_spec_with_data(data, target, **options)[0]


def build_spec_with_data(
    data: str,
    target: str,
    *,
    sensitive: Sequence[str] = (),
    value: str | None = None,
    positive: str | None = None,
    objectives: Sequence[str] | None = None,
    families: Sequence[str] | None = None,
    trials: int | None = None,
    timeout: float | None = None,
    sampler: str | None = None,
    seed: int = 0,
    limits: dict[str, str] | None = None,
    exclude: Sequence[str] = (),
    validation: Any = None,
    data_options: dict[str, Any] | None = None,
) -> tuple[Any, Any]:
    """:func:`build_spec` and the prepared data set, whose notes (dropped columns, merged labels)
    the user should read before searching. ``data_options``: further :class:`DataRef` fields
    (min_group_rows, merge_small_groups, keep_suspected_leaks, sensitive_as_feature, entity_column,
    detect_entity, time_column)."""
    from core.data import load_dataset
    from core.metrics import value as value_mod
    from core.spec import DEFAULT_SAMPLER, Budget, DataRef, Objective, Spec, Validation

    ref = DataRef(
        path=data,
        target=target,
        positive_label=positive,
        sensitive=tuple(sensitive),
        value_column=value,
        exclude=tuple(exclude),
        **(data_options or {}),
    )
    ds = load_dataset(ref)
    names = list(objectives or obj.DEFAULT_OBJECTIVES)
    if not sensitive and not objectives:  # the defaults; fairness needs groups to compare
        names = [n for n in names if obj.get(n).group != "fairness"]
    limits = limits or {}
    unknown = [k for k in limits if k not in names]
    if unknown:
        raise UserInputError(
            f"--limit names {', '.join(unknown)}, which are not objectives ({', '.join(names)}).", field="objectives"
        )
    objs = tuple(Objective(n, limit=limits.get(n)) for n in names)
    if trials is None and timeout is None:
        trials = 60
    spec = Spec(
        data=ref,
        objectives=objs,
        families=tuple(families or ()),
        budget=Budget(n_trials=trials, timeout_s=timeout),
        sampler=sampler or DEFAULT_SAMPLER,
        seed=seed,
        validation=validation or Validation(),
        value_model=value_mod.default_value_model(ds),
    ).with_fingerprint(ds.fingerprint)
    return spec, ds


def _parse_limits(items: Sequence[str]) -> dict[str, str]:
    out = {}
    for item in items or ():
        if "=" not in item:
            raise UserInputError(
                f"--limit expects NAME=VALUE (e.g. latency_p95_ms=20ms), got {item!r}.", field="objectives"
            )
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def cmd_init(args: argparse.Namespace) -> int:
    from core.spec import Validation

    spec, ds = build_spec_with_data(
        args.data,
        args.target,
        sensitive=args.sensitive or (),
        value=args.value,
        positive=args.positive,
        objectives=args.objectives,
        families=args.families,
        trials=args.trials,
        timeout=args.timeout,
        sampler=args.sampler,
        seed=args.seed,
        limits=_parse_limits(args.limit),
        exclude=args.exclude or (),
        validation=Validation(cv_folds=args.cv_folds, max_train_rows=args.max_train_rows),
        data_options={
            "min_group_rows": args.min_group_rows,
            "merge_small_groups": args.merge_small_groups,
            "keep_suspected_leaks": args.keep_suspected_leaks,
            "sensitive_as_feature": args.sensitive_as_feature,
            "entity_column": args.entity,
            "detect_entity": not args.no_entity_detection,
            "time_column": args.time_column,
        },
    )
    out = Path(args.output)
    if out.parent and not out.parent.exists():
        raise UserInputError(f"The folder {str(out.parent)!r} does not exist.", field="output")
    if out.is_dir():
        raise UserInputError(f"{str(out)!r} is a folder; give a file name for the spec (-o spec.json).", field="output")
    spec.save(out)
    print(
        f"wrote {out}: target {spec.data.target!r}, objectives {', '.join(spec.objective_names)}, "
        f"{len(spec.families)} famil{'y' if len(spec.families) == 1 else 'ies'}, "
        f"fingerprint {spec.data.fingerprint}"
    )
    print(f"data: {ds.n_rows} rows, {len(ds.numeric)} numeric and {len(ds.categorical)} categorical feature(s)")
    for note in ds.notes:  # what was dropped, merged or converted: read before searching
        print(f"  - {note}")
    return 0


# -- search -----------------------------------------------------------------------------------------


def _run_with_bar(
    study_name: str, url: str, *, max_trials: int | None, timeout: float | None, quiet: bool = False
) -> Any:
    from tqdm import tqdm

    from core import search

    n_budget, _ = search.budget(url, study_name)
    study = search.open_study(url, study_name)
    done0, _ = search.counted(study.get_trials(deepcopy=False))
    bar = tqdm(total=n_budget, initial=done0, unit="trial", disable=quiet, dynamic_ncols=True, desc=study_name[:30])

    def on_progress(p: Any) -> None:
        bar.n = p.done
        post = {"failed": p.failed}
        if p.hypervolume is not None:
            post["HV"] = f"{p.hypervolume:.3f}"
        for name, v in list(p.best.items())[:3]:
            post[name] = f"{v:.4g}"
        bar.set_postfix(post, refresh=False)
        bar.refresh()

    try:
        # quiet workers skip the progress summary: it re-reads every trial and its hypervolume
        return search.run(
            study_name, url, max_trials=max_trials, timeout_s=timeout, on_progress=None if quiet else on_progress
        )
    finally:
        bar.close()


def cmd_search(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from core import search
    from core.spec import Spec

    spec = Spec.load(args.spec)
    if args.sampler:
        spec = replace(spec, sampler=args.sampler)
    url = st.resolve(args.storage)
    study = search.create_study(spec, url, args.study, n_trials=args.trials)
    print(f"study {study.study_name!r} in {st.mask(url)}")
    if args.create_only:
        print(f"created; start workers with: tradeoff worker --study {study.study_name} --storage <URL>")
        return 0
    result = _run_with_bar(study.study_name, url, max_trials=None, timeout=args.timeout, quiet=args.quiet)
    _print_summary(study.study_name, url, result)
    return 0


def _print_summary(study_name: str, url: str, result: Any) -> None:
    from core import search
    from core.decide import front

    study = search.open_study(url, study_name)
    spec = search.load_spec(study)
    frame = front.trials_frame(study.get_trials(deepcopy=False), spec)
    done, failed = search.counted(study.get_trials(deepcopy=False))
    pf = front.front(frame, spec.objective_names)
    print(
        f"{result.trials_run} trial(s) run here ({result.stopped_because}); study has {done} finished, "
        f"{failed} failed, {int((~frame['feasible'] & (frame['state'] == 'COMPLETE')).sum())} infeasible; "
        f"{len(pf)} on the Pareto front."
    )
    _print_front_table(pf, spec.objective_names)


def _print_front_table(pf: Any, names: Sequence[str]) -> None:
    if pf.empty:
        print("no feasible finished trials yet")
        return
    head = ["#", "family"] + [obj.get(n).label for n in names]
    rows = [[str(int(r["number"])), str(r["family"])] + [obj.get(n).fmt(r[n]) for n in names] for _, r in pf.iterrows()]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    print("  ".join(h.ljust(w) for h, w in zip(head, widths)))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))


def cmd_worker(args: argparse.Namespace) -> int:
    from core import search

    url = st.resolve(args.storage)
    search.open_study(url, args.study)
    print(f"worker joining study {args.study!r} in {st.mask(url)}", flush=True)
    result = _run_with_bar(args.study, url, max_trials=args.trials, timeout=args.timeout, quiet=args.quiet)
    print(f"worker done: {result.trials_run} trial(s), {result.stopped_because}", flush=True)
    return 0


# -- front ------------------------------------------------------------------------------------------


def front_records(study_name: str, url: str | None, objectives: Sequence[str] | None = None) -> dict:
    """The Pareto set as plain JSON-able data (trial number, family, params, every metric)."""
    from core import search
    from core.decide import front
    from core.models import families as fam

    study = search.open_study(url, study_name)
    spec = search.load_spec(study)
    names = list(objectives or spec.objective_names)
    for n in names:
        obj.get(n)
    frame = front.trials_frame(study.get_trials(deepcopy=False), spec)
    pf = front.front(frame, names)
    knee = front.knee_index(pf, names)

    def clean(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        return v

    trials = []
    for _, r in pf.iterrows():
        family, params = fam.split_params(r["params"])
        trials.append(
            {
                "number": int(r["number"]),
                "family": family,
                "family_class": r["family_class"],
                "params": params,
                "threshold": clean(r["threshold"]),
                "metrics": {m: clean(float(r[m])) for m in obj.REGISTRY if m in r and r[m] == r[m]},
                "test_metrics": {
                    m: clean(float(r[obj.TEST_ATTR + m]))
                    for m in obj.TEST_METRICS
                    if obj.TEST_ATTR + m in r and r[obj.TEST_ATTR + m] == r[obj.TEST_ATTR + m]
                },
                "knee": int(r["number"]) == knee,
            }
        )
    return {
        "study": study_name,
        "objectives": names,
        "directions": [obj.get(n).direction for n in names],
        "hypervolume": front.hypervolume(pf, names, front.bounds(frame, names)),
        "trials": trials,
    }


def cmd_front(args: argparse.Namespace) -> int:
    from core import search
    from core.decide import front

    data = front_records(args.study, args.storage, args.objectives)
    if args.json:
        print(json.dumps(data, indent=2, default=str))
        return 0
    study = search.open_study(args.storage, args.study)
    spec = search.load_spec(study)
    frame = front.trials_frame(study.get_trials(deepcopy=False), spec)
    _print_front_table(front.front(frame, data["objectives"]), data["objectives"])
    print(f"hypervolume {data['hypervolume']:.4f} (normalised, reference point {front.REF})")
    return 0


def cmd_studies(args: argparse.Namespace) -> int:
    from core import search

    url = st.resolve(args.storage)
    studies = search.list_studies(url)
    if not studies:
        print(f"no studies in {st.mask(url)}")
    for s in studies:
        print(f"{s.study_name}\t{s.n_trials} trials\t{s.datetime_start or ''}")
    return 0


# -- demo -------------------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    from core import search
    from core.data import DEMO, DEMO_SENSITIVE, DEMO_TARGET, DEMO_VALUE
    from core.models import families as fam
    from core.spec import Validation

    spec = build_spec(
        DEMO,
        DEMO_TARGET,
        sensitive=DEMO_SENSITIVE,
        value=DEMO_VALUE,
        objectives=["roc_auc", "latency_p95_ms", "dp_diff"],
        families=fam.FAST_FAMILIES if args.fast else None,
        trials=args.trials,
        seed=args.seed,
        # --fast is a quick look: a 5,000-row training sample keeps a trial to seconds
        validation=Validation(max_train_rows=5000) if args.fast else None,
    )
    url = st.resolve(args.storage)
    default_name = f"demo-{args.trials}-{'fast' if args.fast else 'all'}" + (f"-s{args.seed}" if args.seed else "")
    study = search.create_study(spec, url, args.study or default_name)
    print(
        f"demo study {study.study_name!r} in {st.mask(url)}: ad conversions, "
        f"objectives {', '.join(spec.objective_names)}"
    )
    result = _run_with_bar(study.study_name, url, max_trials=None, timeout=None, quiet=args.quiet)
    _print_summary(study.study_name, url, result)
    return 0


def cmd_app(args: argparse.Namespace) -> int:
    import subprocess

    root = Path(__file__).resolve().parents[2]
    cmd = [sys.executable, "-m", "streamlit", "run", str(root / "app" / "main.py"), "--server.port", str(args.port)]
    print(
        f"Tradeoff Room on http://localhost:{args.port} (data in {st.home()}; Ctrl-C stops the app, "
        "not running searches)",
        flush=True,
    )
    # the app runs from the project folder (for .streamlit/config.toml) but keeps the data directory
    # of the folder it was started from, so `tradeoff demo` and `tradeoff app` there share a database
    env = dict(os.environ, TRADEOFF_HOME=str(st.home()))
    return subprocess.call(cmd, cwd=root, env=env)


# -- parser -----------------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="tradeoff", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    def storage_opt(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--storage",
            help="SQLAlchemy URL (default: $TRADEOFF_STORAGE, "
            ".streamlit/secrets.toml, or SQLite under $TRADEOFF_HOME=./var)",
        )

    sp = sub.add_parser("init", help="write a spec for a data file with sensible defaults")
    sp.add_argument("data", help="CSV or Parquet file, or 'demo'")
    sp.add_argument("--target", required=True)
    sp.add_argument("--sensitive", action="append", help="sensitive column (repeat for several)")
    sp.add_argument("--value", help="per-row value of a true positive (e.g. fee on conversion)")
    sp.add_argument("--positive", help="the label of the positive class")
    sp.add_argument("--objectives", type=_csv_list, help=f"comma-separated; from {', '.join(obj.REGISTRY)}")
    sp.add_argument("--families", type=_csv_list, help="comma-separated model families")
    sp.add_argument("--limit", action="append", help="hard limit NAME=VALUE, e.g. latency_p95_ms=20ms")
    sp.add_argument("--exclude", action="append", help="column to leave out (repeat)")
    sp.add_argument("--trials", type=int)
    sp.add_argument("--timeout", type=float, help="time budget in seconds")
    sp.add_argument("--sampler", default=None, help="nsga2 (default), tpe, random or gp")
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--cv-folds", type=int, default=3, help="cross-validation folds for the search (default 3)")
    sp.add_argument(
        "--max-train-rows",
        type=int,
        help="subsample the training part for the search (stratified, seeded) to keep trials short",
    )
    sp.add_argument("--min-group-rows", type=int, default=30, help="smallest sensitive group to compare (default 30)")
    sp.add_argument(
        "--merge-small-groups",
        action="store_true",
        help="pool sensitive groups under --min-group-rows into one 'other' group",
    )
    sp.add_argument(
        "--keep-suspected-leaks",
        action="store_true",
        help="keep columns that alone separate the classes (dropped by default)",
    )
    sp.add_argument(
        "--sensitive-as-feature", action="store_true", help="let models use the sensitive column(s) as features"
    )
    sp.add_argument(
        "--entity",
        help="column saying whose row it is (a person or customer ID in panel "
        "data): an entity's rows are never split between train and test",
    )
    sp.add_argument(
        "--no-entity-detection",
        action="store_true",
        help="do not treat a repeating ID-named column (nr, person_id…) as the entity column",
    )
    sp.add_argument(
        "--time-column",
        help="column saying when a row happened (dates or a year): the test "
        "part is then the most recent rows, not a random sample",
    )
    sp.add_argument("-o", "--output", default="spec.json")
    sp.set_defaults(func=cmd_init)

    sp = sub.add_parser("search", help="run (or resume) the multi-objective search for a spec")
    sp.add_argument("spec")
    storage_opt(sp)
    sp.add_argument("--study", help="study name (default: derived from the data file and spec)")
    sp.add_argument("--trials", type=int, help="the study's total trial budget (overrides the spec)")
    sp.add_argument("--timeout", type=float, help="stop this run after S seconds")
    sp.add_argument("--sampler", help="nsga2, tpe, random or gp (overrides the spec)")
    sp.add_argument(
        "--create-only",
        action="store_true",
        help="create the study (or set its budget) and exit; start workers with `tradeoff worker`",
    )
    sp.add_argument("--quiet", action="store_true")
    sp.set_defaults(func=cmd_search)

    sp = sub.add_parser("worker", help="join an existing study and work until its budget is spent")
    storage_opt(sp)
    sp.add_argument("--study", required=True)
    sp.add_argument("--trials", type=int, help="at most N trials from this worker")
    sp.add_argument("--timeout", type=float, help="stop this worker after S seconds")
    sp.add_argument("--quiet", action="store_true")
    sp.set_defaults(func=cmd_worker)

    sp = sub.add_parser("front", help="print the Pareto front of a study")
    storage_opt(sp)
    sp.add_argument("--study", required=True)
    sp.add_argument("--objectives", type=_csv_list, help="re-choose objectives (from stored metrics)")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_front)

    sp = sub.add_parser("studies", help="list studies in a storage")
    storage_opt(sp)
    sp.set_defaults(func=cmd_studies)

    sp = sub.add_parser("demo", help="a short search on the built-in ad-conversion data, end to end")
    storage_opt(sp)
    sp.add_argument("--trials", type=int, default=12)
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--study")
    sp.add_argument("--fast", action="store_true", help="only fast families, trained on a 5,000-row sample")
    sp.add_argument("--quiet", action="store_true")
    sp.set_defaults(func=cmd_demo)

    sp = sub.add_parser("app", help="start the Streamlit app")
    sp.add_argument("--port", type=int, default=8501)
    sp.set_defaults(func=cmd_app)

    for module in _EXTENSIONS:
        if importlib.util.find_spec(module) is not None:
            register = getattr(importlib.import_module(module), "register_cli", None)
            if register is not None:
                register(sub)
    return p


# Modules that add their own sub-commands with ``register_cli(subparsers)`` (export, reproduce…).
_EXTENSIONS = ("core.export.bundle", "core.decide.room")


def main(argv: Sequence[str] | None = None) -> int:
    import warnings

    args = parser().parse_args(argv)
    _sigterm_to_interrupt()
    warnings.filterwarnings("ignore", category=FutureWarning)
    try:
        import optuna
        from optuna.exceptions import ExperimentalWarning

        warnings.filterwarnings("ignore", category=ExperimentalWarning)
        # the bar and the summary say what happened; Optuna's INFO lines would repeat it, per trial
        optuna.logging.set_verbosity(optuna.logging.WARNING)
    except ImportError:
        pass
    try:
        return int(args.func(args) or 0)
    except UserInputError as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_USER
    except OSError as exc:  # a file the user named cannot be read or written
        where = f" {exc.filename!r}" if getattr(exc, "filename", None) else ""
        print(f"error: {exc.strerror or exc}{where}.", file=sys.stderr)
        return EXIT_USER
    except KeyboardInterrupt:
        print(
            "\ninterrupted: finished trials are kept; a trial that was running was abandoned "
            "(marked failed, not counted, its budget slot given back).",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
