"""Chapter 05 at the paper's budget: one training run per job, scored at snapshots, resumable for days.

The ``long`` profile of ``notebooks/profiles.yml`` names the comparison (size 16, boson against
distinguishable, 3 seeds, the paper's 20,000 iterations, ``snapshot_steps`` 1k, 2k, 5k, 10k, 20k).
Each job (:func:`qlatent.experiments.qm9.plan_jobs`) is **one** training run: trained up to the
first snapshot, scored on ``eval_samples`` molecules (FCD, valid-and-unique, novel and the rest of
:func:`qlatent.experiments.qm9.score_molecules`, exactly as a run of that length would be scored),
then trained on to the next, so one run gives the whole budget trajectory.

Everything lives in a cache **outside the working tree** (:func:`long_root`: ``$QLATENT_CACHE`` or
``~/.cache/qlatent``, then ``runs/05_qm9-long``): the run directories (keyed by everything that
shapes training, the model's arithmetic version included: :func:`qlatent.training.loop.run_key`),
their checkpoints (every ``log_every`` steps, written atomically), one JSON file per snapshot
scored (``snapshots/step_NNNNNNNN.json``, with a hard link to the snapshot's checkpoint beside it)
and ``recording.json``, what the recording was started with. Any process may be killed at any
moment: running again resumes every run from its newest checkpoint and skips the snapshots already
scored, and the numbers are those of an uninterrupted run (``tests/test_qm9_long.py``).

``python -m qlatent.experiments.qm9_long run [--worker I --workers N] [--threads T]`` trains the
jobs ``I, I+N, …`` (two workers of one thread each suit two cores; one worker on a GPU), and after
each snapshot gathers every snapshot scored so far into ``data/recorded/05_qm9/long/``, marked
partial in its manifest until every job reached ``n_steps``; ``collect`` does only that and
``status`` prints each job's progress.

Refused, with one error each and nothing deleted: parameters other than the ``long`` profile's, a
recording started with other settings or by other arithmetic (:data:`ARITHMETIC_VERSION`), snapshot
steps beyond ``n_steps`` or out of order, and a disk that fills while a snapshot is written
(:class:`SnapshotWriteError`; the checkpoint of the snapshot's step is kept).
"""

from __future__ import annotations

import argparse
import errno
import json
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from qlatent.experiments.qm9 import PAPER_METRICS, QM9Config, config_from_parameters, plan_jobs
from qlatent.io import atomic_write_json
from qlatent.models.molgan import ARITHMETIC_VERSION

CHAPTER = "05_qm9"
PROFILE = "long"
#: Parameters of the ``long`` profile that are this module's, not the notebook's (the notebook
#: declares no ``snapshot_steps``, so the ``long`` profile is recorded here, never executed as a notebook).
RECORDING_PARAMETERS = ("snapshot_steps",)
#: Job columns of the recording's tables, then the snapshot's step.
SNAPSHOT_COLUMNS = ("schedule", "size", "circuit", "latent", "seed", "step")


class LongRecordingError(ValueError):
    """A long recording asked for with parameters, or found in a state, it cannot continue from."""


class SnapshotWriteError(OSError):
    """A snapshot could not be written (a full disk); the checkpoint of its step is kept.

    Attributes
    ----------
    checkpoint
        The last good checkpoint (that of the snapshot's step).
    """

    def __init__(self, message: str, checkpoint: Path, error: OSError) -> None:
        self.checkpoint = checkpoint
        super().__init__(error.errno, message)


def long_root() -> Path:
    """Where the long recording's runs live: ``$QLATENT_CACHE/runs/05_qm9-long``, else
    ``$XDG_CACHE_HOME/qlatent/…`` or ``~/.cache/qlatent/…`` — never inside the working tree, so no
    checkout, clean or branch switch touches days of training."""
    explicit = os.environ.get("QLATENT_CACHE")
    base = Path(explicit) if explicit else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "qlatent"
    return base.resolve() / "runs" / f"{CHAPTER}-{PROFILE}"


