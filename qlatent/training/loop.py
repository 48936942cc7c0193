"""The one training loop: seeded, checkpointed, resumable, logged.

Every model (the WGAN-GP here, MolGAN later) plugs in through a small duck-typed interface::

    model.latent_dim                                   # int, checked against latent.dim
    model.train_step(draw_batch, latent, generator)    # -> dict[str, float]; one optimisation step
    model.state_dict() / model.load_state_dict(state)  # weights and optimiser states
    model.to(device), model.describe()                 # device placement, manifest entry

``draw_batch()`` returns the next real batch (already on the run's device); the model draws as
many as it needs (a WGAN-GP step takes ``n_critic`` of them). The latent distribution
(``sample(n, generator)``, ``dim``, ``name``, ``describe()``) and the data source (``batch(n,
generator)``, ``len``, ``describe()``, optionally ``state_dict``) are injected; every random draw
comes from one CPU ``torch.Generator`` seeded from the run's seed, and anything that still uses
torch's global RNG (dropout) runs under :func:`torch.random.fork_rng` re-seeded per step from
``(seed, step)``. So a run is a function of its parameters: on the CPU two runs with the same seed
give bit-identical weights, and a run resumed from a checkpoint ends bit-identical to one that
was never interrupted.

Run directory layout::

    manifest.json           parameters, seeds, environment, device, runtime, status, the lengths asked for
    metrics.csv             one row every ``log_every`` steps (means over the window) up to the last session's end
    checkpoints/step_NNNNNNNN.pt   at step 0, every ``checkpoint_every`` steps and at the last step

A checkpoint also holds the metrics rows up to its step, so the log a run resumes with is always
the one of the checkpoint it resumes from. The directory is keyed without the run's length, so it
serves every length: the checkpoint of each length asked for is kept, a longer run resumes from the
newest checkpoint, and a shorter one is the checkpoint at its length (or the newest before it,
trained on), never one beyond it — bit-identical to a fresh run of that length, while the longer
run's checkpoints stay for it. Damaged files are never used and never deleted: a
checkpoint that cannot be read, or reads back as something else, is renamed ``*.corrupt`` and the
previous checkpoint is used (a :class:`~qlatent.training.checkpoint.CorruptCheckpointError` naming
them all when none is left); a metrics log cut off, garbled or disagreeing with the checkpoint,
and a manifest that is not JSON, are renamed ``*.corrupt`` and rewritten. Each is reported by a
``RuntimeWarning`` naming the file.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import math
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from qlatent import progress
from qlatent.training.checkpoint import (
    CorruptCheckpointError,
    list_checkpoints,
    load_checkpoint,
    save_checkpoint,
    set_aside,
)
from qlatent.training.device import resolve_device
from qlatent.training.runlog import MetricsLog, manifest_problem, previous_session, same_rows, write_manifest


class TrainingDivergedError(RuntimeError):
    """A loss or a weight became NaN or infinite; training stopped and the last good checkpoint was kept.

    Attributes
    ----------
    step
        The step (1-based) whose result was not finite.
    name
        The loss (or state entry) that was not finite.
    value
        Its value.
    checkpoint
        The last good checkpoint, or None if none had been written.
    """

    def __init__(self, step: int, name: str, value: float, checkpoint: Path | None) -> None:
        self.step, self.name, self.value, self.checkpoint = step, name, value, checkpoint
        kept = f"last good checkpoint kept: {checkpoint}" if checkpoint else "no checkpoint had been written"
        super().__init__(f"training diverged at step {step}: {name} = {value}; {kept}")


def _check_int(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be {'positive' if minimum == 1 else f'>= {minimum}'}, got {value}")


@dataclass(frozen=True)
class TrainerConfig:
    """Settings of one training run.

    Parameters
    ----------
    n_steps
        Number of model steps (for a WGAN-GP: generator updates).
    batch_size
        Real examples per batch (the latent batch has the same size).
    seed
        Seed of the run's random generator (data order, latent draws, interpolation weights).
    checkpoint_every
        Save a checkpoint after every this many steps (and after the last step).
    log_every
        Append a metrics row (means over the last ``log_every`` steps, plus evaluations) every
        this many steps. A run extended to more steps later matches one trained straight through.
    keep_checkpoints
        How many of the newest checkpoints to keep (besides the checkpoints at every length a run
        directory was asked for, and those beyond the current step, which belong to a longer run).
    device
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
    progress
        Show a tqdm progress bar.

    Attributes
    ----------
    training_seconds
        After :meth:`fit`: the run's training time in seconds over all its sessions (a resumed run
        adds its earlier sessions' time, a reloaded run reports its original time).

    Raises
    ------
    ValueError
        On a non-positive count or a negative seed.
    """

    n_steps: int
    batch_size: int
    seed: int
    checkpoint_every: int = 100
    log_every: int = 10
    keep_checkpoints: int = 2
    device: str = "auto"
    progress: bool = True

    def __post_init__(self) -> None:
        for name in ("n_steps", "batch_size", "checkpoint_every", "log_every", "keep_checkpoints"):
            _check_int(name, getattr(self, name), 1)
        _check_int("seed", self.seed, 0)

    def run_parameters(self) -> dict[str, Any]:
        """The settings that determine the numbers: not the device, the progress bar, how long to
        train or how often to checkpoint (a run may be resumed with other values of those)."""
        parameters = asdict(self)
        for key in ("device", "progress", "n_steps", "checkpoint_every", "keep_checkpoints"):
            parameters.pop(key)
        return parameters


def run_parameters(model: Any, latent: Any, data: Any, config: TrainerConfig) -> dict[str, Any]:
    """Everything that determines a run's numbers: the trainer's settings (not its length), the model's
    description, the latent's (with its bank's hash) and the data's (with its hash), as plain JSON."""
    latent_description = {"name": latent.name, "dim": latent.dim, **latent.describe()}
    return json.loads(json.dumps({"trainer": config.run_parameters(), "model": model.describe(),
                                  "latent": latent_description, "data": data.describe()}, default=str))


