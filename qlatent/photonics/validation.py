"""Checks on user-supplied transfer matrices and Fock input states, with errors that name the problem."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

UNITARITY_TOLERANCE = 1e-8


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
) -> np.ndarray:
    """Return ``matrix`` as a C-contiguous ``complex128`` array after checking it is a valid interferometer.

    A lossless interferometer is a unitary ``U`` (``U†U = I``). With ``allow_subunitary=True`` a
    lossy one is accepted too: ``T†T ≤ I``, i.e. every singular value of ``T`` is at most one.

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
    m = array.shape[0]
    if allow_subunitary:
        largest = float(np.linalg.norm(array, ord=2))
        if largest > 1.0 + tolerance:
            raise ValueError(
                f"transfer matrix is not sub-unitary: largest singular value {largest:.12g} > 1 "
                f"(tolerance {tolerance:g})"
            )
    else:
        deviation = float(np.max(np.abs(array.conj().T @ array - np.eye(m))))
        if deviation > tolerance:
            raise ValueError(
                f"transfer matrix is not unitary: max |U†U - I| = {deviation:.3g} > {tolerance:g} "
                "(pass allow_subunitary=True for a lossy interferometer)"
            )
    return array


def validate_input_state(input_state: Sequence[int] | np.ndarray, n_modes: int) -> np.ndarray:
    """Return a Fock input state (photons per input mode) as an ``int64`` array after checking it.

    Raises
    ------
    ValueError
        If the state's length differs from ``n_modes``, an entry is negative, non-integer or not
        finite, or the state holds no photon.
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
    counts = array.astype(np.int64)
    if np.any(counts < 0):
        raise ValueError(f"input state has negative photon numbers: {counts.tolist()}")
    if counts.sum() == 0:
        raise ValueError("input state holds no photon")
    return counts
