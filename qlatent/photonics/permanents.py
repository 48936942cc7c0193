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

import cmath
import math
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
def _column_sums(rows, multiplicity, state, n_fixed, n_digits, n_cols, factor, lanes, work):
    # work[0, j] <- factor * sum_t x_t R_tj for the current Gray state (the fixed rows at +1, a single row's
    # x = 2 a - 1, a repeated row's x = w^a), and with four lanes work[1..3] with the two unrolled rows'
    # signs flipped; work[4] holds the x_t meanwhile (free until the next term). At the start and at
    # every block's end of column_deleted_permanents_checked.
    for e in range(n_digits):
        mu = multiplicity[state[0, n_fixed + e]]
        if mu == 1:
            work[4, e] = 2 * state[1, e] - 1
        else:
            work[4, e] = cmath.exp(2j * math.pi * state[1, e] / (mu + 1))
    twice = 2.0 * factor
    for j in range(n_cols):
        s = 0.0 + 0.0j
        for q in range(n_fixed):
            s += rows[state[0, q], j]
        for e in range(n_digits):
            s += work[4, e] * rows[state[0, n_fixed + e], j]
        work[0, j] = s * factor
        if lanes:
            work[1, j] = work[0, j] - twice * rows[state[0, 1], j]
            work[2, j] = work[0, j] - twice * rows[state[0, 2], j]
            work[3, j] = work[1, j] - twice * rows[state[0, 2], j]


