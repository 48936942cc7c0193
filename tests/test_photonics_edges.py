"""Correct answers at the edges: many photons in one mode, large permanents, angle ranges, the
unitarity tolerance, bounded costs with clear errors, and the time-bin beam-splitter sign."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binom, binomtest, chisquare, ortho_group

from qlatent.photonics import (
    decompose,
    haar_unitary,
    output_probabilities,
    pattern_probability,
    permanent,
    sample,
    sample_postselected,
    timebin_interferometer,
    timebin_unitary,
)
from qlatent.photonics.interferometers import Interferometer
from qlatent.photonics.permanents import column_deleted_permanents

BALANCED = np.array([[1.0, 1.0], [1.0, -1.0]]) / np.sqrt(2.0)


# 1. many photons in one output mode
@pytest.mark.parametrize("n", [86, 300])
def test_many_photons_through_the_identity_stay_in_their_mode(n):
    np.testing.assert_array_equal(sample(np.eye(2), [n, 0], 3, seed=1), [[n, 0]] * 3)


@pytest.mark.parametrize("multiplicity", [[100], [1, 1, 90], [1, 1, 1, 60, 40]])
def test_grouped_sums_of_many_repeated_rows_keep_their_digits(multiplicity):
    # Every photon from one input mode (identical columns) with output amplitudes u_t, at the
    # typical collisions mu_t = N |u_t|^2: each minor is N! prod u_t^mu_t and
    # c = 2^(n_1 - 1) / prod_{mu >= 2} mu!. Glynn's grouped weights at the points 2a - mu lost
    # every digit here (100 copies of a row of ones gave 16.7 times 100!).
    n_distinct, n_rows = len(multiplicity), sum(multiplicity)
    amplitudes = np.sqrt(np.array(multiplicity) / n_rows)
    rows = np.repeat(amplitudes[:, None], n_rows + 1, axis=1).astype(np.complex128)
    work, state = np.empty((9, n_rows + 1), dtype=np.complex128), np.empty((4, n_distinct + 1), dtype=np.int64)
    out = np.empty(n_rows + 1, dtype=np.complex128)
    shift = column_deleted_permanents(rows, np.array(multiplicity, dtype=np.int64), n_distinct, work, state, out)
    n_single = multiplicity.count(1)
    log_expected = (math.lgamma(n_rows + 1) + max(n_single - 1, 0) * math.log(2.0)
                    - sum(math.lgamma(mu + 1) for mu in multiplicity if mu > 1)
                    + sum(mu * math.log(u) for mu, u in zip(multiplicity, amplitudes))
                    - shift * n_rows * math.log(2.0))
    np.testing.assert_allclose(out, np.exp(log_expected), rtol=1e-9)


def test_sixty_photons_on_a_beam_splitter_follow_the_binomial_law():
    # all photons in one input mode leave independently: mode 0 holds Binomial(60, 1/2) photons
    n, shots = 60, 200
    counts = sample(BALANCED, [n, 0], shots, seed=3)[:, 0].astype(int)
    edges = [0, 27, 30, 33, n + 1]
    observed = np.histogram(counts, bins=edges)[0]
    expected = shots * np.diff(binom.cdf(np.array(edges) - 1, n, 0.5))
    assert chisquare(observed, expected * observed.sum() / expected.sum()).pvalue > 1e-3


def test_exact_probabilities_of_many_photons_match_closed_forms():
    patterns, probs = output_probabilities(BALANCED, [300, 0])
    np.testing.assert_allclose(probs, [math.comb(300, int(a)) / 2.0**300 for a in patterns[:, 0]], atol=1e-14)
    # (60, 60) from (60, 60) on a balanced splitter: C(60, 30)^2 / 4^60
    assert pattern_probability(BALANCED, [60, 60], [60, 60]) == pytest.approx(math.comb(60, 30) ** 2 / 4.0**60,
                                                                               rel=1e-9)


# 2. permanents of 64 rows and more
def test_large_permanents_with_repeated_rows_are_exact_and_others_refused():
    assert permanent(np.ones((64, 64))) == pytest.approx(math.factorial(64), rel=1e-12)
    assert permanent(np.ones((170, 170))).real == pytest.approx(math.factorial(170), rel=1e-12)
    with pytest.raises(OverflowError, match="exceeds the float64 range"):
        permanent(np.ones((171, 171)))
    with pytest.raises(ValueError, match="operations, above the limit"):
        permanent(np.eye(64))
    with pytest.raises(ValueError, match="operations, above the limit"):
        pattern_probability(np.eye(64), [1] * 64, [1] * 64)


def test_permanents_of_large_and_tiny_entries_are_rescaled():
    matrix = np.random.default_rng(1).normal(size=(9, 9))
    assert permanent(matrix * 1e33) == pytest.approx(permanent(matrix) * 1e297, rel=1e-12)
    assert permanent(matrix * 1e-34) == pytest.approx(permanent(matrix) * 1e-306, rel=1e-12)


# 3. decomposition angles in [0, 2 pi)
def test_decomposition_angles_of_real_orthogonal_matrices_lie_in_range():
    for matrix in [-np.eye(2), -np.eye(4)] + [ortho_group.rvs(4, random_state=seed) for seed in range(30)]:
        mesh = decompose(matrix)
        angles = np.concatenate([mesh.phis, mesh.output_phases])
        assert np.all((angles >= 0.0) & (angles < 2.0 * np.pi))
        np.testing.assert_allclose(mesh.to_unitary(), matrix, atol=1e-12)
    np.testing.assert_array_equal(decompose(-np.eye(4)).output_phases, [0.0, np.pi, np.pi, np.pi])


# 4. one tolerance decides "unitary"
def test_a_rounded_unitary_is_used_as_the_nearest_unitary():
    rounded = np.round(haar_unitary(4, seed=2), 10)
    for allow_subunitary in (False, True):
        patterns, probs = output_probabilities(rounded, [1, 1, 0, 0], allow_subunitary=allow_subunitary)
        assert len(patterns) == 10 and np.all(patterns.sum(axis=1) == 2)
        assert abs(probs.sum() - 1.0) < 1e-13
        shots = sample(rounded, [1, 1, 0, 0], 500, seed=0, allow_subunitary=allow_subunitary)
        assert np.all(shots.sum(axis=1) == 2)


# 5. bad input gives a clear ValueError, every cost bounded before starting
@pytest.mark.parametrize("seed", [1.5, "abc", -1])
def test_bad_seeds_are_value_errors(seed):
    with pytest.raises(ValueError, match="seed"):
        sample(np.eye(2), [1, 1], 1, seed=seed)
    with pytest.raises(ValueError, match="seed"):
        sample_postselected(np.eye(2), [1, 1], 1, min_detected=1, seed=seed)


@pytest.mark.parametrize(
    ("state", "kwargs", "match"),
    [
        ([2**40, 0], {}, "more than the 65,535"),
        ([70_000, 0], {"model": "distinguishable"}, "more than the 65,535"),
        ([40] + [0] * 59, {}, "operations per shot"),
    ],
)
def test_oversized_sampling_tasks_are_refused(state, kwargs, match):
    with pytest.raises(ValueError, match=match):
        sample(np.eye(len(state)), state, 1, **kwargs)


def test_the_cost_bound_counts_the_photons_that_survive_a_uniform_loss():
    """32 photons into 32 modes at transmission 0.5 (the PT-2 latent) interfere at most 31 in all but
    1e-9 of shots: under the limit, though all 32 would not be; nearly lossless, all 32 count."""
    from qlatent.photonics.interferometers import haar_unitary
    from qlatent.photonics.sampling import RARE_SHOT, likely_most_interfering

    assert likely_most_interfering(32, 0.5) == 31 and likely_most_interfering(32, 1.0) == 32
    assert likely_most_interfering(32, 0.99) == 32 and likely_most_interfering(0, 0.5) == 0
    assert 0.5**32 <= RARE_SHOT < 32 * 0.5**32  # 31 is the quantile: P(K > 31) = 2^-32, P(K > 30) = 33 2^-32
    unitary = haar_unitary(32, seed=0)
    shots = sample(unitary, [1] * 32, 3, transmission=0.5, seed=2)
    assert shots.shape == (3, 32) and np.all(shots.sum(axis=1) <= 32)
    with pytest.raises(ValueError, match=r"^32 interfering photons in 32 modes may cost"):
        sample(unitary, [1] * 32, 1, seed=2)
    with pytest.raises(ValueError, match=r"^32 interfering photons in 32 modes may cost"):
        sample(unitary, [1] * 32, 1, transmission=0.999, indistinguishability=0.9999, seed=2)
    with pytest.raises(ValueError, match=r"^55 interfering photons \(of the 64 sent in, in all but 1e-09 of shots\)"):
        sample(np.eye(64), [1] * 64, 1, transmission=0.5, seed=2)


def test_oversized_exact_tasks_are_refused_and_grouped_ones_run():
    with pytest.raises(ValueError, match="more than the 65,535"):
        output_probabilities(np.eye(2), [2**40, 0])
    with pytest.raises(ValueError, match="operations, above the limit"):
        output_probabilities(haar_unitary(9, seed=0), [2, 2, 2, 2, 2, 2, 1, 1, 1])
    patterns, probs = output_probabilities(BALANCED, [20, 20])  # 441 terms per permanent, not 2^39
    n = 20
    closed = [math.comb(2 * k, k) * math.comb(2 * n - 2 * k, n - k) / 4.0**n for k in range(n + 1)]
    even = patterns[:, 0] % 2 == 0
    np.testing.assert_allclose(probs[even][::-1], closed, atol=1e-12)
    assert np.all(probs[~even] < 1e-12)


def test_many_distinguishable_photons_sample_without_permanent_work_space():
    shots = sample(np.eye(3), [5000, 0, 0], 2, model="distinguishable", seed=0)
    np.testing.assert_array_equal(shots, [[5000, 0, 0]] * 2)


# 6. time-bin beam-splitter sign
def test_cudaq_convention_is_the_default_at_negated_angles_and_changes_two_loop_distributions():
    rng = np.random.default_rng(4)
    thetas, phis = rng.uniform(0, 2 * np.pi, 2 * 5 - 3), rng.uniform(0, 2 * np.pi, 2 * 5 - 3)
    cudaq = timebin_unitary(5, [1, 2], thetas, phis, convention="cudaq")
    np.testing.assert_array_equal(cudaq, timebin_unitary(5, [1, 2], -thetas, phis))
    # one beam splitter: CUDA-Q's gate sends a photon from the second mode to the first with +sin
    single = timebin_unitary(2, [1], [0.3], convention="cudaq")
    np.testing.assert_allclose(single, [[np.cos(0.3), np.sin(0.3)], [-np.sin(0.3), np.cos(0.3)]])
    ours = timebin_unitary(5, [1, 2], thetas, phis)
    state = [1, 1, 1, 0, 0]
    assert np.abs(output_probabilities(ours, state)[1] - output_probabilities(cudaq, state)[1]).max() > 1e-3
    built = timebin_interferometer(5, [1, 2], thetas, phis, convention="cudaq")
    assert built.parameters["convention"] == "cudaq"
    assert "convention" not in timebin_interferometer(5, [1, 2], thetas, phis).parameters
    np.testing.assert_array_equal(Interferometer.from_dict(built.to_dict()).unitary, cudaq)
    with pytest.raises(ValueError, match="convention"):
        timebin_unitary(5, [1, 2], thetas, phis, convention="orca")


# --- float64 precision of the grouped permanent sums: refuse rather than return noise ---------------

_BEAM_SPLITTER = np.array([[1.0, 1.0], [1.0, -1.0]]) / np.sqrt(2.0)


def test_beam_splitter_distribution_with_20_photons_per_mode_stays_exact():
    from qlatent.photonics.probabilities import output_probabilities

    patterns, probs = output_probabilities(_BEAM_SPLITTER, [20, 20])
    assert abs(probs.sum() - 1.0) < 1e-9
    assert probs[patterns[:, 0] % 2 == 1].max() < 1e-12  # odd counts are impossible (HOM)


@pytest.mark.parametrize("n", [50, 100])
def test_beam_splitter_distribution_beyond_float64_is_exact_or_refused(n):
    from qlatent.photonics.probabilities import output_probabilities

    try:
        patterns, probs = output_probabilities(_BEAM_SPLITTER, [n, n])
    except FloatingPointError as error:
        assert "precision" in str(error)
        return
    assert abs(probs.sum() - 1.0) < 1e-9
    assert probs[patterns[:, 0] % 2 == 1].max() < 1e-12


def test_beam_splitter_pattern_probability_beyond_float64_is_exact_or_refused():
    from qlatent.photonics.probabilities import pattern_probability

    try:
        p = pattern_probability(_BEAM_SPLITTER, [50, 50], [1, 99])  # true value 0
    except FloatingPointError as error:
        assert "precision" in str(error)
        return
    assert p < 1e-12


def _beam_splitter_law(n: int) -> np.ndarray:
    # n + n photons on a balanced beam splitter: P(mode 0 gets c) = C(c, c/2) C(2n - c, n - c/2) / 4^n, c even
    law = np.zeros(2 * n + 1)
    for j in range(n + 1):
        law[2 * j] = math.comb(2 * j, j) * math.comb(2 * n - 2 * j, n - j) / 4.0**n
    return law


def test_beam_splitter_45_plus_45_follows_the_closed_form_with_no_conditioning_bias():
    """Shots whose float64 bound is too large are redone exactly, not refused: refusing them biased
    the accepted ones (the extreme counts 0-4 and 86-90, probability 0.149, came out at 0.05)."""
    n, shots = 45, 200
    counts = sample(_BEAM_SPLITTER, [n, n], shots, seed=11)[:, 0].astype(int)
    assert not np.any(counts % 2)
    law = _beam_splitter_law(n)
    extreme = (np.arange(2 * n + 1) <= 4) | (np.arange(2 * n + 1) >= 2 * n - 4)
    hits = int(np.sum(extreme[counts]))
    assert binomtest(hits, shots, law[extreme].sum()).pvalue > 1e-3
    edges = [0, 6, 20, 40, 51, 71, 85, 2 * n + 1]  # bins of the even counts, each expecting >= 10 shots
    observed = np.histogram(counts, bins=edges)[0]
    expected = shots * np.array([law[a:b].sum() for a, b in zip(edges[:-1], edges[1:])])
    assert chisquare(observed, expected).pvalue > 1e-3


def test_beam_splitter_100_plus_100_is_sampled_exactly_without_error():
    # refused before (FloatingPointError); without any guard 4 of 20 shots had impossible odd counts
    from qlatent.photonics.sampling import SamplerSetup

    setup = SamplerSetup(_BEAM_SPLITTER, [100, 100], "indistinguishable", 1.0, 1.0, "pnr", False, 0)
    shots, redone = setup.run(*setup.draw(3, np.random.default_rng(0)))
    assert len(redone) > 0  # the exact recomputation ran
    assert not np.any(shots[:, 0] % 2) and np.all(shots.sum(axis=1) == 200)
    for n in (5, 30):
        shots = sample(_BEAM_SPLITTER, [n, n], 20, seed=1)
        assert not np.any(shots[:, 0] % 2) and np.all(shots.sum(axis=1) == 2 * n)


def test_realistic_haar_bank_is_accepted_by_the_precision_guard():
    # 16 photons in 32 Haar modes (a Table II size): per-shot bounds of about 1e-7, below the tolerance
    from qlatent.photonics.sampling import SamplerSetup

    setup = SamplerSetup(haar_unitary(32, 7), [1] * 16 + [0] * 16, "indistinguishable", 1.0, 1.0, "pnr", False, 0)
    shots, redone = setup.run(*setup.draw(100, np.random.default_rng(2)))
    assert np.all(shots.sum(axis=1) == 16) and len(redone) == 0


def test_a_call_keeps_no_state_on_the_shared_setup():
    # one setup serves every batch (and the local backend's threads): a call's redone rows are returned,
    # not left on the setup where a concurrent call would overwrite them; only the exact amplitudes are cached
    from qlatent.photonics.sampling import SamplerSetup

    setup = SamplerSetup(_BEAM_SPLITTER, [100, 100], "indistinguishable", 1.0, 1.0, "pnr", False, 0)
    before = set(vars(setup))
    first = setup.run(*setup.draw(3, np.random.default_rng(0)))[1]
    second = setup.run(*setup.draw(2, np.random.default_rng(5)))[1]
    assert set(vars(setup)) == before and len(first) > 0 and np.all(second < 2)


def test_shots_within_the_tolerance_are_unchanged_and_the_others_redone_exactly():
    """The float64 kernel's outcome is kept for every shot whose bound passes (the same draws give the
    same counts as without any guard); the others are the exact algorithm's outcome for their draws."""
    from qlatent.photonics.exact_shots import exact_shot
    from qlatent.photonics.sampling import SHOT_TOLERANCE, SUBSET_TABLE_MAX, SamplerSetup, sample_batch

    setup = SamplerSetup(_BEAM_SPLITTER, [100, 100], "indistinguishable", 1.0, 1.0, "pnr", False, 0)
    draws, status = setup.draw(4, np.random.default_rng(0))
    unguarded = np.zeros((4, 2), dtype=setup.dtype)
    failed, bounds = np.zeros(4, dtype=np.uint8), np.zeros(4)
    sample_batch(setup.photons, setup.cdf, status, draws, 2, SUBSET_TABLE_MAX, setup.subsets, setup.offsets,
                 4, unguarded, failed, setup.n_interfering, np.inf, bounds)
    shots, redone = setup.run(draws, status)
    np.testing.assert_array_equal(redone, np.flatnonzero(~(bounds <= SHOT_TOLERANCE)))
    assert 0 < len(redone) < 4
    passed = np.setdiff1d(np.arange(4), redone)
    np.testing.assert_array_equal(shots[passed], unguarded[passed])
    for b in redone:
        np.testing.assert_array_equal(shots[b], exact_shot(setup, draws[b], status[b], [np.inf]))
        assert shots[b, 0] % 2 == 0


