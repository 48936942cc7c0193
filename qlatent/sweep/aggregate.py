"""A sweep's complete runs as tidy tables with the grid's parameters as columns (parquet and CSV).

``results``  one row per run and metric: the grid's columns, then ``metric``, ``value`` — the
             same shape as :func:`qlatent.experiments.grid.run_grid`'s ``runs`` table, so the
             chapters' statistics (:mod:`qlatent.stats`) take either
``curves``   every run's training curve, the grid's columns first
``samples``  per-sample rows, when runs return them
``tables/<name>``  a notebook sweep's saved tables, each stacked over runs

Only runs of the sweep as it stands are gathered (a run folder left from an older grid or other
fixed parameters has another key and is ignored). The sweep file is kept in the parquet files'
metadata (key ``qlatent``) and in ``sweep.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from qlatent.io import atomic_path
from qlatent.sweep.records import SweepStore, write_parquet

if TYPE_CHECKING:
    from qlatent.experiments.grid import GridResults
    from qlatent.sweep.spec import SweepSpec


@dataclass
class SweepTables:
    """The gathered tables, and how many runs of the grid are not complete."""

    results: pd.DataFrame
    curves: pd.DataFrame
    samples: pd.DataFrame
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    n_missing: int = 0


def _stack(parts: list[pd.DataFrame], keys: list[str]) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame(columns=keys)
    table = pd.concat(parts, ignore_index=True)
    return table[keys + [column for column in table.columns if column not in keys]]


def collect(spec: SweepSpec, store: SweepStore | None = None) -> SweepTables:
    """Gather every complete run of ``spec`` from its folder, in grid order."""
    store = store or SweepStore(spec.output)
    keys = list(spec.grid)
    rows: list[dict[str, object]] = []
    curves: list[pd.DataFrame] = []
    samples: list[pd.DataFrame] = []
    named: dict[str, list[pd.DataFrame]] = {}
    missing = 0
    for job in spec.jobs():
        run_dir = store.run_dir(spec, job)
        if not store.is_complete(run_dir):
            missing += 1
            continue
        scores, tables = store.load_outcome(run_dir)
        rows += [{**job, "metric": metric, "value": value} for metric, value in scores.items()]
        for name, table in tables.items():
            stacked = table.assign(**{key: [value] * len(table) for key, value in job.items()})
            if name == "curve":
                curves.append(stacked)
            elif name == "samples":
                samples.append(stacked)
            else:
                named.setdefault(name.removeprefix("tables/"), []).append(stacked)
    results = pd.DataFrame(rows, columns=keys + ["metric", "value"])
    return SweepTables(results, _stack(curves, keys), _stack(samples, keys),
                       {name: _stack(parts, keys) for name, parts in named.items()}, missing)


def write_tables(spec: SweepSpec, store: SweepStore | None = None) -> dict[str, Path]:
    """Gather (:func:`collect`) and write each table as ``<name>.parquet`` and ``<name>.csv``; returns the paths.

    When no run of the sweep is complete nothing is written (an empty table would read as a result)
    and the answer is ``{}``.
    """
    store = store or SweepStore(spec.output)
    gathered = collect(spec, store)
    if gathered.n_missing == len(spec.jobs()):
        return {}
    metadata = {"sweep": spec.to_dict(), "runs_missing": gathered.n_missing}
    written: dict[str, Path] = {}
    outputs = {"results": gathered.results, "curves": gathered.curves, "samples": gathered.samples,
               **{f"tables/{name}": table for name, table in gathered.tables.items()}}
    for name, table in outputs.items():
        if name in ("curves", "samples") and table.empty:
            continue
        parquet = store.root / f"{name}.parquet"
        write_parquet(parquet, table, metadata)
        with atomic_path(parquet.with_suffix(".csv")) as tmp:
            table.to_csv(tmp, index=False)
        written[name] = parquet
    return written


def load_results(path: str | Path) -> GridResults:
    """A sweep's tidy tables (from :func:`write_tables`) as :class:`~qlatent.experiments.grid.GridResults`.

    Raises
    ------
    FileNotFoundError
        If ``path`` holds no ``results.parquet``.
    """
    from qlatent.experiments.grid import GridResults

    root = Path(path)
    if not (root / "results.parquet").is_file():
        raise FileNotFoundError(f"{root} holds no results.parquet; run `qlatent sweep` on its sweep file first")

    def read(name: str) -> pd.DataFrame:
        target = root / f"{name}.parquet"
        return pd.read_parquet(target) if target.is_file() else pd.DataFrame()

    return GridResults(read("results"), read("curves"), read("samples"))


def sweep_metadata(parquet: str | Path) -> dict[str, object]:
    """The sweep recorded in a parquet table's metadata."""
    import pyarrow.parquet as pq

    raw = (pq.read_schema(parquet).metadata or {}).get(b"qlatent")
    return json.loads(raw) if raw else {}
