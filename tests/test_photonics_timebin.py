"""The time-bin loop interferometer: hand cases, a photon-by-photon loop simulation, and bad input."""

from collections import deque

import numpy as np
import pytest

from qlatent.photonics.interferometers import Interferometer
from qlatent.photonics.timebin import (
    n_beam_splitters,
    random_timebin_interferometer,
    timebin_interferometer,
    timebin_unitary,
)


def propagate_one_loop(n_modes, loop_length, thetas, phis):
    """Transfer matrix of one loop, built in physical time, one injected photon (one column) at a time.

    The only state is the loop's content: ``loop_length`` amplitudes, one per bin travelling in the
    fibre. At time t the amplitude returning from the loop meets the photon arriving in bin t.
    For t < loop_length the loop is empty and the arriving photon enters it; for
    loop_length <= t < n_modes the programmable beam splitter c = t - loop_length sends
    cos*returning - sin*arriving (times exp(i phi_c)) to the detector and sin*returning +
    cos*arriving into the loop; after the last bin the loop empties into the detector. What the
    detector sees at time t is output bin t - loop_length.
    """
    transfer = np.zeros((n_modes, n_modes), dtype=complex)
    for injected in range(n_modes):
        loop = deque([0j] * loop_length)
        for t in range(n_modes + loop_length):
            returning = loop.popleft()
            arriving = 1.0 if t == injected else 0.0
            if t < loop_length:
                loop.append(arriving)
                continue
            if t < n_modes:
                c = t - loop_length
                cos, sin = np.cos(thetas[c]), np.sin(thetas[c])
                detected = np.exp(1j * phis[c]) * (cos * returning - sin * arriving)
                loop.append(sin * returning + cos * arriving)
            else:
                detected = returning
                loop.append(0j)
            transfer[t - loop_length, injected] = detected
    return transfer


def permanent_2x2(m):
    return m[0, 0] * m[1, 1] + m[0, 1] * m[1, 0]


@pytest.mark.parametrize("n_modes, loops, expected", [(5, [1], 4), (6, [1, 2], 9), (8, [1, 2, 4], 17), (3, [2, 2], 2)])
def test_beam_splitter_count(n_modes, loops, expected):
    assert n_beam_splitters(n_modes, loops) == expected == len(loops) * n_modes - sum(loops)


@pytest.mark.parametrize("loops", [[1], [2], [1, 1], [1, 3]])
def test_all_angles_zero_is_identity(loops):
    n_modes = 6
    u = timebin_unitary(n_modes, loops, np.zeros(n_beam_splitters(n_modes, loops)))
    np.testing.assert_array_equal(u, np.eye(n_modes))