@njit(cache=True)
def column_deleted_permanents_checked(rows: np.ndarray, multiplicity: np.ndarray, n_distinct: int, work: np.ndarray,
                                      state: np.ndarray, out: np.ndarray, error: np.ndarray) -> int:
    """Permanents of a matrix with repeated rows, for every deleted column, up to one common factor, with error bounds.

    The matrix ``R`` has ``N = sum(multiplicity[:n_distinct])`` rows -- row ``t`` of
    ``rows[:n_distinct, :N + 1]`` repeated ``multiplicity[t]`` times -- and ``N + 1`` columns;
    ``out[l]`` receives ``c Per(R without column l)`` for ``l = 0 .. N`` with the same ``c != 0``
    for all ``l`` (the sampler normalises its weights, so ``c`` never matters):

    ``c = 2^(n_1 - 1) / prod_{mu_t >= 2} mu_t!`` when ``n_1 >= 1`` rows have multiplicity one, else
    ``c = 1 / prod_t mu_t!``.

    ``Per(R) = prod_t mu_t! [prod_t x_t^mu_t] prod_j (sum_t x_t R_tj)`` (MacMahon's coefficient
    form). Each row of multiplicity one gets Glynn's signs ``x_t = +-1``; each repeated row gets the
    ``mu_t + 1`` roots of unity ``x_t = w^k``, ``w = exp(2 pi i / (mu_t + 1))``, with weight
    ``w^k / (mu_t + 1)`` (a discrete Fourier transform that extracts the coefficient exactly, by
    degree counting). So the sum has ``prod_t (mu_t + 1)`` terms instead of ``2^N`` -- the saving
    behind Clifford & Clifford's faster sampler, which pays off when sampled photons collide. Glynn's
    own grouped weights ``C(mu, a) (-1)^(mu - a)`` at the points ``2a - mu`` cancel catastrophically
    for large ``mu`` (all digits lost by ``mu`` of about 90); unit-modulus points keep every term
    of the size of the result. The terms are visited in reflected mixed-radix Gray order (Knuth,
    TAOCP 7.2.1.1, algorithm H), one row update each. For every term the products of all column sums
    but one come from prefix and suffix products: O(N) per term. With three rows of multiplicity one,
    the first is fixed to + (the sum is symmetric under flipping every sign) and the signs of the
    next two are unrolled into four lanes sharing the Gray updates, so four independent product
    chains keep the multipliers busy.

    ``work``: complex, shape ``(9, >= N + 1)``; ``state``: int64, shape ``(4, >= n_distinct + 1)``.

    Returns the binary exponent ``shift`` of the rows' internal scaling: every term is at most
    ``b^N`` for the bound ``b = sum_t max_j |R_tj|`` on the column sums (all weights have modulus at
    most one); when that could overflow (``N log2(b) > 900``) the rows are scaled by ``2^-shift``,
    the least power of two that brings every term below ``2^900``, and ``out`` carries the extra
    factor ``2^(-shift N)``; otherwise ``shift = 0``. Scaling by a power of two is exact.

    The terms are summed in blocks of ``B`` Gray steps (a block's sum is added to ``out`` at its
    end) and the column sums are recomputed from the current Gray state at every block's end, so
    that neither the summation nor the updates' drift grows with the number of terms: a term
    passes through at most ``B + 2`` additions in its block and ``ceil(I / B)`` block additions
    over the ``I`` Gray steps, and a column sum carries at most ``n_distinct + 3`` operations of
    its own computation and ``2 B`` of updates. ``B = max(sqrt(I / (2 N + 1)), c n_distinct)``
    balances the two; recomputation costs ``O(n_distinct N)`` per block, so ``c = 4`` with the
    four lanes (at most 3 % of the sum's work; at 24 photons in 48 modes ``sqrt`` decides) and
    ``c = 1`` for the short sums of a few distinct rows with many copies (a beam splitter),
    where the drift's share of the bound matters more than the time.

    ``error`` (float64, shape ``>= N + 1``) receives a bound on the rounding error of each
    ``out[l]`` (same scaling), estimated as ``F eps sum |terms|`` over the terms of the sum
    (``eps = 2^-52``; moduli as ``|re| + |im|``) with ``F = N (n_distinct + 2 B + 4) + B +
    ceil(I / B) + 4``: each term's relative error from its ``N`` rounded column sums and
    products, plus the additions it goes through (Higham, *Accuracy and Stability of Numerical
    Algorithms*, 2nd ed., section 4.2); for Glynn's plain ``+-1`` sum (no repeated row) as for the
    grouped one. It replaces ``(T + N + 1)`` for ``T`` terms summed one after another, which
    did not count the updates' drift: at 24 photons in 48 modes ``F`` is about 300 times
    smaller; for the short sums of a few distinct rows with many copies (a beam splitter) it is
    about 3 times larger, the drift now being counted. With repeated rows the terms can be far
    larger than their sum -- 100 photons on a balanced beam splitter lose every digit -- and this
    bound lets callers fall back to exact arithmetic instead of returning noise. It is an
    estimate, not a proof: it takes each operation on a column sum to err by ``eps`` relative to
    the column sum's own size, which a column sum that itself nearly cancels does not.
    """
    n_rows = 0
    for t in range(n_distinct):
        n_rows += multiplicity[t]
    n_cols = n_rows + 1
    if work.shape[0] < 9 or work.shape[1] < n_cols or state.shape[0] < 4 or state.shape[1] < n_distinct + 1:
        raise ValueError("work must have shape (9, >= N + 1) and state (4, >= n_distinct + 1)")
    if n_rows == 0:
        out[0] = 1.0
        error[0] = 0.0
        return 0
    bound = 0.0
    for t in range(n_distinct):
        largest = 0.0
        for j in range(n_cols):
            size = abs(rows[t, j])
            if size > largest:
                largest = size
        bound += largest
    shift = 0
    if bound > 1.0 and n_rows * math.log2(bound) > 900.0:
        shift = int(math.ceil(math.log2(bound) - 900.0 / n_rows))
    factor = math.ldexp(1.0, -shift)
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
    phase = 1.0 + 0.0j
    repeated = False
    for j in range(n_cols):
        out[j] = 0.0
        error[j] = 0.0
    for d in range(n_digits):
        mu = multiplicity[state[0, n_fixed + d]]
        if mu == 1:
            weight = -weight
        else:
            weight /= mu + 1
            repeated = True
        state[1, d] = 0
        state[2, d] = d
        state[3, d] = 1
    state[2, n_digits] = n_digits
    lanes = n_fixed == 3
    twice = 2.0 * factor
    _column_sums(rows, multiplicity, state, n_fixed, n_digits, n_cols, factor, lanes, work)
    n_steps = 1.0  # Gray steps I: one per digit combination
    for d in range(n_digits):
        n_steps *= multiplicity[state[0, n_fixed + d]] + 1
    block = max(int(math.sqrt(n_steps / (2 * n_rows + 1))), (4 if lanes else 1) * n_distinct, 1)
    in_block = 0
    for j in range(n_cols):
        work[8, j] = 0.0
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
            y0 = weight * phase
            y1 = -y0
            y2 = -y0
            y3 = y0
            for j in range(n_cols - 1, -1, -1):
                z0 = work[4, j] * y0
                z1 = work[5, j] * y1
                z2 = work[6, j] * y2
                z3 = work[7, j] * y3
                work[8, j] += (z0 + z1) + (z2 + z3)
                error[j] += ((abs(z0.real) + abs(z0.imag)) + (abs(z1.real) + abs(z1.imag))
                             + (abs(z2.real) + abs(z2.imag)) + (abs(z3.real) + abs(z3.imag)))
                y0 *= work[0, j]
                y1 *= work[1, j]
                y2 *= work[2, j]
                y3 *= work[3, j]
        else:
            x0 = 1.0 + 0.0j
            for j in range(n_cols):
                work[4, j] = x0
                x0 *= work[0, j]
            y0 = weight * phase
            for j in range(n_cols - 1, -1, -1):
                z0 = work[4, j] * y0
                work[8, j] += z0
                error[j] += abs(z0.real) + abs(z0.imag)
                y0 *= work[0, j]
        in_block += 1
        d = state[2, 0]
        state[2, 0] = 0
        if d == n_digits:
            # N column sums of at most n_distinct + 3 operations and 2 block updates each, their products,
            # the additions within a block and the block sums' additions (see the docstring's F)
            n_blocks = math.ceil(n_steps / block)
            scale = (n_rows * (n_distinct + 2 * block + 4) + block + n_blocks + 4) * 2.0**-52
            for j in range(n_cols):
                out[j] += work[8, j]
                error[j] *= scale
            return shift
        t = state[0, n_fixed + d]
        mu = multiplicity[t]
        old = state[1, d]
        state[1, d] = old + state[3, d]
        n_lanes = 4 if lanes else 1
        if mu == 1:
            weight = -weight
            step = twice * state[3, d]
        else:
            # a repeated row's variable runs over the (mu + 1)-th roots of unity: x_new - x_old
            step = (cmath.exp(2j * math.pi * state[1, d] / (mu + 1))
                    - cmath.exp(2j * math.pi * old / (mu + 1))) * factor
        for j in range(n_cols):
            delta = step * rows[t, j]
            for lane in range(n_lanes):
                work[lane, j] += delta
        if repeated:
            turns = 0.0
            for q in range(n_digits):
                mu_q = multiplicity[state[0, n_fixed + q]]
                if mu_q > 1:
                    turns += state[1, q] / (mu_q + 1)
            phase = cmath.exp(2j * math.pi * turns)
        if state[1, d] == 0 or state[1, d] == mu:
            state[3, d] = -state[3, d]
            state[2, d] = state[2, d + 1]
            state[2, d + 1] = d + 1
        if in_block == block:  # end of a block: add its sum, recompute the column sums (no drift)
            in_block = 0
            for j in range(n_cols):
                out[j] += work[8, j]
                work[8, j] = 0.0
            _column_sums(rows, multiplicity, state, n_fixed, n_digits, n_cols, factor, lanes, work)


