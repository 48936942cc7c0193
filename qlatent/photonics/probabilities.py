"""Exact output probabilities of linear-optical interferometers for every photon model (small n).

Lossless pattern ``s`` of ``n`` photons from input ``t`` through the ``m' x n`` photon isometry ``A``
(one column per photon, see :mod:`qlatent.photonics.models`), with ``A_s`` the ``n x n`` matrix whose
row ``i`` is repeated ``s_i`` times:

* indistinguishable: ``P(s) = |Per(A_s)|^2 / (prod_i s_i! prod_j t_j!)`` (Scheel 2004; Aaronson &
  Arkhipov 2011, eq. (1));
* distinguishable: ``P(s) = Per(|A_s|^2) / prod_i s_i!`` -- each photon goes its own way;
* partial (indistinguishability ``x``): each photon is, independently, in a shared internal state
  with probability ``x`` and in its own orthogonal state otherwise; the shared photons interfere, the
  others do not, and counts add. ``P(s) = sum_a w(a) sum_{s1 + s2 = s} P_ind(s1 | a) P_dist(s2 | t - a)``
  over the sub-multisets ``a`` of interfering photons, ``w(a) = prod_j C(t_j, a_j) x^|a| (1-x)^(n-|a|)``.
  For inputs with at most one photon per mode this equals the pure-state model with pairwise
  internal overlaps ``<psi_i|psi_j> = x`` (both give ``x^L`` for every permutation cycle of length
  ``L >= 2`` in the first-quantised detection formula of Tichy, J. Phys. B 47, 103001 (2014),
  eq. (60)), so the two-photon HOM visibility is ``x^2``: ``P(1,1) = (1 - x^2) / 2`` on a balanced
  beam splitter. Perceval's ``NoiseModel(indistinguishability=V)`` is this model with ``x = sqrt(V)``
  (checked to 1e-12 for three photons in the tests). For inputs with several photons in one mode
  the mixture is the definition (the pure-state model's normalisation differs there).

Loss: uniform transmission ``eta`` is the sub-unitary ``sqrt(eta) T``; any sub-unitary matrix is
dilated to ``2m`` modes and the lost photons are the ones in the extra modes, which are summed
out. Threshold detection sums the PNR patterns with the same support.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from math import comb, factorial

import numpy as np
from numba import njit

from qlatent.photonics.fock import basis_size, binomial_table, fock_basis, rank_pattern
from qlatent.photonics.models import check_options, input_columns, photon_isometry
from qlatent.photonics.permanents import (
    GROUPED_TERM_COST,
    check_permanent_cost,
    permanent_cost,
    permanent_parts,
    permanent_parts_checked,
    scaled_squared_modulus,
)
from qlatent.photonics.validation import validate_input_state, validate_transfer_matrix

MAX_EXACT_OUTCOMES = 2_000_000
MAX_EXACT_PHOTONS = 65_535
PROBABILITY_TOLERANCE = 1e-9
"""Largest estimated rounding error of one exact probability (absolute, or relative when larger) before refusing.