@pytest.mark.parametrize("n_modes, loop_length", [(5, 1), (5, 2), (7, 3), (4, 3)])
def test_all_angles_half_pi_move_each_bin_by_one_loop_length(n_modes, loop_length):
    # Worked out by hand (module docstring): bin j >= l leaves in bin j - l with amplitude -exp(i phi_{j-l})
    # (it skips the loop); bin r < l circulates to the last bin of its residue class, amplitude +1.
    count = n_modes - loop_length
    phis = np.linspace(0.1, 0.9, count)
    expected = np.zeros((n_modes, n_modes), dtype=complex)
    for j in range(loop_length, n_modes):
        expected[j - loop_length, j] = -np.exp(1j * phis[j - loop_length])
    for r in range(loop_length):
        expected[r + loop_length * ((n_modes - 1 - r) // loop_length), r] = 1.0
    u = timebin_unitary(n_modes, [loop_length], np.full(count, np.pi / 2), phis)
    np.testing.assert_allclose(u, expected, atol=1e-15)


def test_one_loop_of_length_one_at_half_pi_is_a_cyclic_shift():
    u = timebin_unitary(4, [1], np.full(3, np.pi / 2))
    np.testing.assert_allclose(np.abs(u), np.roll(np.eye(4), -1, axis=0), atol=1e-15)


def test_two_bin_hong_ou_mandel():
    # One photon in each of two bins, one loop of length 1, balanced beam splitter: the photons bunch.
    u = timebin_unitary(2, [1], [np.pi / 4])
    coincidence = abs(permanent_2x2(u)) ** 2
    both_in_bin0 = abs(permanent_2x2(u[[0, 0], :])) ** 2 / 2
    both_in_bin1 = abs(permanent_2x2(u[[1, 1], :])) ** 2 / 2
    assert coincidence < 1e-30
    assert abs(both_in_bin0 - 0.5) < 1e-15 and abs(both_in_bin1 - 0.5) < 1e-15


@pytest.mark.parametrize("loops", [[1], [3], [1, 1], [1, 2, 4], [2, 5, 1]])
def test_random_angles_give_a_unitary(loops):
    interferometer = random_timebin_interferometer(8, loops, seed=sum(loops))
    u = interferometer.unitary
    assert np.max(np.abs(u.conj().T @ u - np.eye(8))) < 1e-13


@pytest.mark.parametrize("n_modes, loop_length", [(2, 1), (7, 1), (7, 2), (7, 3), (6, 5)])
def test_single_loop_matches_photon_by_photon_propagation(n_modes, loop_length):
    rng = np.random.default_rng(n_modes * 10 + loop_length)
    count = n_modes - loop_length
    thetas, phis = rng.uniform(0, 2 * np.pi, count), rng.uniform(0, 2 * np.pi, count)
    expected = propagate_one_loop(n_modes, loop_length, thetas, phis)
    np.testing.assert_allclose(timebin_unitary(n_modes, [loop_length], thetas, phis), expected, atol=1e-14)


def test_loops_in_series_match_propagation_through_each_loop():
    # The second loop sees the first loop's output train; output labels shift uniformly, so they compose.
    n_modes, loops = 7, [1, 2]
    rng = np.random.default_rng(3)
    count = n_beam_splitters(n_modes, loops)
    thetas, phis = rng.uniform(0, 2 * np.pi, count), rng.uniform(0, 2 * np.pi, count)
    first = propagate_one_loop(n_modes, 1, thetas[:6], phis[:6])
    second = propagate_one_loop(n_modes, 2, thetas[6:], phis[6:])
    np.testing.assert_allclose(timebin_unitary(n_modes, loops, thetas, phis), second @ first, atol=1e-14)


def test_phis_default_to_zero():
    thetas = np.linspace(0.2, 1.4, 4)
    np.testing.assert_array_equal(timebin_unitary(5, [1], thetas), timebin_unitary(5, [1], thetas, np.zeros(4)))


def test_random_interferometer_is_seeded_uniform_and_saveable():
    a = random_timebin_interferometer(6, [1, 2], seed=4)
    b = random_timebin_interferometer(6, [1, 2], seed=np.random.default_rng(4))
    np.testing.assert_array_equal(a.unitary, b.unitary)
    assert a.kind == "timebin" and a.parameters["loop_lengths"] == [1, 2]
    angles = np.array(a.parameters["thetas"] + a.parameters["phis"])
    assert angles.shape == (18,) and np.all((angles >= 0) & (angles < 2 * np.pi))
    rng = np.random.default_rng(4)
    np.testing.assert_array_equal(a.parameters["thetas"], rng.uniform(0, 2 * np.pi, 9))
    rebuilt = Interferometer.from_dict(a.to_dict())
    np.testing.assert_array_equal(rebuilt.unitary, a.unitary)


def test_timebin_interferometer_records_its_settings():
    interferometer = timebin_interferometer(4, [1], [0.1, 0.2, 0.3])
    assert interferometer.parameters == {
        "n_modes": 4,
        "loop_lengths": [1],
        "thetas": [0.1, 0.2, 0.3],
        "phis": [0.0, 0.0, 0.0],
    }


@pytest.mark.parametrize(
    "n_modes, loops, n_thetas, n_phis, message",
    [
        (5, [1], 3, None, r"thetas .*: expected 4 values, got 3"),
        (6, [1, 2], 10, None, r"thetas .*loops \[1, 2\] on 6 modes.*: expected 9 values, got 10"),
        (5, [1], 4, 2, r"phis .*: expected 4 values, got 2"),
        (5, [5], 0, None, r"loop length 5 out of range: need 1 <= length < n_modes = 5"),
        (5, [7], 0, None, r"loop length 7 out of range"),
        (5, [0], 5, None, r"loop length 0 out of range"),
        (5, [-1], 6, None, r"loop length -1 out of range"),
        (5, [1.0], 4, None, r"loop lengths must be integers"),
        (5, [True], 4, None, r"loop lengths must be integers"),
        (5, [], 0, None, r"at least one loop"),
        (5, "1", 4, None, r"must be a sequence of integers"),
        (1, [1], 0, None, r"n_modes must be at least 2"),
        (4.0, [1], 3, None, r"n_modes must be an integer"),
    ],
)
def test_bad_settings_are_refused(n_modes, loops, n_thetas, n_phis, message):
    thetas = np.zeros(n_thetas)
    phis = None if n_phis is None else np.zeros(n_phis)
    with pytest.raises(ValueError, match=message):
        timebin_unitary(n_modes, loops, thetas, phis)
    with pytest.raises(ValueError, match=message):
        timebin_interferometer(n_modes, loops, thetas, phis)


def test_non_finite_angles_and_bad_seed_are_refused():
    with pytest.raises(ValueError, match="NaN or infinite"):
        timebin_unitary(3, [1], [0.0, np.inf])
    with pytest.raises(ValueError, match="seed must be an int"):
        random_timebin_interferometer(3, [1], seed=0.5)
    with pytest.raises(ValueError, match="loop length 3 out of range"):
        n_beam_splitters(3, [3])