@pytest.mark.parametrize(("unitary", "state", "kwargs"), [
    (haar_unitary(6, 2), [2, 2, 2, 1, 1, 1], {}),
    (haar_unitary(3, 5), [4, 4, 3], {}),
    (haar_unitary(12, 1), [1] * 10 + [0, 0], {}),
    (haar_unitary(8, 3), [1] * 8, {"model": "partial", "indistinguishability": 0.7, "transmission": 0.8}),
    (0.9 * haar_unitary(5, 4), [3, 2, 2, 1, 1], {"allow_subunitary": True}),
])
def test_the_exact_recomputation_is_the_same_algorithm_as_the_kernel(unitary, state, kwargs):
    # where float64 is ample, the exact-arithmetic shot equals the kernel's shot for the same draws
    from qlatent.photonics.exact_shots import exact_shot
    from qlatent.photonics.sampling import SamplerSetup

    setup = SamplerSetup(unitary, state, kwargs.get("model", "indistinguishable"),
                         kwargs.get("indistinguishability", 1.0), kwargs.get("transmission", 1.0), "pnr",
                         kwargs.get("allow_subunitary", False), 0)
    draws, status = setup.draw(25, np.random.default_rng(6))
    shots, _ = setup.run(draws, status)
    exact = np.array([exact_shot(setup, draws[b], status[b], [np.inf]) for b in range(25)])
    np.testing.assert_array_equal(shots, exact)


