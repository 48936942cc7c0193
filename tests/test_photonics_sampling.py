"""The sampler against the exact distributions (chi-square, seeded), determinism, and its errors."""

from __future__ import annotations

import numba
import numpy as np
import pytest
from scipy.stats import chisquare

from qlatent.photonics import output_probabilities, sample
from qlatent.photonics.sampling import sample_batch, subsets_by_size

P_VALUE_FLOOR = 1e-4
N_SAMPLES = 20_000
BEAM_SPLITTER = np.array([[1.0, 1.0], [1.0, -1.0]]) / np.sqrt(2.0)


def haar(m: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.normal(size=(m, m)) + 1j * rng.normal(size=(m, m)))
    return q * (np.diag(r) / np.abs(np.diag(r)))


def contraction(m: int, seed: int) -> np.ndarray:
    """A generic sub-unitary matrix: singular values spread over (0.2, 0.95)."""
    singular = np.linspace(0.2, 0.95, m)
    return haar(m, seed) @ np.diag(singular) @ haar(m, seed + 1)


def chi_square_p_value(samples: np.ndarray, patterns: np.ndarray, probs: np.ndarray) -> float:
    """Pearson test of the sample histogram; bins expected below 5 counts are pooled into one."""
    index = {tuple(int(v) for v in p): i for i, p in enumerate(patterns)}
    observed_index = np.array([index[tuple(int(v) for v in row)] for row in samples])
    observed = np.bincount(observed_index, minlength=len(probs)).astype(float)
    expected = probs * len(samples)
    large = expected >= 5
    assert observed[probs <= 1e-15].sum() == 0, "a pattern of probability zero was sampled"
    obs = np.append(observed[large], observed[~large].sum())
    exp = np.append(expected[large], expected[~large].sum())
    keep = exp > 0
    exp = exp[keep] * obs[keep].sum() / exp[keep].sum()
    return float(chisquare(obs[keep], exp).pvalue)


CASES = {
    "indistinguishable-fock": (dict(model="indistinguishable"), False),
    "distinguishable": (dict(model="distinguishable"), False),
    "partial": (dict(model="partial", indistinguishability=0.6), False),
    "uniform-loss": (dict(model="indistinguishable", transmission=0.6), False),
    "subunitary-loss": (dict(model="indistinguishable"), True),
    "threshold-partial-loss": (dict(model="partial", indistinguishability=0.8, transmission=0.7,
                                    detection="threshold"), False),
    "partial-subunitary-threshold": (dict(model="partial", indistinguishability=0.5, detection="threshold"), True),
}


@pytest.mark.parametrize("case", list(CASES))
def test_samples_follow_the_exact_distribution(case):
    options, lossy = CASES[case]
    unitary = contraction(5, 3) if lossy else haar(5, 3)
    state = [2, 0, 1, 0, 1]
    patterns, probs = output_probabilities(unitary, state, allow_subunitary=lossy, **options)
    samples = sample(unitary, state, N_SAMPLES, allow_subunitary=lossy, seed=12345, **options)
    assert samples.shape == (N_SAMPLES, 5) and samples.dtype == np.uint8
    assert chi_square_p_value(samples, patterns, probs) > P_VALUE_FLOOR


def test_single_photons_in_a_larger_interferometer_follow_the_exact_distribution():
    unitary, state = haar(8, 9), [1, 1, 1, 1, 0, 0, 0, 0]
    patterns, probs = output_probabilities(unitary, state)
    samples = sample(unitary, state, N_SAMPLES, seed=7)
    assert chi_square_p_value(samples, patterns, probs) > P_VALUE_FLOOR


def test_many_collisions_follow_the_exact_distribution():
    """Five photons in three modes: the repeated-row permanents with multiplicities up to five."""
    unitary, state = haar(3, 13), [2, 2, 1]
    patterns, probs = output_probabilities(unitary, state)
    samples = sample(unitary, state, N_SAMPLES, seed=17)
    assert chi_square_p_value(samples, patterns, probs) > P_VALUE_FLOOR


@pytest.mark.parametrize(("state", "x"), [([1, 1, 1, 1, 1, 0, 0], 1.0), ([3, 0, 2, 0, 1, 0, 0], 1.0),
                                          ([1, 1, 1, 1, 1, 1, 1], 0.7)])
def test_subset_table_and_glynn_sums_pick_the_same_modes(state, x):
    """Both permanent strategies fed the same random numbers give the same patterns (up to rare ties)."""
    unitary = haar(7, 23)
    columns = np.repeat(np.arange(7), state)
    photons = np.ascontiguousarray(unitary[:, columns].T)
    cdf = np.ascontiguousarray(np.cumsum(np.abs(photons) ** 2, axis=1))
    rng = np.random.default_rng(5)
    n_rows, n = 2_000, len(columns)
    draws = rng.random((n_rows, 2, n))
    status = np.where(rng.random((n_rows, n)) < x, 1, 2).astype(np.int8)
    results = []
    for table_max in (0, n):
        subsets, offsets = subsets_by_size(min(n, table_max))
        out = np.zeros((n_rows, 7), dtype=np.uint8)
        failed = np.zeros(n_rows, dtype=np.uint8)
        sample_batch(photons, cdf, status, draws, 7, table_max, subsets, offsets, 8, out, failed, n, np.inf,
                     np.zeros(n_rows))
        assert not failed.any()
        results.append(out)
    assert np.all(results[0].sum(axis=1) == n)
    assert (results[0] != results[1]).any(axis=1).mean() < 1e-3


