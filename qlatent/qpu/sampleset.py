"""What to sample (`SampleRequest`, the content address) and what came back (`SampleSet`, counts + provenance).

The open format of a sample set is two files side by side:

``<id>.npz``
    One array ``counts`` (``n_samples × n_modes``, unsigned integers: photons detected per mode per
    shot), written with :func:`numpy.savez` and readable without pickle; for a circuit of more than
    :data:`JSON_MATRIX_MAX_MODES` modes also ``unitary``, its ``complex128`` matrix.
``<id>.json``
    The provenance: the request (backend, circuit as a unitary -- JSON numbers, or for a large
    circuit the SHA-256 of the matrix in the ``.npz`` -- plus its description, input state,
    photon model and noise, detection, post-selection, seed), backend details (platform, job ids,
    the post-selection's acceptance), timestamps, software versions, ``counts.sha256``, the
    checksum of the counts array, and ``provenance_sha256``, the checksum of everything else in
    the sidecar (:func:`provenance_sha256`), so an edited timestamp or version is caught too.

``<id>`` is :meth:`SampleRequest.request_id`, the SHA-256 of the request's canonical JSON, so the same
request always maps to the same files; every read re-hashes the recorded request against it
(:func:`recorded_request_id`). Sidecars written before ``provenance_sha256`` existed stay readable:
their request and counts are still checked, the rest of the sidecar cannot be.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from qlatent.photonics.validation import complex_from_parts, validate_input_state, validate_transfer_matrix
from qlatent.provenance import package_versions

FORMAT = "qlatent.sampleset/2"  # 2: local banks are drawn in seeded shards (qlatent.qpu.shards)
#: Most shots a request may ask for: an array of them must be indexable (numpy indexes with int64).
MAX_SHOTS = int(np.iinfo(np.int64).max)
MODELS = ("indistinguishable", "distinguishable", "partial")
DETECTIONS = ("pnr", "threshold")
_REPORTED_PACKAGES = ("numpy", "numba", "perceval-quandela", "exqalibur")  # qlatent and python always


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace: equal objects give equal strings (the hashing form)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


#: The sidecar entry holding :func:`provenance_sha256` (absent from sidecars written before it existed).
PROVENANCE_CHECKSUM = "provenance_sha256"


def provenance_sha256(provenance: Mapping[str, Any]) -> str:
    """SHA-256 of a sidecar's canonical JSON without its own ``provenance_sha256`` entry.

    It covers the request, its id, the backend details, the timestamps, the software versions and
    the counts' checksum. NaN and infinities are hashed as JSON's ``NaN``/``Infinity`` tokens.
    """
    body = {key: value for key, value in provenance.items() if key != PROVENANCE_CHECKSUM}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def recorded_request_id(provenance: Mapping[str, Any]) -> str:
    """The content address a sidecar's recorded request hashes to, in the format the sidecar names.

    Hashes the recorded JSON itself (``{"format": ..., **request}``, canonical), exactly as
    :meth:`SampleRequest.request_id` hashes a request, so no field is rebuilt or rounded.

    Raises
    ------
    KeyError, TypeError, ValueError
        If the sidecar has no request object or it cannot be hashed.
    """
    request = provenance["request"]
    if not isinstance(request, Mapping):
        raise TypeError(f"the recorded request is {type(request).__name__}, not an object")
    return hashlib.sha256(canonical_json({"format": provenance.get("format"), **request}).encode()).hexdigest()


def array_sha256(array: np.ndarray) -> str:
    """SHA-256 of an array: its dtype, shape and C-order bytes (the canonical bytes of counts and large matrices)."""
    array = np.ascontiguousarray(array)
    digest = hashlib.sha256(f"{array.dtype.str}{array.shape}".encode())
    digest.update(array.reshape(-1).view(np.uint8))  # the same bytes as tobytes(), without a copy
    return digest.hexdigest()


def counts_sha256(counts: np.ndarray) -> str:
    """SHA-256 of a counts array (:func:`array_sha256`)."""
    return array_sha256(counts)


def counts_dtype(n_photons: int) -> np.dtype:
    """The smallest unsigned dtype holding up to ``n_photons`` photons in one mode."""
    return np.dtype(np.uint8) if n_photons <= np.iinfo(np.uint8).max else np.dtype(np.uint16)


def utc_now() -> str:
    """The current time as an ISO 8601 UTC string (the provenance timestamp format)."""
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def software_versions() -> dict[str, str | None]:
    """Versions of Python and of the packages that produce or shape the samples."""
    return package_versions(_REPORTED_PACKAGES)


def postselect(counts: np.ndarray, min_detected: int) -> np.ndarray:
    """The shots (rows) of ``counts`` with at least ``min_detected`` detected photons, in order."""
    counts = np.asarray(counts)
    return counts if min_detected <= 0 else counts[counts.sum(axis=1, dtype=np.int64) >= min_detected]


def postselection_report(min_detected: int, n_shots: int, n_passed: int) -> dict[str, Any]:
    """The provenance entry of a post-selection: threshold, shots examined and passed, acceptance rate.

    ``acceptance = n_passed / n_shots`` (None when no shot was examined, to stay valid JSON).
    """
    return {"min_detected": int(min_detected), "n_shots": int(n_shots), "n_passed": int(n_passed),
            "acceptance": n_passed / n_shots if n_shots else None}


def _matrix_to_json(matrix: np.ndarray) -> dict[str, list[list[float]]]:
    return {"real": matrix.real.tolist(), "imag": matrix.imag.tolist()}


def _matrix_from_json(data: Mapping[str, Any]) -> np.ndarray:
    try:
        real = np.asarray(data["real"], dtype=np.float64)
        imag = np.asarray(data["imag"], dtype=np.float64)
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"circuit unitary must be {{'real': [[...]], 'imag': [[...]]}}: {error}") from None
    if real.shape != imag.shape:
        raise ValueError(f"circuit unitary has real part {real.shape} but imaginary part {imag.shape}")
    # Exact: the matrix goes back to JSON and is hashed into the request id (signed zeros count).
    return complex_from_parts(real, imag)


#: Largest circuit (in modes) whose matrix a request keeps as JSON numbers, hashed into its id; a
#: larger one is kept in binary beside the counts and the request records its SHA-256
#: (:func:`array_sha256`) instead: M = 512 as JSON took an 18 MB sidecar and seconds to hash. The
#: book's circuits have at most 48 modes, so their requests keep the ids they always had.
JSON_MATRIX_MAX_MODES = 64
_BINARY_MATRIX = {"dtype": np.dtype(np.complex128).str, "layout": "C"}


def is_binary_circuit(circuit: Mapping[str, Any]) -> bool:
    """Whether a request's circuit dict keeps its matrix in binary (more than :data:`JSON_MATRIX_MAX_MODES` modes)."""
    unitary = circuit.get("unitary")
    return isinstance(unitary, Mapping) and "shape" in unitary and "real" not in unitary


