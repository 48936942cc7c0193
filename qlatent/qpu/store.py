"""The content-addressed sample store: request once, keep with provenance, replay bit-for-bit.

Each sample set lives as ``<id>.npz`` + ``<id>.json`` (see :mod:`qlatent.qpu.sampleset` for the open
format), both written atomically; the JSON sidecar is written last and marks the set complete.
Every read re-checks the recorded request against the id, the sidecar against its own checksum
and the counts against theirs, so a truncated, edited or tampered file raises
:class:`~qlatent.qpu.errors.CorruptSampleError` naming the file instead of being reused. A remote
run in progress keeps what it has received in ``<id>.partial.npz``, and a local bank its finished
shards in ``<id>.shards/`` (:mod:`qlatent.qpu.shards`), so an interrupted run resumes. Creating,
resuming or saving one set is serialised across processes by the lock file ``.<id>.lock``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qlatent.io import atomic_path, atomic_write_json
from qlatent.qpu.errors import CorruptSampleError, UnknownSampleSetError
from qlatent.qpu.sampleset import (
    FORMAT,
    JSON_MATRIX_MAX_MODES,
    PROVENANCE_CHECKSUM,
    SampleRequest,
    SampleSet,
    array_sha256,
    counts_sha256,
    is_binary_circuit,
    provenance_sha256,
    recorded_request_id,
)

if TYPE_CHECKING:
    from filelock import FileLock

    from qlatent.qpu.backends import PhotonicBackend
    from qlatent.qpu.limits import SamplingEstimate, SamplingLimits
    from qlatent.sweep.executors import ExecutorSettings

STORE_ENV = "QLATENT_SAMPLES"
_PARTIAL_SUFFIX = ".partial.npz"


def default_store_root() -> Path:
    """``$QLATENT_SAMPLES`` if set, else ``cache_dir()/samples``."""
    explicit = os.environ.get(STORE_ENV)
    if explicit:
        return Path(explicit).resolve()
    from qlatent.paths import cache_dir

    return cache_dir() / "samples"


def write_sample_files(sample_set: SampleSet, npz_path: Path, json_path: Path) -> None:
    """Write a sample set in the open format: counts first, then the provenance sidecar (atomically)."""
    matrix = {} if sample_set.unitary is None else {"unitary": sample_set.unitary}  # a large circuit's, in binary
    with atomic_path(npz_path) as tmp:
        np.savez(tmp, counts=sample_set.counts, **matrix)
    atomic_write_json(json_path, sample_set.provenance)


def _json_matrix_modes(provenance: dict[str, Any]) -> int:
    """Modes of a recorded circuit whose matrix is kept as JSON numbers (0 for one kept in binary)."""
    circuit = provenance["request"].get("circuit") or {}
    return 0 if is_binary_circuit(circuit) else len(circuit.get("unitary", {}).get("real", []))


def _load_arrays(npz_path: Path, with_unitary: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """The counts of a set's ``.npz`` and, ``with_unitary``, its circuit's matrix (a large circuit's)."""
    try:
        with np.load(npz_path, allow_pickle=False) as archive:
            return archive["counts"], archive["unitary"] if with_unitary else None
    except FileNotFoundError:
        raise CorruptSampleError(f"{npz_path}: counts file is missing") from None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise CorruptSampleError(f"{npz_path}: unreadable counts file ({type(error).__name__}: {error})") from None


_EDITED = ("the sidecar was edited, or written by a qlatent whose requests did not survive a JSON round trip; "
           "delete both files and sample again")


def read_sidecar(json_path: str | os.PathLike[str], request_id: str | None = None) -> dict[str, Any]:
    """Read and verify a provenance sidecar without its counts (see :func:`read_sample_files`).

    Parameters
    ----------
    json_path : path
        The ``.json`` sidecar.
    request_id : str, optional
        The content address the sidecar must answer to (a store passes the file name's id); by
        default the ``request_id`` the sidecar records.

    Returns
    -------
    dict
        The provenance.

    Raises
    ------
    CorruptSampleError
        Naming the file, if it is missing or unreadable, has no counts checksum, records a request
        that does not hash to ``request_id`` (or to its own recorded id), or fails its
        ``provenance_sha256`` (an edited timestamp, version or backend detail).
    """
    json_path = Path(json_path)
    try:
        provenance = json.loads(json_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CorruptSampleError(f"{json_path}: provenance file is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CorruptSampleError(f"{json_path}: unreadable provenance ({error})") from None
    if not isinstance(provenance, dict) or not isinstance(provenance.get("counts"), dict) \
            or "sha256" not in provenance["counts"]:
        raise CorruptSampleError(f"{json_path}: provenance has no counts checksum")
    try:
        rehashed = recorded_request_id(provenance)
    except (KeyError, TypeError, ValueError) as error:
        raise CorruptSampleError(f"{json_path}: invalid recorded request ({type(error).__name__}: {error})") from None
    if request_id is not None and rehashed != request_id:
        raise CorruptSampleError(f"{json_path}: the recorded request does not hash to the file name (it hashes to "
                                 f"{rehashed[:12]}...): {_EDITED}")
    if rehashed != provenance.get("request_id"):
        raise CorruptSampleError(f"{json_path}: the recorded request does not hash to its recorded request_id "
                                 f"(it hashes to {rehashed[:12]}...): {_EDITED}")
    if PROVENANCE_CHECKSUM in provenance and provenance_sha256(provenance) != provenance[PROVENANCE_CHECKSUM]:
        raise CorruptSampleError(f"{json_path}: the provenance does not match its {PROVENANCE_CHECKSUM} (a timestamp, "
                                 "version or backend detail was edited); delete both files and sample again")
    return provenance


def read_sample_files(npz_path: str | os.PathLike[str], json_path: str | os.PathLike[str], *,
                      request_id: str | None = None) -> SampleSet:
    """Read and verify a sample set in the open format.

    The sidecar is checked first (:func:`read_sidecar`: its request against the content address,
    the rest against ``provenance_sha256``), then the counts (and a large circuit's matrix) against their
    recorded checksums.

    Parameters
    ----------
    npz_path, json_path : path
        The two files of the set.
    request_id : str, optional
        The content address the set must answer to (default: the one it records).

    Raises
    ------
    CorruptSampleError
        Naming the file, if either file is missing, truncated or unreadable, if the provenance lacks
        the checksum, was edited (see :func:`read_sidecar`), or if the counts do not match their
        recorded shape, dtype or SHA-256, or a large circuit's matrix is missing or not the one its SHA-256 names.
    """
    npz_path, json_path = Path(npz_path), Path(json_path)
    provenance = read_sidecar(json_path, request_id)
    binary = is_binary_circuit(provenance["request"].get("circuit") or {})
    counts, unitary = _load_arrays(npz_path, binary)
    if binary and array_sha256(unitary) != provenance["request"]["circuit"].get("sha256"):
        raise CorruptSampleError(f"{npz_path}: the circuit's matrix does not match the SHA-256 recorded in "
                                 f"{json_path.name}")
    recorded = provenance["counts"]
    if list(counts.shape) != recorded.get("shape") or counts.dtype.str != recorded.get("dtype"):
        raise CorruptSampleError(f"{npz_path}: counts are {counts.dtype.str} {list(counts.shape)} but "
                                 f"{json_path.name} records {recorded.get('dtype')} {recorded.get('shape')}")
    if counts_sha256(counts) != recorded["sha256"]:
        raise CorruptSampleError(f"{npz_path}: counts do not match the SHA-256 recorded in {json_path.name}")
    try:
        return SampleSet(counts, provenance, unitary)
    except ValueError as error:
        raise CorruptSampleError(f"{npz_path}: {error}") from None


@dataclasses.dataclass(frozen=True)
class StoredSetInfo:
    """One line of :meth:`SampleStore.list`: what a stored set is, read from its sidecar only."""

    request_id: str
    backend: str
    n_samples: int
    n_modes: int
    n_photons: int
    model: str
    detection: str
    finished_at: str


class PartialRun:
    """Samples received so far by a remote run, with the run's job bookkeeping (``<id>.partial.npz``).

    The state dict is free-form JSON owned by the backend (job ids received, job in flight).
    """

    def __init__(self, path: Path, request_id: str) -> None:
        self.path = path
        self.request_id = request_id

    def load(self) -> tuple[np.ndarray | None, dict[str, Any]]:
        """Counts and state saved so far, or ``(None, {})`` when nothing was saved.

        Raises
        ------
        CorruptSampleError
            If the partial file exists but is unreadable or belongs to another request.
        """
        if not self.path.exists():
            return None, {}
        try:
            with np.load(self.path, allow_pickle=False) as archive:
                counts = archive["counts"]
                state = json.loads(str(archive["state"]))
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
            raise CorruptSampleError(f"{self.path}: unreadable partial results ({type(error).__name__}: {error}); "
                                     "delete it to restart the run") from None
        if state.get("request_id") != self.request_id or counts_sha256(counts) != state.get("counts_sha256"):
            raise CorruptSampleError(f"{self.path}: partial results do not match their request or checksum; "
                                     "delete it to restart the run")
        return counts, state

    def save(self, counts: np.ndarray, state: dict[str, Any]) -> None:
        """Atomically replace the partial file with ``counts`` and ``state``."""
        state = {**state, "request_id": self.request_id, "counts_sha256": counts_sha256(counts)}
        with atomic_path(self.path) as tmp:
            np.savez(tmp, counts=counts, state=np.array(json.dumps(state, sort_keys=True)))

    def discard(self) -> None:
        """Remove the partial file (after the complete set is stored)."""
        self.path.unlink(missing_ok=True)


class SampleStore:
    """A folder of sample sets addressed by :meth:`SampleRequest.request_id`.

    Parameters
    ----------
    root : path, optional
        The folder; defaults to :func:`default_store_root`. Created on first write.
    """

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root is not None else default_store_root()

    def __repr__(self) -> str:
        return f"SampleStore({str(self.root)!r})"

    def paths(self, request_id: str) -> tuple[Path, Path]:
        """The ``(.npz, .json)`` pair of a request id."""
        return self.root / f"{request_id}.npz", self.root / f"{request_id}.json"

    def __contains__(self, request_id: str) -> bool:
        return self.paths(request_id)[1].exists()

    def ids(self) -> list[str]:
        """Ids of every complete (sidecar-bearing) set, sorted."""
        if not self.root.is_dir():
            return []
        return sorted(path.stem for path in self.root.glob("*.json") if not path.name.startswith("."))

    def resolve(self, prefix: str) -> str:
        """The full id starting with ``prefix`` (ids are long; a unique prefix is enough).

        Raises
        ------
        UnknownSampleSetError
            (a :class:`KeyError`) If no stored id, or more than one, starts with ``prefix``.
        """
        matches = [request_id for request_id in self.ids() if request_id.startswith(prefix)]
        if len(matches) != 1:
            found = "no sample set" if not matches else f"{len(matches)} sample sets"
            raise UnknownSampleSetError(f"{found} in {self.root} with an id starting with {prefix!r}")
        return matches[0]

    def load(self, request_id: str) -> SampleSet:
        """Read and verify a stored set: its request must hash to ``request_id`` (the file name), its
        sidecar match its ``provenance_sha256`` and its counts their checksum (see
        :func:`read_sample_files` for the errors)."""
        return read_sample_files(*self.paths(request_id), request_id=request_id)

    def lock(self, request_id: str) -> FileLock:
        """The lock giving one writer at a time the right to create, resume or replace a set.

        A file lock on :meth:`lock_path`, so it holds across processes; one instance per path in a
        process, re-entrant within a thread (``get_or_sample`` holds it while ``save`` takes it again).
        """
        from filelock import FileLock

        self.root.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.lock_path(request_id).resolve()), is_singleton=True)

    def save(self, sample_set: SampleSet) -> Path:
        """Store a set under its request id (under the set's lock, so the pair of files always comes
        from one writer); returns the JSON sidecar's path."""
        npz_path, json_path = self.paths(sample_set.request_id)
        with self.lock(sample_set.request_id):
            write_sample_files(sample_set, npz_path, json_path)
        return json_path

    def lock_path(self, request_id: str) -> Path:
        """The lock file that serialises sampling of one request across processes."""
        return self.root / f".{request_id}.lock"

    def partial(self, request_id: str) -> PartialRun:
        """The partial-results file of a run in progress."""
        return PartialRun(self.root / f"{request_id}{_PARTIAL_SUFFIX}", request_id)

    def survey(self) -> tuple[list[StoredSetInfo], dict[str, str]]:
        """Summaries of every stored set whose sidecar verifies, and one problem per set whose does not.

        Only sidecars are read (:func:`read_sidecar`: request against the id, provenance against its
        checksum); :meth:`verify` also checks the counts.

        Returns
        -------
        infos : list of StoredSetInfo
            The good sets, sorted by id.
        problems : dict
            ``{sidecar file name: problem}`` for the others.
        """
        infos, problems = [], {}
        for request_id in self.ids():
            json_path = self.paths(request_id)[1]
            try:
                provenance = read_sidecar(json_path, request_id)
                request = provenance["request"]
                infos.append(StoredSetInfo(
                    request_id=request_id, backend=request["backend"],
                    n_samples=int(provenance["counts"]["shape"][0]), n_modes=len(request["input_state"]),
                    n_photons=sum(request["input_state"]), model=request["model"],
                    detection=request["detection"], finished_at=provenance.get("finished_at", "")))
            except CorruptSampleError as error:
                problems[json_path.name] = str(error)
            except (KeyError, TypeError, ValueError, IndexError) as error:
                problems[json_path.name] = f"{json_path}: unreadable provenance ({type(error).__name__}: {error})"
        return infos, problems

    def list(self) -> list[StoredSetInfo]:
        """Summaries of every stored set, from the sidecars (use :meth:`verify` to check the counts).

        Raises
        ------
        CorruptSampleError
            If a sidecar cannot be read or fails its checks (:meth:`survey` lists the good sets
            and reports the bad ones instead).
        """
        infos, problems = self.survey()
        if problems:
            raise CorruptSampleError(next(iter(problems.values())))
        return infos

    def verify(self) -> dict[str, list[str]]:
        """Check every file in the store; returns ``{file name: [problems]}``, empty when all is well.

        Each set must read back with a matching checksum, its request must hash to its file name,
        no counts file may lack its sidecar, and partial files must be readable.

        Raises
        ------
        FileNotFoundError
            If the store's folder does not exist (nothing was verified).
        """
        problems: dict[str, list[str]] = {}
        if not self.root.is_dir():
            raise FileNotFoundError(f"no sample store at {self.root} (nothing to verify)")
        for request_id in self.ids():
            name = f"{request_id}.json"
            try:
                sample_set = self.load(request_id)
                if (written := sample_set.provenance.get("format")) != FORMAT:
                    problems.setdefault(name, []).append(
                        f"format {written!r}, not this qlatent's {FORMAT!r}: written by another version, and no "
                        "request of this version addresses it (ids hash the format); delete both files")
                elif _json_matrix_modes(sample_set.provenance) > JSON_MATRIX_MAX_MODES:
                    problems.setdefault(name, []).append(
                        f"its {_json_matrix_modes(sample_set.provenance)}-mode matrix is kept as JSON, as before "
                        f"matrices of more than {JSON_MATRIX_MAX_MODES} modes went binary: no request of this "
                        "version addresses it (its id hashes the matrix); delete both files")
                elif (rehashed := sample_set.request.request_id()) != request_id:
                    problems.setdefault(name, []).append(
                        f"the rebuilt request does not hash to the file name (it hashes to {rehashed[:12]}...): "
                        f"{_EDITED}")
            except CorruptSampleError as error:
                problems.setdefault(name, []).append(str(error))
            except (KeyError, TypeError, ValueError) as error:
                problems.setdefault(name, []).append(f"invalid recorded request ({error})")
        for npz_path in sorted(self.root.glob("*.npz")):
            if npz_path.name.startswith("."):
                continue
            if npz_path.name.endswith(_PARTIAL_SUFFIX):
                request_id = npz_path.name[: -len(_PARTIAL_SUFFIX)]
                try:
                    self.partial(request_id).load()
                except CorruptSampleError as error:
                    problems.setdefault(npz_path.name, []).append(str(error))
            elif not npz_path.with_suffix(".json").exists():
                problems.setdefault(npz_path.name, []).append("counts file without its .json provenance")
        return problems

    def unsealed(self) -> list[str]:
        """Ids of sets whose sidecar predates ``provenance_sha256`` (readable; only their request and
        counts can be checked)."""
        unsealed = []
        for request_id in self.ids():
            try:
                provenance = json.loads(self.paths(request_id)[1].read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError):
                continue
            if isinstance(provenance, dict) and PROVENANCE_CHECKSUM not in provenance:
                unsealed.append(request_id)
        return unsealed


def get_or_sample(request: SampleRequest, store: SampleStore | str | os.PathLike[str] | None = None,
                  progress: bool = True, backend: PhotonicBackend | None = None,
                  executor: str | ExecutorSettings | None = None, *,
                  limits: SamplingLimits | None = None,
                  announce: Callable[[SamplingEstimate], None] | None = None) -> SampleSet:
    """Return the stored sample set for ``request``, sampling and storing it first if there is none.

    Notebooks call only this, so re-executing them replays stored samples bit-for-bit and never
    re-queries hardware. Local requests are drawn in seeded shards (:mod:`qlatent.qpu.shards`),
    in parallel on ``executor``, kept shard by shard so that an interrupted bank resumes. A file
    lock beside the set (:meth:`SampleStore.lock`) makes a second process asking for the same
    request wait for the first and then read its set, instead of sampling it again. Before
    sampling, the memory, time and remote jobs the request needs are estimated
    (:mod:`qlatent.qpu.limits`) and a request past ``limits`` is refused.

    Parameters
    ----------
    request : SampleRequest
        What to sample; its id is the address in the store.
    store : SampleStore or path, optional
        Defaults to ``SampleStore()`` (``$QLATENT_SAMPLES`` or ``cache_dir()/samples``).
    progress : bool
        Show a progress bar for long runs.
    backend : PhotonicBackend, optional
        A configured backend (e.g. a remote one with a token and URL); by default one is built from
        ``request.backend``. Its ``name`` must equal ``request.backend``.
    executor : {"serial", "local", "ray"} or ExecutorSettings, optional
        Where a local request's shards are drawn; None: ``$QLATENT_EXECUTOR`` for slow banks
        (see :func:`qlatent.qpu.shards.sample_in_shards`), else this process. The counts do not
        depend on it.
    limits : SamplingLimits, optional
        The most memory, time and remote jobs a new set may take (default: ``SamplingLimits()``);
        a stored set is always read, whatever its size.
    announce : callable, optional
        Called with the request's estimate once every check passed, just before a new set is
        sampled (not for a stored set); the command line prints it.

    Raises
    ------
    CorruptSampleError
        If the stored set exists but fails verification (it is never silently re-sampled over).
    ValueError
        If ``backend.name`` differs from ``request.backend``, or the backend's ``check(request)``
        refuses the request (the local backend: the sampler's own checks), before anything is
        written; or the stored set of a ``recorded:<shots file>`` request was taken from shots
        that have changed since (:func:`~qlatent.qpu.backends.recorded.check_replayed_source`).
    SampleSizeError
        If the request is estimated to exceed ``limits`` (before anything is sampled).
    QPUError
        If shards of a local request failed (the finished ones are kept).
    """
    from qlatent.qpu.backends import get_backend
    from qlatent.qpu.backends.local import LocalBackend
    from qlatent.qpu.limits import SamplingLimits, estimate_sampling

    if not isinstance(store, SampleStore):
        store = SampleStore(store)
    request_id = request.request_id()
    if request_id in store:
        return _replayed(request, store.load(request_id))
    if backend is None:
        backend = get_backend(request.backend, store=store)
    elif backend.name != request.backend:
        raise ValueError(f"backend {backend.name!r} cannot serve a request for {request.backend!r}")
    check = getattr(backend, "check", None)
    if callable(check):  # a request the backend refuses is refused before the store is touched
        check(request)
    estimate = estimate_sampling(request, backend)
    (limits or SamplingLimits()).check(estimate, request)  # a refusal leaves no lock file behind either
    with store.lock(request_id):
        try:
            if request_id in store:  # another process stored it while this one waited
                return _replayed(request, store.load(request_id))
            if announce is not None:
                announce(estimate)
            if isinstance(backend, LocalBackend):
                from qlatent.qpu.shards import sample_in_shards

                return sample_in_shards(request, store, executor=executor, progress=progress, backend=backend)
            checkpoint = store.partial(request_id)
            sample_set = backend.sample(request, checkpoint=checkpoint, progress=progress)
            store.save(sample_set)
            checkpoint.discard()
            return sample_set
        finally:
            # No lock file is left behind, whether the set was stored or the fetch failed. It is removed
            # while still locked: a process waiting on it then holds the lock of a file without a name,
            # which filelock detects (it re-checks the link count once locked) and locks a new file, so
            # no two processes ever hold the request at once (removed after the release, a waiter could
            # hold the old file while a newcomer locks a new one).
            store.lock_path(request_id).unlink(missing_ok=True)


def _replayed(request: SampleRequest, sample_set: SampleSet) -> SampleSet:
    """A stored set, once its recorded source, if any, is checked to be unchanged."""
    if request.backend.startswith("recorded:"):
        from qlatent.qpu.backends.recorded import check_replayed_source

        check_replayed_source(request, sample_set)
    return sample_set
