"""The results of one experiment: tidy tables and a manifest under ``data/results/<experiment>/``.

Notebooks compute, save here, then draw every figure from what they saved, so a change to a
plot never re-runs a computation and every number in the book has a file behind it.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pandas as pd

from qlatent.io import atomic_path, atomic_write_json
from qlatent.paths import results_dir
from qlatent.provenance import environment_info

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _check_name(kind: str, name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"{kind} name {name!r} must be letters, digits, '_', '-' or '.', not starting with a symbol")
    return name


class ResultStore:
    """Read and write one experiment's results folder.

    Parameters
    ----------
    experiment
        Folder name under the results root, normally the notebook's name.
    root
        Results root; defaults to :func:`qlatent.paths.results_dir`.
    """

    def __init__(self, experiment: str, root: str | Path | None = None) -> None:
        self.experiment = _check_name("experiment", experiment)
        self.path = Path(root) if root is not None else results_dir() / experiment
        self._started = time.time()

    def table_path(self, name: str) -> Path:
        return self.path / f"{_check_name('table', name)}.csv"

    def save_table(self, name: str, table: pd.DataFrame) -> Path:
        """Write ``table`` as CSV atomically and return its path."""
        target = self.table_path(name)
        with atomic_path(target) as tmp:
            table.to_csv(tmp, index=False)
        return target

    def load_table(self, name: str) -> pd.DataFrame:
        """Read a table saved by :meth:`save_table`; a missing one names the file and the experiment."""
        target = self.table_path(name)
        if not target.is_file():
            raise FileNotFoundError(f"no table {name!r} for experiment {self.experiment!r}: {target} does not exist")
        return pd.read_csv(target)

    def save_figure(self, name: str, figure: Any, dpi: int = 150) -> Path:
        """Save a Matplotlib figure as PNG under ``figures/`` (atomically)."""
        target = self.path / "figures" / f"{_check_name('figure', name)}.png"
        with atomic_path(target) as tmp:
            figure.savefig(tmp, dpi=dpi, bbox_inches="tight")
        return target

    def write_manifest(self, parameters: dict[str, Any], **extra: Any) -> Path:
        """Record parameters, environment and runtime; ``status: complete`` marks a finished run."""
        manifest = {
            "experiment": self.experiment,
            "parameters": parameters,
            "environment": environment_info(),
            "runtime_s": round(time.time() - self._started, 3),
            "tables": sorted(p.stem for p in self.path.glob("*.csv")),
            **extra,
            "status": "complete",
        }
        target = self.path / "manifest.json"
        atomic_write_json(target, manifest)
        return target

    def read_manifest(self) -> dict[str, Any]:
        return json.loads((self.path / "manifest.json").read_text())
