"""Exact output probabilities against Perceval SLOS, physical identities, and independent loss formulas."""

from __future__ import annotations

import itertools
from math import comb, factorial

import numpy as np
import pytest

from qlatent.photonics import output_probabilities, pattern_probability, permanent
from qlatent.photonics.probabilities import MAX_EXACT_OUTCOMES

pcvl = pytest.importorskip("perceval")

BEAM_SPLITTER = np.array([[1.0, 1.0], [1.0, -1.0]]) / np.sqrt(2.0)


def haar(m: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.normal(size=(m, m)) + 1j * rng.normal(size=(m, m)))
    return q * (np.diag(r) / np.abs(np.diag(r)))


def as_dict(patterns: np.ndarray, probs: np.ndarray) -> dict[tuple[int, ...], float]:
    return {tuple(int(v) for v in p): float(q) for p, q in zip(patterns, probs)}


@pytest.mark.parametrize(
    ("m", "state", "seed"),
    [
        (2, [1, 1], 0),
        (4, [1, 1, 1, 0], 1),
        (6, [2, 0, 1, 0, 1, 0], 2),
        (8, [1, 0, 1, 0, 1, 0, 1, 1], 3),
        (10, [1, 1, 0, 0, 3, 0, 0, 0, 0, 0], 4),
    ],
)
def test_indistinguishable_probabilities_match_perceval_slos(m, state, seed):
    unitary = haar(m, seed)
    patterns, probs = output_probabilities(unitary, state)
    backend = pcvl.BackendFactory.get_backend("SLOS")
    backend.set_circuit(pcvl.Unitary(pcvl.Matrix(unitary)))
    backend.set_input_state(pcvl.BasicState(state))
    expected = np.array([backend.probability(pcvl.BasicState([int(v) for v in p])) for p in patterns])
    np.testing.assert_allclose(probs, expected, rtol=0, atol=1e-10)
    assert probs.sum() == pytest.approx(1.0, abs=1e-12)
    rng = np.random.default_rng(seed)
    for index in rng.choice(len(patterns), size=min(5, len(patterns)), replace=False):
        assert pattern_probability(unitary, state, patterns[index]) == pytest.approx(probs[index], abs=1e-12)