def test_a_redo_too_costly_is_a_clear_error(monkeypatch):
    import qlatent.photonics.exact_shots as exact_shots

    monkeypatch.setattr(exact_shots, "MAX_EXACT_OPERATIONS", 1000.0)
    with pytest.raises(FloatingPointError, match=r"recomputing them exactly needs more than MAX_EXACT_OPERATIONS"):
        sample(_BEAM_SPLITTER, [100, 100], 3, seed=0)


def _hadamard_permanent(rows: tuple[int, int], columns: tuple[int, int]) -> int:
    # Per of the matrix of H = [[1, 1], [1, -1]] with output mode t repeated rows[t] times and input
    # mode c repeated columns[c] times: c0! c1! sum_x C(r0, x) C(r1, c0 - x) (-1)^(r1 - c0 + x)
    (r0, r1), (c0, c1) = rows, columns
    total = sum(math.comb(r0, x) * math.comb(r1, c0 - x) * (-1) ** (r1 - c0 + x)
                for x in range(max(0, c0 - r1), min(r0, c0) + 1))
    return math.factorial(c0) * math.factorial(c1) * total


@pytest.mark.parametrize(("placed", "pattern"), [((12, 8), "01"), ((20, 20), "01"), ((30, 28), "0011"),
                                                 ((40, 40), "10"), ((3, 59), "01"), ((2, 70), "01"), ((70, 2), "10"),
                                                 ((76, 3), "01")])
