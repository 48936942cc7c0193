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
    leaves no copy).

    Raises
    ------
    qlatent.runner.errors.NotebookFailed
        Naming the cell and the error, if a cell raised.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from qlatent.io import atomic_path
    from qlatent.paths import project_root
    from qlatent.runner.errors import NotebookFailed
    from qlatent.runner.execution import _local_kernel_manager, resolve_notebook

    name, path = resolve_notebook(notebook)
    folder = Path(run_dir)
    results = folder / RESULTS_NAME
    results.mkdir(parents=True, exist_ok=True)
    output = folder / EXECUTED_NAME
    with environment(QLATENT_RESULTS=str(results)), atomic_path(output) as tmp:
        try:
            papermill.execute_notebook(str(path), str(tmp), parameters=dict(parameters), cwd=str(project_root()),
                                       progress_bar=False, log_output=False,
                                       kernel_manager_class=_local_kernel_manager())
        except PapermillExecutionError as error:
            message = str(error.evalue).strip().splitlines()
            raise NotebookFailed(name, error.cell_index, f"{error.ename}: {message[0] if message else ''}") from None
    return NotebookOutcome(gather_tables(results), str(output))
