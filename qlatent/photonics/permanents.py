"""Matrix permanents in Numba: Glynn's formula in Gray-code order, and all column-deleted minors at once.

The permanent ``Per(M) = sum_sigma prod_i M[i, sigma(i)]`` gives the amplitude of a multi-photon
transition through a linear interferometer, so it is the inner loop of every exact boson sampler.

References
----------
D. G. Glynn, "The permanent of a square matrix", European J. Combin. 31, 1887 (2010), eq. (3.4).
P. Clifford and R. Clifford, "The classical complexity of boson sampling", SODA 2018
(arXiv:1706.01260), section 4: the Laplace expansion that gives all k column-deleted
sub-permanents of a (k-1) x k matrix for the price of one permanent.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numba import njit


@njit(cache=True)
def _trailing_zeros(g: int) -> int:
    j = 0
    while (g & 1) == 0:
        g >>= 1
        j += 1
    return j


@njit(cache=True)
def glynn_permanent(matrix: np.ndarray) -> complex:
    """Permanent of a square complex matrix by Glynn's formula with Gray-code updates, O(n 2^n).

    ``Per(M) = 2^{1-n} sum_{delta, delta_0 = 1} (prod_k delta_k) prod_j sum_k delta_k M[k, j]``.
    """
    n = matrix.shape[0]
    if n == 0:
        return 1.0 + 0.0j
    if n == 1:
        return matrix[0, 0] + 0.0j
    sums = np.empty(n, dtype=np.complex128)
    for j in range(n):
        s = 0.0 + 0.0j
        for k in range(n):
            s += matrix[k, j]
        sums[j] = s
    delta = np.ones(n, dtype=np.int64)
    sign = 1.0
    total = 0.0 + 0.0j
    n_terms = 1 << (n - 1)
    for g in range(1, n_terms + 1):
        prod = sums[0]
        for j in range(1, n):
            prod *= sums[j]
        total += sign * prod
        if g == n_terms:
            break
        k = _trailing_zeros(g) + 1
        delta[k] = -delta[k]
        sign = -sign
        if delta[k] > 0:
            for j in range(n):
                sums[j] += 2.0 * matrix[k, j]
        else:
            for j in range(n):
                sums[j] -= 2.0 * matrix[k, j]
    return total / n_terms


@njit(cache=True)
def column_deleted_permanents(rows: np.ndarray, n_rows: int, work: np.ndarray, out: np.ndarray) -> None:
    """All permanents of ``rows[:n_rows, :n_rows + 1]`` with one column deleted, scaled by ``2^{n_rows - 1}``.

    ``out[l]`` receives ``2^{n_rows - 1} Per(R with column l removed)`` for ``l = 0 .. n_rows``; the
    common scale is irrelevant to the sampler, which normalises its weights. Glynn's sum over sign
    vectors gives the column sums ``v_j``; for each vector the products of all ``v_j`` but one come
    from prefix and suffix products, so the cost is O(n_rows 2^n_rows) -- one permanent's worth.
    The signs of rows 1 and 2 are unrolled into four lanes that share the Gray-code updates of the
    other rows, so four independent product chains keep the multipliers busy. ``work`` is a complex
    array of shape ``(8, >= n_rows + 1)``.
    """
    n_cols = n_rows + 1
    if n_rows == 0:
        out[0] = 1.0
        return
    for j in range(n_cols):
        s = 0.0 + 0.0j
        for k in range(n_rows):
            s += rows[k, j]
        work[0, j] = s
        out[j] = 0.0
    if n_rows < 3:
        sign = 1.0
        for g in range(1 << (n_rows - 1)):
            if g == 1:
                for j in range(n_cols):
                    work[0, j] -= 2.0 * rows[1, j]
                sign = -1.0
            x = 1.0 + 0.0j
            for j in range(n_cols):
                work[4, j] = x
                x *= work[0, j]
            y = sign + 0.0j
            for j in range(n_cols - 1, -1, -1):
                out[j] += work[4, j] * y
                y *= work[0, j]
        return
    for j in range(n_cols):
        work[1, j] = work[0, j] - 2.0 * rows[1, j]
        work[2, j] = work[0, j] - 2.0 * rows[2, j]
        work[3, j] = work[1, j] - 2.0 * rows[2, j]
    n_steps = 1 << (n_rows - 3)
    sign = 1.0
    for g in range(1, n_steps + 1):
        x0 = 1.0 + 0.0j
        x1 = 1.0 + 0.0j
        x2 = 1.0 + 0.0j
        x3 = 1.0 + 0.0j
        for j in range(n_cols):
            work[4, j] = x0
            work[5, j] = x1
            work[6, j] = x2
            work[7, j] = x3
            x0 *= work[0, j]
            x1 *= work[1, j]
            x2 *= work[2, j]
            x3 *= work[3, j]
        y0 = sign + 0.0j
        y1 = -sign + 0.0j
        y2 = -sign + 0.0j
        y3 = sign + 0.0j
        for j in range(n_cols - 1, -1, -1):
            out[j] += (work[4, j] * y0 + work[5, j] * y1) + (work[6, j] * y2 + work[7, j] * y3)
            y0 *= work[0, j]
            y1 *= work[1, j]
            y2 *= work[2, j]
            y3 *= work[3, j]
        if g == n_steps:
            break
        # Gray code over rows 3.. : bit tz of g flips row 3 + tz; its sign is - when that bit of g ^ (g >> 1) is set.
        tz = _trailing_zeros(g)
        factor = -2.0 if ((g ^ (g >> 1)) >> tz) & 1 else 2.0
        for j in range(n_cols):
            d = factor * rows[3 + tz, j]
            work[0, j] += d
            work[1, j] += d
            work[2, j] += d
            work[3, j] += d
        sign = -sign


def permanent(matrix: np.ndarray | Sequence[Sequence[complex]]) -> complex:
    """Permanent of a square matrix (Glynn's formula, Gray-code order, O(n 2^n)).

    Parameters
    ----------
    matrix : array_like, shape (n, n)
        Real or complex square matrix; ``n = 0`` gives 1.

    Returns
    -------
    complex

    Raises
    ------
    ValueError
        If the matrix is not square and two-dimensional, is not numeric, or holds NaN or infinite
        entries.

    References
    ----------
    D. G. Glynn, European J. Combin. 31, 1887 (2010), eq. (3.4).
    """
    array = np.asarray(matrix)
    if array.ndim != 2 or array.shape[0] != array.shape[1]:
        raise ValueError(f"permanent needs a square matrix, got shape {array.shape}")
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise ValueError(f"permanent needs a numeric matrix, got dtype {array.dtype}")
    array = np.ascontiguousarray(array, dtype=np.complex128)
    if not np.all(np.isfinite(array)):
        raise ValueError("matrix contains NaN or infinite entries")
    return complex(glynn_permanent(array))
