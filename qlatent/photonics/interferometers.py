"""Interferometers: a complex transfer matrix together with a JSON description that rebuilds it.

Every construction in :mod:`qlatent.photonics` (Haar-random, Clements mesh, time-bin loops, a
user-supplied matrix) returns an :class:`Interferometer`, so samplers take one kind of object and
a run's manifest can record exactly which interferometer produced its latents.

References
----------
F. Mezzadri, "How to generate random matrices from the classical compact groups", Notices of the
AMS 54, 592 (2007): QR of a complex Ginibre matrix, then the phase fix of R's diagonal.
"""

from __future__ import annotations

import hashlib
import json
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from qlatent.photonics.validation import complex_from_parts, validate_transfer_matrix

KINDS = ("haar", "clements", "timebin", "matrix")
"""Names of the constructions an :class:`Interferometer` can describe."""

REBUILD_TOLERANCE = 1e-12
"""Largest entry-wise difference allowed between a stored unitary and the one rebuilt from its parameters."""

FINGERPRINT_DECIMALS = 12
"""Decimals the unitary is rounded to before hashing in :meth:`Interferometer.fingerprint`."""


def validate_n_modes(n_modes: Any, *, minimum: int = 1) -> int:
    """Return ``n_modes`` as an ``int`` after checking it is a whole number of modes ``>= minimum``.

    Raises
    ------
    ValueError
        If ``n_modes`` is not an integer (booleans and floats are refused, even ``3.0``) or is
        smaller than ``minimum``.
    """
    if isinstance(n_modes, bool) or not isinstance(n_modes, numbers.Integral):
        raise ValueError(f"n_modes must be an integer, got {n_modes!r} ({type(n_modes).__name__})")
    value = int(n_modes)
    if value < minimum:
        raise ValueError(f"n_modes must be at least {minimum}, got {value}")
    return value


def real_vector(values: Any, name: str, length: int) -> np.ndarray:
    """Return ``values`` as a finite one-dimensional ``float64`` array of the given length.

    Raises
    ------
    ValueError
        If the values are not a one-dimensional sequence of ``length`` finite real numbers; the
        message names ``name``, the expected and the given count.
    """
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a one-dimensional sequence of angles, got shape {array.shape}")
    if array.shape[0] != length:
        raise ValueError(f"{name}: expected {length} values, got {array.shape[0]}")
    if array.size and array.dtype.kind not in "iuf":
        raise ValueError(f"{name} must hold real numbers, got dtype {array.dtype}")
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def matrix_to_pairs(matrix: np.ndarray) -> list[list[list[float]]]:
    """Write a complex matrix as nested ``[re, im]`` lists (JSON-serialisable, exact in float64)."""
    array = np.asarray(matrix, dtype=np.complex128)
    return [[[float(z.real), float(z.imag)] for z in row] for row in array]


def pairs_to_matrix(pairs: Sequence[Sequence[Sequence[float]]]) -> np.ndarray:
    """Read a complex matrix written by :func:`matrix_to_pairs`.

    Raises
    ------
    ValueError
        If ``pairs`` is not an ``m x m x 2`` nest of real numbers.
    """
    array = np.asarray(pairs, dtype=np.float64)
    if array.ndim != 3 or array.shape[2] != 2:
        raise ValueError(f"matrix entries must be given as [re, im] pairs (shape m x m x 2), got shape {array.shape}")
    return complex_from_parts(array[..., 0], array[..., 1])  # exact, signed zeros included


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


