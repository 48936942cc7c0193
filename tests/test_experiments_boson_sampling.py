"""The boson-sampling chapter's tables: same marginals, exact covariances, binomial loss."""

import numpy as np
import pytest
from scipy import stats

from qlatent.experiments import boson_sampling as bs
from qlatent.photonics.interferometers import haar_unitary

UNITARY = haar_unitary(5, seed=3)
INPUT = [1, 1, 1, 0, 0]


@pytest.fixture(scope="module")
def samples():
    return bs.sample_models(UNITARY, INPUT, 4000, 0.6, seed=2)


def test_models_share_marginals(samples):
    means = bs.mode_means_table(samples)
    exact = np.sum(np.abs(UNITARY[:, :3]) ** 2, axis=1)  # mean count per mode, any photon model
    for model in bs.PHOTON_MODELS:
        rows = means[means["model"] == model].sort_values("mode")
        z = (rows["mean"].to_numpy() - exact) / rows["sem"].to_numpy()
        assert np.all(np.abs(z) < 4.5), (model, z)


def test_exact_covariance_by_hand_for_distinguishable_photons():
    # Independent photons: Cov(n_i, n_j) = sum_k (delta_ij p_ik - p_ik p_jk) with p_ik = |U_ik|^2.
    p = np.abs(UNITARY[:, :3]) ** 2
    expected = np.diag(p.sum(axis=1)) - p @ p.T
    np.testing.assert_allclose(bs.exact_covariance(UNITARY, INPUT, "distinguishable"), expected, atol=1e-12)


def test_sampled_covariance_matches_exact(samples):
    sampled = bs.covariance_table(samples)
    exact = bs.exact_covariance_table(UNITARY, INPUT, 0.6)
    assert list(sampled["model"]) == list(exact["model"])
    # Standard error of a sample covariance of counts <= 3 is below 3/sqrt(n); allow 5 of them.
    assert np.max(np.abs(sampled["covariance"].to_numpy() - exact["covariance"].to_numpy())) < 5 * 3 / np.sqrt(4000)


def test_interference_changes_covariance():
    indist = bs.exact_covariance(UNITARY, INPUT, "indistinguishable")
    dist = bs.exact_covariance(UNITARY, INPUT, "distinguishable")
    assert np.max(np.abs(indist - dist)) > 0.05


def test_loss_is_binomial_and_threshold_undercounts():
    table = bs.loss_and_detection_table(UNITARY, INPUT, 3000, [1.0, 0.5], seed=4)
    lossy = table[(table["transmission"] == 0.5) & (table["detection"] == "pnr")]
    observed = np.zeros(4)
    observed[lossy["n_detected"].to_numpy()] = lossy["frequency"].to_numpy() * 3000
    expected = stats.binom.pmf(np.arange(4), 3, 0.5) * 3000
    assert stats.chisquare(observed, expected).pvalue > 1e-4
    lossless = table[table["transmission"] == 1.0]
    pnr = lossless[lossless["detection"] == "pnr"]
    clicks = lossless[lossless["detection"] == "threshold"]
    assert pnr["n_detected"].tolist() == [3]
    assert (clicks["n_detected"] * clicks["frequency"]).sum() < 3


def test_bunching_ordering(samples):
    table = bs.bunching_fraction_table(samples).set_index("model")["p_bunched"]
    assert table["indistinguishable"] > table["partial"] > table["distinguishable"] - 0.03


def test_unknown_model():
    with pytest.raises(ValueError, match="unknown photon model 'bosonic'"):
        bs.sample_models(UNITARY, INPUT, 10, 1.0, seed=0, models=["bosonic"])
