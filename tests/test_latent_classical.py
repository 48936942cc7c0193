"""Latent distributions: the shared interface, bank sampling with post-processing, classical baselines."""

import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from scipy import stats

from qlatent.latent import (
    BankLatent,
    BernoulliLatent,
    CountPostprocess,
    GaussianLatent,
    IndependentCountsLatent,
    LatentDistribution,
    ShuffledCountsLatent,
    UniformLatent,
    bank_sha256,
    check_latent_dim,
)

#: Family-wise false-alarm level of the statistical checks (seeded, so in practice deterministic).
ALPHA = 1e-4


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def correlated_counts(n=4000, seed=0):
    """Counts with strong cross-mode correlation: mode 1 repeats mode 0, mode 2 is independent."""
    rng = np.random.default_rng(seed)
    first = rng.poisson(1.2, n)
    return np.stack([first, first, rng.poisson(0.4, n), rng.binomial(3, 0.3, n)], axis=1)


COUNTS = correlated_counts()


def all_latents():
    return {
        "gaussian": GaussianLatent(3),
        "uniform": UniformLatent(2, low=0.0, high=5.0),
        "bernoulli": BernoulliLatent([0.1, 0.5, 0.9], postprocess=CountPostprocess()),
        "independent-counts": IndependentCountsLatent.from_counts(
            COUNTS, postprocess=CountPostprocess(noise_scale=0.2)
        ),
        "shuffled-counts": ShuffledCountsLatent.from_counts(COUNTS, seed=3),
        "bank": BankLatent(COUNTS, name="bank", description={"sampler": "test"}, postprocess=CountPostprocess()),
    }


def rebuild(latent):
    description = json.loads(json.dumps(latent.describe()))
    if isinstance(latent, ShuffledCountsLatent):
        return ShuffledCountsLatent.from_description(description, COUNTS)
    if isinstance(latent, BankLatent):
        return BankLatent.from_description(description, COUNTS)
    return type(latent).from_description(description)


LATENTS = all_latents()


# --- the interface, for every latent -------------------------------------------------------------


@pytest.mark.parametrize("key", list(LATENTS))
def test_sample_shape_dtype_device(key):
    latent = LATENTS[key]
    assert isinstance(latent, LatentDistribution)
    sample = latent.sample(7, gen())
    assert sample.shape == (7, latent.dim)
    assert sample.dtype == torch.float32
    assert sample.device.type == "cpu"
    assert sample.is_contiguous()
    assert torch.all(torch.isfinite(sample))


@pytest.mark.parametrize("key", list(LATENTS))
def test_same_seed_same_samples_other_seed_other_samples(key):
    latent = LATENTS[key]
    first = latent.sample(50, gen(1))
    assert torch.equal(latent.sample(50, gen(1)), first)
    assert not torch.equal(latent.sample(50, gen(2)), first)


@pytest.mark.parametrize("key", list(LATENTS))
def test_describe_is_json_and_rebuilds_the_same_latent(key):
    latent = LATENTS[key]
    description = latent.describe()
    assert {"kind", "name", "dim"} <= set(description)
    assert description["name"] == key
    again = rebuild(latent)
    assert again.describe() == json.loads(json.dumps(description))
    assert torch.equal(again.sample(40, gen(5)), latent.sample(40, gen(5)))


@pytest.mark.parametrize("key", list(LATENTS))
@pytest.mark.parametrize(
    ("n", "error", "match"),
    [
        (0, ValueError, "n must be positive, got 0"),
        (-3, ValueError, "n must be positive"),
        (2.5, TypeError, "n must be an integer"),
        (True, TypeError, "n must be an integer"),
    ],
)
def test_bad_sample_size_raises(key, n, error, match):
    with pytest.raises(error, match=match):
        LATENTS[key].sample(n, gen())


@pytest.mark.parametrize("generator", [None, 0, np.random.default_rng(0)])
def test_bad_generator_raises(generator):
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        GaussianLatent(2).sample(3, generator)


def test_check_latent_dim_names_both_dimensions():
    latent = GaussianLatent(4)
    check_latent_dim(latent, 4)
    with pytest.raises(ValueError, match="'gaussian' has dimension 4 but the model expects 8"):
        check_latent_dim(latent, 8)
    with pytest.raises(TypeError, match="expected latent dimension must be an integer"):
        check_latent_dim(latent, 4.0)


