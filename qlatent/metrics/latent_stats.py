"""Statistics of a latent's count bank, to set beside the performance it gives (issue: what carries the effect?).

Every function takes counts ``(n_samples, n_modes)`` (whole, non-negative numbers) before any
centring:

- :func:`fano_factor` — pooled ``Σ_i Var c_i / Σ_i E c_i``: bunching (> 1) or antibunching (< 1);
- :func:`pair_covariance_norm` — Frobenius norm of the off-diagonal covariance: second-order correlations;
- :func:`third_cumulant_norm` — root mean square of the joint third cumulants ``κ_ijk`` over distinct
  triples ``i < j < k``: correlations beyond pairs (zero for independent modes);
- :func:`pattern_entropy` — Miller–Madow corrected plug-in entropy of the occupation patterns, in bits;
- :func:`pattern_tvd` — total-variation distance between two samples' empirical pattern laws (the
  distance of a latent to the data it is asked to generate);
- :func:`latent_statistics` — all of them as one row.

References
----------
G. A. Miller, "Note on the bias of information estimates", in *Information Theory in Psychology*
(1955), 95–100 (the ``(K - 1) / 2N`` correction).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from qlatent.latent.base import as_counts

#: Rows per block when summing third-order products (bounds memory at ``rows × modes²`` floats).
CUMULANT_BLOCK_ROWS = 4096


def fano_factor(counts: Any) -> float:
    """Pooled Fano factor ``Σ_i Var(c_i) / Σ_i E(c_i)`` (population variances).

    Raises
    ------
    ValueError
        If the counts are not whole and non-negative, or hold no photons (the ratio is undefined).
    """
    array = as_counts(counts).astype(np.float64)
    total = array.mean(axis=0).sum()
    if total == 0:
        raise ValueError("the counts hold no photons: the Fano factor is undefined")
    return float(array.var(axis=0).sum() / total)


def pair_covariance_norm(counts: Any) -> float:
    """Frobenius norm of the covariance matrix's off-diagonal part (population covariances).

    Raises
    ------
    ValueError
        If the counts are not whole and non-negative.
    """
    array = as_counts(counts).astype(np.float64)
    covariance = np.cov(array, rowvar=False, ddof=0).reshape(array.shape[1], array.shape[1])
    return float(np.sqrt(np.sum(covariance**2) - np.sum(np.diag(covariance) ** 2)))


def third_cumulant_norm(counts: Any) -> float:
    """Root mean square of ``κ_ijk = E[(c_i - μ_i)(c_j - μ_j)(c_k - μ_k)]`` over triples ``i < j < k``.

    The joint third cumulant of three distinct modes vanishes when any one of them is independent
    of the other two, so it measures correlations that pairs do not show.

    Raises
    ------
    ValueError
        If the counts are not whole and non-negative, or have fewer than three modes.
    """
    array = as_counts(counts).astype(np.float64)
    n_rows, n_modes = array.shape
    if n_modes < 3:
        raise ValueError(f"third-order cumulants of distinct modes need at least 3 modes, got {n_modes}")
    centred = array - array.mean(axis=0)
    total = np.zeros((n_modes, n_modes, n_modes))
    for start in range(0, n_rows, CUMULANT_BLOCK_ROWS):
        block = centred[start:start + CUMULANT_BLOCK_ROWS]
        total += np.einsum("ni,nj,nk->ijk", block, block, block, optimize=True)
    i, j, k = np.array([(a, b, c) for a in range(n_modes) for b in range(a + 1, n_modes)
                        for c in range(b + 1, n_modes)]).T
    return float(np.sqrt(np.mean((total[i, j, k] / n_rows) ** 2)))


def _pattern_frequencies(array: np.ndarray) -> dict[bytes, int]:
    patterns, frequencies = np.unique(np.ascontiguousarray(array), axis=0, return_counts=True)
    return {row.tobytes(): int(count) for row, count in zip(patterns, frequencies)}


def pattern_entropy(counts: Any) -> float:
    """Entropy of the occupation patterns in bits: plug-in ``-Σ p̂ log2 p̂`` plus Miller's ``(K - 1) / (2 N ln 2)``.

    ``K`` is the number of distinct patterns seen in ``N`` rows. The estimate is biased low when
    the support is much larger than ``N`` (8 photons in 16 modes: 490,314 patterns).

    Raises
    ------
    ValueError
        If the counts are not whole and non-negative.
    """
    array = as_counts(counts)
    frequencies = np.array(list(_pattern_frequencies(array).values()), dtype=np.float64)
    probabilities = frequencies / array.shape[0]
    plug_in = -float(np.sum(probabilities * np.log2(probabilities)))
    return plug_in + (frequencies.size - 1) / (2 * array.shape[0] * math.log(2))


def pattern_tvd(counts: Any, reference: Any) -> float:
    """Total-variation distance ``½ Σ_s |p̂(s) - q̂(s)|`` between two samples' empirical pattern laws.

    With equal sample sizes the finite-sample bias is the same for every latent compared with the
    same reference, so the distances rank latents; they are not the population TVD.

    Raises
    ------
    ValueError
        If either is not whole and non-negative, or they have different numbers of modes.
    """
    first, second = as_counts(counts), as_counts(reference, "reference")
    if first.shape[1] != second.shape[1]:
        raise ValueError(f"counts have {first.shape[1]} modes but the reference has {second.shape[1]}")
    p, q = _pattern_frequencies(first), _pattern_frequencies(second)
    n_first, n_second = first.shape[0], second.shape[0]
    return 0.5 * sum(abs(p.get(key, 0) / n_first - q.get(key, 0) / n_second) for key in p.keys() | q.keys())


#: The statistics :func:`latent_statistics` returns, in order.
LATENT_STATISTICS = ("fano_factor", "pair_covariance_norm", "third_cumulant_norm", "pattern_entropy", "data_tvd")


def latent_statistics(counts: Any, data: Any) -> dict[str, float]:
    """Every statistic of this module for one bank, ``data_tvd`` being :func:`pattern_tvd` to ``data``.

    Raises
    ------
    ValueError
        As the functions it calls.
    """
    return {"fano_factor": fano_factor(counts), "pair_covariance_norm": pair_covariance_norm(counts),
            "third_cumulant_norm": third_cumulant_norm(counts), "pattern_entropy": pattern_entropy(counts),
            "data_tvd": pattern_tvd(counts, data)}
