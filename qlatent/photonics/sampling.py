"""Exact boson sampling in Numba for every photon model: one public wrapper, pure batched kernels.

Indistinguishable photons follow Clifford & Clifford's algorithm B: the photons are put in a uniformly
random order and placed one at a time; photon ``k`` lands in mode ``i`` with probability proportional
to ``|Per(A[(r_1 .. r_{k-1}, i), (1 .. k)])|^2``, expanded along its last row so that all ``m`` weights
cost one batch of column-deleted permanents plus O(m k). Those permanents come from a table of the
permanents of the sampled rows on every column subset, extended by one row per photon (n 2^(n-1)
operations in all; used up to ``SUBSET_TABLE_MAX`` photons, where it is the faster), and beyond
that from sums grouped by row multiplicity (:func:`~qlatent.photonics.permanents.column_deleted_permanents`),
whose cost ``prod (mu + 1)`` falls well below ``2^k`` when photons collide (Clifford & Clifford
2020). The same algorithm is exact for Fock inputs with several photons per mode (repeated
columns); the tests check it against Perceval.
Distinguishable photons each draw their output mode from ``|A[:, k]|^2``. In the partial model each
photon is independently interfering (probability ``x``) or distinguishable; uniform loss removes
each input photon with probability ``1 - eta`` before the interferometer (loss commutes with a
uniform-loss interferometer); per-mode loss samples the unitary dilation and drops the extra modes.

Every random number is drawn by the wrapper from a ``numpy.random.Generator`` as one array per
batch, ``(batch, streams, n)`` uniforms, so a sample depends only on its own row: the output is the
same for any number of threads and any ``batch_size``.

References
----------
P. Clifford and R. Clifford, "The classical complexity of boson sampling", SODA 2018
(arXiv:1706.01260), algorithm B and section 4.
P. Clifford and R. Clifford, "Faster classical boson sampling", arXiv:2005.04214 (2020).
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Sequence

import numba
import numpy as np
from numba import njit, prange

from qlatent.photonics.interferometers import validate_seed
from qlatent.photonics.models import check_options, input_columns, is_lossless, photon_isometry
from qlatent.photonics.permanents import MAX_PERMANENT_OPERATIONS, column_deleted_permanents_checked
from qlatent.photonics.validation import validate_input_state, validate_transfer_matrix

# Numba's default OpenMP threading layer shares libgomp with PyTorch: its first parallel launch set
# torch's intra-op thread count to Numba's (torch.get_num_threads() went from 1 to 2), and MolGAN
# steps trained after sampling a bank in the same process ran 40 times slower on a shared 2-core
# machine. The workqueue layer keeps its own threads, leaves torch alone, and samples as fast here.
# An explicit NUMBA_THREADING_LAYER is respected.
if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "workqueue"

LOST, INTERFERING, DISTINGUISHABLE = 0, 1, 2
SUBSET_TABLE_MAX = 8  # photon numbers up to this use the subset table (faster there, measured)
MAX_PHOTONS = int(np.iinfo(np.uint16).max)  # counts are stored as uint16
MAX_DRAW_BYTES = 1 << 28  # random numbers held at once by sample(): batches shrink to keep below this
SHOT_TOLERANCE = 1e-2
"""Largest bound on the probability that float64 rounding changes a shot before it is recomputed exactly.

Each placement step bounds the probability that its inverse-CDF pick differs from the exact
arithmetic's pick for the same uniform draw (:func:`placement_cdf_bound` for the steps on the
permanent sums, :func:`single_photon_walk_bound` for single-photon walks); a shot adds its steps'
bounds, and once the sum exceeds this the shot is not refused but recomputed from its own draws
in exact integer arithmetic (:func:`~qlatent.photonics.exact_shots.exact_shot`). Nothing is
conditioned on a path passing, so
each shot's law is within this of the exact law in total variation (:func:`sample_batch`); the
tolerance only trades speed for exactness. It cannot be much smaller: the exact recomputation is
cheap where float64 fails (few modes, many photons each: ``prod (mu + 1)`` coefficients), but not
for photons spread over many modes (``2^k``). Per-shot bounds measured with
``benchmarks/bench_precision.py`` (3,000 shots each, recorded in ``data/benchmarks/precision.json``;
the permanent sums' estimate as of 2026-12-01, blocked and with the updates' drift counted,
:func:`~qlatent.photonics.permanents.column_deleted_permanents_checked`):

=========================================  ===========  ============  ===========  =============
shots                                      median       99th pct.     max          over 1e-2
=========================================  ===========  ============  ===========  =============
Haar 16 photons / 32 modes                 7.5e-9       2.0e-8        3.9e-8       0
Haar 20 photons / 40 modes                 7.6e-8       2.5e-7        3.6e-7       0
Haar 24 photons / 48 modes                 7.8e-7       3.1e-6        4.8e-6       0
beam splitter 30 + 30                      6.7e-11      7.0e-6        2.6e-5       0
beam splitter 45 + 45                      2.2e-9       0.48          inf          169 (5.6 %)
=========================================  ===========  ============  ===========  =============