def run_key(model: Any, latent: Any, data: Any, config: TrainerConfig) -> str:
    """Short hash of :func:`run_parameters`: the name of a run's directory, so a run is found again only
    when everything that shapes it is the same, and anything that changes it gets a fresh directory."""
    text = json.dumps(run_parameters(model, latent, data, config), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def keyed_run_dir(runs_dir: str | Path, label: str, model: Any, latent: Any, data: Any, config: TrainerConfig) -> Path:
    """``<runs_dir>/<label>-<run_key>``: where a run keeps its checkpoints, found again only by an identical run."""
    return Path(runs_dir) / f"{label}-{run_key(model, latent, data, config)}"


def _differences(theirs: Any, ours: Any, path: str = "") -> list[str]:
    """Paths (``latent.source.sample_set``) where two parameter trees differ."""
    if isinstance(theirs, dict) and isinstance(ours, dict):
        found = []
        for key in sorted(set(theirs) | set(ours)):
            found += _differences(theirs.get(key), ours.get(key), f"{path}.{key}" if path else str(key))
        return found
    return [] if theirs == ours else [path or "(everything)"]


def _derived_seed(seed: int, step: int, purpose: int) -> int:
    return int(np.random.SeedSequence((seed, step, purpose)).generate_state(1, dtype=np.uint64)[0] >> 1)


def _one_line(error: BaseException, limit: int = 300) -> str:
    """An exception's message on one line, cut to ``limit`` characters (torch's run to many lines)."""
    text = " ".join(str(error).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _check_state(state: dict[str, Any], path: Path, step: int) -> None:
    """Raise :class:`CorruptCheckpointError` unless ``state`` has the structure :meth:`Trainer._state`
    writes, for the checkpoint of ``step``."""
    def damaged(reason: str) -> CorruptCheckpointError:
        return CorruptCheckpointError(f"checkpoint {path} is damaged: {reason}", [path])

    expected: dict[str, type | tuple[type, ...]] = {"step": int, "model": dict, "rng": torch.Tensor,
                                                    "accumulator": dict, "parameters": str, "runtime_s": (int, float)}
    for key, kind in expected.items():
        if key not in state:
            raise damaged(f"it has no {key!r} entry")
        if not isinstance(state[key], kind) or isinstance(state[key], bool):
            raise damaged(f"its {key!r} entry is a {type(state[key]).__name__}")
    if state["step"] != step:
        raise damaged(f"it holds step {state['step']}, its name says {step}")
    if state["rng"].dtype != torch.uint8 or state["rng"].ndim != 1:
        raise damaged("its 'rng' entry is not a random generator's state")
    if not math.isfinite(state["runtime_s"]) or state["runtime_s"] < 0:
        raise damaged(f"its runtime {state['runtime_s']} is not a duration")
    accumulator = state["accumulator"]
    if not (isinstance(accumulator.get("sums"), dict) and isinstance(accumulator.get("count"), int)
            and all(isinstance(key, str) and isinstance(value, (int, float)) and not isinstance(value, bool)
                    for key, value in accumulator["sums"].items())):
        raise damaged("its 'accumulator' entry is not {'sums': {name: number}, 'count': int}")
    try:
        json.loads(state["parameters"])
    except ValueError:
        raise damaged("its 'parameters' entry is not JSON") from None
    for key in ("data", "latent"):
        if key in state and not isinstance(state[key], dict):
            raise damaged(f"its {key!r} entry is a {type(state[key]).__name__}")
    rows = state.get("metrics")  # absent from checkpoints written before the log was checkpointed
    if rows is not None:
        rows = rows if isinstance(rows, list) else [None]
        steps = [row.get("step") if isinstance(row, dict) else None for row in rows]
        if not all(isinstance(s, int) for s in steps) or steps != sorted(set(steps)) or (steps and steps[-1] > step):
            raise damaged("its 'metrics' entry is not a list of rows with increasing steps up to its own")


def _first_nonfinite(state: Any, prefix: str = "") -> tuple[str, float] | None:
    """Name and a value of the first floating tensor in a nested state that is not all finite."""
    if torch.is_tensor(state):
        if state.is_floating_point() and not bool(torch.isfinite(state).all()):
            bad = state[~torch.isfinite(state)].flatten()[0]
            return prefix, float(bad)
        return None
    items = state.items() if isinstance(state, dict) else enumerate(state) if isinstance(state, (list, tuple)) else ()
    for key, value in items:
        found = _first_nonfinite(value, f"{prefix}.{key}" if prefix else str(key))
        if found:
            return found
    return None


class Trainer:
    """Train ``model`` on ``data`` with latent samples from ``latent``, writing into ``run_dir``.

    Parameters
    ----------
    model
        An object with the interface described in the module docstring (e.g.
        :class:`qlatent.models.gan.WGANGP`).
    latent
        The latent distribution; its ``dim`` must equal ``model.latent_dim``. If it has
        ``state_dict``/``load_state_dict`` (a bank with an epoch position) its state is checkpointed.
    data
        The real data source (e.g. :class:`qlatent.training.bank.TensorBank`).
    config
        Run settings.
    run_dir
        Directory for the manifest, metrics and checkpoints.
    evaluate
        Optional ``evaluate(model, latent, generator) -> dict[str, float]`` called at every logged
        step, with its own generator seeded from ``(seed, step)`` and the latent's state (if any)
        restored afterwards, so it never shifts the training stream; its values join the metrics row.

    Raises
    ------
    ValueError
        If the latent dimension does not match the model, the data source holds fewer examples
        than one batch, or the device is unavailable.
    """

    def __init__(self, model: Any, latent: Any, data: Any, config: TrainerConfig, run_dir: str | Path,
                 evaluate: Callable[[Any, Any, torch.Generator], dict[str, float]] | None = None) -> None:
        if latent.dim != model.latent_dim:
            raise ValueError(f"latent distribution {latent.name!r} has dimension {latent.dim}, "
                             f"but the model takes latent_dim={model.latent_dim}")
        if len(data) < config.batch_size:
            raise ValueError(f"data source holds {len(data)} examples, fewer than one batch of "
                             f"batch_size={config.batch_size}")
        self.model, self.latent, self.data, self.config = model, latent, data, config
        self.evaluate = evaluate
        self.device = resolve_device(config.device)
        self.run_dir = Path(run_dir)
        self.checkpoint_dir = self.run_dir / "checkpoints"
        self.metrics = MetricsLog(self.run_dir / "metrics.csv")
        self.generator = torch.Generator().manual_seed(config.seed)
        self.step = 0
        self._lengths = [config.n_steps]  # every n_steps asked of the run directory, from its manifest
        self._sums: dict[str, float] = {}
        self._count = 0
        self._runtime_before = 0.0
        self._checkpointed_runtime = 0.0
        self.training_seconds = float("nan")

    def parameters(self) -> dict[str, Any]:
        """Everything that determines the run's numbers (:func:`run_parameters`); a checkpoint made with
        other parameters is refused."""
        return run_parameters(self.model, self.latent, self.data, self.config)

    def _draw_batch(self) -> torch.Tensor | tuple[torch.Tensor, ...]:
        batch = self.data.batch(self.config.batch_size, self.generator)
        if isinstance(batch, tuple):
            return tuple(t.to(self.device) for t in batch)
        return batch.to(self.device)

    @contextlib.contextmanager
    def _scoped_global_rng(self, step: int, purpose: int) -> Iterator[None]:
        seed = _derived_seed(self.config.seed, step, purpose)
        if self.device.type == "cuda":
            index = self.device.index if self.device.index is not None else torch.cuda.current_device()
            with torch.random.fork_rng(devices=[index]), torch.cuda.device(index):
                torch.default_generator.manual_seed(seed)
                torch.cuda.manual_seed(seed)
                yield
        else:
            with torch.random.fork_rng(devices=[]):
                torch.default_generator.manual_seed(seed)
                yield

    def _state(self) -> dict[str, Any]:
        state = {"step": self.step, "model": self.model.state_dict(), "rng": self.generator.get_state(),
                 "accumulator": {"sums": dict(self._sums), "count": self._count},
                 "parameters": json.dumps(self.parameters(), sort_keys=True),
                 "runtime_s": self._runtime_before + (time.perf_counter() - self._started),
                 "metrics": [dict(row) for row in self.metrics.rows]}
        if hasattr(self.data, "state_dict"):
            state["data"] = self.data.state_dict()
        if hasattr(self.latent, "state_dict"):
            state["latent"] = self.latent.state_dict()
        return state

    def _restore(self, state: dict[str, Any], path: Path) -> None:
        mine = json.dumps(self.parameters(), sort_keys=True)
        if state["parameters"] != mine:
            differ = _differences(json.loads(state["parameters"]), json.loads(mine))
            shown = ", ".join(differ[:6]) + (f" and {len(differ) - 6} more" if len(differ) > 6 else "")
            raise ValueError(f"checkpoint {path} was made with other parameters ({shown} differ); "
                             "use a fresh run directory (name run directories with run_key to get one)")
        try:
            self.model.load_state_dict(state["model"])
            self.generator.set_state(state["rng"])
            if "data" in state:
                self.data.load_state_dict(state["data"])
            if "latent" in state:
                self.latent.load_state_dict(state["latent"])
        except (RuntimeError, KeyError, TypeError, ValueError, IndexError, AttributeError) as error:
            # the parameters match, so states that do not fit the objects mean a damaged file
            detail = f"{type(error).__name__}: {_one_line(error)}"
            raise CorruptCheckpointError(f"checkpoint {path} is damaged: its states do not fit this run's model, "
                                         f"data or latent ({detail})", [path]) from error
        self.model.to(self.device)
        self._sums = dict(state["accumulator"]["sums"])
        self._count = state["accumulator"]["count"]
        self._runtime_before = state["runtime_s"]
        self._checkpointed_runtime = state["runtime_s"]
        self.step = state["step"]

    def _manifest(self, status: str, runtime_s: float | None = None, **extra: Any) -> None:
        if runtime_s is None:
            runtime_s = self._runtime_before + time.perf_counter() - self._started
        seeds = {"train": self.config.seed, **({"init": self.model.seed} if hasattr(self.model, "seed") else {})}
        write_manifest(self.run_dir / "manifest.json", status=status, parameters=self.parameters(), seeds=seeds,
                       device=str(self.device), runtime_s=runtime_s,
                       step=self.step, n_steps=self.config.n_steps, lengths=self._lengths, **extra)

    def _last_checkpoint(self) -> Path | None:
        """The newest checkpoint of this run so far (at or before its step; later ones are a longer run's)."""
        found = [path for step, path in list_checkpoints(self.checkpoint_dir) if step <= self.step]
        return found[-1] if found else None

    def _resume(self) -> tuple[dict[str, Any], Path] | None:
        """Restore the newest intact checkpoint at or before ``n_steps``; damaged newer ones are set
        aside (``*.corrupt``). Checkpoints beyond ``n_steps`` (a longer run's) are left alone.

        Returns the state and file restored, or None when the run directory holds no checkpoint up to
        ``n_steps`` (the run then trains from step 0).
        Raises :class:`CorruptCheckpointError` naming every file when none is intact, and
        ``ValueError`` (not a fallback) when a readable checkpoint was made with other parameters.
        """
        damaged: list[str] = []
        paths: list[Path] = []
        usable = [(step, path) for step, path in list_checkpoints(self.checkpoint_dir) if step <= self.config.n_steps]
        for step, path in reversed(usable):
            try:
                state = load_checkpoint(path)
                _check_state(state, path, step)
                self._restore(state, path)
            except CorruptCheckpointError as error:
                aside = set_aside(path)
                damaged.append(f"{error} (kept as {aside.name})")
                paths.append(path)
                warnings.warn(f"{error}; kept aside as {aside}, trying the previous checkpoint", RuntimeWarning,
                              stacklevel=4)
                continue
            return state, path
        if damaged:
            raise CorruptCheckpointError(
                f"no intact checkpoint remains in {self.checkpoint_dir}: " + "; ".join(damaged)
                + ". The damaged files are kept beside the others; running again trains from step 0.", paths)
        return None

    def _restore_metrics(self, state: dict[str, Any] | None, checkpoint: Path | None, reached: int | None) -> None:
        """Make the metrics log the one of the checkpoint resumed from (rows after its step are
        dropped); a damaged or disagreeing ``metrics.csv`` is set aside (``*.corrupt``) and rewritten.

        ``reached`` is the step the previous session ended at (from the manifest): a log that is the
        checkpoint's up to that earlier step is a shorter run's, extended without a warning."""
        path = self.metrics.path
        problem = self.metrics.load(up_to_step=self.step)
        saved = None if state is None else state.get("metrics")
        rewrite = problem is not None or self.metrics.rows_beyond > 0
        if saved is not None and not same_rows(saved, self.metrics.rows):
            shorter_run = (problem is None and reached is not None and reached < self.step
                           and same_rows([row for row in saved if row["step"] <= reached], self.metrics.rows))
            if problem is None and path.is_file() and not shorter_run:
                problem = (f"its rows up to step {self.step} are not those checkpoint {checkpoint} holds "
                           "(rows missing or altered)")
            self.metrics.rows = [dict(row) for row in saved]
            rewrite = True
        if problem is not None:
            aside = set_aside(path)
            source = f"checkpoint {checkpoint}" if saved is not None else "its intact rows"
            warnings.warn(f"metrics log {path} is damaged: {problem}; kept aside as {aside} and rewritten from "
                          f"{source}", RuntimeWarning, stacklevel=4)
        if saved is None and self.step > 0:  # a checkpoint from before logs were checkpointed
            missing = sorted(set(range(self.config.log_every, self.step + 1, self.config.log_every))
                             - {row["step"] for row in self.metrics.rows})
            if missing:
                warnings.warn(f"metrics log {path} lacks the rows of steps {missing[:5]}"
                              f"{' ...' if len(missing) > 5 else ''} before checkpoint {checkpoint}'s step "
                              f"{self.step}; they cannot be recomputed without retraining", RuntimeWarning,
                              stacklevel=4)
        if rewrite:
            self.metrics.write()

    def _log(self) -> None:
        row: dict[str, float | int] = {"step": self.step}
        row.update({key: total / self._count for key, total in self._sums.items()})
        if self.evaluate is not None:
            evaluation_rng = torch.Generator().manual_seed(_derived_seed(self.config.seed, self.step, 2))
            latent_state = copy.deepcopy(self.latent.state_dict()) if hasattr(self.latent, "state_dict") else None
            try:
                with self._scoped_global_rng(self.step, 3):
                    row.update({key: float(value) for key, value in
                                self.evaluate(self.model, self.latent, evaluation_rng).items()})
            finally:
                if latent_state is not None:
                    self.latent.load_state_dict(latent_state)
        self.metrics.append(row)
        self._sums, self._count = {}, 0

    def _checkpoint(self) -> None:
        state = self._state()
        bad = _first_nonfinite(state["model"])
        if bad:
            raise TrainingDivergedError(self.step, f"state entry {bad[0]}", bad[1], self._last_checkpoint())
        save_checkpoint(self.checkpoint_dir, self.step, state, keep=self.config.keep_checkpoints,
                        keep_steps=self._lengths)
        self._checkpointed_runtime = state["runtime_s"]

    def fit(self, resume: bool = True) -> list[dict[str, float | int | None]]:
        """Train up to ``config.n_steps`` steps, resuming from the newest checkpoint in the run directory.

        Parameters
        ----------
        resume
            Continue from the newest checkpoint if there is one. With ``False`` a run directory
            that already holds checkpoints is refused rather than overwritten.

        Returns
        -------
        list of dict
            The metrics rows (as in ``metrics.csv``).

        Raises
        ------
        TrainingDivergedError
            When a loss or a weight is NaN or infinite; the manifest says ``diverged`` and the
            checkpoints written before are untouched.
        ValueError
            When the newest intact checkpoint was made with other parameters, or a checkpoint
            exists while ``resume`` is False.
        qlatent.training.checkpoint.CorruptCheckpointError
            When every checkpoint in the run directory is damaged (each is named and kept as
            ``*.corrupt``; running again trains from step 0). A damaged newer checkpoint alone only
            warns (``RuntimeWarning``) and the previous one is used.

        A run directory trained further before (the same parameters, a larger ``n_steps``) gives
        the run of ``n_steps`` bit-identical to a fresh one: reloaded from the checkpoint at
        ``n_steps``, trained on from the newest before it, or retrained from step 0; the metrics
        returned and logged stop at ``n_steps``, and the longer run's checkpoints are kept.

        Two processes given the same run directory (two notebooks, a sweep and a recording) never
        train it at once: the second waits on the directory's lock file, then resumes from where
        the first stopped (for a finished run, it only reloads).
        """
        from filelock import FileLock, Timeout

        self.run_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(self.run_dir / ".train.lock")
        try:
            lock.acquire(timeout=0)
        except Timeout:
            progress.write(f"waiting for another process training {self.run_dir} ...")
            lock.acquire()
        try:
            return self._fit(resume)
        finally:
            lock.release()

    def _fit(self, resume: bool) -> list[dict[str, float | int | None]]:
        self._started = time.perf_counter()
        self.model.to(self.device)
        manifest = self.run_dir / "manifest.json"
        if (problem := manifest_problem(manifest)) is not None:
            aside = set_aside(manifest)
            warnings.warn(f"run manifest {manifest} is damaged: {problem}; kept aside as {aside} and rewritten",
                          RuntimeWarning, stacklevel=3)
        reached, lengths = previous_session(manifest)
        self._lengths = sorted({*lengths, self.config.n_steps})
        if not resume and list_checkpoints(self.checkpoint_dir):
            raise ValueError(f"run directory {self.run_dir} already holds checkpoints; pass resume=True "
                             "or use a fresh run directory")
        resumed = self._resume()
        if resumed is not None:
            state, last = resumed
        else:
            state, last = None, None
            self._checkpoint()
        self._restore_metrics(state, last, reached)
        self._manifest("running")
        bar = progress.bar(total=self.config.n_steps, initial=self.step, disable=not self.config.progress,
                           desc=self.run_dir.name, dynamic_ncols=True)
        try:
            while self.step < self.config.n_steps:
                step = self.step + 1
                with self._scoped_global_rng(step, 1):
                    losses = self.model.train_step(self._draw_batch, self.latent, self.generator)
                for name, value in losses.items():
                    if not math.isfinite(value):
                        raise TrainingDivergedError(step, name, value, self._last_checkpoint())
                    self._sums[name] = self._sums.get(name, 0.0) + value
                self._count += 1
                self.step = step
                if step % self.config.log_every == 0:
                    self._log()
                    bar.set_postfix({k: f"{v:.3g}" for k, v in self.metrics.rows[-1].items() if k != "step"})
                if step % self.config.checkpoint_every == 0 or step == self.config.n_steps:
                    self._checkpoint()
                bar.update(1)
        except TrainingDivergedError as error:
            self._manifest("diverged", error=str(error))
            raise
        except BaseException as error:
            self._manifest("interrupted", error=repr(error))
            raise
        finally:
            bar.close()
        # The final checkpoint (always at n_steps) holds the run's training time: a reloaded run
        # reports exactly that time, not that time plus however long reloading took.
        self.training_seconds = self._checkpointed_runtime
        self._manifest("complete", runtime_s=self.training_seconds)
        return self.metrics.rows

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` generated points from the trained model and this run's latent distribution."""
        return self.model.sample(n, self.latent, generator)