def test_placement_cdf_bound_covers_the_exact_step_error(placed, pattern):
    """One grouped placement step on the beam splitter against exact integer permanents: the bound on
    the probability of another pick for the same draw is at least the computed cumulative distribution's
    error (and, where rounding shows, within 10^5 of it: the bound is worst-case, not vacuous)."""
    from fractions import Fraction

    from qlatent.photonics.permanents import column_deleted_permanents_checked
    from qlatent.photonics.sampling import _placement_weights, placement_cdf_bound

    k = sum(placed)  # photons already placed: (in mode 0, in mode 1); photon k is being placed
    kinds = np.array([int(c) for c in pattern] * (k + 1))[:k + 1]  # input mode of each photon, in order
    photons = _BEAM_SPLITTER[:, kinds].T.astype(np.complex128)  # photons[j, i]: amplitude to mode i
    n_distinct = sum(1 for count in placed if count)
    rows = np.zeros((n_distinct, k + 1), dtype=np.complex128)
    multiplicity = np.array([count for count in placed if count] + [0] * k, dtype=np.int64)
    rows[:] = photons.T[[mode for mode in (0, 1) if placed[mode]]]
    work = np.empty((9, k + 2), dtype=np.complex128)
    state = np.empty((4, k + 2), dtype=np.int64)
    sub = np.empty(k + 2, dtype=np.complex128)
    sub_error = np.zeros(k + 2)
    column_deleted_permanents_checked(rows, multiplicity, n_distinct, work, state, sub, sub_error)
    largest = np.maximum(np.abs(sub[:k + 1].real), np.abs(sub[:k + 1].imag)).max()
    scale = 2.0 ** -math.frexp(largest)[1]  # the sampler's power-of-two rescaling
    sub *= scale
    sub_error *= scale
    split = np.stack([photons.real, photons.imag], axis=1).copy()
    order = np.arange(k + 1, dtype=np.int64)
    weights = np.empty((3, 2))
    total = _placement_weights(sub, split, order, k, weights)
    bound = placement_cdf_bound(split, order, k, sub, sub_error, weights, total)
    columns = (int(np.sum(kinds == 0)), int(np.sum(kinds == 1)))
    exact = [_hadamard_permanent((placed[0] + (i == 0), placed[1] + (i == 1)), columns) ** 2 for i in (0, 1)]
    # the walk picks mode 0 when u < F'_0 = w'_0 / W' (both as computed), exactly when u < F_0
    deviation = abs(Fraction(float(weights[2, 0])) / Fraction(float(total)) - Fraction(exact[0], sum(exact)))
    assert deviation <= bound
    if deviation > 1e-12:
        assert bound < 1e5 * deviation


