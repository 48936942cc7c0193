"""Distributional metrics on cases with known answers: identical sets, translations, Gaussian closed forms."""

import subprocess
import sys

import numpy as np
import pytest
from scipy import integrate, stats

from qlatent.metrics import distributions as D


def gaussian(n, d, shift=0.0, seed=0):
    return np.random.default_rng(seed).standard_normal((n, d)) + shift


def dyadic(n, d, seed=0):
    """Points on a 2^-10 grid, symmetric about 0: the mean is exactly 0 and every distance is exact.

    Exact distances make the k-th neighbour lie exactly on its ball's boundary whichever way
    round the pair is computed.
    """
    half = np.round(gaussian(n // 2, d, seed=seed) * 1024) / 1024
    return np.concatenate([half, -half])


def gaussian_kernel(a, b, sigmas):
    d2 = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
    return np.mean([np.exp(-d2 / (2 * s**2)) for s in sigmas], axis=0)


def distance_kernel(a, b):
    return -np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))


def paired_u_statistic(x, y, kernel):
    """Unbiased MMD²-type statistic and its standard error, from full kernel matrices.

    With z_i = (x_i, y_i) and h(z_i, z_j) = k(x_i, x_j) + k(y_i, y_j) - k(x_i, y_j) - k(x_j, y_i),
    the statistic is a one-sample U-statistic whose variance is 4 Var(h1) / n to leading order
    (Hoeffding), h1(z) = E h(z, Z'), estimated here by the row means of h.
    """
    n = x.shape[0]
    kxx, kyy, kxy = kernel(x, x), kernel(y, y), kernel(x, y)
    h = kxx + kyy - kxy - kxy.T
    off = ~np.eye(n, dtype=bool)
    value = (kxx[off].mean() + kyy[off].mean()) - 2 * kxy.mean()
    h1 = (h * off).sum(1) / (n - 1)
    return value, 2 * h1.std() / np.sqrt(n)


# --- identical sets --------------------------------------------------------------------------


@pytest.mark.parametrize("d", [1, 3])
def test_identical_sets_give_zero_transport_distances(d):
    x = gaussian(300, d)
    assert D.wasserstein1(x, x) == pytest.approx(0.0, abs=1e-12)
    assert D.sliced_wasserstein(x, x, seed=0) == pytest.approx(0.0, abs=1e-12)


def test_identical_sets_mmd_and_energy_within_diagonal_bound():
    # On x against itself the unbiased estimators differ from zero only by the diagonal terms:
    # MMD² = 2 (S / (n²(n-1)) - 1/n) with S the off-diagonal kernel sum in [0, n(n-1)], so it
    # lies in [-2/n, 0]; energy = -2 T / (n²(n-1)) with T the off-diagonal distance sum.
    n = 400
    x = gaussian(n, 3)
    assert -2.0 / n <= D.mmd(x, x) <= 0.0
    mean_distance = -distance_kernel(x, x).sum() / (n * (n - 1))
    assert D.energy_distance(x, x) == pytest.approx(-2 * mean_distance / n, rel=1e-9)


def test_identical_sets_prdc_exact():
    k = 5
    x = dyadic(600, 3)
    scores = D.precision_recall_density_coverage(x, x, k=k)
    assert scores["precision"] == 1.0
    assert scores["recall"] == 1.0
    assert scores["coverage"] == 1.0
    # Each real ball holds its centre and its k nearest neighbours: k + 1 fake points (no ties).
    assert scores["density"] == pytest.approx((k + 1) / k)


# --- Wasserstein -----------------------------------------------------------------------------


@pytest.mark.parametrize("d", [1, 2, 5])
def test_translation_gives_w1_equal_to_shift_length(d):
    # For y = x + δ the translation coupling costs |δ| and |mean(y) - mean(x)| = |δ| bounds W1
    # from below: W1 = |δ| exactly, in any dimension.
    x = gaussian(400, d)
    delta = np.linspace(0.3, 1.1, d)
    assert D.wasserstein1(x, x + delta) == pytest.approx(np.linalg.norm(delta), rel=1e-9)