OPTIONS = [
    dict(model="indistinguishable"),
    dict(model="distinguishable"),
    dict(model="partial", indistinguishability=0.7),
    dict(model="indistinguishable", transmission=0.6),
    dict(model="partial", indistinguishability=0.4, transmission=0.8),
    dict(model="indistinguishable", detection="threshold"),
    dict(model="distinguishable", transmission=0.5, detection="threshold"),
]


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
def test_every_model_sums_to_one_and_agrees_with_pattern_probability(options):
    unitary, state = haar(5, 11), [1, 0, 2, 0, 1]
    patterns, probs = output_probabilities(unitary, state, **options)
    assert probs.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(probs >= -1e-15)
    assert len({tuple(p) for p in patterns}) == len(patterns)
    for pattern, prob in list(zip(patterns, probs))[:: max(1, len(probs) // 12)]:
        assert pattern_probability(unitary, state, pattern, **options) == pytest.approx(prob, abs=1e-12)


def test_distinguishable_probability_is_the_permanent_of_moduli():
    unitary, state = haar(4, 5), [1, 1, 1, 0]
    patterns, probs = output_probabilities(unitary, state, model="distinguishable")
    for pattern, prob in zip(patterns, probs):
        rows = np.repeat(np.arange(4), pattern)
        expected = permanent(np.abs(unitary[np.ix_(rows, [0, 1, 2])]) ** 2).real / np.prod(
            [factorial(int(s)) for s in pattern])
        assert prob == pytest.approx(expected, abs=1e-13)


@pytest.mark.parametrize("x", [0.0, 0.3, 0.75, 1.0])
def test_hom_dip_depth_is_one_minus_x_squared_over_two(x):
    prob = pattern_probability(BEAM_SPLITTER, [1, 1], [1, 1], model="partial", indistinguishability=x)
    assert prob == pytest.approx((1.0 - x**2) / 2.0, abs=1e-14)
    assert pattern_probability(BEAM_SPLITTER, [1, 1], [1, 1]) == pytest.approx(0.0, abs=1e-15)
    assert pattern_probability(BEAM_SPLITTER, [1, 1], [1, 1], model="distinguishable") == pytest.approx(0.5)


def test_bunching_ratio_of_two_photons_is_two():
    unitary = haar(6, 8)
    bunched = pattern_probability(unitary, [1, 1, 0, 0, 0, 0], [0, 0, 2, 0, 0, 0])
    classical = pattern_probability(unitary, [1, 1, 0, 0, 0, 0], [0, 0, 2, 0, 0, 0], model="distinguishable")
    assert bunched / classical == pytest.approx(2.0, rel=1e-12)


def pure_state_probability(unitary: np.ndarray, state: list[int], pattern: np.ndarray, x: float) -> float:
    """First-quantised detection formula with internal overlaps <psi_i|psi_j> = x (Tichy 2014, eq. 60)."""
    columns = np.repeat(np.arange(len(state)), state)
    rows = np.repeat(np.arange(len(pattern)), pattern)
    a = unitary[np.ix_(rows, columns)]
    n = len(columns)
    total = 0.0
    for sigma in itertools.permutations(range(n)):
        for tau in itertools.permutations(range(n)):
            overlap = np.prod([1.0 if sigma[k] == tau[k] else x for k in range(n)])
            total += overlap * np.prod([a[k, sigma[k]] * np.conj(a[k, tau[k]]) for k in range(n)]).real
    return total / np.prod([factorial(int(s)) for s in pattern])


@pytest.mark.parametrize("x", [0.2, 0.65])
def test_partial_model_equals_pure_states_with_pairwise_overlap_x(x):
    unitary, state = haar(4, 21), [1, 1, 1, 0]
    patterns, probs = output_probabilities(unitary, state, model="partial", indistinguishability=x)
    for pattern, prob in zip(patterns, probs):
        assert prob == pytest.approx(pure_state_probability(unitary, state, pattern, x), abs=1e-13)


@pytest.mark.parametrize("visibility", [0.5, 0.9])
def test_perceval_indistinguishability_is_our_x_squared(visibility):
    unitary, state = haar(4, 31), [1, 1, 1, 0]
    processor = pcvl.Processor("SLOS", pcvl.Unitary(pcvl.Matrix(unitary)),
                               noise=pcvl.NoiseModel(indistinguishability=visibility))
    processor.with_input(pcvl.BasicState(state))
    processor.min_detected_photons_filter(0)
    results = pcvl.algorithm.Sampler(processor).probs()["results"]
    ours = as_dict(*output_probabilities(unitary, state, model="partial", indistinguishability=np.sqrt(visibility)))
    for pattern, prob in results.items():
        assert ours[tuple(pattern)] == pytest.approx(float(prob), abs=1e-12)


def test_uniform_loss_is_binomial_thinning_of_the_input():
    unitary, state, eta = haar(4, 41), np.array([2, 1, 0, 0]), 0.65
    lossy = as_dict(*output_probabilities(unitary, state, transmission=eta))
    expected: dict[tuple[int, ...], float] = {}
    for kept in itertools.product(*(range(t + 1) for t in state)):
        weight = np.prod([comb(int(t), k) for t, k in zip(state, kept)]) * eta ** sum(kept) * (1 - eta) ** (
            state.sum() - sum(kept))
        if sum(kept) == 0:
            expected[(0, 0, 0, 0)] = expected.get((0, 0, 0, 0), 0.0) + weight
            continue
        for pattern, prob in as_dict(*output_probabilities(unitary, list(kept))).items():
            expected[pattern] = expected.get(pattern, 0.0) + weight * prob
    assert lossy.keys() == expected.keys()
    for pattern, prob in expected.items():
        assert lossy[pattern] == pytest.approx(prob, abs=1e-13)


def test_output_mode_loss_is_binomial_thinning_of_the_counts():
    unitary, state = haar(4, 51), [1, 1, 1, 0]
    eta = np.array([0.9, 0.5, 0.3, 1.0])
    lossy = as_dict(*output_probabilities(np.sqrt(eta)[:, None] * unitary, state, allow_subunitary=True))
    expected: dict[tuple[int, ...], float] = {}
    for pattern, prob in as_dict(*output_probabilities(unitary, state)).items():
        for seen in itertools.product(*(range(s + 1) for s in pattern)):
            weight = np.prod([comb(s, k) * e**k * (1 - e) ** (s - k) for s, k, e in zip(pattern, seen, eta)])
            expected[seen] = expected.get(seen, 0.0) + prob * weight
    for pattern, prob in expected.items():
        assert lossy.get(pattern, 0.0) == pytest.approx(prob, abs=1e-13)
    assert sum(lossy.values()) == pytest.approx(1.0, abs=1e-12)


def test_threshold_detection_sums_patterns_with_the_same_support():
    unitary, state = haar(4, 61), [1, 1, 1, 0]
    clicks = as_dict(*output_probabilities(unitary, state, detection="threshold"))
    expected: dict[tuple[int, ...], float] = {}
    for pattern, prob in as_dict(*output_probabilities(unitary, state)).items():
        key = tuple(min(v, 1) for v in pattern)
        expected[key] = expected.get(key, 0.0) + prob
    assert clicks.keys() == expected.keys()
    for key, prob in expected.items():
        assert clicks[key] == pytest.approx(prob, abs=1e-13)


def test_pattern_probability_of_many_photons_costs_one_permanent():
    unitary = haar(24, 71)
    state, pattern = [1] * 12 + [0] * 12, [0, 1] * 12
    expected = abs(permanent(unitary[np.ix_(np.arange(1, 24, 2), np.arange(12))])) ** 2
    assert pattern_probability(unitary, state, pattern) == pytest.approx(expected, rel=1e-10)


def test_patterns_with_more_photons_than_the_input_have_probability_zero():
    assert pattern_probability(BEAM_SPLITTER, [1, 0], [1, 1]) == 0.0
    assert pattern_probability(BEAM_SPLITTER, [1, 1], [1, 0]) == 0.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(model="bosonic"), "unknown model"),
        (dict(detection="apd"), "unknown detection"),
        (dict(indistinguishability=1.5), r"indistinguishability must lie in \[0, 1\]"),
        (dict(indistinguishability=float("nan")), r"indistinguishability must lie in \[0, 1\]"),
        (dict(transmission=-0.1), r"transmission must lie in \[0, 1\]"),
        (dict(transmission="high"), "transmission must be a real number"),
    ],
)
def test_output_probabilities_rejects_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        output_probabilities(BEAM_SPLITTER, [1, 1], **kwargs)