def profile_parameters() -> dict[str, Any]:
    """The chapter's parameters under the ``long`` profile (notebook defaults and the profile's values)."""
    from qlatent.recording import effective_parameters

    return effective_parameters(CHAPTER, PROFILE)


def _plain(value: Any) -> Any:
    """As JSON stores it (a mapping's int keys become strings), to compare with a stored copy."""
    return json.loads(json.dumps(value, default=str))


def _differing(expected: Mapping[str, Any], given: Mapping[str, Any]) -> list[str]:
    expected, given = _plain(dict(expected)), _plain(dict(given))
    return sorted(key for key in set(expected) | set(given) if expected.get(key) != given.get(key))


def check_profile(parameters: Mapping[str, Any]) -> None:
    """Refuse parameters other than the ``long`` profile's (a recording is the profile's or nothing).

    Raises
    ------
    LongRecordingError
        Naming every parameter that differs, with both values.
    """
    expected = profile_parameters()
    differ = _differing(expected, parameters)
    if differ:
        shown = "; ".join(f"{key}: profile {_plain(expected.get(key))!r}, given {_plain(parameters.get(key))!r}"
                          for key in differ)
        raise LongRecordingError(f"parameters differ from the {PROFILE!r} profile of notebooks/profiles.yml ({shown}); "
                                 "a long recording runs the profile's parameters only: edit the profile instead")


def snapshot_steps(parameters: Mapping[str, Any]) -> list[int]:
    """The steps at which each run is scored: ``snapshot_steps``, then ``n_steps`` if not the last.

    Raises
    ------
    LongRecordingError
        On a step that is not a positive integer, steps not strictly increasing, or a step beyond
        ``n_steps``.
    """
    n_steps = parameters["n_steps"]
    steps = list(parameters.get("snapshot_steps") or [])
    for step in steps:
        if isinstance(step, bool) or not isinstance(step, int) or step < 1:
            raise LongRecordingError(f"snapshot_steps must be positive integers, got {step!r}")
        if step > n_steps:
            raise LongRecordingError(f"snapshot step {step} lies beyond n_steps={n_steps}: a run of {n_steps} "
                                     "iterations never reaches it")
    if any(later <= earlier for earlier, later in zip(steps, steps[1:])):
        raise LongRecordingError(f"snapshot_steps must increase strictly, got {steps}")
    return steps if steps and steps[-1] == n_steps else [*steps, n_steps]


def _identity(config: QM9Config, steps: Sequence[int]) -> dict[str, Any]:
    """What a recording is started with and must be continued with."""
    return _plain({"chapter": CHAPTER, "profile": PROFILE, "arithmetic": ARITHMETIC_VERSION,
                   "config": config.to_dict(), "snapshot_steps": list(steps)})


def open_recording(root: Path, config: QM9Config, steps: Sequence[int]) -> None:
    """Create ``root/recording.json``, or check that the recording there was started by this
    arithmetic with these settings (the jobs — latents, seeds — may grow).

    Raises
    ------
    LongRecordingError
        If the recording was started by another arithmetic version (its checkpoints must not be
        continued by this code) or with other settings; nothing is changed.
    """
    root.mkdir(parents=True, exist_ok=True)
    path, identity = root / "recording.json", _identity(config, steps)
    if not path.is_file():
        atomic_write_json(path, identity)
        return
    try:
        found = json.loads(path.read_text())
    except ValueError as error:
        raise LongRecordingError(f"{path} is not JSON ({error}); it says what the recording was started with, "
                                 "so nothing is resumed until it is repaired or the folder moved aside") from None
    if found.get("arithmetic") != ARITHMETIC_VERSION:
        raise LongRecordingError(
            f"the long recording in {root} was started with arithmetic version {found.get('arithmetic')!r}, and this "
            f"code computes version {ARITHMETIC_VERSION} (qlatent.models.molgan.ARITHMETIC_VERSION): its checkpoints "
            "must not be continued by this code. Finish it with the code it was started with, or move the folder "
            "aside to start afresh; nothing was changed")
    differ = [f"config.{key}" for key in _differing(found.get("config", {}), identity["config"])]
    if found.get("snapshot_steps") != identity["snapshot_steps"]:
        differ.append("snapshot_steps")
    if differ:
        raise LongRecordingError(f"the long recording in {root} was started with other settings ({', '.join(differ)}) "
                                 f"than these; finish it with its own, or move the folder aside; nothing was changed")