def test_one_dimensional_gaussians_shifted_by_delta():
    # |W1(x_n, y_m) - δ| <= W1(x_n, N(0,1)) + W1(y_m, N(δ,1)) and
    # E W1(empirical_n, N(0,1)) <= J / sqrt(n), J = ∫ sqrt(Φ(1-Φ)) (Jensen on E|F_n - F|).
    n, m, delta = 20000, 15000, 0.7
    j, _ = integrate.quad(lambda t: np.sqrt(stats.norm.cdf(t) * stats.norm.sf(t)), -np.inf, np.inf)
    bound = 5 * j * (1 / np.sqrt(n) + 1 / np.sqrt(m))
    value = D.wasserstein1(gaussian(n, 1, seed=1), gaussian(m, 1, delta, seed=2))
    assert abs(value - delta) < bound
    assert bound < delta / 5


def test_multivariate_gaussians_w1_between_mean_gap_and_shift_plus_floor():
    # Equal-covariance Gaussians: W2 = W1 = |δ| for the populations. For the empirical sets,
    # |mean(y) - mean(x)| <= W1(x, y) <= W2(x, y) and W1(x, y) <= |δ| + W1(x, y - δ) (triangle).
    import ot

    d, n = 3, 600
    delta = np.array([1.0, -0.5, 0.25])
    x, y = gaussian(n, d, seed=3), gaussian(n, d, delta, seed=4)
    w1 = D.wasserstein1(x, y)
    weights = np.full(n, 1 / n)

    def w2_of(a, b):
        return np.sqrt(ot.emd2(weights, weights, ot.dist(a, b), numItermax=10**7))

    w2 = w2_of(x, y)
    assert np.linalg.norm(y.mean(0) - x.mean(0)) <= w1 <= w2 + 1e-9
    assert w1 <= np.linalg.norm(delta) + D.wasserstein1(x, y - delta) + 1e-9
    assert w2 <= np.linalg.norm(delta) + w2_of(x, y - delta) + 1e-9


def test_wasserstein1_subsampling_is_seeded():
    x, y = gaussian(300, 2, seed=5), gaussian(300, 2, 0.5, seed=6)
    first = D.wasserstein1(x, y, max_samples=100, seed=7)
    assert D.wasserstein1(x, y, max_samples=100, seed=7) == first
    assert D.wasserstein1(x, y, max_samples=100, seed=np.random.default_rng(7)) == first
    assert D.wasserstein1(x, y, max_samples=100, seed=8) != first


def test_sliced_wasserstein_translation_matches_projections_exactly():
    # For y = x + δ each projected distance is exactly |θ·δ|, so SW_p^p = mean_θ |θ·δ|^p.
    d, n_projections = 4, 64
    x = gaussian(500, d)
    delta = np.array([0.5, -1.0, 0.0, 2.0])
    theta = D.random_directions(d, n_projections, seed=11)
    for p in (1, 2, 3):
        expected = np.mean(np.abs(delta @ theta) ** p) ** (1 / p)
        assert D.sliced_wasserstein(x, x + delta, n_projections, seed=11, p=p) == pytest.approx(expected, rel=1e-9)


def test_sliced_wasserstein_translation_closed_form():
    # θ uniform on the sphere: (θ·δ)² / |δ|² ~ Beta(1/2, (d-1)/2), mean 1/d, variance
    # 2(d-1) / (d²(d+2)); SW_2² is the mean of n_projections such terms times |δ|².
    d, n_projections = 5, 2000
    delta = np.array([1.0, 2.0, -1.0, 0.5, 0.0])
    value = D.sliced_wasserstein(gaussian(100, d), gaussian(100, d) + delta, n_projections, seed=3) ** 2
    se = np.sqrt(2 * (d - 1) / (d**2 * (d + 2)) / n_projections) * delta @ delta
    assert abs(value - delta @ delta / d) < 5 * se


