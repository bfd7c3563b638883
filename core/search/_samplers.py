"""The samplers a study can use, one factory per name of ``core.catalog.SAMPLERS_INFO`` (a test
keeps the two equal), each tuned to a meeting-sized budget: tens of trials, not thousands."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import optuna
from optuna.samplers import BaseSampler
from optuna.trial import FrozenTrial

from core.errors import UserInputError
from core.spec import Spec

Constraints = Callable[[FrozenTrial], list[float]] | None
SamplerFactory = Callable[[int, int, Constraints], BaseSampler]


def _nsga2(seed: int, budget_n: int, constraints: Constraints) -> BaseSampler:
    # Optuna's default population (50) would spend a 60-trial budget on its random first generation,
    # and a timed run (a huge trial budget) all of a short race: capped at 16, the elite choice of
    # family starts after 16 trials in every run (bench/README.md, search_wallclock.py)
    pop = int(max(8, min(16, budget_n // 4)))
    return optuna.samplers.NSGAIISampler(population_size=pop, seed=seed, constraints_func=constraints)


def _tpe(seed: int, budget_n: int, constraints: Constraints) -> BaseSampler:
    # multivariate and grouped: the space is conditional on the family. constant_liar: parallel
    # workers treat each other's running trials as bad results, so two workers do not propose the
    # same configuration at the same moment.
    return optuna.samplers.TPESampler(
        seed=seed,
        multivariate=True,
        group=True,
        constant_liar=True,
        n_startup_trials=int(max(5, min(20, budget_n // 5))),
        constraints_func=constraints,
    )


def _random(seed: int, budget_n: int, constraints: Constraints) -> BaseSampler:  # noqa: ARG001
    return optuna.samplers.RandomSampler(seed=seed)


def _gp(seed: int, budget_n: int, constraints: Constraints) -> BaseSampler:  # noqa: ARG001
    try:
        import torch  # noqa: F401
    except ImportError:
        raise UserInputError(
            "The GP sampler needs PyTorch, which is not installed. Install it with "
            "`pip install -e '.[gp]'` or choose nsga2, tpe or random.",
            field="sampler",
        ) from None
    return optuna.samplers.GPSampler(seed=seed, constraints_func=constraints)


SAMPLER_FACTORIES: dict[str, SamplerFactory] = {"nsga2": _nsga2, "tpe": _tpe, "random": _random, "gp": _gp}


def _constraints(trial: FrozenTrial) -> list[float]:
    """The hard limits' violations the objective stored (≤ 0 is feasible), for Optuna's samplers."""
    return list(trial.user_attrs.get("constraints", [1.0]))


def make_sampler(spec: Spec, *, n_trials: int | None = None, seed: int | None = None) -> BaseSampler:
    """The spec's sampler, sized to the budget (``n_trials``, else the spec's, else 100).

    NSGA-II is the default (``core.catalog.DEFAULT_SAMPLER``). On our conditional space Optuna's
    NSGA-II crosses over only what every trial shares, ``family``, and draws each family parameter
    at random: in effect random search with an elite choice of family. A variant that bred family
    parameters from same-family parents concentrated on a few families and did worse than random
    search on the demo (0.97×, bench/README.md), so the default stays this.
    ``seed`` overrides the spec's seed: workers on one study must not share a seed, or each would
    propose the same configurations.
    """
    factory = SAMPLER_FACTORIES.get(spec.sampler)
    if factory is None:
        raise UserInputError(f"Unknown sampler {spec.sampler!r}.", field="sampler")
    constraints = _constraints if spec.has_limits else None
    return factory(spec.seed if seed is None else seed, n_trials or spec.budget.n_trials or 100, constraints)


def worker_seed(spec_seed: int, ordinal: int, worker_id: str) -> int:
    """The sampler seed of a study's ``ordinal``-th worker (0-based, in order of joining).

    The first worker keeps the spec's seed, so a search run by one process is reproducible; every
    later one (a second machine, or a resumed search) draws from its own stream. Identical seeds
    in two workers would make them sample identical configurations and waste the budget.
    """
    if ordinal == 0:
        return spec_seed
    digest = hashlib.sha256(f"{spec_seed}:{ordinal}:{worker_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big")