def test_describe_of_another_kind_is_refused():
    with pytest.raises(ValueError, match="description is of kind 'uniform', expected 'gaussian'"):
        GaussianLatent.from_description(UniformLatent(2).describe())
    with pytest.raises(TypeError, match="description must be a dict"):
        GaussianLatent.from_description("gaussian")


# --- Gaussian and uniform --------------------------------------------------------------------------


def test_gaussian_moments_within_sampling_bounds():
    sample = GaussianLatent(4).sample(20000, gen()).double()
    n = sample.numel()
    assert abs(sample.mean().item()) < 5 / np.sqrt(n)
    # Var of the sample variance of N(0, 1) draws is about 2/n.
    assert abs(sample.var().item() - 1) < 5 * np.sqrt(2 / n)


def test_uniform_range_and_mean():
    low, high = -2.0, 3.0
    sample = UniformLatent(3, low, high).sample(20000, gen()).double()
    assert sample.min() >= low and sample.max() < high
    assert abs(sample.mean().item() - (low + high) / 2) < 5 * (high - low) / np.sqrt(12 * sample.numel())


@pytest.mark.parametrize(("low", "high"), [(1.0, 1.0), (2.0, -1.0), (float("nan"), 1.0), (0.0, float("inf"))])
def test_uniform_bad_bounds_raise(low, high):
    with pytest.raises(ValueError, match="needs finite low < high"):
        UniformLatent(2, low, high)


@pytest.mark.parametrize(
    ("dim", "error", "match"), [(0, ValueError, "dim must be positive"), (2.0, TypeError, "dim must be an integer")]
)
def test_bad_dim_raises(dim, error, match):
    with pytest.raises(error, match=match):
        GaussianLatent(dim)


def test_empty_name_raises():
    with pytest.raises(ValueError, match="name must be a non-empty string"):
        GaussianLatent(2, name=" ")


# --- Bernoulli -------------------------------------------------------------------------------------


def test_bernoulli_means_within_binomial_bound():
    probs = np.array([0.0, 0.05, 0.3, 0.5, 0.95, 1.0])
    n = 20000
    sample = BernoulliLatent(probs).sample(n, gen(3)).numpy()
    assert set(np.unique(sample)) <= {0.0, 1.0}
    means = sample.mean(axis=0)
    z = stats.norm.isf(ALPHA / (2 * probs.size))
    assert np.all(np.abs(means - probs) <= z * np.sqrt(probs * (1 - probs) / n))


def test_bernoulli_from_counts_uses_click_probabilities():
    latent = BernoulliLatent.from_counts(COUNTS)
    assert np.array_equal(latent.probs, (COUNTS > 0).mean(axis=0))


@pytest.mark.parametrize(
    ("probs", "match"),
    [
        ([], "non-empty 1-D"),
        ([[0.5]], "non-empty 1-D"),
        ([0.2, 1.5], r"must lie in \[0, 1\]"),
        ([-0.1], r"must lie in \[0, 1\]"),
        ([float("nan")], r"must lie in \[0, 1\]"),
    ],
)
def test_bernoulli_bad_probs_raise(probs, match):
    with pytest.raises(ValueError, match=match):
        BernoulliLatent(probs)


# --- independent counts ----------------------------------------------------------------------------


def test_independent_counts_marginals_chi_square():
    marginals = [[0.5, 0.3, 0.2], [0.0, 0.25, 0.0, 0.75], [1.0]]
    n = 20000
    sample = IndependentCountsLatent(marginals).sample(n, gen(4)).numpy().astype(int)
    for mode, probs in enumerate(marginals):
        probs = np.asarray(probs)
        observed = np.bincount(sample[:, mode], minlength=probs.size)
        assert observed.size == probs.size, "a count beyond the marginal's support was drawn"
        support = probs > 0
        assert np.all(observed[~support] == 0), "a zero-probability count was drawn"
        if support.sum() > 1:
            statistic = (((observed - n * probs) ** 2)[support] / (n * probs[support])).sum()
            assert statistic < stats.chi2.isf(ALPHA / len(marginals), support.sum() - 1)


def test_independent_counts_from_correlated_counts_are_uncorrelated():
    # Under independence the sample correlation has standard deviation about 1/sqrt(n).
    latent = IndependentCountsLatent.from_counts(COUNTS)
    n = 20000
    sample = latent.sample(n, gen(6)).numpy()
    corr = np.corrcoef(sample.T)[np.triu_indices(latent.dim, 1)]
    n_pairs = corr.size
    assert np.all(np.abs(corr) < stats.norm.isf(ALPHA / (2 * n_pairs)) / np.sqrt(n))
    assert np.corrcoef(COUNTS.T)[0, 1] == pytest.approx(1.0)