Before the blocked estimate, summing ``T`` terms one after another, Haar 24 / 48 reached 8.2e-4
(12 times under the tolerance, and a log-normal fit put 0.4 shots over it in a bank of 10^6:
such a shot's exact recomputation exceeds
:data:`~qlatent.photonics.exact_shots.MAX_EXACT_OPERATIONS`, so that bank would have stopped, on
every resume, with ``FloatingPointError``); now the worst of 3,000 is 2,000 times under it and the
fit puts fewer than 1e-30 shots over it. Beam-splitter shots over it are redone exactly, cheaply
(per shot, 2 cores shared: 30 + 30: 0.01 s, 45 + 45: 0.05 s, 100 + 100: 0.11 s); 45 + 45 redid
2 % of shots with the earlier, drift-blind estimate. A shot that could still not be redone stops
its bank with ``FloatingPointError`` naming it (never wrong samples); a shard's draws are fixed
by the request's seed, so such a request cannot finish, and a bank with another ``seed`` is the
way round.
"""
RARE_SHOT = 1e-9
"""Per-shot probability above which a number of interfering photons counts in the up-front cost bound.

With a transmission ``eta < 1`` or partial distinguishability ``x``, each photon sent in interferes
independently with probability ``eta x`` (``eta`` if ``x = 1``), so a shot interferes
``K ~ Binomial(n, eta x)`` photons. :class:`SamplerSetup` bounds the cost of the ``K`` that only
this fraction of shots exceeds, not of all ``n``: 32 photons into 32 bins at ``eta = 0.5`` (the
PT-2 latent) interfere at most 31 in all but 1e-9 of shots (all 32: 2.3e-10), which halves the bound
and brings it under the limit; the rare shot beyond runs anyway.
"""
NOT_FINITE, IMPRECISE = 1, 2  # codes of ``failed`` (see :func:`sample_batch`): shots redone exactly
_EPS = 2.0**-52  # twice the unit roundoff of float64


def likely_most_interfering(n_photons: int, probability: float) -> int:
    """The number of interfering photons that a shot exceeds with probability at most :data:`RARE_SHOT`.

    ``n_photons`` photons each interfere independently with ``probability`` (in (0, 1]; the
    transmission times the indistinguishability): the ``1 - RARE_SHOT`` quantile of
    ``Binomial(n_photons, probability)``, ``n_photons`` when ``probability`` is 1.
    """
    if n_photons == 0 or probability >= 1.0:
        return n_photons
    from scipy.stats import binom

    return int(binom.isf(RARE_SHOT, n_photons, probability))


def worst_case_operations(n_photons: int, n_modes: int) -> float:
    """Most operations one shot of ``n_photons`` interfering photons over ``n_modes`` modes can take.

    Placing photon ``k`` costs ``k + 1`` column sums per term of the grouped permanent sum, whose
    term count ``prod (mu + 1)`` over the modes already hit is at most ``2^k`` and at most its value
    for photons spread evenly over the modes; plus ``(k + 1) m`` for the weights.
    """
    total = 0.0
    for k in range(1, n_photons):
        quotient, remainder = divmod(k, n_modes)
        spread = (remainder * math.log2(quotient + 2) + (n_modes - remainder) * math.log2(quotient + 1))
        exponent = min(float(k), spread)
        if exponent > 1000.0:
            return math.inf
        total += (k + 1) * (2.0**exponent + n_modes)
    return total


def subsets_by_size(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Bit masks of the subsets of ``n`` columns ordered by size then value, and where each size starts."""
    masks = np.arange(1 << n, dtype=np.int64)
    sizes = np.array([bin(mask).count("1") for mask in range(1 << n)], dtype=np.int64)
    ordering = np.lexsort((masks, sizes))
    offsets = np.concatenate([[0], np.cumsum(np.bincount(sizes, minlength=n + 1))])
    return masks[ordering], offsets.astype(np.int64)


@njit(cache=True, inline="always")
def _placement_weights(sub, split, order, k, weights):
    # weights[0] + i weights[1] = sum_j A[i, order[j]] sub[j] (the amplitudes), weights[2] = |.|^2;
    # returns the total of weights[2]
    n_modes = weights.shape[1]
    for i in range(n_modes):
        weights[0, i] = 0.0
        weights[1, i] = 0.0
    for j in range(k + 1):
        cr = sub[j].real
        ci = sub[j].imag
        photon = order[j]
        for i in range(n_modes):
            ar = split[photon, 0, i]
            ai = split[photon, 1, i]
            weights[0, i] += ar * cr - ai * ci
            weights[1, i] += ar * ci + ai * cr
    total = 0.0
    for i in range(n_modes):
        weights[2, i] = weights[0, i] * weights[0, i] + weights[1, i] * weights[1, i]
        total += weights[2, i]
    return total


@njit(cache=True)
def single_photon_walk_bound(n_modes):
    """Bound on the probability that one single-photon placement picks another mode than exact arithmetic.

    A distinguishable photon, or the first interfering one, is placed by walking the running sums
    ``cdf`` of ``|A_ip|^2`` (float64, :class:`SamplerSetup`) to the first above ``u cdf[m - 1]``.
    Each ``|A_ip|^2`` is within ``3 eps`` of exact (relative), a running sum of ``i + 1``
    non-negative terms within ``(i + 4) eps`` and the target within ``eps``, so each normalised
    running sum ``F'_i`` is within ``(2 m + 6) eps`` of exact; the pick differs only if ``u``
    falls between ``F_i`` and ``F'_i`` for some ``i < m - 1``: at most ``(m - 1)(2 m + 6) eps``
    (``eps = 2^-52``). About 1e-12 for 48 modes.
    """
    return (n_modes - 1) * (2 * n_modes + 6) * _EPS


