"""Large local banks drawn as seeded shards by many workers, kept shard by shard, merged once.

:func:`sample_in_shards` draws the shards of a local request (:mod:`qlatent.qpu.backends.local`)
on an executor (:mod:`qlatent.sweep.executors`: this process, a local pool or Ray). Each finished
shard is written at once, atomically and with its checksum, to ``<store>/<id>.shards/``; a killed
run resumes with the shards it lacks. When all are there they are concatenated in order into one
sample set with one checksum, stored, and the shard folder is removed. Every shard's seed derives
from the request's, so the merged bank is the same bytes for any number of workers. The set's lock
is held while drawing, so one process at a time writes a bank's plan, shards and set.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qlatent.io import atomic_path, atomic_write_json
from qlatent.qpu.backends.local import (
    LocalBackend,
    ShardDraw,
    draw_shard,
    n_shards,
    request_entropy,
    sample_shard,
    shard_rows,
)
from qlatent.qpu.errors import QPUError
from qlatent.qpu.sampleset import SampleRequest, SampleSet, counts_sha256, utc_now

if TYPE_CHECKING:
    from qlatent.qpu.store import SampleStore
    from qlatent.sweep.executors import ExecutorSettings

#: A bank is sent to the executor from ``$QLATENT_EXECUTOR`` only when drawing it here would take
#: longer than this many seconds (by :func:`estimated_seconds`); an explicit executor is always used.
PARALLEL_MIN_SECONDS = 20.0
#: Rough single-core rate of the sampler's inner loop (complex multiply-adds per second), measured
#: on this project's 2-core machine: 20 photons ran at about 90 samples per second per core.
_OPERATIONS_PER_SECOND = 2.0e9
#: Seconds per ``n² m`` (interfering) or ``n m`` (distinguishable) of each shot outside that loop,
#: measured on the same machine: 0.2 µs a shot for 2 photons in 4 modes, 11 µs for 8 in 16.
_SECONDS_PER_PHOTON_MODE = 1.0e-8
#: Seconds each shard costs beyond its shots (dispatch, checksum, its atomic file); measured
#: about 15 ms a shard for a serial bank of small shards on the same busy machine.
_SECONDS_PER_SHARD = 0.01


def binomial_pmf(n: int, p: float) -> np.ndarray:
    """``P(K = k)`` for ``k = 0 .. n`` of ``K ~ Binomial(n, p)``, shape ``(n + 1,)``.

    From the log-binomial coefficients' running sums, in NumPy: the estimate is printed before
    anything long happens, and importing ``scipy.stats`` for it took seconds.
    """
    k = np.arange(n + 1)
    if p <= 0.0 or p >= 1.0:
        return (k == (n if p >= 1.0 else 0)).astype(np.float64)
    log_choose = np.concatenate([[0.0], np.cumsum(np.log(n - k[1:] + 1.0) - np.log(k[1:]))])
    return np.exp(log_choose + k * np.log(p) + (n - k) * np.log1p(-p))


def estimated_seconds(request: SampleRequest) -> float:
    """Rough single-core time to sample ``request`` locally, in seconds.

    A uniform loss commutes with the interferometer, so each shot interferes only the ``k`` photons
    that survive it, ``k ~ Binomial(n, η)`` with ``η`` the transmission times the brightness. A shot
    of ``k`` interfering photons costs ``k 2^k`` operations (the permanent-like sums) plus ``k² m``
    bookkeeping, a distinguishable one ``k m``; with post-selection the shots with fewer than
    ``min_detected`` survivors are rejected before they are sampled, so an accepted shot costs the
    mean over ``k >= min_detected``. Plus a fixed cost per shard; the rates are measured (see the
    module's constants).
    """
    n, m = request.n_photons, request.n_modes
    survivors = np.arange(n + 1)
    weights = binomial_pmf(n, request.transmission * request.brightness)
    if request.model != "distinguishable":
        cost = survivors * 2.0 ** survivors / _OPERATIONS_PER_SECOND + survivors ** 2 * m * _SECONDS_PER_PHOTON_MODE
    else:
        cost = survivors * m * (1 / _OPERATIONS_PER_SECOND + _SECONDS_PER_PHOTON_MODE)
    accepted = survivors >= request.min_detected
    per_sample = float(weights[accepted] @ cost[accepted] / max(weights[accepted].sum(), 1e-300))
    return request.n_samples * per_sample + n_shards(request.n_samples) * _SECONDS_PER_SHARD


class ShardFolder:
    """``<store>/<id>.shards/``: the plan (entropy, shard size, start time) and one file per finished shard."""

    def __init__(self, store: SampleStore, request: SampleRequest) -> None:
        self.request = request
        self.request_id = request.request_id()
        self.path = Path(store.root) / f"{self.request_id}.shards"
        self.rows = shard_rows(request.n_samples)
        self.draws: dict[int, tuple[int, int]] = {}  # post-selection: (shots examined, passed) per shard

    def plan(self) -> dict[str, Any]:
        """Read the plan, or write a new one (fresh entropy for unseeded requests).

        Raises
        ------
        QPUError
            If the folder holds the plan of another request or another shard size.
        """
        plan_path = self.path / "plan.json"
        if plan_path.exists():
            try:
                plan = json.loads(plan_path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as error:
                raise QPUError(f"{plan_path}: unreadable shard plan ({error}); delete the folder to restart") from None
            if plan.get("request_id") != self.request_id or plan.get("shard_rows") != self.rows:
                raise QPUError(f"{plan_path}: the plan is for another request or shard size; "
                               "delete the folder to restart")
            return plan
        plan = {"request_id": self.request_id, "shard_rows": self.rows, "entropy": str(request_entropy(self.request)),
                "started_at": utc_now()}
        atomic_write_json(plan_path, plan)
        return plan

    def shard_path(self, index: int) -> Path:
        return self.path / f"shard-{index:06d}.npz"

    def load(self, index: int) -> np.ndarray | None:
        """A finished shard's counts, or None if it is missing or fails its checks (it is then removed)."""
        path = self.shard_path(index)
        if not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as archive:
                counts = archive["counts"]
                state = json.loads(str(archive["state"]))
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            path.unlink(missing_ok=True)
            return None
        expected_shape = (self.rows[index], self.request.n_modes)
        if (state.get("request_id") != self.request_id or state.get("index") != index
                or counts.shape != expected_shape or counts_sha256(counts) != state.get("sha256")
                or (self.request.min_detected and "draws" not in state)):
            path.unlink(missing_ok=True)
            return None
        if "draws" in state:
            self.draws[index] = tuple(state["draws"])
        return counts

    def save(self, index: int, counts: np.ndarray, draws: tuple[int, int] | None = None) -> None:
        """Write a finished shard atomically with its checksum (and, post-selected, its shots examined and passed)."""
        state: dict[str, Any] = {"request_id": self.request_id, "index": index, "sha256": counts_sha256(counts)}
        if draws is not None:
            state["draws"] = [int(draws[0]), int(draws[1])]
            self.draws[index] = (int(draws[0]), int(draws[1]))
        with atomic_path(self.shard_path(index)) as tmp:
            np.savez(tmp, counts=counts, state=np.array(json.dumps(state, sort_keys=True)))

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    def remove_if_empty(self) -> bool:
        """Remove the folder if it holds no finished shard (only the plan: nothing to resume); True if removed."""
        if any(self.path.glob("shard-*.npz")):
            return False
        self.remove()
        return True


def resolve_bank_executor(request: SampleRequest, executor: str | ExecutorSettings | None,
                          n_missing: int) -> ExecutorSettings:
    """The executor for the missing shards: the one given, else the environment's when the bank is slow."""
    from qlatent.sweep.executors import ExecutorSettings, resolve_settings

    serial = ExecutorSettings("serial")
    if n_missing <= 1:
        return serial
    if executor is not None:
        return resolve_settings(executor)
    settings = ExecutorSettings.from_env()
    return settings if estimated_seconds(request) >= PARALLEL_MIN_SECONDS else serial


def sample_in_shards(request: SampleRequest, store: SampleStore, *, executor: str | ExecutorSettings | None = None,
                     progress: bool = False, backend: LocalBackend | None = None) -> SampleSet:
    """Draw (or finish drawing) every shard of a local request, merge them and store the set.

    The set's lock (:meth:`SampleStore.lock`) is held throughout, so two processes asking for
    one bank never draw it twice or mix their files: the second waits, then reads the set the
    first stored (returned as it is when the set is already stored).

    Parameters
    ----------
    request : SampleRequest
        A request for the ``"local"`` backend.
    store : SampleStore
        Where the shards are kept while drawing and the merged set is stored.
    executor : {"serial", "local", "ray"} or ExecutorSettings, optional
        Where shards are drawn. None: ``$QLATENT_EXECUTOR`` for banks estimated to take more than
        :data:`PARALLEL_MIN_SECONDS` here, else this process.
    progress : bool
        Show a progress bar over the shards.
    backend : LocalBackend, optional
        The backend (its provenance details are recorded).

    Raises
    ------
    QPUError
        If some shards failed (their errors are named; finished shards are kept for the next try).
    SweepError
        If the executor cannot start.
    """
    backend = backend or LocalBackend()
    request_id = request.request_id()
    with store.lock(request_id):  # one writer per bank; re-entrant under get_or_sample's hold
        if request_id in store:  # another process finished it while this one waited
            return store.load(request_id)
        return _draw_and_merge(request, store, executor, progress, backend)


def _draw_and_merge(request: SampleRequest, store: SampleStore, executor: str | ExecutorSettings | None,
                    progress: bool, backend: LocalBackend) -> SampleSet:
    """The body of :func:`sample_in_shards`, run under the set's lock."""
    from qlatent.sweep.engine import run_tasks
    from qlatent.sweep.executors import open_executor

    folder = ShardFolder(store, request)
    plan = folder.plan()
    entropy = int(plan["entropy"])
    shards: list[np.ndarray | None] = [folder.load(index) for index in range(len(folder.rows))]
    missing = [index for index, counts in enumerate(shards) if counts is None]
    if missing:
        settings = resolve_bank_executor(request, executor, len(missing))

        def keep(result: Any) -> None:
            if result.ok:
                index = missing[result.index]
                if isinstance(result.value, ShardDraw):
                    shards[index] = np.asarray(result.value.counts)
                    folder.save(index, shards[index], (result.value.n_shots, result.value.n_passed))
                else:
                    shards[index] = np.asarray(result.value)
                    folder.save(index, shards[index])

        task = draw_shard if request.min_detected else sample_shard
        try:
            with open_executor(settings) as running:
                setup = backend.setup(request)  # validated once, sent with every shard
                tasks = [{"request": request, "index": index, "entropy": entropy, "setup": setup}
                         for index in missing]
                results = run_tasks(task, tasks, running, progress=progress, on_result=keep, unit="shard",
                                    desc=f"shards of {folder.request_id[:12]}",
                                    already_done=len(folder.rows) - len(missing))
        except BaseException:  # Ctrl-C, an executor that cannot start: keep the folder only if it holds shards
            folder.remove_if_empty()
            raise
        failed = [result for result in results if not result.ok]
        if failed:
            names = "; ".join(f"shard {missing[result.index]}: {result.error}" for result in failed[:5])
            kept = len(folder.rows) - len(failed)
            if folder.remove_if_empty():
                raise QPUError(f"{len(failed)} of {len(folder.rows)} shard(s) of {folder.request_id} failed ({names}); "
                               "none finished, so nothing was kept") from failed[0].exception
            raise QPUError(f"{len(failed)} of {len(folder.rows)} shard(s) of {folder.request_id} failed ({names}); "
                           f"the {kept} finished are kept in {folder.path}") from failed[0].exception
    counts = np.concatenate(shards)
    draws = [folder.draws[index] for index in range(len(folder.rows))] if request.min_detected else None
    sample_set = SampleSet.create(request, counts, backend_details=backend.details(request, entropy, draws),
                                  started_at=plan["started_at"])
    store.save(sample_set)
    folder.remove()
    return sample_set
