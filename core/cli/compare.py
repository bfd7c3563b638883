"""``tradeoff compare``: the Compare page's comparison from the command line, as tables or JSON.

It calls the page's own function (:func:`core.decide.compare.run`) and prints the page's tables
(:mod:`core.decide.compare.tables`), so the terminal and the browser never disagree on a figure.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from typing import Any

from core._text import fmt_p
from core.cli._options import storage_option
from core.errors import UserInputError


def trial_list(value: str) -> list[str]:
    """``--trials 0,3@2`` → ``["0", "3@2"]`` (trial numbers or option keys); anything else is a usage error."""
    from core.decide import options

    keys = [v.strip() for v in value.split(",") if v.strip()]
    try:
        return [options.option_key(*options.parse_option(k)) for k in keys]
    except UserInputError:
        raise argparse.ArgumentTypeError(
            f"expected trial numbers (or options like 3@2) separated by commas, e.g. 0,3; got {value!r}"
        ) from None


def check_trials(numbers: list[str]) -> None:
    """Two different trials at least, each named once: the mistakes a flag can make, said in its words."""
    if len(numbers) < 2:
        raise UserInputError(
            f"--trials needs two or more trial numbers, got {len(numbers)}; e.g. --trials 0,3 "
            "(`tradeoff front --study S` lists the finished ones).",
            field="trials",
        )
    twice = sorted({n for n in numbers if numbers.count(n) > 1})
    if twice:
        raise UserInputError(
            f"--trials names trial #{twice[0]} twice; name two different trials, e.g. --trials 0,3.", field="trials"
        )


class _ProgressBar:
    """A tqdm bar on stderr (stdout stays the table or the JSON), drawn at the first report.

    Why lazily: a mistake found before any work (unknown study, unfinished trial) must leave stderr
    with its one ``error:`` line and nothing else.
    """

    def __init__(self) -> None:
        self.bar: Any = None

    def __call__(self, msg: str, frac: float) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(
                total=100, file=sys.stderr, leave=False, bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}"
            )
        self.bar.set_description_str(msg)
        self.bar.update(max(0, min(100, round(100 * frac))) - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def print_comparison(c: Mapping[str, Any]) -> None:
    """One comparison: its metric table, its cost table, McNemar's line and the verdict sentence."""
    from core.decide.compare import tables

    level = f"{(1 - c['alpha']) * 100:g} %"
    rows = f"{c['n_entities']:,} entities" if c.get("n_entities") else f"{c['n_test']:,} test rows"
    print(f"{c['challenger']['label']} vs {c['baseline']['label']}: {c['n_boot']:,} paired resamples of {rows}")
    print(f"(differences are {c['challenger']['label']} − {c['baseline']['label']}, {level} intervals)\n")
    print(tables.metric_table(c).to_string(index=False), end="\n\n")
    print(tables.ratio_table(c).drop(columns="how measured").to_string(index=False), end="\n\n")
    m = c["mcnemar"]
    print(f"McNemar ({m['method']}): {fmt_p(m['p_value'], named=True)}\n")
    print(f"verdict: {c['sentence']}\n")


def print_report(rep: Mapping[str, Any]) -> None:
    """Every comparison of the report, then the cascade's summary when there is a cascade."""
    print(f"study {rep['study']}, baseline #{rep['baseline']}\n")
    for c in rep["comparisons"]:
        print_comparison(c)
    if rep["cascade"] is not None:
        print(f"cascade: {rep['cascade']['summary']}")


def cmd_compare(args: argparse.Namespace) -> int:
    from core.decide import compare
    from core.export import verdict as room_verdict

    check_trials(args.trials)
    bar = _ProgressBar()
    try:
        rep = compare.run(
            args.storage, args.study, args.trials, baseline=args.baseline, on_progress=bar, refit=args.refit
        )
    finally:
        bar.close()
    data = rep.to_dict()
    room_verdict.remember(args.storage, args.study, data)  # `tradeoff export` uses it by itself
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print_report(data)
    return 0


def register_cli(sub: Any) -> None:
    """Add ``compare`` to the ``tradeoff`` command."""
    sp = sub.add_parser(
        "compare", help="is the complex model worth it? paired statistics, costs and one verdict per pair"
    )
    storage_option(sp)
    sp.add_argument("--study", required=True)
    sp.add_argument(
        "--trials",
        required=True,
        type=trial_list,
        help="two or more finished trials, e.g. 0,3, or options (trial@point, from `front --operating-points`)",
    )
    sp.add_argument(
        "--refit",
        action="store_true",
        help="re-fit both models: adds explanations and re-measures latency now (default: the search's stored figures)",
    )
    sp.add_argument("--baseline", type=int, help="the trial the others are compared with (default: the simplest)")
    sp.add_argument("--json", action="store_true", help="the whole report as JSON (what the page downloads)")
    sp.set_defaults(func=cmd_compare)


__all__ = ["check_trials", "cmd_compare", "print_comparison", "print_report", "register_cli", "trial_list"]