def test_independent_counts_from_counts_matches_empirical_marginals():
    latent = IndependentCountsLatent.from_counts(COUNTS)
    for mode in range(COUNTS.shape[1]):
        frequencies = np.bincount(COUNTS[:, mode], minlength=latent.marginals.shape[1]) / len(COUNTS)
        assert np.allclose(latent.marginals[mode], frequencies, rtol=0, atol=1e-15)


def test_independent_counts_standardised_statistics_equal_the_counts():
    latent = IndependentCountsLatent.from_counts(COUNTS, postprocess=CountPostprocess())
    assert np.allclose(latent.postprocess.mean, COUNTS.mean(axis=0), rtol=1e-12)
    assert np.allclose(latent.postprocess.std, COUNTS.std(axis=0), rtol=1e-12)
    n = 20000
    sample = latent.sample(n, gen(7)).double()
    z = stats.norm.isf(ALPHA / (4 * latent.dim))
    assert torch.all(sample.mean(0).abs() < z / np.sqrt(n))


@pytest.mark.parametrize(
    ("marginals", "error", "match"),
    [
        ([], ValueError, "at least one mode"),
        ([[]], ValueError, "mode 0 must be a non-empty 1-D"),
        ([[0.5, 0.5], [0.7, 0.2]], ValueError, "mode 1 sums to 0.9"),
        ([[1.2, -0.2]], ValueError, "mode 0 must hold finite non-negative"),
        ([[float("nan"), 1.0]], ValueError, "mode 0 must hold finite non-negative"),
        (0.5, TypeError, "marginals must be a 2-D array or a sequence"),
    ],
)
def test_independent_counts_bad_marginals_raise(marginals, error, match):
    with pytest.raises(error, match=match):
        IndependentCountsLatent(marginals)


@pytest.mark.parametrize(
    ("counts", "error", "match"),
    [
        (np.array([1, 2, 3]), ValueError, r"shape \(n_samples, n_modes\)"),
        (np.zeros((0, 3)), ValueError, "counts is empty"),
        (np.zeros((3, 0)), ValueError, "counts has no columns"),
        (np.array([[1, -1]]), ValueError, "counts must be non-negative"),
        (np.array([[1.5, 0.0]]), ValueError, "counts must hold whole numbers"),
        (np.array([[np.nan, 0.0]]), ValueError, "counts contains NaN"),
        (np.array([["a"]]), TypeError, "counts must be numeric"),
    ],
)
@pytest.mark.parametrize("cls", [IndependentCountsLatent, BernoulliLatent, ShuffledCountsLatent])
def test_bad_counts_raise(cls, counts, error, match):
    with pytest.raises(error, match=match):
        cls.from_counts(counts)


# --- bank ------------------------------------------------------------------------------------------


def test_bank_rows_drawn_uniformly():
    n_rows, n = 50, 25000
    bank = np.stack([np.arange(n_rows), np.arange(n_rows) % 7], axis=1)
    latent = BankLatent(bank, name="bank", description="rows are their own index")
    sample = latent.sample(n, gen(8)).numpy()
    rows = sample[:, 0].astype(int)
    assert np.array_equal(sample, bank[rows].astype(np.float32))
    observed = np.bincount(rows, minlength=n_rows)
    statistic = ((observed - n / n_rows) ** 2 / (n / n_rows)).sum()
    assert statistic < stats.chi2.isf(ALPHA, n_rows - 1)


def test_bank_without_replacement_is_a_subset_and_refuses_large_batches():
    bank = np.arange(40).reshape(20, 2)
    latent = BankLatent(bank, name="bank", description="x", replace=False)
    whole = latent.sample(20, gen()).numpy()
    assert sorted(map(tuple, whole)) == sorted(map(tuple, bank.astype(np.float32)))
    assert len(set(map(tuple, latent.sample(15, gen(1)).numpy()))) == 15
    with pytest.raises(ValueError, match="bank 'bank' holds 20 rows, fewer than the 21 requested without replacement"):
        latent.sample(21, gen())