def test_placement_cdf_bound_covers_the_exact_cumulative_error_over_many_modes():
    """Three-mode Haar steps with many photons per mode: every pick's cumulative-distribution error
    (exact weights from exact_column_deleted_permanents) lies within the bound."""
    from fractions import Fraction

    from qlatent.photonics.exact_shots import exact_amplitudes, exact_column_deleted_permanents
    from qlatent.photonics.permanents import column_deleted_permanents_checked
    from qlatent.photonics.sampling import SamplerSetup, _placement_weights, placement_cdf_bound

    setup = SamplerSetup(haar_unitary(3, 9), [14, 13, 13], "indistinguishable", 1.0, 1.0, "pnr", False, 0)
    a_re, a_im = exact_amplitudes(setup)
    split = np.stack([setup.photons.real, setup.photons.imag], axis=1).copy()
    rng = np.random.default_rng(0)
    for placed in [(10, 9, 8), (30, 2, 1), (1, 1, 25), (13, 13, 13)]:
        k = sum(placed)
        order = rng.permutation(40)[:k + 1].astype(np.int64)
        modes = [i for i in range(3) if placed[i]]
        rows = np.array([[setup.photons[order[j], i] for j in range(k + 1)] for i in modes])
        multiplicity = np.array([placed[i] for i in modes] + [0] * k, dtype=np.int64)
        sub, sub_error = np.empty(k + 2, dtype=np.complex128), np.zeros(k + 2)
        column_deleted_permanents_checked(rows, multiplicity, len(modes), np.empty((9, k + 2), dtype=np.complex128),
                                          np.empty((4, k + 2), dtype=np.int64), sub, sub_error)
        weights = np.empty((3, 3))
        total = _placement_weights(sub, split, order, k, weights)
        bound = placement_cdf_bound(split, order, k, sub, sub_error.copy(), weights, total)
        s_re, s_im = exact_column_deleted_permanents([[a_re[order[j], i] for j in range(k + 1)] for i in modes],
                                                     [[a_im[order[j], i] for j in range(k + 1)] for i in modes],
                                                     [placed[i] for i in modes])
        exact = []
        for i in range(3):
            re = sum(a_re[order[j], i] * s_re[j] - a_im[order[j], i] * s_im[j] for j in range(k + 1))
            im = sum(a_re[order[j], i] * s_im[j] + a_im[order[j], i] * s_re[j] for j in range(k + 1))
            exact.append(re * re + im * im)
        computed = [Fraction(float(w)) for w in weights[2]]
        deviation = sum(abs(sum(computed[:i + 1]) / Fraction(float(total)) - Fraction(sum(exact[:i + 1]), sum(exact)))
                        for i in range(2))
        assert deviation <= bound, (placed, float(deviation), bound)


