"""Statistics of a latent's count bank: each against a law where it is known exactly."""

import numpy as np
import pytest
from scipy import stats

from qlatent.metrics.latent_stats import (
    LATENT_STATISTICS,
    fano_factor,
    latent_statistics,
    pair_covariance_norm,
    pattern_entropy,
    pattern_tvd,
    third_cumulant_norm,
)

ALPHA = 1e-4


def fano_tolerance(law, n_rows, n_modes):
    """Bound on the pooled Fano factor's sampling error: the sample variance has variance (mu4 - sigma^4)/n
    per mode (the mean's own error is of lower order); ``ALPHA`` two-sided."""
    support = np.arange(40)
    pmf = law.pmf(support)
    mean = pmf @ support
    central = support - mean
    variance, fourth = pmf @ central**2, pmf @ central**4
    return stats.norm.isf(ALPHA / 2) * np.sqrt((fourth - variance**2) / (n_rows * n_modes)) / mean


@pytest.mark.parametrize(("law", "fano"), [(stats.poisson(0.7), 1.0), (stats.binom(3, 0.25), 0.75)])
def test_fano_factor_of_poisson_and_binomial_counts(law, fano):
    n = 200_000
    counts = law.rvs(size=(n, 4), random_state=np.random.default_rng(0))
    assert fano_factor(counts) == pytest.approx(fano, abs=fano_tolerance(law, n, 4))


def test_fano_factor_of_an_empty_bank_is_refused():
    with pytest.raises(ValueError, match="no photons"):
        fano_factor(np.zeros((5, 3)))


def test_pair_covariance_norm_sees_only_off_diagonal_terms():
    rng = np.random.default_rng(1)
    first = rng.poisson(1.0, 100_000)
    copied = np.stack([first, first, rng.poisson(1.0, 100_000)], axis=1)
    # Cov(0, 1) = Var = 1, counted twice (both off-diagonal entries); the rest vanish.
    assert pair_covariance_norm(copied) == pytest.approx(np.sqrt(2), abs=0.03)
    independent = rng.poisson(1.0, (100_000, 3))
    assert pair_covariance_norm(independent) < stats.norm.isf(ALPHA / 6) * np.sqrt(6 / 100_000)


def test_third_cumulant_vanishes_for_independent_modes_and_not_for_a_shared_cause():
    rng = np.random.default_rng(2)
    independent = rng.poisson(1.0, (60_000, 4))
    shared = rng.poisson(1.0, 60_000)
    joint = np.stack([shared + rng.poisson(0.5, 60_000) for _ in range(4)], axis=1)
    # kappa_ijk of a common Poisson(1) summand is its third cumulant, 1.
    assert third_cumulant_norm(joint) == pytest.approx(1.0, abs=0.1)
    assert third_cumulant_norm(independent) < 0.05
    with pytest.raises(ValueError, match="at least 3 modes"):
        third_cumulant_norm(independent[:, :2])


def test_pattern_entropy_and_tvd_of_known_laws():
    uniform = np.array([[0, 1], [1, 0], [1, 1], [0, 0]] * 1000)
    assert pattern_entropy(uniform) == pytest.approx(2.0 + 3 / (2 * 4000 * np.log(2)))
    assert pattern_tvd(uniform, uniform[::-1]) == 0.0
    assert pattern_tvd(uniform, uniform + 2) == 1.0
    with pytest.raises(ValueError, match="modes"):
        pattern_tvd(uniform, uniform[:, :1])


def test_latent_statistics_gives_every_statistic():
    counts = np.random.default_rng(3).poisson(0.5, (500, 4))
    row = latent_statistics(counts, counts)
    assert tuple(row) == LATENT_STATISTICS
    assert row["data_tvd"] == 0.0