@njit(cache=True)
def placement_cdf_bound(split, order, k, sub, sub_error, weights, total):
    """Bound on the probability that one placement step picks another mode than exact arithmetic would.

    The step places photon ``order[k]`` by an inverse-CDF walk: with the computed weights
    ``w'_i = |a'_i|^2`` (``weights[2]``, sum ``W' = total``) it picks the first mode ``i < m - 1``
    whose running sum exceeds ``u W'``, else ``m - 1``; exact arithmetic picks the first ``i``
    with ``F_i = C_i / W > u`` (``C_i = sum_{j <= i} w_j``, ``W = C_{m-1}``), for the same uniform
    ``u``. The two picks differ only if ``u`` falls between ``F_i`` and the computed ``F'_i`` for
    some ``i < m - 1``, which has probability at most ``sum_{i < m-1} |F'_i - F_i|``: the error
    of the cumulative distribution, not the total variation of the weights (``m / 2`` times
    smaller for spread weights).

    Derivation. ``a'_i = sum_j A[i, order[j]] s'_j`` expands the permanent along its last row over
    the computed column-deleted permanents ``s'_j = sub[j]``, with ``|s'_j - s_j| <= e_j``
    (``sub_error[j]``: 0 for exact copies, else the permanent sums' estimate). The expansion's own
    rounding is at most ``(k + 3) eps sum_j |A_ij| |s'_j|`` (``k + 1`` complex products summed;
    moduli as ``|re| + |im|``, which is >= the modulus), so ``|a'_i - a_i| <= d_i = sum_j |A_ij|
    (e_j + (k + 3) eps |s'_j|)`` and ``|w'_i - w_i| <= D_i = (2 |a'_i| + d_i) d_i + 2 eps w'_i``
    (the last term: rounding of the squares). Let ``S_i = sum_{j <= i} D_j`` and ``S = S_{m-1}``.
    The exact running sums of the ``w'`` are ``C_i + e_i`` and ``W + E`` with ``|e_i| <= S_i`` and
    ``|E - e_i| <= S - S_i`` (the weights after ``i``), and with ``F^_i = (C_i + e_i) / (W + E)``:
    ``F^_i - F_i = (e_i - F^_i E) / W = ((1 - F^_i) e_i - F^_i (E - e_i)) / W``, so
    ``|F^_i - F_i| <= ((1 - F^_i) S_i + F^_i (S - S_i)) / W`` with ``W >= W' (1 - m eps) - S``.
    Summing the running sums in float64 (``i`` non-negative terms, within ``i eps``), the total
    (``m eps``) and the target ``u W'`` (``eps``) moves each ``F'_i`` by at most ``2 m eps`` from
    ``F^_i``, which changes the numerator by at most ``2 m eps S``. Hence

    ``bound = sum_{i<m-1} ((1 - F'_i) S_i + F'_i (S - S_i) + 2 m eps S) / (W' (1 - m eps) - S)
    + (m - 1) 2 m eps``

    (``inf`` if the denominator is not positive). The common factor and power-of-two scale of
    ``sub`` cancel in the ratio. The bound is as good as ``sub_error``:
    :func:`~qlatent.photonics.permanents.column_deleted_permanents_checked` estimates it for the
    plain and the grouped sums alike. ``split``: shape ``(n, 2, m)``, real and imaginary parts of
    the photons' amplitudes; ``order``: the photons' placement order; ``sub``, ``sub_error``:
    shape ``>= k + 1``; ``weights``: shape ``(3, m)``; dimensionless, in [0, inf] (NaN if the
    weights are not finite). ``sub_error`` and ``weights[0]`` are overwritten (scratch).
    """
    n_modes = weights.shape[1]
    rounding = (k + 3) * _EPS
    for j in range(k + 1):
        sub_error[j] += rounding * (abs(sub[j].real) + abs(sub[j].imag))
    spread = 0.0  # S
    for i in range(n_modes):
        d = 0.0
        for j in range(k + 1):
            photon = order[j]
            d += (abs(split[photon, 0, i]) + abs(split[photon, 1, i])) * sub_error[j]
        weights[0, i] = (2.0 * math.sqrt(weights[2, i]) + d) * d + 2.0 * _EPS * weights[2, i]  # D_i
        spread += weights[0, i]
    denominator = total * (1.0 - n_modes * _EPS) - spread
    if not denominator > 0.0:
        return np.inf
    numerator = 0.0
    partial = 0.0  # S_i
    cumulative = 0.0
    for i in range(n_modes - 1):
        partial += weights[0, i]
        cumulative += weights[2, i]
        fraction = min(1.0, cumulative / total)
        numerator += (1.0 - fraction) * partial + fraction * max(spread - partial, 0.0)
    numerator += (n_modes - 1) * 2.0 * n_modes * _EPS * spread
    return numerator / denominator + (n_modes - 1) * 2.0 * n_modes * _EPS