def test_grouped_sum_error_bound_is_zero_only_without_repeated_rows():
    from qlatent.photonics.permanents import permanent_parts_checked

    rng = np.random.default_rng(0)
    plain = rng.normal(size=(6, 6)) + 0j
    assert permanent_parts_checked(plain)[2] == 0.0
    repeated = np.repeat(rng.normal(size=(2, 12)), 6, axis=0) + 0j
    value, exponent, error = permanent_parts_checked(repeated)
    assert 0.0 < error < 1e-8 * abs(value)


def test_plain_glynn_sum_error_bound_covers_the_exact_error_over_many_blocks():
    """17 distinct rows (2^14 Gray steps: about 230 blocks, each ending with recomputed column sums)
    against exact integer permanents: every column-deleted permanent is within its error bound, and
    the bound is not vacuous."""
    from qlatent.photonics.exact_shots import exact_column_deleted_permanents
    from qlatent.photonics.permanents import column_deleted_permanents_checked

    rng = np.random.default_rng(3)
    n_rows = 17
    re, im = rng.integers(-3, 4, size=(2, n_rows, n_rows + 1))
    rows = (re + 1j * im).astype(np.complex128)
    out, error = np.empty(n_rows + 1, dtype=np.complex128), np.zeros(n_rows + 1)
    shift = column_deleted_permanents_checked(rows, np.ones(n_rows, dtype=np.int64), n_rows,
                                              np.empty((9, n_rows + 1), dtype=np.complex128),
                                              np.empty((4, n_rows + 1), dtype=np.int64), out, error)
    exact_re, exact_im = exact_column_deleted_permanents(re.tolist(), im.tolist(), [1] * n_rows)
    assert shift == 0
    scale = 2 ** (n_rows - 1)  # out[column] = 2^(N - 1) Per(R without column l) for N rows of multiplicity one
    for column in range(n_rows + 1):
        deviation = abs(complex(out[column]) - complex(scale * exact_re[column], scale * exact_im[column]))
        assert deviation <= error[column], (column, deviation, error[column])
    assert np.all(error < 1e-6 * np.abs(out).max())
    # the bound is F eps sum |terms| with F about 3,000 here (blocks of 68 Gray steps); summed one after another
    # (and ignoring the updates' drift) it was (T + N + 1) eps sum |terms|, T = 2^16 terms: 22 times larger
    signs = np.array([[1] + [1 - 2 * ((g >> b) & 1) for b in range(n_rows - 1)] for g in range(2 ** (n_rows - 1))])
    sums = signs @ rows  # every term's column sums
    for column in range(n_rows + 1):
        terms = np.prod(np.delete(sums, column, axis=1), axis=1)
        total = float(np.sum(np.abs(terms.real) + np.abs(terms.imag)))
        assert error[column] < 0.1 * (2 ** (n_rows - 1) + n_rows + 1) * 2.0**-52 * total


def test_a_work_array_of_the_wrong_shape_is_refused():
    # an (8, n) array from before the block accumulator row was written out of bounds (the process aborted)
    from qlatent.photonics.permanents import column_deleted_permanents_checked

    with pytest.raises(ValueError, match="work must have shape"):
        column_deleted_permanents_checked(np.ones((3, 4), dtype=np.complex128), np.ones(3, dtype=np.int64), 3,
                                          np.empty((8, 4), dtype=np.complex128), np.empty((4, 4), dtype=np.int64),
                                          np.empty(4, dtype=np.complex128), np.empty(4))