def _normalise_circuit(circuit: Any) -> tuple[dict[str, Any], np.ndarray]:
    """The request's circuit dict for an interferometer, a matrix or a circuit dict, and its checked matrix.

    A circuit dict holds its matrix as JSON (``{"real": ..., "imag": ...}``) or, for one of more
    than :data:`JSON_MATRIX_MAX_MODES` modes, as an array in place of the binary form's summary.
    """
    if isinstance(circuit, Mapping):
        if "unitary" not in circuit:
            raise ValueError("a circuit given as a dict needs a 'unitary' entry ({'real': ..., 'imag': ...})")
        if isinstance(circuit["unitary"], np.ndarray):
            matrix = circuit["unitary"]
        elif is_binary_circuit(circuit):
            raise ValueError(f"the circuit keeps its {circuit['unitary']['shape']} matrix in binary: pass the matrix "
                             "as its 'unitary' (a stored set's comes with its counts)")
        else:
            matrix = _matrix_from_json(circuit["unitary"])
        description = dict(circuit.get("description", {"kind": "matrix"}))
    elif hasattr(circuit, "unitary") and hasattr(circuit, "to_dict"):
        matrix = np.asarray(circuit.unitary)
        description = {key: value for key, value in circuit.to_dict().items() if key != "unitary"}
        if hasattr(circuit, "fingerprint"):
            description["fingerprint"] = circuit.fingerprint()
    else:
        matrix = np.asarray(circuit)
        description = {"kind": "matrix"}
    matrix = validate_transfer_matrix(matrix, allow_subunitary=True).copy()
    matrix.setflags(write=False)
    try:
        description = json.loads(canonical_json(description))
    except (TypeError, ValueError) as error:
        raise TypeError(f"the circuit description must be JSON-serialisable: {error}") from None
    if matrix.shape[0] > JSON_MATRIX_MAX_MODES:
        return {"unitary": {**_BINARY_MATRIX, "shape": list(matrix.shape)}, "description": description,
                "sha256": array_sha256(matrix)}, matrix
    unitary = _matrix_to_json(matrix)
    return {"unitary": unitary, "description": description,
            "sha256": hashlib.sha256(canonical_json(unitary).encode()).hexdigest()}, matrix


