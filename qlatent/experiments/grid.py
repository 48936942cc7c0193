"""Run one training per job (a dict of run parameters) and gather tidy tables: the loop every experiment shares.

A *job* is a mapping of the parameters that vary between runs of one experiment — for example
``{"dataset": "quantum", "latent": "boson", "seed": 3}``. ``train_one(**job)`` trains (or resumes,
or reloads) that run and returns a :class:`RunOutcome`; the job's keys become the leading columns
of every table. :func:`product_jobs` builds the usual grid (every combination, in order).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd


@dataclass
class RunOutcome:
    """What one run returns: final scores, its training curve, and optional per-sample rows."""

    scores: dict[str, float]
    curve: pd.DataFrame
    samples: pd.DataFrame = field(default_factory=pd.DataFrame)


@dataclass
class GridResults:
    """Tidy tables over all runs: ``runs`` (job keys, metric, value), ``curves``, ``samples``."""

    runs: pd.DataFrame
    curves: pd.DataFrame
    samples: pd.DataFrame


def product_jobs(**axes: Sequence[Any]) -> list[dict[str, Any]]:
    """Every combination of the axes' values, the first axis varying slowest.

    ``product_jobs(latent=["a", "b"], seed=[0, 1])`` gives ``a/0, a/1, b/0, b/1``.

    Raises
    ------
    ValueError
        If an axis is empty (the message names it).
    """
    for name, values in axes.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
            raise TypeError(f"{name} must be a list of values, got {type(values).__name__}")
        if len(values) == 0:
            raise ValueError(f"need at least one value of {name}")
    names = list(axes)
    return [dict(zip(names, combination)) for combination in itertools.product(*axes.values())]


def _check_jobs(jobs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if not jobs:
        raise ValueError("need at least one run")
    checked = [dict(job) for job in jobs]
    keys = list(checked[0])
    for job in checked:
        if list(job) != keys:
            raise ValueError(f"every run must name the same parameters; got {keys} and {list(job)}")
    reserved = {"metric", "value"} & set(keys)
    if reserved:
        raise ValueError(f"run parameters may not be named {sorted(reserved)}: those are table columns")
    return checked


def gather(jobs: Sequence[Mapping[str, Any]], outcomes: Sequence[RunOutcome]) -> GridResults:
    """Tidy tables from each job's outcome, in job order."""
    run_rows, curves, samples = [], [], []
    for job, outcome in zip(jobs, outcomes, strict=True):
        run_rows += [{**job, "metric": metric, "value": value} for metric, value in outcome.scores.items()]
        curves.append(outcome.curve.assign(**job))
        if not outcome.samples.empty:
            samples.append(outcome.samples.assign(**job))
    keys = list(jobs[0])
    curve_table = pd.concat(curves, ignore_index=True)
    curve_table = curve_table[keys + [c for c in curve_table.columns if c not in keys]]
    return GridResults(pd.DataFrame(run_rows), curve_table,
                       pd.concat(samples, ignore_index=True) if samples else pd.DataFrame())


def run_grid(train_one: Callable[..., RunOutcome], jobs: Sequence[Mapping[str, Any]],
             progress: bool = True) -> GridResults:
    """Call ``train_one(**job)`` for every job in order and gather the results.

    Raises
    ------
    ValueError
        With no jobs, jobs naming different parameters, or a parameter named ``metric``/``value``.
    """
    from tqdm.auto import tqdm

    checked = _check_jobs(jobs)
    outcomes = []
    for job in tqdm(checked, desc="runs", disable=not progress):
        outcomes.append(train_one(**job))
    return gather(checked, outcomes)
