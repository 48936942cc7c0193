"""Many runs at once: executors, the dispatch loop, declarative sweeps and their tidy tables.

- :mod:`qlatent.sweep.executors` — where runs execute: ``serial`` (this process), ``local`` (a
  pool of processes, one thread each) or ``ray`` (a local Ray instance or a cluster); the default
  comes from ``$QLATENT_EXECUTOR`` so notebooks run their grids anywhere unchanged.
- :mod:`qlatent.sweep.engine` — :func:`run_tasks`: bounded retries of crashed workers, failed runs
  reported with their parameters while the others complete, a done / running / failed / remaining bar.
- :mod:`qlatent.sweep.spec` — a sweep file (YAML): an experiment (function or notebook), fixed
  parameters, a grid and seeds, checked before any run starts.
- :mod:`qlatent.sweep.records` — one folder per run, keyed by its parameters; a run's record is
  written atomically and last, so a killed sweep re-runs only what is missing.
- :mod:`qlatent.sweep.aggregate` — one tidy table (parquet, CSV) with the parameters as columns.
- :mod:`qlatent.sweep.run` — :func:`run_sweep`, behind ``qlatent sweep SWEEP.yml``.

Sample banks use the same executors through :mod:`qlatent.qpu.shards`.
"""

from qlatent.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "ExecutorSettings": "qlatent.sweep.executors",
    "open_executor": "qlatent.sweep.executors",
    "run_tasks": "qlatent.sweep.engine",
    "RunsFailed": "qlatent.sweep.errors",
    "SweepError": "qlatent.sweep.errors",
    "SweepSpec": "qlatent.sweep.spec",
    "load_sweep": "qlatent.sweep.spec",
    "SweepStore": "qlatent.sweep.records",
    "load_results": "qlatent.sweep.aggregate",
    "run_sweep": "qlatent.sweep.run",
})
