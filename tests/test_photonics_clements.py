"""The rectangular (Clements) mesh: layout, hand-built cases, and the decompose/rebuild round trip."""

import numpy as np
import pytest

from qlatent.photonics.clements import (
    ClementsMesh,
    clements_interferometer,
    decompose,
    mesh_positions,
    mesh_unitary,
    mzi_matrix,
    n_mzis,
)
from qlatent.photonics.interferometers import Interferometer, haar_unitary


def embed(two_by_two, k, n_modes):
    full = np.eye(n_modes, dtype=complex)
    full[k : k + 2, k : k + 2] = two_by_two
    return full


@pytest.mark.parametrize("n_modes", [1, 2, 3, 4, 5, 8, 16, 32])
def test_round_trip_of_haar_unitaries(n_modes):
    worst = 0.0
    for seed in range(3):
        u = haar_unitary(n_modes, seed)
        mesh = decompose(u)
        worst = max(worst, float(np.max(np.abs(mesh.to_unitary() - u))))
    assert worst < 1e-10


@pytest.mark.parametrize("n_modes", [6, 7, 9, 10, 11])
def test_round_trip_other_sizes(n_modes):
    u = haar_unitary(n_modes, 100 + n_modes)
    assert np.max(np.abs(decompose(u).to_unitary() - u)) < 1e-10


def test_decomposed_angles_lie_in_documented_ranges():
    mesh = decompose(haar_unitary(7, 3))
    assert np.all((mesh.thetas >= 0) & (mesh.thetas <= np.pi / 2))
    for values in (mesh.phis, mesh.output_phases):
        assert np.all((values >= 0) & (values < 2 * np.pi))


@pytest.mark.parametrize("n_modes", [1, 2, 3, 4, 5, 8])
def test_layout_is_rectangular(n_modes):
    positions = mesh_positions(n_modes)
    assert len(positions) == n_mzis(n_modes) == n_modes * (n_modes - 1) // 2
    for k, layer in positions:
        assert k % 2 == layer % 2 and 0 <= k < n_modes - 1 and 0 <= layer < n_modes
    assert len({(int(k), int(layer)) for k, layer in positions}) == len(positions)
    layers = positions[:, 1]
    assert np.all(np.diff(layers) >= 0)  # parameter order: layer by layer


def test_mzi_matrix_matches_clements_eq_1():
    theta, phi = 0.3, 1.1
    expected = np.array(
        [[np.exp(1j * phi) * np.cos(theta), -np.sin(theta)], [np.exp(1j * phi) * np.sin(theta), np.cos(theta)]]
    )
    np.testing.assert_allclose(mzi_matrix(theta, phi), expected, atol=1e-15)


def test_two_mode_mesh_is_one_mzi_then_output_phases():
    u = mesh_unitary(2, [0.4], [2.0], [0.5, -1.0])
    expected = np.diag(np.exp(1j * np.array([0.5, -1.0]))) @ mzi_matrix(0.4, 2.0)
    np.testing.assert_allclose(u, expected, atol=1e-15)


def test_three_mode_mesh_applies_layers_in_order():
    thetas, phis, out = [0.1, 0.7, 1.2], [0.3, 2.2, 4.0], [0.0, 1.0, 2.0]
    # positions: (k=0, layer 0), (k=1, layer 1), (k=0, layer 2)
    expected = (
        np.diag(np.exp(1j * np.array(out)))
        @ embed(mzi_matrix(thetas[2], phis[2]), 0, 3)
        @ embed(mzi_matrix(thetas[1], phis[1]), 1, 3)
        @ embed(mzi_matrix(thetas[0], phis[0]), 0, 3)
    )
    np.testing.assert_allclose(mesh_unitary(3, thetas, phis, out), expected, atol=1e-15)


def test_random_settings_give_a_unitary():
    rng = np.random.default_rng(0)
    count = n_mzis(9)
    u = mesh_unitary(9, rng.uniform(0, np.pi, count), rng.uniform(0, 2 * np.pi, count), rng.uniform(0, 2 * np.pi, 9))
    assert np.max(np.abs(u.conj().T @ u - np.eye(9))) < 1e-13


@pytest.mark.parametrize("n_modes", [1, 2, 5])
def test_identity_is_all_bar_state(n_modes):
    mesh = decompose(np.eye(n_modes))
    np.testing.assert_allclose(mesh.thetas, 0.0, atol=1e-15)
    np.testing.assert_allclose(mesh.to_unitary(), np.eye(n_modes), atol=1e-14)


