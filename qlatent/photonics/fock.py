"""The Fock basis of n photons in m modes: enumeration in a fixed order and its ranking function.

Patterns are the compositions of ``n`` into ``m`` non-negative parts, listed in descending
lexicographic order: ``(n, 0, ..., 0)`` first, ``(0, ..., 0, n)`` last. ``fock_index`` inverts the
enumeration in O(m) by the hockey-stick identity, so distributions over the basis can be stored in
flat arrays and updated photon by photon.

References
----------
The same construction as QuantEcon's ``simplex_grid`` / ``simplex_index``
(quantecon/_gridtools.py); the basis has ``C(n + m - 1, n)`` elements.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import comb

import numpy as np
from numba import njit


def basis_size(n_photons: int, n_modes: int) -> int:
    """Number of Fock patterns of ``n_photons`` in ``n_modes``: ``C(n + m - 1, n)``."""
    if n_photons < 0 or n_modes < 1:
        raise ValueError(f"need n_photons >= 0 and n_modes >= 1, got {n_photons} and {n_modes}")
    return comb(n_photons + n_modes - 1, n_photons)


def binomial_table(size: int) -> np.ndarray:
    """``table[a, b] = C(a, b)`` for ``0 <= a, b < size`` as int64 (zero where ``b > a``).

    Entries above ``2^62`` are stored as ``2^62``: ranks within a basis small enough to enumerate
    never use them, and the table of 300 photons in 2 modes no longer overflows int64.
    """
    table = np.zeros((size, size), dtype=np.int64)
    cap = 2**62
    for a in range(size):
        for b in range(a + 1):
            table[a, b] = min(comb(a, b), cap)
    return table


@njit(cache=True)
def _enumerate(n_photons: int, n_modes: int, out: np.ndarray) -> None:
    pattern = np.zeros(n_modes, dtype=np.int64)
    pattern[0] = n_photons
    row = 0
    while True:
        out[row, :] = pattern
        row += 1
        if pattern[n_modes - 1] == n_photons:
            return
        tail = pattern[n_modes - 1]
        pattern[n_modes - 1] = 0
        i = n_modes - 2
        while pattern[i] == 0:
            i -= 1
        pattern[i] -= 1
        pattern[i + 1] = tail + 1


@njit(cache=True)
def rank_pattern(pattern: np.ndarray, binom: np.ndarray) -> int:
    """Position of ``pattern`` in the descending-lexicographic basis (``binom`` from ``binomial_table``)."""
    n_modes = pattern.shape[0]
    remaining = 0
    for i in range(n_modes):
        remaining += pattern[i]
    rank = 0
    for i in range(n_modes - 1):
        larger = remaining - pattern[i]
        if larger > 0:
            rank += binom[larger - 1 + n_modes - i - 1, n_modes - i - 1]
        remaining -= pattern[i]
    return rank


def fock_basis(n_photons: int, n_modes: int) -> np.ndarray:
    """All patterns of ``n_photons`` in ``n_modes`` as an int64 array of shape ``(C(n+m-1, n), m)``.

    Raises
    ------
    ValueError
        If ``n_photons < 0`` or ``n_modes < 1``.
    """
    size = basis_size(n_photons, n_modes)
    out = np.empty((size, n_modes), dtype=np.int64)
    if n_modes == 1:
        out[0, 0] = n_photons
        return out
    _enumerate(n_photons, n_modes, out)
    return out


def fock_index(pattern: Sequence[int] | np.ndarray) -> int:
    """Rank of ``pattern`` in ``fock_basis(sum(pattern), len(pattern))``.

    Raises
    ------
    ValueError
        If the pattern is empty, not one-dimensional, or has negative entries.
    """
    array = np.asarray(pattern, dtype=np.int64)
    if array.ndim != 1 or array.shape[0] == 0:
        raise ValueError(f"pattern must be a non-empty 1-d sequence of counts, got shape {array.shape}")
    if np.any(array < 0):
        raise ValueError(f"pattern has negative counts: {array.tolist()}")
    return int(rank_pattern(array, binomial_table(int(array.sum()) + array.shape[0] + 1)))