@dataclass(frozen=True, eq=False)
class Interferometer:
    """A linear-optical interferometer: its transfer matrix and how it was made.

    ``unitary[j, k]`` is the amplitude for a photon entering mode ``k`` to leave in mode ``j``.
    For ``kind="matrix"`` built with ``allow_subunitary=True`` the matrix is a lossy (sub-unitary)
    transfer matrix; in every other case it is unitary within
    :data:`qlatent.photonics.validation.UNITARITY_TOLERANCE`.

    Parameters
    ----------
    unitary
        Complex ``m x m`` transfer matrix; stored as a read-only ``complex128`` copy.
    kind
        One of :data:`KINDS`.
    parameters
        JSON-serialisable description from which :meth:`from_dict` rebuilds ``unitary`` exactly:
        ``{"n_modes", "seed"}`` or ``{"n_modes", "bit_generator_state"}`` for ``"haar"``;
        ``{"n_modes", "thetas", "phis", "output_phases"}`` for ``"clements"``;
        ``{"n_modes", "loop_lengths", "thetas", "phis"}`` (and ``"convention"`` when not the
        default) for ``"timebin"``;
        ``{"matrix", "allow_subunitary"}`` (entries as ``[re, im]``) for ``"matrix"``.

    Raises
    ------
    ValueError
        If ``kind`` is unknown, ``parameters`` is not a JSON-serialisable dict, or the matrix is not
        a valid transfer matrix.

    Notes
    -----
    Instances compare by identity; compare :meth:`fingerprint` values to test equality of content.
    """

    unitary: np.ndarray
    kind: str
    parameters: dict

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown interferometer kind {self.kind!r}; expected one of {KINDS}")
        if not isinstance(self.parameters, dict):
            raise ValueError(f"parameters must be a dict, got {type(self.parameters).__name__}")
        try:
            parameters = json.loads(_canonical_json(self.parameters))
        except (TypeError, ValueError) as error:
            raise ValueError(f"parameters must be JSON-serialisable: {error}") from error
        allow_subunitary = self.kind == "matrix" and bool(parameters.get("allow_subunitary", False))
        matrix = validate_transfer_matrix(self.unitary, allow_subunitary=allow_subunitary).copy()
        matrix.setflags(write=False)
        object.__setattr__(self, "unitary", matrix)
        object.__setattr__(self, "parameters", parameters)

    @property
    def n_modes(self) -> int:
        """Number of modes ``m``."""
        return int(self.unitary.shape[0])

    def __repr__(self) -> str:
        return f"Interferometer(kind={self.kind!r}, n_modes={self.n_modes}, fingerprint={self.fingerprint()[:12]!r})"

    def to_dict(self) -> dict:
        """Return a JSON-serialisable dict: kind, n_modes, parameters, and the matrix as ``[re, im]`` entries."""
        return {
            "kind": self.kind,
            "n_modes": self.n_modes,
            "parameters": json.loads(_canonical_json(self.parameters)),
            "unitary": matrix_to_pairs(self.unitary),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Interferometer:
        """Rebuild an interferometer from :meth:`to_dict` output by re-running its construction.

        When ``data`` carries ``"unitary"``, the rebuilt matrix must match it entry-wise within
        :data:`REBUILD_TOLERANCE` (1e-12); when it carries ``"n_modes"``, the sizes must agree.

        Raises
        ------
        ValueError
            If the kind is unknown, a parameter is missing or invalid, or the rebuilt matrix does
            not match the stored one.
        """
        if not isinstance(data, dict):
            raise ValueError(f"expected a dict from Interferometer.to_dict, got {type(data).__name__}")
        for key in ("kind", "parameters"):
            if key not in data:
                raise ValueError(f"interferometer description lacks {key!r}")
        kind = data["kind"]
        parameters = data["parameters"]
        if not isinstance(parameters, dict):
            raise ValueError(f"parameters must be a dict, got {type(parameters).__name__}")
        try:
            rebuilt = _rebuild(kind, parameters)
        except KeyError as error:
            raise ValueError(f"{kind!r} interferometer description lacks parameter {error.args[0]!r}") from error
        if "n_modes" in data and data["n_modes"] != rebuilt.n_modes:
            raise ValueError(
                f"description says n_modes={data['n_modes']} but its parameters build {rebuilt.n_modes} modes"
            )
        if "unitary" in data:
            stored = pairs_to_matrix(data["unitary"])
            if stored.shape != rebuilt.unitary.shape:
                raise ValueError(f"stored unitary has shape {stored.shape}, rebuilt one {rebuilt.unitary.shape}")
            deviation = float(np.max(np.abs(stored - rebuilt.unitary)))
            if deviation > REBUILD_TOLERANCE:
                raise ValueError(
                    f"rebuilt unitary differs from the stored one by {deviation:.3g} > {REBUILD_TOLERANCE:g}"
                )
        return rebuilt

    def fingerprint(self) -> str:
        """Return the SHA-256 hex digest of the kind and the matrix rounded to 12 decimals.

        Used as a cache key: two interferometers of the same kind whose matrices agree to 12
        decimals share it (matrices that differ only near a rounding boundary may not).
        """
        real = np.round(self.unitary.real, FINGERPRINT_DECIMALS) + 0.0
        imag = np.round(self.unitary.imag, FINGERPRINT_DECIMALS) + 0.0
        payload = {
            "kind": self.kind,
            "shape": list(self.unitary.shape),
            "real": real.tolist(),
            "imag": imag.tolist(),
        }
        return hashlib.sha256(_canonical_json(payload).encode("ascii")).hexdigest()


def _rebuild(kind: str, parameters: dict) -> Interferometer:
    # The mesh and loop modules import Interferometer from here, so they are imported on use.
    if kind == "haar":
        if "seed" in parameters:
            return haar_interferometer(parameters["n_modes"], parameters["seed"])
        return haar_interferometer(parameters["n_modes"], _generator_from_state(parameters["bit_generator_state"]))
    if kind == "clements":
        from qlatent.photonics.clements import clements_interferometer

        return clements_interferometer(
            parameters["n_modes"], parameters["thetas"], parameters["phis"], parameters["output_phases"]
        )
    if kind == "timebin":
        from qlatent.photonics.timebin import timebin_interferometer

        return timebin_interferometer(
            parameters["n_modes"], parameters["loop_lengths"], parameters["thetas"], parameters["phis"],
            convention=parameters.get("convention", "qlatent"),
        )
    if kind == "matrix":
        return from_matrix(
            pairs_to_matrix(parameters["matrix"]), allow_subunitary=bool(parameters["allow_subunitary"])
        )
    raise ValueError(f"unknown interferometer kind {kind!r}; expected one of {KINDS}")


def _generator_from_state(state: dict) -> np.random.Generator:
    if not isinstance(state, dict) or "bit_generator" not in state:
        raise ValueError("bit_generator_state must be a dict written by numpy's BitGenerator.state")
    name = state["bit_generator"]
    bit_generator_class = getattr(np.random, str(name), None)
    if not (isinstance(bit_generator_class, type) and issubclass(bit_generator_class, np.random.BitGenerator)):
        raise ValueError(f"unknown numpy bit generator {name!r}")
    bit_generator = bit_generator_class()
    bit_generator.state = state
    return np.random.Generator(bit_generator)


def validate_seed(seed: Any) -> None:
    """Check ``seed`` is a non-negative int, a ``numpy.random.Generator`` or ``None`` (else ``ValueError``)."""
    if seed is None or isinstance(seed, np.random.Generator):
        return
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ValueError(f"seed must be an int, a numpy Generator or None, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")


def _haar_from_generator(n_modes: int, rng: np.random.Generator) -> np.ndarray:
    ginibre = (rng.standard_normal((n_modes, n_modes)) + 1j * rng.standard_normal((n_modes, n_modes))) / np.sqrt(2.0)
    q, r = np.linalg.qr(ginibre)
    diagonal = np.diagonal(r)
    return q * (diagonal / np.abs(diagonal))


def haar_unitary(n_modes: int, seed: int | np.random.Generator | None = None) -> np.ndarray:
    """Draw an ``m x m`` unitary from the Haar measure on U(m).

    QR-decompose a complex Ginibre matrix (i.i.d. standard complex normal entries) and multiply
    column ``k`` of Q by ``r_kk / |r_kk|``: without this phase fix Q is not Haar-distributed
    (Mezzadri 2007). Draws ``2 m^2`` standard normals from the generator: the real
    parts first, then the imaginary parts.

    Parameters
    ----------
    n_modes
        Size ``m >= 1``.
    seed
        Non-negative int, a ``numpy.random.Generator`` (advanced in place) or ``None`` (fresh entropy).

    Raises
    ------
    ValueError
        If ``n_modes`` is not an integer ``>= 1`` or ``seed`` has the wrong type or is negative.
    """
    n_modes = validate_n_modes(n_modes)
    validate_seed(seed)
    return _haar_from_generator(n_modes, np.random.default_rng(seed))


def haar_interferometer(n_modes: int, seed: int | np.random.Generator | None = None) -> Interferometer:
    """Return a Haar-random :class:`Interferometer`, equal to :func:`haar_unitary` for the same seed.

    The description records ``n_modes`` and the int ``seed``; for a Generator or ``None`` it records
    the bit generator's state before the draw, so :meth:`Interferometer.from_dict` rebuilds the
    same matrix either way.

    Raises
    ------
    ValueError
        As :func:`haar_unitary`.
    """
    n_modes = validate_n_modes(n_modes)
    validate_seed(seed)
    if seed is None or isinstance(seed, np.random.Generator):
        rng = np.random.default_rng(seed)
        parameters = {"n_modes": n_modes, "bit_generator_state": rng.bit_generator.state}
    else:
        rng = np.random.default_rng(int(seed))
        parameters = {"n_modes": n_modes, "seed": int(seed)}
    return Interferometer(unitary=_haar_from_generator(n_modes, rng), kind="haar", parameters=parameters)


def from_matrix(
    matrix: np.ndarray | Sequence[Sequence[complex]], *, allow_subunitary: bool = False
) -> Interferometer:
    """Wrap a user-supplied transfer matrix after validating it.

    Parameters
    ----------
    matrix
        Square complex matrix, ``matrix[j, k]`` = amplitude from input ``k`` to output ``j``.
    allow_subunitary
        Accept a lossy matrix (all singular values ``<= 1``) instead of requiring a unitary.

    Raises
    ------
    ValueError
        If the matrix is not square, is empty, holds NaN/inf, or is not (sub-)unitary within 1e-8
        (see :func:`qlatent.photonics.validation.validate_transfer_matrix`).
    """
    array = validate_transfer_matrix(matrix, allow_subunitary=allow_subunitary)
    parameters = {"matrix": matrix_to_pairs(array), "allow_subunitary": bool(allow_subunitary)}
    return Interferometer(unitary=array, kind="matrix", parameters=parameters)
