"""Permanents against their definition and a second implementation; the Fock basis and its ranking."""

from __future__ import annotations

import itertools
from math import comb, factorial

import numpy as np
import pytest

from qlatent.photonics import fock_basis, fock_index, permanent
from qlatent.photonics.fock import basis_size
from qlatent.photonics.permanents import column_deleted_permanents


def brute_force_permanent(matrix: np.ndarray) -> complex:
    n = matrix.shape[0]
    return sum(np.prod([matrix[i, p[i]] for i in range(n)]) for p in itertools.permutations(range(n)))


def random_complex(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))


@pytest.mark.parametrize("n", range(1, 7))
def test_permanent_matches_definition(n):
    matrix = random_complex(n, seed=n)
    assert permanent(matrix) == pytest.approx(brute_force_permanent(matrix), rel=1e-11, abs=1e-12)


def ryser_permanent(matrix: np.ndarray) -> complex:
    """Ryser's inclusion-exclusion formula, vectorised over all column subsets (a second method)."""
    n = matrix.shape[0]
    subsets = (np.arange(1 << n)[:, None] >> np.arange(n)) & 1
    signs = (-1.0) ** (n - subsets.sum(axis=1))
    return complex(np.sum(signs * np.prod(subsets @ matrix.T, axis=1)))


@pytest.mark.parametrize("n", [7, 9, 12])
def test_permanent_matches_ryser(n):
    matrix = random_complex(n, seed=100 + n)
    assert permanent(matrix) == pytest.approx(ryser_permanent(matrix), rel=1e-9)


@pytest.mark.parametrize("n", range(1, 11))
def test_permanent_of_all_ones_is_factorial(n):
    assert permanent(np.ones((n, n))) == pytest.approx(factorial(n), rel=1e-12)


def test_permanent_small_cases():
    assert permanent(np.zeros((0, 0))) == 1
    assert permanent([[2.5 - 1j]]) == 2.5 - 1j
    assert permanent([[1, 2], [3, 4]]) == 10
    assert permanent(np.eye(5)) == 1


@pytest.mark.parametrize(
    "multiplicity",
    [[], [1], [1, 1], [2], [1, 1, 1], [1, 1, 1, 1, 1, 1, 1], [3, 1], [1, 2, 1, 1], [2, 2, 1, 1, 1], [1, 1, 1, 3, 2]],
)
def test_column_deleted_permanents_are_the_laplace_minors(multiplicity):
    n_distinct, n_rows = len(multiplicity), sum(multiplicity)
    distinct = np.ascontiguousarray(random_complex(n_rows + 1, seed=7 + n_rows)[: max(n_distinct, 1)])
    work, state = np.empty((9, n_rows + 1), dtype=np.complex128), np.empty((4, n_distinct + 1), dtype=np.int64)
    out = np.empty(n_rows + 1, dtype=np.complex128)
    column_deleted_permanents(distinct, np.array(multiplicity, dtype=np.int64), n_distinct, work, state, out)
    expanded = distinct[np.repeat(np.arange(n_distinct), multiplicity)]
    minors = np.array([permanent(np.delete(expanded, deleted, axis=1)) if n_rows else 1.0
                       for deleted in range(n_rows + 1)])
    # c = 2^(n_1 - 1) / prod_{mu >= 2} mu! with n_1 >= 1 rows of multiplicity one, else 1 / prod mu!
    n_single = multiplicity.count(1)
    scale = (2.0 ** (n_single - 1) if n_single else 1.0) / np.prod([factorial(mu) for mu in multiplicity if mu > 1])
    np.testing.assert_allclose(out, scale * minors, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    ("matrix", "match"),
    [
        (np.ones((2, 3)), "square"),
        (np.ones(3), "square"),
        (np.array([[1.0, np.nan], [0.0, 1.0]]), "NaN"),
        (np.array([["a", "b"], ["c", "d"]]), "numeric"),
    ],
)
def test_permanent_rejects_bad_matrices(matrix, match):
    with pytest.raises(ValueError, match=match):
        permanent(matrix)


@pytest.mark.parametrize(("n", "m"), [(0, 3), (1, 1), (3, 1), (2, 3), (4, 4), (5, 7)])
def test_fock_basis_enumerates_every_pattern_once_in_order(n, m):
    basis = fock_basis(n, m)
    assert basis.shape == (comb(n + m - 1, n), m) == (basis_size(n, m), m)
    assert np.all(basis.sum(axis=1) == n) and np.all(basis >= 0)
    assert len({tuple(row) for row in basis}) == basis.shape[0]
    assert [tuple(row) for row in basis] == sorted((tuple(row) for row in basis), reverse=True)
    assert [fock_index(row) for row in basis] == list(range(basis.shape[0]))


def test_fock_basis_small_example():
    assert fock_basis(2, 3).tolist() == [[2, 0, 0], [1, 1, 0], [1, 0, 1], [0, 2, 0], [0, 1, 1], [0, 0, 2]]


@pytest.mark.parametrize(("pattern", "match"), [([], "non-empty"), ([[1, 0]], "non-empty"), ([1, -1], "negative")])
def test_fock_index_rejects_bad_patterns(pattern, match):
    with pytest.raises(ValueError, match=match):
        fock_index(pattern)


def test_basis_size_rejects_bad_sizes():
    with pytest.raises(ValueError, match="n_modes >= 1"):
        basis_size(2, 0)
