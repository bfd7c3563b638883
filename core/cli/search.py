"""``tradeoff search``, ``worker`` and ``studies``: run a study, join one, list them.

A run shows a progress bar and ends with a summary of the front; a worker started with ``--quiet``
skips both, because the summary re-reads every trial and its hypervolume.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

from core import catalog
from core import storage as st
from core.cli._options import seconds, storage_option, trial_count
from core.cli._spec_file import load_spec
from core.cli.front import print_front_table, print_limits, print_suspicion
from core.errors import UserInputError


def run_with_bar(
    study_name: str, url: str, *, max_trials: int | None, timeout: float | None, quiet: bool = False
) -> Any:
    """``core.search.run`` with a tqdm bar over the study's whole budget."""
    from tqdm import tqdm

    from core import search
    from core.decide import front

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
        return search.run(
            study_name,
            url,
            max_trials=max_trials,
            timeout_s=timeout,
            on_progress=None if quiet else on_progress,
            hypervolume=front.hypervolume,
        )
    finally:
        bar.close()


def search_with_workers(study_name: str, url: str, n_workers: int, *, timeout: float | None, quiet: bool) -> Any:
    """Run a study on ``n_workers`` cores: this process (with the bar) plus local worker processes.

    The others run the ``tradeoff worker`` command (forked from this process where that is safe,
    else spawned as the app does: :mod:`core.search.launcher`) and share the study's global budget,
    so the total is exact. They run in their own session, so Ctrl-C
    reaches only this process; whatever ends this one stops them too, each abandoning its running
    trial cleanly, and waits for them. ``trials_run`` in the result counts every worker's trials.
    """
    from core import search
    from core.search import launcher

    before, _ = search.counted(search.open_study(url, study_name).get_trials(deepcopy=False))
    helpers = _start_helpers(study_name, url, n_workers - 1, timeout) if n_workers > 1 else []
    try:
        result = run_with_bar(study_name, url, max_trials=None, timeout=timeout, quiet=quiet)
        launcher.wait(helpers)
    finally:
        launcher.stop_all(helpers)
    if helpers:
        after, _ = search.counted(search.open_study(url, study_name).get_trials(deepcopy=False))
        result = replace(result, trials_run=after - before)
    return result


def _start_helpers(study_name: str, url: str, n: int, timeout: float | None) -> list:
    """The other workers: forked from this process where that is safe (they start their first trial
    at once, :func:`core.search.launcher.fork`), else spawned as ``tradeoff worker`` processes."""
    from core.search import launcher

    if not launcher.can_fork():
        return launcher.start(study_name, url, n, timeout_s=timeout)
    argv = ["worker", "--study", study_name, "--storage", url, "--quiet"]
    argv += ["--timeout", repr(float(timeout))] if timeout else []

    def entry() -> int:
        from core.cli.main import main

        return main(argv)

    return launcher.fork(study_name, n, entry)


def _worker_count(args: argparse.Namespace, url: str) -> int:
    """``--workers``, else one per core when other processes can share the storage."""
    from core.search import launcher

    if args.workers is not None and args.workers < 1:
        raise UserInputError(f"--workers must be at least 1, got {args.workers}.", field="workers")
    if not launcher.shareable(url):
        return 1
    return args.workers if args.workers is not None else launcher.default_count()


def print_summary(study_name: str, url: str, result: Any) -> None:
    """What the run did, what the study holds now, and its front."""
    from core import search
    from core.decide import front, limits

    study = search.open_study(url, study_name)
    spec = limits.view_spec(search.load_spec(study), study.user_attrs)  # the room's limits
    frame = front.trials_frame(study.get_trials(deepcopy=False), spec)
    done, failed = search.counted(study.get_trials(deepcopy=False))
    pf = front.front(frame, spec.objective_names)
    early = int(frame["stopped"].notna().sum()) if "stopped" in frame else 0
    # a trial stopped early is done (it counts in the budget) but has no figures: say how many of each
    done_text = (
        f"{done} done: {done - early} finished in full, {early} stopped early (they could not reach the front), "
        if early
        else f"{done} finished, "
    )
    print(
        f"{result.trials_run} trial(s) run here ({result.stopped_because}); study has {done_text}"
        f"{failed} failed, {int((~frame['feasible'] & (frame['state'] == 'COMPLETE')).sum())} "
        f"infeasible; {len(pf)} on the Pareto front."
    )
    print_front_table(pf, spec.objective_names, spec.objectives, value_model=spec.value_model)
    print_limits(frame, spec.objectives)
    print_suspicion(frame, spec)