def test_hong_ou_mandel_photons_never_leave_in_different_modes():
    samples = sample(BEAM_SPLITTER, [1, 1], 5_000, seed=0)
    assert np.all((samples == [2, 0]).all(axis=1) | (samples == [0, 2]).all(axis=1))
    classical = sample(BEAM_SPLITTER, [1, 1], 5_000, model="distinguishable", seed=0)
    assert 0.45 < (classical == [1, 1]).all(axis=1).mean() < 0.55


def test_photon_number_is_conserved_without_loss_and_never_grows_with_loss():
    unitary, state = haar(20, 2), [1] * 10 + [0] * 10
    assert np.all(sample(unitary, state, 300, seed=1).sum(axis=1) == 10)
    lossy = sample(unitary, state, 300, transmission=0.5, model="partial", indistinguishability=0.5, seed=1)
    assert lossy.sum(axis=1).max() <= 10


def test_same_seed_same_samples_whatever_the_batch_size():
    unitary, state = haar(6, 4), [1, 0, 1, 0, 2, 0]
    options = dict(model="partial", indistinguishability=0.7, transmission=0.9)
    first = sample(unitary, state, 1_000, seed=99, **options)
    assert np.array_equal(first, sample(unitary, state, 1_000, seed=99, **options))
    assert np.array_equal(first, sample(unitary, state, 1_000, seed=99, batch_size=37, **options))
    assert np.array_equal(first, sample(unitary, state, 1_000, seed=np.random.default_rng(99), **options))
    assert not np.array_equal(first, sample(unitary, state, 1_000, seed=100, **options))


def test_samples_do_not_depend_on_the_number_of_threads():
    unitary, state = haar(8, 5), [1, 1, 1, 0, 1, 0, 0, 0]
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        single = sample(unitary, state, 2_000, seed=3, transmission=0.8)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        multi = sample(unitary, state, 2_000, seed=3, transmission=0.8)
    finally:
        numba.set_num_threads(previous)
    assert np.array_equal(single, multi)


def test_many_photons_give_uint16_counts():
    samples = sample(BEAM_SPLITTER, [200, 100], 50, model="distinguishable", seed=0)
    assert samples.dtype == np.uint16 and np.all(samples.sum(axis=1) == 300)


@pytest.mark.parametrize("n_samples", [0, -3, 2.5, True, "10"])
def test_sample_rejects_bad_sample_counts(n_samples):
    with pytest.raises(ValueError, match="n_samples must be a positive integer"):
        sample(BEAM_SPLITTER, [1, 1], n_samples)


@pytest.mark.parametrize(
    ("unitary", "state", "kwargs", "match"),
    [
        (BEAM_SPLITTER, [1, 1], dict(batch_size=0), "batch_size must be a positive integer"),
        (BEAM_SPLITTER, [1, 1], dict(model="quantum"), "unknown model"),
        (BEAM_SPLITTER, [1, 1], dict(detection="click"), "unknown detection"),
        (BEAM_SPLITTER, [1, 1], dict(model="partial", indistinguishability=-0.2), "indistinguishability must lie"),
        (BEAM_SPLITTER, [1, 1], dict(indistinguishability=float("nan")), "indistinguishability must lie"),
        (BEAM_SPLITTER, [1, 1], dict(transmission=1.01), "transmission must lie"),
        (BEAM_SPLITTER, [1, 1], dict(transmission=float("nan")), "transmission must lie"),
        (BEAM_SPLITTER, [1], {}, "input state has 1 modes"),
        (BEAM_SPLITTER, [2, -1], {}, "negative"),
        (BEAM_SPLITTER, [0, 0], {}, "no photon"),
        (np.array([[1.0, 0.0], [0.0, np.nan]]), [1, 1], {}, "NaN"),
        (0.9 * BEAM_SPLITTER, [1, 1], {}, "not unitary"),
        (1.1 * BEAM_SPLITTER, [1, 1], dict(allow_subunitary=True), "not sub-unitary"),
    ],
)
def test_sample_rejects_bad_inputs(unitary, state, kwargs, match):
    with pytest.raises(ValueError, match=match):
        sample(unitary, state, 10, **kwargs)


def test_sampling_leaves_torchs_thread_count_alone():
    """Numba's OpenMP layer used to reset torch's threads (40x slower training after a bank was sampled)."""
    import subprocess
    import sys

    code = ("import torch; torch.set_num_threads(1); "
            "from qlatent.photonics import sample; from qlatent.photonics.interferometers import haar_unitary; "
            "sample(haar_unitary(6, seed=0), [1, 1, 1, 0, 0, 0], 500, seed=0); print(torch.get_num_threads())")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env={key: value for key, value in __import__("os").environ.items()
                                 if key != "NUMBA_THREADING_LAYER"})
    assert result.stdout.strip() == "1"


def test_a_matrix_accepted_as_unitary_is_accepted_as_sub_unitary_too():
    """Within the tolerance of unitary (entrywise ``|A†A − I|``) is unitary with or without ``allow_subunitary``:
    its singular values may still exceed ``1 + tolerance`` (here ``sqrt(1 + m ε)``), which the sub-unitary check
    refused, so a request (which allows sub-unitaries) refused what the sampler projects onto a unitary."""
    from qlatent.photonics.validation import UNITARITY_TOLERANCE, validate_transfer_matrix

    m, eps = 8, 0.9 * UNITARITY_TOLERANCE
    values, vectors = np.linalg.eigh(np.eye(m) + eps * np.ones((m, m)))
    matrix = (vectors * np.sqrt(values)) @ vectors.T  # A†A = I + ε (all ones): largest singular value 1 + 4ε
    assert np.linalg.norm(matrix, ord=2) > 1 + UNITARITY_TOLERANCE
    for allow_subunitary in (False, True):
        projected = validate_transfer_matrix(matrix, allow_subunitary=allow_subunitary, project=True)
        np.testing.assert_allclose(projected.conj().T @ projected, np.eye(m), atol=1e-14)