@njit(cache=True)
def _sample_rows(first, last, photons, cdf, status, draws, n_out, table_max, subsets, offsets, out, failed,
                 tolerance, shot_bound, order, rows, multiplicity, slot, work, state, table, lowest_bit, sub,
                 weights, split, sub_error):
    # One loop over the samples with no per-sample call: calls taking arrays pay reference counting.
    n, n_modes = photons.shape
    walk = single_photon_walk_bound(n_modes)
    for b in range(first, last):
        bound = 0.0
        n_int = 0
        for k in range(n):
            if status[b, k] == DISTINGUISHABLE:
                bound += walk
                target = draws[b, 1, k] * cdf[k, n_modes - 1]
                i = 0
                while i < n_modes - 1 and cdf[k, i] <= target:
                    i += 1
                if i < n_out:
                    out[b, i] += 1
            elif status[b, k] == INTERFERING:
                j = n_int
                while j > 0 and draws[b, 0, order[j - 1]] > draws[b, 0, k]:
                    order[j] = order[j - 1]
                    j -= 1
                order[j] = k
                n_int += 1
        use_table = n_int <= table_max
        if n_int > 0:
            bound += walk
        if not bound <= tolerance:  # only with very many modes and photons: redo the shot exactly
            failed[b] = IMPRECISE
            shot_bound[b] = bound
            continue
        table[0] = 1.0
        n_distinct = 0
        for k in range(n_int):
            if k == 0:
                # one photon: the weights are |A[i, photon]|^2, whose running sums are the cdf
                photon = order[0]
                target = draws[b, 1, photon] * cdf[photon, n_modes - 1]
                i = 0
                while i < n_modes - 1 and cdf[photon, i] <= target:
                    i += 1
            else:
                if use_table:
                    full = (1 << (k + 1)) - 1
                    for j in range(k + 1):
                        sub[j] = table[full ^ (1 << j)]
                elif k == 1:
                    sub[0] = rows[0, 1]
                    sub[1] = rows[0, 0]
                    sub_error[0] = 0.0  # copies: exact
                    sub_error[1] = 0.0
                else:
                    column_deleted_permanents_checked(rows, multiplicity, n_distinct, work, state, sub, sub_error)
                    # Rescale by a power of two (exact, so the draw is unchanged) before squaring:
                    # with many photons in one mode these permanents reach 1e154 and more.
                    largest = 0.0
                    for j in range(k + 1):
                        size = max(abs(sub[j].real), abs(sub[j].imag))
                        if size > largest:
                            largest = size
                    if largest > 0.0 and largest < np.inf:
                        factor = math.ldexp(1.0, -math.frexp(largest)[1])
                        for j in range(k + 1):
                            sub[j] *= factor
                            sub_error[j] *= factor
                total = _placement_weights(sub, split, order, k, weights)
                if not (total > 0.0 and total < np.inf):
                    failed[b] = NOT_FINITE  # redone exactly by SamplerSetup.run
                    break
                if not use_table:
                    # the pick differs from the exact one for the same draw with probability at most
                    # this step's bound (placement_cdf_bound): hand the shot over to exact arithmetic
                    # before rounding noise can pick a mode
                    bound += placement_cdf_bound(split, order, k, sub, sub_error, weights, total)
                    if not bound <= tolerance:
                        failed[b] = IMPRECISE  # redone exactly by SamplerSetup.run
                        break
                target = draws[b, 1, order[k]] * total
                i = 0
                cumulative = 0.0
                while i < n_modes - 1:
                    cumulative += weights[2, i]
                    if cumulative > target:
                        break
                    i += 1
            if use_table:
                if k + 1 < n_int:
                    for position in range(offsets[k + 1], offsets[k + 2]):
                        mask = subsets[position]
                        if mask >= (1 << n_int):
                            break
                        z = 0.0 + 0.0j
                        rest = mask
                        while rest:
                            c = lowest_bit[rest]
                            z += photons[order[c], i] * table[mask ^ (1 << c)]
                            rest &= rest - 1
                        table[mask] = z
            elif slot[i] < 0:
                slot[i] = n_distinct
                multiplicity[n_distinct] = 1
                for j in range(n_int):
                    rows[n_distinct, j] = photons[order[j], i]
                n_distinct += 1
            else:
                multiplicity[slot[i]] += 1
            if i < n_out:
                out[b, i] += 1
        shot_bound[b] = bound
        if not use_table:
            for i in range(n_modes):
                slot[i] = -1


