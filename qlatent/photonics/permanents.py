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
def column_deleted_permanents(rows: np.ndarray, multiplicity: np.ndarray, n_distinct: int, work: np.ndarray,
                              state: np.ndarray, out: np.ndarray) -> None:
    """Permanents of a matrix with repeated rows, for every deleted column, up to one common factor.

    The matrix ``R`` has ``N = sum(multiplicity[:n_distinct])`` rows -- row ``t`` of
    ``rows[:n_distinct, :N + 1]`` repeated ``multiplicity[t]`` times -- and ``N + 1`` columns;
    ``out[l]`` receives ``c Per(R without column l)`` for ``l = 0 .. N`` with the same ``c != 0``
    for all ``l`` (the sampler normalises its weights, so ``c`` never matters).

    Glynn's sum over sign vectors is grouped by the number ``a_t`` of plus signs on the copies of
    each distinct row (weight ``C(mu_t, a_t) (-1)^(mu_t - a_t)``), so it has ``prod_t (mu_t + 1)``
    terms instead of ``2^N`` -- the saving behind Clifford & Clifford's faster sampler, which pays off
    when sampled photons collide. The terms are visited in reflected mixed-radix Gray order (Knuth,
    TAOCP 7.2.1.1, algorithm H), one row update each. For every term the products of all column sums
    but one come from prefix and suffix products: O(N) per term. With three rows of multiplicity one,
    the first is fixed to + (the sum is symmetric under flipping every sign) and the signs of the
    next two are unrolled into four lanes sharing the Gray updates, so four independent product
    chains keep the multipliers busy.

    ``work``: complex, shape ``(8, >= N + 1)``; ``state``: int64, shape ``(4, >= n_distinct + 1)``.
    """
    n_rows = 0
    for t in range(n_distinct):
        n_rows += multiplicity[t]
    n_cols = n_rows + 1
    if n_rows == 0:
        out[0] = 1.0
        return
    # state rows: 0 = distinct rows in processing order (multiplicity one first), then algorithm H's
    # 1 = digits a_t, 2 = focus pointers, 3 = directions, for the rows after the fixed ones.
    n_singles = 0
    for t in range(n_distinct):
        if multiplicity[t] == 1:
            state[0, n_singles] = t
            n_singles += 1
    position = n_singles
    for t in range(n_distinct):
        if multiplicity[t] != 1:
            state[0, position] = t
            position += 1
    n_fixed = 3 if n_singles >= 3 else (1 if n_singles >= 1 else 0)
    n_digits = n_distinct - n_fixed
    weight = 1.0
    for j in range(n_cols):
        s = 0.0 + 0.0j
        for q in range(n_fixed):
            s += rows[state[0, q], j]
        for d in range(n_digits):
            s -= multiplicity[state[0, n_fixed + d]] * rows[state[0, n_fixed + d], j]
        work[0, j] = s
        out[j] = 0.0
    for d in range(n_digits):
        if multiplicity[state[0, n_fixed + d]] % 2 == 1:
            weight = -weight
        state[1, d] = 0
        state[2, d] = d
        state[3, d] = 1
    state[2, n_digits] = n_digits
    lanes = n_fixed == 3
    if lanes:
        for j in range(n_cols):
            work[1, j] = work[0, j] - 2.0 * rows[state[0, 1], j]
            work[2, j] = work[0, j] - 2.0 * rows[state[0, 2], j]
            work[3, j] = work[1, j] - 2.0 * rows[state[0, 2], j]
    while True:
        if lanes:
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
            y0 = weight + 0.0j
            y1 = -weight + 0.0j
            y2 = -weight + 0.0j
            y3 = weight + 0.0j
            for j in range(n_cols - 1, -1, -1):
                out[j] += (work[4, j] * y0 + work[5, j] * y1) + (work[6, j] * y2 + work[7, j] * y3)
                y0 *= work[0, j]
                y1 *= work[1, j]
                y2 *= work[2, j]
                y3 *= work[3, j]
        else:
            x0 = 1.0 + 0.0j
            for j in range(n_cols):
                work[4, j] = x0
                x0 *= work[0, j]
            y0 = weight + 0.0j
            for j in range(n_cols - 1, -1, -1):
                out[j] += work[4, j] * y0
                y0 *= work[0, j]
        d = state[2, 0]
        state[2, 0] = 0
        if d == n_digits:
            return
        t = state[0, n_fixed + d]
        mu = multiplicity[t]
        old = state[1, d]
        state[1, d] = old + state[3, d]
        if state[3, d] > 0:
            weight = -(weight * (mu - old)) / (old + 1)
        else:
            weight = -(weight * old) / (mu - old + 1)
        step = 2.0 * state[3, d]
        n_lanes = 4 if lanes else 1
        for j in range(n_cols):
            delta = step * rows[t, j]
            for lane in range(n_lanes):
                work[lane, j] += delta
        if state[1, d] == 0 or state[1, d] == mu:
            state[3, d] = -state[3, d]
            state[2, d] = state[2, d + 1]
            state[2, d + 1] = d + 1


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
