"""The backends chapter: TVD by hand, the exact-sampler TVD floor, agreement and replay."""

import numpy as np
import pytest

from qlatent.experiments.backends import backend_comparison_table, expected_sampling_tvd, total_variation
from qlatent.photonics.interferometers import haar_interferometer


def test_total_variation_by_hand():
    patterns = np.array([[1, 0], [0, 1]])
    probabilities = np.array([0.25, 0.75])
    counts = np.array([[1, 0], [1, 0], [0, 1], [2, 0]])  # one pattern outside the support
    # empirical: 0.5, 0.25, outside 0.25 -> 0.5 * (0.25 + 0.5 + 0.25)
    assert total_variation(counts, patterns, probabilities) == pytest.approx(0.5)
    assert total_variation(np.array([[0, 1]] * 3 + [[1, 0]]), patterns, probabilities) == pytest.approx(0.0)


def test_expected_tvd_matches_multinomial_simulation():
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.ones(30))
    n = 2000
    draws = rng.multinomial(n, probabilities, size=400) / n
    simulated = 0.5 * np.abs(draws - probabilities).sum(axis=1).mean()
    assert expected_sampling_tvd(probabilities, n) == pytest.approx(simulated, rel=0.05)


def test_local_and_perceval_agree_with_exact_and_replay(tmp_path):
    interferometer = haar_interferometer(4, seed=1)
    table = backend_comparison_table(interferometer, [1, 1, 0, 0], 3000, ["local", "perceval:SLOS"], seed=2,
                                     store=tmp_path)
    assert list(table["backend"]) == ["local", "perceval:SLOS"]
    assert table["replay_identical"].all()
    # An exact sampler's TVD exceeds 3x its mean with negligible probability at this size.
    assert (table["tvd"] < 3 * table["expected_tvd"]).all()
    assert len(list(tmp_path.glob("*.npz"))) == 2
