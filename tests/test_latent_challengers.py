"""Classical challengers of the boson latent: each checked against its definition."""

import numpy as np
import pytest
import torch
from scipy import stats

from qlatent.latent.challengers import (
    DirichletMultinomialLatent,
    GaussianCopulaLatent,
    dirichlet_multinomial_counts,
    dirichlet_multinomial_fano,
    fit_concentration,
    haar_boson_fano,
)
from qlatent.latent.classical import IndependentCountsLatent
from qlatent.latent.postprocess import CountPostprocess
from qlatent.photonics.interferometers import haar_unitary
from qlatent.photonics.sampling import sample

#: Family-wise false-alarm level of the statistical checks (seeded, so in practice deterministic).
ALPHA = 1e-4
Z = stats.norm.isf(ALPHA / 2)


def boson_bank(n_photons=4, n_modes=8, n_samples=20_000, seed=0, model="indistinguishable"):
    unitary = haar_unitary(n_modes, seed=seed)
    return sample(unitary, [1] * n_photons + [0] * (n_modes - n_photons), n_samples, seed=seed + 1, model=model)


def pooled_fano(counts):
    counts = np.asarray(counts, dtype=np.float64)
    return counts.var(axis=0).sum() / counts.mean(axis=0).sum()


def test_fano_formula_inverts_and_matches_dirichlet_multinomial_draws():
    p = np.array([0.1, 0.2, 0.3, 0.4])
    assert fit_concentration(5, p, dirichlet_multinomial_fano(5, p, 3.0)) == pytest.approx(3.0)
    draws = [pooled_fano(dirichlet_multinomial_counts(5, 3.0 * p, 4000, np.random.default_rng(s)))
             for s in range(20)]
    assert abs(np.mean(draws) - dirichlet_multinomial_fano(5, p, 3.0)) < Z * np.std(draws, ddof=1) / np.sqrt(20)


def test_moment_fit_matches_the_boson_bank_mean_and_fano():
    counts = boson_bank()
    latent = DirichletMultinomialLatent.from_counts(counts, bank_size=40_000, seed=3, postprocess=CountPostprocess())
    bank = latent.bank.astype(np.float64)
    assert np.all(bank.sum(axis=1) == 4)
    # Means: each is a sum of two independent sample means (source and bank).
    se = np.sqrt(counts.var(axis=0) / len(counts) + bank.var(axis=0) / len(bank))
    assert np.all(np.abs(bank.mean(axis=0) - counts.mean(axis=0)) < stats.norm.isf(ALPHA / 16) * se)
    # Fano: spread of the statistic over independent banks of the fitted law.
    alpha = np.asarray(latent.source["alpha"])
    spread = np.std([pooled_fano(dirichlet_multinomial_counts(4, alpha, 40_000, np.random.default_rng(s)))
                     for s in range(10)], ddof=1)
    assert abs(pooled_fano(bank) - latent.source["target_fano"]) < Z * spread * np.sqrt(1 + 40_000 / len(counts))
    assert latent.source["target_fano"] == pytest.approx(pooled_fano(counts))
    assert np.allclose(latent.postprocess.mean, bank.mean(axis=0))
    assert latent.sample(7, torch.Generator().manual_seed(0)).shape == (7, 8)


def test_haar_boson_fano_matches_simulated_banks():
    n_photons, n_modes = 4, 8
    fanos = [pooled_fano(boson_bank(n_photons, n_modes, 3000, seed)) for seed in range(40)]
    assert abs(np.mean(fanos) - haar_boson_fano(n_photons, n_modes)) < Z * np.std(fanos, ddof=1) / np.sqrt(40)
    # The same derivation for distinguishable photons gives (m - 1) / (m + 1); bosons bunch, they do not.
    distinguishable = [pooled_fano(boson_bank(n_photons, n_modes, 3000, seed, "distinguishable")) for seed in range(40)]
    expected = (n_modes - 1) / (n_modes + 1)
    assert abs(np.mean(distinguishable) - expected) < Z * np.std(distinguishable, ddof=1) / np.sqrt(40)
    assert haar_boson_fano(8, 16) == pytest.approx(22 / 17)


def test_haar_version_uses_no_quantum_sample_and_has_the_derived_fano():
    latent = DirichletMultinomialLatent.haar_boson(8, 16, bank_size=50_000, seed=0)
    assert latent.source["target_fano"] == pytest.approx(haar_boson_fano(8, 16))
    alpha = np.asarray(latent.source["alpha"])
    assert np.allclose(alpha, alpha[0])
    spread = np.std([pooled_fano(dirichlet_multinomial_counts(8, alpha, 50_000, np.random.default_rng(s)))
                     for s in range(10)], ddof=1)
    assert abs(pooled_fano(latent.bank) - haar_boson_fano(8, 16)) < Z * spread
    assert DirichletMultinomialLatent.haar_boson(8, 16, bank_size=10, seed=0).sha256 == \
        DirichletMultinomialLatent.haar_boson(8, 16, bank_size=10, seed=0).sha256