The estimate (:func:`~qlatent.photonics.permanents.permanent_parts_checked`) is a bound, far above
the error seen: 20 + 20 photons on a balanced beam splitter pass (the distribution sums to one
within 3e-13), 24 + 24 are refused (estimate 2e-9: the grouped sums' estimate counts the drift of
their updated column sums since 2026-12; 24 + 24 passed before), 30 + 30 too (1e-7)."""
SUM_TOLERANCE = 1e-9
"""Largest deviation from one of the sum of an exact distribution (every photon ends in some mode) before refusing."""
_CHUNK = 256  # patterns per kernel call: the errors are checked and Ctrl-C is honoured between calls
_CHUNK_OPERATIONS = 1e8  # at most this many permanent operations (well under a second) per kernel call


def _precision_error(what: str, probability: float, error: float) -> FloatingPointError:
    return FloatingPointError(
        f"{what} is {probability:.3g} with an estimated rounding error of {error:.3g}, above the tolerance of "
        f"{PROBABILITY_TOLERANCE:g}: float64 precision is exceeded for this input (many photons sharing few "
        "modes make the grouped permanent sums cancel; send fewer photons per mode)")


def _check_precision(what: str, probability: float, error: float) -> None:
    if error > PROBABILITY_TOLERANCE and error > PROBABILITY_TOLERANCE * abs(probability):
        raise _precision_error(what, probability, error)


@njit(cache=True)
def _indistinguishable_distribution(amplitudes: np.ndarray, basis: np.ndarray, scale: float, scale_exponent: int,
                                    out: np.ndarray, error: np.ndarray, first: int, last: int) -> None:
    # |Per|^2 / prod s! for patterns first .. last - 1, with the permanent rescaled before squaring
    # and 1/prod s! kept in range; error[b] bounds the rounding error of out[b]
    n = amplitudes.shape[1]
    n_modes = basis.shape[1]
    sub = np.empty((n, n), dtype=np.complex128)
    for b in range(first, last):
        row = 0
        weight = scale
        weight_exponent = scale_exponent
        for i in range(n_modes):
            for c in range(basis[b, i]):
                sub[row, :] = amplitudes[i, :]
                row += 1
                weight /= c + 1
                if weight < 2.0**-500:
                    weight *= 2.0**500
                    weight_exponent -= 500
        value, exponent, bound = permanent_parts_checked(sub)
        out[b] = scaled_squared_modulus(value, exponent, weight, weight_exponent)
        # |(|v| + e)^2 - |v|^2| = (2 |v| + e) e, squared-modulus form so that it is scaled alike
        spread = math.sqrt((2.0 * abs(value) + bound) * bound) + 0.0j
        error[b] = scaled_squared_modulus(spread, exponent, weight, weight_exponent)


@njit(cache=True)
def _add_distinguishable_photon(probs: np.ndarray, basis: np.ndarray, weights: np.ndarray,
                                binom: np.ndarray, out: np.ndarray) -> None:
    pattern = np.empty(basis.shape[1], dtype=np.int64)
    for b in range(basis.shape[0]):
        p = probs[b]
        if p == 0.0:
            continue
        pattern[:] = basis[b]
        for i in range(basis.shape[1]):
            pattern[i] += 1
            out[rank_pattern(pattern, binom)] += p * weights[i]
            pattern[i] -= 1


def _mixture_weight(counts: np.ndarray, shared: Sequence[int], x: float) -> float:
    n, k = int(counts.sum()), int(sum(shared))
    weight = x**k * (1.0 - x) ** (n - k)
    for t, a in zip(counts, shared):
        weight *= comb(int(t), int(a))
    return weight


def _shared_subsets(counts: np.ndarray, x: float) -> Iterator[tuple[np.ndarray, float]]:
    """Sub-multisets ``a <= counts`` of interfering photons with their non-zero mixture weights."""
    if x == 0.0 or x == 1.0:
        yield counts * int(x), 1.0
        return
    for shared in itertools.product(*(range(int(t) + 1) for t in counts)):
        weight = _mixture_weight(counts, shared, x)
        if weight > 0.0:
            yield np.asarray(shared, dtype=np.int64), weight


def _split_columns(amplitudes: np.ndarray, counts: np.ndarray, shared: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Columns of the interfering photons (``shared`` per mode) and of the distinguishable rest."""
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    chosen = np.zeros(amplitudes.shape[1], dtype=bool)
    for start, a in zip(starts, shared):
        chosen[start:start + a] = True
    return np.ascontiguousarray(amplitudes[:, chosen]), np.ascontiguousarray(amplitudes[:, ~chosen])


def _inverse(denominator: int) -> tuple[float, int]:
    """``1 / denominator`` as ``(mantissa, exponent)``, exact to rounding for any size of integer."""
    if denominator < 2**1000:
        return 1.0 / float(denominator), 0
    bits = denominator.bit_length()
    return (1 << bits) / denominator, -bits


def _finite(probabilities: np.ndarray) -> np.ndarray:
    if not np.all(np.isfinite(probabilities)):
        raise FloatingPointError("a probability was not finite (permanents out of float64 range)")
    return probabilities


def _spread_terms(n_photons: int, n_modes: int) -> int:
    """Most ``prod (s_i + 1)`` over patterns of ``n_photons`` in ``n_modes`` (photons spread evenly)."""
    quotient, remainder = divmod(n_photons, n_modes)
    return (quotient + 2) ** remainder * (quotient + 1) ** (n_modes - remainder)


def _permanent_operations(k: int, n_modes: int, shared: np.ndarray) -> float:
    """Most operations one k x k permanent of these photons can cost (see :func:`permanent_parts`)."""
    if k == 0:
        return 0.0
    grouped = min(_spread_terms(k, n_modes), math.prod(int(a) + 1 for a in shared))
    return float(min(k * 2.0 ** (k - 1), GROUPED_TERM_COST * (k + 1) * float(grouped)))