def cmd_search(args: argparse.Namespace) -> int:
    from core import search

    spec = load_spec(args.spec)
    if args.sampler:
        spec = replace(spec, sampler=args.sampler)
    url = st.resolve(args.storage)
    n_workers = _worker_count(args, url)
    study = search.create_study(spec, url, args.study, n_trials=args.trials)
    print(f"study {study.study_name!r} in {st.mask(url)}")
    if args.create_only:
        print(f"created; start workers with: tradeoff worker --study {study.study_name} --storage <URL>")
        return 0
    if n_workers > 1:
        print(f"{n_workers} workers on this machine, sharing the budget (--workers N to change)", flush=True)
    result = search_with_workers(study.study_name, url, n_workers, timeout=args.timeout, quiet=args.quiet)
    print_summary(study.study_name, url, result)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from core import search

    url = st.resolve(args.storage)
    search.open_study(url, args.study)
    print(f"worker joining study {args.study!r} in {st.mask(url)}", flush=True)
    result = run_with_bar(args.study, url, max_trials=args.trials, timeout=args.timeout, quiet=args.quiet)
    print(f"worker done: {result.trials_run} trial(s), {result.stopped_because}", flush=True)
    return 0


def trial_counts(url: str, study_name: str) -> str:
    """ "3 of 16 run, 11 queued": trials that used budget apart from the starter trials still
    waiting (Optuna counts those as trials, yet none has run)."""
    from optuna.trial import TrialState

    from core import search
    from core.search import reader

    done, _failed = reader.counted(url, study_name)
    n_budget, _ = search.budget(url, study_name)
    storage = search.optuna_storage(url)
    trials = storage.get_all_trials(
        storage.get_study_id_from_name(study_name), deepcopy=False, states=(TrialState.WAITING, TrialState.RUNNING)
    )
    queued = sum(t.state == TrialState.WAITING for t in trials)
    running = len(trials) - queued
    text = f"{done} of {n_budget} run" if n_budget is not None else f"{done} run"
    stalled = search.stalled_note(len(search.stalled_trials(url, study_name, _running(trials))))
    return (
        text + f", {queued} queued" + (f", {running} running" if running else "") + (f" ({stalled})" if stalled else "")
    )


def _running(trials: Any) -> list[int]:
    from optuna.trial import TrialState

    return [t.number for t in trials if t.state == TrialState.RUNNING]


def cmd_studies(args: argparse.Namespace) -> int:
    from core import search

    url = st.resolve_existing(args.storage)
    studies = search.list_studies(url)
    if not studies:
        print(f"no studies in {st.mask(url)}")
    for s in studies:
        print(f"{s.study_name}\t{trial_counts(url, s.study_name)}\t{s.datetime_start or ''}")
    return 0


def register_cli(sub: Any) -> None:
    """Add ``search``, ``worker`` and ``studies`` to the ``tradeoff`` command."""
    sp = sub.add_parser("search", help="run (or resume) the multi-objective search for a spec")
    sp.add_argument("spec")
    storage_option(sp)
    sp.add_argument("--study", help="study name (default: derived from the data file and spec)")
    sp.add_argument("--trials", type=trial_count, help="the study's total trial budget (overrides the spec)")
    sp.add_argument("--timeout", type=seconds, help="stop this run after S seconds")
    sp.add_argument("--sampler", help=f"{', '.join(catalog.SAMPLERS)} (overrides the spec)")
    sp.add_argument(
        "--workers",
        type=int,
        help="worker processes on this machine (default: one per core; 1 with an in-memory database)",
    )
    sp.add_argument(
        "--create-only",
        action="store_true",
        help="create the study (or set its budget) and exit; start workers with `tradeoff worker`",
    )
    sp.add_argument("--quiet", action="store_true")
    sp.set_defaults(func=cmd_search)

    sp = sub.add_parser("worker", help="join an existing study and work until its budget is spent")
    storage_option(sp)
    sp.add_argument("--study", required=True)
    sp.add_argument("--trials", type=trial_count, help="at most N trials from this worker")
    sp.add_argument("--timeout", type=seconds, help="stop this worker after S seconds")
    sp.add_argument("--quiet", action="store_true")
    sp.set_defaults(func=cmd_worker)

    sp = sub.add_parser("studies", help="list studies in a storage")
    storage_option(sp)
    sp.set_defaults(func=cmd_studies)


__all__ = [
    "cmd_search",
    "cmd_studies",
    "cmd_worker",
    "print_summary",
    "register_cli",
    "run_with_bar",
    "search_with_workers",
    "trial_counts",
]
