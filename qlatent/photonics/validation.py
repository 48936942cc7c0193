"""Checks on user-supplied transfer matrices and Fock input states, with errors that name the problem."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

UNITARITY_TOLERANCE = 1e-8
"""The one tolerance that decides "unitary": ``max |U†U - I|`` at most this. Matrices within it are
accepted as (and, where they are used, projected onto) unitaries; a sub-unitary matrix beyond it is
lossy. :func:`qlatent.photonics.models.is_lossless` uses the same value."""


def complex_from_parts(real: np.ndarray | Sequence, imag: np.ndarray | Sequence) -> np.ndarray:
    """Assemble a ``complex128`` array from its real and imaginary parts, bit for bit.

    ``real + 1j * imag`` is not exact: the product ``1j * imag`` turns an imaginary ``-0.0`` into
    ``+0.0``, so a matrix written to JSON and read back would print (and hash) differently. This
    copies both parts into place instead, keeping every bit, signed zeros included.

    Raises
    ------
    ValueError
        If the parts are not real numbers or their shapes differ.
    """
    real = np.asarray(real, dtype=np.float64)
    imag = np.asarray(imag, dtype=np.float64)
    if real.shape != imag.shape:
        raise ValueError(f"real part has shape {real.shape} but imaginary part {imag.shape}")
    array = np.empty(real.shape, dtype=np.complex128)
    array.real = real
    array.imag = imag
    return array


def validate_transfer_matrix(
    matrix: np.ndarray | Sequence[Sequence[complex]],
    *,
    allow_subunitary: bool = False,
    tolerance: float = UNITARITY_TOLERANCE,
    project: bool = False,
) -> np.ndarray:
    """Return ``matrix`` as a C-contiguous ``complex128`` array after checking it is a valid interferometer.

    A lossless interferometer is a unitary ``U`` (``U†U = I``). With ``allow_subunitary=True`` a
    lossy one is accepted too: ``T†T ≤ I``, i.e. every singular value of ``T`` is at most one.
    A matrix within ``tolerance`` of unitary is accepted as unitary either way, after one matrix
    product; only a lossy one is decomposed (one SVD, shared with the projection), so checking a
    large unitary is cheap.

    With ``project=True`` (what the sampler, the exact probabilities and the mesh decomposition
    use) the matrix returned is the one they compute with: a matrix within ``tolerance`` of
    unitary -- with or without ``allow_subunitary`` -- is replaced by the nearest unitary (its
    polar factor ``W V†`` from the SVD ``W S V†``), so a unitary rounded to a few decimals is
    treated as lossless and its probabilities sum to one; a lossy matrix has its singular values
    above one (allowed by ``tolerance``) clipped to one. Without it the matrix is returned as given.

    Raises
    ------
    ValueError
        If the matrix is not two-dimensional and square, is empty, holds NaN or infinite entries,
        or is not (sub-)unitary within ``tolerance``.
    """
    array = np.asarray(matrix)
    if array.ndim != 2 or array.shape[0] != array.shape[1]:
        raise ValueError(f"transfer matrix must be square (m x m), got shape {array.shape}")
    if array.shape[0] == 0:
        raise ValueError("transfer matrix must have at least one mode, got shape (0, 0)")
    if not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"transfer matrix must be numeric, got dtype {array.dtype}")
    array = np.ascontiguousarray(array, dtype=np.complex128)
    if not np.all(np.isfinite(array)):
        raise ValueError("transfer matrix contains NaN or infinite entries")
    deviation = unitarity_deviation(array)  # one product: a unitary needs no decomposition to be accepted
    if deviation <= tolerance:
        return _projected(array, deviation, tolerance) if project else array
    if not allow_subunitary:
        raise ValueError(
            f"transfer matrix is not unitary: max |U†U - I| = {deviation:.3g} > {tolerance:g} "
            "(pass allow_subunitary=True for a lossy interferometer)"
        )
    decomposition = np.linalg.svd(array) if project else None  # the projection's SVD also gives the check
    largest = float(decomposition[1][0]) if decomposition else float(np.linalg.norm(array, ord=2))
    if largest > 1.0 + tolerance:
        raise ValueError(
            f"transfer matrix is not sub-unitary: largest singular value {largest:.12g} > 1 "
            f"(tolerance {tolerance:g})"
        )
    return _projected(array, deviation, tolerance, decomposition) if project else array


def unitarity_deviation(matrix: np.ndarray) -> float:
    """``max |M†M - I|`` of a square matrix: zero for a unitary, compared with :data:`UNITARITY_TOLERANCE`."""
    m = matrix.shape[0]
    return float(np.max(np.abs(matrix.conj().T @ matrix - np.eye(m))))


def project_transfer_matrix(matrix: np.ndarray, *, tolerance: float = UNITARITY_TOLERANCE) -> np.ndarray:
    """Nearest unitary of a matrix within ``tolerance`` of unitary, else the matrix with singular values clipped to 1.

    ``matrix`` must be square and validated (see :func:`validate_transfer_matrix`). Returns a new
    C-contiguous ``complex128`` array of the same shape.
    """
    return _projected(matrix, unitarity_deviation(matrix), tolerance)


def _projected(matrix: np.ndarray, deviation: float, tolerance: float,
               decomposition: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """:func:`project_transfer_matrix` given the matrix's ``deviation`` and, if already computed, its SVD."""
    left, singular, right = decomposition if decomposition is not None else np.linalg.svd(matrix)
    if deviation <= tolerance:
        return np.ascontiguousarray(left @ right)
    return np.ascontiguousarray((left * np.minimum(singular, 1.0)) @ right)


def validate_input_state(input_state: Sequence[int] | np.ndarray, n_modes: int, *,
                         max_photons: int | None = None) -> np.ndarray:
    """Return a Fock input state (photons per input mode) as an ``int64`` array after checking it.

    Raises
    ------
    ValueError
        If the state's length differs from ``n_modes``, an entry is negative, non-integer, not
        finite or beyond int64, the state holds no photon, or (with ``max_photons``) more photons
        than that in all.
    """
    array = np.asarray(input_state)
    if array.ndim != 1:
        raise ValueError(f"input state must be one-dimensional (photons per mode), got shape {array.shape}")
    if array.shape[0] != n_modes:
        raise ValueError(f"input state has {array.shape[0]} modes but the interferometer has {n_modes}")
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)):
            raise ValueError("input state contains NaN or infinite entries")
        if not np.all(array == np.round(array)):
            raise ValueError(f"input state must hold whole photon numbers, got {array.tolist()}")
    elif array.dtype.kind not in "iub":
        raise ValueError(f"input state must hold integers, got dtype {array.dtype}")
    if array.size and (np.max(array) > 2**62 or np.min(array) < -(2**62)):
        raise ValueError(f"input state has photon numbers beyond int64: {array.tolist()}")
    counts = array.astype(np.int64)
    if np.any(counts < 0):
        raise ValueError(f"input state has negative photon numbers: {counts.tolist()}")
    if counts.sum() == 0:
        raise ValueError("input state holds no photon")
    if max_photons is not None and int(counts.sum()) > max_photons:
        raise ValueError(f"input state holds {int(counts.sum()):,} photons, more than the {max_photons:,} supported "
                         "here")
    return counts