def _label(job: Mapping[str, Any]) -> str:
    return f"{job['schedule']}-{job['size']}-{job['circuit']}-{job['latent']}-seed{job['seed']}"


def _finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _write_snapshot(snapshot: Path, checkpoint: Path, record: dict[str, Any]) -> None:
    """Link the step's checkpoint beside the snapshot and write its scores, both atomically."""
    from qlatent.io import atomic_path

    kept = snapshot.with_suffix(".pt")
    try:
        snapshot.parent.mkdir(parents=True, exist_ok=True)
        if not kept.exists():
            with atomic_path(kept) as tmp:
                try:
                    os.link(checkpoint, tmp)
                except OSError as error:
                    if error.errno == errno.ENOSPC:
                        raise
                    shutil.copyfile(checkpoint, tmp)  # a file system without hard links
        atomic_write_json(snapshot, record)
    except OSError as error:
        if error.errno != errno.ENOSPC:
            raise
        raise SnapshotWriteError(f"the disk filled while writing snapshot {snapshot} ({error}); the checkpoint of step "
                                 f"{record['step']} is kept at {checkpoint}: free space and run again to resume",
                                 checkpoint, error) from error


def record_run(job: Mapping[str, Any], config: QM9Config, steps: Sequence[int], root: Path, store: Any = None,
               progress: bool = False, log: Any = None) -> list[dict[str, Any]]:
    """Train one job through every snapshot of ``steps``, scoring each; returns the snapshot records.

    A snapshot already scored (its JSON exists) is read back, not recomputed; training resumes from
    the run's newest checkpoint. Each record holds the job, ``step``, ``arithmetic``, ``config``,
    ``scores`` (NaN as null), ``training_seconds`` (over every session) and the training ``curve``
    up to the step.

    Raises
    ------
    SnapshotWriteError
        If the disk fills while a snapshot is written (the checkpoint of its step is kept).
    """
    from qlatent.experiments.qm9 import curve_table, prepare_run, score_run
    from qlatent.training.checkpoint import checkpoint_path

    records = []
    for step in steps:
        run = prepare_run(job["schedule"], job["size"], job["circuit"], job["latent"], job["seed"], config=config,
                          runs_dir=root / "runs", store=store, progress=progress, n_steps=step)
        snapshot = run.trainer.run_dir / "snapshots" / f"step_{step:08d}.json"
        if snapshot.is_file():
            records.append(json.loads(snapshot.read_text()))
            continue
        started = time.perf_counter()
        curve = curve_table(run.trainer.fit(resume=True))
        trained = time.perf_counter() - started
        scores, _ = score_run(run, config)
        record = _plain({**job, "step": step, "arithmetic": ARITHMETIC_VERSION, "config": config.to_dict(),
                         "scores": {key: _finite_or_none(value) for key, value in scores.items()},
                         "training_seconds": run.trainer.training_seconds,
                         "curve": curve.astype(object).where(curve.notna(), None).to_dict("records")})
        _write_snapshot(snapshot, checkpoint_path(run.trainer.checkpoint_dir, step), record)
        if log is not None:
            print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {_label(job)} step {step}: "
                  + ", ".join(f"{key} {scores[key]:.4g}" for key in ("fcd", "valid_unique", "novel"))
                  + f" (this stretch {trained:.0f} s of training, {time.perf_counter() - started - trained:.0f} s "
                  "of scoring)", file=log, flush=True)
        records.append(record)
    return records


def snapshot_records(root: Path, config: QM9Config) -> list[dict[str, Any]]:
    """Every snapshot scored under ``root`` by this arithmetic with ``config`` (others are ignored)."""
    wanted = _plain(config.to_dict())
    found = []
    for path in sorted((root / "runs").glob("*/snapshots/step_*.json")):
        record = json.loads(path.read_text())
        if record.get("arithmetic") == ARITHMETIC_VERSION and record.get("config") == wanted:
            found.append(record)
    return found