def _prepare(unitary, input_state, model, indistinguishability, transmission, detection, allow_subunitary):
    x, eta = check_options(model, indistinguishability, transmission, detection)
    transfer = validate_transfer_matrix(unitary, allow_subunitary=allow_subunitary, project=True)
    counts = validate_input_state(input_state, transfer.shape[0], max_photons=MAX_EXACT_PHOTONS)
    amplitudes = photon_isometry(np.sqrt(eta) * transfer, input_columns(counts))
    return x, counts, amplitudes


def _check_size(n_photons: int, n_modes: int, what: str) -> None:
    size = basis_size(n_photons, n_modes)
    if size > MAX_EXACT_OUTCOMES:
        raise ValueError(
            f"{what} needs {size:,} patterns ({n_photons} photons in {n_modes} modes; lossy matrices "
            f"count twice the modes), above the limit of {MAX_EXACT_OUTCOMES:,}; use sample() for "
            "states this large"
        )


def _lossless_distribution(amplitudes: np.ndarray, counts: np.ndarray, x: float) -> tuple[np.ndarray, np.ndarray]:
    """Distribution of ``n`` photons over all ``m'`` modes of the isometry, in ``fock_basis`` order."""
    n, n_modes = int(counts.sum()), amplitudes.shape[0]
    basis_n = fock_basis(n, n_modes)
    binom = binomial_table(n + n_modes + 1)
    bases = {}
    total = np.zeros(basis_n.shape[0])
    for shared, weight in _shared_subsets(counts, x):
        interfering, rest = _split_columns(amplitudes, counts, shared)
        k = interfering.shape[1]
        bases.setdefault(k, fock_basis(k, n_modes))
        probs = np.empty(bases[k].shape[0])
        errors = np.empty(bases[k].shape[0])
        scale, scale_exponent = _inverse(math.prod(factorial(int(a)) for a in shared))
        chunk = max(1, min(_CHUNK, int(_CHUNK_OPERATIONS / max(_permanent_operations(k, n_modes, shared), 1.0))))
        for first in range(0, probs.shape[0], chunk):
            last = min(first + chunk, probs.shape[0])
            _indistinguishable_distribution(interfering, bases[k], scale, scale_exponent, probs, errors, first, last)
            worst = first + int(np.argmax(errors[first:last] - PROBABILITY_TOLERANCE * np.abs(probs[first:last])))
            _check_precision(f"the probability of pattern {bases[k][worst].tolist()} of {k} interfering photons",
                             probs[worst], errors[worst])
        _finite(probs)
        for c in range(rest.shape[1]):
            bases.setdefault(k + 1, fock_basis(k + 1, n_modes))
            grown = np.zeros(bases[k + 1].shape[0])
            _add_distinguishable_photon(probs, bases[k], np.abs(rest[:, c]) ** 2, binom, grown)
            probs, k = grown, k + 1
        total += weight * probs
    return basis_n, total


