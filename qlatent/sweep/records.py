"""A sweep's folder: one folder per run, keyed by its parameters, with a record written last.

::

    <output>/
      sweep.json                        the checked sweep file and where it ran
      .sweep.lock                       held while a `qlatent sweep` works on this folder
      runs/<values>-<key>/
        record.json                     parameters, status (complete | failed), attempts, scores, error
        curve.parquet, samples.parquet  a function run's training curve and per-sample rows
        tables/<name>.parquet           a notebook run's saved tables
        work/                           the experiment's own folder (checkpoints), if it takes `run_dir`
      results.parquet, results.csv, curves.parquet, ...   the tidy tables (qlatent.sweep.aggregate)

Outcome files are written atomically before the record, and the record (atomically) last, so a
run whose record says ``complete`` has all its files; a killed sweep leaves at worst a run
without a record, which the next ``qlatent sweep`` runs again. Failed runs are recorded with
their error and traceback and tried again by the next sweep. Only the process holding the lock
writes here.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from qlatent.io import atomic_path, atomic_write_json
from qlatent.sweep.errors import SweepError

if TYPE_CHECKING:
    from qlatent.sweep.engine import TaskResult
    from qlatent.sweep.spec import SweepSpec

FORMAT = "qlatent.sweep-run/1"
RECORD = "record.json"
LOCK = ".sweep.lock"
WORK = "work"
_UNSAFE = re.compile(r"[^A-Za-z0-9.]+")


def slug(job: Mapping[str, Any]) -> str:
    """A readable folder-name prefix from a job's values (``quantum-boson-3``)."""
    text = _UNSAFE.sub("-", "-".join(str(value) for value in job.values())).strip("-.")
    return text[:60].rstrip("-.") or "run"


