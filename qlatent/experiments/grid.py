"""Run one training per job (a dict of run parameters) and gather tidy tables: the loop every experiment shares.

A *job* is a mapping of the parameters that vary between runs of one experiment — for example
``{"dataset": "quantum", "latent": "boson", "seed": 3}``. ``train_one(**job)`` trains (or resumes,
or reloads) that run and returns a :class:`RunOutcome`; the job's keys become the leading columns
of every table. :func:`product_jobs` builds the usual grid (every combination, in order).

Runs execute where :mod:`qlatent.sweep.executors` says: one after another in this process by
default, or on a local process pool or a Ray cluster when ``executor`` (or ``$QLATENT_EXECUTOR``,
which ``qlatent book --executor`` sets for the notebooks) asks for it. ``train_one`` must then be
picklable: a module-level function or a :func:`functools.partial` of one, not a lambda. Results
are the same whatever the executor (runs are seeded by their job), up to floating-point
summation order when the number of torch threads differs (workers use one).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from qlatent.sweep.engine import DEFAULT_RETRIES, run_tasks
from qlatent.sweep.errors import RunsFailed, SweepError, describe_job
from qlatent.sweep.executors import ExecutorSettings, open_executor, resolve_settings

__all__ = ["GridResults", "RunOutcome", "RunsFailed", "SweepError", "gather", "product_jobs", "run_grid"]


@dataclass
class RunOutcome:
    """What one run returns: final scores, its training curve, optional per-sample rows, and the
    seconds its training took in all (over every resume; NaN when unknown)."""

    scores: dict[str, float]
    curve: pd.DataFrame
    samples: pd.DataFrame = field(default_factory=pd.DataFrame)
    training_seconds: float = float("nan")


@dataclass
class GridResults:
    """Tidy tables over all runs: ``runs`` (job keys, metric, value), ``curves``, ``samples`` and
    ``compute`` (job keys, ``training_seconds``)."""

    runs: pd.DataFrame
    curves: pd.DataFrame
    samples: pd.DataFrame
    compute: pd.DataFrame = field(default_factory=pd.DataFrame)


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
    compute = pd.DataFrame([{**job, "training_seconds": outcome.training_seconds}
                            for job, outcome in zip(jobs, outcomes, strict=True)])
    return GridResults(pd.DataFrame(run_rows), curve_table,
                       pd.concat(samples, ignore_index=True) if samples else pd.DataFrame(), compute)


def run_grid(train_one: Callable[..., RunOutcome], jobs: Sequence[Mapping[str, Any]],
             progress: bool = True, executor: str | ExecutorSettings | None = None,
             retries: int = DEFAULT_RETRIES) -> GridResults:
    """Call ``train_one(**job)`` for every job and gather the results in job order.

    Parameters
    ----------
    train_one : callable
        Trains (or resumes, or reloads) one run and returns a :class:`RunOutcome`.
    jobs : sequence of mappings
        One per run, all naming the same parameters (:func:`product_jobs`).
    progress : bool
        Show a progress bar (done / running / failed / remaining).
    executor : {"serial", "local", "ray"} or ExecutorSettings, optional
        Where runs execute; default from ``$QLATENT_EXECUTOR`` and friends, serial when unset
        (see :mod:`qlatent.sweep.executors`).
    retries : int
        Further attempts of a run whose worker process died.

    Raises
    ------
    ValueError
        With no jobs, jobs naming different parameters, or a parameter named ``metric``/``value``.
    SweepError
        If the executor cannot start (Ray absent or unreachable) or ``train_one`` cannot be sent
        to worker processes — before any run starts.
    RunsFailed
        If some runs raised: after every other run completed, naming each failed run's parameters
        and error (in-process, chained to the first exception). ``.completed`` holds the
        :class:`GridResults` of the runs that completed.
    TypeError
        If a run returns something other than a :class:`RunOutcome`.
    """
    checked = _check_jobs(jobs)
    settings = resolve_settings(executor)
    with open_executor(settings) as running:
        results = run_tasks(train_one, checked, running, retries=retries, gpus=settings.gpus_per_task,
                            progress=progress, desc="runs")
    for job, result in zip(checked, results, strict=True):
        if result.ok and not isinstance(result.value, RunOutcome):
            raise TypeError(f"run {describe_job(job)} returned {type(result.value).__name__}, not a RunOutcome")
    completed = [(job, result.value) for job, result in zip(checked, results, strict=True) if result.ok]
    failed = [result for result in results if not result.ok]
    if failed:
        partial = gather([job for job, _ in completed], [outcome for _, outcome in completed]) if completed else None
        error = RunsFailed([(checked[result.index], result.error) for result in failed], len(checked), partial)
        raise error from failed[0].exception
    return gather(checked, [outcome for _, outcome in completed])