@pytest.mark.parametrize(
    ("unitary", "state", "match"),
    [
        (BEAM_SPLITTER, [1, 1, 0], "input state has 3 modes"),
        (BEAM_SPLITTER, [1, -1], "negative"),
        (np.array([[np.nan, 0.0], [0.0, 1.0]]), [1, 1], "NaN"),
        (0.5 * BEAM_SPLITTER, [1, 1], "not unitary"),
    ],
)
def test_output_probabilities_rejects_bad_inputs(unitary, state, match):
    with pytest.raises(ValueError, match=match):
        output_probabilities(unitary, state)


def test_output_probabilities_rejects_too_large_states_naming_the_size():
    with pytest.raises(ValueError, match=r"needs 635,745,396 patterns \(10 photons in 30 modes"):
        output_probabilities(haar(30, 0), [1] * 10 + [0] * 20)
    assert MAX_EXACT_OUTCOMES < 635_745_396


@pytest.mark.parametrize(
    ("pattern", "kwargs", "match"),
    [
        ([1, 1, 0], {}, "output pattern must have 2 entries"),
        ([1, -1], {}, "negative"),
        ([0.5, 1.5], {}, "whole photon numbers"),
        ([2, 0], dict(detection="threshold"), "0 or 1"),
    ],
)
def test_pattern_probability_rejects_bad_patterns(pattern, kwargs, match):
    with pytest.raises(ValueError, match=match):
        pattern_probability(BEAM_SPLITTER, [1, 1], pattern, **kwargs)