@njit(cache=True, parallel=True)
def sample_batch(photons, cdf, status, draws, n_out, table_max, subsets, offsets, n_chunks, out, failed,
                 n_interfering, tolerance, shot_bound):
    """Fill ``out`` (zeros, one row per sample) from the random numbers given; pure, thread-count independent.

    ``photons[p]``: output amplitudes of photon ``p`` over all ``m'`` modes; ``cdf[p]``: running sums
    of their squared moduli; ``status``: one row of ``n`` per sample; ``draws[b, 0]`` orders the
    interfering photons, ``draws[b, 1, p]`` places photon ``p``.
    ``table_max``: interfering-photon numbers up to this use the subset table, above it the
    repeated-row Glynn sums; ``subsets, offsets = subsets_by_size(min(n, table_max))``.
    ``n_interfering``: most photons that can interfere in one sample (0 for distinguishable
    photons), which sizes the permanent work space.

    ``shot_bound`` (float64, shape ``(b,)``) receives each shot's bound ``B`` on the probability
    that some placement picks another mode than exact arithmetic would for the same draws: the
    sum of :func:`placement_cdf_bound` over its steps on the permanent sums (more than
    ``table_max`` interfering photons) and of :func:`single_photon_walk_bound` over its
    single-photon walks, up to the step where it exceeds ``tolerance``. ``failed`` (uint8, shape
    ``(b,)``, zeros) marks ``IMPRECISE`` (2) a shot whose bound exceeds ``tolerance`` and
    ``NOT_FINITE`` (1) one with a placement weight that is not finite and positive; such a shot
    stops there (its row of ``out`` is incomplete) and the others go on: the caller recomputes
    the marked shots exactly from the same draws (:meth:`SamplerSetup.run`). Not counted: the
    steps of shots of at most ``table_max`` interfering photons (subset-table permanents of at
    most 8 x 8 matrices; their rounding is not bounded).

    Why the marked shots' exact redo makes the output exact up to ``tolerance`` per shot: let
    ``f(draws)`` be the exact algorithm's outcome for a shot's draws, so ``f(draws)`` follows the
    exact law. The returned outcome equals ``f(draws)`` except when the shot was not marked yet
    its float64 path differs from the exact one. Follow both paths on the same draws: while they
    agree, the state at step ``k`` is the exact one and ``u_k`` (the placement draw of the next
    photon) is independent of it, so they first differ at step ``k`` with probability at most
    ``b_k``, the step's bound computed on that shared state, and only steps whose running sum of
    bounds is at most ``tolerance`` are reached unmarked. So ``P(returned != f(draws)) <=
    E[sum of the b_k whose running sum stays <= tolerance] <= tolerance``, and the total-variation
    distance between a shot's law and the exact one is at most ``tolerance`` whatever the path --
    nothing is conditioned on passing. (Refusing instead of redoing would condition on passing;
    the refused paths are tied to particular outcomes, which biased the accepted ones.)
    ``inf`` as ``tolerance`` only measures.
    """
    n, n_modes = photons.shape
    n_rows = status.shape[0]
    chunk = (n_rows + n_chunks - 1) // n_chunks
    for c in prange(n_chunks):
        order = np.empty(n, dtype=np.int64)
        rows = np.empty((n_interfering, n_interfering + 1), dtype=np.complex128)
        multiplicity = np.zeros(n, dtype=np.int64)
        slot = np.full(n_modes, -1, dtype=np.int64)
        work = np.empty((9, n + 1), dtype=np.complex128)
        state = np.empty((4, n + 1), dtype=np.int64)
        table = np.empty(1 << min(n, table_max), dtype=np.complex128)
        lowest_bit = np.zeros(table.shape[0], dtype=np.int64)
        for mask in range(1, table.shape[0]):
            while not (mask >> lowest_bit[mask]) & 1:
                lowest_bit[mask] += 1
        sub = np.empty(n + 1, dtype=np.complex128)
        weights = np.empty((3, n_modes), dtype=np.float64)
        split = np.empty((n, 2, n_modes), dtype=np.float64)
        sub_error = np.zeros(n + 1, dtype=np.float64)
        for p in range(n):
            for i in range(n_modes):
                split[p, 0, i] = photons[p, i].real
                split[p, 1, i] = photons[p, i].imag
        _sample_rows(c * chunk, min(n_rows, (c + 1) * chunk), photons, cdf, status, draws, n_out,
                     table_max, subsets, offsets, out, failed, tolerance, shot_bound, order, rows, multiplicity,
                     slot, work, state, table, lowest_bit, sub, weights, split, sub_error)


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