def output_probabilities(
    unitary: np.ndarray,
    input_state: Sequence[int] | np.ndarray,
    *,
    model: str = "indistinguishable",
    indistinguishability: float = 1.0,
    transmission: float = 1.0,
    detection: str = "pnr",
    allow_subunitary: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact distribution of detection patterns for a small input state.

    Parameters
    ----------
    unitary : array_like, shape (m, m)
        Interferometer; sub-unitary (lossy) only with ``allow_subunitary=True``.
    input_state : sequence of int, length m
        Photons per input mode.
    model : {"indistinguishable", "distinguishable", "partial"}
    indistinguishability : float in [0, 1]
        Pairwise internal-state overlap ``x`` of the partial model (HOM visibility ``x^2``).
    transmission : float in [0, 1]
        Uniform transmission ``eta`` of every photon.
    detection : {"pnr", "threshold"}
        Photon-number-resolving counts or click / no-click.
    allow_subunitary : bool
        Accept a sub-unitary transfer matrix (per-mode loss).

    Returns
    -------
    patterns : ndarray, shape (K, m), int64
        Every possible detection pattern, in descending lexicographic order (``fock_basis`` order
        for lossless PNR detection).
    probs : ndarray, shape (K,)
        Their probabilities (summing to one).

    Raises
    ------
    ValueError
        Invalid options, matrix or state (see :func:`qlatent.photonics.models.check_options` and
        :mod:`qlatent.photonics.validation`), more than ``MAX_EXACT_OUTCOMES`` patterns (or partial-model
        subsets) to enumerate, or permanents costing more than
        :data:`~qlatent.photonics.permanents.MAX_PERMANENT_OPERATIONS` in all (bounded before starting).
    FloatingPointError
        If float64 precision is exceeded: a probability's estimated rounding error is above
        :data:`PROBABILITY_TOLERANCE` (many photons sharing few modes: 30 + 30 photons on a balanced
        beam splitter already are; checked a chunk of patterns at a time, so it fails fast), or the
        probabilities do not sum to one within :data:`SUM_TOLERANCE`; or a probability is not finite.

    Notes
    -----
    A matrix within :data:`~qlatent.photonics.validation.UNITARITY_TOLERANCE` of unitary is
    projected onto the nearest unitary (lossless), so the probabilities sum to one. Permanents
    group repeated rows or columns (photons sharing a mode) and are rescaled before squaring.
    """
    x, counts, amplitudes = _prepare(unitary, input_state, model, indistinguishability, transmission,
                                     detection, allow_subunitary)
    m, n_modes, n = counts.shape[0], amplitudes.shape[0], int(counts.sum())
    _check_size(n, n_modes, "the exact distribution")
    subsets = [(counts * int(x), 1.0)] if x in (0.0, 1.0) else None
    n_subsets = 1 if subsets else math.prod(int(t) + 1 for t in counts)
    if n_subsets > MAX_EXACT_OUTCOMES:
        raise ValueError(f"the partial model sums over {n_subsets:,} subsets of interfering photons, above the "
                         f"limit of {MAX_EXACT_OUTCOMES:,}")
    operations = 0.0
    for shared, _ in subsets or _shared_subsets(counts, x):
        k = int(shared.sum())
        operations += basis_size(k, n_modes) * _permanent_operations(k, n_modes, shared)
        operations += basis_size(n, n_modes) * n_modes * (n - k)
    check_permanent_cost(operations, f"the exact distribution of {n} photons in {n_modes} modes")
    basis, probs = _lossless_distribution(amplitudes, counts, x)
    # every photon ends in some mode of the (dilated, so lossless) isometry: a cheap final guard
    if not abs(probs.sum() - 1.0) <= SUM_TOLERANCE:
        raise FloatingPointError(f"the exact distribution of {n} photons in {n_modes} modes sums to "
                                 f"{probs.sum():.12g}, not one within {SUM_TOLERANCE:g}: float64 precision is "
                                 "exceeded for this input")
    if n_modes == m and detection == "pnr":
        return basis, probs
    observed = basis[:, :m]
    if detection == "threshold":
        observed = np.minimum(observed, 1)
    patterns, inverse = np.unique(observed, axis=0, return_inverse=True)
    summed = np.bincount(inverse.ravel(), weights=probs, minlength=patterns.shape[0])
    return patterns[::-1].copy(), summed[::-1].copy()


def _sub_patterns(pattern: np.ndarray, k: int) -> Iterator[np.ndarray]:
    """The patterns ``s1 <= pattern`` holding ``k`` photons."""
    if k == int(pattern.sum()):
        yield pattern
        return
    if k == 0:
        yield np.zeros_like(pattern)
        return
    for first in itertools.product(*(range(int(s) + 1) for s in pattern)):
        if sum(first) == k:
            yield np.asarray(first, dtype=np.int64)


def _pattern_terms(amplitudes: np.ndarray, counts: np.ndarray, pattern: np.ndarray, x: float) -> float:
    """Probability of one lossless pattern over all ``m'`` modes under the (partial) model."""
    total = 0.0
    for shared, weight in _shared_subsets(counts, x):
        interfering, rest = _split_columns(amplitudes, counts, shared)
        k = interfering.shape[1]
        a_factor = math.prod(factorial(int(a)) for a in shared)
        for first in _sub_patterns(pattern, k):
            second = pattern - first
            rows_first = np.repeat(np.arange(pattern.shape[0]), first)
            rows_second = np.repeat(np.arange(pattern.shape[0]), second)
            quantum = np.ascontiguousarray(interfering[rows_first])
            classical = np.ascontiguousarray(np.abs(rest[rows_second]) ** 2).astype(np.complex128)
            check_permanent_cost(permanent_cost(quantum) + permanent_cost(classical),
                                 f"the probability of a pattern of {pattern.sum()} photons")
            amp, exponent, bound = permanent_parts_checked(quantum)
            inverse, inverse_exponent = _inverse(int(a_factor) * math.prod(factorial(int(s)) for s in first))
            p_ind = scaled_squared_modulus(amp, exponent, inverse, inverse_exponent)
            spread = complex(math.sqrt((2.0 * abs(amp) + bound) * bound))
            _check_precision(f"the probability of {k} interfering photons in pattern {first.tolist()}", p_ind,
                             scaled_squared_modulus(spread, exponent, inverse, inverse_exponent))
            value, exponent = permanent_parts(classical)
            inverse, inverse_exponent = _inverse(math.prod(factorial(int(s)) for s in second))
            p_dist = math.ldexp(value.real * inverse, exponent + inverse_exponent)
            total += weight * p_ind * p_dist
    return total


def _compatible_patterns(observed: np.ndarray, n: int, n_modes: int, detection: str) -> Iterator[np.ndarray]:
    """Lossless patterns over ``n_modes`` that show ``observed`` on the first ``m`` modes."""
    m = observed.shape[0]
    clicked = np.flatnonzero(observed) if detection == "threshold" else None
    lossy = n_modes > m
    first_totals = range(int(observed.sum()), n + 1) if detection == "threshold" else [int(observed.sum())]
    for first_total in first_totals:
        lost = n - first_total
        if lost < 0 or (lost > 0 and not lossy):
            continue
        if detection == "threshold":
            extras = fock_basis(first_total - clicked.shape[0], clicked.shape[0]) if clicked.shape[0] else \
                np.zeros((1 if first_total == 0 else 0, 0), dtype=np.int64)
        else:
            extras = np.zeros((1, 0), dtype=np.int64)
        tails = fock_basis(lost, n_modes - m) if lossy else np.zeros((1, 0), dtype=np.int64)
        for extra in extras:
            head = observed.copy()
            if detection == "threshold":
                head[clicked] += extra
            for tail in tails:
                yield np.concatenate([head, tail])


def pattern_probability(
    unitary: np.ndarray,
    input_state: Sequence[int] | np.ndarray,
    output_pattern: Sequence[int] | np.ndarray,
    *,
    model: str = "indistinguishable",
    indistinguishability: float = 1.0,
    transmission: float = 1.0,
    detection: str = "pnr",
    allow_subunitary: bool = False,
) -> float:
    """Exact probability of one detection pattern (same models and options as :func:`output_probabilities`).

    Lossless PNR detection with indistinguishable photons costs one permanent (fine up to n of
    about 25); loss, threshold detection and partial distinguishability sum over the hidden
    patterns and are meant for small n.

    Raises
    ------
    ValueError
        Invalid options, matrix or state; a pattern of the wrong length, with negative or
        non-integer counts (or counts above 1 for threshold detection); more than
        ``MAX_EXACT_OUTCOMES`` hidden patterns to sum; or a permanent costing more than
        :data:`~qlatent.photonics.permanents.MAX_PERMANENT_OPERATIONS` (64 photons in 64 distinct
        modes: ``64 * 2^63``).
    FloatingPointError
        If float64 precision is exceeded (estimated rounding error above :data:`PROBABILITY_TOLERANCE`,
        absolute and relative), or the probability is not finite.
    """
    x, counts, amplitudes = _prepare(unitary, input_state, model, indistinguishability, transmission,
                                     detection, allow_subunitary)
    m, n_modes, n = counts.shape[0], amplitudes.shape[0], int(counts.sum())
    observed = np.asarray(output_pattern)
    if observed.ndim != 1 or observed.shape[0] != m:
        raise ValueError(f"output pattern must have {m} entries (one per mode), got shape {observed.shape}")
    if observed.dtype.kind not in "iub" and not (observed.dtype.kind == "f" and np.all(observed == np.round(observed))):
        raise ValueError(f"output pattern must hold whole photon numbers, got {observed.tolist()}")
    observed = observed.astype(np.int64)
    if np.any(observed < 0):
        raise ValueError(f"output pattern has negative counts: {observed.tolist()}")
    if detection == "threshold" and np.any(observed > 1):
        raise ValueError(f"threshold detection patterns hold 0 or 1 per mode, got {observed.tolist()}")
    if observed.sum() > n:
        return 0.0
    if n_modes > m or detection == "threshold":
        hidden = n - int(observed.sum())
        hidden_modes = (n_modes - m) + (int(observed.sum()) if detection == "threshold" else 0)
        _check_size(hidden, max(hidden_modes, 1), "summing the hidden (lost or unresolved) photons")
    total = 0.0
    for pattern in _compatible_patterns(observed, n, n_modes, detection):
        total += _pattern_terms(amplitudes, counts, pattern, x)
    return float(_finite(np.array([total]))[0])