def test_sliced_wasserstein_unequal_sizes_match_scipy_per_direction():
    # With a single direction along the first axis in 1-D, SW_1 is the exact 1-D W1.
    x, y = gaussian(301, 1, seed=1), gaussian(457, 1, 0.3, seed=2)
    expected = stats.wasserstein_distance(x[:, 0], y[:, 0])
    assert D.sliced_wasserstein(x, y, 3, seed=0, p=1) == pytest.approx(expected, rel=1e-12)
    assert D.wasserstein1(x, y) == pytest.approx(expected, rel=1e-12)


def test_sliced_wasserstein_seeded():
    x, y = gaussian(200, 3, seed=1), gaussian(250, 3, 0.2, seed=2)
    assert D.sliced_wasserstein(x, y, 16, seed=4) == D.sliced_wasserstein(x, y, 16, seed=4)
    assert D.sliced_wasserstein(x, y, 16, seed=4) != D.sliced_wasserstein(x, y, 16, seed=5)


# --- MMD and energy distance -----------------------------------------------------------------


def test_mmd_matches_direct_formula_across_blocks():
    # 700 points span two row blocks; bandwidths 0.5, 1, 2 exercise the kernel-squaring path.
    x, y = gaussian(700, 3, seed=1), gaussian(650, 3, 0.3, seed=2)
    sigmas = [2.0, 0.5, 1.0, 0.7]
    n, m = len(x), len(y)
    kxx, kyy, kxy = gaussian_kernel(x, x, sigmas), gaussian_kernel(y, y, sigmas), gaussian_kernel(x, y, sigmas)
    within_x = (kxx.sum() - np.trace(kxx)) / (n * (n - 1))
    within_y = (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    expected = within_x + within_y - 2 * kxy.mean()
    assert D.mmd(x, y, bandwidths=sigmas) == pytest.approx(expected, rel=1e-9)


def test_mmd_shifted_gaussian_closed_form():
    # X ~ N(0, s²I), Y ~ N(Δ, s²I) in d dimensions, k_σ(a, b) = exp(-|a-b|²/(2σ²)):
    # X - X' ~ N(0, 2s²I) gives E k = (σ²/(σ² + 2s²))^{d/2}; X - Y ~ N(-Δ, 2s²I) gives
    # E k = (σ²/(σ² + 2s²))^{d/2} exp(-|Δ|²/(2(σ² + 2s²))). Hence
    # MMD² = mean_σ 2 (σ²/(σ² + 2s²))^{d/2} (1 - exp(-|Δ|²/(2(σ² + 2s²)))).
    d, n = 2, 1500
    delta = np.array([1.0, -0.5])
    sigmas = np.array([0.5, 1.0, 2.0])
    c = sigmas**2 / (sigmas**2 + 2.0)
    expected = np.mean(2 * c ** (d / 2) * (1 - np.exp(-(delta @ delta) / (2 * (sigmas**2 + 2.0)))))
    x, y = gaussian(n, d, seed=21), gaussian(n, d, delta, seed=22)
    value = D.mmd(x, y, bandwidths=sigmas)
    _, se = paired_u_statistic(x, y, lambda a, b: gaussian_kernel(a, b, sigmas))
    assert abs(value - expected) < 5 * se
    assert 5 * se < expected / 2


def test_mmd_same_distribution_near_zero():
    x, y = gaussian(1200, 3, seed=1), gaussian(1200, 3, seed=2)
    sigmas = np.array([0.5, 1.0, 2.0])
    _, se = paired_u_statistic(x, y, lambda a, b: gaussian_kernel(a, b, sigmas))
    assert abs(D.mmd(x, y, bandwidths=sigmas)) < 5 * se


def test_mmd_default_bandwidths_are_median_heuristic_times_factors():
    x, y = gaussian(300, 2, seed=1), gaussian(300, 2, 1.0, seed=2)
    pooled = np.concatenate([x, y])
    d = np.sqrt(((pooled[:, None] - pooled[None]) ** 2).sum(-1))
    median = np.median(d[np.triu_indices(len(pooled), 1)])
    assert D.median_heuristic_bandwidth(x, y) == pytest.approx(median, rel=1e-9)
    explicit = D.mmd(x, y, bandwidths=median * np.array(D.MMD_BANDWIDTH_FACTORS))
    assert D.mmd(x, y) == pytest.approx(explicit, rel=1e-9)


def test_mmd_and_energy_subsampling_is_seeded():
    x, y = gaussian(400, 2, seed=1), gaussian(400, 2, 0.5, seed=2)
    for metric in (D.mmd, D.energy_distance):
        first = metric(x, y, max_samples=150, seed=3)
        assert metric(x, y, max_samples=150, seed=3) == first
        assert metric(x, y, max_samples=150, seed=4) != first
        assert metric(x, y, max_samples=400) == metric(x, y)


def test_energy_distance_one_dimensional_gaussians_closed_form():
    # E|N(μ, 2)| = 2/sqrt(π) exp(-μ²/4) + μ (1 - 2Φ(-μ/√2)); energy = 2E|X-Y| - E|X-X'| - E|Y-Y'|.
    n, mu = 2000, 1.5
    mean_abs_xy = 2 / np.sqrt(np.pi) * np.exp(-(mu**2) / 4) + mu * (1 - 2 * stats.norm.cdf(-mu / np.sqrt(2)))
    expected = 2 * mean_abs_xy - 2 * (2 / np.sqrt(np.pi))
    x, y = gaussian(n, 1, seed=5), gaussian(n, 1, mu, seed=6)
    _, se = paired_u_statistic(x, y, distance_kernel)
    assert abs(D.energy_distance(x, y) - expected) < 5 * se
    assert 5 * se < expected / 2


# --- precision, recall, density, coverage ----------------------------------------------------


def test_prdc_far_apart_sets_are_all_zero():
    scores = D.precision_recall_density_coverage(gaussian(300, 2), gaussian(300, 2, 50.0, seed=1))
    assert scores == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_prdc_same_distribution_density_and_coverage_expectations():
    # Naeem et al. 2020: with real and fake from one distribution, E[density] = 1 and
    # E[coverage] = 1 - Π_{t=1..k} (N - t)/(N + M - t). Each real ball holds a fake point with that
    # probability; each fake point lies in Binomial-like k of N balls on average.
    k, n_real, n_fake = 5, 1500, 1200
    real, fake = gaussian(n_real, 2, seed=31), gaussian(n_fake, 2, seed=32)
    scores = D.precision_recall_density_coverage(real, fake, k=k)
    expected_coverage = 1 - np.prod([(n_real - t) / (n_real + n_fake - t) for t in range(1, k + 1)])
    coverage_se = np.sqrt(expected_coverage * (1 - expected_coverage) / n_real)
    assert abs(scores["coverage"] - expected_coverage) < 5 * coverage_se
    assert abs(scores["density"] - 1.0) < 5 / np.sqrt(k * n_fake)
    # Precision and recall are not 1 at finite k, but close to it in two dimensions (measured 0.96).
    assert scores["precision"] > 0.9
    assert scores["recall"] > 0.9


def test_prdc_shifted_fake_loses_precision_and_coverage():
    real = gaussian(800, 2, seed=1)
    near = D.precision_recall_density_coverage(real, gaussian(800, 2, seed=2))
    shifted = D.precision_recall_density_coverage(real, gaussian(800, 2, 2.0, seed=2))
    for key in near:
        assert shifted[key] < near[key]


def brute_force_prdc_with_repeats(real, fake, k):
    """PRDC over every sample, radii to the k-th nearest distinct other value, exact integer distances."""
    def radii(points):
        d2 = ((points[:, None, :] - points[None, :, :]) ** 2).sum(-1)
        values = np.unique(points, axis=0)
        to_values = ((points[:, None, :] - values[None, :, :]) ** 2).sum(-1)
        # k-th smallest squared distance to the distinct values other than the sample's own
        return d2, np.array([np.sort(row[row > 0])[k - 1] for row in to_values])

    real_d2, real_r = radii(real)
    _, fake_r = radii(fake)
    cross = ((fake[:, None, :] - real[None, :, :]) ** 2).sum(-1)  # (fake, real)
    inside = cross <= real_r[None, :]
    held = (real_d2 <= real_r[:, None]).sum(1) - 1  # other real samples in each real ball
    return {"precision": np.mean(inside.any(1)), "recall": np.mean((cross <= fake_r[:, None]).any(0)),
            "density": inside.sum() / (len(fake) * held.mean()), "coverage": np.mean(inside.any(0))}


def counts(n, d, seed):
    """Integer data with many repeated rows, as photon counts."""
    return np.random.default_rng(seed).poisson(0.7, size=(n, d)).astype(np.float64)


@pytest.mark.parametrize("k", [1, 5])
def test_prdc_with_repeated_points_matches_brute_force(k):
    real, fake = counts(300, 4, seed=1), counts(250, 4, seed=2)
    assert len(np.unique(real, axis=0)) < 100  # many repeats
    scores = D.precision_recall_density_coverage(real, fake, k=k)
    expected = brute_force_prdc_with_repeats(real, fake, k)
    assert scores == pytest.approx(expected, rel=1e-12)


def test_prdc_on_discrete_data_scores_a_near_copy_and_a_fresh_sample_near_one():
    real = counts(2000, 6, seed=3)
    _, inverse, multiplicity = np.unique(real, axis=0, return_inverse=True, return_counts=True)
    # over a third of the samples have k = 5 other copies: the published radius would be 0
    assert np.mean(multiplicity[inverse.ravel()] > 5) > 1 / 3
    near = real + np.random.default_rng(4).uniform(-1e-6, 1e-6, real.shape)
    scores = D.precision_recall_density_coverage(real, near)
    assert scores["precision"] == scores["recall"] == scores["coverage"] == 1.0
    fresh = D.precision_recall_density_coverage(real, counts(2000, 6, seed=5))
    # measured spread of density over seeds: 0.017; the published radii gave 0.39 precision here
    assert abs(fresh["density"] - 1.0) < 0.1
    assert min(fresh["precision"], fresh["recall"], fresh["coverage"]) > 0.99


def test_prdc_exact_copy_of_discrete_data_is_deterministic_at_the_boundaries():
    # Lattice points lie exactly on many balls' boundaries; round-off must not decide membership.
    real = counts(1000, 5, seed=6)
    scores = D.precision_recall_density_coverage(real, real.copy())
    expected = brute_force_prdc_with_repeats(real, real, 5)
    assert scores == pytest.approx(expected, rel=1e-12)
    assert D.precision_recall_density_coverage(real + 1e6, real + 1e6) == scores


def test_far_from_origin_data_give_the_same_values():
    # Every metric is translation invariant; pooled-mean centring keeps |a|²+|b|²-2a·b accurate.
    x, y = gaussian(300, 3, seed=1), gaussian(300, 3, 0.5, seed=2)
    offset = 1e6
    assert D.mmd(x + offset, y + offset) == pytest.approx(D.mmd(x, y), rel=1e-6)
    assert D.energy_distance(x + offset, y + offset) == pytest.approx(D.energy_distance(x, y), rel=1e-6)
    assert D.precision_recall_density_coverage(x + offset, y + offset) == D.precision_recall_density_coverage(x, y)


# --- inputs ------------------------------------------------------------------------------------


def test_torch_tensors_are_accepted():
    torch = pytest.importorskip("torch")
    x, y = gaussian(200, 2, seed=1), gaussian(200, 2, 0.4, seed=2)
    expected = D.mmd(x, y.astype(np.float32))
    assert D.mmd(torch.from_numpy(x), torch.from_numpy(y).float()) == pytest.approx(expected, rel=1e-9)
    assert D.wasserstein1(torch.from_numpy(x), y) == D.wasserstein1(x, y)


ALL_METRICS = [
    lambda x, y: D.wasserstein1(x, y),
    lambda x, y: D.sliced_wasserstein(x, y, seed=0),
    lambda x, y: D.mmd(x, y),
    lambda x, y: D.energy_distance(x, y),
    lambda x, y: D.precision_recall_density_coverage(x, y, k=2),
]


@pytest.mark.parametrize("metric", ALL_METRICS)
@pytest.mark.parametrize(
    ("x", "y", "match"),
    [
        (np.zeros((5, 2)), np.zeros((5, 3)), "different dimensions: 2 and 3"),
        (np.zeros((0, 2)), np.zeros((5, 2)), "is empty"),
        (np.zeros((5, 2)), np.full((5, 2), np.nan), "NaN or infinite"),
        (np.zeros((5, 2)), np.full((5, 2), np.inf), "NaN or infinite"),
        (np.zeros((5, 2, 1)), np.zeros((5, 2)), r"shape \(n_samples, n_features\)"),
        (np.zeros((5, 0)), np.zeros((5, 0)), "no features"),
    ],
)
def test_bad_sample_sets_raise(metric, x, y, match):
    with pytest.raises(ValueError, match=match):
        metric(x, y)


def test_bad_parameters_raise():
    x, y = gaussian(10, 2), gaussian(10, 2, seed=1)
    with pytest.raises(TypeError, match="must hold real numbers"):
        D.mmd(np.array([["a", "b"]] * 3), y)
    with pytest.raises(ValueError, match="max_samples must be positive"):
        D.wasserstein1(x, y, max_samples=0)
    with pytest.raises(TypeError, match="max_samples must be an integer"):
        D.wasserstein1(x, y, max_samples=2.5)
    with pytest.raises(ValueError, match="max_samples must be at least 2"):
        D.mmd(x, y, max_samples=1)
    with pytest.raises(TypeError, match="seed must be an int"):
        D.wasserstein1(x, y, seed=True)
    with pytest.raises(ValueError, match="n_projections must be positive"):
        D.sliced_wasserstein(x, y, n_projections=0)
    with pytest.raises(ValueError, match="p must be a number >= 1"):
        D.sliced_wasserstein(x, y, p=0.5)
    with pytest.raises(ValueError, match="bandwidths must be positive"):
        D.mmd(x, y, bandwidths=[1.0, -1.0])
    with pytest.raises(ValueError, match="bandwidths must be a non-empty"):
        D.mmd(x, y, bandwidths=[])
    with pytest.raises(ValueError, match="y needs at least 2 samples, got 1"):
        D.mmd(x, y[:1])
    with pytest.raises(ValueError, match="y needs at least 2 samples, got 1"):
        D.energy_distance(x, y[:1])
    with pytest.raises(ValueError, match="k must be positive"):
        D.precision_recall_density_coverage(x, y, k=0)
    with pytest.raises(ValueError, match="fake needs at least 6 samples, got 4"):
        D.precision_recall_density_coverage(x, y[:4], k=5)
    with pytest.raises(ValueError, match="real has 3 distinct points; .* k=5 need more than k"):
        D.precision_recall_density_coverage(np.repeat(x[:3], 4, axis=0), y, k=5)


def test_import_is_light():
    code = (
        "import sys, qlatent.metrics.distributions; "
        "heavy = {'torch', 'ot', 'scipy'} & set(m.split('.')[0] for m in sys.modules); "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