class SamplerSetup:
    """What every batch of one sampling task shares: the photons' amplitudes, the options, the tables.

    Built (and validated) once per task by :func:`sample`, :func:`sample_postselected` and the
    local backend of :mod:`qlatent.qpu`; arguments as :func:`sample_postselected`.
    """

    def __init__(self, unitary, input_state, model, indistinguishability, transmission, detection,
                 allow_subunitary, min_detected) -> None:
        self.x, self.eta = check_options(model, indistinguishability, transmission, detection)
        self.detection = detection
        transfer = validate_transfer_matrix(unitary, allow_subunitary=allow_subunitary, project=True)
        counts = validate_input_state(input_state, transfer.shape[0], max_photons=MAX_PHOTONS)
        n_modes_out = transfer.shape[0] * (1 if is_lossless(transfer) else 2)  # the isometry's rows
        self.n_interfering = int(counts.sum()) if self.x > 0.0 else 0
        likely = likely_most_interfering(self.n_interfering, self.eta * (self.x if self.x < 1.0 else 1.0))
        operations = worst_case_operations(likely, n_modes_out)
        if operations > MAX_PERMANENT_OPERATIONS:
            of = "" if likely == self.n_interfering else \
                f" (of the {self.n_interfering} sent in, in all but {RARE_SHOT:g} of shots)"
            raise ValueError(f"{likely} interfering photons{of} in {transfer.shape[0]} modes may cost up to "
                             f"{operations:.3g} operations per shot, above the limit of "
                             f"{MAX_PERMANENT_OPERATIONS:.3g}: send fewer photons")
        self.photons = np.ascontiguousarray(photon_isometry(transfer, input_columns(counts)).T)
        self.cdf = np.ascontiguousarray(np.cumsum(np.abs(self.photons) ** 2, axis=1))
        self.n_modes, self.n = transfer.shape[0], self.photons.shape[0]
        if isinstance(min_detected, bool) or not isinstance(min_detected, numbers.Integral) or min_detected < 0:
            raise ValueError(f"min_detected must be a non-negative integer, got {min_detected!r}")
        if min_detected > self.n:
            raise ValueError(f"post-selection threshold min_detected={int(min_detected)} exceeds the {self.n} "
                             "photons sent in: no shot could pass")
        self.min_detected = int(min_detected)
        # with a unitary and PNR detectors every surviving photon is detected, so the survivors decide
        self.survivors_decide = detection == "pnr" and self.photons.shape[1] == self.n_modes
        self.dtype = np.uint8 if self.n <= np.iinfo(np.uint8).max else np.uint16
        self.n_streams = 2 + (self.eta < 1.0) + (0.0 < self.x < 1.0)
        self.subsets, self.offsets = subsets_by_size(min(self.n, SUBSET_TABLE_MAX))
        self._exact = None  # the amplitudes as exact integers, made on first need (qlatent.photonics.exact_shots)

    def draw(self, rows: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """The random numbers of ``rows`` shots and each photon's status (lost, interfering, distinguishable)."""
        draws = rng.random((rows, self.n_streams, self.n))
        status = np.full((rows, self.n), INTERFERING if self.x > 0.0 else DISTINGUISHABLE, dtype=np.int8)
        stream = 2
        if 0.0 < self.x < 1.0:
            status[draws[:, stream] >= self.x] = DISTINGUISHABLE
            stream += 1
        if self.eta < 1.0:
            status[draws[:, stream] >= self.eta] = LOST
        return draws, status

    def run(self, draws: np.ndarray, status: np.ndarray, first: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """The detection patterns of the given shots (each depends on its own row only), and which were redone.

        Every shot is sampled in float64 (:func:`sample_batch`); a shot whose bound on the
        probability of a rounding-changed pick exceeds :data:`SHOT_TOLERANCE`, or whose weights
        leave the float64 range, is then recomputed from its own draws in exact integer
        arithmetic (:func:`~qlatent.photonics.exact_shots.exact_shot`), so each shot's law is
        within ``SHOT_TOLERANCE`` of the
        exact one in total variation. Returns the patterns, shape (rows, modes), and the indices
        (into this call's rows) of the shots redone; nothing is kept on the shared setup, so
        concurrent calls do not interfere. Raises ``FloatingPointError`` (naming the shots, numbered from
        ``first``) only when the exact recomputation would exceed
        :data:`~qlatent.photonics.exact_shots.MAX_EXACT_OPERATIONS` for this call.
        """
        n_rows = status.shape[0]
        out = np.zeros((n_rows, self.n_modes), dtype=self.dtype)
        failed = np.zeros(n_rows, dtype=np.uint8)
        shot_bound = np.zeros(n_rows, dtype=np.float64)
        redone = np.zeros(0, dtype=np.int64)
        if n_rows:
            with numba.parallel_chunksize(1):
                sample_batch(self.photons, self.cdf, status, draws, self.n_modes, SUBSET_TABLE_MAX, self.subsets,
                             self.offsets, min(n_rows, 32 * numba.get_num_threads()), out, failed,
                             self.n_interfering, SHOT_TOLERANCE, shot_bound)
            redone = np.flatnonzero(failed)
            from qlatent.photonics.exact_shots import MAX_EXACT_OPERATIONS, ExactTooCostly, exact_shot

            budget = [float(MAX_EXACT_OPERATIONS)]  # charged step by step: at most about two minutes in all
            for position, b in enumerate(redone):
                try:
                    out[b] = exact_shot(self, draws[b], status[b], budget)
                except ExactTooCostly as error:
                    named = ", ".join(str(first + r) for r in redone[:5]) + \
                        (", ..." if len(redone) > 5 else "")
                    where = f"{error}; reached at shot {first + b}, the {position + 1}th redone"
                    raise FloatingPointError(
                        f"float64 precision is not enough for {len(redone)} of {n_rows} shots ({named}) of "
                        f"{self.n_interfering} photons in {self.n_modes} modes (their rounding-error bounds exceed "
                        f"SHOT_TOLERANCE = {SHOT_TOLERANCE:g}), and recomputing them exactly needs more than "
                        f"MAX_EXACT_OPERATIONS = {MAX_EXACT_OPERATIONS:.3g} operations ({where}): send fewer "
                        "photons or sample fewer shots per call") from None
        if self.detection == "threshold":
            np.minimum(out, 1, out=out)
        return out, redone

    def sample(self, n_samples: int, rng: np.random.Generator, batch_size: int = 10_000) -> np.ndarray:
        """:func:`sample`'s shots from this setup, drawn from ``rng`` (every shot kept, whatever ``min_detected``).

        Build the setup once and call this for each part of a bank (the local backend's shards):
        the matrix is validated and projected once, not once per part. ``n_samples`` and
        ``batch_size`` are positive integers (checked by :func:`sample`); returns ``(n_samples, m)``
        counts, the same as :func:`sample` with the same arguments and generator.
        """
        # the shots do not depend on the batch size, so batches shrink to bound the random numbers held
        batch_size = max(1, min(batch_size, MAX_DRAW_BYTES // (8 * self.n_streams * self.n)))
        out = np.zeros((n_samples, self.n_modes), dtype=self.dtype)
        for start in range(0, n_samples, batch_size):
            rows = min(batch_size, n_samples - start)
            out[start:start + rows] = self.run(*self.draw(rows, rng), first=start)[0]
        return out

    def sample_postselected(self, n_samples: int, rng: np.random.Generator, batch_size: int = 10_000,
                            max_shots: int | None = None) -> tuple[np.ndarray, int, int]:
        """:func:`sample_postselected` from this setup (post-selected on its ``min_detected``), drawn from ``rng``.

        Returns ``(counts, n_shots, n_passed)`` as :func:`sample_postselected`, and raises its
        ``ValueError`` for a ``batch_size`` whose random numbers exceed four times
        :data:`MAX_DRAW_BYTES` or a post-selection too rare within ``max_shots``.
        """
        if batch_size * 8 * self.n_streams * self.n > 4 * MAX_DRAW_BYTES:
            raise ValueError(f"batch_size={batch_size} with {self.n} photons needs "
                             f"{batch_size * 8 * self.n_streams * self.n / 2**30:.3g} GiB of random numbers per "
                             "round; lower batch_size")
        max_shots = 1000 * n_samples + batch_size if max_shots is None else max_shots
        parts: list[np.ndarray] = []
        accepted = examined = passed = 0
        for counts, n_examined, n_passed in postselected_rounds(self, rng, n_samples, batch_size):
            parts.append(counts)
            accepted += len(counts)
            examined += n_examined
            passed += n_passed
            if accepted < n_samples and examined >= max_shots:
                raise ValueError(f"post-selection on at least {self.min_detected} detected photons accepted {passed} "
                                 f"of {examined} shots (max_shots={max_shots}): too rare to collect {n_samples}")
        return np.concatenate(parts), examined, passed


def sample(
    unitary: np.ndarray,
    input_state: Sequence[int] | np.ndarray,
    n_samples: int,
    *,
    model: str = "indistinguishable",
    indistinguishability: float = 1.0,
    transmission: float = 1.0,
    detection: str = "pnr",
    allow_subunitary: bool = False,
    seed: int | np.random.Generator | None = None,
    batch_size: int = 10_000,
) -> np.ndarray:
    """Draw exact detection patterns of photons sent through a linear interferometer.

    Parameters
    ----------
    unitary : array_like, shape (m, m)
        Interferometer; sub-unitary (per-mode loss) only with ``allow_subunitary=True``.
    input_state : sequence of int, length m
        Photons per input mode (several per mode allowed).
    n_samples : int
        Number of patterns, > 0.
    model : {"indistinguishable", "distinguishable", "partial"}
        Photon model; "partial" uses ``indistinguishability``.
    indistinguishability : float in [0, 1]
        Partial model: each photon independently interferes with probability ``x``, equivalent to
        pairwise internal overlaps ``x`` and HOM visibility ``x^2`` (see
        :mod:`qlatent.photonics.probabilities`).
    transmission : float in [0, 1]
        Uniform transmission ``eta``: each input photon survives with probability ``eta``.
    detection : {"pnr", "threshold"}
        Photon-number-resolving counts, or clicks (counts clipped to 1).
    allow_subunitary : bool
        Accept a sub-unitary transfer matrix, sampled exactly through its unitary dilation.
    seed : int, numpy.random.Generator or None
        Source of all randomness. A Generator is advanced by ``n_samples`` shots' worth of random
        numbers, so consecutive calls on one Generator give the rows one call for their total
        would (what a resumed sampling run relies on).
    batch_size : int
        Samples per kernel call; memory is proportional to it. The samples do not depend on it.

    Returns
    -------
    ndarray, shape (n_samples, m)
        Counts per output mode, ``uint8`` (``uint16`` for more than 255 photons).

    Raises
    ------
    ValueError
        Non-positive or non-integer ``n_samples`` or ``batch_size``, unknown ``model`` or
        ``detection``, ``indistinguishability`` or ``transmission`` outside [0, 1] or NaN, a
        ``seed`` that is not a non-negative int, a Generator or None, an invalid matrix or input
        state, more than ``MAX_PHOTONS`` (65,535) photons, or interfering photons whose worst-case
        cost per shot (:func:`worst_case_operations`) exceeds
        :data:`~qlatent.photonics.permanents.MAX_PERMANENT_OPERATIONS` (with loss or partial
        distinguishability: for the most photons that all but :data:`RARE_SHOT` of shots interfere).
    FloatingPointError
        Only if shots whose float64 rounding bound exceeds :data:`SHOT_TOLERANCE` (or whose
        weights leave the float64 range) would cost more than
        :data:`~qlatent.photonics.exact_shots.MAX_EXACT_OPERATIONS` to
        recompute exactly (many photons spread over many modes); the message names them.

    Notes
    -----
    A matrix within :data:`~qlatent.photonics.validation.UNITARITY_TOLERANCE` of unitary is
    projected onto the nearest unitary and sampled as lossless, with or without
    ``allow_subunitary``. Permanents are rescaled by powers of two before squaring, so many
    photons in one mode neither overflow nor change the draw. Each shot is sampled in float64
    with a bound on the probability that rounding changed it; a shot whose bound exceeds
    :data:`SHOT_TOLERANCE` is recomputed from the same random numbers in exact integer arithmetic
    (50 + 50 photons on a balanced beam splitter: a few percent of shots), so every shot's law is
    within ``SHOT_TOLERANCE`` of the exact one in total variation, whichever shots are redone
    (:func:`sample_batch`). The bound covers every step except those of shots with at most
    ``SUBSET_TABLE_MAX`` (8) interfering photons, and the permanent sums' part of it is an
    estimate (:func:`~qlatent.photonics.permanents.column_deleted_permanents_checked`).
    """
    n_samples = _positive_int("n_samples", n_samples)
    batch_size = _positive_int("batch_size", batch_size)
    validate_seed(seed)
    setup = SamplerSetup(unitary, input_state, model, indistinguishability, transmission, detection,
                         allow_subunitary, 0)
    return setup.sample(n_samples, np.random.default_rng(seed), batch_size)


def sample_postselected(
    unitary: np.ndarray,
    input_state: Sequence[int] | np.ndarray,
    n_samples: int,
    *,
    min_detected: int,
    model: str = "indistinguishable",
    indistinguishability: float = 1.0,
    transmission: float = 1.0,
    detection: str = "pnr",
    allow_subunitary: bool = False,
    seed: int | np.random.Generator | None = None,
    batch_size: int = 10_000,
    max_shots: int | None = None,
) -> tuple[np.ndarray, int, int]:
    """Draw shots until ``n_samples`` of them have at least ``min_detected`` detected photons (or clicks).

    What a lossy photonic processor does when shots with too few detections are discarded (ORCA's
    PT-2 runs keep shots with at least 16 detected photons). Shots are drawn in rounds; every
    rejected shot is counted, so ``n_passed / n_shots`` estimates the acceptance rate. Uniform
    loss removes each photon before the interferometer (it commutes with a lossless one), so the
    survivors are known before any photon is placed: with a unitary and PNR detection a shot with
    fewer than ``min_detected`` survivors is rejected without being sampled, and only the shots
    needed are sampled. With threshold detection or per-mode loss the survivors only bound the
    detections, so fewer survivors than ``min_detected`` still rejects at once, and the rest is
    sampled and filtered on what is detected.

    Every accepted shot is distributed exactly as :func:`sample`'s shots conditioned on the
    post-selection. The result depends on ``seed``, ``n_samples`` and ``batch_size``, never on
    the number of threads.

    Parameters
    ----------
    min_detected : int
        Post-selection threshold, ``0 <= min_detected <=`` the number of photons sent in
        (0 accepts every shot).
    max_shots : int, optional
        Give up after this many shots (default: ``1000 * n_samples + batch_size``).
    unitary, input_state, n_samples, model, indistinguishability, transmission, detection
        As :func:`sample`.
    allow_subunitary, seed, batch_size
        As :func:`sample` (``batch_size``: shots drawn per round at most).

    Returns
    -------
    counts : ndarray, shape (n_samples, m)
        The accepted shots, in the order drawn.
    n_shots : int
        Shots examined, accepted or not.
    n_passed : int
        Shots among them that passed the post-selection (at least ``n_samples``: a round's passing
        shots beyond those needed are not sampled but still counted), so ``n_passed / n_shots`` is
        the acceptance rate.

    Raises
    ------
    ValueError
        As :func:`sample`; ``min_detected`` negative, not an integer or above the number of
        photons; or fewer than ``n_samples`` accepted within ``max_shots`` (the acceptance so far
        is in the message).
    FloatingPointError
        As :func:`sample` (an exact recomputation above :data:`~qlatent.photonics.exact_shots.MAX_EXACT_OPERATIONS`).
    """
    n_samples = _positive_int("n_samples", n_samples)
    batch_size = _positive_int("batch_size", batch_size)
    validate_seed(seed)
    setup = SamplerSetup(unitary, input_state, model, indistinguishability, transmission, detection, allow_subunitary,
                         min_detected)
    return setup.sample_postselected(n_samples, np.random.default_rng(seed), batch_size,
                                     None if max_shots is None else _positive_int("max_shots", max_shots))


def postselection_round_size(remaining: int, passed: int, examined: int, batch_size: int, min_detected: int) -> int:
    """Shots to draw in the next round.

    Without post-selection, ``min(batch_size, remaining)`` (:func:`sample`'s batches). With it,
    enough for the ``remaining`` shots at the acceptance seen so far plus 10 % and 16 shots, at
    most ``batch_size`` (``batch_size`` while nothing passed yet). A deterministic function of the
    counts, so a resumed run draws the same rounds.
    """
    if min_detected == 0 or examined == 0:
        return min(batch_size, remaining)
    if passed == 0:
        return batch_size
    return min(batch_size, int(np.ceil(1.1 * remaining * examined / passed)) + 16)


def postselected_rounds(setup: SamplerSetup, rng: np.random.Generator, n_samples: int, batch_size: int,
                        accepted: int = 0, examined: int = 0, passed: int = 0):
    """Yield ``(accepted counts, shots examined, shots passed)`` round by round until ``n_samples`` are accepted.

    ``rng`` is at a round boundary whenever this generator is suspended, so saving its state with
    the counts so far and the totals ``accepted``, ``examined``, ``passed`` lets a run resume
    exactly where it stopped (pass them back in). With ``setup.min_detected == 0`` every shot is
    accepted and the rounds are :func:`sample`'s batches, drawn from ``rng`` in the same order.
    """
    while accepted < n_samples:
        remaining = n_samples - accepted
        rows = postselection_round_size(remaining, passed, examined, batch_size, setup.min_detected)
        draws, status = setup.draw(rows, rng)
        keep = np.flatnonzero((status != LOST).sum(axis=1) >= setup.min_detected)
        if setup.survivors_decide:  # exact: sample only the passing shots that are needed
            n_passed = len(keep)
            counts = setup.run(draws[keep[:remaining]], status[keep[:remaining]])[0]
        else:
            counts = setup.run(draws[keep], status[keep])[0]
            counts = counts[counts.sum(axis=1, dtype=np.int64) >= setup.min_detected]
            n_passed = len(counts)
            counts = counts[:remaining]
        accepted += len(counts)
        examined += rows
        passed += n_passed
        yield counts, rows, n_passed
