"""Run many tasks on an executor: bounded retries of crashed workers, failures reported, a progress bar.

:func:`run_tasks` is the one dispatch loop behind :func:`qlatent.experiments.grid.run_grid`, the
sweeps of :mod:`qlatent.sweep.run` and the sharded sample banks of :mod:`qlatent.qpu.shards`.
A task that raises is *failed* (its error and traceback are kept, the others go on); a task whose
worker died is *crashed* and submitted again, at most ``retries`` more times, because a killed or
out-of-memory worker says nothing about the run itself.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from qlatent.sweep.errors import SweepError
from qlatent.sweep.executors import Executor, TaskOutcome, pickled_task

#: Crashed workers tolerated per task before it counts as failed.
DEFAULT_RETRIES = 2


@dataclass
class TaskResult:
    """One task's end: ``ok`` with its value, or failed with the error (and the exception in-process)."""

    index: int
    ok: bool
    value: Any = None
    error: str = ""
    traceback: str = ""
    exception: BaseException | None = None
    attempts: int = 1
    seconds: float = 0.0
    worker: str = ""


class _Progress:
    """A tqdm bar over all tasks with ``done / running / failed / remaining`` beside it."""

    def __init__(self, total: int, already_done: int, desc: str, enabled: bool, unit: str) -> None:
        from qlatent.progress import bar as tqdm

        self.total = total
        self.done = already_done
        self.failed = 0
        self.running = 0
        self.bar = tqdm(total=total, initial=already_done, desc=desc, disable=not enabled, unit=unit,
                        dynamic_ncols=True)
        self.refresh()

    def refresh(self) -> None:
        remaining = self.total - self.done - self.failed - self.running
        self.bar.set_postfix_str(f"done {self.done} · running {self.running} · failed {self.failed} · "
                                 f"remaining {remaining}", refresh=True)

    def started(self) -> None:
        self.running += 1
        self.refresh()

    def finished(self, ok: bool | None) -> None:
        """``ok`` True/False: the task ended; None: it crashed and goes back to the queue."""
        self.running -= 1
        if ok is not None:
            self.done += ok
            self.failed += not ok
            self.bar.update(1)
        self.refresh()

    def close(self) -> None:
        self.bar.close()


def run_tasks(function: Callable[..., Any], tasks: Sequence[Mapping[str, Any]], executor: Executor, *,
              retries: int = DEFAULT_RETRIES, gpus: float = 0.0, progress: bool = False, desc: str = "runs",
              already_done: int = 0, on_result: Callable[[TaskResult], None] | None = None,
              unit: str = "run") -> list[TaskResult]:
    """Call ``function(**task)`` for every task on ``executor``; one :class:`TaskResult` per task, in order.

    Parameters
    ----------
    function : callable
        Picklable (module-level, or a ``functools.partial`` of one) unless the executor is serial.
    tasks : sequence of mappings
        Keyword arguments of each call.
    executor : Executor
        An open executor (:func:`qlatent.sweep.executors.open_executor`).
    retries : int
        Further attempts of a task whose worker died.
    gpus : float
        GPUs each task asks for (Ray only).
    progress : bool
        Show a bar with done / running / failed / remaining.
    desc, unit : str
        The bar's label and what it counts.
    already_done : int
        Tasks finished before (skipped), counted as done on the bar.
    on_result : callable, optional
        Called in this process with each :class:`TaskResult` as soon as it is known (to record it).

    Raises
    ------
    SweepError
        If ``retries`` is negative, or a function or task cannot be sent to the workers (before
        any task is submitted).
    """
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise SweepError(f"retries must be a non-negative integer, got {retries!r}")
    payloads: list[bytes | None] = [None] * len(tasks)
    if executor.needs_pickling:
        payloads = [pickled_task(function, task, executor.dumps) for task in tasks]
    results: list[TaskResult | None] = [None] * len(tasks)
    attempts = [0] * len(tasks)
    started: dict[int, float] = {}
    queue = deque(range(len(tasks)))
    bar = _Progress(len(tasks) + already_done, already_done, desc, progress, unit)
    try:
        while queue or started:
            while queue and len(started) < executor.capacity:
                index = queue.popleft()
                attempts[index] += 1
                started[index] = time.perf_counter()
                executor.submit(index, function, tasks[index], payloads[index], gpus)
                bar.started()
            index, outcome = executor.wait()
            seconds = time.perf_counter() - started.pop(index)
            if outcome.status == "crash" and attempts[index] <= retries:
                queue.appendleft(index)
                bar.finished(None)
                continue
            result = _result(index, outcome, attempts[index], seconds)
            results[index] = result
            bar.finished(result.ok)
            if on_result is not None:
                on_result(result)
    finally:
        bar.close()
    return [result for result in results if result is not None]


def _result(index: int, outcome: TaskOutcome, attempts: int, seconds: float) -> TaskResult:
    if outcome.status == "ok":
        return TaskResult(index, True, outcome.value, attempts=attempts, seconds=seconds, worker=outcome.worker)
    error = outcome.error
    if outcome.status == "crash":
        error = f"{error}; gave up after {attempts} attempt(s)"
    return TaskResult(index, False, error=error, traceback=outcome.traceback, exception=outcome.exception,
                      attempts=attempts, seconds=seconds, worker=outcome.worker)