def write_parquet(path: Path, table: pd.DataFrame, metadata: Mapping[str, Any] | None = None) -> None:
    """Write ``table`` as parquet atomically; columns pyarrow cannot type (lists, mixed types) become JSON text."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = arrow_ready(table)
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    if metadata:
        arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}),
                                               b"qlatent": json.dumps(metadata, sort_keys=True, default=str).encode()})
    with atomic_path(path) as tmp:
        pq.write_table(arrow, tmp)


def arrow_ready(table: pd.DataFrame) -> pd.DataFrame:
    """A copy whose object columns holding lists, mappings or mixed types are JSON strings."""
    table = table.copy()
    for column in table.columns:
        if table[column].dtype != object:
            continue
        kinds = {type(value) for value in table[column] if value is not None}
        if len(kinds) > 1 or kinds & {list, dict, tuple}:
            table[column] = [None if value is None else json.dumps(value, sort_keys=True, default=str)
                             for value in table[column]]
    return table


class SweepStore:
    """The folder of one sweep's runs and tables (see the module docstring)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def run_dir(self, spec: SweepSpec, job: Mapping[str, Any]) -> Path:
        """The run's folder: its values for reading, its key for uniqueness."""
        return self.root / "runs" / f"{slug(job)}-{spec.key(job)}"

    @staticmethod
    def work_dir(run_dir: Path) -> Path:
        """Where the experiment keeps its own files (checkpoints) for this run."""
        return run_dir / WORK

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the sweep's lock; a second sweep on the same folder is refused at once.

        Raises
        ------
        SweepError
            If another process holds the lock, or the folder or its lock file cannot be created
            (saying why: the two are told apart, so a read-only folder is never "another sweep").
        """
        from filelock import FileLock, Timeout

        path = self.root / LOCK
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            lock = FileLock(path)
            lock.acquire(timeout=0)
        except Timeout:
            problem = _cannot_open(path)
            if problem:
                raise SweepError(f"cannot create the sweep's lock file {path}: {problem}") from None
            raise SweepError(f"another qlatent sweep is working on {self.root}; wait for it to finish") from None
        except OSError as error:
            raise SweepError(f"cannot create the sweep's lock file {path}: {error.strerror or error}") from None
        try:
            yield
        finally:
            lock.release()

    def write_spec(self, spec: SweepSpec) -> None:
        """Record the checked sweep and where it runs (``sweep.json``)."""
        from qlatent.provenance import environment_info

        atomic_write_json(self.root / "sweep.json", {"sweep": spec.to_dict(), "environment": environment_info()})

    @staticmethod
    def read_record(run_dir: Path) -> dict[str, Any] | None:
        """A run's record, or None if it has none (never started, or killed before finishing)."""
        try:
            record = json.loads((run_dir / RECORD).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return record if isinstance(record, dict) and record.get("format") == FORMAT else None

    def is_complete(self, run_dir: Path) -> bool:
        """True when the run's record says ``complete`` and every file it lists is there."""
        record = self.read_record(run_dir)
        return (record is not None and record.get("status") == "complete"
                and all((run_dir / name).is_file() for name in record.get("files", [])))

    def save(self, spec: SweepSpec, job: Mapping[str, Any], result: TaskResult) -> dict[str, Any]:
        """Record a finished run (its outcome files first, the record last); returns the record.

        A run that returned something other than a ``RunOutcome``, a notebook outcome or a
        mapping of metric names to numbers is recorded as failed, saying what it returned.
        """
        run_dir = self.run_dir(spec, job)
        record: dict[str, Any] = {"format": FORMAT, "key": spec.key(job), "sweep": spec.name,
                                  "experiment": spec.target, "parameters": dict(job), "attempts": result.attempts,
                                  "seconds": round(result.seconds, 3), "worker": result.worker,
                                  "finished_at": _now()}
        if result.ok:
            try:
                record.update(self._save_outcome(run_dir, result.value), status="complete")
            except (TypeError, ValueError) as error:
                record.update(status="failed", error=f"{type(error).__name__}: {error}", traceback="")
        else:
            record.update(status="failed", error=result.error, traceback=result.traceback)
        atomic_write_json(run_dir / RECORD, record)
        return record

    @staticmethod
    def _save_outcome(run_dir: Path, value: Any) -> dict[str, Any]:
        from qlatent.experiments.grid import RunOutcome
        from qlatent.sweep.notebooks import NotebookOutcome

        files: list[str] = []
        if isinstance(value, NotebookOutcome):
            for name, table in value.tables.items():
                write_parquet(run_dir / "tables" / f"{name}.parquet", table)
                files.append(f"tables/{name}.parquet")
            return {"scores": {}, "tables": sorted(value.tables), "files": files}
        if isinstance(value, RunOutcome):
            scores, curve, samples = value.scores, value.curve, value.samples
        elif isinstance(value, Mapping):
            scores, curve, samples = value, pd.DataFrame(), pd.DataFrame()
        else:
            raise TypeError(f"the run returned {type(value).__name__}; an experiment returns a RunOutcome "
                            "or a mapping of metric names to numbers")
        checked = {}
        for metric, score in scores.items():
            if isinstance(score, bool) or not isinstance(score, (int, float)) and not hasattr(score, "__float__"):
                raise TypeError(f"metric {metric!r} is {score!r}, not a number")
            checked[str(metric)] = float(score)
        for name, table in (("curve", curve), ("samples", samples)):
            if not table.empty:
                write_parquet(run_dir / f"{name}.parquet", table)
                files.append(f"{name}.parquet")
        return {"scores": {k: (v if math.isfinite(v) else str(v)) for k, v in checked.items()}, "files": files}

    def load_outcome(self, run_dir: Path) -> tuple[dict[str, float], dict[str, pd.DataFrame]]:
        """A complete run's scores and its saved tables (``curve``, ``samples``, ``tables/<name>``)."""
        record = self.read_record(run_dir)
        if record is None or record.get("status") != "complete":
            raise SweepError(f"{run_dir} holds no complete run")
        scores = {metric: float(value) for metric, value in record.get("scores", {}).items()}
        tables = {Path(name).with_suffix("").as_posix(): pd.read_parquet(run_dir / name)
                  for name in record.get("files", [])}
        return scores, tables


def _cannot_open(path: Path) -> str | None:
    """Why ``path`` cannot be opened for writing (created if missing), or None when it can."""
    import os

    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o644))
    except OSError as error:
        return error.strerror or str(error)
    return None


def _now() -> str:
    import datetime

    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