def test_balanced_beam_splitter_is_one_mzi_at_quarter_pi():
    beam_splitter = np.array([[1, 1j], [1j, 1]]) / np.sqrt(2)
    mesh = decompose(beam_splitter)
    assert mesh.thetas.shape == (1,)
    assert abs(mesh.thetas[0] - np.pi / 4) < 1e-14
    np.testing.assert_allclose(mesh.to_unitary(), beam_splitter, atol=1e-14)


def test_permutation_uses_only_bar_and_cross_states():
    permutation = np.eye(5)[[2, 0, 4, 1, 3]]
    mesh = decompose(permutation)
    bar = np.isclose(mesh.thetas, 0.0, atol=1e-12)
    cross = np.isclose(mesh.thetas, np.pi / 2, atol=1e-12)
    assert np.all(bar | cross) and np.any(cross)
    np.testing.assert_allclose(mesh.to_unitary(), permutation, atol=1e-14)


def test_mesh_dataclass_is_read_only_and_becomes_an_interferometer():
    u = haar_unitary(4, 2)
    mesh = decompose(u)
    assert mesh.positions.shape == (6, 2)
    with pytest.raises(ValueError, match="read-only"):
        mesh.thetas[0] = 1.0
    interferometer = mesh.to_interferometer()
    assert isinstance(interferometer, Interferometer) and interferometer.kind == "clements"
    assert np.max(np.abs(interferometer.unitary - u)) < 1e-10
    assert set(interferometer.parameters) == {"n_modes", "thetas", "phis", "output_phases"}
    rebuilt = Interferometer.from_dict(interferometer.to_dict())
    np.testing.assert_array_equal(rebuilt.unitary, interferometer.unitary)


def test_clements_interferometer_equals_mesh_unitary():
    rng = np.random.default_rng(4)
    thetas, phis, out = rng.uniform(0, 1, 10), rng.uniform(0, 6, 10), rng.uniform(0, 6, 5)
    built = clements_interferometer(5, thetas, phis, out)
    np.testing.assert_array_equal(built.unitary, mesh_unitary(5, thetas, phis, out))


@pytest.mark.parametrize(
    "args, message",
    [
        ((4, np.zeros(5), np.zeros(6), np.zeros(4)), "thetas: expected 6 values, got 5"),
        ((4, np.zeros(6), np.zeros(7), np.zeros(4)), "phis: expected 6 values, got 7"),
        ((4, np.zeros(6), np.zeros(6), np.zeros(3)), "output_phases: expected 4 values, got 3"),
        ((4, np.zeros((2, 3)), np.zeros(6), np.zeros(4)), "one-dimensional"),
        ((2, [np.nan], [0.0], [0.0, 0.0]), "NaN or infinite"),
        ((2, ["a"], [0.0], [0.0, 0.0]), "must hold real numbers"),
        ((0, [], [], []), "n_modes must be at least 1"),
        ((2.0, [0.0], [0.0], [0.0, 0.0]), "n_modes must be an integer"),
    ],
)
def test_bad_settings_are_refused(args, message):
    with pytest.raises(ValueError, match=message):
        mesh_unitary(*args)
    with pytest.raises(ValueError, match=message):
        clements_interferometer(*args)


def test_mesh_dataclass_checks_lengths():
    with pytest.raises(ValueError, match="thetas: expected 3 values, got 2"):
        ClementsMesh(3, [0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0])


def test_decompose_refuses_non_unitary():
    with pytest.raises(ValueError, match="not unitary"):
        decompose(np.array([[1.0, 0.5], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="must be square"):
        decompose(np.zeros((2, 3)))


def test_mesh_matches_the_same_circuit_built_in_perceval():
    # Independent check of the convention: T(theta, phi) = Ry-beam-splitter(2 theta) after a phase phi on mode k.
    pcvl = pytest.importorskip("perceval")
    rng = np.random.default_rng(8)
    n_modes = 5
    count = n_mzis(n_modes)
    thetas, phis = rng.uniform(0, np.pi, count), rng.uniform(0, 2 * np.pi, count)
    out = rng.uniform(0, 2 * np.pi, n_modes)
    circuit = pcvl.Circuit(n_modes)
    for (k, _), theta, phi in zip(mesh_positions(n_modes), thetas, phis):
        circuit.add(int(k), pcvl.PS(float(phi)))
        circuit.add(int(k), pcvl.BS.Ry(theta=float(2 * theta)))
    for mode, phase in enumerate(out):
        circuit.add(mode, pcvl.PS(float(phase)))
    expected = np.array(circuit.compute_unitary(), dtype=complex)
    np.testing.assert_allclose(mesh_unitary(n_modes, thetas, phis, out), expected, atol=1e-12)
