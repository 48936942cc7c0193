"""Haar-random unitaries, user matrices, and the saveable Interferometer description."""

import dataclasses
import hashlib
import json

import numpy as np
import pytest
from scipy import stats

from qlatent.photonics.clements import clements_interferometer, decompose
from qlatent.photonics.interferometers import (
    Interferometer,
    from_matrix,
    haar_interferometer,
    haar_unitary,
    validate_n_modes,
)
from qlatent.photonics.timebin import random_timebin_interferometer


def max_unitarity_error(u):
    return float(np.max(np.abs(u.conj().T @ u - np.eye(u.shape[0]))))


@pytest.mark.parametrize("n_modes", [1, 2, 3, 8, 33])
def test_haar_unitary_is_unitary(n_modes):
    u = haar_unitary(n_modes, seed=n_modes)
    assert u.shape == (n_modes, n_modes) and u.dtype == np.complex128
    assert max_unitarity_error(u) < 1e-13


def test_haar_unitary_is_reproducible_from_int_or_generator():
    a = haar_unitary(5, 11)
    np.testing.assert_array_equal(a, haar_unitary(5, 11))
    np.testing.assert_array_equal(a, haar_unitary(5, np.random.default_rng(11)))
    np.testing.assert_array_equal(a, haar_interferometer(5, 11).unitary)
    assert not np.allclose(a, haar_unitary(5, 12))


def test_haar_entry_follows_beta_law():
    # For Haar U on U(m), |U_jk|^2 ~ Beta(1, m-1). KS test: its critical value is set by the sample size.
    n_modes, n_draws = 4, 3000
    rng = np.random.default_rng(2024)
    values = np.array([abs(haar_unitary(n_modes, rng)[1, 2]) ** 2 for _ in range(n_draws)])
    assert stats.kstest(values, stats.beta(1, n_modes - 1).cdf).pvalue > 1e-3


def test_haar_trace_second_moment_is_one():
    # E|tr U|^2 = 1 and Var|tr U|^2 = 1 for Haar U (m >= 2); the unfixed QR phases break this.
    n_modes, n_draws = 6, 3000
    rng = np.random.default_rng(7)
    values = np.array([abs(np.trace(haar_unitary(n_modes, rng))) ** 2 for _ in range(n_draws)])
    assert abs(values.mean() - 1.0) < 5.0 / np.sqrt(n_draws)


@pytest.mark.parametrize("bad", [0, -3])
def test_n_modes_below_one_is_refused(bad):
    with pytest.raises(ValueError, match="n_modes must be at least 1"):
        haar_unitary(bad, 0)


@pytest.mark.parametrize("bad", [2.5, 3.0, "3", True, None])
def test_non_integer_n_modes_is_refused(bad):
    with pytest.raises(ValueError, match="n_modes must be an integer"):
        haar_interferometer(bad, 0)


def test_validate_n_modes_accepts_numpy_integers():
    assert validate_n_modes(np.int64(4)) == 4


@pytest.mark.parametrize(
    "bad, message", [(-1, "non-negative"), (1.5, "seed must be an int"), ("a", "seed must be an int")]
)
def test_bad_seed_is_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        haar_unitary(3, bad)


def test_from_matrix_accepts_unitary_and_lossy_when_asked():
    u = haar_unitary(3, 1)
    assert from_matrix(u).kind == "matrix"
    lossy = 0.8 * u
    with pytest.raises(ValueError, match="not unitary"):
        from_matrix(lossy)
    assert from_matrix(lossy, allow_subunitary=True).parameters["allow_subunitary"] is True
    with pytest.raises(ValueError, match="not sub-unitary"):
        from_matrix(1.2 * u, allow_subunitary=True)


@pytest.mark.parametrize(
    "matrix, message",
    [
        (np.ones((2, 3)), "must be square"),
        (np.zeros((0, 0)), "at least one mode"),
        (np.array([[np.nan, 0], [0, 1]]), "NaN or infinite"),
        (np.array([["a", "b"], ["c", "d"]]), "must be numeric"),
        (np.array([[1.0, 0.0], [0.0, 1.0 + 1e-6]]), "not unitary"),
    ],
)
def test_from_matrix_names_the_problem(matrix, message):
    with pytest.raises(ValueError, match=message):
        from_matrix(matrix)


def all_kinds():
    u = haar_unitary(4, 3)
    mesh = decompose(u)
    return [
        haar_interferometer(4, 3),
        haar_interferometer(4, np.random.default_rng(5)),
        haar_interferometer(3, None),
        clements_interferometer(4, mesh.thetas, mesh.phis, mesh.output_phases),
        random_timebin_interferometer(6, [1, 2], seed=9),
        from_matrix(u),
        from_matrix(0.5 * u, allow_subunitary=True),
    ]