@njit(cache=True)
def column_deleted_permanents(rows: np.ndarray, multiplicity: np.ndarray, n_distinct: int, work: np.ndarray,
                              state: np.ndarray, out: np.ndarray) -> int:
    """:func:`column_deleted_permanents_checked` without the error bound (same arguments but ``error``)."""
    error = np.empty(out.shape[0], dtype=np.float64)
    return column_deleted_permanents_checked(rows, multiplicity, n_distinct, work, state, out, error)


GROUPED_TERM_COST = 3
"""Cost of one term of the grouped sum (prefix and suffix products) in terms of one of Glynn's plain sum."""

MAX_PERMANENT_OPERATIONS = 10**11
"""Most operations (terms times rows) a permanent may take before it is refused: about a minute."""


@njit(cache=True)
def _row_groups(matrix: np.ndarray, representative: np.ndarray, multiplicity: np.ndarray) -> int:
    # Identical rows (exact equality): the first row of group g is representative[g]; returns the count.
    n_distinct = 0
    for i in range(matrix.shape[0]):
        match = -1
        for g in range(n_distinct):
            r = representative[g]
            same = True
            for j in range(matrix.shape[1]):
                if matrix[i, j] != matrix[r, j]:
                    same = False
                    break
            if same:
                match = g
                break
        if match < 0:
            representative[n_distinct] = i
            multiplicity[n_distinct] = 1
            n_distinct += 1
        else:
            multiplicity[match] += 1
    return n_distinct


@njit(cache=True)
def _grouped_terms(multiplicity: np.ndarray, n_distinct: int) -> float:
    terms = 1.0
    for g in range(n_distinct):
        terms *= multiplicity[g] + 1
    return terms


