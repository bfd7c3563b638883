"""``tradeoff init`` and ``tradeoff demo``: a spec for a data file, and the built-in end-to-end run.

:func:`build_spec` is also the scripts' way to a spec with the CLI's defaults (see ``bench/``).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core import catalog
from core import objectives as obj
from core import storage as st
from core.cli._options import csv_list, seconds, storage_option, trial_count
from core.cli.search import print_summary, run_with_bar
from core.errors import UserInputError
from core.spec import Budget, DataRef, Objective, Spec, Validation, parse_limit


def build_spec(data: str, target: str, **options: Any) -> Spec:
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
    validation: Validation | None = None,
    data_options: dict[str, Any] | None = None,
) -> tuple[Spec, Any]:
    """:func:`build_spec` and the prepared data set, whose notes (dropped columns, merged labels)
    the user should read before searching. ``data_options``: further :class:`DataRef` fields
    (min_group_rows, merge_small_groups, keep_suspected_leaks, sensitive_as_feature, entity_column,
    detect_entity, time_column)."""
    from core.data import load_dataset
    from core.metrics import value as value_mod

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
    if trials is None and timeout is None:
        trials = 60
    spec = Spec(
        data=ref,
        objectives=tuple(Objective(n, limit=parse_limit(n, limits.get(n), f"objectives.{n}.limit")) for n in names),
        families=tuple(families or ()),
        budget=Budget(n_trials=trials, timeout_s=timeout),
        sampler=sampler or catalog.DEFAULT_SAMPLER,
        seed=seed,
        validation=validation or Validation(),
        value_model=value_mod.default_value_model(ds),
    ).with_fingerprint(ds.fingerprint)
    return spec, ds


def parse_limits(items: Sequence[str] | None) -> dict[str, str]:
    """``--limit latency_p95_ms=20ms`` (repeatable) → ``{"latency_p95_ms": "20ms"}``."""
    out = {}
    for item in items or ():
        if "=" not in item:
            raise UserInputError(
                f"--limit expects NAME=VALUE (e.g. latency_p95_ms=20ms), got {item!r}.", field="objectives"
            )
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def _data_options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "min_group_rows": args.min_group_rows,
        "merge_small_groups": args.merge_small_groups,
        "keep_suspected_leaks": args.keep_suspected_leaks,
        "sensitive_as_feature": args.sensitive_as_feature,
        "entity_column": args.entity,
        "detect_entity": not args.no_entity_detection,
        "time_column": args.time_column,
    }


def cmd_init(args: argparse.Namespace) -> int:
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
        limits=parse_limits(args.limit),
        exclude=args.exclude or (),
        validation=Validation(cv_folds=args.cv_folds, max_train_rows=args.max_train_rows),
        data_options=_data_options(args),
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


def cmd_demo(args: argparse.Namespace) -> int:
    from core import search
    from core.data import DEMO, DEMO_SENSITIVE, DEMO_TARGET, DEMO_VALUE

    spec = build_spec(
        DEMO,
        DEMO_TARGET,
        sensitive=DEMO_SENSITIVE,
        value=DEMO_VALUE,
        objectives=["roc_auc", "latency_p95_ms", "dp_diff"],
        families=catalog.FAST_FAMILIES if args.fast else None,
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
    result = run_with_bar(study.study_name, url, max_trials=None, timeout=None, quiet=args.quiet)
    print_summary(study.study_name, url, result)
    return 0


def _add_data_arguments(sp: argparse.ArgumentParser) -> None:
    """What each column means and how the table is prepared."""
    sp.add_argument("data", help="CSV or Parquet file, or 'demo'")
    sp.add_argument("--target", required=True)
    sp.add_argument("--sensitive", action="append", help="sensitive column (repeat for several)")
    sp.add_argument("--value", help="per-row value of a true positive (e.g. fee on conversion)")
    sp.add_argument("--positive", help="the label of the positive class")
    sp.add_argument("--exclude", action="append", help="column to leave out (repeat)")
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


def _add_search_arguments(sp: argparse.ArgumentParser) -> None:
    """What to optimise, with which models, for how long."""
    sp.add_argument("--objectives", type=csv_list, help=f"comma-separated; from {', '.join(obj.REGISTRY)}")
    sp.add_argument("--families", type=csv_list, help=f"comma-separated; from {', '.join(catalog.FAMILY_NAMES)}")
    sp.add_argument("--limit", action="append", help="hard limit NAME=VALUE, e.g. latency_p95_ms=20ms")
    sp.add_argument("--trials", type=trial_count)
    sp.add_argument("--timeout", type=seconds, help="time budget in seconds")
    others = [s for s in catalog.SAMPLERS if s != catalog.DEFAULT_SAMPLER]
    sp.add_argument(
        "--sampler", default=None, help=f"{catalog.DEFAULT_SAMPLER} (default), {', '.join(others[:-1])} or {others[-1]}"
    )
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--cv-folds", type=int, default=3, help="cross-validation folds for the search (default 3)")
    sp.add_argument(
        "--max-train-rows",
        type=int,
        help="subsample the training part for the search (stratified, seeded) to keep trials short",
    )


def register_cli(sub: Any) -> None:
    """Add ``init`` and ``demo`` to the ``tradeoff`` command."""
    sp = sub.add_parser("init", help="write a spec for a data file with sensible defaults")
    _add_data_arguments(sp)
    _add_search_arguments(sp)
    sp.add_argument("-o", "--output", default="spec.json")
    sp.set_defaults(func=cmd_init)

    sp = sub.add_parser("demo", help="a short search on the built-in ad-conversion data, end to end")
    storage_option(sp)
    sp.add_argument("--trials", type=trial_count, default=12)
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--study")
    sp.add_argument("--fast", action="store_true", help="only fast families, trained on a 5,000-row sample")
    sp.add_argument("--quiet", action="store_true")
    sp.set_defaults(func=cmd_demo)


__all__ = ["build_spec", "build_spec_with_data", "cmd_demo", "cmd_init", "parse_limits", "register_cli"]
