"""Exact boson sampling in Numba for every photon model: one public wrapper, pure batched kernels.

Indistinguishable photons follow Clifford & Clifford's algorithm B: the photons are put in a uniformly
random order and placed one at a time; photon ``k`` lands in mode ``i`` with probability proportional
to ``|Per(A[(r_1 .. r_{k-1}, i), (1 .. k)])|^2``, expanded along its last row so that all ``m`` weights
cost one batch of column-deleted permanents plus O(m k). Those permanents come from a table of the
permanents of the sampled rows on every column subset, extended by one row per photon (n 2^(n-1)
operations in all; used up to ``SUBSET_TABLE_MAX`` photons, where it is the faster), and beyond
that from Glynn sums grouped by row multiplicity (:func:`~qlatent.photonics.permanents.column_deleted_permanents`),
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

import numbers
import os
from collections.abc import Sequence

import numba
import numpy as np
from numba import njit, prange

from qlatent.photonics.models import check_options, input_columns, photon_isometry
from qlatent.photonics.permanents import column_deleted_permanents
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


def subsets_by_size(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Bit masks of the subsets of ``n`` columns ordered by size then value, and where each size starts."""
    masks = np.arange(1 << n, dtype=np.int64)
    sizes = np.array([bin(mask).count("1") for mask in range(1 << n)], dtype=np.int64)
    ordering = np.lexsort((masks, sizes))
    offsets = np.concatenate([[0], np.cumsum(np.bincount(sizes, minlength=n + 1))])
    return masks[ordering], offsets.astype(np.int64)


@njit(cache=True)
def _sample_rows(first, last, photons, cdf, status, draws, n_out, table_max, subsets, offsets, out,
                 order, rows, multiplicity, slot, work, state, table, lowest_bit, sub, weights, split):
    # One loop over the samples with no per-sample call: calls taking arrays pay reference counting.
    n, n_modes = photons.shape
    for b in range(first, last):
        n_int = 0
        for k in range(n):
            if status[b, k] == DISTINGUISHABLE:
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
                else:
                    column_deleted_permanents(rows, multiplicity, n_distinct, work, state, sub)
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
        if not use_table:
            for i in range(n_modes):
                slot[i] = -1


@njit(cache=True, parallel=True)
def sample_batch(photons, cdf, status, draws, n_out, table_max, subsets, offsets, n_chunks, out):
    """Fill ``out`` (zeros, one row per sample) from the random numbers given; pure, thread-count independent.

    ``photons[p]``: output amplitudes of photon ``p`` over all ``m'`` modes; ``cdf[p]``: running sums
    of their squared moduli; ``status``: one row of ``n`` per sample; ``draws[b, 0]`` orders the
    interfering photons, ``draws[b, 1, p]`` places photon ``p``.
    ``table_max``: interfering-photon numbers up to this use the subset table, above it the
    repeated-row Glynn sums; ``subsets, offsets = subsets_by_size(min(n, table_max))``.
    """
    n, n_modes = photons.shape
    n_rows = status.shape[0]
    chunk = (n_rows + n_chunks - 1) // n_chunks
    for c in prange(n_chunks):
        order = np.empty(n, dtype=np.int64)
        rows = np.empty((n, n + 1), dtype=np.complex128)
        multiplicity = np.zeros(n, dtype=np.int64)
        slot = np.full(n_modes, -1, dtype=np.int64)
        work = np.empty((8, n + 1), dtype=np.complex128)
        state = np.empty((4, n + 1), dtype=np.int64)
        table = np.empty(1 << min(n, table_max), dtype=np.complex128)
        lowest_bit = np.zeros(table.shape[0], dtype=np.int64)
        for mask in range(1, table.shape[0]):
            while not (mask >> lowest_bit[mask]) & 1:
                lowest_bit[mask] += 1
        sub = np.empty(n + 1, dtype=np.complex128)
        weights = np.empty((3, n_modes), dtype=np.float64)
        split = np.empty((n, 2, n_modes), dtype=np.float64)
        for p in range(n):
            for i in range(n_modes):
                split[p, 0, i] = photons[p, i].real
                split[p, 1, i] = photons[p, i].imag
        _sample_rows(c * chunk, min(n_rows, (c + 1) * chunk), photons, cdf, status, draws, n_out,
                     table_max, subsets, offsets, out, order, rows, multiplicity, slot, work, state, table,
                     lowest_bit, sub, weights, split)


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


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
        Source of all randomness.
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
        ``detection``, ``indistinguishability`` or ``transmission`` outside [0, 1] or NaN, or an
        invalid matrix or input state.
    """
    n_samples = _positive_int("n_samples", n_samples)
    batch_size = _positive_int("batch_size", batch_size)
    x, eta = check_options(model, indistinguishability, transmission, detection)
    transfer = validate_transfer_matrix(unitary, allow_subunitary=allow_subunitary)
    counts = validate_input_state(input_state, transfer.shape[0])
    photons = np.ascontiguousarray(photon_isometry(transfer, input_columns(counts)).T)
    cdf = np.ascontiguousarray(np.cumsum(np.abs(photons) ** 2, axis=1))
    n_modes, n = transfer.shape[0], photons.shape[0]
    rng = np.random.default_rng(seed)
    dtype = np.uint8 if n <= np.iinfo(np.uint8).max else np.uint16
    n_streams = 2 + (eta < 1.0) + (0.0 < x < 1.0)
    n_chunks_max = 32 * numba.get_num_threads()
    subsets, offsets = subsets_by_size(min(n, SUBSET_TABLE_MAX))
    out = np.zeros((n_samples, n_modes), dtype=dtype)
    for start in range(0, n_samples, batch_size):
        rows = min(batch_size, n_samples - start)
        draws = rng.random((rows, n_streams, n))
        status = np.full((rows, n), INTERFERING if x > 0.0 else DISTINGUISHABLE, dtype=np.int8)
        stream = 2
        if 0.0 < x < 1.0:
            status[draws[:, stream] >= x] = DISTINGUISHABLE
            stream += 1
        if eta < 1.0:
            status[draws[:, stream] >= eta] = LOST
        with numba.parallel_chunksize(1):
            sample_batch(photons, cdf, status, draws, n_modes, SUBSET_TABLE_MAX, subsets, offsets,
                         min(rows, n_chunks_max), out[start:start + rows])
    if detection == "threshold":
        np.minimum(out, 1, out=out)
    return out