@njit(cache=True)
def _grouped_permanent(matrix: np.ndarray, representative: np.ndarray, multiplicity: np.ndarray,
                       n_distinct: int) -> tuple[complex, int, float]:
    # Per(matrix) = value * 2**exponent (rounding error at most error * 2**exponent) from the grouped
    # sum: the last of the column-deleted permanents of [matrix | 0] is c Per(matrix), c as in
    # column_deleted_permanents.
    n = matrix.shape[0]
    rows = np.zeros((n_distinct, n + 1), dtype=np.complex128)
    for g in range(n_distinct):
        for j in range(n):
            rows[g, j] = matrix[representative[g], j]
    work = np.empty((9, n + 1), dtype=np.complex128)
    state = np.empty((4, n_distinct + 1), dtype=np.int64)
    out = np.empty(n + 1, dtype=np.complex128)
    bounds = np.empty(n + 1, dtype=np.float64)
    shift = column_deleted_permanents_checked(rows, multiplicity, n_distinct, work, state, out, bounds)
    value = out[n]
    error = bounds[n]
    exponent = shift * n
    n_single = 0
    for g in range(n_distinct):
        if multiplicity[g] == 1:
            n_single += 1
        else:
            for k in range(2, multiplicity[g] + 1):
                value *= k
                error *= k
                if abs(value.real) + abs(value.imag) + error > 2.0**500:
                    value *= 2.0**-500
                    error *= 2.0**-500
                    exponent += 500
    if n_single:
        exponent -= n_single - 1
    return value, exponent, error


@njit(cache=True)
def _plan(matrix: np.ndarray) -> tuple[int, float]:
    # The cheapest way to the permanent: 0 plain Glynn, 1 rows grouped, 2 columns grouped; its cost.
    n = matrix.shape[0]
    plain = float(n) * 2.0 ** (n - 1)
    representative = np.empty(n, dtype=np.int64)
    multiplicity = np.zeros(n, dtype=np.int64)
    by_rows = GROUPED_TERM_COST * (n + 1) * _grouped_terms(multiplicity,
                                                           _row_groups(matrix, representative, multiplicity))
    multiplicity[:] = 0
    transposed = np.ascontiguousarray(matrix.T)
    by_cols = GROUPED_TERM_COST * (n + 1) * _grouped_terms(multiplicity,
                                                           _row_groups(transposed, representative, multiplicity))
    if n < 63 and plain <= by_rows and plain <= by_cols:
        return 0, plain
    if by_rows <= by_cols:
        return 1, by_rows
    return 2, by_cols


@njit(cache=True)
def permanent_parts_checked(matrix: np.ndarray) -> tuple[complex, int, float]:
    """:func:`permanent_parts` with a bound on its rounding error: ``(value, exponent, error)``.

    ``|computed - Per(matrix)| <= error * 2**exponent`` (an estimate; see
    :func:`column_deleted_permanents_checked`); ``error`` is 0 for Glynn's plain sum, used when no
    rows or columns repeat.
    """
    n = matrix.shape[0]
    if n <= 4:
        return glynn_permanent(matrix), 0, 0.0
    method, _ = _plan(matrix)
    if method == 0:
        return glynn_permanent(matrix), 0, 0.0
    representative = np.empty(n, dtype=np.int64)
    multiplicity = np.zeros(n, dtype=np.int64)
    if method == 1:
        n_distinct = _row_groups(matrix, representative, multiplicity)
        return _grouped_permanent(matrix, representative, multiplicity, n_distinct)
    transposed = np.ascontiguousarray(matrix.T)
    n_distinct = _row_groups(transposed, representative, multiplicity)
    return _grouped_permanent(transposed, representative, multiplicity, n_distinct)


@njit(cache=True)
def permanent_parts(matrix: np.ndarray) -> tuple[complex, int]:
    """``(value, exponent)`` with ``Per(matrix) = value * 2**exponent``, by the cheapest exact sum.

    Glynn's plain sum (``2^(n-1)`` terms) unless grouping identical rows, or identical columns
    (``Per(M) = Per(M^T)``), gives fewer: ``prod (mu + 1)`` terms of the grouped sum of
    :func:`column_deleted_permanents`, which also keeps large permanents (many photons in one
    mode) from overflowing by its power-of-two scaling. Up to 4 x 4 Glynn's sum is used directly.
    The caller bounds the cost first (:func:`permanent_cost`). The rounding error is not
    reported; :func:`permanent_parts_checked` gives its bound.
    """
    value, exponent, _ = permanent_parts_checked(matrix)
    return value, exponent