def feasible_copula_counts(n=40_000, seed=0):
    """Counts whose correlation a Gaussian copula can reach: thresholded correlated normals."""
    rng = np.random.default_rng(seed)
    correlation = np.array([[1.0, 0.6, -0.3], [0.6, 1.0, 0.1], [-0.3, 0.1, 1.0]])
    normals = rng.multivariate_normal(np.zeros(3), correlation, size=n)
    return np.stack([np.digitize(normals[:, 0], [-0.5, 0.7]), np.digitize(normals[:, 1], [0.2]),
                     np.digitize(normals[:, 2], [-1.0, 0.0, 1.2])], axis=1)


def test_copula_reproduces_a_reachable_target_correlation_and_the_marginals():
    counts = feasible_copula_counts()
    latent = GaussianCopulaLatent.from_counts(counts, bank_size=40_000, seed=1)
    bank = latent.bank.astype(np.int64)
    target, achieved = np.corrcoef(counts, rowvar=False), np.corrcoef(bank, rowvar=False)
    # Two independent samples of 40,000 rows: a correlation's standard error is at most 1/sqrt(n) each.
    assert np.max(np.abs(achieved - target)) < stats.norm.isf(ALPHA / 6) * np.sqrt(2 / 40_000)
    for mode in range(3):
        assert stats.chi2_contingency(np.stack([np.bincount(counts[:, mode], minlength=4),
                                                np.bincount(bank[:, mode], minlength=4)])[:, :counts[:, mode].max() + 1]
                                      ).pvalue > ALPHA
    assert latent.source["smallest_calibrated_eigenvalue"] > 0


def test_copula_of_a_boson_bank_records_that_its_target_is_out_of_reach():
    latent = GaussianCopulaLatent.from_counts(boson_bank(n_samples=5000), bank_size=5000, seed=0)
    assert latent.source["smallest_calibrated_eigenvalue"] < 0
    assert latent.source["correlation_error_max"] > 0


def test_negative_binomial_matches_each_mode_mean_and_variance():
    counts = boson_bank()
    latent = IndependentCountsLatent.negative_binomial(counts)
    values = np.arange(latent.marginals.shape[1])
    mean = latent.marginals @ values
    variance = latent.marginals @ values**2 - mean**2
    assert np.allclose(mean, counts.mean(axis=0), rtol=1e-8)
    assert np.allclose(variance, counts.var(axis=0), rtol=1e-8)
    drawn = latent.sample(20_000, torch.Generator().manual_seed(0)).numpy()
    corr = np.corrcoef(drawn, rowvar=False)[np.triu_indices(8, 1)]
    assert np.all(np.abs(corr) < stats.norm.isf(ALPHA / (2 * corr.size)) / np.sqrt(20_000))


@pytest.mark.parametrize(("counts", "message"), [
    (np.zeros((50, 6), dtype=int), "no photons"),
    (np.ones((50, 1), dtype=int), "at least two modes"),
])
def test_fitting_a_degenerate_bank_fails_clearly(counts, message):
    with pytest.raises(ValueError, match=message):
        DirichletMultinomialLatent.from_counts(counts, bank_size=10, seed=0)


def test_other_challengers_refuse_degenerate_banks():
    zeros = np.zeros((50, 6), dtype=int)
    with pytest.raises(ValueError, match="never vary"):
        GaussianCopulaLatent.from_counts(zeros, bank_size=10, seed=0)
    with pytest.raises(ValueError, match="copula joins 2 or more modes"):
        GaussianCopulaLatent.from_counts(np.arange(50)[:, None], bank_size=10, seed=0)
    with pytest.raises(ValueError, match="not overdispersed"):
        IndependentCountsLatent.negative_binomial(zeros)
    with pytest.raises(ValueError, match="not overdispersed"):
        IndependentCountsLatent.negative_binomial(np.random.default_rng(0).integers(0, 2, (500, 3)))
    with pytest.raises(ValueError, match="rows hold between"):
        DirichletMultinomialLatent.from_counts(np.array([[1, 0], [1, 1]]), bank_size=10, seed=0)
    with pytest.raises(ValueError, match="never hold a photon"):
        DirichletMultinomialLatent.from_counts(np.array([[2, 0, 0], [1, 1, 0]]), bank_size=10, seed=0)
    with pytest.raises(ValueError, match="not overdispersed"):
        DirichletMultinomialLatent.from_counts(boson_bank(model="distinguishable"), bank_size=10, seed=0)
    with pytest.raises(ValueError, match="exceeds n_modes"):
        haar_boson_fano(9, 8)
    with pytest.raises(TypeError, match="seed must be a non-negative integer"):
        DirichletMultinomialLatent.haar_boson(4, 8, bank_size=10, seed=-1)


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="2 or more photons"):
        fit_concentration(1, np.full(4, 0.25), 1.2)
    with pytest.raises(ValueError, match="alpha must be 2 or more positive finite numbers"):
        DirichletMultinomialLatent.from_parameters(3, np.array([1.0, 0.0]), bank_size=5, seed=0, name="dm")
