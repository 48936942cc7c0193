"""The results of one experiment: tidy tables and a manifest under ``data/results/<experiment>/``.

Notebooks compute, save here, then draw every figure from what they saved, so a change to a
plot never re-runs a computation and every number in the book has a file behind it.

When the runner executes a notebook it sets :data:`STAGING_ENV` to a fresh folder: the tables,
figures and manifest a store writes during that execution go there, and the runner publishes them
into the results folder with :func:`publish_staged` only when the notebook succeeded. A failing
notebook therefore leaves the previous execution's results as they were, never a mix of two
executions. Training run folders (``store.path / "runs"``) are keyed checkpoints, not results of
one execution: they are always written in place.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

import pandas as pd

from qlatent.io import atomic_path, atomic_write_json
from qlatent.paths import results_dir
from qlatent.provenance import environment_info

#: Environment variable naming the folder where result stores stage their tables, figures and
#: manifest during one runner execution (``<folder>/<experiment>/``); unset: they write in place.
STAGING_ENV = "QLATENT_RESULTS_STAGING"
_MANIFEST = "manifest.json"
_FIGURES = "figures"

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
        The experiment's folder; defaults to :func:`qlatent.paths.results_dir` ``/ experiment``.
        With the default, tables, figures and the manifest are written to the runner's staging
        folder while :data:`STAGING_ENV` is set (see the module's docstring); an explicit
        ``root`` is always written in place.

    Attributes
    ----------
    path
        The published folder: where the experiment's results are read from, and where training
        run folders (``path / "runs"``) live.
    write_path
        Where this store writes tables, figures and the manifest: ``path``, or its staging folder.
    """

    def __init__(self, experiment: str, root: str | Path | None = None) -> None:
        self.experiment = _check_name("experiment", experiment)
        self.path = Path(root) if root is not None else results_dir() / experiment
        staging = os.environ.get(STAGING_ENV) if root is None else None
        self.write_path = Path(staging) / experiment if staging else self.path
        self._started = time.time()

    def table_path(self, name: str) -> Path:
        """Where :meth:`save_table` writes table ``name`` (the staging folder while staging)."""
        return self.write_path / f"{_check_name('table', name)}.csv"

    def save_table(self, name: str, table: pd.DataFrame) -> None:
        """Write ``table`` as CSV atomically, at :meth:`table_path`.

        Returns nothing, like the other writers: a notebook cell ending in a call to one displays
        nothing (a returned path would print a machine path into the book).
        """
        with atomic_path(self.table_path(name)) as tmp:
            table.to_csv(tmp, index=False)

    def load_table(self, name: str) -> pd.DataFrame:
        """Read a table saved by :meth:`save_table`: this execution's if it saved one, else the published one.

        Raises
        ------
        FileNotFoundError
            Naming the file and the experiment, if neither exists.
        """
        staged = self.table_path(name)
        target = staged if staged.is_file() else self.path / staged.name
        if not target.is_file():
            raise FileNotFoundError(f"no table {name!r} for experiment {self.experiment!r}: {target} does not exist")
        return pd.read_csv(target)

    def save_figure(self, name: str, figure: Any, dpi: int = 150) -> None:
        """Save a Matplotlib figure as PNG at ``write_path / "figures" / f"{name}.png"`` (atomically)."""
        target = self.write_path / _FIGURES / f"{_check_name('figure', name)}.png"
        with atomic_path(target) as tmp:
            figure.savefig(tmp, dpi=dpi, bbox_inches="tight")

    def write_manifest(self, parameters: dict[str, Any], **extra: Any) -> None:
        """Record parameters, environment, runtime and the tables written; ``status: complete`` marks a finished run.

        Written to ``write_path / "manifest.json"``; read back with :meth:`read_manifest`.
        """
        manifest = {
            "experiment": self.experiment,
            "parameters": parameters,
            "environment": environment_info(),
            "runtime_s": round(time.time() - self._started, 3),
            "tables": sorted(p.stem for p in self.write_path.glob("*.csv")),
            **extra,
            "status": "complete",
        }
        atomic_write_json(self.write_path / _MANIFEST, manifest)

    def read_manifest(self) -> dict[str, Any]:
        """This execution's manifest if it wrote one, else the published one.

        Raises
        ------
        qlatent.readers.BadFileError
            One line naming the manifest: missing, unreadable or not valid JSON.
        """
        from qlatent.readers import load_json

        staged = self.write_path / _MANIFEST
        return load_json(staged if staged.is_file() else self.path / _MANIFEST, "results manifest")


def publish_staged(staging: str | Path, root: str | Path | None = None) -> list[str]:
    """Publish what result stores staged in ``staging`` into ``root`` (default: the results root).

    For each experiment staged under ``staging/<experiment>/``: the published ``manifest.json``
    is removed first (so an interrupted publication never looks complete), the staged tables and
    figures replace the published ones, tables and figures the execution did not write are
    removed (they belong to an earlier execution), and the staged manifest is moved in last.
    Anything else in the experiment's folder (training ``runs/``) is left alone. ``staging`` is
    removed afterwards.

    Returns
    -------
    list of str
        The experiments published, sorted.
    """
    staging = Path(staging)
    root = Path(root) if root is not None else results_dir()
    published = []
    for staged in sorted(path for path in staging.iterdir() if path.is_dir()) if staging.is_dir() else []:
        target = root / staged.name
        target.mkdir(parents=True, exist_ok=True)
        (target / _MANIFEST).unlink(missing_ok=True)
        written = {path.relative_to(staged) for path in staged.rglob("*") if path.is_file()}
        for relative in sorted(written - {Path(_MANIFEST)}):
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged / relative, target / relative)
        earlier = [*target.glob("*.csv"), *(target / _FIGURES).glob("*.png")]
        for path in earlier:
            if path.relative_to(target) not in written:
                path.unlink()
        if Path(_MANIFEST) in written:
            os.replace(staged / _MANIFEST, target / _MANIFEST)
        published.append(staged.name)
    shutil.rmtree(staging, ignore_errors=True)
    return published