def permanent_cost(matrix: np.ndarray) -> float:
    """Operations (terms times rows) :func:`permanent_parts` will spend on this square ``complex128`` matrix."""
    if matrix.shape[0] <= 4:
        return float(matrix.shape[0] * 2 ** max(matrix.shape[0] - 1, 0))
    return float(_plan(np.ascontiguousarray(matrix, dtype=np.complex128))[1])


def check_permanent_cost(operations: float, what: str) -> None:
    """Raise ``ValueError`` naming ``what`` when ``operations`` exceeds :data:`MAX_PERMANENT_OPERATIONS`."""
    if operations > MAX_PERMANENT_OPERATIONS:
        raise ValueError(f"{what} needs about {operations:.3g} operations, above the limit of "
                         f"{MAX_PERMANENT_OPERATIONS:.3g} (permanents of n x n matrices cost n 2^(n-1), "
                         "less only when rows or columns repeat)")


@njit(cache=True)
def scaled_squared_modulus(value: complex, exponent: int, weight: float, weight_exponent: int) -> float:
    """``|value 2^exponent|^2 weight 2^weight_exponent`` with ``value`` rescaled by a power of two before squaring.

    The square of a large permanent (about 1e154 for 86 photons in one mode) overflows even when
    the probability it gives is small; scaling by a power of two is exact, so nothing else changes.
    Returns ``inf`` or ``nan`` when the result itself is not representable (callers raise).
    """
    largest = max(abs(value.real), abs(value.imag))
    if largest == 0.0:
        return 0.0
    if not math.isfinite(largest):
        return math.nan
    shift = math.frexp(largest)[1]
    re = math.ldexp(value.real, -shift)
    im = math.ldexp(value.imag, -shift)
    return math.ldexp((re * re + im * im) * weight, 2 * (shift + exponent) + weight_exponent)


def permanent(matrix: np.ndarray | Sequence[Sequence[complex]]) -> complex:
    """Permanent of a square matrix (Glynn's formula, Gray-code order, O(n 2^n)).

    Parameters
    ----------
    matrix : array_like, shape (n, n)
        Real or complex square matrix; ``n = 0`` gives 1.

    Returns
    -------
    complex

    Identical rows or identical columns are grouped (``prod (mu + 1)`` terms instead of
    ``2^(n-1)``; :func:`permanent_parts`), so ``permanent(np.ones((100, 100)))`` is ``100!`` at once.

    Raises
    ------
    ValueError
        If the matrix is not square and two-dimensional, is not numeric, or holds NaN or infinite
        entries; or if it would cost more than :data:`MAX_PERMANENT_OPERATIONS` (an ``n x n``
        matrix without repeated rows or columns costs ``n 2^(n-1)``: ``n`` up to about 31).
    OverflowError
        If the permanent exceeds the float64 range.

    References
    ----------
    D. G. Glynn, European J. Combin. 31, 1887 (2010), eq. (3.4).
    """
    array = np.asarray(matrix)
    if array.ndim != 2 or array.shape[0] != array.shape[1]:
        raise ValueError(f"permanent needs a square matrix, got shape {array.shape}")
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise ValueError(f"permanent needs a numeric matrix, got dtype {array.dtype}")
    real = not np.iscomplexobj(array)
    array = np.ascontiguousarray(array, dtype=np.complex128)
    if not np.all(np.isfinite(array)):
        raise ValueError("matrix contains NaN or infinite entries")
    n = array.shape[0]
    check_permanent_cost(permanent_cost(array), f"the permanent of a {n} x {n} matrix")
    exponent = 0
    largest = float(np.max(np.abs(array))) if n else 0.0
    if n and largest == 0.0:
        return 0j
    if n and not -900.0 < n * math.log2(largest) + math.log2(n) < 900.0:
        # rescale every row by a power of two (exact) so no sum or product leaves the float range
        array = array.copy()
        for i in range(n):
            row_largest = float(np.max(np.abs(array[i])))
            if row_largest == 0.0:
                return 0j
            shift = math.frexp(row_largest)[1]
            array[i] = np.ldexp(array[i].real, -shift) + 1j * np.ldexp(array[i].imag, -shift)
            exponent += shift
    value, shift = permanent_parts(array)
    try:
        return complex(math.ldexp(value.real, exponent + shift),
                       0.0 if real else math.ldexp(value.imag, exponent + shift))
    except OverflowError:
        raise OverflowError(f"the permanent of this {n} x {n} matrix exceeds the float64 range "
                            f"(about 2^{exponent + shift + math.frexp(abs(value))[1]})") from None