def test_bank_standardisation_gives_zero_mean_unit_std_on_the_bank():
    latent = BankLatent(COUNTS, name="bank", description="x", postprocess=CountPostprocess(), replace=False)
    whole = latent.sample(len(COUNTS), gen()).double()
    assert torch.allclose(whole.mean(0), torch.zeros(latent.dim, dtype=torch.float64), atol=1e-6)
    assert torch.allclose(whole.std(0, unbiased=False), torch.ones(latent.dim, dtype=torch.float64), atol=1e-6)


def test_bank_constant_mode_is_centred_not_divided_by_zero():
    bank = np.array([[0, 1], [0, 3], [0, 2]])
    latent = BankLatent(bank, name="bank", description="x", postprocess=CountPostprocess())
    sample = latent.sample(10, gen())
    assert torch.all(sample[:, 0] == 0)
    assert latent.describe()["postprocess"]["std"][0] == 1.0


def test_bank_dequantisation_noise_has_the_requested_scale():
    # Indices are drawn before the noise, so the same seed gives the same rows with and without
    # noise, and (noisy - clean) * σ / s must be standard normal: mean and variance within bounds.
    scale, n = 0.3, 20000
    clean = BankLatent(COUNTS, name="bank", description="x", postprocess=CountPostprocess())
    noisy = BankLatent(COUNTS, name="bank", description="x", postprocess=CountPostprocess(noise_scale=scale))
    difference = noisy.sample(n, gen(9)).double() - clean.sample(n, gen(9)).double()
    eps = (difference * torch.from_numpy(clean.postprocess.std) / scale).numpy()
    m = eps.size
    assert abs(eps.mean()) < 5 / np.sqrt(m)
    assert abs(eps.var() - 1) < 5 * np.sqrt(2 / m)
    # Without standardisation the noise stays in count units: its standard deviation is the scale.
    recipe = CountPostprocess(standardize=False, noise_scale=scale, centring="none")
    raw_noisy = BankLatent(COUNTS, name="bank", description="x", postprocess=recipe)
    raw = BankLatent(COUNTS, name="bank", description="x")
    noise_std = (raw_noisy.sample(n, gen(9)) - raw.sample(n, gen(9))).double().std().item()
    assert abs(noise_std - scale) < 5 * scale / np.sqrt(2 * n * COUNTS.shape[1])


def test_bank_sha256_is_of_the_stored_float32_bank():
    bank = np.array([[0, 1, 2], [3, 4, 5]])
    expected = hashlib.sha256(b"2,3;" + bank.astype("<f4").tobytes()).hexdigest()
    latent = BankLatent(bank, name="bank", description="x")
    assert latent.describe()["sha256"] == expected == bank_sha256(bank)
    assert BankLatent(torch.tensor(bank), name="bank", description="x").sha256 == expected
    changed = bank.copy()
    changed[1, 2] = 6
    assert bank_sha256(changed) != expected
    assert bank_sha256(bank.reshape(3, 2)) != expected


def test_bank_from_description_refuses_another_bank():
    latent = BankLatent(COUNTS, name="bank", description="x")
    other = COUNTS.copy()
    other[0, 0] += 1
    with pytest.raises(ValueError, match=f"sha256 {bank_sha256(other)} != recorded {latent.sha256}"):
        BankLatent.from_description(latent.describe(), other)


def test_bank_is_read_only_and_copied():
    source = np.array([[1.0, 2.0], [3.0, 4.0]])
    latent = BankLatent(source, name="bank", description="x")
    source[0, 0] = 99.0
    assert latent.bank[0, 0] == 1.0
    with pytest.raises(ValueError, match="read-only"):
        latent.bank[0, 0] = 5.0


@pytest.mark.parametrize(
    ("bank", "error", "match"),
    [
        (np.zeros((0, 3)), ValueError, "bank is empty"),
        (np.zeros((3, 0)), ValueError, "bank has no columns"),
        (np.zeros(3), ValueError, r"bank must have shape \(n_samples, n_modes\)"),
        (np.array([[1.0, np.nan]]), ValueError, "bank contains NaN or infinite"),
        (np.array([[1.0, np.inf]]), ValueError, "bank contains NaN or infinite"),
        (np.array([[2**25, 0]]), ValueError, "integers beyond 16777216"),
        (np.array([["a", "b"]]), TypeError, "bank must be numeric"),
    ],
)
def test_bad_bank_raises(bank, error, match):
    with pytest.raises(error, match=match):
        BankLatent(bank, name="bank", description="x")