@pytest.mark.parametrize("interferometer", all_kinds(), ids=lambda i: i.kind)
def test_to_dict_survives_json_and_rebuilds_exactly(interferometer):
    text = json.dumps(interferometer.to_dict())
    rebuilt = Interferometer.from_dict(json.loads(text))
    assert rebuilt.kind == interferometer.kind
    assert np.max(np.abs(rebuilt.unitary - interferometer.unitary)) <= 1e-12
    assert rebuilt.fingerprint() == interferometer.fingerprint()
    assert rebuilt.parameters == interferometer.parameters


def test_haar_generator_description_records_state_before_the_draw():
    rng = np.random.default_rng(5)
    first = haar_interferometer(4, rng)
    second = haar_interferometer(4, rng)
    assert "bit_generator_state" in first.parameters
    assert not np.allclose(first.unitary, second.unitary)
    np.testing.assert_array_equal(Interferometer.from_dict(first.to_dict()).unitary, first.unitary)
    np.testing.assert_array_equal(Interferometer.from_dict(second.to_dict()).unitary, second.unitary)


def test_from_dict_without_stored_unitary_rebuilds_from_parameters():
    original = haar_interferometer(5, 8)
    data = original.to_dict()
    del data["unitary"]
    np.testing.assert_array_equal(Interferometer.from_dict(data).unitary, original.unitary)


def test_from_dict_refuses_a_unitary_that_does_not_match():
    data = haar_interferometer(3, 1).to_dict()
    data["parameters"]["seed"] = 2
    with pytest.raises(ValueError, match="rebuilt unitary differs from the stored one"):
        Interferometer.from_dict(data)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.update(kind="spiral"), "unknown interferometer kind 'spiral'"),
        (lambda d: d["parameters"].pop("n_modes"), "lacks parameter 'n_modes'"),
        (lambda d: d.pop("parameters"), "lacks 'parameters'"),
        (lambda d: d.update(n_modes=7), "n_modes=7"),
        (lambda d: d.update(unitary=[[[1.0, 0.0]]]), "stored unitary has shape"),
        (lambda d: d.update(unitary=[[1.0]]), r"\[re, im\] pairs"),
    ],
)
def test_from_dict_names_what_is_wrong(mutate, message):
    data = haar_interferometer(3, 1).to_dict()
    mutate(data)
    with pytest.raises(ValueError, match=message):
        Interferometer.from_dict(data)


def test_from_dict_refuses_unknown_bit_generator():
    data = haar_interferometer(2, np.random.default_rng(0)).to_dict()
    data["parameters"]["bit_generator_state"]["bit_generator"] = "Nope"
    with pytest.raises(ValueError, match="unknown numpy bit generator 'Nope'"):
        Interferometer.from_dict(data)


def test_interferometer_is_frozen_and_its_matrix_read_only():
    interferometer = haar_interferometer(3, 0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        interferometer.kind = "matrix"
    with pytest.raises(ValueError, match="read-only"):
        interferometer.unitary[0, 0] = 0.0
    assert interferometer.n_modes == 3


def test_interferometer_constructor_checks_its_fields():
    u = np.eye(2)
    with pytest.raises(ValueError, match="unknown interferometer kind"):
        Interferometer(u, "spiral", {})
    with pytest.raises(ValueError, match="must be JSON-serialisable"):
        Interferometer(u, "matrix", {"x": object()})
    with pytest.raises(ValueError, match="parameters must be a dict"):
        Interferometer(u, "matrix", [1])
    with pytest.raises(ValueError, match="not unitary"):
        Interferometer(0.5 * u, "haar", {})


def test_fingerprint_is_sha256_of_the_documented_canonical_form():
    interferometer = from_matrix(np.array([[0.0, 1.0], [-1.0, 0.0]]))
    payload = '{"imag":[[0.0,0.0],[0.0,0.0]],"kind":"matrix","real":[[0.0,1.0],[-1.0,0.0]],"shape":[2,2]}'
    assert interferometer.fingerprint() == hashlib.sha256(payload.encode()).hexdigest()


def test_fingerprint_ignores_noise_below_12_decimals_and_signed_zeros():
    rotation = np.array([[0.6, -0.8], [0.8, 0.6]], dtype=complex)  # entries far from a rounding boundary
    reference = from_matrix(rotation).fingerprint()
    assert from_matrix(rotation + 1e-15).fingerprint() == reference
    assert from_matrix(rotation + 1e-9).fingerprint() != reference
    signed = np.array([[complex(1.0, -0.0), complex(-0.0, -0.0)], [complex(-0.0, 0.0), complex(1.0, -0.0)]])
    assert from_matrix(signed).fingerprint() == from_matrix(np.eye(2)).fingerprint()


def test_fingerprint_separates_kind_and_content():
    u = haar_interferometer(4, 0)
    assert u.fingerprint() != haar_interferometer(4, 1).fingerprint()
    assert u.fingerprint() != from_matrix(u.unitary).fingerprint()
    assert len(u.fingerprint()) == 64 and int(u.fingerprint(), 16) >= 0
