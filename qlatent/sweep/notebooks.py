"""One run of a notebook sweep: execute the notebook with the run's parameters, gather its tables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from qlatent.sweep.executors import environment

#: The executed copy of the notebook inside the run's folder.
EXECUTED_NAME = "notebook.ipynb"
#: The run's own results folder (``$QLATENT_RESULTS`` for its kernel).
RESULTS_NAME = "results"
#: A failed execution's copy, inside the run's folder (runs of one notebook fail in parallel).
FAILED_NAME = "failed.ipynb"


@dataclass
class NotebookOutcome:
    """The tables a notebook run saved, by name (``<experiment>.<table>``), and its executed copy."""

    tables: dict[str, pd.DataFrame]
    executed: str


def gather_tables(results: Path) -> dict[str, pd.DataFrame]:
    """The tables the notebook saved under ``results``, named ``chapter.table`` (from ``chapter/table.csv``).

    Only the files :meth:`qlatent.results.ResultStore.save_table` writes, one folder deep: the
    training runs' own files below (``chapter/runs/<run>/metrics.csv``) are not results.
    """
    return {f"{path.parent.name}.{path.stem}": pd.read_csv(path) for path in sorted(results.glob("*/*.csv"))}


def execute_notebook_run(notebook: str, parameters: Mapping[str, Any], run_dir: str) -> NotebookOutcome:
    """Execute ``notebook`` with ``parameters``, its results going to ``run_dir/results``.

    The executed copy is written to ``run_dir/notebook.ipynb`` (atomically; a failed execution
    leaves its copy as ``run_dir/failed.ipynb`` instead, named in the error). Failures are
    reported as ``qlatent run`` reports them (the same execution code): cells numbered from 1 in
    the notebook as written, the parameters cell papermill injects not counted.

    Raises
    ------
    qlatent.runner.errors.NotebookFailed
        Naming the cell, the line and the error, if a cell raised.
    qlatent.runner.errors.KernelDied
        Naming the cell and the exit status or signal, if the kernel process ended.
    """
    from qlatent.io import atomic_path
    from qlatent.runner.execution import _quiet_papermill, _run_papermill, _stop_kernels, resolve_notebook

    name, path = resolve_notebook(notebook)
    folder = Path(run_dir)
    results = folder / RESULTS_NAME
    results.mkdir(parents=True, exist_ok=True)
    output = folder / EXECUTED_NAME
    kernels: list[Any] = []
    (folder / FAILED_NAME).unlink(missing_ok=True)  # an earlier attempt's
    _quiet_papermill()  # a kernel's death is the error's one line, not also papermill's log line
    # The notebook's result stores write to ``results`` (as their staging folder, and as the
    # results folder training runs keep their checkpoints in).
    with environment(QLATENT_RESULTS=str(results)), atomic_path(output) as tmp:
        try:
            _run_papermill(name, path, Path(tmp), dict(parameters), False, results, kernels, {"index": None},
                           folder / FAILED_NAME)
        finally:
            _stop_kernels(kernels)
    return NotebookOutcome(gather_tables(results), str(output))