def _check_fraction(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number in [0, 1], got {value!r}")
    value = float(value) + 0.0  # -0.0 is 0.0: one physical request, one content address
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {value}")
    return value


@dataclasses.dataclass(frozen=True)
class SampleRequest:
    """Everything that determines a set of photon-count samples; its hash is the store's address.

    Parameters
    ----------
    backend : str
        ``"local"`` (our sampler), ``"perceval:<Backend>"`` (e.g. ``"perceval:SLOS"``),
        ``"remote:<platform>"`` (e.g. ``"remote:sim:slos"``) or ``"recorded:<path-or-id>"``.
    circuit : Interferometer, array_like or dict
        An object with ``unitary`` and ``to_dict()`` (a :mod:`qlatent.photonics.interferometers`
        interferometer), an ``m × m`` (sub-)unitary transfer matrix, or a circuit dict as stored.
        Kept as the matrix (exact JSON floats), its description and its SHA-256.
    input_state : sequence of int
        Photons per input mode.
    n_samples : int
        Number of shots (rows of ``counts``); every shot is kept, including those with lost photons.
    model : {"indistinguishable", "distinguishable", "partial"}
        Photon model; ``"partial"`` reads ``indistinguishability``.
    indistinguishability, transmission, brightness : float
        Noise parameters in [0, 1]: photon indistinguishability (``"partial"`` only), uniform
        transmission of the interferometer plus detection, and source brightness (probability that
        a photon is emitted per pulse).
    detection : {"pnr", "threshold"}
        Photon-number-resolving or threshold (click / no click) detectors.
    seed : int or None
        Seed of the simulator's random generator; None for hardware or unseeded runs.
    min_detected : int
        Post-selection: keep only shots with at least this many detected photons (clicks, with
        threshold detectors); ``n_samples`` counts the kept shots, and the backend reports the
        acceptance rate in the provenance (``backend.postselection``). 0 (default) keeps every
        shot and is left out of :meth:`to_dict`, so requests made before the field existed keep
        their ids.
    """

    backend: str
    circuit: Any
    input_state: tuple[int, ...]
    n_samples: int
    model: str = "indistinguishable"
    indistinguishability: float = 1.0
    transmission: float = 1.0
    brightness: float = 1.0
    detection: str = "pnr"
    seed: int | None = None
    min_detected: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.backend, str) or not self.backend:
            raise TypeError(f"backend must be a non-empty string, got {self.backend!r}")
        circuit, matrix = _normalise_circuit(self.circuit)
        n_modes = matrix.shape[0]
        state = tuple(int(k) for k in validate_input_state(self.input_state, n_modes))
        if isinstance(self.n_samples, bool) or not isinstance(self.n_samples, (int, np.integer)):
            raise TypeError(f"n_samples must be an integer, got {self.n_samples!r}")
        if not 1 <= self.n_samples <= MAX_SHOTS:
            raise ValueError(f"n_samples must be positive and at most {MAX_SHOTS:,} (an array index), got "
                             f"{self.n_samples}")
        if self.model not in MODELS:
            raise ValueError(f"unknown photon model {self.model!r}; choose one of {', '.join(MODELS)}")
        if self.detection not in DETECTIONS:
            raise ValueError(f"unknown detection {self.detection!r}; choose one of {', '.join(DETECTIONS)}")
        indistinguishability = _check_fraction("indistinguishability", self.indistinguishability)
        if self.model == "indistinguishable" and indistinguishability != 1.0:
            raise ValueError(f"model 'indistinguishable' needs indistinguishability 1, got {indistinguishability}; "
                             "use model='partial' for partially distinguishable photons")
        if self.model == "distinguishable":
            if indistinguishability not in (0.0, 1.0):
                raise ValueError(f"model 'distinguishable' takes no indistinguishability, got {indistinguishability}; "
                                 "use model='partial'")
            indistinguishability = 0.0
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer))
                                      or self.seed < 0):
            raise TypeError(f"seed must be a non-negative integer or None (a Generator has no content address), "
                            f"got {self.seed!r}")
        if isinstance(self.min_detected, bool) or not isinstance(self.min_detected, (int, np.integer)) \
                or self.min_detected < 0:
            raise ValueError(f"min_detected must be a non-negative integer, got {self.min_detected!r}")
        if self.min_detected > sum(state):
            raise ValueError(f"post-selection threshold min_detected={self.min_detected} exceeds the {sum(state)} "
                             "photons sent in: no shot could pass")
        set_field = object.__setattr__
        set_field(self, "min_detected", int(self.min_detected))
        set_field(self, "circuit", circuit)
        set_field(self, "_matrix", matrix)  # read-only; not a field: the circuit dict (hashed) identifies it
        set_field(self, "input_state", state)
        set_field(self, "n_samples", int(self.n_samples))
        set_field(self, "indistinguishability", indistinguishability)
        set_field(self, "transmission", _check_fraction("transmission", self.transmission))
        set_field(self, "brightness", _check_fraction("brightness", self.brightness))
        set_field(self, "seed", None if self.seed is None else int(self.seed))

    def __hash__(self) -> int:
        return hash(self.request_id())

    @property
    def unitary(self) -> np.ndarray:
        """The transfer matrix as a ``complex128`` array (rows: output modes, columns: input modes; a copy)."""
        return self._matrix.copy()

    @property
    def n_modes(self) -> int:
        """Number of modes ``m``."""
        return len(self.input_state)

    @property
    def n_photons(self) -> int:
        """Number of photons sent in."""
        return sum(self.input_state)

    def with_backend(self, backend: str) -> SampleRequest:
        """The same experiment on another backend (its content address differs)."""
        return dataclasses.replace(self, backend=backend, circuit={**self.circuit, "unitary": self._matrix})

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict from which :meth:`from_dict` rebuilds an equal request.

        ``min_detected`` appears only when it is not 0 (see the class notes).
        """
        data = {"backend": self.backend, "circuit": self.circuit, "input_state": list(self.input_state),
                "n_samples": self.n_samples, "model": self.model,
                "indistinguishability": self.indistinguishability, "transmission": self.transmission,
                "brightness": self.brightness, "detection": self.detection, "seed": self.seed}
        if self.min_detected:
            data["min_detected"] = self.min_detected
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], unitary: np.ndarray | None = None) -> SampleRequest:
        """Rebuild a request from :meth:`to_dict`'s output.

        ``unitary``: the matrix of a circuit kept in binary (:func:`is_binary_circuit`; a stored
        set's comes with its counts), checked against the SHA-256 the dict records.

        Raises
        ------
        ValueError
            On unknown fields, or a binary circuit without its matrix or with another matrix.
        """
        fields = {field.name for field in dataclasses.fields(cls)}
        unknown = set(data) - fields
        if unknown:
            raise ValueError(f"unknown request fields: {', '.join(sorted(unknown))}")
        circuit = data.get("circuit")
        if unitary is not None and isinstance(circuit, Mapping) and is_binary_circuit(circuit):
            if array_sha256(np.asarray(unitary)) != circuit.get("sha256"):
                raise ValueError("the matrix does not match the SHA-256 its circuit records")
            data = {**data, "circuit": {**circuit, "unitary": np.asarray(unitary)}}
        return cls(**data)

    def request_id(self) -> str:
        """SHA-256 hex digest of the request's canonical JSON: the content address in the store.

        Computed once per request (it is frozen): the JSON of a large circuit's matrix takes
        seconds, and a fetch asks for the id many times.
        """
        request_id = self.__dict__.get("_request_id")
        if request_id is None:
            request_id = hashlib.sha256(canonical_json({"format": FORMAT, **self.to_dict()}).encode()).hexdigest()
            object.__setattr__(self, "_request_id", request_id)
        return request_id


@dataclasses.dataclass(frozen=True, eq=False)
class SampleSet:
    """Photon counts (``n_samples × n_modes``) with the provenance that produced them.

    ``counts`` is read-only: a stored set is shared, never modified in place. ``unitary`` is the
    circuit's matrix where the request keeps it in binary (more than
    :data:`JSON_MATRIX_MAX_MODES` modes, :func:`is_binary_circuit`; stored beside the counts),
    else None (the provenance holds it).
    """

    counts: np.ndarray
    provenance: dict[str, Any]
    unitary: np.ndarray | None = None

    def __post_init__(self) -> None:
        counts = np.asarray(self.counts)
        if counts.ndim != 2 or counts.dtype.kind != "u":
            raise ValueError(f"counts must be a 2-d unsigned integer array, got {counts.dtype} {counts.shape}")
        for name, array in (("counts", counts), ("unitary", self.unitary)):
            if array is not None:
                array = array.copy() if array.flags.writeable else array
                array.setflags(write=False)
                object.__setattr__(self, name, array)

    @classmethod
    def create(cls, request: SampleRequest, counts: np.ndarray, *, backend_details: Mapping[str, Any],
               started_at: str) -> SampleSet:
        """Wrap freshly sampled ``counts`` with the full provenance of ``request``.

        Raises
        ------
        ValueError
            If ``counts`` does not have ``request.n_samples`` rows of ``request.n_modes`` entries.
        """
        counts = np.asarray(counts)
        expected = (request.n_samples, request.n_modes)
        if counts.shape != expected:
            raise ValueError(f"backend returned counts of shape {counts.shape}, expected {expected}")
        if counts.size and (counts.min() < 0 or counts.max() > request.n_photons):
            raise ValueError(f"backend returned counts outside [0, {request.n_photons}]")
        if request.min_detected and counts.size and counts.sum(axis=1, dtype=np.int64).min() < request.min_detected:
            raise ValueError(f"backend returned shots with fewer than min_detected={request.min_detected} "
                             "detected photons")
        counts = counts.astype(counts_dtype(request.n_photons))  # our own copy, made read-only below
        counts.setflags(write=False)
        provenance: dict[str, Any] = {
            "format": FORMAT,
            "request_id": request.request_id(),
            "request": request.to_dict(),
            "backend": dict(backend_details),
            "started_at": started_at,
            "finished_at": utc_now(),
            "software": software_versions(),
            "counts": {"sha256": counts_sha256(counts), "dtype": counts.dtype.str, "shape": list(counts.shape)},
        }
        # As the sidecar will hold it (tuples as lists, odd objects as text), so the checksum reads back equal.
        provenance = json.loads(json.dumps(provenance, default=str))
        provenance[PROVENANCE_CHECKSUM] = provenance_sha256(provenance)
        return cls(counts, provenance, request._matrix if is_binary_circuit(request.circuit) else None)

    @property
    def request_id(self) -> str:
        """The content address of the request that produced these counts."""
        return self.provenance["request_id"]

    @property
    def request(self) -> SampleRequest:
        """The request, rebuilt from the provenance."""
        return SampleRequest.from_dict(self.provenance["request"], unitary=self.unitary)

    @property
    def n_samples(self) -> int:
        """Number of shots (rows)."""
        return self.counts.shape[0]

    @property
    def n_modes(self) -> int:
        """Number of modes (columns)."""
        return self.counts.shape[1]