def snapshot_tables(records: Sequence[Mapping[str, Any]]) -> dict[str, pd.DataFrame]:
    """The recording's tables from snapshot records: ``snapshots`` (job, ``step``, ``metric``,
    ``value``), ``curves`` (job and the training curve of each run's latest snapshot), ``compute``
    (job, ``step``, ``training_seconds``)."""
    keys = SNAPSHOT_COLUMNS[:-1]
    scores = [{**{key: record[key] for key in SNAPSHOT_COLUMNS}, "metric": metric,
               "value": math.nan if value is None else value}
              for record in records for metric, value in record["scores"].items()]
    latest: dict[tuple, Mapping[str, Any]] = {}
    for record in records:
        job = tuple(record[key] for key in keys)
        if job not in latest or record["step"] > latest[job]["step"]:
            latest[job] = record
    curves = [{**{key: record[key] for key in keys}, **row} for record in latest.values() for row in record["curve"]]
    compute = [{key: record[key] for key in SNAPSHOT_COLUMNS} | {"training_seconds": record["training_seconds"]}
               for record in records]
    order = list(SNAPSHOT_COLUMNS)
    return {"snapshots": pd.DataFrame(scores, columns=[*SNAPSHOT_COLUMNS, "metric", "value"]).sort_values(
                [*order, "metric"], ignore_index=True),
            "curves": pd.DataFrame(curves).sort_values([*keys, "step"], ignore_index=True) if curves else
            pd.DataFrame(columns=[*keys, "step"]),
            "compute": pd.DataFrame(compute, columns=[*SNAPSHOT_COLUMNS, "training_seconds"]).sort_values(
                order, ignore_index=True)}


def collect(parameters: Mapping[str, Any], root: Path | None = None) -> Path:
    """Gather every snapshot scored so far into ``data/recorded/05_qm9/long/``; returns the folder.

    The manifest says ``partial: true`` (with each job's last scored step in ``progress``) until
    every job of the plan has its snapshot at ``n_steps``; chapters must say so when they read it.

    Raises
    ------
    LongRecordingError
        If no snapshot has been scored yet (nothing to record).
    """
    from qlatent.provenance import environment_info
    from qlatent.recording import code_file_hashes, machine_info, recording_path, store_recording

    root = long_root() if root is None else root
    config, steps = config_from_parameters(parameters), snapshot_steps(parameters)
    records = snapshot_records(root, config)
    if not records:
        raise LongRecordingError(f"no snapshot has been scored under {root} yet; nothing to record")
    jobs = plan_jobs(parameters)
    reached = {}
    for record in records:
        label = _label(record)
        reached[label] = max(reached.get(label, 0), record["step"])
    progress = {_label(job): reached.get(_label(job), 0) for job in jobs}
    partial = any(step < steps[-1] for step in progress.values())
    tables = snapshot_tables(records)
    with tempfile.TemporaryDirectory() as folder:
        files = {}
        for name, table in tables.items():
            files[f"{name}.csv"] = Path(folder) / f"{name}.csv"
            table.to_csv(files[f"{name}.csv"], index=False)
        return store_recording(recording_path(CHAPTER, PROFILE), files, {
            "chapter": CHAPTER, "profile": PROFILE, "parameters": _plain(dict(parameters)),
            "partial": partial, "progress": progress, "snapshot_steps": steps, "arithmetic": ARITHMETIC_VERSION,
            "environment": environment_info(), "code_files": code_file_hashes(), "machine": machine_info(),
            "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "training_compute_s": round(float(tables["compute"].groupby(list(SNAPSHOT_COLUMNS[:-1]))[
                "training_seconds"].max().sum()), 1),
        })