def test_bad_bank_arguments_raise():
    with pytest.raises(ValueError, match="description must be JSON-serialisable"):
        BankLatent(COUNTS, name="bank", description={"array": np.zeros(2)})
    with pytest.raises(TypeError, match="description must be a string or a mapping"):
        BankLatent(COUNTS, name="bank", description=3)
    with pytest.raises(TypeError, match="replace must be a bool"):
        BankLatent(COUNTS, name="bank", description="x", replace=1)
    with pytest.raises(TypeError, match="postprocess must be a CountPostprocess or None"):
        BankLatent(COUNTS, name="bank", description="x", postprocess={"standardize": True})


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"noise_scale": -0.1}, ValueError, "noise_scale must be finite and non-negative"),
        ({"noise_scale": float("nan")}, ValueError, "noise_scale must be finite and non-negative"),
        ({"noise_scale": "0.1"}, TypeError, "noise_scale must be a number"),
        ({"standardize": 1}, TypeError, "standardize must be a bool"),
    ],
)
def test_bad_postprocess_raises(kwargs, error, match):
    with pytest.raises(error, match=match):
        CountPostprocess(**kwargs)


# --- shuffled counts -------------------------------------------------------------------------------


def test_shuffled_counts_keep_exact_marginals_and_lose_correlations():
    latent = ShuffledCountsLatent.from_counts(COUNTS, seed=11, postprocess=CountPostprocess())
    bank = latent.bank
    for mode in range(COUNTS.shape[1]):
        assert np.array_equal(np.sort(bank[:, mode]), np.sort(COUNTS[:, mode]).astype(np.float32))
    corr = np.corrcoef(bank.T)[np.triu_indices(latent.dim, 1)]
    assert np.all(np.abs(corr) < stats.norm.isf(ALPHA / (2 * corr.size)) / np.sqrt(len(COUNTS)))
    assert np.allclose(latent.postprocess.mean, COUNTS.mean(axis=0), rtol=1e-12)
    assert np.allclose(latent.postprocess.std, COUNTS.std(axis=0), rtol=1e-6)


def test_shuffled_counts_are_seeded_and_recorded():
    first = ShuffledCountsLatent.from_counts(COUNTS, seed=1)
    assert ShuffledCountsLatent.from_counts(COUNTS, seed=1).sha256 == first.sha256
    assert ShuffledCountsLatent.from_counts(COUNTS, seed=2).sha256 != first.sha256
    source = first.describe()["source"]
    assert source["shuffle_seed"] == 1
    assert source["source_sha256"] == bank_sha256(COUNTS)
    with pytest.raises(TypeError, match="seed must be an integer"):
        ShuffledCountsLatent.from_counts(COUNTS, seed=np.random.default_rng(0))
    with pytest.raises(ValueError, match="counts do not match the description"):
        ShuffledCountsLatent.from_description(first.describe(), COUNTS[::-1])


def test_import_qlatent_does_not_import_latent_or_torch():
    code = "import sys, qlatent; bad = {'qlatent.latent', 'torch'} & set(sys.modules); assert not bad, bad"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("centring", ["mean", "half", "none"])
def test_centring_shifts_counts_by_the_mode_mean_by_one_half_or_not_at_all(centring):
    recipe = CountPostprocess(standardize=False, centring=centring)
    latent = BankLatent(COUNTS, name="bank", description="x", postprocess=recipe)
    rows = latent.sample(50, gen(3)).double()
    raw = BankLatent(COUNTS, name="bank", description="x").sample(50, gen(3)).double()
    shift = {"mean": torch.from_numpy(COUNTS.mean(axis=0)), "half": 0.5, "none": 0.0}[centring]
    torch.testing.assert_close(rows, raw - shift)
    assert latent.describe()["postprocess"]["centring"] == centring


def test_mean_centred_bank_has_mean_zero_on_the_bank_itself():
    latent = BankLatent(COUNTS, name="bank", description="x", postprocess=CountPostprocess(standardize=False))
    every_row = latent.postprocess(torch.from_numpy(COUNTS.astype(np.float64)), gen(0))
    np.testing.assert_allclose(every_row.mean(dim=0).numpy(), 0.0, atol=1e-12)


def test_unknown_centring_is_refused():
    with pytest.raises(ValueError, match="centring must be one of mean, half, none, got 'median'"):
        CountPostprocess(centring="median")
