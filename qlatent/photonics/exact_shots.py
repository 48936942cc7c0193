"""Exact recomputation of boson-sampling shots whose float64 placement lost precision.

:class:`~qlatent.photonics.sampling.SamplerSetup` samples every shot in float64; a shot whose
bound on a rounding-changed pick exceeds :data:`~qlatent.photonics.sampling.SHOT_TOLERANCE` is
recomputed here from its own draws with the same algorithm (photon order, draws, inverse-CDF walk)
in exact integer arithmetic: every float64 amplitude is an integer times a power of two, and the
column-deleted permanents come from MacMahon's formula multiplied out as polynomials. Feasible
exactly where float64 fails: few distinct modes, many photons in each (100 + 100 photons on a
balanced beam splitter: about 0.1 s a shot).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from qlatent.photonics.sampling import DISTINGUISHABLE, INTERFERING

if TYPE_CHECKING:
    from qlatent.photonics.sampling import SamplerSetup


MAX_EXACT_OPERATIONS = 3e8
"""Most big-integer operations :meth:`SamplerSetup.run` spends on exact recomputations per call.

Measured about 0.35 us each (100 + 100 photons on a beam splitter: 3.2e5 per shot, 0.11 s), so
about two minutes at most. Charged step by step during the recomputation (no up-front estimate:
replaying the marked shots' float64 paths to estimate it cost three times the redo itself); beyond
it :meth:`SamplerSetup.run` raises ``FloatingPointError``.
"""


EXACT_RUNNING_BOX = 1 << 16
"""Largest coefficient array of :func:`exact_shot`'s running product once every mode is hit (else per step)."""


class ExactTooCostly(Exception):
    """The exact recomputation would exceed :data:`MAX_EXACT_OPERATIONS` (the message says where)."""


def _float_to_int(value: float, lowest: int) -> int:
    # value * 2^-lowest, exactly (lowest <= the exponent of value's last bit)
    if value == 0.0:
        return 0
    mantissa, exponent = math.frexp(value)
    return int(mantissa * 2.0**53) << (exponent - 53 - lowest)


def _exact_walk(weights, u: float) -> int:
    # the first i < m - 1 whose running sum of the (non-negative, exact) weights exceeds u * total, else m - 1:
    # the float64 walks' rule, in exact arithmetic (u is a float64, so a dyadic rational)
    numerator, denominator = u.as_integer_ratio()
    target = numerator * sum(weights)
    cumulative = 0
    for i in range(len(weights) - 1):
        cumulative += weights[i]
        if cumulative * denominator > target:
            return i
    return len(weights) - 1


def _times_linear_form(poly, coefficients, dropped, mu_dropped, level, degree):
    # poly: (re, im or None) object arrays over the exponents of the kept variables of a homogeneous
    # polynomial of `degree`, truncated to exponents <= mu; returns poly * (sum_t c_t x_t), degree + 1
    re, im = poly
    c_re, c_im = coefficients[dropped]
    # x_dropped: same kept exponents, its own exponent + 1
    new_re = re * c_re if im is None else re * c_re - im * c_im
    new_im = None if im is None else re * c_im + im * c_re
    for axis in range(len(coefficients) - 1):
        t = axis if axis < dropped else axis + 1
        c_re, c_im = coefficients[t]
        head = (slice(None),) * axis + (slice(1, None),)
        tail = (slice(None),) * axis + (slice(None, -1),)
        if im is None:
            new_re[head] += re[tail] * c_re
        else:
            new_re[head] += re[tail] * c_re - im[tail] * c_im
            new_im[head] += re[tail] * c_im + im[tail] * c_re
    # the dropped variable's exponent degree + 1 - |kept| must lie in [0, mu_dropped]
    invalid = (level > degree + 1) | (level < degree + 1 - mu_dropped)
    new_re[invalid] = 0
    if new_im is not None:
        new_im[invalid] = 0
    return new_re, new_im


def exact_column_deleted_permanents(columns_re, columns_im, multiplicities):
    """Exact ``Per(R without column l) / prod_t mu_t!`` for ``l = 0 .. N``, ``R`` with repeated rows.

    ``columns_re[t][l]`` (and ``columns_im``, or ``None`` if real): integer entry of distinct row
    ``t`` (repeated ``multiplicities[t]`` times, ``N = sum mu``) in column ``l``. By MacMahon's
    form ``Per(R_{-l}) = prod_t mu_t! [x^mu] prod_{j != l} (sum_t R_tj x_t)``: the products of
    the columns before and after ``l`` are multiplied out exactly as homogeneous polynomials
    truncated to exponents ``<= mu`` (only the other variables' exponents are stored, so
    ``prod_{t != t*} (mu_t + 1)`` coefficients, ``t*`` the most repeated row) and the coefficient
    is read off their product. Returns ``(re, im)`` lists of Python ints (``im`` ``None`` if real).
    """
    n_distinct = len(multiplicities)
    n_cols = len(columns_re[0])
    dropped = int(np.argmax(multiplicities))
    kept = [t for t in range(n_distinct) if t != dropped]
    shape = tuple(multiplicities[t] + 1 for t in kept) or (1,)
    level = np.zeros(shape, dtype=np.int64)
    for axis in range(len(kept)):
        level = level + np.arange(shape[axis]).reshape((1,) * axis + (-1,) + (1,) * (len(kept) - axis - 1))
    mu_dropped = multiplicities[dropped]
    real = columns_im is None

    def coefficients(j):
        return [(columns_re[t][j], 0 if real else columns_im[t][j]) for t in range(n_distinct)]

    one_re = np.zeros(shape, dtype=object)
    one_re[(0,) * len(shape)] = 1
    one = (one_re, None if real else np.zeros(shape, dtype=object))
    prefix = [one]
    for j in range(n_cols - 1):
        prefix.append(_times_linear_form(prefix[-1], coefficients(j), dropped, mu_dropped, level, j))
    out_re, out_im = [0] * n_cols, (None if real else [0] * n_cols)
    flip = (slice(None, None, -1),) * len(shape)
    suffix = one
    for col in range(n_cols - 1, -1, -1):
        if col < n_cols - 1:
            suffix = _times_linear_form(suffix, coefficients(col + 1), dropped, mu_dropped, level, n_cols - 2 - col)
        p_re, p_im = prefix[col]
        s_re, s_im = suffix[0][flip], (None if real else suffix[1][flip])
        if real:
            out_re[col] = int(np.sum(p_re * s_re))
        else:
            out_re[col] = int(np.sum(p_re * s_re - p_im * s_im))
            out_im[col] = int(np.sum(p_re * s_im + p_im * s_re))
    return out_re, out_im


def exact_shot(setup: SamplerSetup, draws: np.ndarray, status: np.ndarray, budget: list[float]) -> np.ndarray:
    """One shot recomputed from its own draws in exact integer arithmetic: the exact law's outcome for them.

    The same algorithm as :func:`sample_batch` -- the interfering photons ordered by
    ``draws[0]``, photon ``p`` placed by the inverse-CDF walk at ``draws[1, p]`` over the modes
    -- with every weight an exact integer (:meth:`SamplerSetup.exact_amplitudes`,
    :func:`exact_column_deleted_permanents`, :func:`_exact_walk`), so the outcome is the
    deterministic function of the draws whose law is the exact one. ``draws``: shape
    ``(streams, n)``; ``status``: shape ``(n,)``. Returns the counts over the ``m`` detected
    modes (int64). ``budget[0]`` (operations left, each a big-integer multiply-add of one
    coefficient) is decreased step by step; a step that would overdraw it raises
    ``ExactTooCostly`` before it runs.
    """
    a_re, a_im = exact_amplitudes(setup)
    n, n_modes = setup.photons.shape
    counts = np.zeros(n_modes, dtype=np.int64)

    def squares(photon):
        weights = a_re[photon] * a_re[photon]
        return weights if a_im is None else weights + a_im[photon] * a_im[photon]

    def charge(operations, what):
        if operations > budget[0]:
            raise ExactTooCostly(what)
        budget[0] -= operations

    n_int = int(np.sum(status == INTERFERING))
    # every mode hit: one running product prod_j (sum_t A[t, order[j]] x_t), kept over all exponents
    # (a box of (n_int + 1)^(m' - 1) coefficients), gives every weight, one multiplication per step
    all_hit_box = (n_int + 1) ** (n_modes - 1)
    running = None
    interfering = []
    for p in range(n):
        if status[p] == DISTINGUISHABLE:
            charge(2 * n_modes, "single-photon walk")
            counts[_exact_walk(squares(p), float(draws[1, p]))] += 1
        elif status[p] == INTERFERING:
            interfering.append(p)
    order = sorted(interfering, key=lambda p: draws[0, p])  # stable: the kernel's insertion sort
    placed: dict[int, int] = {}  # mode -> photons placed there, in first-placement order
    for k, photon in enumerate(order):
        if k == 0:
            charge(2 * n_modes, "single-photon walk")
            mode = _exact_walk(squares(photon), float(draws[1, photon]))
        elif len(placed) == n_modes and all_hit_box <= EXACT_RUNNING_BOX:
            # Per([R; A_i]) = prod_t mu_t! (mu_i + 1) [x^(mu + e_i)] prod_{j <= k} L_j(x)
            shape = (n_int + 1,) * (n_modes - 1)
            if running is None:
                level = np.zeros(shape, dtype=np.int64)
                for axis in range(n_modes - 1):
                    level = level + np.arange(n_int + 1).reshape((1,) * axis + (-1,) + (1,) * (n_modes - 2 - axis))
                one_re = np.zeros(shape, dtype=object)
                one_re[(0,) * len(shape)] = 1
                running = [0, (one_re, None if a_im is None else np.zeros(shape, dtype=object)), level]
            while running[0] <= k:  # multiply in the columns order[running[0]] .. order[k]
                j = running[0]
                charge(4.0 * n_modes * all_hit_box, f"placing photon {k + 1} with every mode hit")
                coefficients = [(a_re[order[j], t], 0 if a_im is None else a_im[order[j], t]) for t in range(n_modes)]
                running[1] = _times_linear_form(running[1], coefficients, n_modes - 1, n_int, running[2], j)
                running[0] += 1
            product_re, product_im = running[1]
            weights = []
            for i in range(n_modes):
                index = tuple(placed[t] + (t == i) for t in range(n_modes - 1))
                amplitude_re = product_re[index] * (placed[i] + 1)
                amplitude_im = 0 if product_im is None else product_im[index] * (placed[i] + 1)
                weights.append(amplitude_re * amplitude_re + amplitude_im * amplitude_im)
            mode = _exact_walk(weights, float(draws[1, photon]))
        else:
            modes = list(placed)
            multiplicities = [placed[i] for i in modes]
            kept_size = math.prod(mu + 1 for mu in multiplicities) // (max(multiplicities) + 1)
            columns = order[:k + 1]
            charge(4.0 * (2 * k + 1) * len(modes) * kept_size + 4.0 * n_modes * (k + 1),
                   f"placing photon {k + 1} with {len(modes)} distinct modes hit")
            rows_re = [[a_re[j, i] for j in columns] for i in modes]
            rows_im = None if a_im is None else [[a_im[j, i] for j in columns] for i in modes]
            s_re, s_im = exact_column_deleted_permanents(rows_re, rows_im, multiplicities)
            block_re = a_re[columns].T  # (m, k + 1): A[i, order[j]]
            amp_re = block_re.dot(np.array(s_re, dtype=object))
            if a_im is None:
                weights = amp_re * amp_re
            else:
                block_im = a_im[columns].T
                s_re_a, s_im_a = np.array(s_re, dtype=object), np.array(s_im, dtype=object)
                amp_re = block_re.dot(s_re_a) - block_im.dot(s_im_a)
                amp_im = block_re.dot(s_im_a) + block_im.dot(s_re_a)
                weights = amp_re * amp_re + amp_im * amp_im
            mode = _exact_walk(list(weights), float(draws[1, photon]))
        placed[mode] = placed.get(mode, 0) + 1
        counts[mode] += 1
    return counts[:setup.n_modes]


def exact_amplitudes(setup: SamplerSetup) -> tuple[np.ndarray, np.ndarray | None]:
    """``setup.photons`` as exact integers: real and imaginary parts (``None`` if all real), ``2^-E`` scaled.

    Object arrays of Python ints, shape ``(n, m')``; every float64 is an integer times a power
    of two, so one common power of two makes them all integers exactly.
    """
    if setup._exact is None:
        parts = [setup.photons.real, setup.photons.imag]
        values = np.concatenate([part.ravel() for part in parts])
        nonzero = values[values != 0.0]
        lowest = int(np.min(np.frexp(nonzero)[1])) - 53 if len(nonzero) else 0
        converted = []
        for part in parts:
            exact = np.empty(part.size, dtype=object)
            exact[:] = [_float_to_int(float(v), lowest) for v in part.ravel()]
            converted.append(exact.reshape(part.shape))
        setup._exact = (converted[0], None if not np.any(setup.photons.imag) else converted[1])
    return setup._exact