def record(parameters: Mapping[str, Any], root: Path | None = None, *, worker: int = 0, workers: int = 1,
           store: Any = None, log: Any = None, gather: bool = True) -> list[dict[str, Any]]:
    """Train and score the jobs ``worker, worker + workers, …`` of the plan (ordered by seed),
    snapshot by snapshot, gathering the recording (:func:`collect`) after each job when ``gather``;
    returns their records. A worker already running (its lock file held) is not started twice.

    Raises
    ------
    LongRecordingError
        On parameters other than the ``long`` profile's (:func:`check_profile`), snapshot steps out
        of order or beyond ``n_steps``, or a recording under ``root`` started by other arithmetic
        or settings (:func:`open_recording`), or this worker already running; before any training.
    SnapshotWriteError
        If the disk fills while a snapshot is written.
    """
    from filelock import FileLock, Timeout

    from qlatent.experiments.qm9 import check_reference_size

    if not 0 <= worker < workers:
        raise LongRecordingError(f"worker must lie in 0..{workers - 1}, got {worker}")
    check_profile(parameters)
    root = long_root() if root is None else root
    config, steps = config_from_parameters(parameters), snapshot_steps(parameters)
    open_recording(root, config, steps)
    check_reference_size(config)
    # seed by seed, so that with one worker per latent the runs of a pair finish together
    jobs = sorted(plan_jobs(parameters), key=lambda job: job["seed"])[worker::workers]
    lock = FileLock(root / f".worker-{worker}-of-{workers}.lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise LongRecordingError(f"worker {worker} of {workers} is already running on {root} (its lock "
                                 f"{lock.lock_file} is held); nothing was started") from None
    records = []
    try:
        for job in jobs:
            records += record_run(job, config, steps, root, store=store, log=log)
            if gather:
                with FileLock(root / ".collect.lock"):
                    collect(parameters, root)
    finally:
        lock.release()
    return records


def status(parameters: Mapping[str, Any], root: Path | None = None) -> pd.DataFrame:
    """Each job's progress: the newest checkpoint's step and the snapshots scored, from the files
    alone (no model is built)."""
    from qlatent.training.checkpoint import list_checkpoints

    root = long_root() if root is None else root
    rows = []
    for job in plan_jobs(parameters):
        newest, scored = 0, []
        for run_dir in sorted((root / "runs").glob(f"{_label(job)}-*")):
            checkpoints = list_checkpoints(run_dir / "checkpoints")
            newest = max([newest, *(step for step, _ in checkpoints)])
            scored += sorted(int(path.stem.removeprefix("step_")) for path in (run_dir / "snapshots").glob("*.json"))
        rows.append({"job": _label(job), "checkpoint_step": newest, "snapshots": scored,
                     "n_steps": parameters["n_steps"]})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- reading the budget


def budget_gaps(snapshots: pd.DataFrame, reference: str = "boson",
                controls: Sequence[str] = ("distinguishable", "gaussian"), metrics: Sequence[str] = PAPER_METRICS,
                level: float = 0.95) -> pd.DataFrame:
    """``reference`` − control at every snapshot, paired by seed, with a Student-t interval.

    Parameters
    ----------
    snapshots
        The ``snapshots`` table of a long recording (:func:`snapshot_tables`: ``latent``, ``seed``,
        ``step``, ``metric``, ``value``; one size and circuit).
    reference, controls
        The latent compared, and those it is compared with (a control with no snapshot is skipped).
    metrics
        Metrics to compare (default the paper's three).
    level
        Confidence level of the interval of the mean paired difference.

    Returns
    -------
    pandas.DataFrame
        One row per (``control``, ``metric``, ``step``): ``n_pairs`` (seeds scored on both sides),
        ``n_unscored`` (seeds with a run of both latents but a score missing on one side, left
        out), ``gap`` (mean of reference − control), ``ci_low``, ``ci_high`` (NaN with fewer than 2
        pairs) and ``favours``: ``reference`` or ``control`` when the interval excludes 0 on that
        side (lower FCD is better, higher counts are better), else ``neither``.
    """
    from scipy.stats import t

    from qlatent.experiments.qm9 import METRICS
    from qlatent.stats import paired_seeds

    rows = []
    for control in controls:
        if control not in set(snapshots["latent"]):
            continue
        for metric in metrics:
            for step, part in snapshots[snapshots["latent"].isin([reference, control])].groupby("step"):
                if set(part["latent"]) != {reference, control}:
                    continue
                pairs = paired_seeds(part, metric, "latent", reference, control)
                differences = (pairs["better"] - pairs["worse"]).dropna()
                n = len(differences)
                gap = float(differences.mean()) if n else math.nan
                low = high = math.nan
                if n >= 2:
                    half = float(t.ppf(0.5 + level / 2, n - 1) * differences.std(ddof=1) / math.sqrt(n))
                    low, high = gap - half, gap + half
                favours = "neither"
                if low > 0 or high < 0:
                    reference_better = (high < 0) if METRICS[metric] else (low > 0)
                    favours = "reference" if reference_better else "control"
                rows.append({"control": control, "metric": metric, "step": int(step), "n_pairs": n,
                             "n_unscored": len(pairs) - n, "gap": gap, "ci_low": low, "ci_high": high,
                             "favours": favours})
    return pd.DataFrame(rows, columns=["control", "metric", "step", "n_pairs", "n_unscored", "gap", "ci_low",
                                       "ci_high", "favours"])


def budget_trend(gaps: pd.DataFrame, first_step: int) -> pd.DataFrame:
    """What became of the gap at ``first_step`` (the chapter's 5 % budget) at the last snapshot.

    One row per (``control``, ``metric``) with both steps: the two gaps, the last interval, the
    side each favours, and ``trend``: **persists** (the last interval favours the side the first
    favoured), **flips** (it favours the other side), **emerges** (it favours a side, the first
    favoured neither), **narrows** (it favours neither and the gap is smaller in size) or
    **inconclusive** (it favours neither and the gap did not shrink).
    """
    rows = []
    for (control, metric), part in gaps.groupby(["control", "metric"], sort=False):
        part = part.set_index("step")
        last = int(part.index.max())
        if first_step not in part.index or last == first_step:
            continue
        start, end = part.loc[first_step], part.loc[last]
        if end["favours"] != "neither":
            trend = {start["favours"]: "flips", "neither": "emerges", end["favours"]: "persists"}[start["favours"]]
        else:
            trend = "narrows" if abs(end["gap"]) < abs(start["gap"]) else "inconclusive"
        rows.append({"control": control, "metric": metric, "first_step": first_step, "last_step": last,
                     "gap_first": start["gap"], "favours_first": start["favours"], "gap_last": end["gap"],
                     "ci_low_last": end["ci_low"], "ci_high_last": end["ci_high"], "favours_last": end["favours"],
                     "n_pairs_last": int(end["n_pairs"]), "trend": trend})
    return pd.DataFrame(rows)


def budget_figure(gaps: pd.DataFrame, reference: str = "boson") -> Any:
    """One panel per metric: each control's gap (``reference`` − control) against training
    iterations (log scale), with its paired interval as error bars and the zero line."""
    import matplotlib.pyplot as plt

    metrics = list(dict.fromkeys(gaps["metric"]))
    figure, axes = plt.subplots(1, max(len(metrics), 1), figsize=(4.2 * max(len(metrics), 1), 3.4), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        for offset, (control, part) in enumerate(gaps[gaps["metric"] == metric].groupby("control", sort=False)):
            part = part.sort_values("step")
            shift = 1.0 + 0.03 * offset  # side by side on the log axis
            error = [part["gap"] - part["ci_low"], part["ci_high"] - part["gap"]]
            ax.errorbar(part["step"] * shift, part["gap"], yerr=error, marker="o", capsize=3,
                        label=f"{reference} − {control}")
        ax.axhline(0.0, color="0.4", linewidth=0.8)
        ax.set_xscale("log")
        ax.set_xlabel("training iterations")
        ax.set_title(metric)
        ax.legend(fontsize="small")
    axes[0][0].set_ylabel("paired gap (95 % interval)")
    figure.tight_layout()
    return figure


def budget_markdown(recording: Any, gaps: pd.DataFrame, first_step: int | None = None) -> str:
    """The chapter's bottom line on the budget, as Markdown, from a long ``recording`` and its ``gaps``.

    Says where the recording stands (:meth:`qlatent.recording.Recording.describe`, partial or
    not), then per control and metric what became of the gap at ``first_step`` (default: the
    ``standard`` profile's ``n_steps``, the chapter's 5 % budget) at the last snapshot
    (:func:`budget_trend`), and our means at the last snapshot beside the paper's Table II values
    at size 16 (its 20,000 iterations), with the snapshot's step so a partial recording is never
    read as the paper's budget.
    """
    from qlatent.paper import reported
    from qlatent.recording import effective_parameters

    if first_step is None:
        first_step = int(effective_parameters(CHAPTER, "standard")["n_steps"])
    lines = [recording.describe(), ""]
    trend = budget_trend(gaps, first_step)
    if trend.empty:
        lines.append(f"* No snapshot beyond {first_step} iterations has runs of both latents yet.")
    for row in trend.itertuples():
        interval = (f" [{row.ci_low_last:.3g}, {row.ci_high_last:.3g}]" if math.isfinite(row.ci_low_last) else "")
        lines.append(f"* **{row.trend}** ({row.metric}, boson − {row.control}): {row.gap_first:.3g} at "
                     f"{row.first_step} iterations (favours {row.favours_first}); {row.gap_last:.3g}{interval} at "
                     f"{row.last_step} iterations over {row.n_pairs_last} paired seeds (favours {row.favours_last}).")
    table = recording.tables["snapshots"]
    last = int(table["step"].max())
    paper = reported("table2")
    paper = paper[paper["size"] == int(table["size"].iloc[0])].set_index(["latent", "metric"])
    means = table[table["step"] == last].groupby(["latent", "metric"])["value"].mean()
    for (latent, metric), value in means.items():
        if (latent, metric) in paper.index and metric in PAPER_METRICS:
            theirs = paper.loc[(latent, metric)]
            lines.append(f"* {latent} {metric}: ours {value:.4g} at {last} iterations, the paper's "
                         f"{theirs['value']:.4g} ± {theirs['se']:.2g} at its 20,000.")
    return "\n".join(lines)


def show_budget() -> None:
    """Display chapter 05's section on the paper's budget: the bottom line of the ``long``
    recording (:func:`budget_markdown`) and its gap figure (:func:`budget_figure`), or one line
    saying that no ``long`` recording exists yet.

    Raises
    ------
    qlatent.recording.RecordingError
        If the recording exists but fails its checks or lacks the ``snapshots`` table's columns
        (:data:`qlatent.recording.PROFILE_READS`).
    """
    import matplotlib.pyplot as plt
    from IPython.display import Markdown, display

    from qlatent.recording import load_recording

    recording = load_recording(CHAPTER, PROFILE)
    if recording is None:
        display(Markdown("No `long` recording yet: `sweeps/qm9_long.sh` trains it (resumable), and "
                         "`sweeps/qm9_long.sh collect` stores what it has scored."))
        return
    gaps = budget_gaps(recording.tables["snapshots"])
    display(Markdown(budget_markdown(recording, gaps)))
    budget_figure(gaps)
    plt.show()


def main(argv: Sequence[str] | None = None) -> int:
    """``run``, ``collect`` or ``status`` of the ``long`` profile (see the module notes)."""
    parser = argparse.ArgumentParser(prog="python -m qlatent.experiments.qm9_long", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["run", "collect", "status"])
    parser.add_argument("--worker", type=int, default=0, help="this worker's index (run)")
    parser.add_argument("--workers", type=int, default=1, help="number of workers sharing the jobs (run)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = parser.parse_args(argv)
    parameters = profile_parameters()
    if args.command == "status":
        print(f"long recording under {long_root()}")
        print(status(parameters).to_string(index=False))
        return 0
    if args.command == "collect":
        print(collect(parameters))
        return 0
    from qlatent.training.device import set_cpu_threads

    set_cpu_threads(args.threads)
    print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} worker {args.worker}/{args.workers} starts under {long_root()}",
          flush=True)
    record(parameters, worker=args.worker, workers=args.workers, log=sys.stdout)
    print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} worker {args.worker}/{args.workers} done", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
