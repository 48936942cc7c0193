"""Table I's datasets: photon-number conservation, uniform bits, independent draws per run and part."""

import numpy as np
import pytest

from qlatent.data.discrete import discrete_dataset


def test_quantum_counts_conserve_half_filling_photons(tmp_path):
    rows, origin = discrete_dataset("quantum", 16, 3000, seed=0, store=tmp_path)
    assert rows.shape == (3000, 16) and rows.dtype == np.float32
    np.testing.assert_array_equal(rows.sum(axis=1), 8)
    assert (rows >= 0).all() and np.array_equal(rows, np.rint(rows))
    assert origin["interferometer"]["kind"] == "haar"
    # Bosons bunch: some modes hold two or more photons.
    assert (rows.max(axis=1) >= 2).mean() > 0.5


def test_bernoulli_bits_are_uniform(tmp_path):
    rows, _ = discrete_dataset("bernoulli", 16, 20000, seed=1)
    assert set(np.unique(rows)) == {0.0, 1.0}
    assert abs(rows.mean() - 0.5) < 5 * 0.5 / np.sqrt(rows.size)


def test_runs_draw_their_own_interferometer_and_parts_are_independent(tmp_path):
    a, origin_a = discrete_dataset("quantum", 8, 200, seed=0, store=tmp_path)
    b, origin_b = discrete_dataset("quantum", 8, 200, seed=1, store=tmp_path)
    assert origin_a["interferometer"] != origin_b["interferometer"]
    reference, origin_r = discrete_dataset("quantum", 8, 200, seed=0, part="reference", store=tmp_path)
    assert origin_r["interferometer"] == origin_a["interferometer"] and not np.array_equal(reference, a)
    again, _ = discrete_dataset("quantum", 8, 200, seed=0, store=tmp_path)
    np.testing.assert_array_equal(again, a)


@pytest.mark.parametrize(("arguments", "message"), [
    (("gaussian", 16, 10, 0), r"unknown dataset\(s\) 'gaussian'; choose from quantum, bernoulli"),
    (("quantum", 15, 10, 0), "size=15 is odd"),
    (("quantum", 0, 10, 0), "size must be a positive integer"),
    (("bernoulli", 4, 0, 0), "n_samples must be a positive integer"),
])
def test_bad_input(arguments, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        discrete_dataset(*arguments, store=tmp_path)
    with pytest.raises(ValueError, match="part must be one of train, reference"):
        discrete_dataset("bernoulli", 4, 10, 0, part="test")
