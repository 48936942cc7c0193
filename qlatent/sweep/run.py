"""Run a sweep: skip complete runs, run the rest on an executor, record each, gather the tables.

:func:`run_sweep` is ``qlatent sweep SWEEP.yml``. It is idempotent: runs are keyed by their
parameters (:meth:`~qlatent.sweep.spec.SweepSpec.key`), complete ones are never run again, and a
sweep that was killed or had failures finishes only what is missing when run again.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qlatent.sweep.engine import TaskResult, run_tasks
from qlatent.sweep.executors import ExecutorSettings, open_executor, preflight
from qlatent.sweep.records import SweepStore
from qlatent.sweep.spec import SweepSpec


@dataclasses.dataclass
class SweepSummary:
    """What a sweep did: runs in the grid, skipped (complete before), completed now, failed, tables."""

    name: str
    output: Path
    n_runs: int
    n_skipped: int
    n_completed: int
    failures: list[tuple[dict[str, Any], str]]
    tables: dict[str, Path]
    seconds: float
    executor: str

    @property
    def ok(self) -> bool:
        return not self.failures


def run_sweep(spec: SweepSpec, settings: ExecutorSettings | None = None, *, progress: bool = True,
              say: Callable[[str], None] = print) -> SweepSummary:
    """Run every missing run of ``spec`` on the executor ``settings`` name, then write the tidy tables.

    Parameters
    ----------
    spec : SweepSpec
        A checked sweep (:func:`qlatent.sweep.spec.load_sweep`).
    settings : ExecutorSettings, optional
        Where runs execute; default: a local pool with one worker per CPU. The sweep's
        ``resources.gpus`` is what each run asks for.
    progress : bool
        Show the progress bar.
    say : callable
        Where one-line messages go.

    Raises
    ------
    SweepError
        If another sweep holds the folder, or the executor cannot start (Ray absent or
        unreachable) — before any run starts.
    """
    started = time.perf_counter()
    settings = dataclasses.replace(settings or ExecutorSettings("local"), gpus_per_task=spec.gpus)
    preflight(settings)
    store = SweepStore(spec.output)
    jobs = spec.jobs()
    with store.locked():
        pending = [job for job in jobs if not store.is_complete(store.run_dir(spec, job))]
        store.write_spec(spec)
        failures: list[tuple[dict[str, Any], str]] = []
        completed = 0
        description = settings.kind
        if pending:
            with open_executor(settings) as executor:
                description = executor.describe()
                say(f"sweep {spec.name!r}: {len(jobs)} run(s), {len(jobs) - len(pending)} complete before, "
                    f"{len(pending)} to run on {description}")

                def record(result: TaskResult) -> None:
                    nonlocal completed
                    saved = store.save(spec, pending[result.index], result)
                    if saved["status"] == "complete":
                        completed += 1
                    else:
                        failures.append((pending[result.index], saved["error"]))

                tasks = [spec.task(job, store.work_dir(store.run_dir(spec, job))) for job in pending]
                run_tasks(spec.function(), tasks, executor, retries=spec.retries, gpus=settings.gpus_per_task,
                          progress=progress, desc=spec.name, already_done=len(jobs) - len(pending), on_result=record)
        else:
            say(f"sweep {spec.name!r}: all {len(jobs)} run(s) complete before; gathering the tables")
        from qlatent.sweep.aggregate import write_tables

        tables = write_tables(spec, store)
    return SweepSummary(spec.name, store.root, len(jobs), len(jobs) - len(pending), completed, failures, tables,
                        time.perf_counter() - started, description)
